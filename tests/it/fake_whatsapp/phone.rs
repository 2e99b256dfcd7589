//! The owner's phone: scans the client's QR code and links the device the way
//! the primary does, with an HMAC'd, account-signed device identity.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::crypto::hkdf_sha256_into;
use whatsapp_rust::wacore::libsignal::crypto::aes_256_gcm_decrypt;
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PublicKey};
use whatsapp_rust::wacore::pair_code::PairCodeUtils;
use whatsapp_rust::wacore_binary::Jid;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::waproto::whatsapp as wa;

use super::server::{Inner, lid_of};
use super::wire::{SERVER, random_id};

/// Prefix WhatsApp puts before what the account key signs (ADV).
const ADV_ACCOUNT_SIGNATURE_PREFIX: [u8; 2] = [6, 0];

/// The owner's phone for one number.
pub struct Phone {
    inner: Arc<Inner>,
    number: String,
}

impl Phone {
    pub(super) fn new(inner: Arc<Inner>, number: &str) -> Self {
        Self {
            inner,
            number: number.to_string(),
        }
    }

    /// Scans a QR payload shown by the client and links that device: sends
    /// `<pair-success>`, waits for the client to confirm it, then restarts
    /// the stream (515) so the client logs in as the new device.
    /// Fails if the payload's ref is not one the server currently has live.
    pub async fn scan(&self, qr_payload: &str) -> Result<()> {
        let fields: Vec<&str> = qr_payload.split(',').collect();
        let [pairing_ref, _noise, identity_b64, adv_b64, ..] = fields[..] else {
            bail!("not a WhatsApp QR payload");
        };
        let companion_identity = BASE64_STANDARD.decode(identity_b64)?;
        let adv_secret = BASE64_STANDARD.decode(adv_b64)?;

        {
            let state = self.inner.lock();
            if !state.live_refs.iter().any(|r| r == pairing_ref) {
                bail!("QR ref {pairing_ref} is unknown or expired");
            }
        }
        self.link(&companion_identity, &adv_secret).await
    }

    /// Types the pairing code the client showed (whatsapp-rust `pair_code`):
    /// answers the client's hello, checks its key bundle decrypts under the
    /// code, then links the device like `scan` does.
    pub async fn enter_code(&self, code: &str) -> Result<()> {
        let code = code.replace('-', "");
        let (number, wrapped_companion, pairing_ref) = self
            .inner
            .lock()
            .code_request
            .clone()
            .context("no pairing code was requested")?;
        if number != self.number {
            bail!("the code was requested for {number}, not {}", self.number);
        }
        let primary_eph = KeyPair::generate(&mut rand::rng());
        let primary_eph_pub: [u8; 32] = primary_eph.public_key.public_key_bytes().try_into()?;
        // Both use PBKDF2 with 2^17 rounds (seconds in a debug build): keep
        // them off the async workers the client also runs on.
        let pbkdf_code = code.clone();
        let (companion_eph, wrapped_primary) = tokio::task::spawn_blocking(move || {
            let companion =
                PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped_companion, &pbkdf_code);
            (
                companion,
                PairCodeUtils::encrypt_ephemeral_pub(&primary_eph_pub, &pbkdf_code),
            )
        })
        .await?;
        let companion_eph = companion_eph?;
        let account = self.account();
        self.inner.lock().code_finish = None;
        let hello = NodeBuilder::new("notification")
            .attr("type", "link_code_companion_reg")
            .attr("from", SERVER)
            .attr("id", random_id())
            .children([NodeBuilder::new("link_code_companion_reg")
                .attr("stage", "primary_hello")
                .children([
                    NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                        .bytes(wrapped_primary.to_vec())
                        .build(),
                    NodeBuilder::new("primary_identity_pub")
                        .bytes(account.public_key.public_key_bytes().to_vec())
                        .build(),
                    NodeBuilder::new("link_code_pairing_ref")
                        .bytes(pairing_ref.into_bytes())
                        .build(),
                ])
                .build()])
            .build();
        if !self.inner.push(hello) {
            bail!("the client that asked for the code is not connected");
        }

        // The client derives keys with PBKDF2 (slow in debug builds): be patient.
        let mut finish = None;
        for _ in 0..1500 {
            finish = self.inner.lock().code_finish.take();
            if finish.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (wrapped_bundle, companion_identity) =
            finish.context("client never finished the code pairing")?;
        if wrapped_bundle.len() < 44 {
            bail!("key bundle too short");
        }
        let companion_eph = PublicKey::from_djb_public_key_bytes(&companion_eph)?;
        let eph_shared = primary_eph
            .private_key
            .calculate_agreement(&companion_eph)?;
        let mut bundle_key = [0u8; 32];
        hkdf_sha256_into(
            &eph_shared,
            Some(&wrapped_bundle[..32]),
            b"link_code_pairing_key_bundle_encryption_key",
            &mut bundle_key,
        )?;
        let iv: [u8; 12] = wrapped_bundle[32..44].try_into()?;
        let mut bundle = Vec::new();
        // A wrong code gives the client a wrong key, so this fails to open.
        aes_256_gcm_decrypt(&bundle_key, &iv, b"", &wrapped_bundle[44..], &mut bundle)
            .map_err(|_| anyhow!("wrong pairing code"))?;
        if bundle.len() != 96 || bundle[..32] != companion_identity[..] {
            bail!("malformed key bundle");
        }
        let companion_id_key = PublicKey::from_djb_public_key_bytes(&companion_identity)?;
        let identity_shared = account.private_key.calculate_agreement(&companion_id_key)?;
        let mut adv_secret = [0u8; 32];
        hkdf_sha256_into(
            &[&eph_shared[..], &identity_shared[..], &bundle[64..]].concat(),
            None,
            b"adv_secret",
            &mut adv_secret,
        )?;
        self.inner.lock().code_request = None;
        self.link(&companion_identity, &adv_secret).await
    }

    /// The owner's account identity, created on first use and kept.
    fn account(&self) -> KeyPair {
        self.inner
            .lock()
            .phone_identities
            .entry(self.number.clone())
            .or_insert_with(|| KeyPair::generate(&mut rand::rng()))
            .clone()
    }

    /// Sends `<pair-success>` for the device, waits for its confirmation and
    /// restarts the stream so it logs in as the new device.
    async fn link(&self, companion_identity: &[u8], adv_secret: &[u8]) -> Result<()> {
        let account = self.account();
        let device = {
            let state = self.inner.lock();
            if state.conn.is_none() {
                bail!("the client to link is not connected");
            }
            // A re-link gets the next device number, like a phone does.
            state.paired.as_ref().map_or(1, |(_, d)| d + 1)
        };

        let identity = signed_device_identity(&account, companion_identity, adv_secret, device)?;
        let request_id = random_id();
        let pair_success = NodeBuilder::new("iq")
            .attr("from", SERVER)
            .attr("type", "set")
            .attr("id", request_id.clone())
            .attr("xmlns", "md")
            .children([NodeBuilder::new("pair-success")
                .children([
                    NodeBuilder::new("device-identity")
                        .attr("key-index", u32::from(device).to_string())
                        .bytes(identity)
                        .build(),
                    NodeBuilder::new("device")
                        .attr("jid", Jid::pn_device(self.number.clone(), device))
                        .attr("lid", Jid::lid_device(lid_of(&self.number), device))
                        .build(),
                    NodeBuilder::new("platform").attr("name", "android").build(),
                ])
                .build()])
            .build();

        let (confirmed_tx, confirmed_rx) = oneshot::channel();
        {
            let mut state = self.inner.lock();
            state.pending_pair = Some((request_id, confirmed_tx));
            state.unified_session_seen = false;
        }
        if !self.inner.push(pair_success) {
            bail!("client disconnected before pairing");
        }
        // Restarting the stream before the client stored the pairing would
        // make it reconnect unpaired (FINDINGS), so wait for its answer.
        tokio::time::timeout(Duration::from_secs(10), confirmed_rx)
            .await
            .context("client did not confirm pair-success")?
            .map_err(|_| anyhow!("pairing abandoned"))?;

        // Its answer goes out before it marks the 515 as expected; a restart
        // that lands in between is taken as a drop and costs an extra login.
        // It announces its session right after, so wait for that (bounded).
        for _ in 0..100 {
            if self.inner.lock().unified_session_seen {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;

        self.inner.on_paired(&self.number, device).await;
        self.inner.lock().live_refs.clear();
        // The client closes the socket itself on 515; closing it from here too
        // races its reconnect and can cost an extra login.
        self.inner
            .push(NodeBuilder::new("stream:error").attr("code", "515").build());
        Ok(())
    }
}

/// The `<device-identity>` a primary sends: the new device's identity details,
/// signed by the account key and HMAC'd with the QR's secret.
fn signed_device_identity(
    account: &KeyPair,
    companion_identity: &[u8],
    adv_secret: &[u8],
    device: u16,
) -> Result<Vec<u8>> {
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(rand::random::<u32>()),
        timestamp: Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
        ),
        key_index: Some(u32::from(device)),
        ..Default::default()
    }
    .encode_to_vec();
    let signed_message = [
        &ADV_ACCOUNT_SIGNATURE_PREFIX[..],
        &details,
        companion_identity,
    ]
    .concat();
    let account_signature = account
        .private_key
        .calculate_signature(&signed_message, &mut rand::rng())?;
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(account.public_key.public_key_bytes().to_vec()),
        account_signature: Some(account_signature.to_vec()),
        ..Default::default()
    }
    .encode_to_vec();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(adv_secret)?;
    mac.update(&signed);
    Ok(wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(mac.finalize().into_bytes().to_vec()),
        ..Default::default()
    }
    .encode_to_vec())
}
