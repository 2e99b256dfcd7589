//! Contacts: STOP and START through the real pipeline, search through the full-text index,
//! tags and notes, the opt-out a member sets, who may delete and export, the CSV, and the bot
//! settings that name the words.

use actix_web::http::{StatusCode, header};
use diesel::prelude::*;
use whatsdex::db::schema::{audit_events, contact_notes, contact_tags, contacts, messages};

use crate::bot_behaviour::{form_of, pairs, stored_config, with};
use crate::common::browser::Browser;
use crate::common::{self, Site};
use crate::templates::{CARL, Chat, DORA, bot_with_template};

const OPTED_OUT: &str = "You will get no more broadcasts from us. Send START to get them again.";
const OPTED_IN: &str = "You will get our broadcasts again. Send STOP to stop them.";

/// The id of the contact with `number`.
async fn contact_id(site: &Site, number: &'static str) -> String {
    site.query(move |c| {
        contacts::table
            .filter(contacts::number.eq(number))
            .select(contacts::id)
            .first(c)
    })
    .await
}

/// Whether the contact with `number` is opted out, as stored.
async fn opted_out(site: &Site, number: &'static str) -> bool {
    site.query(move |c| {
        contacts::table
            .filter(contacts::number.eq(number))
            .select(contacts::opted_out_at.is_not_null())
            .first(c)
    })
    .await
}

async fn audited(site: &Site, action: &'static str) -> i64 {
    site.query(move |c| {
        audit_events::table
            .filter(audit_events::action.eq(action))
            .count()
            .get_result(c)
    })
    .await
}

fn reply(to: &str, text: &str) -> Vec<(String, String)> {
    vec![(to.to_owned(), text.to_owned())]
}

#[actix_web::test]
async fn contacts_stop_and_start_from_a_customer_opt_out_and_in_and_are_told_so() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "hello").await;
    assert!(!opted_out(&site, CARL).await);

    assert_eq!(chat.say(CARL, "STOP").await, reply(CARL, OPTED_OUT));
    assert!(opted_out(&site, CARL).await, "STOP opted the contact out");
    let id = contact_id(&site, CARL).await;
    let page = owner.get(&format!("/contacts/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Opted out since"), "{}", page.body);
    let list = owner.get("/contacts").await;
    assert!(list.body.contains("Opted out"), "{}", list.body);

    assert_eq!(chat.say(CARL, " start ").await, reply(CARL, OPTED_IN));
    assert!(
        !opted_out(&site, CARL).await,
        "START opted the contact in again"
    );
    assert!(
        !chat
            .say(CARL, "stop the order")
            .await
            .iter()
            .any(|(_, t)| t == OPTED_OUT),
        "only the whole message counts"
    );
    assert!(!opted_out(&site, CARL).await);

    // A member of the team can do the same for a customer who asked them.
    let stopped = owner
        .post(&format!("/contacts/{id}/opt-out"), &[("opted_out", "1")])
        .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER, "{}", stopped.body);
    assert!(opted_out(&site, CARL).await);
    owner
        .post(&format!("/contacts/{id}/opt-out"), &[("opted_out", "0")])
        .await;
    assert!(!opted_out(&site, CARL).await);
}

#[actix_web::test]
async fn contacts_are_found_by_a_word_of_the_name_or_the_start_of_the_number() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "hello").await;
    chat.say(DORA, "hello").await;
    // A name of two words (the index follows the change on both backends).
    site.query(|c| {
        diesel::update(contacts::table.filter(contacts::number.eq(CARL)))
            .set(contacts::name.eq(Some("Carl Jones")))
            .execute(c)
    })
    .await;
    let carl = contact_id(&site, CARL).await;
    let dora = contact_id(&site, DORA).await;
    let shows = |body: &str, id: &str| body.contains(&format!(r#"data-contact="{id}""#));

    let all = owner.get("/contacts").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(shows(&all.body, &carl) && shows(&all.body, &dora));
    for (typed, finds_carl, finds_dora) in [
        ("jones", true, false),
        ("JON", true, false),
        ("dora", false, true),
        ("35191", true, false),
        ("%2B351%20912", true, false),
        ("5511", false, true),
        ("912", false, false),
        ("carl%20dora", false, false),
        ("zzz", false, false),
    ] {
        let page = owner.get(&format!("/contacts?q={typed}")).await;
        assert_eq!(page.status, StatusCode::OK, "{typed}: {}", page.body);
        assert_eq!(shows(&page.body, &carl), finds_carl, "{typed} and Carl");
        assert_eq!(shows(&page.body, &dora), finds_dora, "{typed} and Dora");
    }
    let none = owner.get("/contacts?q=zzz").await;
    assert!(none.body.contains("No contact matches"));
}

#[actix_web::test]
async fn contacts_tags_and_notes_are_added_shown_and_refused_with_the_text_kept() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "hello").await;
    chat.say(DORA, "hello").await;
    let carl = contact_id(&site, CARL).await;
    let dora = contact_id(&site, DORA).await;
    let path = format!("/contacts/{carl}");

    let added = owner
        .post(&format!("{path}/tags"), &[("tag", "  VIP ")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), format!("{path}?notice=tag_added"));
    let page = owner.get(added.location()).await;
    assert!(page.body.contains("Tag added."));
    owner.post(&format!("{path}/tags"), &[("tag", "vip")]).await;
    let page = owner.get(&path).await;
    assert!(
        page.body.contains(r#"<span class="tag">vip</span>"#),
        "{}",
        page.body
    );
    let tags: i64 = site
        .query(|c| contact_tags::table.count().get_result(c))
        .await;
    assert_eq!(tags, 1, "normalised, and once");

    for bad in ["two words", "<b>", &"x".repeat(33)] {
        let refused = owner.post(&format!("{path}/tags"), &[("tag", bad)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(refused.body.contains(r#"id="tag-error""#), "{bad}");
        let kept = [
            bad.replace('<', "&#60;").replace('>', "&#62;"),
            bad.replace('<', "&lt;").replace('>', "&gt;"),
        ];
        assert!(
            kept.iter()
                .any(|k| refused.body.contains(&format!(r#"value="{k}""#))),
            "{bad} kept: {}",
            refused.body
        );
    }

    // The tag filter.
    let tagged = owner.get("/contacts?tag=vip").await;
    assert!(tagged.body.contains(&format!(r#"data-contact="{carl}""#)));
    assert!(!tagged.body.contains(&format!(r#"data-contact="{dora}""#)));

    let noted = owner
        .post(
            &format!("{path}/notes"),
            &[("body", "Prefers calls\nin the morning")],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER, "{}", noted.body);
    let page = owner.get(&path).await;
    assert!(
        page.body.contains("Prefers calls\nin the morning"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Ana ·"), "the author is named");
    let long = "n".repeat(2001);
    for bad in ["   ", long.as_str()] {
        let refused = owner.post(&format!("{path}/notes"), &[("body", bad)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.body.contains(r#"id="body-error""#));
        assert!(refused.body.contains(&format!(">{bad}</textarea>")), "kept");
    }
    let notes: i64 = site
        .query(|c| contact_notes::table.count().get_result(c))
        .await;
    assert_eq!(notes, 1);

    let removed = owner
        .post(&format!("{path}/tags/remove"), &[("tag", "vip")])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(
        !owner
            .get(&path)
            .await
            .body
            .contains(r#"<span class="tag">vip</span>"#)
    );
}

#[actix_web::test]
async fn contacts_only_owners_and_admins_delete_and_export() {
    let site = Site::start();
    let app = site.app().await;
    let (bot_id, mut owner) = bot_with_template(&site, app.clone(), "faq_assistant").await;
    let mut member = Browser::new(app.clone());
    common::invite_and_join(&site, &mut owner, &mut member, "Mia", "mia@example.com").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "hello").await;
    chat.say(DORA, "hello").await;
    let carl = contact_id(&site, CARL).await;
    owner
        .post(&format!("/contacts/{carl}/tags"), &[("tag", "vip")])
        .await;
    owner
        .post(&format!("/contacts/{carl}/opt-out"), &[("opted_out", "1")])
        .await;

    // A member works with contacts, but neither deletes nor exports.
    let list = member.get("/contacts").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("Export CSV"));
    let page = member.get(&format!("/contacts/{carl}")).await;
    assert!(!page.body.contains(&format!("/contacts/{carl}/delete")));
    let tagged = member
        .post(&format!("/contacts/{carl}/tags"), &[("tag", "called")])
        .await;
    assert_eq!(tagged.status, StatusCode::SEE_OTHER);
    for refused in [
        member.get("/contacts/export.csv").await,
        member.get(&format!("/contacts/{carl}/delete")).await,
        member.post(&format!("/contacts/{carl}/delete"), &[]).await,
    ] {
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    assert_eq!(audited(&site, "contacts_exported").await, 0);

    // The owner exports: a header and one row a contact.
    let list = owner.get("/contacts").await;
    assert!(list.body.contains("Export CSV"));
    let csv = owner.get("/contacts/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    let disposition = csv
        .headers
        .get(header::CONTENT_DISPOSITION)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"contacts-"),
        "{disposition}"
    );
    assert!(
        csv.headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "name,number,bot,first seen,last seen,tags,opted out"
    );
    assert_eq!(lines.len(), 3, "{}", csv.body);
    let carl_line = lines
        .iter()
        .find(|l| l.starts_with("Carl,351912345678,Bakery bot,"))
        .expect("Carl's row");
    assert!(carl_line.contains(",called vip,"), "{carl_line}");
    assert!(
        !carl_line.ends_with(','),
        "opted out, with the time: {carl_line}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Dora,5511987654321,Bakery bot,") && l.ends_with(','))
    );
    assert_eq!(audited(&site, "contacts_exported").await, 1);

    // The owner deletes, after a confirmation.
    let ask = owner.get(&format!("/contacts/{carl}/delete")).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Delete contact"));
    let deleted = owner.post(&format!("/contacts/{carl}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(deleted.location(), "/contacts?notice=contact_deleted");
    let (left, carls_messages, tags): (i64, i64, i64) = site
        .query(|c| {
            Ok((
                contacts::table
                    .filter(contacts::number.eq(CARL))
                    .count()
                    .get_result(c)?,
                messages::table
                    .filter(messages::contact_number.eq(CARL))
                    .count()
                    .get_result(c)?,
                contact_tags::table.count().get_result(c)?,
            ))
        })
        .await;
    assert_eq!((left, carls_messages, tags), (0, 0, 0));
    assert_eq!(audited(&site, "contact_deleted").await, 1);
    assert_eq!(
        owner.get(&format!("/contacts/{carl}")).await.status,
        StatusCode::NOT_FOUND
    );
    let dora_messages: i64 = site
        .query(|c| {
            messages::table
                .filter(messages::contact_number.eq(DORA))
                .count()
                .get_result(c)
        })
        .await;
    assert!(dora_messages > 0, "another contact's messages stay");
}

#[actix_web::test]
async fn contacts_words_and_the_takeover_silence_are_bot_settings() {
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let path = format!("/bots/{bot_id}/settings");
    let page = owner.get(&path).await;
    assert!(
        page.body
            .contains(r#"name="opt_out_words" value="stop, unsubscribe""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="takeover_idle_minutes""#));

    let fields = form_of(&stored_config(&site).await);
    let long = "a-word-far-too-long-to-be-a-word";
    let eleven = (1..=11)
        .map(|n| format!("w{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (field, bad) in [
        ("handoff_words", long),
        ("opt_out_words", eleven.as_str()),
        ("takeover_idle_minutes", "2"),
        ("takeover_idle_minutes", "soon"),
        ("takeover_idle_minutes", "1441"),
    ] {
        let refused = owner
            .post(&path, &pairs(&with(fields.clone(), field, bad)))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}={bad}"
        );
        assert!(
            refused.body.contains(&format!(r#"id="{field}-error""#)),
            "{field}"
        );
        assert!(
            refused.body.contains(&format!(r#"value="{bad}""#)),
            "{field}={bad} kept"
        );
    }
    let config = stored_config(&site).await;
    assert_eq!(config.takeover_idle_minutes, 60, "nothing saved");

    let fields = with(fields, "handoff_words", "Human, talk to a person");
    let fields = with(fields, "opt_out_words", "halt, stop");
    let fields = with(fields, "opt_in_words", "again");
    let fields = with(fields, "takeover_idle_minutes", "30");
    let saved = owner.post(&path, &pairs(&fields)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let config = stored_config(&site).await;
    assert_eq!(config.handoff_words, ["human", "talk to a person"]);
    assert_eq!(config.opt_out_words, ["halt", "stop"]);
    assert_eq!(config.opt_in_words, ["again"]);
    assert_eq!(config.takeover_idle_minutes, 30);
    let page = owner.get(&path).await;
    assert!(page.body.contains(r#"value="human, talk to a person""#));
    assert!(page.body.contains(r#"value="30""#));

    // The bot answers to the words saved.
    let mut chat = Chat::new(&site, &bot_id);
    let told = chat.say(CARL, "HALT").await;
    assert_eq!(
        told,
        reply(
            CARL,
            "You will get no more broadcasts from us. Send AGAIN to get them again."
        )
    );
    assert!(opted_out(&site, CARL).await);
}

#[actix_web::test]
async fn contacts_are_paged_newest_first_with_an_older_link_that_keeps_the_search() {
    use whatsdex::db::schema::bots;
    let site = Site::start();
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    // 52 customers called Pat, one a minute; one more who is not.
    site.query(move |c| {
        let tenant: String = bots::table.find(&bot_id).select(bots::tenant_id).first(c)?;
        let start = chrono::Utc::now().naive_utc() - chrono::Duration::hours(2);
        for n in 0..53 {
            let at = start + chrono::Duration::minutes(n);
            let name = if n == 52 {
                "Quinn".to_owned()
            } else {
                format!("Pat {n}")
            };
            diesel::insert_into(contacts::table)
                .values((
                    contacts::id.eq(format!("c{n:02}")),
                    contacts::tenant_id.eq(&tenant),
                    contacts::bot_id.eq(&bot_id),
                    contacts::number.eq(format!("4477009{n:05}")),
                    contacts::name.eq(Some(name)),
                    contacts::first_seen_at.eq(at),
                    contacts::last_seen_at.eq(at),
                ))
                .execute(c)?;
        }
        Ok(())
    })
    .await;
    let first = owner.get("/contacts?q=pat").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body.matches("data-contact=").count(), 50);
    assert!(first.body.contains(r#"data-contact="c51""#), "newest first");
    assert!(
        !first.body.contains(r#"data-contact="c52""#),
        "the search holds"
    );
    assert!(!first.body.contains(r#"data-contact="c01""#));
    let older = first
        .body
        .split(r#"<a href="/contacts?"#)
        .find_map(|rest| {
            rest.split_once(r#"" rel="next""#)
                .map(|(q, _)| q.to_owned())
        })
        .expect("an Older link");
    let second = owner
        .get(&format!(
            "/contacts?{}",
            older.replace("&amp;", "&").replace("&#38;", "&")
        ))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body.matches("data-contact=").count(), 2);
    assert!(
        second.body.contains(r#"data-contact="c00""#)
            && second.body.contains(r#"data-contact="c01""#)
    );
    assert!(!second.body.contains(r#"rel="next""#), "nothing older");
}
