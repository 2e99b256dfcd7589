//! The Signal side of a fake sender (a contact, or the owner's phone): its
//! identity and its sessions with the linked device, kept by the server so they
//! survive the client's restarts just as the client's own store does.

use std::collections::HashMap;

use anyhow::{Result, anyhow};
use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::libsignal::protocol::error::Result as SignalResult;
use whatsapp_rust::wacore::libsignal::protocol::{
    CiphertextMessage, Direction, IdentityChange, IdentityKey, IdentityKeyPair, IdentityKeyStore,
    PreKeyBundle, PreKeyId, PreKeyRecord, PreKeyStore, ProtocolAddress, PublicKey, SessionRecord,
    SessionStore, SignalProtocolError, SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore,
    UsePQRatchet, message_decrypt, message_encrypt, process_prekey_bundle,
};

/// What a linked device published about itself (at registration, then in its
/// pre-key upload): enough to start a Signal session with it.
#[derive(Clone)]
pub struct DeviceKeys {
    pub registration_id: u32,
    pub identity: [u8; 32],
    pub signed_pre_key: (u32, [u8; 32], Vec<u8>),
    /// One-time pre-keys the device uploaded; each is handed out once.
    pub one_time: Vec<(u32, [u8; 32])>,
}

/// One fake sender's Signal state.
pub struct FakeSender {
    sessions: MemSessions,
    identity: MemIdentity,
}

impl FakeSender {
    pub fn new(identity: IdentityKeyPair) -> Self {
        Self {
            sessions: MemSessions(HashMap::new()),
            identity: MemIdentity {
                pair: identity,
                registration_id: rand::random::<u32>() & 0x3fff,
                known: HashMap::new(),
            },
        }
    }

    /// Encrypts `plaintext` for `device`, starting a session from its keys
    /// first if there is none (which makes the result a `pkmsg`).
    /// Returns the wire type (`pkmsg`/`msg`) and the ciphertext.
    pub async fn encrypt(
        &mut self,
        device: &ProtocolAddress,
        keys: &mut DeviceKeys,
        plaintext: &[u8],
    ) -> Result<(&'static str, Vec<u8>)> {
        if self.sessions.load_session(device).await?.is_none() {
            let one_time = keys.one_time.pop();
            let bundle = PreKeyBundle::new(
                keys.registration_id,
                device.device_id(),
                one_time
                    .map(|(id, key)| Ok::<_, anyhow::Error>((id.into(), pub_key(&key)?)))
                    .transpose()?,
                keys.signed_pre_key.0.into(),
                pub_key(&keys.signed_pre_key.1)?,
                keys.signed_pre_key.2.clone(),
                IdentityKey::new(pub_key(&keys.identity)?),
            )?;
            process_prekey_bundle(
                device,
                &mut self.sessions,
                &mut self.identity,
                &bundle,
                &mut rand::make_rng::<rand::rngs::StdRng>(),
                UsePQRatchet::No,
            )
            .await?;
        }
        let sealed =
            message_encrypt(plaintext, device, &mut self.sessions, &mut self.identity).await?;
        Ok(match sealed {
            CiphertextMessage::PreKeySignalMessage(m) => ("pkmsg", m.serialized().to_vec()),
            CiphertextMessage::SignalMessage(m) => ("msg", m.serialized().to_vec()),
            _ => return Err(anyhow!("unexpected ciphertext kind")),
        })
    }

    /// Decrypts a message the linked device sent to this sender.
    pub async fn decrypt(
        &mut self,
        device: &ProtocolAddress,
        kind: &str,
        body: &[u8],
    ) -> Result<Vec<u8>> {
        let message = match kind {
            "pkmsg" => CiphertextMessage::PreKeySignalMessage(body.try_into()?),
            "msg" => CiphertextMessage::SignalMessage(body.try_into()?),
            other => return Err(anyhow!("unsupported enc type {other}")),
        };
        let mut no_pre_keys = NoPreKeys;
        let no_signed_pre_keys = NoPreKeys;
        Ok(message_decrypt(
            &message,
            device,
            &mut self.sessions,
            &mut self.identity,
            &mut no_pre_keys,
            &no_signed_pre_keys,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
            UsePQRatchet::No,
        )
        .await?
        .plaintext)
    }

    /// Forgets sessions (a new pairing brings a new device with new keys).
    pub fn reset_sessions(&mut self) {
        self.sessions.0.clear();
    }
}

fn pub_key(bytes: &[u8; 32]) -> Result<PublicKey> {
    Ok(PublicKey::from_djb_public_key_bytes(bytes)?)
}

struct MemSessions(HashMap<ProtocolAddress, Vec<u8>>);

#[async_trait]
impl SessionStore for MemSessions {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        self.0
            .get(address)
            .map(|b| SessionRecord::deserialize(b))
            .transpose()
    }
    async fn has_session(&self, address: &ProtocolAddress) -> SignalResult<bool> {
        Ok(self.0.contains_key(address))
    }
    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> SignalResult<()> {
        self.0.insert(address.clone(), record.serialize()?);
        Ok(())
    }
}

struct MemIdentity {
    pair: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<ProtocolAddress, IdentityKey>,
}

#[async_trait]
impl IdentityKeyStore for MemIdentity {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(self.pair.clone())
    }
    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.registration_id)
    }
    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> SignalResult<IdentityChange> {
        let changed = self
            .known
            .insert(address.clone(), *identity)
            .is_some_and(|old| old != *identity);
        Ok(IdentityChange::from_changed(changed))
    }
    // The fake trusts whatever the device presents: it tests the client, not itself.
    async fn is_trusted_identity(
        &self,
        _: &ProtocolAddress,
        _: &IdentityKey,
        _: Direction,
    ) -> SignalResult<bool> {
        Ok(true)
    }
    async fn get_identity(&self, address: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        Ok(self.known.get(address).copied())
    }
}

/// A fake sender never publishes one-time pre-keys, so the device's replies
/// are always plain `msg`s on the session we started; these stores stay empty.
struct NoPreKeys;

#[async_trait]
impl PreKeyStore for NoPreKeys {
    async fn get_pre_key(&self, _: PreKeyId) -> SignalResult<PreKeyRecord> {
        Err(SignalProtocolError::InvalidPreKeyId)
    }
    async fn save_pre_key(&mut self, _: PreKeyId, _: &PreKeyRecord) -> SignalResult<()> {
        Ok(())
    }
    async fn remove_pre_key(&mut self, _: PreKeyId) -> SignalResult<()> {
        Ok(())
    }
}

#[async_trait]
impl SignedPreKeyStore for NoPreKeys {
    async fn get_signed_pre_key(&self, _: SignedPreKeyId) -> SignalResult<SignedPreKeyRecord> {
        Err(SignalProtocolError::InvalidSignedPreKeyId)
    }
    async fn save_signed_pre_key(
        &mut self,
        _: SignedPreKeyId,
        _: &SignedPreKeyRecord,
    ) -> SignalResult<()> {
        Ok(())
    }
}
