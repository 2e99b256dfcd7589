//! Media of Cloud API bots against the fake Graph API: a file a customer sends is fetched,
//! checked and kept under DATA_DIR (or refused, or tried again), served to the members of its
//! workspace only, uploaded and queued when a bot sends one, and removed with its bot or
//! workspace.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header;
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;
use whatsdex::bots::media;
use whatsdex::bots::model::{Bot, TransportKind};
use whatsdex::bots::transport::cloud_api::connection::{self, NewConnection};
use whatsdex::bots::transport::cloud_api::graph::{GRAPH_VERSION, GraphClient, PhoneNumber};
use whatsdex::bots::transport::cloud_api::media_fetch::MAX_ATTEMPTS;
use whatsdex::bots::transport::cloud_api::media_send::{OutgoingFile, queue_media_for};
use whatsdex::db::schema::{bots, cloud_connections, media as media_rows, messages, outbox};
use whatsdex::error::ServiceError;

use crate::common::browser::Browser;
use crate::common::graph::{FakeGraph, PHONE_NUMBER_ID, TOKEN, WABA_ID};
use crate::common::{Site, sign_up, tenant_id_of};

const APP_SECRET: &str = "0123456789abcdef0123456789abcdef";
const CUSTOMER: &str = "15550100200";

/// A small but real PNG signature with some bytes after it.
pub(crate) fn png(tag: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

pub(crate) fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn site_with(fake: &FakeGraph) -> Site {
    Site::start_with(&[("META_GRAPH_URL", fake.base_url.as_str())])
}

/// A bot of the workspace `workspace` connected to the fake's number (as the connect service
/// saves it) and running; answers its id.
async fn connected_bot(site: &Site, workspace: &'static str) -> String {
    let tenant = tenant_id_of(site, workspace).await;
    let tenant_in = tenant.clone();
    let bot_id: String = site
        .query(move |c| {
            bots::table
                .filter(bots::tenant_id.eq(tenant_in))
                .select(bots::id)
                .first(c)
        })
        .await;
    let key = site.state.encryption_key.clone();
    let (tenant_in, bot_in) = (tenant.clone(), bot_id.clone());
    site.query(move |c| {
        let new = NewConnection {
            phone_number_id: PHONE_NUMBER_ID.into(),
            waba_id: WABA_ID.into(),
            access_token: TOKEN.into(),
            app_secret: APP_SECRET.into(),
            number: PhoneNumber {
                verified_name: "Acme Support".into(),
                display_phone_number: "+1 555-010-0100".into(),
                quality_rating: Some("GREEN".into()),
            },
        };
        connection::save_in(c, &key, &tenant_in, &bot_in, &new)?;
        diesel::update(bots::table.find(&bot_in))
            .set(bots::transport.eq(TransportKind::Cloud.as_str()))
            .execute(c)
    })
    .await;
    site.state.bots.ensure_running(&bot_id.as_str().into());
    bot_id
}

/// Sign up `email` with `workspace` and a bot connected to the Cloud API.
pub(crate) async fn owner_with_bot<S, B>(
    site: &Site,
    browser: &mut Browser<S>,
    email: &str,
    workspace: &'static str,
) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    sign_up(browser, email, workspace).await;
    let created = browser.post("/bots", &[("name", "Shop bot")]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    connected_bot(site, workspace).await
}

/// An inbound `kind` message of the bot carrying the provider's media `provider_id`, recorded
/// pending as the pipeline records it; answers the media row's id.
async fn pending_media(
    site: &Site,
    bot_id: &str,
    kind: &str,
    provider_id: &str,
    sha: Option<&str>,
) -> String {
    let (bot_id, kind, provider_id) = (bot_id.to_owned(), kind.to_owned(), provider_id.to_owned());
    let sha = sha.map(str::to_owned);
    site.query(move |c| {
        let tenant: String = bots::table.find(&bot_id).select(bots::tenant_id).first(c)?;
        let now = chrono::Utc::now().naive_utc();
        let message_id = whatsdex::ids::new_id();
        diesel::insert_into(messages::table)
            .values((
                messages::id.eq(&message_id),
                messages::tenant_id.eq(&tenant),
                messages::bot_id.eq(&bot_id),
                messages::direction.eq("in"),
                messages::wa_message_id.eq(format!("wamid.{message_id}")),
                messages::contact_number.eq(CUSTOMER),
                messages::body.eq(""),
                messages::status.eq("received"),
                messages::created_at.eq(now),
                messages::kind.eq(&kind),
            ))
            .execute(c)?;
        let id = whatsdex::ids::new_id();
        diesel::insert_into(media_rows::table)
            .values((
                media_rows::id.eq(&id),
                media_rows::tenant_id.eq(&tenant),
                media_rows::bot_id.eq(&bot_id),
                media_rows::message_id.eq(&message_id),
                media_rows::provider_media_id.eq(&provider_id),
                media_rows::sha256.eq(sha),
                media_rows::status.eq("pending"),
                media_rows::created_at.eq(now),
            ))
            .execute(c)?;
        Ok(id)
    })
    .await
}

/// A media row once the fetcher is done with it.
#[derive(Debug)]
pub(crate) struct Settled {
    pub(crate) status: String,
    pub(crate) error: Option<String>,
    pub(crate) stored_path: Option<String>,
    pub(crate) file_size: Option<i64>,
    pub(crate) mime_type: Option<String>,
    pub(crate) attempts: i32,
}

pub(crate) async fn settled(site: &Site, id: &str, limit: Duration) -> Settled {
    let started = Instant::now();
    loop {
        let id_in = id.to_owned();
        let row: (
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            i32,
        ) = site
            .query(move |c| {
                media_rows::table
                    .find(&id_in)
                    .select((
                        media_rows::status,
                        media_rows::error,
                        media_rows::stored_path,
                        media_rows::file_size,
                        media_rows::mime_type,
                        media_rows::attempts,
                    ))
                    .first(c)
            })
            .await;
        if row.0 != "pending" {
            return Settled {
                status: row.0,
                error: row.1,
                stored_path: row.2,
                file_size: row.3,
                mime_type: row.4,
                attempts: row.5,
            };
        }
        assert!(
            started.elapsed() < limit,
            "media {id} still pending after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Meta's webhook for an image message with media `media_id`.
fn image_webhook(media_id: &str, sha: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA_ID,
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550100100", "phone_number_id": PHONE_NUMBER_ID},
                    "contacts": [{"profile": {"name": "Kim"}, "wa_id": CUSTOMER}],
                    "messages": [{
                        "from": CUSTOMER,
                        "id": "wamid.HBgLMTU1NTAxMDAyMDAVAgASGBQzQUIxMjM0NTY3ODkwQUJDREVGAA==",
                        "timestamp": chrono::Utc::now().timestamp().to_string(),
                        "type": "image",
                        "image": {"caption": "my receipt", "mime_type": "image/png", "sha256": sha, "id": media_id}
                    }]
                }
            }]
        }]
    }))
    .unwrap()
}

fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Deliver Meta's signed webhook for an image message of the bot (media `provider_id`, the
/// fake's `bytes`) and wait for its media row; answers the row's id.
pub(crate) async fn image_by_webhook<S, B>(
    site: &Site,
    app: std::rc::Rc<S>,
    bot_id: &str,
    provider_id: &str,
    bytes: &[u8],
) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let key: String = {
        let bot_id = bot_id.to_owned();
        site.query(move |c| {
            cloud_connections::table
                .find(&bot_id)
                .select(cloud_connections::webhook_key)
                .first(c)
        })
        .await
    };
    // The webhook carries the hash Meta writes in base64.
    let announced = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        Sha256::digest(bytes),
    );
    let body = image_webhook(provider_id, &announced);
    let request = actix_web::test::TestRequest::post()
        .uri(&format!("/webhooks/whatsapp/{key}"))
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header(("X-Hub-Signature-256", signature(&body)))
        .set_payload(body);
    let delivered = Browser::new(app).send_request(request).await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);

    let started = Instant::now();
    loop {
        let found: Option<String> = site
            .query(|c| media_rows::table.select(media_rows::id).first(c).optional())
            .await;
        if let Some(id) = found {
            break id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no media row recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn an_image_from_a_webhook_is_kept_and_shown_only_to_its_workspace() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = owner_with_bot(&site, &mut owner, "ana@example.com", "Lima Bakery").await;
    let bytes = png("receipt");
    fake.add_media("7001", "image/png", &bytes, &sha_hex(&bytes));

    let media_id = image_by_webhook(&site, app.clone(), &bot_id, "7001", &bytes).await;
    let row = settled(&site, &media_id, Duration::from_secs(15)).await;
    assert_eq!(row.status, "stored", "{row:?}");
    assert_eq!(row.file_size, Some(bytes.len() as i64));
    assert_eq!(row.mime_type.as_deref(), Some("image/png"));
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let path = row.stored_path.unwrap();
    assert_eq!(path, format!("{tenant}/{bot_id}/{media_id}"));
    let on_disk = std::fs::read(site.db.data_dir.path().join("media").join(&path)).unwrap();
    assert_eq!(on_disk, bytes);
    // The file was fetched with the bot's token, from the URL Meta gave.
    let fetches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("7001"))
        .collect();
    assert_eq!(fetches[0].path, format!("/{GRAPH_VERSION}/7001"));
    assert_eq!(fetches[1].path, "/media-bytes/7001");
    assert!(
        fetches
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );

    // What a page lists for the message.
    let (tenant_in, media_in) = (tenant.clone(), media_id.clone());
    let listed = site
        .query(move |c| {
            let message: String = media_rows::table
                .find(&media_in)
                .select(media_rows::message_id)
                .first(c)?;
            media::for_messages(c, &tenant_in.as_str().into(), &[message, "other".into()])
        })
        .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].kind.as_str(), listed[0].status.as_str()),
        ("image", "stored")
    );
    assert_eq!(listed[0].id, media_id);
    let foreign = site
        .query(move |c| {
            let message: String = messages::table.select(messages::id).first(c)?;
            media::for_messages(c, &"another-tenant".into(), &[message])
        })
        .await;
    assert!(foreign.is_empty());

    // The workspace's member sees it, inline, with its checked type.
    let url = format!("/media/{media_id}");
    let shown = owner.get(&url).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(
        shown.headers.get(header::CONTENT_TYPE).unwrap(),
        "image/png"
    );
    assert_eq!(
        shown.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert_eq!(
        shown.headers.get(header::CONTENT_DISPOSITION).unwrap(),
        "inline"
    );
    let cache = shown
        .headers
        .get(header::CACHE_CONTROL)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cache.starts_with("private"), "{cache}");
    assert_eq!(shown.body, String::from_utf8_lossy(&bytes));

    // Another workspace's member gets the same 404 as for an id that does not exist.
    let mut other = Browser::new(app.clone());
    sign_up(&mut other, "bo@example.com", "Other Shop").await;
    assert_eq!(other.get(&url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .get("/media/0190aaaa-0000-7000-8000-000000000000")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Signed out: sent to sign in, no file.
    let signed_out = Browser::new(app.clone()).get(&url).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(
        signed_out.location().starts_with("/login"),
        "{}",
        signed_out.location()
    );
}

#[actix_web::test]
async fn files_too_large_of_another_type_or_another_hash_are_refused() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = owner_with_bot(&site, &mut owner, "ana@example.com", "Lima Bakery").await;

    // Over Meta's 500 KB for a sticker.
    let mut big = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
    big.resize(500 * 1024 + 1, 0);
    fake.add_media("8001", "image/webp", &big, &sha_hex(&big));
    // A program sent as a document.
    let program = b"MZ\x90\0 not a document".to_vec();
    fake.add_media(
        "8002",
        "application/x-msdownload",
        &program,
        &sha_hex(&program),
    );
    // Said to be a PNG, but HTML.
    let html = b"<html><script>alert(1)</script></html>".to_vec();
    fake.add_media("8003", "image/png", &html, &sha_hex(&html));
    // A real PNG whose hash is not the one Meta gave.
    let bytes = png("changed");
    fake.add_media("8004", "image/png", &bytes, &sha_hex(b"something else"));
    // An image kind with a document type.
    let pdf = b"%PDF-1.7 a document".to_vec();
    fake.add_media("8005", "application/pdf", &pdf, &sha_hex(&pdf));

    let too_large = pending_media(&site, &bot_id, "sticker", "8001", None).await;
    let program_id = pending_media(&site, &bot_id, "document", "8002", None).await;
    let html_id = pending_media(&site, &bot_id, "image", "8003", None).await;
    let wrong_hash = pending_media(&site, &bot_id, "image", "8004", None).await;
    let webhook_hash = pending_media(&site, &bot_id, "image", "8005", Some(&sha_hex(&pdf))).await;

    let limit = Duration::from_secs(15);
    for (id, reason) in [
        (&too_large, "larger than the 512000 bytes"),
        (
            &program_id,
            "application/x-msdownload is not a type we keep",
        ),
        (&html_id, "not image/png"),
        (&wrong_hash, "SHA-256 does not match"),
        (
            &webhook_hash,
            "application/pdf is not a type we keep for image",
        ),
    ] {
        let row = settled(&site, id, limit).await;
        assert_eq!(row.status, "refused", "{row:?}");
        let error = row.error.unwrap_or_default();
        assert!(error.contains(reason), "{error}");
        assert!(row.stored_path.is_none());
    }
    // The too-large file was refused on Meta's stated size, before any byte was read.
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.path == "/media-bytes/8001")
    );
    // Nothing refused was kept.
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let folder = site
        .db
        .data_dir
        .path()
        .join("media")
        .join(tenant)
        .join(&bot_id);
    let kept = std::fs::read_dir(&folder).map(|d| d.count()).unwrap_or(0);
    assert_eq!(kept, 0);
    // Refused files are not served.
    let shown = owner.get(&format!("/media/{html_id}")).await;
    assert_eq!(shown.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn an_unavailable_graph_api_is_tried_again_and_a_refusal_is_final() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = owner_with_bot(&site, &mut owner, "ana@example.com", "Lima Bakery").await;
    let bytes = png("after retry");
    fake.add_media("9001", "image/png", &bytes, &sha_hex(&bytes));
    // Let the bot settle first, so the 500 goes to the fetcher's first call.
    tokio::time::sleep(Duration::from_millis(300)).await;
    fake.fail_next(500);

    let retried = pending_media(&site, &bot_id, "image", "9001", None).await;
    let row = settled(&site, &retried, Duration::from_secs(20)).await;
    assert_eq!(row.status, "stored", "{row:?}");
    assert_eq!(row.attempts, 2, "one failed try, then the one that kept it");
    let calls = fake
        .requests()
        .iter()
        .filter(|r| r.path == format!("/{GRAPH_VERSION}/9001"))
        .count();
    assert_eq!(calls, 2);

    // Meta does not know the id (error 100): no point trying again.
    let unknown = pending_media(&site, &bot_id, "image", "9999", None).await;
    let row = settled(&site, &unknown, Duration::from_secs(15)).await;
    assert_eq!(row.status, "failed", "{row:?}");
    assert_eq!(row.attempts, 1);
    assert!(row.attempts < MAX_ATTEMPTS);
    assert!(row.error.unwrap_or_default().contains("Invalid parameter"));
}

#[actix_web::test]
async fn an_upload_is_a_multipart_form_meta_accepts() {
    let fake = FakeGraph::start();
    let graph = GraphClient::new(Url::parse(&fake.base_url).unwrap()).unwrap();
    let bytes = b"%PDF-1.7 the menu".to_vec();
    let id = graph
        .upload_media(
            PHONE_NUMBER_ID,
            TOKEN,
            bytes.clone(),
            "application/pdf",
            "menu.pdf",
        )
        .await
        .unwrap();
    assert!(
        id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty(),
        "{id}"
    );
    let request = fake.requests().pop().unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/{GRAPH_VERSION}/{PHONE_NUMBER_ID}/media")
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let field = |name: &str| {
        request
            .form
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .clone()
    };
    assert_eq!(field("messaging_product").bytes, b"whatsapp");
    assert_eq!(field("type").bytes, b"application/pdf");
    let file = field("file");
    assert_eq!(file.bytes, bytes);
    assert_eq!(file.filename.as_deref(), Some("menu.pdf"));
    assert_eq!(file.content_type.as_deref(), Some("application/pdf"));

    // A name that would break the form is not sent.
    let refused = graph
        .upload_media(PHONE_NUMBER_ID, TOKEN, bytes, "application/pdf", "a\"b.pdf")
        .await;
    assert!(refused.is_err());
    assert_eq!(fake.requests().len(), 1);
}

#[actix_web::test]
async fn a_file_a_bot_sends_is_checked_uploaded_and_queued() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = owner_with_bot(&site, &mut owner, "ana@example.com", "Lima Bakery").await;
    let bot_in = bot_id.clone();
    let bot: Bot = site
        .query(move |c| bots::table.find(&bot_in).select(Bot::as_select()).first(c))
        .await;
    let uploads = || {
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("/media"))
            .count()
    };

    // Too large for an image, and a type Meta does not take: refused before any upload.
    let mut huge = vec![0xFF, 0xD8, 0xFF];
    huge.resize(5 * 1024 * 1024 + 1, 0);
    for (bytes, mime, expected) in [
        (huge, "image/jpeg", "larger than WhatsApp allows"),
        (b"GIF89a...".to_vec(), "image/gif", "not a type we keep"),
        (b"<html>".to_vec(), "image/png", "content is not image/png"),
    ] {
        let file = OutgoingFile {
            bytes,
            mime_type: mime.into(),
            filename: "x".into(),
            caption: None,
        };
        let refused = queue_media_for(&site.state, &site.state.bots, &bot, CUSTOMER, file).await;
        let Err(ServiceError::Invalid(errors)) = refused else {
            panic!("{mime} should be refused: {refused:?}");
        };
        let message = errors.get("file").unwrap().to_string();
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(uploads(), 0);

    let photo = png("sent by the bot");
    let file = OutgoingFile {
        bytes: photo.clone(),
        mime_type: "image/png".into(),
        filename: "offer.png".into(),
        caption: Some("Today's offer".into()),
    };
    let queued = queue_media_for(&site.state, &site.state.bots, &bot, CUSTOMER, file)
        .await
        .unwrap();
    assert_eq!(uploads(), 1);
    let upload = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/media"))
        .unwrap();
    let sent_file = upload.form.iter().find(|p| p.name == "file").unwrap();
    assert_eq!(sent_file.bytes, photo);
    let (body, content): (String, Option<String>) = site
        .query(move |c| {
            outbox::table
                .find(&queued)
                .select((outbox::body, outbox::content))
                .first(c)
        })
        .await;
    assert_eq!(body, "[image] Today's offer");
    let content: serde_json::Value = serde_json::from_str(&content.unwrap()).unwrap();
    let text = content.to_string();
    assert!(text.contains("4490000000000001"), "{text}");
    assert!(text.contains("Today's offer"), "{text}");
}

#[actix_web::test]
async fn deleting_a_bot_or_a_workspace_removes_its_files() {
    let fake = FakeGraph::start();
    let site = site_with(&fake);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = owner_with_bot(&site, &mut owner, "ana@example.com", "Lima Bakery").await;
    let bytes = png("to delete");
    fake.add_media("6001", "image/png", &bytes, &sha_hex(&bytes));
    let id = pending_media(&site, &bot_id, "image", "6001", None).await;
    let row = settled(&site, &id, Duration::from_secs(15)).await;
    let media_dir = site.db.data_dir.path().join("media");
    let file = media_dir.join(row.stored_path.unwrap());
    assert!(file.is_file());

    let deleted = owner.post(&format!("/bots/{bot_id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert!(!file.exists());
    assert!(!file.parent().unwrap().exists(), "the bot's folder is gone");

    // Another bot's file of the same workspace, then the workspace goes.
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let store = site.state.bots.media_store();
    let kept = store.put(&tenant, "b2", "m1", b"x").await.unwrap();
    assert!(media_dir.join(&kept).is_file());
    let gone = owner
        .post("/workspace/delete", &[("confirmation", "Lima Bakery")])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert!(!media_dir.join(&tenant).exists());
}
