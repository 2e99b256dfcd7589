//! Cloud API contacts: Meta sends a customer's number, their business-scoped user id or both,
//! and the bot keeps one contact (and one conversation) whichever arrives first.

use serde_json::json;

use crate::common::cloud::{
    CUSTOMER, CUSTOMER_USER_ID, CloudBot, delivery, fixture, text_from, texts,
};

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

#[actix_web::test]
async fn a_customer_known_only_by_user_id_is_answered_at_that_id() {
    let bot = CloudBot::start().await;
    let user_id = "US.13491208655302741918";
    bot.deliver(&delivery(json!({
        "contacts": [{"profile": {"name": "quiet_owl"}, "user_id": user_id}],
        "messages": [text_from(None, Some(user_id), "wamid.owl", "ping")]
    })))
    .await;
    bot.sends_reach(1).await;
    let reply = &bot.sends()[0];
    // Meta takes a business-scoped user id in `recipient`; `to` is for phone numbers.
    assert_eq!(reply["recipient"], user_id, "{reply}");
    assert!(reply.get("to").is_none(), "{reply}");
    assert_eq!(reply["type"], "text");
}
