//! Inbox search (`inbox::search`) on the real database: messages found by their words and
//! by a word's start, contacts by name and by the start of the number, one workspace never
//! seeing another's, typed syntax doing no harm, and paging without repeats.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use whatsdex::bots::transport::InboundMessage;
use whatsdex::db::schema::{bots, memberships, messages, tenants, users};
use whatsdex::ids::{TenantId, UserId};
use whatsdex::inbox::search::{self, PAGE_SIZE, SearchResults};
use whatsdex::tenancy::TenantScope;
use whatsdex::tenants::members;

use crate::common::Site;

/// A workspace `tenant` with one connected sandbox bot `bot` and one owner `user`.
async fn workspace(site: &Site, tenant: &'static str, bot: &'static str, user: &'static str) {
    site.query(move |conn| {
        let now = Utc::now().naive_utc();
        diesel::insert_into(tenants::table)
            .values((
                tenants::id.eq(tenant),
                tenants::name.eq(format!("Workspace {tenant}")),
                tenants::created_at.eq(now),
                tenants::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user),
                users::email.eq(format!("{user}@example.com")),
                users::name.eq(format!("User {user}")),
                users::password_hash.eq("x"),
                users::is_platform_admin.eq(false),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(memberships::table)
            .values((
                memberships::tenant_id.eq(tenant),
                memberships::user_id.eq(user),
                memberships::role.eq("owner"),
                memberships::created_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(bots::table)
            .values((
                bots::id.eq(bot),
                bots::tenant_id.eq(tenant),
                bots::name.eq(format!("Bot {bot}")),
                bots::transport.eq("sandbox"),
                bots::status.eq("connected"),
                bots::owner_number.eq("447700900999"),
                bots::paired_at.eq(now),
                bots::created_at.eq(now),
                bots::updated_at.eq(now),
            ))
            .execute(conn)
            .map(drop)
    })
    .await;
}

async fn scope(site: &Site, tenant: &str, user: &str) -> TenantScope {
    members::scope_of(&site.state, &TenantId::from(tenant), &UserId::from(user))
        .await
        .expect("membership read")
        .expect("a member")
}

/// `text` from `number` (called `name`) to `bot`, through the real pipeline.
async fn customer_writes(site: &Site, bot: &str, number: &str, name: &str, text: &str) {
    let bot = whatsdex::bots::model::find_for_runtime(&site.state.db, bot)
        .await
        .expect("bot read")
        .expect("bot");
    let id = format!("wamid.{}", uuid::Uuid::new_v4());
    let message = InboundMessage::text(&id, number, Some(name), text);
    whatsdex::bots::pipeline::handle_inbound(site.state.bots.engine(), &bot, message)
        .await
        .expect("stored");
}

async fn find(site: &Site, scope: &TenantScope, typed: &str) -> SearchResults {
    search::search(&site.state, scope, typed, None)
        .await
        .expect("search")
}

fn snippets(found: &SearchResults) -> Vec<&str> {
    found.messages.iter().map(|m| m.snippet.as_str()).collect()
}

/// Two workspaces, each with a customer who wrote.
async fn two_workspaces() -> (Site, TenantScope, TenantScope) {
    let site = Site::start();
    workspace(&site, "t1", "b1", "u1").await;
    workspace(&site, "t2", "b2", "u2").await;
    customer_writes(
        &site,
        "b1",
        "447700900123",
        "Ana Lima",
        "Where is my parcel? Order 5521",
    )
    .await;
    customer_writes(
        &site,
        "b1",
        "351912345678",
        "Bruno",
        "The invoice was wrong",
    )
    .await;
    customer_writes(
        &site,
        "b2",
        "447700900555",
        "Ana Other",
        "Where is my parcel? A secret of t2",
    )
    .await;
    let (one, two) = (
        scope(&site, "t1", "u1").await,
        scope(&site, "t2", "u2").await,
    );
    (site, one, two)
}

#[actix_web::test]
async fn a_message_is_found_by_a_word_and_by_its_start_and_not_by_a_word_it_lacks() {
    let (site, t1, _) = two_workspaces().await;

    let found = find(&site, &t1, "parcel").await;
    assert_eq!(found.messages.len(), 1, "{found:?}");
    let hit = &found.messages[0];
    assert_eq!(hit.snippet, "Where is my parcel? Order 5521");
    assert_eq!(hit.contact_name, "Ana Lima");
    assert_eq!(hit.bot_name, "Bot b1");
    assert_eq!(hit.direction, "in");
    assert!(found.next.is_none());
    // The hit opens its conversation.
    let thread = whatsdex::inbox::threads::find(&site.state, &t1, &hit.thread_id)
        .await
        .expect("the hit's thread");
    assert_eq!(thread.number, "447700900123");

    // A word's start, in any case, and every word typed must be there.
    assert_eq!(snippets(&find(&site, &t1, "PARC").await).len(), 1);
    assert_eq!(snippets(&find(&site, &t1, "parcel ord").await).len(), 1);
    assert_eq!(
        snippets(&find(&site, &t1, "invo").await),
        vec!["The invoice was wrong"]
    );
    assert!(find(&site, &t1, "refund").await.messages.is_empty());
    assert!(find(&site, &t1, "parcel refund").await.messages.is_empty());
    // Inside a word is not a word's start.
    assert!(find(&site, &t1, "arcel").await.messages.is_empty());
}

#[actix_web::test]
async fn a_contact_is_found_by_name_and_by_the_start_of_its_number() {
    let (site, t1, _) = two_workspaces().await;

    let by_name = find(&site, &t1, "ana").await;
    let numbers: Vec<&str> = by_name
        .conversations
        .iter()
        .map(|t| t.number.as_str())
        .collect();
    assert_eq!(numbers, vec!["447700900123"]);
    assert_eq!(by_name.conversations[0].display_name(), "Ana Lima");
    assert_eq!(find(&site, &t1, "Lima").await.conversations.len(), 1);

    for typed in ["4477009", "+44 7700 90", "447700900123"] {
        let found = find(&site, &t1, typed).await;
        assert_eq!(found.conversations.len(), 1, "{typed}: {found:?}");
        assert_eq!(found.conversations[0].number, "447700900123", "{typed}");
    }
    // Inside the number is not its start.
    assert!(find(&site, &t1, "7700900").await.conversations.is_empty());
    // Bruno by the start of his number; nobody by a number nobody has.
    assert_eq!(
        find(&site, &t1, "3519").await.conversations[0].display_name(),
        "Bruno"
    );
    assert!(find(&site, &t1, "999").await.conversations.is_empty());
}

#[actix_web::test]
async fn another_workspaces_messages_and_contacts_are_never_found() {
    let (site, t1, t2) = two_workspaces().await;

    let found = find(&site, &t1, "parcel").await;
    assert_eq!(snippets(&found), vec!["Where is my parcel? Order 5521"]);
    assert!(find(&site, &t1, "secret").await.messages.is_empty());
    assert!(find(&site, &t1, "Other").await.conversations.is_empty());
    assert!(
        find(&site, &t1, "447700900555")
            .await
            .conversations
            .is_empty()
    );

    let theirs = find(&site, &t2, "parcel").await;
    assert_eq!(
        snippets(&theirs),
        vec!["Where is my parcel? A secret of t2"]
    );
    assert_eq!(theirs.conversations.len(), 0);
    let theirs = find(&site, &t2, "ana").await;
    let names: Vec<&str> = theirs
        .conversations
        .iter()
        .map(|t| t.display_name())
        .collect();
    assert_eq!(names, vec!["Ana Other"]);
    assert!(find(&site, &t2, "invoice").await.messages.is_empty());
}

#[actix_web::test]
async fn punctuation_quotes_and_operators_typed_do_no_harm() {
    let (site, t1, _) = two_workspaces().await;

    for typed in [
        "\"parcel\"",
        "parcel'",
        "'parcel",
        "parcel:*",
        "parcel & !",
        "(parcel)",
        "parcel OR",
        "NEAR(parcel order)",
        "parcel*",
        "parcel -",
        "parcel \\",
        "parcel; DROP TABLE messages; --",
        "%parcel%",
        "parcel ^ {body}",
    ] {
        let found = search::search(&site.state, &t1, typed, None)
            .await
            .unwrap_or_else(|e| panic!("{typed}: {e}"));
        assert!(
            found.messages.len() <= 1,
            "{typed}: at most the one message: {found:?}"
        );
    }
    assert_eq!(find(&site, &t1, "\"parcel\"").await.messages.len(), 1);
    assert_eq!(find(&site, &t1, "parcel:*").await.messages.len(), 1);
    assert_eq!(find(&site, &t1, "(parcel)").await.messages.len(), 1);
    // Nothing searchable: nothing found, no error.
    for typed in ["", "   ", "\"", "'", ":*", "&|!()", "*", "--", "%"] {
        let found = find(&site, &t1, typed).await;
        assert!(
            found.messages.is_empty() && found.conversations.is_empty(),
            "{typed:?}"
        );
    }
    // The messages are all still there.
    let stored: i64 = site.query(|c| messages::table.count().get_result(c)).await;
    assert!(stored >= 3);
}

#[actix_web::test]
async fn paging_returns_the_next_hits_newest_first_without_repeats() {
    let (site, t1, _) = two_workspaces().await;
    // 75 matching messages in Ana's conversation, some sharing a second (the id breaks ties),
    // and as many that do not match.
    let total = 75usize;
    site.query(move |conn| {
        let base = Utc::now().naive_utc() - Duration::days(1);
        for i in 0..total {
            let at = base + Duration::seconds((i / 3) as i64);
            for (n, body) in [
                (0, format!("tracking update {i} for you")),
                (1, format!("nothing to see {i}")),
            ] {
                diesel::insert_into(messages::table)
                    .values((
                        messages::id.eq(format!("m-{i:03}-{n}")),
                        messages::tenant_id.eq("t1"),
                        messages::bot_id.eq("b1"),
                        messages::direction.eq(if i % 2 == 0 { "out" } else { "in" }),
                        messages::wa_message_id.eq(format!("wamid.page-{i}-{n}")),
                        messages::contact_number.eq("447700900123"),
                        messages::body.eq(body),
                        messages::status.eq("sent"),
                        messages::created_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
    .await;

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = search::search(&site.state, &t1, "tracking", cursor.as_ref())
            .await
            .expect("page");
        pages += 1;
        assert!(page.messages.len() as i64 <= PAGE_SIZE);
        if pages > 1 {
            assert!(
                page.conversations.is_empty(),
                "conversations come first only"
            );
        }
        seen.extend(
            page.messages
                .iter()
                .map(|m| (m.created_at, m.message_id.clone())),
        );
        match page.next {
            Some(next) => {
                assert_eq!(page.messages.len() as i64, PAGE_SIZE);
                // Through a link and back.
                cursor =
                    Some(whatsdex::inbox::threads::Cursor::decode(&next.encode()).expect("cursor"));
            }
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), total);
    let distinct: HashSet<&String> = seen.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), total, "no repeats");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");
    assert_eq!(seen[0].1, format!("m-{:03}-0", total - 1));
}
