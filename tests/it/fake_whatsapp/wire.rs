//! Small helpers for reading and building binary nodes.

use whatsapp_rust::wacore_binary::Node;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::node::NodeContent;

/// The server's own address, as the client expects it in `from`.
pub const SERVER: &str = "s.whatsapp.net";

/// An attribute as a string.
pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

/// A node's binary content.
pub fn bytes(node: &Node) -> Option<&[u8]> {
    match &node.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// A child's binary content.
pub fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    node.get_optional_child(tag).and_then(bytes)
}

/// Big-endian integer from 1..=4 bytes (ids on the wire are 3 bytes).
pub fn be_u32(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, x| (acc << 8) | u32::from(*x))
}

/// The empty success answer to an IQ.
pub fn iq_result(request: &Node) -> NodeBuilder {
    NodeBuilder::new("iq")
        .attr(
            "from",
            attr(request, "to").unwrap_or_else(|| SERVER.to_string()),
        )
        .attr("type", "result")
        .attr("id", attr(request, "id").unwrap_or_default())
}

/// Seconds since the epoch, as WhatsApp stamps stanzas.
pub fn now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string()
}

/// A short random hex id.
pub fn random_id() -> String {
    let bytes: [u8; 8] = rand::random();
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
