//! How a bot behaves with customers, through the real pipeline on the sandbox transport: the
//! flood guard, the away message, leaving a flow, prices in an order, counted nouns, and
//! what the dashboard calls a conversation and a command.

use actix_web::http::StatusCode;
use chrono::{Duration, Timelike, Utc};
use diesel::prelude::*;
use whatsdex::bots::behaviour::BotConfig;
use whatsdex::bots::router::flood;
use whatsdex::db::schema::{bot_configs, contacts, messages, outbox};

use crate::common::Site;
use crate::templates::{CARL, Chat, DORA, OWNER, bot_with_template};

/// The bot's stored settings.
pub(crate) async fn stored_config(site: &Site) -> BotConfig {
    let json: String = site
        .query(|c| bot_configs::table.select(bot_configs::config).first(c))
        .await;
    serde_json::from_str(&json).expect("stored settings parse")
}

/// The settings form's fields as the page fills them in for `config`: what a browser sends
/// when the owner changes nothing else.
pub(crate) fn form_of(config: &BotConfig) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = vec![
        ("prefix".into(), config.prefix.clone()),
        ("language".into(), config.language.clone()),
        ("welcome".into(), config.welcome.clone()),
        ("utc_offset".into(), config.hours.utc_offset.clone()),
        ("open".into(), config.hours.open.clone()),
        ("close".into(), config.hours.close.clone()),
        ("away_message".into(), config.away_message.clone()),
        ("fallback".into(), config.fallback.clone()),
        ("flood_limit".into(), config.flood_limit.to_string()),
        (
            "keywords".into(),
            whatsdex::bots::settings::keywords_text(config),
        ),
        ("menu_title".into(), config.menu.title.clone()),
        ("menu".into(), whatsdex::bots::settings::menu_text(config)),
    ];
    if config.hours.enabled {
        fields.push(("hours_enabled".into(), "on".into()));
    }
    if config.anti_link {
        fields.push(("anti_link".into(), "on".into()));
    }
    for day in &config.hours.days {
        fields.push(("days".into(), day.to_string()));
    }
    for (i, command) in config.commands.iter().enumerate() {
        if command.enabled {
            fields.push((format!("cmd_{i}_enabled"), "on".into()));
        }
        fields.push((format!("cmd_{i}_reply"), command.reply.clone()));
    }
    fields
}

/// `fields` with `name` set to `value`.
pub(crate) fn with(
    mut fields: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
    fields
}

pub(crate) fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn to(number: &str, text: &str) -> (String, String) {
    (number.to_owned(), text.to_owned())
}

/// Inbound messages stored from `number`.
async fn stored_from(site: &Site, number: &'static str) -> i64 {
    site.query(move |c| {
        messages::table
            .filter(messages::direction.eq("in"))
            .filter(messages::contact_number.eq(number))
            .count()
            .get_result(c)
    })
    .await
}

/// A minute passes for `number`: its messages move back two minutes and its pause ends.
async fn a_minute_passes_for(site: &Site, number: &'static str) {
    site.query(move |c| {
        let earlier = Utc::now().naive_utc() - Duration::minutes(2);
        diesel::update(messages::table.filter(messages::contact_number.eq(number)))
            .set(messages::created_at.eq(earlier))
            .execute(c)?;
        diesel::update(contacts::table.filter(contacts::number.eq(number)))
            .set(contacts::paused_until.eq(Some(earlier)))
            .execute(c)
    })
    .await;
}

#[actix_web::test]
async fn a_customer_typing_fast_is_answered_every_time() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let mut chat = Chat::new(&site, &bot_id);
    // Twenty messages as fast as the pipeline takes them: more than anyone types in a minute.
    for n in 1..=20 {
        assert_eq!(
            chat.say(CARL, "ping").await,
            [to(CARL, "pong")],
            "message {n}"
        );
    }
}

#[actix_web::test]
async fn the_flood_limit_is_a_setting_checked_on_the_form() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    let path = format!("/bots/{bot_id}/settings");
    // Settings stored before the limit existed get the default.
    site.query(|c| {
        let json: String = bot_configs::table.select(bot_configs::config).first(c)?;
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value.as_object_mut().unwrap().remove("flood_limit");
        diesel::update(bot_configs::table)
            .set(bot_configs::config.eq(value.to_string()))
            .execute(c)
    })
    .await;
    let page = owner.get(&path).await;
    assert!(
        page.body.contains(r#"name="flood_limit""#) && page.body.contains(r#"value="60""#),
        "the form shows the default limit"
    );
    assert_eq!(stored_config(&site).await.flood_limit, 60);

    let fields = form_of(&stored_config(&site).await);
    for bad in ["5", "601", "lots"] {
        let refused = owner
            .post(&path, &pairs(&with(fields.clone(), "flood_limit", bad)))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(
            refused.body.contains(r#"id="flood_limit-error""#),
            "the error is next to the field"
        );
        assert!(
            refused.body.contains(&format!(r#"value="{bad}""#)),
            "what was typed is kept"
        );
    }
    assert_eq!(stored_config(&site).await.flood_limit, 60, "nothing saved");
    let saved = owner
        .post(&path, &pairs(&with(fields, "flood_limit", "45")))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let config = stored_config(&site).await;
    assert_eq!(config.flood_limit, 45);
    assert_eq!(
        config.keywords.len(),
        whatsdex::bots::presets::find("faq_assistant")
            .unwrap()
            .config
            .keywords
            .len(),
        "the rest of the form was saved as it was"
    );
}

#[actix_web::test]
async fn a_flood_pauses_only_that_contact_says_so_and_keeps_every_message() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let lowest = *whatsdex::bots::behaviour::FLOOD_LIMITS.start();
    let fields = form_of(&stored_config(&site).await);
    let limit = lowest.to_string();
    let saved = owner
        .post(
            &format!("/bots/{bot_id}/settings"),
            &pairs(&with(fields, "flood_limit", &limit)),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let mut chat = Chat::new(&site, &bot_id);
    // Half-way through an order, then many messages within the minute.
    assert_eq!(chat.say(CARL, "!order").await.len(), 1);
    for n in 2..=lowest {
        assert_eq!(
            chat.say(CARL, "ping").await,
            [to(CARL, "pong")],
            "message {n}"
        );
    }
    // One over: told once that the bot pauses, and the notice that it is back waits in the
    // outbox for the end of the minute.
    let mut told = chat.say(CARL, "ping").await;
    told.sort();
    assert_eq!(
        told,
        [to(CARL, flood::RESUMED), to(CARL, flood::PAUSED)],
        "told when the pause starts and when it ends"
    );
    let resumes_at: chrono::NaiveDateTime = site
        .query(|c| {
            outbox::table
                .filter(outbox::body.eq(flood::RESUMED))
                .select(outbox::next_attempt_at)
                .first(c)
        })
        .await;
    let wait = resumes_at - Utc::now().naive_utc();
    assert!(
        wait > Duration::seconds(50) && wait <= Duration::seconds(60),
        "{wait:?}"
    );
    // Paused: stored, not answered, and no more notices.
    assert_eq!(chat.say(CARL, "ping").await, []);
    assert_eq!(chat.say(CARL, "2").await, []);
    assert_eq!(
        stored_from(&site, CARL).await,
        i64::from(lowest) + 3,
        "every message is kept"
    );
    // Another customer is not affected, and the owner is never paused.
    assert_eq!(chat.say(DORA, "ping").await, [to(DORA, "pong")]);
    for n in 1..=lowest + 5 {
        assert_eq!(
            chat.say(OWNER, "ping").await,
            [to(OWNER, "pong")],
            "owner message {n}"
        );
    }
    // After the minute the order goes on where it was.
    a_minute_passes_for(&site, CARL).await;
    assert_eq!(chat.say(CARL, "1").await, [to(CARL, "How many? (1 to 20)")]);
}

/// An hour-long window `hours_ahead` hours from now (UTC), which `now` is never in.
fn window_away_from_now(hours_ahead: u32) -> (String, String) {
    // Modulo 23: the window ends by 23:00, never holds the current hour, and different leads
    // (below 23) give different windows at every time of day.
    let start = (Utc::now().hour() + hours_ahead) % 23;
    (format!("{start:02}:00"), format!("{:02}:00", start + 1))
}

#[actix_web::test]
async fn the_away_message_goes_once_per_closed_period_and_names_the_current_hours() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let path = format!("/bots/{bot_id}/settings");
    let (open, close) = window_away_from_now(6);
    let mut config = stored_config(&site).await;
    config.hours.enabled = true;
    config.hours.days = vec![1, 2, 3, 4, 5, 6, 7];
    config.hours.open.clone_from(&open);
    config.hours.close.clone_from(&close);
    let saved = owner.post(&path, &pairs(&form_of(&config))).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let away = |open: &str, close: &str| {
        format!("The kitchen is closed now. We take orders every day, {open} to {close}.")
    };
    let mut chat = Chat::new(&site, &bot_id);
    assert_eq!(chat.say(CARL, "hi").await, [to(CARL, &away(&open, &close))]);
    assert_eq!(chat.say(CARL, "hello?").await, [], "once per closed period");
    assert_eq!(chat.say(CARL, "!order").await, []);
    // The owner is never sent away.
    assert_eq!(chat.say(OWNER, "ping").await, [to(OWNER, "pong")]);

    // The hours change: the away message names the new ones, never the old.
    let (new_open, new_close) = window_away_from_now(9);
    config.hours.open.clone_from(&new_open);
    config.hours.close.clone_from(&new_close);
    let saved = owner.post(&path, &pairs(&form_of(&config))).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(
        chat.say(DORA, "hi").await,
        [to(DORA, &away(&new_open, &new_close))]
    );
    assert_eq!(chat.say(DORA, "hi again").await, []);
    // A new closed period (Carl last had it for an earlier one): sent again, current hours.
    site.query(|c| {
        diesel::update(contacts::table.filter(contacts::number.eq(CARL)))
            .set(contacts::away_sent_for.eq(Some(chrono::DateTime::UNIX_EPOCH.naive_utc())))
            .execute(c)
    })
    .await;
    let replies = chat.say(CARL, "are you open?").await;
    assert_eq!(replies, [to(CARL, &away(&new_open, &new_close))]);
    assert!(!replies[0].1.contains(&open), "the old hours are gone");

    // An away message written with the hours in it would go stale: the form says so.
    let literal = format!("Closed. We open {new_open} to {new_close}.");
    let fields = with(form_of(&config), "away_message", &literal);
    let kept = owner.post(&path, &pairs(&fields)).await;
    assert_eq!(kept.status, StatusCode::OK, "unchanged hours: fine");
    let (later_open, later_close) = window_away_from_now(12);
    let fields = with(with(fields, "open", &later_open), "close", &later_close);
    let refused = owner.post(&path, &pairs(&fields)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(r#"id="away_message-error""#));
    assert!(refused.body.contains("still names the old hours"));
    assert!(refused.body.contains("{hours}"));
}

#[actix_web::test]
async fn a_flow_says_how_to_leave_and_lets_go_after_three_answers_it_cannot_use() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let items = "What would you like? Reply with a number.\n1. Margherita pizza — $9.50\n\
         2. Pepperoni pizza — $11.00\n3. Caesar salad — $8.50\n4. Lemonade — $3.00";
    let again = format!("Please answer with a number from 1 to 4. To stop, send !cancel.\n{items}");
    let help = "Commands:\n!help — This list\n!ping — Check the bot is up\n!menu — The menu\n\
         !cancel — Stop an order, booking or request you started\n!order — Order food\n\
         !hours — When we cook";
    Chat::new(&site, &bot_id)
        .run(
            "restaurant_orders",
            &[
                (CARL, "!help", &[(CARL, help)]),
                (CARL, "!order", &[(CARL, items)]),
                (CARL, "Do you have soup?", &[(CARL, &again)]),
                (CARL, "soup please", &[(CARL, &again)]),
                (
                    CARL,
                    "SOUP",
                    &[(
                        CARL,
                        "Sorry, I didn't understand, so I've stopped here. Nothing was sent. \
                         Send !order to start again, or !help to see what I can do.",
                    )],
                ),
                // Out of the flow: an ordinary message again.
                (
                    CARL,
                    "Do you have soup?",
                    &[(
                        CARL,
                        "Send !order to order, or !menu to see what we can do.",
                    )],
                ),
                (CARL, "!order", &[(CARL, items)]),
                (CARL, "!cancel", &[(CARL, "Cancelled. Nothing was sent.")]),
            ],
        )
        .await;
}

#[actix_web::test]
async fn an_order_shows_each_price_and_the_total_in_the_bots_currency() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let items = "What would you like? Reply with a number.\n1. Margherita pizza — $9.50\n\
         2. Pepperoni pizza — $11.00\n3. Caesar salad — $8.50\n4. Lemonade — $3.00";
    let how_many = "How many? (1 to 20)";
    let more = "Anything else?\n1. Add another item\n2. That's all";
    let order = "• Item: Margherita pizza × 2 — $19.00\n• Item: Lemonade × 1 — $3.00\n\
         Total: $22.00";
    let confirm = format!("Your order:\n{order}\nShall we send it to the kitchen?\n1. Yes\n2. No");
    let thanks =
        "Thank you! Your order is with the kitchen. We'll message you when it's on its way.";
    let to_owner = format!("New order from Carl (+351912345678):\n{order}");
    let mut chat = Chat::new(&site, &bot_id);
    chat.run(
        "restaurant_orders",
        &[
            (CARL, "!order", &[(CARL, items)]),
            (CARL, "1", &[(CARL, how_many)]),
            (CARL, "2", &[(CARL, more)]),
            (CARL, "1", &[(CARL, items)]),
            (CARL, "4", &[(CARL, how_many)]),
            (CARL, "1", &[(CARL, more)]),
            (CARL, "2", &[(CARL, &confirm)]),
            (CARL, "yes", &[(CARL, thanks), (OWNER, &to_owner)]),
        ],
    )
    .await;
    // Into the thousands: five times twenty pepperoni pizzas.
    chat.say(DORA, "!order").await;
    for round in 1..=5 {
        chat.say(DORA, "2").await;
        chat.say(DORA, "20").await;
        chat.say(DORA, if round < 5 { "1" } else { "2" }).await;
    }
    let confirmed = chat.say(DORA, "yes").await;
    let to_owner = &confirmed
        .iter()
        .find(|(number, _)| number == OWNER)
        .expect("the kitchen gets the order")
        .1;
    assert!(
        to_owner.contains("• Item: Pepperoni pizza × 20 — $220.00")
            && to_owner.ends_with("\nTotal: $1,100.00"),
        "{to_owner}"
    );
}

#[actix_web::test]
async fn counts_take_the_right_noun() {
    let site = Site::start(); // the Pro trial: broadcasts included
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "customer_support").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "Hi").await;
    let stats = chat.say(OWNER, "!stats").await;
    assert_eq!(stats.len(), 1);
    assert!(
        stats[0].1.contains(", 1 contact.") && stats[0].1.contains("Contacts in all: 1."),
        "the owner is not one of the contacts: {}",
        stats[0].1
    );
    let mut broadcast = chat.say(OWNER, "!broadcast Sale today").await;
    broadcast.sort();
    assert_eq!(
        broadcast,
        [
            to(CARL, "Sale today"),
            to(OWNER, "Broadcast queued to 1 contact.")
        ]
    );
}

/// The part of `page` from `start` to the next `end`.
fn section<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} on the page"));
    let to = page[from..].find(end).map_or(page.len(), |i| from + i);
    &page[from..to]
}

#[actix_web::test]
async fn the_dashboard_shows_conversations_with_customers_and_known_commands() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let mut chat = Chat::new(&site, &bot_id);
    // The owner tries the bot; Carl orders (the owner gets the order); Carl tries !foo.
    chat.say(OWNER, "!status").await;
    for text in ["!order", "1", "2", "2", "yes"] {
        chat.say(CARL, text).await;
    }
    chat.say(CARL, "!foo").await;
    chat.say(CARL, "!FOO bar").await;
    chat.say(CARL, "Thanks!").await;
    // Dora writes too fast: her last message is hers, not the bot's pause notice.
    let limit = whatsdex::bots::behaviour::DEFAULT_FLOOD_LIMIT;
    for _ in 0..=limit {
        chat.say(DORA, "ping").await;
    }
    let dashboard = owner.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    let recent = section(&dashboard.body, r#"<article class="recent">"#, "</article>");
    assert!(
        recent.contains("Carl") && recent.contains("Thanks!"),
        "{recent}"
    );
    assert!(
        recent.contains("Dora") && recent.contains("ping"),
        "{recent}"
    );
    assert!(
        !recent.contains("+447700900123") && !recent.contains("Ana"),
        "the owner is no customer: {recent}"
    );
    assert!(!recent.contains("New order from"), "{recent}");
    assert!(!recent.contains("faster than I can answer"), "{recent}");

    let commands = section(&dashboard.body, "Top commands", "</ul>");
    assert!(commands.contains("<code>!order</code>"), "{commands}");
    assert!(commands.contains("<code>!status</code>"), "{commands}");
    assert!(!commands.contains("!foo"), "not a command: {commands}");
}
