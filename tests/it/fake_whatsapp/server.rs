//! The fake server: accepts websocket connections, runs the Noise handshake,
//! hands out QR refs to unpaired clients, logs paired ones in and answers the
//! IQs a client sends while starting up.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use whatsapp_rust::wacore::libsignal::protocol::{IdentityKeyPair, KeyPair, ProtocolAddress};
use whatsapp_rust::wacore::messages::MessageUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Jid, Node};
use whatsapp_rust::waproto::whatsapp as wa;

use super::noise::{self, ServerKeys};
use super::phone::Phone;
use super::signal::{DeviceKeys, FakeSender};
use super::wire::{SERVER, attr, be_u32, bytes, child_bytes, iq_result, now, random_id};

/// How many refs one `<pair-device>` carries (the real server sends six).
const REFS_PER_PAIR_DEVICE: usize = 6;

/// Something to push to the connected client.
pub(super) enum Outbound {
    Node(Node),
    Close,
}

/// The fake WhatsApp server. Dropping it stops accepting connections.
pub struct FakeWhatsApp {
    pub(super) inner: Arc<Inner>,
    url: String,
    accept_task: tokio::task::JoinHandle<()>,
}

pub(super) struct Inner {
    keys: ServerKeys,
    pub(super) state: Mutex<State>,
    /// Signal state of fake senders, keyed by their digits; async because
    /// encryption awaits the (in-memory) stores.
    crypto: tokio::sync::Mutex<Crypto>,
}

#[derive(Default)]
pub(super) struct State {
    /// Refs the current unpaired connection may show; older ones are dead.
    pub(super) live_refs: Vec<String>,
    refs_issued: usize,
    /// The connection currently attached, with its outbound queue.
    pub(super) conn: Option<(u64, mpsc::UnboundedSender<Outbound>)>,
    next_conn_id: u64,
    /// The device that registered on the current unpaired connection.
    pub(super) registration: Option<DeviceKeys>,
    /// Who the linked device belongs to once paired: (owner digits, device id).
    pub(super) paired: Option<(String, u16)>,
    /// The owner phone's account identity, stable per number.
    pub(super) phone_identities: HashMap<String, KeyPair>,
    /// Pair-success request id the phone waits to see confirmed.
    pub(super) pending_pair: Option<(String, oneshot::Sender<()>)>,
    /// The client announced its session (`<ib><unified_session/>`): it does
    /// so just after finishing its pair-success handling.
    pub(super) unified_session_seen: bool,
    /// A phone-code pairing the client started: (number, wrapped ephemeral, ref).
    pub(super) code_request: Option<(String, Vec<u8>, String)>,
    /// The client's answer to `primary_hello`: (wrapped key bundle, identity).
    pub(super) code_finish: Option<(Vec<u8>, Vec<u8>)>,
    logins: usize,
    logged_in: bool,
    acked: HashSet<String>,
    received: Vec<(String, String)>,
}

#[derive(Default)]
struct Crypto {
    /// The paired device's published keys.
    device: Option<DeviceKeys>,
    senders: HashMap<String, FakeSender>,
}

impl FakeWhatsApp {
    /// Binds 127.0.0.1 on a free port and starts serving.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake server");
        let port = listener.local_addr().expect("local addr").port();
        let inner = Arc::new(Inner {
            keys: ServerKeys::generate(),
            state: Mutex::new(State::default()),
            crypto: tokio::sync::Mutex::new(Crypto::default()),
        });
        let accept_inner = inner.clone();
        let accept_task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let inner = accept_inner.clone();
                tokio::spawn(async move {
                    if let Err(e) = inner.serve(tcp).await {
                        eprintln!("fake whatsapp: connection ended: {e:#}");
                    }
                });
            }
        });
        Self {
            inner,
            url: format!("ws://127.0.0.1:{port}/ws/chat"),
            accept_task,
        }
    }

    /// The websocket URL to give the client's transport.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The owner's phone (digits only), which can scan QR codes.
    pub fn phone(&self, number: &str) -> Phone {
        Phone::new(self.inner.clone(), number)
    }

    /// Waits until a paired client has finished logging in (offline queue ended).
    pub async fn wait_logged_in(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| s.logged_in).await
    }

    /// How many login sessions (connections of a paired client) happened.
    pub fn connections(&self) -> usize {
        self.inner.lock().logins
    }

    /// How many QR refs were handed out so far.
    pub fn qr_refs_issued(&self) -> usize {
        self.inner.lock().refs_issued
    }

    /// Retires the refs on screen and sends fresh ones, so the client shows a
    /// new QR at once (the client itself only rotates after 60 s, then 20 s).
    pub fn rotate_qr(&self) -> bool {
        let node = self.inner.issue_refs();
        self.inner.push(node)
    }

    /// Delivers a real Signal-encrypted text from the contact `from` (digits)
    /// to the paired device. The first message of a contact is a `pkmsg`.
    pub async fn send_text(&self, from: &str, message_id: &str, text: &str) -> Result<()> {
        let message = wa::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        };
        let identity = IdentityKeyPair::generate(&mut rand::rng());
        let node = self
            .inner
            .encrypt_from(from, 0, identity, message_id, &message)
            .await?;
        // A fresh delivery: wait_acked waits for this one's acknowledgement.
        self.inner.lock().acked.remove(message_id);
        if self.inner.push(node) {
            Ok(())
        } else {
            Err(anyhow!("no client connected"))
        }
    }

    /// Waits until the client acknowledged (ack or receipt) the latest delivery of the id.
    pub async fn wait_acked(&self, message_id: &str, timeout: Duration) -> bool {
        self.wait_for(timeout, |s| s.acked.contains(message_id))
            .await
    }

    /// Texts the client sent, decrypted by the fake contact: (to digits, text).
    pub fn received_texts(&self) -> Vec<(String, String)> {
        self.inner.lock().received.clone()
    }

    /// The phone removes the linked device: the server tells the client it
    /// was logged out and forgets the pairing.
    pub async fn logout_device(&self) {
        let stream_error = NodeBuilder::new("stream:error")
            .attr("code", "401")
            .children([NodeBuilder::new("conflict")
                .attr("type", "device_removed")
                .build()])
            .build();
        self.inner.push(stream_error);
        self.inner.push_outbound(Outbound::Close);
        let mut state = self.inner.lock();
        state.paired = None;
        state.logged_in = false;
    }

    async fn wait_for(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(&self.inner.lock()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FakeWhatsApp {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.inner.push_outbound(Outbound::Close);
    }
}

impl Inner {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a node for the attached client; false when none is attached.
    pub(super) fn push(&self, node: Node) -> bool {
        self.push_outbound(Outbound::Node(node))
    }

    pub(super) fn push_outbound(&self, out: Outbound) -> bool {
        match &self.lock().conn {
            Some((_, tx)) => tx.send(out).is_ok(),
            None => false,
        }
    }

    async fn serve(self: Arc<Self>, tcp: TcpStream) -> Result<()> {
        let (_request, ws) = tokio_websockets::ServerBuilder::new().accept(tcp).await?;
        let (mut reader, mut writer, payload) = noise::accept(ws, &self.keys).await?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let conn_id = {
            let mut state = self.lock();
            state.next_conn_id += 1;
            let id = state.next_conn_id;
            state.logged_in = false;
            // A newer connection replaces the old one, as on the real server.
            if let Some((_, old)) = state.conn.replace((id, tx)) {
                let _ = old.send(Outbound::Close);
            }
            id
        };

        let first = match payload.device_pairing_data.as_option() {
            Some(reg) => {
                let keys = registration_keys(reg)?;
                self.lock().registration = Some(keys);
                self.issue_refs()
            }
            None => self.login(&payload)?,
        };
        trace(conn_id, "->", &first);
        writer.send(&first).await?;

        let result = async {
            loop {
                tokio::select! {
                    incoming = reader.next_node() => match incoming {
                        None => return Ok(()),
                        Some(node) => {
                            let node = node?.to_owned_node();
                            trace(conn_id, "<-", &node);
                            for reply in self.handle(&node).await {
                                trace(conn_id, "->", &reply);
                                writer.send(&reply).await?;
                            }
                        }
                    },
                    out = rx.recv() => match out {
                        Some(Outbound::Node(node)) => {
                            trace(conn_id, "->", &node);
                            writer.send(&node).await?
                        }
                        Some(Outbound::Close) | None => {
                            writer.close().await;
                            return Ok(());
                        }
                    },
                }
            }
        }
        .await;

        let mut state = self.lock();
        if state.conn.as_ref().is_some_and(|(id, _)| *id == conn_id) {
            state.conn = None;
            state.logged_in = false;
        }
        result
    }

    /// A fresh `<pair-device>` IQ; its refs become the only live ones.
    fn issue_refs(&self) -> Node {
        let refs: Vec<String> = (0..REFS_PER_PAIR_DEVICE)
            .map(|_| format!("2@{}", random_id()))
            .collect();
        let mut state = self.lock();
        state.refs_issued += refs.len();
        state.live_refs = refs.clone();
        NodeBuilder::new("iq")
            .attr("from", SERVER)
            .attr("type", "set")
            .attr("id", random_id())
            .attr("xmlns", "md")
            .children([NodeBuilder::new("pair-device")
                .children(
                    refs.into_iter()
                        .map(|r| NodeBuilder::new("ref").bytes(r.into_bytes()).build()),
                )
                .build()])
            .build()
    }

    /// A paired client logging in: check it is the device we paired.
    fn login(&self, payload: &wa::ClientPayload) -> Result<Node> {
        let user = payload
            .username
            .context("login without username")?
            .to_string();
        let device = payload.device.unwrap_or(0) as u16;
        let mut state = self.lock();
        if state.paired.as_ref() != Some(&(user.clone(), device)) {
            // Unknown or removed device: the real server refuses with 401.
            return Ok(NodeBuilder::new("failure").attr("reason", "401").build());
        }
        state.logins += 1;
        Ok(NodeBuilder::new("success")
            .attr("t", now())
            .attr("lid", Jid::lid(lid_of(&user)))
            .attr("props", "1")
            .attr("abprops", "1")
            .attr("location", "fake")
            .build())
    }

    /// Answers one node from the client.
    async fn handle(&self, node: &Node) -> Vec<Node> {
        match node.tag.as_ref() {
            "iq" => self.handle_iq(node).await,
            "ack" => {
                if let Some(id) = attr(node, "id") {
                    self.lock().acked.insert(id);
                }
                vec![]
            }
            "receipt" => {
                let mut state = self.lock();
                state.acked.extend(attr(node, "id"));
                if let Some(list) = node.get_optional_child("list") {
                    for item in list.get_children_by_tag("item") {
                        state.acked.extend(attr(item, "id"));
                    }
                }
                vec![ack_for(node, "receipt")]
            }
            "message" => {
                self.read_reply(node).await;
                vec![ack_for(node, "message")]
            }
            "notification" => vec![ack_for(node, "notification")],
            "ib" => {
                if node.get_optional_child("unified_session").is_some() {
                    self.lock().unified_session_seen = true;
                }
                vec![]
            }
            _ => vec![],
        }
    }

    async fn handle_iq(&self, iq: &Node) -> Vec<Node> {
        let kind = attr(iq, "type").unwrap_or_default();
        if kind == "result" || kind == "error" {
            let mut state = self.lock();
            if state
                .pending_pair
                .as_ref()
                .is_some_and(|(id, _)| Some(id) == attr(iq, "id").as_ref())
                && let Some((_, done)) = state.pending_pair.take()
            {
                let _ = done.send(());
            }
            return vec![];
        }
        let xmlns = attr(iq, "xmlns").unwrap_or_default();
        let first_child = iq
            .children()
            .and_then(|c| c.first())
            .map(|c| c.tag.to_string());
        match (xmlns.as_str(), first_child.as_deref()) {
            ("encrypt", Some("registration")) => {
                self.store_uploaded_pre_keys(iq).await;
                vec![iq_result(iq).build()]
            }
            ("encrypt", Some("count")) => {
                let count = self
                    .crypto
                    .lock()
                    .await
                    .device
                    .as_ref()
                    .map_or(0, |d| d.one_time.len());
                vec![
                    iq_result(iq)
                        .children([NodeBuilder::new("count")
                            .attr("value", count.to_string())
                            .build()])
                        .build(),
                ]
            }
            ("passive", Some("active")) => {
                // Going active is when the real server flushes the offline queue.
                let mut out = vec![iq_result(iq).build()];
                match self.app_state_key_share().await {
                    Ok(share) => out.push(share),
                    Err(e) => eprintln!("fake whatsapp: no app-state key share: {e:#}"),
                }
                out.push(
                    NodeBuilder::new("ib")
                        .attr("from", SERVER)
                        .children([NodeBuilder::new("offline").attr("count", "0").build()])
                        .build(),
                );
                self.lock().logged_in = true;
                out
            }
            ("md", Some("link_code_companion_reg")) => self.link_code_stage(iq),
            ("w:sync:app:state", _) => vec![empty_collections(iq)],
            ("usync", _) => vec![device_lists(iq)],
            _ => vec![iq_result(iq).build()],
        }
    }

    /// The client's side of phone-code pairing: `companion_hello` opens it
    /// (we hand back a ref), `companion_finish` answers the phone's hello.
    fn link_code_stage(&self, iq: &Node) -> Vec<Node> {
        let Some(reg) = iq.get_optional_child("link_code_companion_reg") else {
            return vec![];
        };
        let mut state = self.lock();
        match attr(reg, "stage").as_deref() {
            Some("companion_hello") => {
                let number = user_of(&attr(reg, "jid").unwrap_or_default());
                let wrapped = child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")
                    .unwrap_or_default()
                    .to_vec();
                let pairing_ref = random_id();
                state.code_request = Some((number, wrapped, pairing_ref.clone()));
                vec![
                    iq_result(iq)
                        .children([NodeBuilder::new("link_code_companion_reg")
                            .children([NodeBuilder::new("link_code_pairing_ref")
                                .bytes(pairing_ref.into_bytes())
                                .build()])
                            .build()])
                        .build(),
                ]
            }
            Some("companion_finish") => {
                let bundle =
                    child_bytes(reg, "link_code_pairing_wrapped_key_bundle").unwrap_or_default();
                let identity = child_bytes(reg, "companion_identity_public").unwrap_or_default();
                state.code_finish = Some((bundle.to_vec(), identity.to_vec()));
                vec![iq_result(iq).build()]
            }
            _ => vec![iq_result(iq).build()],
        }
    }

    /// Keeps the one-time pre-keys the device uploaded, for later sessions.
    async fn store_uploaded_pre_keys(&self, iq: &Node) {
        let Some(identity) = child_bytes(iq, "identity").and_then(|b| b.try_into().ok()) else {
            return;
        };
        let Some(skey) = iq.get_optional_child("skey") else {
            return;
        };
        let one_time = iq
            .get_optional_child("list")
            .map(|list| {
                list.get_children_by_tag("key")
                    .filter_map(|k| {
                        Some((
                            be_u32(child_bytes(k, "id")?),
                            child_bytes(k, "value")?.try_into().ok()?,
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let keys = DeviceKeys {
            registration_id: child_bytes(iq, "registration")
                .map(be_u32)
                .unwrap_or_default(),
            identity,
            signed_pre_key: (
                child_bytes(skey, "id").map(be_u32).unwrap_or_default(),
                child_bytes(skey, "value")
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 32]),
                child_bytes(skey, "signature").unwrap_or_default().to_vec(),
            ),
            one_time,
        };
        self.crypto.lock().await.device = Some(keys);
    }

    /// Called by the phone once the client confirmed pairing.
    pub(super) async fn on_paired(&self, owner: &str, device: u16) {
        let registration = {
            let mut state = self.lock();
            state.paired = Some((owner.to_string(), device));
            state.registration.clone()
        };
        let mut crypto = self.crypto.lock().await;
        crypto.device = registration;
        // New device, new keys: old sessions are meaningless now.
        for sender in crypto.senders.values_mut() {
            sender.reset_sessions();
        }
    }

    /// Encrypts `message` from `from` (digits, device `from_device`) to the
    /// paired device and wraps it in a `<message>` stanza.
    async fn encrypt_from(
        &self,
        from: &str,
        from_device: u16,
        identity: IdentityKeyPair,
        id: &str,
        message: &wa::Message,
    ) -> Result<Node> {
        let (owner, device) = self.lock().paired.clone().context("no paired device")?;
        let mut crypto = self.crypto.lock().await;
        let Crypto {
            device: keys,
            senders,
        } = &mut *crypto;
        let keys = keys.as_mut().context("paired device published no keys")?;
        let sender = senders
            .entry(from.to_string())
            .or_insert_with(|| FakeSender::new(identity));
        let address = ProtocolAddress::new(&owner, u32::from(device).into());
        let (kind, body) = sender
            .encrypt(&address, keys, &MessageUtils::encode_and_pad(message))
            .await?;
        let from_jid = if from_device == 0 {
            Jid::pn(from)
        } else {
            Jid::pn_device(from, from_device)
        };
        Ok(NodeBuilder::new("message")
            .attr("from", from_jid)
            .attr("id", id)
            .attr("type", "text")
            .attr("t", now())
            .attr("notify", format!("Contact {from}"))
            .children([NodeBuilder::new("enc")
                .attr("v", "2")
                .attr("type", kind)
                .bytes(body)
                .build()])
            .build())
    }

    /// The owner's phone shares an app-state key, which the client waits up
    /// to 10 s for after a fresh pairing before syncing critical collections.
    async fn app_state_key_share(&self) -> Result<Node> {
        let (owner, identity) = {
            let state = self.lock();
            let (owner, _) = state.paired.clone().context("not paired")?;
            let kp = state
                .phone_identities
                .get(&owner)
                .context("no phone identity")?
                .clone();
            (owner, IdentityKeyPair::from(kp))
        };
        let key = wa::message::AppStateSyncKey {
            key_id: whatsapp_rust::buffa::MessageField::some(wa::message::AppStateSyncKeyId {
                key_id: Some(b"fakekey1".to_vec()),
            }),
            key_data: whatsapp_rust::buffa::MessageField::some(wa::message::AppStateSyncKeyData {
                key_data: Some(vec![7u8; 32]),
                fingerprint: whatsapp_rust::buffa::MessageField::some(
                    wa::message::AppStateSyncKeyFingerprint {
                        raw_id: Some(1),
                        current_index: Some(0),
                        device_indexes: vec![0],
                    },
                ),
                timestamp: Some(1),
            }),
        };
        let message = wa::Message {
            protocol_message: whatsapp_rust::buffa::MessageField::some(
                wa::message::ProtocolMessage {
                    r#type: Some(wa::message::protocol_message::Type::APP_STATE_SYNC_KEY_SHARE),
                    app_state_sync_key_share: whatsapp_rust::buffa::MessageField::some(
                        wa::message::AppStateSyncKeyShare { keys: vec![key] },
                    ),
                    ..Default::default()
                },
            ),
            ..Default::default()
        };
        self.encrypt_from(&owner, 0, identity, &random_id(), &message)
            .await
    }

    /// Decrypts a text the client sent to one of our fake contacts. A send
    /// fans out to every device involved, each copy in `<participants><to>`
    /// (or a single direct `<enc>`); we read the contact's own copy.
    async fn read_reply(&self, node: &Node) {
        let Some(to) = attr(node, "to") else { return };
        let Some((owner, device)) = self.lock().paired.clone() else {
            return;
        };
        let contact = user_of(&to);
        let copies: Vec<(String, &Node)> = match node.get_optional_child("participants") {
            Some(participants) => participants
                .get_children_by_tag("to")
                .filter_map(|t| Some((user_of(&attr(t, "jid")?), t.get_optional_child("enc")?)))
                .collect(),
            None => node
                .get_optional_child("enc")
                .map(|e| (contact.clone(), e))
                .into_iter()
                .collect(),
        };
        let Some((_, enc)) = copies.into_iter().find(|(user, _)| *user == contact) else {
            return;
        };
        let kind = attr(enc, "type").unwrap_or_default();
        let mut crypto = self.crypto.lock().await;
        let Some(sender) = crypto.senders.get_mut(&contact) else {
            return;
        };
        let address = ProtocolAddress::new(&owner, u32::from(device).into());
        let plain = match sender
            .decrypt(&address, &kind, bytes(enc).unwrap_or_default())
            .await
        {
            Ok(plain) => plain,
            Err(e) => return eprintln!("fake whatsapp: cannot read reply to {contact}: {e:#}"),
        };
        let message = match whatsapp_rust::wacore::messages::decode_plaintext(&plain, 2) {
            Ok(m) => m,
            Err(e) => return eprintln!("fake whatsapp: undecodable reply to {contact}: {e:#}"),
        };
        let text = message
            .conversation
            .clone()
            .or_else(|| {
                message
                    .extended_text_message
                    .as_option()
                    .and_then(|m| m.text.clone())
            })
            .unwrap_or_default();
        self.lock().received.push((contact, text));
    }
}

/// The user part of a JID string ("123:4@s.whatsapp.net" -> "123").
fn user_of(jid: &str) -> String {
    jid.split(['@', ':']).next().unwrap_or_default().to_string()
}

/// A usync answer: every asked-for user has just their phone (device 0).
/// The paired device is left out of its own account's list on purpose, so
/// the client needs no signed key-index list for it.
fn device_lists(iq: &Node) -> Node {
    let users: Vec<String> = iq
        .get_optional_child("usync")
        .and_then(|u| u.get_optional_child("list"))
        .map(|list| {
            list.get_children_by_tag("user")
                .filter_map(|u| attr(u, "jid"))
                .collect()
        })
        .unwrap_or_default();
    let user_nodes = users.into_iter().map(|jid| {
        NodeBuilder::new("user")
            .attr("jid", jid)
            .children([NodeBuilder::new("devices")
                .children([NodeBuilder::new("device-list")
                    .children([NodeBuilder::new("device").attr("id", "0").build()])
                    .build()])
                .build()])
            .build()
    });
    iq_result(iq)
        .children([NodeBuilder::new("usync")
            .children([NodeBuilder::new("list").children(user_nodes).build()])
            .build()])
        .build()
}

/// The device's keys from its registration payload (sent before pairing).
fn registration_keys(
    reg: &wa::client_payload::DevicePairingRegistrationData,
) -> Result<DeviceKeys> {
    let field = |v: &Option<Vec<u8>>, name: &str| {
        v.clone()
            .ok_or_else(|| anyhow!("registration without {name}"))
    };
    Ok(DeviceKeys {
        registration_id: be_u32(&field(&reg.e_regid, "regid")?),
        identity: field(&reg.e_ident, "identity")?
            .try_into()
            .map_err(|_| anyhow!("bad identity length"))?,
        signed_pre_key: (
            be_u32(&field(&reg.e_skey_id, "skey id")?),
            field(&reg.e_skey_val, "skey")?
                .try_into()
                .map_err(|_| anyhow!("bad signed pre-key length"))?,
            field(&reg.e_skey_sig, "skey sig")?,
        ),
        one_time: vec![],
    })
}

/// The account's LID user, derived from the number so it is stable.
pub(super) fn lid_of(number: &str) -> String {
    format!("9{number}")
}

fn ack_for(node: &Node, class: &str) -> Node {
    let mut ack = NodeBuilder::new("ack")
        .attr("id", attr(node, "id").unwrap_or_default())
        .attr("class", class)
        .attr(
            "from",
            attr(node, "to").unwrap_or_else(|| SERVER.to_string()),
        )
        .attr("t", now());
    if let Some(kind) = attr(node, "type") {
        ack = ack.attr("type", kind);
    }
    ack.build()
}

/// An app-state sync answer: every requested collection, with no patches.
fn empty_collections(iq: &Node) -> Node {
    let names: Vec<String> = iq
        .get_optional_child("sync")
        .map(|sync| {
            sync.get_children_by_tag("collection")
                .filter_map(|c| attr(c, "name"))
                .collect()
        })
        .unwrap_or_default();
    iq_result(iq)
        .children([NodeBuilder::new("sync")
            .children(names.into_iter().map(|name| {
                NodeBuilder::new("collection")
                    .attr("name", name)
                    .attr("version", "0")
                    .build()
            }))
            .build()])
        .build()
}

/// Prints each stanza when FAKE_WA_TRACE is set (debugging aid).
fn trace(conn: u64, dir: &str, node: &Node) {
    if std::env::var_os("FAKE_WA_TRACE").is_some() {
        let attrs: Vec<String> = node
            .attrs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str()))
            .collect();
        let children: Vec<String> = node
            .children()
            .unwrap_or_default()
            .iter()
            .map(|c| c.tag.to_string())
            .collect();
        eprintln!(
            "[fake-wa #{conn}] {dir} <{} {}> {:?}",
            node.tag,
            attrs.join(" "),
            children
        );
    }
}
