//! A TCP connection as reassembly saw it, with the statistics a report needs.

use super::{Dir, Timestamp};
use std::net::SocketAddr;

/// Connection number, in the order connections were first seen (1-based).
pub type ConnId = u64;

/// How the client and server roles were decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// From the SYN / SYN-ACK handshake.
    Handshake,
    /// The capture started mid-connection: decided from ports and payload (see reassembly).
    Heuristic,
}

/// How the connection ended, as far as the capture tells.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// FIN seen in both directions.
    Fin,
    /// A RST was seen.
    Rst,
    /// No packet for longer than the idle timeout (in capture time).
    Idle,
    /// A new SYN reused the 4-tuple.
    Reused,
    /// Still open when the capture ended (or one FIN only).
    CaptureEnd,
    /// Dropped to keep memory bounded (flow table full).
    Evicted,
}

impl EndReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::Idle => "idle",
            EndReason::Reused => "reused",
            EndReason::CaptureEnd => "open",
            EndReason::Evicted => "evicted",
        }
    }
}

/// Per-direction counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    pub packets: u64,
    /// Bytes on the wire (IP length) in this direction.
    pub bytes: u64,
    /// Payload bytes delivered in order to the application layer.
    pub payload: u64,
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub zero_windows: u64,
    /// Sequence space the capture never saw (lost, or cut by snaplen).
    pub gap_bytes: u64,
    pub fin: Option<Timestamp>,
}

/// What identifies a connection's SYN across NAT (domain.md 3.7: sequence numbers and
/// timestamps survive kube-proxy's DNAT and MASQUERADE; a proxy opens a new connection).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SynPrint {
    pub isn: u32,
    pub tsval: Option<u32>,
}

/// Connection-level statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    pub first: Timestamp,
    pub last: Timestamp,
    pub syn: Option<Timestamp>,
    pub syn_ack: Option<Timestamp>,
    /// Client's ACK that completed the handshake.
    pub ack: Option<Timestamp>,
    pub first_data: Option<Timestamp>,
    pub rst: Option<Timestamp>,
    /// The client's SYN: initial sequence number and TCP timestamp value. NAT rewrites
    /// neither, so they tie the views of one connection on both sides of a NAT together.
    pub syn_print: Option<SynPrint>,
    /// [to server, to client].
    pub dir: [DirStats; 2],
}

impl ConnStats {
    /// Handshake round trip as seen at the capture point: SYN to the ACK of the SYN-ACK.
    pub fn handshake_rtt(&self) -> Option<i64> {
        Some(self.ack?.since(self.syn?))
    }
}

/// What the application layer found on the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AppInfo {
    #[default]
    Unknown,
    Http {
        exchanges: u32,
    },
    /// TLS: SNI and ALPN from the ClientHello (Istio mTLS legs name the service in the SNI),
    /// and when each side sent application data (what ties an encrypted leg to a request).
    Tls {
        sni: Option<String>,
        alpn: Vec<String>,
        bursts: Bursts,
    },
    /// HTTP that switched protocols (101 Upgrade or CONNECT): parsing stopped there.
    Upgraded {
        exchanges: u32,
    },
}

/// At most this many bursts are kept per connection (16 KiB of [`Burst`]s); later ones are
/// only counted in [`Bursts::dropped`]. 512 bursts are 256 request/response turns on one
/// pooled connection, more than a sidecar's idle timeout usually lets one connection carry in
/// a capture of minutes.
pub const MAX_BURSTS: usize = 512;

/// One turn of a TLS conversation: application-data records sent by one side with no
/// application data from the other side in between. On a request/response protocol inside
/// the TLS (HTTP/1.1, Istio's mTLS legs) a client burst is a request and the server burst
/// after it its response; a pooled connection carries one pair per request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Burst {
    pub dir: Dir,
    /// Capture time of the segment that delivered the burst's first byte, and its last.
    pub first: Timestamp,
    pub last: Timestamp,
    /// Position of its first byte in the sender's stream (bytes since the first, gaps
    /// included): TCP sequence space, so the same at every capture point of the connection.
    pub offset: u64,
    /// Bytes of application-data records (headers included) in the burst.
    pub bytes: u64,
}

/// The bursts of a TLS connection in order, alternating directions; the first
/// [`MAX_BURSTS`] are kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bursts {
    pub list: Vec<Burst>,
    /// Bursts after the first [`MAX_BURSTS`], not kept: their times are unknown.
    pub dropped: u64,
}

impl Bursts {
    /// Indexes and bursts sent by the client.
    pub fn client(&self) -> impl Iterator<Item = (usize, &Burst)> + '_ {
        self.list
            .iter()
            .enumerate()
            .filter(|(_, b)| b.dir == Dir::ToServer)
    }

    /// The first burst after `i` sent by the other side (for a client burst: its reply).
    pub fn reply_to(&self, i: usize) -> Option<&Burst> {
        let dir = self.list.get(i)?.dir;
        self.list.get(i + 1..)?.iter().find(|b| b.dir != dir)
    }
}

/// A finished connection summary, emitted when the connection ends or the capture does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub roles: RoleSource,
    pub stats: ConnStats,
    pub end: EndReason,
    pub app: AppInfo,
    /// Capture interface of the first packet, when known.
    pub interface: Option<u32>,
    /// Where the client meant to connect when the capture saw its replies come from another
    /// address than the one its packets went to (a REDIRECT or DNAT inside the capture point:
    /// app → 127.0.0.1:15001 answered as the ClusterIP). What SO_ORIGINAL_DST would return.
    pub original_dst: Option<SocketAddr>,
}
