//! whatsapp-rust's storage traits on our database: every item the client keeps (Signal
//! identities, sessions and pre-keys, app-state keys, the device itself) is one sealed row of
//! [`SessionStore`]. Structured values are JSON; the semantics follow the crate's contract
//! for each method (merges, expiry sweeps, "latest" markers).

use std::collections::HashMap;
use std::sync::Arc;

use whatsapp_rust::async_trait;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::{Result, StoreError};
use whatsapp_rust::wacore::store::traits::{
    AppStateSyncKey, AppSyncStore, DeviceListRecord, DeviceStore, LidPnMappingEntry,
    MsgSecretEntry, MsgSecretStore, ProtocolStore, SignalStore, TcTokenEntry,
    merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use super::store::{SessionStore, StoreFailure};

/// Kinds of item. Families end in `/` and take a suffix (a collection or group name).
mod kind {
    pub const IDENTITY: &str = "identity";
    pub const SESSION: &str = "session";
    pub const PREKEY: &str = "prekey";
    pub const SIGNED_PREKEY: &str = "signed_prekey";
    pub const SENDER_KEY: &str = "sender_key";
    pub const SYNC_KEY: &str = "sync_key";
    pub const APP_VERSION: &str = "app_version";
    pub const MUTATION_MACS: &str = "mutation_mac/";
    pub const SENDER_KEY_DEVICES: &str = "sender_key_devices/";
    pub const LID: &str = "lid";
    pub const PN: &str = "pn";
    pub const BASE_KEY: &str = "base_key";
    pub const DEVICE_LIST: &str = "device_list";
    pub const GROUP_METADATA: &str = "group_metadata";
    pub const TC_TOKEN: &str = "tc_token";
    pub const SENT_MESSAGE: &str = "sent_message";
    pub const PENDING_INBOUND: &str = "pending_inbound";
    pub const MSG_SECRET: &str = "msg_secret";
    pub const META: &str = "meta";
}

const DEVICE_KEY: &str = "device";
const LATEST_SYNC_KEY: &str = "latest_sync_key_id";

/// whatsapp-rust's `Backend`, stored in our database for one bot.
#[derive(Clone)]
pub struct DbBackend {
    store: SessionStore,
}

impl DbBackend {
    pub fn new(store: SessionStore) -> Self {
        Self { store }
    }
}

fn failed(e: StoreFailure) -> StoreError {
    StoreError::Database(Box::new(e))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Serialization(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Serialization(Box::new(e)))
}

/// Keys made of several parts, joined by the ASCII unit separator: it never occurs in JIDs or
/// message ids, and unlike NUL PostgreSQL text accepts it.
fn joined(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl DbBackend {
    async fn get(&self, kind: &str, key: &str) -> Result<Option<Vec<u8>>> {
        self.store.get(kind, key).await.map_err(failed)
    }

    async fn put(&self, kind: &str, key: &str, value: &[u8], stamp: i64) -> Result<()> {
        self.store
            .put(kind, key, value, stamp)
            .await
            .map_err(failed)
    }

    async fn delete(&self, kind: &str, key: &str) -> Result<()> {
        self.store.delete(kind, key).await.map_err(failed)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
    ) -> Result<Option<T>> {
        self.get(kind, key)
            .await?
            .map(|bytes| from_json(&bytes))
            .transpose()
    }

    async fn put_json<T: serde::Serialize>(&self, kind: &str, key: &str, value: &T) -> Result<()> {
        self.put(kind, key, &to_json(value)?, 0).await
    }
}

#[async_trait]
impl SignalStore for DbBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.put(kind::IDENTITY, address, &key, 0).await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        match self.get(kind::IDENTITY, address).await? {
            Some(bytes) => bytes
                .try_into()
                .map(Some)
                .map_err(|_| StoreError::Validation("identity key is not 32 bytes".into())),
            None => Ok(None),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.delete(kind::IDENTITY, address).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self.get(kind::SESSION, address).await?.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.put(kind::SESSION, address, session, 0).await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let items = sessions
            .iter()
            .map(|(address, session)| (address.to_string(), session.to_vec(), 0))
            .collect();
        self.store
            .put_many(kind::SESSION, items)
            .await
            .map_err(failed)
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.delete(kind::SESSION, address).await
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        // An address is `user@server` or `user:device@server`.
        let belongs = |address: &str| {
            address
                .strip_prefix(user)
                .is_some_and(|rest| rest.starts_with('@') || rest.starts_with(':'))
        };
        for kind in [kind::SESSION, kind::IDENTITY] {
            let keys = self.store.keys(kind).await.map_err(failed)?;
            if keys.iter().any(|k| belongs(k)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], _uploaded: bool) -> Result<()> {
        self.put(kind::PREKEY, &id.to_string(), record, i64::from(id))
            .await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], _uploaded: bool) -> Result<()> {
        let items = keys
            .iter()
            .map(|(id, record)| (id.to_string(), record.to_vec(), i64::from(*id)))
            .collect();
        self.store
            .put_many(kind::PREKEY, items)
            .await
            .map_err(failed)
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        Ok(self
            .get(kind::PREKEY, &id.to_string())
            .await?
            .map(Bytes::from))
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let keys = ids.iter().map(u32::to_string).collect();
        let items = self
            .store
            .get_many(kind::PREKEY, keys)
            .await
            .map_err(failed)?;
        let mut found: HashMap<u32, Bytes> = items
            .into_iter()
            .filter_map(|item| Some((item.key.parse().ok()?, Bytes::from(item.value))))
            .collect();
        // In the order asked for, skipping ids that are not stored.
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id).map(|record| (*id, record)))
            .collect())
    }

    async fn mark_prekeys_uploaded(&self, _ids: &[u32]) -> Result<()> {
        // Upload state is not needed to resume: the server tells the client its count.
        Ok(())
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.delete(kind::PREKEY, &id.to_string()).await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        let max = self.store.max_stamp(kind::PREKEY).await.map_err(failed)?;
        Ok(u32::try_from(max).unwrap_or(0))
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.put(kind::SIGNED_PREKEY, &id.to_string(), record, i64::from(id))
            .await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        self.get(kind::SIGNED_PREKEY, &id.to_string()).await
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let items = self.store.list(kind::SIGNED_PREKEY).await.map_err(failed)?;
        Ok(items
            .into_iter()
            .filter_map(|item| Some((item.key.parse().ok()?, item.value)))
            .collect())
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.delete(kind::SIGNED_PREKEY, &id.to_string()).await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.put(kind::SENDER_KEY, address, record, 0).await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let items = sender_keys
            .iter()
            .map(|(address, record)| (address.to_string(), record.to_vec(), 0))
            .collect();
        self.store
            .put_many(kind::SENDER_KEY, items)
            .await
            .map_err(failed)
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.get(kind::SENDER_KEY, address).await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.delete(kind::SENDER_KEY, address).await
    }
}

#[async_trait]
impl AppSyncStore for DbBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        self.get_json(kind::SYNC_KEY, &hex::encode(key_id)).await
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        self.put_json(kind::SYNC_KEY, &hex::encode(key_id), &key)
            .await?;
        self.put(kind::META, LATEST_SYNC_KEY, key_id, 0).await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        Ok(self
            .get_json(kind::APP_VERSION, name)
            .await?
            .unwrap_or_default())
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.put_json(kind::APP_VERSION, name, &state).await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let items = mutations
            .iter()
            .map(|m| (hex::encode(&m.index_mac), m.value_mac.clone(), 0))
            .collect();
        self.store
            .put_many(&format!("{}{name}", kind::MUTATION_MACS), items)
            .await
            .map_err(failed)
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(
            &format!("{}{name}", kind::MUTATION_MACS),
            &hex::encode(index_mac),
        )
        .await
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let keys = index_macs.iter().map(hex::encode).collect();
        let items = self
            .store
            .get_many(&format!("{}{name}", kind::MUTATION_MACS), keys)
            .await
            .map_err(failed)?;
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let index: [u8; 32] = hex::decode(&item.key).ok()?.try_into().ok()?;
                Some((index, item.value))
            })
            .collect())
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let keys = index_macs.iter().map(hex::encode).collect();
        self.store
            .delete_many(&format!("{}{name}", kind::MUTATION_MACS), keys)
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        self.store
            .clear_kind(&format!("{}{name}", kind::MUTATION_MACS))
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        self.get(kind::META, LATEST_SYNC_KEY).await
    }
}

#[async_trait]
impl ProtocolStore for DbBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let items = self
            .store
            .list(&format!("{}{group_jid}", kind::SENDER_KEY_DEVICES))
            .await
            .map_err(failed)?;
        Ok(items
            .into_iter()
            .map(|item| (item.key, item.value == [1]))
            .collect())
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let items = entries
            .iter()
            .map(|(device, has_key)| (device.to_string(), vec![u8::from(*has_key)], 0))
            .collect();
        self.store
            .put_many(&format!("{}{group_jid}", kind::SENDER_KEY_DEVICES), items)
            .await
            .map_err(failed)
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        self.store
            .clear_kind(&format!("{}{group_jid}", kind::SENDER_KEY_DEVICES))
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let keys = device_jids.iter().map(|d| d.to_string()).collect();
        self.store
            .delete_in_kinds_starting(kind::SENDER_KEY_DEVICES, keys)
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.store
            .clear_kinds_starting(kind::SENDER_KEY_DEVICES)
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        self.get_json(kind::LID, lid).await
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        match self.get(kind::PN, phone).await? {
            Some(lid) => {
                let lid =
                    String::from_utf8(lid).map_err(|e| StoreError::Serialization(Box::new(e)))?;
                self.get_lid_mapping(&lid).await
            }
            None => Ok(None),
        }
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        // A LID that moved to another number no longer answers for the old one.
        if let Some(old) = self.get_lid_mapping(&entry.lid).await?
            && old.phone_number != entry.phone_number
        {
            self.delete(kind::PN, &old.phone_number).await?;
        }
        self.put(kind::PN, &entry.phone_number, entry.lid.as_bytes(), 0)
            .await?;
        self.put_json(kind::LID, &entry.lid, entry).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let items = self.store.list(kind::LID).await.map_err(failed)?;
        items.iter().map(|item| from_json(&item.value)).collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        self.put(kind::BASE_KEY, &joined(&[address, message_id]), base_key, 0)
            .await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let stored = self
            .get(kind::BASE_KEY, &joined(&[address, message_id]))
            .await?;
        Ok(stored.is_some_and(|stored| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.delete(kind::BASE_KEY, &joined(&[address, message_id]))
            .await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.put_json(kind::DEVICE_LIST, &record.user, &record)
            .await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        self.get_json(kind::DEVICE_LIST, user).await
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.delete(kind::DEVICE_LIST, user).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        self.get(kind::GROUP_METADATA, group_jid).await
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.put(kind::GROUP_METADATA, group_jid, blob, 0).await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.delete(kind::GROUP_METADATA, group_jid).await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.get_json(kind::TC_TOKEN, jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.put_json(kind::TC_TOKEN, jid, entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.delete(kind::TC_TOKEN, jid).await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        self.store.keys(kind::TC_TOKEN).await.map_err(failed)
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        let items = self.store.list(kind::TC_TOKEN).await.map_err(failed)?;
        let mut expired = Vec::new();
        for item in items {
            let entry: TcTokenEntry = from_json(&item.value)?;
            let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
            let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
            if !token_live && !sender_live {
                expired.push(item.key);
            }
        }
        let removed = self
            .store
            .delete_many(kind::TC_TOKEN, expired)
            .await
            .map_err(failed)?;
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        let entry = match self.get_tc_token(jid).await? {
            Some(mut entry) => {
                entry.sender_timestamp = Some(
                    entry
                        .sender_timestamp
                        .map_or(sender_timestamp, |old| old.max(sender_timestamp)),
                );
                entry
            }
            None => TcTokenEntry {
                token: Vec::new(),
                token_timestamp: sender_timestamp,
                sender_timestamp: Some(sender_timestamp),
            },
        };
        self.put_tc_token(jid, &entry).await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        let entry = match self.get_tc_token(jid).await? {
            // An older token never replaces a newer one.
            Some(entry) if !entry.token.is_empty() && token_timestamp < entry.token_timestamp => {
                return Ok(());
            }
            Some(mut entry) => {
                entry.token = token.to_vec();
                entry.token_timestamp = token_timestamp;
                entry
            }
            None => TcTokenEntry {
                token: token.to_vec(),
                token_timestamp,
                sender_timestamp: None,
            },
        };
        self.put_tc_token(jid, &entry).await
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        let key = joined(&[chat_jid, message_id]);
        self.put(kind::SENT_MESSAGE, &key, payload, now_secs())
            .await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let key = joined(&[chat_jid, message_id]);
        let payload = self.get(kind::SENT_MESSAGE, &key).await?;
        if payload.is_some() {
            self.delete(kind::SENT_MESSAGE, &key).await?;
        }
        Ok(payload)
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        let removed = self
            .store
            .delete_stamped_before(kind::SENT_MESSAGE, cutoff_timestamp, false)
            .await
            .map_err(failed)?;
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        let key = joined(&[chat, sender, id]);
        self.put(kind::PENDING_INBOUND, &key, message, now_secs())
            .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.get(kind::PENDING_INBOUND, &joined(&[chat, sender, id]))
            .await
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.delete(kind::PENDING_INBOUND, &joined(&[chat, sender, id]))
            .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let removed = self
            .store
            .delete_stamped_before(kind::PENDING_INBOUND, cutoff_timestamp, false)
            .await
            .map_err(failed)?;
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }
}

/// A message secret as stored: the secret and the two times the merge rules look at.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSecret {
    secret: Vec<u8>,
    expires_at: i64,
    message_ts: i64,
}

#[async_trait]
impl MsgSecretStore for DbBackend {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let count = entries.len();
        for entry in entries {
            let key = joined(&[&entry.chat, &entry.sender, &entry.msg_id]);
            let merged = match self
                .get_json::<StoredSecret>(kind::MSG_SECRET, &key)
                .await?
            {
                Some(old) => StoredSecret {
                    secret: entry.secret.to_vec(),
                    expires_at: merge_msg_secret_expiry(old.expires_at, entry.expires_at),
                    message_ts: merge_msg_secret_message_ts(old.message_ts, entry.message_ts),
                },
                None => StoredSecret {
                    secret: entry.secret.to_vec(),
                    expires_at: entry.expires_at,
                    message_ts: entry.message_ts,
                },
            };
            // The stamp is the expiry, so the sweep is one indexed delete (0 = never).
            self.put(
                kind::MSG_SECRET,
                &key,
                &to_json(&merged)?,
                merged.expires_at,
            )
            .await?;
        }
        Ok(count)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let stored: Option<StoredSecret> = self
            .get_json(kind::MSG_SECRET, &joined(&[chat, sender, msg_id]))
            .await?;
        Ok(stored.map(|s| (s.secret, s.message_ts)))
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        // "At or before the cutoff" expires; rows stamped 0 never do.
        let removed = self
            .store
            .delete_stamped_before(kind::MSG_SECRET, cutoff_timestamp.saturating_add(1), true)
            .await
            .map_err(failed)?;
        Ok(u32::try_from(removed).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl DeviceStore for DbBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        self.put_json(kind::META, DEVICE_KEY, device).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.get_json(kind::META, DEVICE_KEY).await
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.get(kind::META, DEVICE_KEY).await?.is_some())
    }

    async fn create(&self) -> Result<i32> {
        // One device per bot: the store itself is the bot's.
        Ok(1)
    }
}
