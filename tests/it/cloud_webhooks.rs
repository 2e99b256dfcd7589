//! The Cloud API engine end to end, through the real app: Meta's webhooks (handshake,
//! signature, every kind of message, statuses, errors) posted to the app's routes, the bot
//! running under the supervisor, and its replies reaching a local fake of the Graph API.

use actix_web::http::StatusCode;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};
use whatsdex::bots::outbox;
use whatsdex::bots::transport::cloud_api::graph::GRAPH_VERSION;
use whatsdex::bots::transport::cloud_api::window;
use whatsdex::db::schema::{contacts, media, webhook_deliveries};

use crate::common::cloud::{
    APP_SECRET, CUSTOMER, CUSTOMER_USER_ID, CloudBot, PLATFORM_SECRET, PLATFORM_VERIFY_TOKEN,
    delivery, eventually, eventually_some, eventually_within, fixture, get_text, meta_refusals,
    post_webhook, sign, statuses, text_from, texts,
};
use crate::common::graph::{PHONE_NUMBER_ID, TOKEN};

/// The answer to "!cancel" with nothing to cancel (a second, distinct reply).
const NOTHING_TO_CANCEL: &str = "There is nothing to cancel.";

impl CloudBot {
    /// Post `body` to the bot's own URL, signed with its app secret; expects 200.
    async fn deliver(&self, body: &[u8]) {
        let app = self.site.app().await;
        let (status, answer) = post_webhook(
            &*app,
            &self.webhook_path,
            body,
            Some(&sign(APP_SECRET, body)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["received"], true);
    }

    /// The bot's stored deliveries: (processed, attempts).
    async fn deliveries(&self) -> Vec<(bool, i32)> {
        let bot_id = self.bot_id.clone();
        self.query(move |c| {
            webhook_deliveries::table
                .filter(webhook_deliveries::bot_id.eq(&bot_id))
                .select((
                    webhook_deliveries::processed_at.is_not_null(),
                    webhook_deliveries::attempts,
                ))
                .load(c)
        })
        .await
    }

    /// Wait until every stored delivery is processed.
    async fn all_processed(&self) {
        eventually("every delivery processed", async || {
            let all = self.deliveries().await;
            !all.is_empty() && all.iter().all(|(done, _)| *done)
        })
        .await;
    }

    /// Wait until the fake Graph API received `n` message sends.
    async fn sends_reach(&self, n: usize) {
        eventually(&format!("{n} sends at the Graph API"), async || {
            self.sends().len() >= n
        })
        .await;
        assert_eq!(self.sends().len(), n, "{:#?}", self.sends());
    }

    /// Queue `body` to the customer as the product would, and wake the sender.
    async fn queue(&self, body: &'static str) -> String {
        let (tenant_id, bot_id) = (self.tenant_id.clone(), self.bot_id.clone());
        let id = self
            .query(move |c| {
                outbox::enqueue_in(c, &tenant_id.into(), &bot_id.into(), CUSTOMER, body)
            })
            .await;
        self.site
            .state
            .bots
            .nudge_outbox(&self.bot_id.as_str().into());
        id
    }

    /// The customer writes "ping" (`wamid`) and the bot's "pong" reaches the Graph API.
    async fn ping(&self, wamid: &str) {
        let before = self.sends().len();
        self.deliver(&texts(&[(wamid, "ping")])).await;
        self.sends_reach(before + 1).await;
    }
}

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
async fn statuses_in_any_order_end_at_the_furthest_state() {
    let bot = CloudBot::start().await;
    // The customer writes first (the window opens); the bot's answer is one sent message.
    bot.ping("wamid.opens-window").await;
    let orders: [&[&str]; 10] = [
        &["sent", "delivered", "read"],
        &["sent", "read", "delivered"],
        &["delivered", "sent", "read"],
        &["delivered", "read", "sent"],
        &["read", "sent", "delivered"],
        &["read", "delivered", "sent"],
        &["delivered", "sent"],
        &["sent", "delivered", "failed"],
        &["failed", "read", "delivered", "sent"],
        &["read", "failed", "sent"],
    ];
    for _ in orders {
        bot.queue("Your order has shipped").await;
    }
    bot.sends_reach(1 + orders.len()).await;
    eventually("every queued message sent", async || {
        bot.outbox().await.iter().all(|e| e.sent)
    })
    .await;
    // The ids the fake Graph API gave, oldest first, past the "pong".
    let wamids: Vec<String> = bot
        .outbound()
        .await
        .into_iter()
        .filter(|m| m.body == "Your order has shipped")
        .map(|m| m.wa_message_id)
        .collect();
    assert_eq!(wamids.len(), orders.len());
    for (order, wamid) in orders.iter().zip(&wamids) {
        let statuses_of: Vec<(&str, &str)> = order.iter().map(|s| (wamid.as_str(), *s)).collect();
        // One delivery with every status, and each status again in its own delivery.
        bot.deliver(&statuses(&statuses_of)).await;
        for one in &statuses_of {
            bot.deliver(&statuses(&[*one])).await;
        }
    }
    bot.all_processed().await;
    let outbound = bot.outbound().await;
    for (order, wamid) in orders.iter().zip(&wamids) {
        let message = outbound.iter().find(|m| &m.wa_message_id == wamid).unwrap();
        let expected = if order.contains(&"failed") {
            "failed"
        } else if order.contains(&"read") {
            "read"
        } else {
            "delivered"
        };
        assert_eq!(message.status, expected, "{order:?}");
        if expected == "failed" {
            assert_eq!(message.error_code, Some(131047));
            assert_eq!(
                message.error_title.as_deref(),
                Some("Re-engagement message")
            );
        } else {
            assert_eq!(message.error_code, None);
        }
    }
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
async fn a_reply_goes_to_the_graph_api_as_meta_expects() {
    let bot = CloudBot::start().await;
    bot.ping("wamid.wants-a-reply").await;
    let request = bot
        .graph
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/messages"))
        .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/{GRAPH_VERSION}/{PHONE_NUMBER_ID}/messages")
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = request.body.unwrap();
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["recipient_type"], "individual");
    assert_eq!(body["to"], CUSTOMER);
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"]["body"], "pong");
    // Recorded as sent, with the id Meta gave.
    let sent = eventually_some("the reply recorded", async || {
        bot.outbound().await.into_iter().next()
    })
    .await;
    assert_eq!(sent.status, "sent");
    assert!(sent.wa_message_id.starts_with("wamid."), "{sent:?}");
    assert_eq!(sent.contact_number, CUSTOMER);
}

#[actix_web::test]
async fn a_closed_window_at_meta_gives_the_message_up() {
    let bot = CloudBot::start().await;
    bot.graph.fail_next(131047);
    bot.ping("wamid.too-late").await;
    let failed = eventually_some("the failed reply recorded", async || {
        bot.outbound()
            .await
            .into_iter()
            .find(|m| m.status == "failed")
    })
    .await;
    assert_eq!(failed.error_code, Some(131047));
    assert_eq!(failed.error_title.as_deref(), Some(window::CLOSED));
    assert_eq!(failed.body, "pong");
    let entry = &bot.outbox().await[0];
    assert!(!entry.sent);
    assert_eq!(
        entry.attempts,
        outbox::MAX_ATTEMPTS,
        "given up, not retried"
    );
    assert_eq!(entry.last_error.as_deref(), Some(window::CLOSED));
    // The next reply goes out; the refused one was never tried again.
    bot.deliver(&texts(&[("wamid.next", "!cancel")])).await;
    bot.sends_reach(2).await;
    assert!(bot.sent_texts()[1].starts_with(NOTHING_TO_CANCEL));
}

#[actix_web::test]
async fn a_refused_token_turns_the_bot_to_error_and_pauses_sending() {
    let bot = CloudBot::start().await;
    bot.graph.fail_next(190);
    bot.ping("wamid.token-expired").await;
    let (status, reason) = eventually_some("the bot in error", async || {
        let (status, reason) = bot.status().await;
        (status == "error").then_some((status, reason))
    })
    .await;
    assert_eq!(status, "error");
    let reason = reason.unwrap_or_default();
    assert!(reason.contains("access token"), "{reason}");
    assert!(!reason.contains(TOKEN));
    eventually("the bot stopped", async || {
        !bot.site.state.bots.is_running(&bot.bot_id.as_str().into())
    })
    .await;
    let entry = &bot.outbox().await[0];
    assert!(!entry.sent);
    assert_eq!(entry.attempts, 0, "the reply waits for a new token");
    assert!(bot.outbound().await.is_empty());
    // Meta's next delivery is kept; nothing more goes to the Graph API.
    bot.deliver(&texts(&[("wamid.while-paused", "ping")])).await;
    eventually("only the new delivery waits", async || {
        let deliveries = bot.deliveries().await;
        deliveries.len() == 2 && deliveries.iter().filter(|(done, _)| !done).count() == 1
    })
    .await;
    assert_eq!(bot.sends().len(), 1);
    assert!(
        bot.inbound()
            .await
            .iter()
            .all(|m| m.wa_message_id != "wamid.while-paused")
    );
}

#[actix_web::test]
async fn a_throughput_limit_slows_the_whole_number() {
    let bot = CloudBot::start().await;
    bot.graph.fail_next(130429);
    let refused_at = Utc::now().naive_utc();
    bot.ping("wamid.too-fast").await;
    let waiting = eventually_some("the reply waits", async || {
        bot.outbox()
            .await
            .into_iter()
            .find(|e| e.last_error.is_some())
    })
    .await;
    assert!(!waiting.sent);
    assert_eq!(waiting.attempts, 0, "waiting is not a failed attempt");
    assert!(
        waiting
            .last_error
            .as_deref()
            .unwrap()
            .contains("throughput"),
        "{waiting:?}"
    );
    assert!(
        waiting.next_attempt_at > refused_at + Duration::seconds(5),
        "{waiting:?}"
    );
    // A reply queued meanwhile waits too: the pause is for the whole number.
    bot.deliver(&texts(&[("wamid.meanwhile", "!cancel")])).await;
    eventually("the second reply queued", async || {
        bot.outbox().await.len() == 2
    })
    .await;
    assert_eq!(bot.sends().len(), 1);
    // After the pause both go out, the older first.
    // Meta gives no figure; the bot pauses the number for 10 seconds.
    eventually_within(
        "both replies sent after the pause",
        std::time::Duration::from_secs(15),
        async || {
            let sent = bot.outbox().await.iter().all(|e| e.sent);
            sent.then_some(())
        },
    )
    .await;
    let texts_sent = bot.sent_texts();
    assert_eq!(texts_sent.len(), 3, "{texts_sent:?}");
    assert_eq!(texts_sent[1], "pong");
    assert!(texts_sent[2].starts_with(NOTHING_TO_CANCEL));
}

#[actix_web::test]
async fn a_free_form_message_outside_the_window_is_refused_before_sending() {
    let bot = CloudBot::start().await;
    // The customer reacted (remembered, not answered), but more than 24 hours ago.
    bot.deliver(&fixture("reaction")).await;
    bot.stored("MEE09AA==").await;
    let bot_id = bot.bot_id.clone();
    let long_ago = Utc::now().naive_utc() - Duration::hours(25);
    bot.query(move |c| {
        diesel::update(contacts::table.filter(contacts::bot_id.eq(&bot_id)))
            .set(contacts::last_seen_at.eq(long_ago))
            .execute(c)
    })
    .await;
    bot.queue("We miss you! 20% off today").await;
    let failed = eventually_some("the message recorded failed", async || {
        bot.outbound()
            .await
            .into_iter()
            .find(|m| m.status == "failed")
    })
    .await;
    assert_eq!(failed.error_title.as_deref(), Some(window::CLOSED));
    assert_eq!(failed.error_code, None, "refused here, not by Meta");
    assert!(bot.sends().is_empty(), "nothing reached the Graph API");
    assert_eq!(bot.outbox().await[0].attempts, outbox::MAX_ATTEMPTS);
}

#[actix_web::test]
async fn a_contact_is_one_contact_whether_meta_sends_the_number_the_user_id_or_both() {
    let bot = CloudBot::start().await;
    let (fox, fox_number) = ("BR.9z8Y7x6W5v4U3t2S", "5511912340009");
    // The user id alone first, then both.
    bot.deliver(&fixture("user_id_only")).await;
    let first = bot.stored("MEE20AA==").await;
    assert_eq!(first.contact_user_id.as_deref(), Some(fox));
    bot.deliver(&delivery(json!({
        "contacts": [{"profile": {"name": "anonymous_fox"}, "wa_id": fox_number, "user_id": fox}],
        "messages": [text_from(Some(fox_number), Some(fox), "wamid.fox-2", "my number now")]
    })))
    .await;
    bot.stored("wamid.fox-2").await;
    // Both first, then the user id alone.
    bot.deliver(&texts(&[("wamid.ana-1", "hello")])).await;
    bot.stored("wamid.ana-1").await;
    bot.deliver(&delivery(json!({
        "contacts": [{"profile": {"name": "Ana Souza"}, "user_id": CUSTOMER_USER_ID}],
        "messages": [text_from(None, Some(CUSTOMER_USER_ID), "wamid.ana-2", "just my id")]
    })))
    .await;
    let later = bot.stored("wamid.ana-2").await;
    assert_eq!(later.contact_user_id.as_deref(), Some(CUSTOMER_USER_ID));
    assert_eq!(
        later.contact_number, CUSTOMER,
        "filed under the known number"
    );
    // The fox's first message, sent before its number was known, is filed under it too.
    assert_eq!(first.contact_number, fox);
    let fox_messages: Vec<String> = bot
        .inbound()
        .await
        .into_iter()
        .filter(|m| m.contact_user_id.as_deref() == Some(fox))
        .map(|m| m.contact_number)
        .collect();
    assert_eq!(fox_messages, [fox_number, fox_number]);

    let mut contacts = bot.contacts().await;
    contacts.sort();
    assert_eq!(
        contacts,
        [
            (fox_number.to_owned(), Some(fox.to_owned())),
            (CUSTOMER.to_owned(), Some(CUSTOMER_USER_ID.to_owned())),
        ]
    );
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
async fn a_number_known_before_its_user_id_is_joined_when_both_arrive() {
    let bot = CloudBot::start().await;
    let (number, user_id) = ("5511955550007", "BR.5u6V7w8X9y0Z1a2B");
    // Known by the number alone (before Meta sent user ids), then by the user id alone (one
    // cannot tell it is the same person yet), then both arrive together.
    for (wamid, from, uid) in [
        ("wamid.old-number", Some(number), None),
        ("wamid.id-only", None, Some(user_id)),
        ("wamid.both", Some(number), Some(user_id)),
    ] {
        bot.deliver(&delivery(json!({
            "contacts": [{"profile": {"name": "Rui"}}],
            "messages": [text_from(from, uid, wamid, "hello")]
        })))
        .await;
        bot.stored(wamid).await;
    }
    bot.all_processed().await;
    assert_eq!(
        bot.deliveries().await.iter().map(|d| d.1).max(),
        Some(0),
        "no delivery failed"
    );
    assert_eq!(
        bot.contacts().await,
        [(number.to_owned(), Some(user_id.to_owned()))],
        "one contact"
    );
    let numbers: Vec<String> = bot
        .inbound()
        .await
        .into_iter()
        .map(|m| m.contact_number)
        .collect();
    assert_eq!(numbers, [number, number, number], "one conversation");
}

#[actix_web::test]
async fn a_pair_rate_limit_spaces_messages_to_that_customer_only() {
    let bot = CloudBot::start().await;
    bot.graph.fail_next(131056);
    bot.ping("wamid.pair-1").await;
    eventually("the reply waits", async || {
        bot.outbox().await.iter().any(|e| e.last_error.is_some())
    })
    .await;
    // The same customer writes again: that reply waits for them too.
    bot.deliver(&texts(&[("wamid.pair-2", "!cancel")])).await;
    eventually("the second reply queued", async || {
        bot.outbox().await.len() == 2
    })
    .await;
    // Another customer is answered at once (in the same pass that would have sent the
    // second reply first, had it not waited).
    let other = "5511900000077";
    bot.deliver(&delivery(json!({
        "contacts": [{"profile": {"name": "Lia"}, "wa_id": other}],
        "messages": [text_from(Some(other), None, "wamid.other", "ping")]
    })))
    .await;
    bot.sends_reach(2).await;
    let second = &bot.sends()[1];
    assert_eq!(
        (second["to"].as_str(), second["text"]["body"].as_str()),
        (Some(other), Some("pong"))
    );
    eventually("the other customer's reply recorded sent", async || {
        bot.outbox().await.iter().any(|e| e.to == other && e.sent)
    })
    .await;
    let waiting: Vec<_> = bot.outbox().await.into_iter().filter(|e| !e.sent).collect();
    assert_eq!(waiting.len(), 2, "{waiting:?}");
    assert!(waiting.iter().all(|e| e.to == CUSTOMER && e.attempts == 0));
}

#[actix_web::test]
async fn a_message_out_of_retries_is_recorded_failed() {
    let bot = CloudBot::start().await;
    bot.ping("wamid.opens").await;
    // A message on its last attempt, and the Graph API fails once more.
    bot.graph.fail_next(500);
    let (tenant_id, bot_id) = (bot.tenant_id.clone(), bot.bot_id.clone());
    let id = bot
        .query(move |c| {
            let id = outbox::enqueue_in(
                c,
                &tenant_id.into(),
                &bot_id.into(),
                CUSTOMER,
                "Your table is ready",
            )?;
            diesel::update(whatsdex::db::schema::outbox::table.find(&id))
                .set(whatsdex::db::schema::outbox::attempts.eq(outbox::MAX_ATTEMPTS - 1))
                .execute(c)?;
            Ok(id)
        })
        .await;
    bot.site
        .state
        .bots
        .nudge_outbox(&bot.bot_id.as_str().into());
    let failed = eventually_some("the message recorded failed", async || {
        bot.outbound()
            .await
            .into_iter()
            .find(|m| m.status == "failed")
    })
    .await;
    assert_eq!(failed.body, "Your table is ready");
    assert_eq!(failed.wa_message_id, format!("unsent:{id}"));
    assert!(failed.error_title.is_some());
    let entry = bot.outbox().await.into_iter().find(|e| e.id == id).unwrap();
    assert_eq!(entry.attempts, outbox::MAX_ATTEMPTS);
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
async fn a_bot_whose_token_was_refused_stays_in_error_after_a_restart() {
    let bot = CloudBot::start().await;
    bot.graph.fail_next(190);
    bot.ping("wamid.expired").await;
    let (_, reason) = eventually_some("the bot in error", async || {
        let status = bot.status().await;
        (status.0 == "error").then_some(status)
    })
    .await;
    bot.site
        .state
        .bots
        .shutdown(std::time::Duration::from_secs(5))
        .await;

    // A new process: the bot is not run on a token Meta refused (the page would read
    // "connected" and its replies would fail again).
    let restarted =
        whatsdex::server::prepare(bot.site.state.config.as_ref().clone(), false).unwrap();
    restarted.bots.start_all().await.unwrap();
    eventually("the bot stopped again", async || {
        !restarted.bots.is_running(&bot.bot_id.as_str().into())
    })
    .await;
    assert_eq!(bot.status().await, ("error".to_owned(), reason));
    assert_eq!(bot.sends().len(), 1);
    assert!(!bot.outbox().await[0].sent);
}

#[actix_web::test]
async fn a_user_id_seen_with_another_known_number_does_not_fail_the_delivery() {
    let bot = CloudBot::start().await;
    let (old_number, new_number, user_id) =
        ("5511944440001", "5511944440002", "BR.0a1B2c3D4e5F6g7H");
    // Someone known with their number and user id; a number known from before user ids; then
    // the user id arrives with that second number.
    for (wamid, from, uid) in [
        ("wamid.moved-1", old_number, Some(user_id)),
        ("wamid.moved-2", new_number, None),
        ("wamid.moved-3", new_number, Some(user_id)),
    ] {
        bot.deliver(&delivery(json!({
            "contacts": [{"profile": {"name": "Tomas"}}],
            "messages": [text_from(Some(from), uid, wamid, "hello")]
        })))
        .await;
        bot.stored(wamid).await;
    }
    bot.all_processed().await;
    assert_eq!(
        bot.deliveries().await.iter().map(|d| d.1).max(),
        Some(0),
        "no delivery failed"
    );
    assert_eq!(
        bot.contacts().await,
        [
            (old_number.to_owned(), Some(user_id.to_owned())),
            (new_number.to_owned(), None),
        ]
    );
}
