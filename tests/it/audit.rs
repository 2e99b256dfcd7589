//! The audit log as a workspace owner reads it: actions in words, the browser in a few, and
//! the bot events (settings changed, unpaired, deleted) recorded with the bot's name.

use actix_web::http::{StatusCode, header};
use actix_web::test::TestRequest;

use crate::bots::paired_bot;
use crate::common::Site;
use crate::common::browser::{Browser, Page};

const CHROME_ON_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like \
     Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The settings form of a bot without a template, with `welcome` and `fallback` filled in.
fn settings_fields<'a>(welcome: &'a str, fallback: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("prefix", "!"),
        ("language", "en"),
        ("welcome", welcome),
        ("fallback", fallback),
        ("utc_offset", "+00:00"),
        ("open", "09:00"),
        ("close", "17:00"),
    ]
}

/// The audit log's rows as text: tags dropped, entities read, one line per row.
fn audit_rows(page: &Page) -> Vec<String> {
    page.body
        .split("<tr>")
        .skip(2) // before the table, and the header row
        .map(|row| {
            let mut text = String::new();
            let mut in_tag = false;
            for c in row.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => {
                        in_tag = false;
                        text.push(' ');
                    }
                    _ if !in_tag => text.push(c),
                    _ => {}
                }
            }
            let text = text.replace("&#x27;", "'").replace("&#39;", "'");
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[actix_web::test]
async fn bot_settings_unpairing_and_deletion_are_in_the_audit_log_in_words() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let settings = format!("/bots/{bot_id}/settings");

    // Saved from Chrome on Linux, with two parts changed.
    let token = owner.cookies.get("wdx_csrf").cloned().unwrap_or_default();
    let mut fields = settings_fields("Hello from the bakery!", "Sorry, I did not get that.");
    fields.insert(0, ("csrf_token", &token));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let saved = owner
        .send_request(
            TestRequest::post()
                .uri(&settings)
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .insert_header((header::USER_AGENT, CHROME_ON_LINUX))
                .set_payload(body),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // The same values again change nothing, and nothing more is recorded.
    let again = owner
        .post(
            &settings,
            &settings_fields("Hello from the bakery!", "Sorry, I did not get that."),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    let unpaired = owner.post(&format!("/bots/{bot_id}/unpair"), &[]).await;
    assert_eq!(unpaired.status, StatusCode::SEE_OTHER, "{}", unpaired.body);
    let deleted = owner.post(&format!("/bots/{bot_id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);

    let log = owner.get("/workspace/audit").await;
    assert_eq!(log.status, StatusCode::OK);
    let rows = audit_rows(&log);
    let with = |what: &str| -> Vec<&String> { rows.iter().filter(|r| r.contains(what)).collect() };

    let settings_rows = with("Changed a bot's settings");
    assert_eq!(settings_rows.len(), 1, "one change recorded: {rows:#?}");
    let row = settings_rows[0];
    assert!(
        row.contains("Bakery bot: welcome message, reply when nothing matches"),
        "the bot and what changed: {row}"
    );
    assert!(row.contains("ana@example.com"), "who: {row}");
    assert!(
        row.contains("Chrome on Linux"),
        "from where, briefly: {row}"
    );
    assert!(
        !log.body.contains("AppleWebKit"),
        "not the whole user agent"
    );

    for what in ["Unpaired a bot", "Deleted a bot"] {
        let found = with(what);
        assert_eq!(found.len(), 1, "{what}: {rows:#?}");
        assert!(
            found[0].contains("Bakery bot"),
            "names the bot: {}",
            found[0]
        );
        assert!(found[0].contains("ana@example.com"), "who: {}", found[0]);
    }
    // Newest first: deleted, unpaired, settings.
    let position = |what: &str| rows.iter().position(|r| r.contains(what));
    assert!(position("Deleted a bot") < position("Unpaired a bot"));
    assert!(position("Unpaired a bot") < position("Changed a bot's settings"));
    // Every action in words, none by its stored name.
    for raw in [
        "bot_deleted",
        "bot_unpaired",
        "bot_settings_changed",
        "signed_up",
    ] {
        assert!(!log.body.contains(raw), "{raw} is shown in words");
    }
    assert!(!with("Signed up").is_empty(), "{rows:#?}");
}

#[actix_web::test]
async fn an_added_command_is_a_settings_change_in_the_log() {
    let site = Site::start(); // the trial includes custom commands
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let added = owner
        .post(
            &format!("/bots/{bot_id}/commands"),
            &[
                ("command_name", "offers"),
                ("command_reply", "Two for one on Fridays."),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let rows = audit_rows(&owner.get("/workspace/audit").await);
    assert!(
        rows.iter().any(|r| r.contains("Changed a bot's settings")
            && r.contains("Bakery bot: added the command !offers")),
        "{rows:#?}"
    );
}
