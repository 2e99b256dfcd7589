//! Server side of WhatsApp's Noise transport: the XX handshake a fresh client
//! uses, the IK handshake an already-paired client uses with the cached server
//! key, then length-prefixed AES-GCM frames carrying binary nodes.

use anyhow::{Context, Result, anyhow};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_websockets::{Message, WebSocketStream};
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::framing::{FrameDecoder, encode_frame};
use whatsapp_rust::wacore::handshake::NoiseHandshake;
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;
use whatsapp_rust::wacore::noise::NoiseCipher;
use whatsapp_rust::wacore_binary::consts::{NOISE_PATTERN_IK, NOISE_PATTERN_XX, WA_CONN_HEADER};
use whatsapp_rust::wacore_binary::marshal::marshal;
use whatsapp_rust::wacore_binary::{Node, OwnedNodeRef, util::unpack};
use whatsapp_rust::waproto::whatsapp as wa;

type Ws = WebSocketStream<TcpStream>;

/// The server's long-lived Noise identity and the certificate chain that
/// vouches for it (the client was built to skip the chain's root check).
pub struct ServerKeys {
    pub static_kp: KeyPair,
    pub cert_chain: Vec<u8>,
}

impl ServerKeys {
    pub fn generate() -> Self {
        let static_kp = KeyPair::generate(&mut rand::rng());
        let cert_chain = wacore_noise::test_util::build_cert_chain_bytes(&static_pub(&static_kp));
        Self {
            static_kp,
            cert_chain,
        }
    }
}

fn static_pub(kp: &KeyPair) -> [u8; 32] {
    kp.public_key
        .public_key_bytes()
        .try_into()
        .expect("X25519 public keys are 32 bytes")
}

/// Reading half of an established connection.
pub struct NoiseReader {
    stream: SplitStream<Ws>,
    decoder: FrameDecoder,
    cipher: NoiseCipher,
    counter: u32,
}

/// Writing half of an established connection.
pub struct NoiseWriter {
    sink: SplitSink<Ws, Message>,
    cipher: NoiseCipher,
    counter: u32,
}

/// Runs the responder side of XX or IK (chosen by the shape of the client's
/// hello) and returns the two halves plus the client's login/registration payload.
pub async fn accept(
    mut ws: Ws,
    keys: &ServerKeys,
) -> Result<(NoiseReader, NoiseWriter, wa::ClientPayload)> {
    let mut decoder = FrameDecoder::new();
    let hello_bytes = next_frame(&mut ws, &mut decoder, true).await?;
    let hello = wa::HandshakeMessage::decode_from_slice(&hello_bytes)?;
    let client_hello = hello
        .client_hello
        .into_option()
        .ok_or_else(|| anyhow!("first frame is not a client hello"))?;
    let client_eph: [u8; 32] = client_hello
        .ephemeral
        .ok_or_else(|| anyhow!("client hello without ephemeral"))?
        .try_into()
        .map_err(|_| anyhow!("bad ephemeral length"))?;
    let server_eph = KeyPair::generate(&mut rand::rng());
    let server_eph_pub = static_pub(&server_eph);
    let my_priv = keys.static_kp.private_key.serialize();

    let (noise, payload) = if let (Some(enc_static), Some(enc_payload)) =
        (client_hello.r#static, client_hello.payload)
    {
        // IK: the client already knows our static key and sends its own at once.
        let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER)?;
        noise.authenticate(&static_pub(&keys.static_kp));
        noise.authenticate(&client_eph);
        noise.mix_shared_secret(my_priv, &client_eph)?;
        let client_static: [u8; 32] = noise
            .decrypt(&enc_static)?
            .try_into()
            .map_err(|_| anyhow!("bad client static length"))?;
        noise.mix_shared_secret(my_priv, &client_static)?;
        let payload = noise.decrypt(&enc_payload)?;
        noise.authenticate(&server_eph_pub);
        noise.mix_shared_secret(server_eph.private_key.serialize(), &client_eph)?;
        noise.mix_shared_secret(server_eph.private_key.serialize(), &client_static)?;
        let enc_cert = noise.encrypt(&keys.cert_chain)?;
        // No `static` in the reply tells the client "IK accepted".
        send_server_hello(&mut ws, server_eph_pub, None, enc_cert).await?;
        (noise, payload)
    } else {
        let mut noise = NoiseHandshake::new(NOISE_PATTERN_XX, &WA_CONN_HEADER)?;
        noise.authenticate(&client_eph);
        noise.authenticate(&server_eph_pub);
        noise.mix_shared_secret(server_eph.private_key.serialize(), &client_eph)?;
        let enc_static = noise.encrypt(&static_pub(&keys.static_kp))?;
        noise.mix_shared_secret(my_priv, &client_eph)?;
        let enc_cert = noise.encrypt(&keys.cert_chain)?;
        send_server_hello(&mut ws, server_eph_pub, Some(enc_static), enc_cert).await?;

        let finish_bytes = next_frame(&mut ws, &mut decoder, false).await?;
        let finish = wa::HandshakeMessage::decode_from_slice(&finish_bytes)?
            .client_finish
            .into_option()
            .ok_or_else(|| anyhow!("expected client finish"))?;
        let client_static: [u8; 32] = noise
            .decrypt(&finish.r#static.context("finish without static")?)?
            .try_into()
            .map_err(|_| anyhow!("bad client static length"))?;
        noise.mix_shared_secret(server_eph.private_key.serialize(), &client_static)?;
        let payload = noise.decrypt(&finish.payload.context("finish without payload")?)?;
        (noise, payload)
    };

    let client_payload = wa::ClientPayload::decode_from_slice(&payload)?;
    // Same split as the client: its write key is our read key and vice versa.
    let (client_to_server, server_to_client) = noise.finish()?;
    let (sink, stream) = ws.split();
    Ok((
        NoiseReader {
            stream,
            decoder,
            cipher: client_to_server,
            counter: 0,
        },
        NoiseWriter {
            sink,
            cipher: server_to_client,
            counter: 0,
        },
        client_payload,
    ))
}

async fn send_server_hello(
    ws: &mut Ws,
    ephemeral: [u8; 32],
    enc_static: Option<Vec<u8>>,
    enc_cert: Vec<u8>,
) -> Result<()> {
    let hello = wa::HandshakeMessage {
        server_hello: whatsapp_rust::buffa::MessageField::some(
            wa::handshake_message::ServerHello {
                ephemeral: Some(ephemeral.to_vec()),
                r#static: enc_static,
                payload: Some(enc_cert),
                ..Default::default()
            },
        ),
        ..Default::default()
    };
    ws.send(Message::binary(encode_frame(&hello.encode_to_vec(), None)?))
        .await?;
    Ok(())
}

/// Next length-prefixed frame; the very first one is preceded by the 4-byte
/// connection header.
async fn next_frame(ws: &mut Ws, decoder: &mut FrameDecoder, first: bool) -> Result<Vec<u8>> {
    let mut strip_header = first;
    loop {
        if let Some(frame) = decoder.decode_frame() {
            return Ok(frame.to_vec());
        }
        let msg = ws.next().await.ok_or_else(|| anyhow!("closed"))??;
        let data: &[u8] = msg.as_payload();
        let data = if strip_header && data.starts_with(&WA_CONN_HEADER) {
            &data[WA_CONN_HEADER.len()..]
        } else {
            data
        };
        strip_header = false;
        decoder.feed(data);
    }
}

impl NoiseReader {
    /// The next node from the client, `None` once the socket is closed.
    /// Cancel-safe: the only await is the websocket read.
    pub async fn next_node(&mut self) -> Option<Result<OwnedNodeRef>> {
        loop {
            if let Some(frame) = self.decoder.decode_frame() {
                return Some(self.open(frame.to_vec()));
            }
            match self.stream.next().await? {
                Ok(msg) if msg.is_close() => return None,
                Ok(msg) => self.decoder.feed(msg.as_payload()),
                Err(_) => return None,
            }
        }
    }

    fn open(&mut self, mut frame: Vec<u8>) -> Result<OwnedNodeRef> {
        self.cipher
            .decrypt_in_place_with_counter(self.counter, &mut frame)
            .map_err(|e| anyhow!("decrypt: {e}"))?;
        self.counter += 1;
        let plain = unpack(&frame)?.into_owned();
        Ok(OwnedNodeRef::new(plain)?)
    }
}

impl NoiseWriter {
    /// Encrypts and sends one node.
    pub async fn send(&mut self, node: &Node) -> Result<()> {
        let sealed = self
            .cipher
            .encrypt_with_counter(self.counter, &marshal(node)?)
            .map_err(|e| anyhow!("encrypt: {e}"))?;
        self.counter += 1;
        self.sink
            .send(Message::binary(encode_frame(&sealed, None)?))
            .await?;
        Ok(())
    }

    /// Closes the websocket (the client treats it as a dropped connection).
    pub async fn close(&mut self) {
        let _ = self.sink.close().await;
    }
}
