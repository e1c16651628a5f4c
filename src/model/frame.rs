//! A captured frame as the capture layer yields it, before any decoding.

use super::Timestamp;

/// One record of a capture file (or of a live capture). `data` borrows the reader's buffer.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    pub ts: Timestamp,
    /// LINKTYPE_* value (https://www.tcpdump.org/linktypes.html) of the interface.
    pub link_type: u32,
    /// Global interface index over all inputs.
    pub interface: u32,
    /// The bytes captured (`caplen` of them).
    pub data: &'a [u8],
    /// Length of the packet on the wire; larger than `data.len()` when snaplen cut it.
    pub orig_len: u32,
}
