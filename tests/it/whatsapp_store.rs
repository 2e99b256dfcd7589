//! whatsapp-rust's storage contract on our database, on SQLite and on PostgreSQL: what the
//! client stores comes back, merges and sweeps behave as the crate documents, values are
//! sealed, and one bot's session is invisible to another tenant.

use std::sync::Arc;

use chrono::Utc;
use diesel::prelude::*;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, DeviceStore, LidPnMappingEntry, MsgSecretEntry, MsgSecretStore,
    ProtocolStore, SignalStore, TcTokenEntry,
};
use whatsdex::bots::transport::whatsapp_web::SessionStore;
use whatsdex::bots::transport::whatsapp_web::backend::DbBackend;
use whatsdex::db::RowScope;
use whatsdex::db::schema::{bots, tenants, whatsapp_store};
use whatsdex::encryption::EncryptionKey;

use crate::common::{TEST_KEY, TestDatabase};

async fn seed_bot(state: &whatsdex::web::AppState, tenant: &'static str, bot: &'static str) {
    state
        .db
        .run_in(
            RowScope::across_tenants("test set-up reads and writes any row"),
            move |conn| {
                let now = Utc::now().naive_utc();
                diesel::insert_into(tenants::table)
                    .values((
                        tenants::id.eq(tenant),
                        tenants::name.eq(tenant),
                        tenants::created_at.eq(now),
                        tenants::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                diesel::insert_into(bots::table)
                    .values((
                        bots::id.eq(bot),
                        bots::tenant_id.eq(tenant),
                        bots::name.eq(bot),
                        bots::transport.eq("web"),
                        bots::status.eq("unpaired"),
                        bots::created_at.eq(now),
                        bots::updated_at.eq(now),
                    ))
                    .execute(conn)
            },
        )
        .await
        .unwrap();
}

fn backend_for(
    state: &whatsdex::web::AppState,
    tenant: &str,
    bot: &str,
) -> (SessionStore, DbBackend) {
    let key = Arc::new(EncryptionKey::parse(TEST_KEY).unwrap());
    let store = SessionStore::new(state.db.clone(), key, tenant, bot);
    (store.clone(), DbBackend::new(store))
}

#[tokio::test]
async fn the_client_gets_back_what_it_stored_and_sweeps_what_expired() {
    let db = TestDatabase::new();
    let state = db.prepared_state();
    seed_bot(&state, "t1", "b1").await;
    let (store, backend) = backend_for(&state, "t1", "b1");

    // Signal identities, sessions (single and batched), pre-keys.
    backend
        .put_identity("4477@s.whatsapp.net", [7; 32])
        .await
        .unwrap();
    assert_eq!(
        backend.load_identity("4477@s.whatsapp.net").await.unwrap(),
        Some([7; 32])
    );
    assert_eq!(
        backend
            .load_identity("nobody@s.whatsapp.net")
            .await
            .unwrap(),
        None
    );
    backend
        .put_sessions_batch(&[
            (
                Arc::from("4477:1@s.whatsapp.net"),
                Bytes::from_static(b"one"),
            ),
            (Arc::from("4478@s.whatsapp.net"), Bytes::from_static(b"two")),
        ])
        .await
        .unwrap();
    backend
        .put_session("4477:1@s.whatsapp.net", b"one-b")
        .await
        .unwrap();
    assert_eq!(
        backend
            .get_session("4477:1@s.whatsapp.net")
            .await
            .unwrap()
            .as_deref(),
        Some(b"one-b".as_slice())
    );
    assert!(backend.has_signal_state_for_user("4477").await.unwrap());
    assert!(!backend.has_signal_state_for_user("447").await.unwrap());
    backend
        .store_prekeys_batch(
            &[
                (3, Bytes::from_static(b"p3")),
                (12, Bytes::from_static(b"p12")),
            ],
            false,
        )
        .await
        .unwrap();
    assert_eq!(backend.get_max_prekey_id().await.unwrap(), 12);
    let loaded = backend.load_prekeys_batch(&[12, 5, 3]).await.unwrap();
    assert_eq!(
        loaded.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![12, 3]
    );
    backend.remove_prekey(12).await.unwrap();
    assert_eq!(backend.get_max_prekey_id().await.unwrap(), 3);

    // App state: the latest key id follows the last key set; macs clear per collection.
    let key = AppStateSyncKey {
        key_data: vec![1, 2],
        fingerprint: vec![3],
        timestamp: 9,
    };
    backend.set_sync_key(b"k1", key.clone()).await.unwrap();
    backend.set_sync_key(b"k2", key).await.unwrap();
    assert_eq!(
        backend.get_latest_sync_key_id().await.unwrap().as_deref(),
        Some(b"k2".as_slice())
    );
    assert_eq!(
        backend
            .get_sync_key(b"k1")
            .await
            .unwrap()
            .unwrap()
            .timestamp,
        9
    );
    assert_eq!(backend.get_version("regular").await.unwrap().version, 0);

    // LID ↔ phone mappings: a LID that moves to another number stops answering for the old.
    let mapping = |phone: &str| LidPnMappingEntry {
        lid: "999".into(),
        phone_number: phone.into(),
        created_at: 1,
        updated_at: 1,
        learning_source: "test".into(),
    };
    backend.put_lid_mapping(&mapping("4470")).await.unwrap();
    backend.put_lid_mapping(&mapping("4471")).await.unwrap();
    assert!(backend.get_pn_mapping("4470").await.unwrap().is_none());
    assert_eq!(
        backend.get_pn_mapping("4471").await.unwrap().unwrap().lid,
        "999"
    );

    // Trust tokens: an older token never replaces a newer one; expiry sweeps dead entries.
    backend
        .store_received_tc_token("a@s", b"new", 200)
        .await
        .unwrap();
    backend
        .store_received_tc_token("a@s", b"old", 100)
        .await
        .unwrap();
    assert_eq!(
        backend.get_tc_token("a@s").await.unwrap().unwrap().token,
        b"new"
    );
    backend
        .put_tc_token(
            "b@s",
            &TcTokenEntry {
                token: vec![1],
                token_timestamp: 10,
                sender_timestamp: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(backend.delete_expired_tc_tokens(150, 150).await.unwrap(), 1);
    assert_eq!(
        backend.get_all_tc_token_jids().await.unwrap(),
        vec!["a@s".to_owned()]
    );

    // Message secrets: the later expiry wins; 0 (never) survives every sweep.
    let secret = |expires_at| MsgSecretEntry {
        chat: Arc::from("c@s"),
        sender: Arc::from("s@s"),
        msg_id: Arc::from("m1"),
        secret: [5; 32],
        expires_at,
        message_ts: 0,
    };
    backend.put_msg_secrets(vec![secret(100)]).await.unwrap();
    backend.put_msg_secrets(vec![secret(300)]).await.unwrap();
    assert_eq!(backend.delete_expired_msg_secrets(200).await.unwrap(), 0);
    assert_eq!(backend.delete_expired_msg_secrets(300).await.unwrap(), 1);
    backend
        .put_msg_secret("c@s", "s@s", "m2", &[6; 32])
        .await
        .unwrap();
    assert_eq!(
        backend
            .delete_expired_msg_secrets(i64::MAX - 1)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        backend.get_msg_secret("c@s", "s@s", "m2").await.unwrap(),
        Some(vec![6; 32])
    );

    // The durability buffer round-trips and is deleted after the commit.
    backend
        .store_pending_inbound("c@s", "s@s", "m9", b"msg")
        .await
        .unwrap();
    assert_eq!(
        backend
            .get_pending_inbound("c@s", "s@s", "m9")
            .await
            .unwrap(),
        Some(b"msg".to_vec())
    );
    backend
        .delete_pending_inbound("c@s", "s@s", "m9")
        .await
        .unwrap();
    assert_eq!(
        backend
            .get_pending_inbound("c@s", "s@s", "m9")
            .await
            .unwrap(),
        None
    );

    // Sender-key device rows go per group, or by device across groups.
    backend
        .set_sender_key_status("g1@g.us", &[("d1", true), ("d2", false)])
        .await
        .unwrap();
    backend
        .set_sender_key_status("g2@g.us", &[("d1", true)])
        .await
        .unwrap();
    backend
        .delete_sender_key_device_rows(&["d1"])
        .await
        .unwrap();
    assert_eq!(
        backend.get_sender_key_devices("g1@g.us").await.unwrap(),
        vec![("d2".to_owned(), false)]
    );
    assert!(
        backend
            .get_sender_key_devices("g2@g.us")
            .await
            .unwrap()
            .is_empty()
    );

    assert!(!backend.exists().await.unwrap());
    assert!(backend.load().await.unwrap().is_none());

    // Every value is sealed at rest, and the whole session goes in one call.
    let rows: Vec<Vec<u8>> = state
        .db
        .run_in(
            RowScope::across_tenants("test set-up reads and writes any row"),
            |conn| {
                whatsapp_store::table
                    .select(whatsapp_store::sealed)
                    .load(conn)
            },
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|v| !v.windows(3).any(|w| w == b"one" || w == b"p12"))
    );
    assert!(store.clear().await.unwrap() > 10);
    assert_eq!(
        backend.load_identity("4477@s.whatsapp.net").await.unwrap(),
        None
    );
    // A client winding down after its session was forgotten writes nothing back.
    store.put("meta", "device", b"late write", 1).await.unwrap();
    assert_eq!(store.get("meta", "device").await.unwrap(), None);
    assert!(store.keys("meta").await.unwrap().is_empty());
}

#[tokio::test]
async fn another_tenant_or_another_key_cannot_read_a_session() {
    let db = TestDatabase::new();
    let state = db.prepared_state();
    seed_bot(&state, "t1", "b1").await;
    seed_bot(&state, "t2", "b2").await;
    let (_, owner) = backend_for(&state, "t1", "b1");
    owner
        .put_identity("4477@s.whatsapp.net", [7; 32])
        .await
        .unwrap();

    // Claiming bot b1 under tenant t2: the tenant filter (and RLS on PostgreSQL) hide it.
    let (_, intruder) = backend_for(&state, "t2", "b1");
    assert_eq!(
        intruder.load_identity("4477@s.whatsapp.net").await.unwrap(),
        None
    );
    intruder
        .delete_identity("4477@s.whatsapp.net")
        .await
        .unwrap();
    assert_eq!(
        owner.load_identity("4477@s.whatsapp.net").await.unwrap(),
        Some([7; 32])
    );
    // A different ENCRYPTION_KEY opens nothing: the read fails instead of returning garbage.
    let wrong = SessionStore::new(
        state.db.clone(),
        Arc::new(EncryptionKey::generate()),
        "t1",
        "b1",
    );
    assert!(
        DbBackend::new(wrong)
            .load_identity("4477@s.whatsapp.net")
            .await
            .is_err()
    );
}
