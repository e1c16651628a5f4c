//! One decoded TCP segment: what `decode` hands to `reassembly`.

use super::Timestamp;
use std::net::SocketAddr;

/// TCP header flags (RFC 9293 section 3.1), as the low byte of the flags field.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;

    pub const fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub const fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub const fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub const fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub const fn rst(self) -> bool {
        self.has(Self::RST)
    }
}

/// A TCP segment sliced out of a frame. `payload` borrows the frame buffer (or a reassembled
/// IP datagram); nothing is copied on the hot path.
#[derive(Clone, Debug)]
pub struct Segment<'a> {
    pub ts: Timestamp,
    /// 1-based frame number over all inputs, in the order read (Wireshark's `frame.number`).
    pub frame: u64,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Window field as sent (unscaled); zero means a zero window whatever the scale.
    pub window: u16,
    /// TCP timestamp option (TSval, TSecr) when present; it survives NAT, which later joins use.
    pub tsopt: Option<(u32, u32)>,
    /// The payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Length of the IP packet as its header announced it (IPv4 total length, IPv6 40 +
    /// payload length): what the sender put on the wire, whatever the capture kept.
    pub ip_len: u32,
    /// Payload bytes the IP header announced but the capture did not keep (snaplen).
    /// They follow `payload` in sequence space and count as missing, never as data.
    pub missing: u32,
    /// Where the frame was captured: interface and, for `-i any` captures, kernel ifindex and
    /// packet direction.
    pub link: LinkMeta,
}

/// Capture-point facts about a frame that later layers keep.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkMeta {
    /// Capture interface: global index over all inputs (see `capture::InterfaceInfo`).
    pub interface: u32,
    /// Kernel interface index from a LINUX_SLL2 header (`tcpdump -i any`).
    pub if_index: Option<u32>,
    /// Linux packet type from LINUX_SLL/SLL2 headers: 0 to us, 1 broadcast, 2 multicast,
    /// 3 to another host, 4 sent by us (`PACKET_OUTGOING`).
    pub pkt_type: Option<u16>,
}

impl Segment<'_> {
    /// Sequence space this segment occupies: payload, cut bytes, SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        let data = (self.payload.len() as u32).wrapping_add(self.missing);
        data.wrapping_add(self.flags.syn() as u32)
            .wrapping_add(self.flags.fin() as u32)
    }
}

/// Direction within a connection, relative to the side that opened it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server (the side that sent the SYN, or the heuristic's client).
    ToServer = 0,
    /// Server to client.
    ToClient = 1,
}

impl Dir {
    pub const fn index(self) -> usize {
        self as usize
    }
    pub const fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}
