//! Meta's webhooks through the real app: the handshake, the signature over the raw bytes,
//! every kind of message stored with its fields, deliveries with several messages, repeated
//! or concurrent redeliveries, large batches, and deliveries kept across stops and restarts.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use serde_json::{Value, json};
use whatsdex::db::schema::media;

use crate::common::cloud::{
    APP_SECRET, CUSTOMER, CUSTOMER_USER_ID, CloudBot, NOTHING_TO_CANCEL, PLATFORM_SECRET,
    PLATFORM_VERIFY_TOKEN, delivery, eventually, eventually_some, fixture, get_text, meta_refusals,
    post_webhook, sign, texts,
};
use crate::common::graph::PHONE_NUMBER_ID;

#[actix_web::test]
async fn a_bots_url_echoes_the_challenge_only_for_its_verify_token() {
    let bot = CloudBot::start().await;
    let app = bot.site.app().await;
    let path = |token: &str| {
        format!(
            "{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            bot.webhook_path
        )
    };
    let (status, body) = get_text(&*app, &path(&bot.verify_token)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1158201444"));
    let (status, body) = get_text(&*app, &path("not-the-token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("1158201444"));
    let unknown = format!(
        "/webhooks/whatsapp/no-such-key?hub.mode=subscribe&hub.verify_token={}&hub.challenge=1",
        bot.verify_token
    );
    assert_eq!(get_text(&*app, &unknown).await.0, StatusCode::NOT_FOUND);
    let body = texts(&[("wamid.unknown-key", "ping")]);
    let (status, _) = post_webhook(
        &*app,
        "/webhooks/whatsapp/no-such-key",
        &body,
        Some(&sign(APP_SECRET, &body)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // No platform app configured: its URL does not exist.
    let platform = format!(
        "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={PLATFORM_VERIFY_TOKEN}&hub.challenge=1"
    );
    assert_eq!(get_text(&*app, &platform).await.0, StatusCode::NOT_FOUND);
    let (status, _) = post_webhook(
        &*app,
        "/webhooks/whatsapp",
        &body,
        Some(&sign(PLATFORM_SECRET, &body)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_platform_url_routes_by_phone_number_id() {
    let bot = CloudBot::start_with(&[
        ("META_APP_SECRET", PLATFORM_SECRET),
        ("META_VERIFY_TOKEN", PLATFORM_VERIFY_TOKEN),
    ])
    .await;
    let app = bot.site.app().await;
    let handshake = |token: &str| {
        format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=77")
    };
    let (status, body) = get_text(&*app, &handshake(PLATFORM_VERIFY_TOKEN)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "77"));
    assert_eq!(
        get_text(&*app, &handshake(&bot.verify_token)).await.0,
        StatusCode::FORBIDDEN,
        "a bot's token is not the platform's"
    );

    let body = texts(&[("wamid.platform-1", "ping")]);
    let (status, _) = post_webhook(
        &*app,
        "/webhooks/whatsapp",
        &body,
        Some(&sign(APP_SECRET, &body)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the bot's own secret");
    let (status, answer) = post_webhook(
        &*app,
        "/webhooks/whatsapp",
        &body,
        Some(&sign(PLATFORM_SECRET, &body)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let stored = bot.stored("wamid.platform-1").await;
    assert_eq!(stored.contact_number, CUSTOMER);
    bot.sends_reach(1).await;
    assert_eq!(bot.sent_texts(), ["pong"]);

    // A number no bot has: acknowledged (Meta would retry forever), stored for nobody.
    let other = String::from_utf8(body)
        .unwrap()
        .replace(PHONE_NUMBER_ID, "999999999999999")
        .replace("wamid.platform-1", "wamid.platform-2");
    let (status, _) = post_webhook(
        &*app,
        "/webhooks/whatsapp",
        other.as_bytes(),
        Some(&sign(PLATFORM_SECRET, other.as_bytes())),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bot.deliveries().await.len(), 1);
}

#[actix_web::test]
async fn signatures_are_checked_over_the_raw_bytes() {
    let bot = CloudBot::start().await;
    let app = bot.site.app().await;
    assert_eq!(bot.status().await.0, "pairing", "no verified webhook yet");
    let refusals_before = meta_refusals(&*app).await;

    let body = texts(&[("wamid.signed", "ping")]);
    let forged = sign("some-other-apps-secret-000000000", &body);
    // The same JSON, other bytes: what a framework that parses and re-serialises would check.
    let reserialised =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    assert_ne!(reserialised, body);
    let good = sign(APP_SECRET, &body);
    for (what, bytes, signature) in [
        ("forged", &body, Some(forged.as_str())),
        ("missing", &body, None),
        ("malformed", &body, Some("sha256=not-hex")),
        ("re-serialised", &reserialised, Some(good.as_str())),
    ] {
        let (status, answer) = post_webhook(&*app, &bot.webhook_path, bytes, signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_signature", "{what}");
    }
    assert!(
        bot.deliveries().await.is_empty(),
        "nothing refused is stored"
    );
    assert!(
        meta_refusals(&*app).await >= refusals_before + 4.0,
        "refusals are counted"
    );
    let recorded = bot.platform_errors("webhook_rejected").await;
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    assert!(
        recorded
            .iter()
            .all(|d| d.starts_with("Meta webhook refused"))
    );
    assert!(recorded.iter().all(|d| !d.contains(APP_SECRET)));

    let (status, _) = post_webhook(&*app, &bot.webhook_path, &body, Some(&good)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bot.stored("wamid.signed").await.body, "ping");
    eventually("the bot turns connected", async || {
        bot.status().await.0 == "connected"
    })
    .await;
}

#[actix_web::test]
async fn every_kind_of_message_is_stored_with_its_fields() {
    let bot = CloudBot::start().await;
    let names = [
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "interactive_button_reply",
        "interactive_list_reply",
        "button",
        "unsupported",
    ];
    for name in names {
        bot.deliver(&fixture(name)).await;
    }
    bot.all_processed().await;
    let stored = bot.inbound().await;
    assert_eq!(stored.len(), names.len(), "{stored:#?}");
    let by_kind = |wamid_tail: &str| {
        stored
            .iter()
            .find(|m| m.wa_message_id.ends_with(wamid_tail))
            .unwrap_or_else(|| panic!("{wamid_tail} stored"))
            .clone()
    };
    for m in &stored {
        assert_eq!(m.contact_number, CUSTOMER);
        assert_eq!(m.contact_user_id.as_deref(), Some(CUSTOMER_USER_ID));
        assert_eq!(m.status, "received");
    }

    let text = by_kind("MEE01AA==");
    assert_eq!(
        (text.kind.as_str(), text.body.as_str()),
        ("text", "Hello, is the shop open today?")
    );
    assert_eq!(
        text.reply_to.as_deref(),
        Some("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX1JFUExZXzAxAA==")
    );

    let image = by_kind("MEE02AA==");
    assert_eq!(
        (image.kind.as_str(), image.body.as_str()),
        ("image", "The broken part")
    );
    assert_eq!(image.details()["media_id"], "1029384756647382");
    assert_eq!(image.details()["mime_type"], "image/jpeg");
    let audio = by_kind("MEE03AA==");
    assert_eq!(audio.kind, "audio");
    assert_eq!(audio.details()["voice"], true);
    assert_eq!(audio.details()["mime_type"], "audio/ogg; codecs=opus");
    let video = by_kind("MEE04AA==");
    assert_eq!(
        (video.kind.as_str(), video.body.as_str()),
        ("video", "Look at this")
    );
    let document = by_kind("MEE05AA==");
    assert_eq!(document.kind, "document");
    assert_eq!(document.details()["filename"], "invoice-2026-11.pdf");
    assert_eq!(document.details()["caption"], "My invoice");
    let sticker = by_kind("MEE06AA==");
    assert_eq!(sticker.kind, "sticker");
    assert_eq!(sticker.details()["mime_type"], "image/webp");

    let location = by_kind("MEE07AA==");
    assert_eq!(location.kind, "location");
    assert_eq!(location.details()["latitude"], -23.561414);
    assert_eq!(location.details()["longitude"], -46.655881);
    assert_eq!(location.details()["name"], "Avenida Paulista");
    assert_eq!(
        location.details()["address"],
        "Av. Paulista, 1578, Sao Paulo"
    );

    let cards = by_kind("MEE08AA==");
    assert_eq!(cards.kind, "contacts");
    let list = cards.details()["contacts"].clone();
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(list[0]["phones"][0]["wa_id"], "5511912340002");
    assert_eq!(cards.body, "Carlos Lima", "{list}");

    let reaction = by_kind("MEE09AA==");
    assert_eq!(
        (reaction.kind.as_str(), reaction.body.as_str()),
        ("reaction", "👍")
    );
    let reacted_to = "wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX1JFUExZXzAyAA==";
    assert_eq!(reaction.reply_to.as_deref(), Some(reacted_to));
    assert_eq!(reaction.details()["message_id"], reacted_to);

    let button = by_kind("MEE11AA==");
    assert_eq!(
        (button.kind.as_str(), button.body.as_str()),
        ("interactive", "Yes, confirm")
    );
    assert_eq!(
        button.details(),
        json!({"reply": "button", "id": "confirm-order-77", "title": "Yes, confirm"})
    );
    assert_eq!(
        button.reply_to.as_deref(),
        Some("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX0JVVFRPTlNfMDEA")
    );
    let listed = by_kind("MEE12AA==");
    assert_eq!(listed.kind, "interactive");
    assert_eq!(
        listed.details(),
        json!({"reply": "list", "id": "slot-tue-10", "title": "Tuesday 10:00", "description": "Downtown branch"})
    );
    let template_button = by_kind("MEE13AA==");
    assert_eq!(
        (template_button.kind.as_str(), template_button.body.as_str()),
        ("button", "Stop promotions")
    );
    assert_eq!(template_button.details()["payload"], "STOP_PROMOTIONS");

    let unsupported = by_kind("MEE14AA==");
    assert_eq!(unsupported.kind, "unsupported");
    assert_eq!(unsupported.details()["error_code"], 131051);

    // Each media message waits for its bytes in a pending `media` row.
    let bot_id = bot.bot_id.clone();
    let mut pending: Vec<(String, String, Option<String>)> = bot
        .query(move |c| {
            media::table
                .filter(media::bot_id.eq(&bot_id))
                .select((media::provider_media_id, media::status, media::mime_type))
                .load(c)
        })
        .await;
    pending.sort();
    let ids: Vec<&str> = pending.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "1029384756647382",
            "2038475610293847",
            "3047586920314758",
            "4056789012345678",
            "5067890123456789"
        ]
    );
    // Pending until fetched (a downloader may already have tried), each with its type.
    assert!(
        pending
            .iter()
            .all(
                |(_, status, mime)| ["pending", "stored", "failed"].contains(&status.as_str())
                    && mime.is_some()
            ),
        "{pending:?}"
    );
}

#[actix_web::test]
async fn unknown_types_and_fields_never_fail_a_delivery() {
    let bot = CloudBot::start().await;
    bot.deliver(&fixture("unknown_fields")).await;
    bot.deliver(&fixture("reaction_removed")).await;
    bot.all_processed().await;
    let stored = bot.inbound().await;
    let kinds: Vec<(&str, &str, Value)> = stored
        .iter()
        .map(|m| (m.kind.as_str(), m.body.as_str(), m.details()))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    // A type Meta added later, and an image without its id: kept as unsupported.
    assert_eq!(kinds[0].0, "unsupported");
    assert_eq!(kinds[0].2["type"], "hologram");
    assert_eq!((kinds[1].0, kinds[1].1), ("text", "Still here"));
    assert_eq!(kinds[2].0, "unsupported");
    assert_eq!(kinds[2].2["type"], "image");
    // A removed reaction: no emoji.
    assert_eq!((kinds[3].0, kinds[3].1), ("reaction", ""));
    assert_eq!(kinds[3].2["emoji"], Value::Null);
    let bot_id = bot.bot_id.clone();
    let media_rows: i64 = bot
        .query(move |c| {
            media::table
                .filter(media::bot_id.eq(&bot_id))
                .count()
                .get_result(c)
        })
        .await;
    assert_eq!(media_rows, 0, "nothing to download without a media id");
    assert_eq!(bot.deliveries().await.iter().map(|d| d.1).max(), Some(0));
}

#[actix_web::test]
async fn reactions_and_unsupported_messages_are_kept_not_answered() {
    let bot = CloudBot::start().await;
    bot.deliver(&fixture("reaction")).await;
    bot.deliver(&fixture("unsupported")).await;
    bot.ping("wamid.after-reaction").await;
    let kinds: Vec<String> = bot.inbound().await.into_iter().map(|m| m.kind).collect();
    assert_eq!(kinds, ["reaction", "unsupported", "text"]);
    assert_eq!(bot.sent_texts(), ["pong"], "only the text is answered");
    assert_eq!(bot.outbox().await.len(), 1);
}

#[actix_web::test]
async fn two_messages_in_one_delivery_are_stored_and_answered_in_order() {
    let bot = CloudBot::start().await;
    bot.deliver(&texts(&[
        ("wamid.first", "ping"),
        ("wamid.second", "!cancel"),
    ]))
    .await;
    bot.sends_reach(2).await;
    let order: Vec<String> = bot
        .inbound()
        .await
        .into_iter()
        .map(|m| m.wa_message_id)
        .collect();
    assert_eq!(order, ["wamid.first", "wamid.second"]);
    let sent = bot.sent_texts();
    assert_eq!(sent[0], "pong");
    assert!(sent[1].starts_with(NOTHING_TO_CANCEL), "{sent:?}");
}

#[actix_web::test]
async fn a_redelivery_is_stored_and_answered_once() {
    let bot = CloudBot::start().await;
    let app = bot.site.app().await;
    // The same delivery three times in a row…
    let body = texts(&[("wamid.again", "ping")]);
    for _ in 0..3 {
        bot.deliver(&body).await;
    }
    // …and another three times at once.
    let concurrent = texts(&[("wamid.at-once", "!cancel")]);
    let signature = sign(APP_SECRET, &concurrent);
    let answers = futures_util::future::join_all(
        (0..3).map(|_| post_webhook(&*app, &bot.webhook_path, &concurrent, Some(&signature))),
    )
    .await;
    assert!(
        answers.iter().all(|(status, _)| *status == StatusCode::OK),
        "{answers:?}"
    );
    assert_eq!(
        bot.deliveries().await.len(),
        6,
        "each delivery is stored as it came"
    );
    bot.all_processed().await;
    bot.sends_reach(2).await;
    let ids: Vec<String> = bot
        .inbound()
        .await
        .into_iter()
        .map(|m| m.wa_message_id)
        .collect();
    assert_eq!(ids, ["wamid.again", "wamid.at-once"]);
    assert_eq!(bot.outbox().await.len(), 2);
    let sent = bot.sent_texts();
    assert_eq!(sent[0], "pong");
    assert!(sent[1].starts_with(NOTHING_TO_CANCEL), "{sent:?}");
}

#[actix_web::test]
async fn a_large_batch_of_statuses_is_taken() {
    let bot = CloudBot::start().await;
    // Meta batches up to a thousand changes and documents deliveries of up to 3 MB; this one
    // is well over actix's 256 kB default.
    let statuses: Vec<Value> = (0..900)
        .map(|i| {
            json!({
                "id": format!("wamid.HBgNNTUxMTk4NzY1MDAwMRUCABEYEkJVU0lORVNTX09VVF8w{i:06}"),
                "status": "delivered",
                "timestamp": "1764670201",
                "recipient_id": CUSTOMER,
                "recipient_user_id": CUSTOMER_USER_ID,
                "conversation": {
                    "id": "9f8e7d6c5b4a39281716a5b4c3d2e1f0",
                    "expiration_timestamp": "1764756400",
                    "origin": {"type": "service"}
                },
                "pricing": {
                    "billable": false,
                    "pricing_model": "PMP",
                    "category": "service",
                    "type": "free_customer_service"
                }
            })
        })
        .collect();
    let body = delivery(json!({ "statuses": statuses }));
    assert!(body.len() > 300 * 1024, "{}", body.len());
    bot.deliver(&body).await;
    assert_eq!(bot.deliveries().await.len(), 1);
    bot.all_processed().await;

    // Past Meta's 3 MB: refused before anything is read into the database.
    let huge = vec![b' '; 3 * 1024 * 1024 + 1];
    let app = bot.site.app().await;
    let (status, _) = post_webhook(
        &*app,
        &bot.webhook_path,
        &huge,
        Some(&sign(APP_SECRET, &huge)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(bot.deliveries().await.len(), 1);
}

#[actix_web::test]
async fn an_errors_only_change_is_acknowledged_and_recorded() {
    let bot = CloudBot::start().await;
    bot.deliver(&fixture("errors_only")).await;
    bot.all_processed().await;
    let recorded = eventually_some("the provider error recorded", async || {
        let found = bot.platform_errors("provider_error").await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].contains("131000"), "{recorded:?}");
    assert!(recorded[0].contains("Something went wrong"), "{recorded:?}");
    assert!(bot.inbound().await.is_empty());
}

#[actix_web::test]
async fn a_delivery_stored_while_the_bot_is_stopped_is_processed_when_it_starts() {
    let bot = CloudBot::start().await;
    let id = bot.bot_id.as_str().into();
    bot.site.state.bots.stop(&id).await;
    bot.deliver(&texts(&[("wamid.while-stopped", "ping")]))
        .await;
    assert_eq!(bot.deliveries().await, [(false, 0)]);
    assert!(bot.inbound().await.is_empty());

    bot.site.state.bots.ensure_running(&id);
    bot.sends_reach(1).await;
    assert_eq!(bot.sent_texts(), ["pong"]);
    assert_eq!(bot.stored("wamid.while-stopped").await.body, "ping");
    bot.all_processed().await;
}

#[actix_web::test]
async fn a_delivery_acknowledged_before_a_crash_is_processed_by_the_next_process() {
    let bot = CloudBot::start().await;
    bot.ping("wamid.before-crash").await;
    // The process stops; Meta's next delivery was already acknowledged (stored) by then.
    bot.site
        .state
        .bots
        .shutdown(std::time::Duration::from_secs(5))
        .await;
    bot.deliver(&texts(&[("wamid.during-crash", "!cancel")]))
        .await;

    // A new process on the same database starts every runnable bot.
    let restarted =
        whatsdex::server::prepare(bot.site.state.config.as_ref().clone(), false).unwrap();
    assert_eq!(restarted.bots.start_all().await.unwrap(), 1);
    bot.sends_reach(2).await;
    assert!(bot.sent_texts()[1].starts_with(NOTHING_TO_CANCEL));
    bot.all_processed().await;
    let ids: Vec<String> = bot
        .inbound()
        .await
        .into_iter()
        .map(|m| m.wa_message_id)
        .collect();
    assert_eq!(ids, ["wamid.before-crash", "wamid.during-crash"]);
    eventually("the bot connected again", async || {
        bot.status().await.0 == "connected"
    })
    .await;
    restarted
        .bots
        .shutdown(std::time::Duration::from_secs(5))
        .await;
}

#[actix_web::test]
async fn deliveries_processed_days_ago_are_pruned_when_the_bot_starts() {
    use whatsdex::db::schema::webhook_deliveries;
    let bot = CloudBot::start().await;
    bot.ping("wamid.recent").await;
    bot.all_processed().await;
    // One delivery processed four days ago, as if the bot had run all along.
    let (tenant_id, bot_id) = (bot.tenant_id.clone(), bot.bot_id.clone());
    bot.query(move |c| {
        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(4);
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq("old-delivery"),
                webhook_deliveries::tenant_id.eq(&tenant_id),
                webhook_deliveries::bot_id.eq(&bot_id),
                webhook_deliveries::body.eq(b"{}".to_vec()),
                webhook_deliveries::received_at.eq(long_ago),
                webhook_deliveries::processed_at.eq(Some(long_ago)),
            ))
            .execute(c)
    })
    .await;
    assert_eq!(bot.deliveries().await.len(), 2);

    let id = bot.bot_id.as_str().into();
    bot.site.state.bots.stop(&id).await;
    bot.site.state.bots.ensure_running(&id);
    eventually(
        "the old delivery is pruned, the recent one kept",
        async || bot.deliveries().await.len() == 1,
    )
    .await;
    let kept: Vec<String> = bot
        .query(|c| {
            webhook_deliveries::table
                .select(webhook_deliveries::id)
                .load(c)
        })
        .await;
    assert!(!kept.contains(&"old-delivery".to_owned()));
}
