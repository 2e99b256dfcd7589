//! Every template, driven through the real pipeline on the sandbox transport: a scripted
//! conversation from customers and from the owner, and the exact replies each message gets
//! (to whom). Plus seeding, the picker's plan lock, the settings form and the wizard.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use diesel::prelude::*;
use whatsdex::bots::transport::{InboundMessage, TransportEvent};
use whatsdex::db::schema::{bot_configs, bot_templates, bots, messages, outbox};

use crate::bots::paired_bot;
use crate::common::browser::Browser;
use crate::common::{PASSWORD, Site};

/// The number that paired the bot (see `paired_bot`).
pub(crate) const OWNER: &str = "447700900123";
pub(crate) const CARL: &str = "351912345678";
pub(crate) const DORA: &str = "5511987654321";

/// What the free plan answers to `!broadcast`.
const NO_BROADCASTS: &str = "Broadcasts is not included in your plan. Upgrade to Starter to \
     unlock it. Upgrade here: http://localhost:8080/billing/upgrade";

macro_rules! eventually {
    ($what:expr, $probe:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(value) = $probe {
                break value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }};
}

/// A conversation with one running bot: each message goes in through the sandbox transport
/// (as WhatsApp would deliver it) and the replies are read back from the outbox.
/// One scripted turn: who sends, what they send, and the exact replies (to, text).
pub(crate) type Step<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

pub(crate) struct Chat {
    pub(crate) state: whatsdex::web::AppState,
    bot_id: String,
    seen: HashSet<String>,
    sent: u32,
}

impl Chat {
    pub(crate) fn new(site: &Site, bot_id: &str) -> Self {
        Self {
            state: site.state.clone(),
            bot_id: bot_id.to_owned(),
            seen: HashSet::new(),
            sent: 0,
        }
    }

    async fn query<T, F>(&self, work: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut whatsdex::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
    {
        self.state
            .db
            .run_in(
                whatsdex::db::RowScope::across_tenants("test set-up reads and writes any row"),
                work,
            )
            .await
            .expect("query")
    }

    /// Send `text` from `from`; the replies it caused, as sorted (to, body) pairs.
    pub(crate) async fn say(&mut self, from: &str, text: &str) -> Vec<(String, String)> {
        self.sent += 1;
        let id = format!("TEST{:04}", self.sent);
        let name = match from {
            OWNER => "Ana",
            CARL => "Carl",
            _ => "Dora",
        };
        let message = InboundMessage {
            extras: Default::default(),
            id: id.clone(),
            from: from.into(),
            from_name: Some(name.into()),
            text: text.into(),
        };
        // A bot task just started (after a restart) registers with the sandbox shortly.
        eventually!("the bot running", {
            self.state
                .bots
                .sandbox()
                .deliver(&self.bot_id, TransportEvent::Message(message.clone()))
                .await
                .ok()
        });
        // The message and its replies are stored in one transaction.
        eventually!(format!("{text:?} stored"), {
            let wa = id.clone();
            let stored: i64 = self
                .query(move |c| {
                    messages::table
                        .filter(messages::wa_message_id.eq(wa))
                        .count()
                        .get_result(c)
                })
                .await;
            (stored == 1).then_some(())
        });
        let rows: Vec<(String, String, String)> = self
            .query(|c| {
                outbox::table
                    .select((outbox::id, outbox::to_number, outbox::body))
                    .load(c)
            })
            .await;
        let mut replies: Vec<(String, String)> = rows
            .into_iter()
            .filter(|(id, _, _)| self.seen.insert(id.clone()))
            .map(|(_, to, body)| (to, body))
            .collect();
        replies.sort();
        replies
    }

    /// Run a script: each message and exactly the replies expected.
    pub(crate) async fn run(&mut self, template: &str, script: &[Step<'_>]) {
        for (step, (from, text, expected)) in script.iter().enumerate() {
            let got = self.say(from, text).await;
            let mut want: Vec<(String, String)> = expected
                .iter()
                .map(|(to, body)| ((*to).to_owned(), (*body).to_owned()))
                .collect();
            want.sort();
            assert_eq!(
                got,
                want,
                "{template}, step {}: +{from} sent {text:?}",
                step + 1
            );
        }
    }
}

/// A paired bot with `template` applied through the picker; returns the bot's id.
pub(crate) async fn bot_with_template<S, B>(
    site: &Site,
    app: std::rc::Rc<S>,
    template: &str,
) -> (String, Browser<S>)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app).await;
    let applied = owner
        .post(
            "/templates/apply",
            &[("bot_id", &bot_id), ("template_id", template)],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    assert_eq!(
        applied.location(),
        format!("/bots/{bot_id}/settings?notice=template_applied")
    );
    let stored: Option<String> = site
        .query(|c| bot_configs::table.select(bot_configs::template_id).first(c))
        .await;
    assert_eq!(stored.as_deref(), Some(template));
    (bot_id, owner)
}

#[actix_web::test]
async fn customer_support_script() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "customer_support").await;
    Chat::new(&site, &bot_id)
        .run(
            "customer_support",
            &[
                (CARL, "Hi", &[(CARL, "Hello! Thanks for contacting us. Send !menu to see how we can help.")]),
                (CARL, "!menu", &[(CARL, "How can we help?\n1. Opening hours\n2. Delivery and returns\n3. Talk to a person")]),
                (CARL, "2", &[(CARL, "We deliver in 2 to 4 working days, and you can return any item within 30 days.")]),
                (CARL, "Can I get a refund?", &[(CARL, "You can return any item within 30 days for a full refund. Send !human if you need help with a return.")]),
                (CARL, "3", &[(CARL, "Please describe your question in one message and a person from our team will answer here.")]),
                (CARL, "My parcel never arrived", &[
                    (CARL, "Thank you! A person from our team will answer you here soon."),
                    (OWNER, "Support request from Carl (+351912345678):\n• Issue: My parcel never arrived"),
                ]),
                (CARL, "!stats", &[(CARL, "Only this bot's owner can use !stats.")]),
                (CARL, "!dance", &[(CARL, "I don't know !dance. Send !help to see what I can do.")]),
                (OWNER, "!broadcast Sale today", &[(OWNER, NO_BROADCASTS)]),
                (OWNER, "!pause", &[(OWNER, "Paused. Customers get no replies until you send !resume.")]),
                (CARL, "hello?", &[]),
                (OWNER, "!resume", &[(OWNER, "Resumed. The bot answers customers again.")]),
                (CARL, "!hours", &[(CARL, "We're open Monday to Friday, 09:00 to 17:00.")]),
            ],
        )
        .await;
}

#[actix_web::test]
async fn restaurant_orders_script() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let items = "What would you like? Reply with a number.\n1. Margherita pizza — $9.50\n\
         2. Pepperoni pizza — $11.00\n3. Caesar salad — $8.50\n4. Lemonade — $3.00";
    let more = "Anything else?\n1. Add another item\n2. That's all";
    let order =
        "• Item: Margherita pizza × 2 — $19.00\n• Item: Lemonade × 1 — $3.00\nTotal: $22.00";
    let confirm = format!("Your order:\n{order}\nShall we send it to the kitchen?\n1. Yes\n2. No");
    let to_owner = format!("New order from Carl (+351912345678):\n{order}");
    Chat::new(&site, &bot_id)
        .run(
            "restaurant_orders",
            &[
                (CARL, "!order", &[(CARL, items)]),
                (CARL, "1", &[(CARL, "How many? (1 to 20)")]),
                (CARL, "2", &[(CARL, more)]),
                (CARL, "1", &[(CARL, items)]),
                (CARL, "4", &[(CARL, "How many? (1 to 20)")]),
                (CARL, "25", &[(CARL, "Please answer with a number from 1 to 20. To stop, send !cancel.\nHow many? (1 to 20)")]),
                (CARL, "1", &[(CARL, more)]),
                (CARL, "2", &[(CARL, &confirm)]),
                (CARL, "1", &[
                    (CARL, "Thank you! Your order is with the kitchen. We'll message you when it's on its way."),
                    (OWNER, &to_owner),
                ]),
                (DORA, "hello", &[(DORA, "Welcome to our restaurant! Send !order to order, or !menu for more.")]),
                (DORA, "!pause", &[(DORA, "Only this bot's owner can use !pause.")]),
                (OWNER, "!broadcast Pizza night!", &[(OWNER, NO_BROADCASTS)]),
            ],
        )
        .await;
}

#[actix_web::test]
async fn appointment_booking_script() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "appointment_booking").await;
    let days = "Which day suits you?\n1. Monday\n2. Tuesday\n3. Wednesday\n4. Thursday\n5. Friday\n6. Saturday";
    let booking = "• Name: Carl Jones\n• Day: Friday\n• Time: 14:00";
    let check = format!("Please check:\n{booking}\nBook it?\n1. Yes\n2. No");
    let to_owner = format!("New booking from +351912345678:\n{booking}");
    Chat::new(&site, &bot_id)
        .run(
            "appointment_booking",
            &[
                (CARL, "!book", &[(CARL, "Let's book your appointment. What is your name?")]),
                (CARL, "Carl Jones", &[(CARL, days)]),
                (CARL, "9", &[(CARL, &format!("Please answer with a number from 1 to 6. To stop, send !cancel.\n{days}"))]),
                (CARL, "Friday", &[(CARL, "What time?\n1. 09:00\n2. 11:00\n3. 14:00\n4. 16:00")]),
                (CARL, "3", &[(CARL, &check)]),
                (CARL, "yes", &[(CARL, "You're booked! See you then."), (OWNER, &to_owner)]),
                (CARL, "!block 447700900123", &[(CARL, "Only this bot's owner can use !block.")]),
                (OWNER, "!block +351 912 345 678", &[(OWNER, "Blocked +351912345678. The bot ignores them until you send !unblock +351912345678.")]),
                (CARL, "!book", &[]),
                (OWNER, "!unblock 351912345678", &[(OWNER, "Unblocked +351912345678.")]),
                (CARL, "!prices", &[(CARL, "A haircut is $25, colour from $60.")]),
                (OWNER, "!broadcast New prices", &[(OWNER, NO_BROADCASTS)]),
            ],
        )
        .await;
}

#[actix_web::test]
async fn faq_assistant_script() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "faq_assistant").await;
    Chat::new(&site, &bot_id)
        .run(
            "faq_assistant",
            &[
                (CARL, "Where are you located?", &[(CARL, "We're at 12 Market Street, next to the station.")]),
                (CARL, "Do you take cards?", &[(CARL, "We take cash, cards and mobile payments.")]),
                (CARL, "Tell me a joke", &[(CARL, "I don't know that one yet. Ask me about: hours, prices, delivery, payment or location.")]),
                (CARL, "!faq", &[(CARL, "Ask me about: hours, prices, delivery, payment or location.")]),
                (CARL, "!help", &[(CARL, "Commands:\n!help — This list\n!ping — Check the bot is up\n!faq — What you can ask")]),
                (CARL, "!broadcast hi all", &[(CARL, "Only this bot's owner can use !broadcast.")]),
                (OWNER, "!broadcast Closed on Monday", &[(OWNER, NO_BROADCASTS)]),
                (CARL, "ping", &[(CARL, "pong")]),
            ],
        )
        .await;
}

#[actix_web::test]
async fn group_moderator_script() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "group_moderator").await;
    Chat::new(&site, &bot_id)
        .run(
            "group_moderator",
            &[
                (
                    CARL,
                    "Hello all",
                    &[(
                        CARL,
                        "Welcome to the group! Please be kind, and send !rules to read the rules.",
                    )],
                ),
                (
                    CARL,
                    "Cheap deals at https://spam.example",
                    &[(
                        CARL,
                        "Please don't post links here. Send !rules to read the rules.",
                    )],
                ),
                (
                    CARL,
                    "!rules",
                    &[(
                        CARL,
                        "Rules:\n1. Be kind.\n2. No links or adverts.\n3. Stay on topic.",
                    )],
                ),
                (CARL, "nice weather today", &[]),
                (
                    CARL,
                    "!report",
                    &[(
                        CARL,
                        "What happened? Your message goes to the group admin only.",
                    )],
                ),
                (
                    CARL,
                    "Someone is spamming",
                    &[
                        (CARL, "Thank you, the admin has your report."),
                        (
                            OWNER,
                            "Report from Carl (+351912345678):\n• Report: Someone is spamming",
                        ),
                    ],
                ),
                (OWNER, "our new site: https://lima.example", &[]),
                (
                    CARL,
                    "!unblock 123456789",
                    &[(CARL, "Only this bot's owner can use !unblock.")],
                ),
                (OWNER, "!broadcast Meeting at 8", &[(OWNER, NO_BROADCASTS)]),
            ],
        )
        .await;
}

#[actix_web::test]
async fn personal_assistant_script_and_its_plan_lock() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = paired_bot(&mut owner, app).await;

    // A premium template: locked on the picker and refused on the free plan.
    let picker = owner.get(&format!("/templates?bot={bot_id}")).await;
    assert_eq!(picker.status, StatusCode::OK);
    assert!(picker.body.contains(r#"data-testid="premium-badge""#));
    assert!(
        picker
            .body
            .contains("Custom commands is not included in your plan. Upgrade to Starter")
    );
    let refused = owner
        .post(
            "/templates/apply",
            &[("bot_id", &bot_id), ("template_id", "personal_assistant")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains(r#"data-testid="template-error""#));
    let configs: i64 = site
        .query(|c| bot_configs::table.count().get_result(c))
        .await;
    assert_eq!(configs, 0, "nothing applied");

    // As if the workspace had been on a paid plan when it applied it.
    let (tenant_id, id) = site
        .query(|c| {
            bots::table
                .select((bots::tenant_id, bots::id))
                .first::<(String, String)>(c)
        })
        .await;
    let template = whatsdex::bots::presets::find("personal_assistant").unwrap();
    site.query(move |c| {
        whatsdex::bots::settings::save_in(c, &tenant_id, &id, Some(&template.id), &template.config)
    })
    .await;

    let mut chat = Chat::new(&site, &bot_id);
    chat.run(
        "personal_assistant",
        &[
            (
                OWNER,
                "!note Call the supplier about flour",
                &[(OWNER, "Noted (1 note).")],
            ),
            (OWNER, "!note Buy yeast", &[(OWNER, "Noted (2 notes).")]),
            (
                OWNER,
                "!notes",
                &[(
                    OWNER,
                    "Your notes:\n1. Call the supplier about flour\n2. Buy yeast",
                )],
            ),
            (
                OWNER,
                "!remind 30 Take the bread out",
                &[
                    (OWNER, "I'll remind you in 30 minutes."),
                    (OWNER, "Reminder: Take the bread out"),
                ],
            ),
            (
                CARL,
                "!notes",
                &[(CARL, "Only this bot's owner can use !notes.")],
            ),
            (CARL, "hello", &[]),
            (OWNER, "!broadcast hi", &[(OWNER, NO_BROADCASTS)]),
        ],
    )
    .await;
    // The reminder waits its 30 minutes in the outbox.
    let (due, sent): (chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) = site
        .query(|c| {
            outbox::table
                .filter(outbox::body.eq("Reminder: Take the bread out"))
                .select((outbox::next_attempt_at, outbox::sent_at))
                .first(c)
        })
        .await;
    let wait = due - chrono::Utc::now().naive_utc();
    assert!(
        wait > chrono::Duration::minutes(29) && wait <= chrono::Duration::minutes(30),
        "{wait:?}"
    );
    assert_eq!(sent, None);
}

#[actix_web::test]
async fn a_flow_half_way_survives_a_restart() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, _owner) = bot_with_template(&site, site.app().await, "appointment_booking").await;
    let mut chat = Chat::new(&site, &bot_id);
    chat.say(CARL, "!book").await;
    chat.say(CARL, "Carl").await;
    site.state.bots.shutdown(Duration::from_secs(5)).await;
    let restarted = whatsdex::server::prepare(site.state.config.as_ref().clone(), false).unwrap();
    assert_eq!(restarted.bots.start_all().await.unwrap(), 1);
    // Deliver to the new process's bot.
    chat.state = restarted.clone();
    let replies = chat.say(CARL, "2").await;
    assert_eq!(
        replies,
        [(
            CARL.to_owned(),
            "What time?\n1. 09:00\n2. 11:00\n3. 14:00\n4. 16:00".to_owned()
        )]
    );
    restarted.bots.shutdown(Duration::from_secs(5)).await;
}

#[actix_web::test]
async fn seeding_templates_twice_changes_nothing() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let count: i64 = site
        .query(|c| bot_templates::table.count().get_result(c))
        .await;
    assert_eq!(count, 6, "serve seeded the six templates");
    let mut conn = site.db.app_connection();
    let (_, again) = whatsdex::commands::seed_all(&mut conn).unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 6));
    diesel::update(bot_templates::table.find("faq_assistant"))
        .set(bot_templates::name.eq("Edited by hand"))
        .execute(&mut conn)
        .unwrap();
    let (_, repaired) = whatsdex::commands::seed_all(&mut conn).unwrap();
    assert_eq!(
        (repaired.inserted, repaired.updated, repaired.unchanged),
        (0, 1, 5)
    );
}

#[actix_web::test]
async fn settings_are_validated_next_to_the_field_and_saved() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "restaurant_orders").await;
    let page = owner.get(&format!("/bots/{bot_id}/settings")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Welcome to our restaurant!"));
    let path = format!("/bots/{bot_id}/settings");
    let bad = owner
        .post(
            &path,
            &[
                ("prefix", "go"),
                ("language", "en"),
                ("welcome", "Ciao! Send #order."),
                ("utc_offset", "+01:00"),
                ("open", "25:00"),
                ("close", "22:00"),
                ("keywords", "vegan => We have vegan pizza."),
                ("menu_title", "Menu"),
                ("menu", "Order => flow:order"),
                ("cmd_0_enabled", "on"),
                ("cmd_1_enabled", "on"),
                ("cmd_1_reply", "Open 11 to 22."),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(r#"id="prefix-error""#),
        "error next to the prefix"
    );
    assert!(bad.body.contains(r#"id="open-error""#));
    assert!(
        bad.body.contains("Ciao! Send #order."),
        "what was typed is kept"
    );
    let good = owner
        .post(
            &path,
            &[
                ("prefix", "#"),
                ("language", "en"),
                ("welcome", "Ciao! Send #order."),
                ("utc_offset", "+01:00"),
                ("open", "11:00"),
                ("close", "22:00"),
                ("keywords", "vegan => We have vegan pizza."),
                ("menu_title", "Menu"),
                ("menu", "Order => flow:order"),
                ("cmd_0_enabled", "on"),
                ("cmd_1_reply", "Open 11 to 22."),
            ],
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    let mut chat = Chat::new(&site, &bot_id);
    chat.run(
        "restaurant_orders (edited)",
        &[
            (
                CARL,
                "Anything vegan?",
                &[(CARL, "Ciao! Send #order."), (CARL, "We have vegan pizza.")],
            ),
            (
                CARL,
                "#hours",
                &[(
                    CARL,
                    "I don't know #hours. Send #help to see what I can do.",
                )],
            ),
            (CARL, "#menu", &[(CARL, "Menu\n1. Order")]),
        ],
    )
    .await;
    // Re-applying the template keeps the edits; "reset" brings the template back.
    owner
        .post(
            "/templates/apply",
            &[("bot_id", &bot_id), ("template_id", "restaurant_orders")],
        )
        .await;
    assert!(owner.get(&path).await.body.contains("Ciao! Send #order."));
    owner
        .post(
            "/templates/apply",
            &[
                ("bot_id", &bot_id),
                ("template_id", "restaurant_orders"),
                ("reset", "1"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert!(
        owner
            .get(&path)
            .await
            .body
            .contains("Welcome to our restaurant!")
    );
    // Custom commands are a paid feature.
    let custom = owner
        .post(
            &format!("/bots/{bot_id}/commands"),
            &[
                ("command_name", "offers"),
                ("command_reply", "2 for 1 today"),
            ],
        )
        .await;
    assert_eq!(custom.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        custom
            .body
            .contains("Custom commands is not included in your plan.")
    );
}

/// The settings form's fields for `config`, as the page would post them unchanged.
fn settings_fields(config: &whatsdex::bots::behaviour::BotConfig) -> Vec<(String, String)> {
    use whatsdex::bots::settings::{keywords_text, menu_text};
    let mut fields: Vec<(String, String)> = vec![
        ("prefix".into(), config.prefix.clone()),
        ("language".into(), config.language.clone()),
        ("welcome".into(), config.welcome.clone()),
        ("utc_offset".into(), config.hours.utc_offset.clone()),
        ("open".into(), config.hours.open.clone()),
        ("close".into(), config.hours.close.clone()),
        ("away_message".into(), config.away_message.clone()),
        ("fallback".into(), config.fallback.clone()),
        ("keywords".into(), keywords_text(config)),
        ("menu_title".into(), config.menu.title.clone()),
        ("menu".into(), menu_text(config)),
    ];
    for (i, command) in config.commands.iter().enumerate() {
        if command.enabled {
            fields.push((format!("cmd_{i}_enabled"), "on".into()));
        }
        fields.push((format!("cmd_{i}_reply"), command.reply.clone()));
    }
    fields
}

#[actix_web::test]
async fn a_second_template_is_shown_first_then_merged_keeping_the_edits() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let (bot_id, mut owner) = bot_with_template(&site, site.app().await, "customer_support").await;
    async fn stored_config(site: &Site) -> (Option<String>, String) {
        site.query(|c| {
            bot_configs::table
                .select((bot_configs::template_id, bot_configs::config))
                .first(c)
        })
        .await
    }
    // The workspace edits its welcome and one keyword reply.
    let mut edited = whatsdex::bots::presets::find("customer_support")
        .unwrap()
        .config;
    edited.welcome = "Hi, this is Lima Bakery!".into();
    edited.keywords[0].reply = "Bring it back within 14 days.".into();
    let fields = settings_fields(&edited);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let saved = owner
        .post(&format!("/bots/{bot_id}/settings"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    // Another template, without reset: first the preview, and nothing changes yet.
    let asked = owner
        .post(
            "/templates/apply",
            &[("bot_id", &bot_id), ("template_id", "faq_assistant")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let preview_path = format!("/templates/preview?bot={bot_id}&template=faq_assistant");
    assert_eq!(asked.location(), preview_path);
    let (template_id, before) = stored_config(&site).await;
    assert_eq!(template_id.as_deref(), Some("customer_support"));
    assert!(before.contains("Hi, this is Lima Bakery!"));

    let preview = owner.get(&preview_path).await;
    assert_eq!(preview.status, StatusCode::OK);
    let section = |name: &str| {
        let start = preview
            .body
            .find(&format!(r#"data-testid="{name}""#))
            .unwrap_or_else(|| panic!("a {name} section: {}", preview.body));
        let rest = &preview.body[start..];
        rest[..rest.find("</section>").unwrap_or(rest.len())].to_owned()
    };
    let kept = section("kept");
    assert!(kept.contains("Welcome message"), "{kept}");
    assert!(kept.contains("Hi, this is Lima Bakery!"), "{kept}");
    assert!(kept.contains("Keyword reply: refund, return"), "{kept}");
    assert!(kept.contains("Command !hours") && kept.contains("Command !human"));
    assert!(section("added").contains("Command !faq"));
    assert!(section("replaced").contains("Keyword reply: delivery, deliver, shipping"));
    assert!(preview.body.contains(r#"name="confirm" value="1""#));

    // Confirmed: the edits and the commands are kept, FAQ's replies are added.
    let applied = owner
        .post(
            "/templates/apply",
            &[
                ("bot_id", &bot_id),
                ("template_id", "faq_assistant"),
                ("confirm", "1"),
            ],
        )
        .await;
    assert_eq!(
        applied.location(),
        format!("/bots/{bot_id}/settings?notice=template_applied")
    );
    let (template_id, after) = stored_config(&site).await;
    assert_eq!(template_id.as_deref(), Some("faq_assistant"));
    let after: whatsdex::bots::behaviour::BotConfig = serde_json::from_str(&after).unwrap();
    assert_eq!(after.welcome, "Hi, this is Lima Bakery!");
    assert_eq!(after.keywords[0].reply, "Bring it back within 14 days.");
    for name in ["hours", "human", "faq"] {
        assert!(after.command(name).is_some(), "!{name}");
    }
    assert!(
        after
            .keywords
            .iter()
            .any(|k| k.keywords.contains(&"payment".to_owned()))
    );
}

#[actix_web::test]
async fn the_wizard_saves_progress_and_goes_back() {
    let site = Site::start_with(&[("TRIAL_DAYS", "0")]); // the free plan
    let app = site.app().await;
    let mut ana = Browser::new(app.clone());
    let signed_up = ana
        .post(
            "/signup",
            &[
                ("name", "Ana"),
                ("email", "ana@example.com"),
                ("password", PASSWORD),
                ("workspace_name", "Lima Bakery"),
            ],
        )
        .await;
    // Sign-up asked for the business's name: the wizard starts at the plan.
    assert_eq!(signed_up.location(), "/onboarding/plan?notice=welcome");
    let plan = ana.get("/onboarding/plan").await;
    assert!(
        plan.body.contains(r#"value="keep" checked"#),
        "the current plan is preselected"
    );
    assert_eq!(
        ana.post("/onboarding/plan", &[("plan", "keep")])
            .await
            .location(),
        "/onboarding/bot"
    );
    assert_eq!(
        ana.post("/onboarding/bot", &[("name", "Orders")])
            .await
            .location(),
        "/onboarding/template"
    );
    // Leave for the dashboard and come back: the same step.
    let dashboard = ana.get("/dashboard").await;
    assert!(dashboard.body.contains("<h1>Lima Bakery</h1>"));
    assert!(dashboard.body.contains(r#"href="/onboarding/template""#));
    assert_eq!(
        ana.get("/onboarding").await.location(),
        "/onboarding/template"
    );
    // Back to the bot step: the name is kept and renaming does not make a second bot.
    let back = ana.get("/onboarding/bot").await;
    assert!(back.body.contains(r#"value="Orders""#));
    ana.post("/onboarding/bot", &[("name", "Pizza orders")])
        .await;
    let names: Vec<String> = site.query(|c| bots::table.select(bots::name).load(c)).await;
    assert_eq!(names, ["Pizza orders"]);
    let chosen = ana
        .post(
            "/onboarding/template",
            &[("template_id", "restaurant_orders")],
        )
        .await;
    assert_eq!(chosen.location(), "/onboarding/pair");
    let pair = ana.get("/onboarding/pair").await;
    assert!(pair.body.contains(r#"data-testid="pair-status""#));
    assert_eq!(ana.get("/onboarding").await.location(), "/onboarding/pair");
}
