//! What owners do to bots and members from the pages, and what members may only read:
//! destructive actions ask first (a page without JavaScript, a dialog for htmx), an unpaired
//! bot's sandbox phone says so, bots are renamed from their settings page, and a member sees
//! a bot's settings without a form.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use whatsdex::db::schema::{bots, invitations, users};

use crate::bots::paired_bot;
use crate::common::browser::Browser;
use crate::common::{Site, invite_and_join, sign_up};

/// The part of `body` inside `<main>`: the header's workspace switcher is a form on every
/// page, the page's own content is what is checked here.
fn main_of(body: &str) -> &str {
    let start = body.find("<main").expect("a <main>");
    let end = body.find("</main>").expect("a </main>");
    &body[start..end]
}

#[actix_web::test]
async fn deleting_and_unpairing_a_bot_ask_first_with_a_page_or_a_dialog() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;

    // The bots table links to the question, not to the action.
    let list = owner.get("/bots").await;
    assert!(
        list.body
            .contains(&format!(r#"href="/bots/{bot_id}/delete""#))
    );
    assert!(
        !list
            .body
            .contains(&format!(r#"action="/bots/{bot_id}/delete""#)),
        "no one-click delete"
    );

    for (path, button) in [("delete", "Delete bot"), ("unpair", "Unpair")] {
        let path = format!("/bots/{bot_id}/{path}");
        // Without JavaScript: a page of its own, whose form posts the action.
        let page = owner.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let main = main_of(&page.body);
        assert!(main.contains("Bakery bot?"), "{main}");
        assert!(main.contains(&format!(r#"<form method="post" action="{path}">"#)));
        assert!(main.contains(r#"name="csrf_token""#));
        assert!(main.contains(&format!(">{button}</button>")));
        assert!(main.contains(r#"href="/bots""#), "a way back");
        assert_eq!(page.headers.get("vary").unwrap(), "HX-Request");
        // With htmx: the same question as a dialog, without the page around it.
        let dialog = owner
            .send_request(
                TestRequest::get()
                    .uri(&path)
                    .insert_header(("HX-Request", "true")),
            )
            .await;
        assert_eq!(dialog.status, StatusCode::OK);
        assert!(dialog.body.contains("<dialog open"), "{}", dialog.body);
        assert!(!dialog.body.contains("<html"));
        assert!(
            dialog
                .body
                .contains(&format!(r#"<form method="post" action="{path}">"#))
        );
        assert!(dialog.body.contains(r#"<form method="dialog">"#), "Cancel");
    }
    // Asking changed nothing.
    let (count, owner_number): (i64, Option<String>) = site
        .query(|c| {
            let count = bots::table.count().get_result(c)?;
            let owner = bots::table.select(bots::owner_number).first(c)?;
            Ok((count, owner))
        })
        .await;
    assert_eq!((count, owner_number.as_deref()), (1, Some("447700900123")));

    // Another workspace's bot: no question either.
    let mut stranger = Browser::new(app.clone());
    stranger
        .post(
            "/signup",
            &[
                ("name", "Zed"),
                ("email", "zed@example.com"),
                ("password", crate::common::PASSWORD),
                ("workspace_name", "Zed Corp"),
            ],
        )
        .await;
    for path in ["delete", "unpair"] {
        let page = stranger.get(&format!("/bots/{bot_id}/{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }

    // Confirmed: done.
    let deleted = owner.post(&format!("/bots/{bot_id}/delete"), &[]).await;
    assert_eq!(deleted.location(), "/bots?notice=bot_deleted");
    let count: i64 = site.query(|c| bots::table.count().get_result(c)).await;
    assert_eq!(count, 0);
}

#[actix_web::test]
async fn member_and_account_actions_ask_first_and_only_those_allowed() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    paired_bot(&mut owner, app.clone()).await;
    let mut bea = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut bea, "Bea", "bea@example.com").await;
    owner
        .post(
            "/workspace/members/invite",
            &[("email", "carl@example.com"), ("role", "member")],
        )
        .await;
    let (ana_id, bea_id, invitation_id): (String, String, String) = site
        .query(|c| {
            let id_of = |c: &mut whatsdex::db::DbConn, email: &str| {
                users::table
                    .filter(users::email.eq(email))
                    .select(users::id)
                    .first::<String>(c)
            };
            let invitation = invitations::table
                .filter(invitations::email.eq("carl@example.com"))
                .select(invitations::id)
                .first(c)?;
            Ok((
                id_of(c, "ana@example.com")?,
                id_of(c, "bea@example.com")?,
                invitation,
            ))
        })
        .await;

    let members = owner.get("/workspace/members").await;
    for path in [
        format!("/workspace/members/{bea_id}/remove"),
        format!("/workspace/members/{bea_id}/transfer"),
        format!("/workspace/invitations/{invitation_id}/revoke"),
    ] {
        assert!(
            members.body.contains(&format!(r#"href="{path}""#)),
            "{path}"
        );
        assert!(
            !members.body.contains(&format!(r#"action="{path}""#)),
            "{path} is not one click"
        );
    }
    for (path, title, button) in [
        (
            format!("/workspace/members/{bea_id}/remove"),
            "Remove Bea from Lima Bakery?",
            "Remove member",
        ),
        (
            format!("/workspace/members/{bea_id}/transfer"),
            "Make Bea the owner?",
            "Make owner",
        ),
        (
            format!("/workspace/invitations/{invitation_id}/revoke"),
            "Withdraw the invitation to carl@example.com?",
            "Withdraw invitation",
        ),
        (
            "/account/sign-out-everywhere".to_owned(),
            "Sign out everywhere?",
            "Sign out everywhere",
        ),
    ] {
        let page = owner.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let main = main_of(&page.body);
        assert!(main.contains(title), "{path}: {main}");
        assert!(main.contains(&format!(r#"<form method="post" action="{path}">"#)));
        assert!(main.contains(&format!(">{button}</button>")));
    }
    // The member may leave (and is asked), but not remove the owner or revoke invitations.
    let leave = bea.get("/workspace/leave").await;
    assert_eq!(leave.status, StatusCode::OK);
    assert!(main_of(&leave.body).contains("Leave Lima Bakery?"));
    for path in [
        format!("/workspace/members/{ana_id}/remove"),
        format!("/workspace/members/{ana_id}/transfer"),
        format!("/workspace/invitations/{invitation_id}/revoke"),
    ] {
        assert_eq!(bea.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        owner.get("/workspace/leave").await.status,
        StatusCode::FORBIDDEN,
        "the owner transfers ownership first"
    );
    // Another workspace's owner: no such member or invitation.
    let mut stranger = Browser::new(app.clone());
    stranger
        .post(
            "/signup",
            &[
                ("name", "Zed"),
                ("email", "zed@example.com"),
                ("password", crate::common::PASSWORD),
                ("workspace_name", "Zed Corp"),
            ],
        )
        .await;
    for path in [
        format!("/workspace/members/{bea_id}/remove"),
        format!("/workspace/members/{bea_id}/transfer"),
        format!("/workspace/invitations/{invitation_id}/revoke"),
    ] {
        assert_eq!(
            stranger.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Nothing was done by asking.
    let bea_page = bea.get("/dashboard").await;
    assert_eq!(bea_page.status, StatusCode::OK);
    let revoked: Option<chrono::NaiveDateTime> = site
        .query(|c| {
            invitations::table
                .filter(invitations::email.eq("carl@example.com"))
                .select(invitations::revoked_at)
                .first(c)
        })
        .await;
    assert_eq!(revoked, None);

    // A page left open after the invitation was withdrawn: nothing left to ask.
    let path = format!("/workspace/invitations/{invitation_id}/revoke");
    let withdrawn = owner.post(&path, &[]).await;
    assert_eq!(withdrawn.location(), "/workspace/members?notice=revoked");
    let again = owner.get(&path).await;
    assert_eq!(again.status, StatusCode::OK);
    let main = main_of(&again.body);
    assert!(
        main.contains("The invitation to carl@example.com was withdrawn"),
        "{main}"
    );
    assert!(
        !main.contains(&format!(r#"action="{path}""#)),
        "nothing to confirm"
    );
}

#[actix_web::test]
async fn an_unpaired_bots_open_sandbox_phone_says_so() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let opened = owner
        .post(
            &format!("/bots/{bot_id}/sandbox-phone"),
            &[("name", "Carl"), ("number", "+351 912 345 678")],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
    let phone_path = opened.location().to_owned();
    let mut phone = Browser::new(app.clone());
    assert_eq!(phone.get(&phone_path).await.status, StatusCode::OK);

    let unpaired = owner.post(&format!("/bots/{bot_id}/unpair"), &[]).await;
    assert_eq!(unpaired.location(), "/bots?notice=bot_unpaired");

    // Reloaded: the phone says what happened and leads back to the bot.
    let page = phone.get(&phone_path).await;
    assert_eq!(page.status, StatusCode::GONE);
    let main = main_of(&page.body);
    assert!(main.contains("Bakery bot was unpaired"), "{main}");
    assert!(main.contains(&format!(r#"href="/bots/{bot_id}/pair""#)));
    // The open chat's polling and sending bring that page (htmx reloads).
    let csrf = phone.cookies.get("wdx_csrf").cloned().unwrap_or_default();
    for request in [
        TestRequest::get().uri(&format!("{phone_path}/chat")),
        TestRequest::post()
            .uri(&format!("{phone_path}/send"))
            .insert_header(("X-CSRF-Token", csrf.as_str()))
            .set_form([("text", "hello?")]),
    ] {
        let answer = phone
            .send_request(request.insert_header(("HX-Request", "true")))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers.get("hx-refresh").unwrap(), "true");
    }
    // Nothing the closed phone sends reaches the bot.
    let sent = phone
        .post(&format!("{phone_path}/send"), &[("text", "hello?")])
        .await;
    assert_eq!(sent.status, StatusCode::GONE);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stored: i64 = site
        .query(|c| {
            whatsdex::db::schema::messages::table
                .filter(whatsdex::db::schema::messages::body.eq("hello?"))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(stored, 0);
    // An unknown link is still a plain 404.
    assert_eq!(
        phone.get("/sandbox/phone/no-such-token").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_bot_is_renamed_from_its_settings_page() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let settings = format!("/bots/{bot_id}/settings");

    // The bots table and the dashboard link each bot to its settings.
    for page in ["/bots", "/bots/rows", "/dashboard/bots"] {
        let body = owner.get(page).await.body;
        assert!(
            body.contains(&format!(
                r#"<a href="{settings}" data-testid="bot-settings-link">Bakery bot</a>"#
            )),
            "{page}: {body}"
        );
    }
    let page = owner.get(&settings).await;
    assert!(page.body.contains(&format!(
        r#"<form method="post" action="/bots/{bot_id}/rename""#
    )));
    assert!(page.body.contains(r#"value="Bakery bot""#));

    // The same rules as creating one: a name is needed, under 80 characters.
    let rename = format!("/bots/{bot_id}/rename");
    let refused = owner.post(&rename, &[("name", "   ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(r#"id="name-error""#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Enter a bot name."));
    let long = "x".repeat(81);
    let refused = owner.post(&rename, &[("name", &long)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains(&format!(r#"value="{long}""#)),
        "typed kept"
    );

    let renamed = owner
        .post(&rename, &[("name", "  Lima   Pizza bot ")])
        .await;
    assert_eq!(renamed.location(), format!("{settings}?notice=bot_renamed"));
    let name: String = site
        .query(|c| bots::table.select(bots::name).first(c))
        .await;
    assert_eq!(name, "Lima Pizza bot");
    assert!(
        owner
            .get(&settings)
            .await
            .body
            .contains("<h1>Lima Pizza bot settings</h1>")
    );

    // Only owners and admins rename, and only their own workspace's bots.
    let mut bea = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut bea, "Bea", "bea@example.com").await;
    let refused = bea.post(&rename, &[("name", "Bea's bot")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let name: String = site
        .query(|c| bots::table.select(bots::name).first(c))
        .await;
    assert_eq!(name, "Lima Pizza bot");
}

#[actix_web::test]
async fn a_member_reads_a_bots_settings_and_cannot_change_them() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app.clone()).await;
    let applied = owner
        .post(
            "/templates/apply",
            &[("bot_id", &bot_id), ("template_id", "restaurant_orders")],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    let mut bea = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut bea, "Bea", "bea@example.com").await;
    let settings = format!("/bots/{bot_id}/settings");

    let page = bea.get(&settings).await;
    assert_eq!(page.status, StatusCode::OK);
    let main = main_of(&page.body);
    assert!(
        main.contains(r#"data-testid="settings-read-only""#),
        "{main}"
    );
    // What the bot does, as text...
    assert!(main.contains("Welcome to our restaurant!"));
    assert!(main.contains("<code>!order</code>"));
    assert!(main.contains("vegan, vegetarian"));
    // ...and nothing to type into or press.
    for control in ["<form", "<input", "<textarea", "<select", "<button"] {
        assert!(!main.contains(control), "{control} in a member's view");
    }
    assert!(!main.contains("/templates?bot="), "no template choice");
    // The owner still gets the form.
    let owners = owner.get(&settings).await;
    assert!(main_of(&owners.body).contains(r#"id="settings-form""#));

    // A member's posts are refused and change nothing.
    for (path, fields) in [
        (
            settings.clone(),
            vec![("prefix", "#"), ("language", "en"), ("welcome", "Hacked")],
        ),
        (
            format!("/bots/{bot_id}/commands"),
            vec![("command_name", "offers"), ("command_reply", "Free pizza")],
        ),
    ] {
        let refused = bea.post(&path, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    let config: String = site
        .query(|c| {
            whatsdex::db::schema::bot_configs::table
                .select(whatsdex::db::schema::bot_configs::config)
                .first(c)
        })
        .await;
    assert!(config.contains("Welcome to our restaurant!"));
    assert!(!config.contains("Hacked") && !config.contains("Free pizza"));
}

#[actix_web::test]
async fn a_member_browses_templates_and_bots_without_ways_to_change_them() {
    let site = Site::start();
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    sign_up(&mut owner, "ana@example.com", "Lima Pizza").await;
    let made = owner.post("/bots", &[("name", "Orders")]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let bot_id: String = site.query(|c| bots::table.select(bots::id).first(c)).await;
    let mut bea = Browser::new(app.clone());
    invite_and_join(&site, &mut owner, &mut bea, "Bea", "bea@example.com").await;

    let picker = bea.get(&format!("/templates?bot={bot_id}")).await;
    let main = main_of(&picker.body);
    assert!(
        main.contains(r#"data-testid="templates-read-only""#),
        "{main}"
    );
    assert!(
        main.contains("Restaurant Orders"),
        "the templates are shown"
    );
    assert!(!main.contains("<form"), "{main}");
    let owners = owner.get(&format!("/templates?bot={bot_id}")).await;
    assert!(main_of(&owners.body).contains("Use Restaurant Orders"));

    let pair = format!("/bots/{bot_id}/pair");
    for page in ["/bots", "/dashboard"] {
        let body = bea.get(page).await.body;
        assert!(!main_of(&body).contains(&pair), "{page} offers pairing");
        assert!(main_of(&owner.get(page).await.body).contains(&pair));
    }
    assert_eq!(bea.get(&pair).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bea.get(&format!("{pair}/status")).await.status,
        StatusCode::FORBIDDEN
    );
}
