//! A Cloud API bot's replies through a local fake of the Graph API: the JSON Meta expects,
//! statuses that only move forward, the 24-hour window checked before sending, and Meta's
//! errors acted on (131047 gives up, 190 stops the bot, 130429 and 131056 slow it).

use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::json;
use whatsdex::bots::outbox;
use whatsdex::bots::transport::cloud_api::graph::GRAPH_VERSION;
use whatsdex::bots::transport::cloud_api::window;
use whatsdex::db::schema::contacts;

use crate::common::cloud::{
    CUSTOMER, CUSTOMER_USER_ID, CloudBot, NOTHING_TO_CANCEL, delivery, eventually, eventually_some,
    eventually_within, fixture, statuses, text_from, texts,
};
use crate::common::graph::{PHONE_NUMBER_ID, TOKEN};

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
        // Meta's `recipient_user_id` is kept beside the number, whatever the status.
        assert_eq!(message.contact_user_id.as_deref(), Some(CUSTOMER_USER_ID));
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
