//! Media of Cloud API bots kept in an S3-compatible bucket (`MEDIA_BUCKET_URL`) against the
//! fake S3 server: a file a customer sends is stored in the bucket under the prefix, served to
//! its workspace from there, and removed with its bot and with its workspace; every request
//! to the bucket is signed.

use std::time::Duration;

use actix_web::http::StatusCode;

use crate::cloud_media::{image_by_webhook, owner_with_bot, png, settled, sha_hex};
use crate::common::browser::Browser;
use crate::common::graph::FakeGraph;
use crate::common::s3::{ACCESS_KEY_ID, FakeS3, REGION, SECRET_ACCESS_KEY};
use crate::common::{Site, sign_up, tenant_id_of};

const PREFIX: &str = "prod/media";

fn site_with(graph: &FakeGraph, s3: &FakeS3) -> Site {
    let mut settings = s3.settings(PREFIX);
    settings.push(("META_GRAPH_URL", graph.base_url.clone()));
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Site::start_with(&settings)
}

#[actix_web::test]
async fn media_is_kept_in_the_bucket_served_from_it_and_removed_with_its_bot_and_workspace() {
    let graph = FakeGraph::start();
    let s3 = FakeS3::start();
    let site = site_with(&graph, &s3);
    let app = site.app().await;
    let mut owner = Browser::new(app.clone());
    let bot_id = owner_with_bot(&site, &mut owner, "ana@example.com", "Lima Bakery").await;
    let bytes = png("kept in a bucket");
    graph.add_media("8001", "image/png", &bytes, &sha_hex(&bytes));

    let media_id = image_by_webhook(&site, app.clone(), &bot_id, "8001", &bytes).await;
    let row = settled(&site, &media_id, Duration::from_secs(15)).await;
    assert_eq!(row.status, "stored", "{row:?}");
    let tenant = tenant_id_of(&site, "Lima Bakery").await;
    let path = row.stored_path.unwrap();
    assert_eq!(path, format!("{tenant}/{bot_id}/{media_id}"));
    // In the bucket under the prefix, with the same bytes; nothing under DATA_DIR.
    let key = format!("{PREFIX}/{path}");
    assert_eq!(s3.keys(), vec![key.clone()]);
    assert_eq!(s3.object(&key).unwrap(), bytes);
    assert!(!site.db.data_dir.path().join("media").exists());

    // The member sees it, read back from the bucket; another workspace does not.
    let url = format!("/media/{media_id}");
    let shown = owner.get(&url).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body, String::from_utf8_lossy(&bytes));
    assert!(
        s3.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == format!("/whatsdex-media/{key}")),
        "{:?}",
        s3.requests()
    );
    let mut other = Browser::new(app.clone());
    sign_up(&mut other, "bo@example.com", "Other Shop").await;
    assert_eq!(other.get(&url).await.status, StatusCode::NOT_FOUND);

    // Another bot's object of the workspace, and one of another workspace with a tenant id
    // that starts the same, stay when the bot goes.
    let store = site.state.bots.media_store();
    let kept = store.put(&tenant, "b2", "m1", b"x").await.unwrap();
    let neighbour = store
        .put(&format!("{tenant}0"), "b1", "m1", b"y")
        .await
        .unwrap();
    let deleted = owner.post(&format!("/bots/{bot_id}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(
        s3.keys(),
        vec![format!("{PREFIX}/{kept}"), format!("{PREFIX}/{neighbour}")]
    );
    // The bot's objects were listed by prefix and deleted one by one.
    let requests = s3.requests();
    assert!(requests.iter().any(|r| r.method == "GET"
        && r.path.contains("list-type=2")
        && r.path.contains(&format!("{tenant}%2F{bot_id}"))));
    assert!(
        requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path == format!("/whatsdex-media/{key}"))
    );

    let gone = owner
        .post("/workspace/delete", &[("confirmation", "Lima Bakery")])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    assert_eq!(s3.keys(), vec![format!("{PREFIX}/{neighbour}")]);

    // Every request was signed with AWS Signature Version 4 for the configured key and region,
    // and the secret never travelled.
    let requests = s3.requests();
    assert!(requests.len() >= 6, "{requests:?}");
    for request in &requests {
        let auth = request.authorization.as_deref().unwrap_or_default();
        assert!(
            auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/"))
                && auth.contains(&format!("/{REGION}/s3/aws4_request"))
                && auth.contains("SignedHeaders=")
                && auth.contains("Signature="),
            "{request:?}"
        );
        assert!(request.signature_valid, "{request:?}");
        assert!(!auth.contains(SECRET_ACCESS_KEY));
        assert!(!request.path.contains(SECRET_ACCESS_KEY));
    }
}
