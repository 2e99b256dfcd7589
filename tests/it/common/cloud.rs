//! A Cloud API bot under test: a site whose Graph API is the local fake, a workspace with a
//! bot connected through the real connect service and running under the supervisor, Meta's
//! webhook bodies (the fixtures, written from Meta's reference pages, or built here) signed
//! as Meta signs them, and waits on the database instead of fixed sleeps.

use std::time::{Duration, Instant};

use actix_web::FromRequest;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use whatsdex::bots::outbox as queue;
use whatsdex::bots::transport::cloud_api::connect::{self, ConnectForm};
use whatsdex::bots::transport::cloud_api::connection;
use whatsdex::db::schema::{bots, contacts, messages, outbox, platform_errors, webhook_deliveries};
use whatsdex::tenants::audit::ClientInfo;
use whatsdex::web::auth::Member;

use super::browser::Browser;
use super::graph::{FakeGraph, PHONE_NUMBER_ID, TOKEN, WABA_ID};
use super::{Site, sign_up};

/// The business's Meta app secret (its own app, on the bot's own webhook URL).
pub const APP_SECRET: &str = "4f1d2c3b4a5968778695a4b3c2d1e0f9";
/// The operator's one Meta app (the platform URL), when a test configures it.
pub const PLATFORM_SECRET: &str = "platform-app-secret-0123456789ab";
pub const PLATFORM_VERIFY_TOKEN: &str = "platform-verify-token-0123456789";
/// The token `/metrics` asks for on these sites.
pub const METRICS_TOKEN: &str = "cloud-metrics-token-0123456789";
/// The answer to "!cancel" with nothing to cancel (a second, distinct reply).
pub const NOTHING_TO_CANCEL: &str = "There is nothing to cancel.";
/// The customer who writes in the fixtures, and their business-scoped user id.
pub const CUSTOMER: &str = "5511987650001";
pub const CUSTOMER_USER_ID: &str = "BR.1Q2w3E4r5T6y7U8i";
/// The phone number id the fixtures were written with (replaced by the fake's).
const FIXTURE_PHONE_NUMBER_ID: &str = "117745903318452";

/// How long a condition may take to hold before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A site with one Cloud API bot, connected and running.
pub struct CloudBot {
    pub graph: FakeGraph,
    pub site: Site,
    pub tenant_id: String,
    pub bot_id: String,
    /// `/webhooks/whatsapp/{key}`.
    pub webhook_path: String,
    pub verify_token: String,
}

/// `sha256=` and the hex HMAC-SHA256 of `body` with `secret`, as Meta's
/// `X-Hub-Signature-256` header carries it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl CloudBot {
    /// A site pointed at a fresh fake Graph API, with a bot connected to it.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Like `start`, with `extra` configuration variables.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let graph = FakeGraph::start();
        let mut settings = vec![
            ("META_GRAPH_URL", graph.base_url.as_str()),
            ("METRICS_TOKEN", METRICS_TOKEN),
        ];
        settings.extend_from_slice(extra);
        let site = Site::start_with(&settings);
        let (bot_id, member) = signed_up_with_a_bot(&site).await;
        let form = ConnectForm {
            phone_number_id: PHONE_NUMBER_ID.into(),
            waba_id: WABA_ID.into(),
            access_token: TOKEN.into(),
            app_secret: APP_SECRET.into(),
        };
        let client = ClientInfo {
            ip: Some("203.0.113.10".into()),
            user_agent: None,
        };
        let connected = connect::connect(
            &site.state,
            &site.state.bots,
            &member.scope,
            &bot_id,
            &form,
            &client,
        )
        .await
        .expect("connected to the fake Graph API");
        let tenant_id = member.scope.tenant_id().to_string();
        let (key, id) = (site.state.encryption_key.clone(), bot_id.clone());
        let verify_token = site
            .query(move |c| connection::verify_token_in(c, &key, &id))
            .await
            .expect("a connection")
            .expect("a readable verify token");
        let bot = Self {
            graph,
            site,
            tenant_id,
            bot_id,
            webhook_path: connected.webhook_path(),
            verify_token,
        };
        // Connecting restarts the bot under the supervisor.
        eventually("the bot runs", async || {
            bot.site.state.bots.is_running(&bot.bot_id.as_str().into())
        })
        .await;
        bot
    }

    /// A query as the app, across workspaces.
    pub async fn query<T, F>(&self, work: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut whatsdex::db::DbConn) -> diesel::QueryResult<T> + Send + 'static,
    {
        self.site.query(work).await
    }

    /// The bot's stored messages, oldest first.
    pub async fn messages(&self) -> Vec<StoredMessage> {
        let bot_id = self.bot_id.clone();
        self.query(move |c| {
            messages::table
                .filter(messages::bot_id.eq(&bot_id))
                .order((messages::created_at.asc(), messages::id.asc()))
                .select(StoredMessage::as_select())
                .load(c)
        })
        .await
    }

    /// The bot's inbound messages, oldest first.
    pub async fn inbound(&self) -> Vec<StoredMessage> {
        let mut all = self.messages().await;
        all.retain(|m| m.direction == "in");
        all
    }

    /// The inbound message whose WhatsApp id ends with `wamid`, once stored.
    pub async fn stored(&self, wamid: &str) -> StoredMessage {
        eventually_some(&format!("{wamid} stored"), async || {
            self.inbound()
                .await
                .into_iter()
                .find(|m| m.wa_message_id.ends_with(wamid))
        })
        .await
    }

    /// The bot's outbound messages (sent or failed), oldest first.
    pub async fn outbound(&self) -> Vec<StoredMessage> {
        let mut all = self.messages().await;
        all.retain(|m| m.direction == "out");
        all
    }

    /// The bot's outbox: (to, body, sent, attempts, last error), oldest first.
    pub async fn outbox(&self) -> Vec<OutboxRow> {
        let bot_id = self.bot_id.clone();
        self.query(move |c| {
            outbox::table
                .filter(outbox::bot_id.eq(&bot_id))
                .order((outbox::created_at.asc(), outbox::id.asc()))
                .select((
                    outbox::id,
                    outbox::to_number,
                    outbox::body,
                    outbox::sent_at.is_not_null(),
                    outbox::attempts,
                    outbox::last_error,
                    outbox::next_attempt_at,
                ))
                .load::<(String, String, String, bool, i32, Option<String>, _)>(c)
        })
        .await
        .into_iter()
        .map(
            |(id, to, body, sent, attempts, last_error, next_attempt_at)| OutboxRow {
                id,
                to,
                body,
                sent,
                attempts,
                last_error,
                next_attempt_at,
            },
        )
        .collect()
    }

    /// The bot's contacts: (number, user id).
    pub async fn contacts(&self) -> Vec<(String, Option<String>)> {
        let bot_id = self.bot_id.clone();
        self.query(move |c| {
            contacts::table
                .filter(contacts::bot_id.eq(&bot_id))
                .order(contacts::number.asc())
                .select((contacts::number, contacts::user_id))
                .load(c)
        })
        .await
    }

    /// The bot's status and its reason.
    pub async fn status(&self) -> (String, Option<String>) {
        let bot_id = self.bot_id.clone();
        self.query(move |c| {
            bots::table
                .find(&bot_id)
                .select((bots::status, bots::status_reason))
                .first(c)
        })
        .await
    }

    /// The details of the platform errors of `kind` recorded so far.
    pub async fn platform_errors(&self, kind: &'static str) -> Vec<String> {
        self.query(move |c| {
            platform_errors::table
                .filter(platform_errors::kind.eq(kind))
                .order(platform_errors::created_at.asc())
                .select(platform_errors::detail)
                .load(c)
        })
        .await
    }

    /// The message sends the fake Graph API received, as JSON, in order.
    pub fn sends(&self) -> Vec<Value> {
        self.graph
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
            .filter_map(|r| r.body)
            .collect()
    }

    /// The text bodies of the message sends, in order.
    pub fn sent_texts(&self) -> Vec<String> {
        self.sends()
            .iter()
            .map(|b| b["text"]["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Sign Ana up, create a bot through the bots page, and answer its id and Ana as a member
/// (as the connect page's handler gets her).
async fn signed_up_with_a_bot(site: &Site) -> (String, Member) {
    let app = site.app().await;
    let mut browser = Browser::new(app);
    sign_up(&mut browser, "ana@cloud.example", "Cloud Shop").await;
    let created = browser
        .post("/bots", &[("name", "Support"), ("transport", "sandbox")])
        .await;
    let bot_id = created
        .location()
        .strip_prefix("/bots/")
        .and_then(|rest| rest.strip_suffix("/pair"))
        .unwrap_or_else(|| panic!("a new bot's pair page: {}", created.location()))
        .to_owned();

    let jar = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let req = TestRequest::default()
        .app_data(actix_web::web::Data::new(site.state.clone()))
        .insert_header(("cookie", jar))
        .to_http_request();
    let member = Member::from_request(&req, &mut actix_web::dev::Payload::None)
        .await
        .expect("a signed-in member");
    (bot_id, member)
}

/// Driving the bot as Meta and the product do.
impl CloudBot {
    /// Post `body` to the bot's own URL, signed with its app secret; expects 200.
    pub async fn deliver(&self, body: &[u8]) {
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
    pub async fn deliveries(&self) -> Vec<(bool, i32)> {
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
    pub async fn all_processed(&self) {
        eventually("every delivery processed", async || {
            let all = self.deliveries().await;
            !all.is_empty() && all.iter().all(|(done, _)| *done)
        })
        .await;
    }

    /// Wait until the fake Graph API received `n` message sends.
    pub async fn sends_reach(&self, n: usize) {
        eventually(&format!("{n} sends at the Graph API"), async || {
            self.sends().len() >= n
        })
        .await;
        assert_eq!(self.sends().len(), n, "{:#?}", self.sends());
    }

    /// Queue `body` to the customer as the product would, and wake the sender.
    pub async fn queue(&self, body: &'static str) -> String {
        let (tenant_id, bot_id) = (self.tenant_id.clone(), self.bot_id.clone());
        let id = self
            .query(move |c| queue::enqueue_in(c, &tenant_id.into(), &bot_id.into(), CUSTOMER, body))
            .await;
        self.site
            .state
            .bots
            .nudge_outbox(&self.bot_id.as_str().into());
        id
    }

    /// The customer writes "ping" (`wamid`) and the bot's "pong" reaches the Graph API.
    pub async fn ping(&self, wamid: &str) {
        let before = self.sends().len();
        self.deliver(&texts(&[(wamid, "ping")])).await;
        self.sends_reach(before + 1).await;
    }
}

/// One row of `messages`, as tests read it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct StoredMessage {
    pub direction: String,
    pub wa_message_id: String,
    pub contact_number: String,
    pub body: String,
    pub status: String,
    pub kind: String,
    pub details: Option<String>,
    pub reply_to: Option<String>,
    pub contact_user_id: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
}

impl StoredMessage {
    /// The `details` JSON (null when none).
    pub fn details(&self) -> Value {
        self.details
            .as_deref()
            .map(|d| serde_json::from_str(d).expect("details are JSON"))
            .unwrap_or(Value::Null)
    }
}

/// One outbox entry.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: String,
    pub to: String,
    pub body: String,
    pub sent: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: chrono::NaiveDateTime,
}

/// Poll `probe` every 20 ms (yielding to the bots' tasks) until it holds; fails the test
/// after [`PATIENCE`].
pub async fn eventually(what: &str, probe: impl AsyncFn() -> bool) {
    eventually_some(what, async || probe().await.then_some(())).await;
}

/// Poll `probe` until it answers something; that answer.
pub async fn eventually_some<T>(what: &str, probe: impl AsyncFn() -> Option<T>) -> T {
    eventually_within(what, PATIENCE, probe).await
}

/// [`eventually_some`] with its own limit (a wait the product imposes on purpose).
pub async fn eventually_within<T>(
    what: &str,
    limit: Duration,
    probe: impl AsyncFn() -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// POST `body` to `path` with `signature` as `X-Hub-Signature-256`: the status and answer.
pub async fn post_webhook<S, B>(
    app: &S,
    path: &str,
    body: &[u8],
    signature: Option<&str>,
) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut request = TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_vec());
    if let Some(signature) = signature {
        request = request.insert_header(("x-hub-signature-256", signature.to_owned()));
    }
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    let bytes = test::read_body(response).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// GET `path` (a handshake): the status and the body as text.
pub async fn get_text<S, B>(app: &S, path: &str) -> (StatusCode, String)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let response = test::call_service(app, TestRequest::get().uri(path).to_request()).await;
    let status = response.status();
    let bytes = test::read_body(response).await;
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The fixture `tests/fixtures/meta/{name}.json`, for the fake's phone number id.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/meta/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .replace(FIXTURE_PHONE_NUMBER_ID, PHONE_NUMBER_ID)
        .into_bytes()
}

/// A webhook body with one change of `value` (its `metadata` added) for the fake's number.
pub fn delivery(mut value: Value) -> Vec<u8> {
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({
        "display_phone_number": "15550100100",
        "phone_number_id": PHONE_NUMBER_ID,
    });
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": super::graph::WABA_ID,
            "changes": [{"value": value, "field": "messages"}]
        }]
    }))
    .expect("JSON")
}

/// A delivery of text messages `(wamid, body)` from the fixtures' customer.
pub fn texts(messages: &[(&str, &str)]) -> Vec<u8> {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(wamid, body)| text_from(Some(CUSTOMER), Some(CUSTOMER_USER_ID), wamid, body))
        .collect();
    delivery(json!({
        "contacts": [{
            "profile": {"name": "Ana Souza"},
            "wa_id": CUSTOMER,
            "user_id": CUSTOMER_USER_ID
        }],
        "messages": messages
    }))
}

/// One text message, from a number, a business-scoped user id or both.
pub fn text_from(from: Option<&str>, user_id: Option<&str>, wamid: &str, body: &str) -> Value {
    let mut message = json!({
        "id": wamid,
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "type": "text",
        "text": {"body": body}
    });
    if let Some(from) = from {
        message["from"] = json!(from);
    }
    if let Some(user_id) = user_id {
        message["from_user_id"] = json!(user_id);
    }
    message
}

/// A delivery of statuses `(wamid, status)` for messages to the fixtures' customer; a
/// `failed` one carries Meta's 131047 error.
pub fn statuses(statuses: &[(&str, &str)]) -> Vec<u8> {
    let statuses: Vec<Value> = statuses
        .iter()
        .map(|(wamid, status)| {
            let mut s = json!({
                "id": wamid,
                "status": status,
                "timestamp": chrono::Utc::now().timestamp().to_string(),
                "recipient_id": CUSTOMER,
                "recipient_user_id": CUSTOMER_USER_ID
            });
            if *status == "failed" {
                s["errors"] = json!([{
                    "code": 131047,
                    "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
                }]);
            }
            s
        })
        .collect();
    delivery(json!({ "statuses": statuses }))
}

/// The value of `whatsdex_webhook_verification_failures_total{source="meta"}` on `/metrics`
/// (0 before the first refusal).
pub async fn meta_refusals<S, B>(app: &S) -> f64
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let request = TestRequest::get()
        .uri("/metrics")
        .insert_header(("authorization", format!("Bearer {METRICS_TOKEN}")));
    let response = test::call_service(app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8_lossy(&test::read_body(response).await).into_owned();
    text.lines()
        .find_map(|line| {
            line.strip_prefix("whatsdex_webhook_verification_failures_total{source=\"meta\"} ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
