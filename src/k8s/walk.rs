//! The common answer of every NAT dataplane parser (iptables, nftables, IPVS): where a packet
//! with given facts goes, as a list of outcomes, each with its probability, the chains or rules
//! it passed, and its verdict.
//!
//! Why one shape for all modes: the join (and `hopscope path`) should not care whether
//! kube-proxy ran in iptables, nftables or IPVS mode; it asks "this packet, which endpoints,
//! with what probability and by which rules", and shows the evidence in the mode's own names
//! (`KUBE-SVC-…`, `service-…/tcp/http`, `TCP 10.96.0.10:53 rr`).
//!
//! Walks are pure: the caller supplies every fact the rules test (addresses, ports, whether an
//! address is local to the node, the socket owner on OUTPUT), so the result is deterministic.

use std::net::{IpAddr, SocketAddr};

/// L4 protocol as netfilter names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

/// Where the packet enters the NAT table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Arriving from an interface (a pod's veth, the uplink): nat PREROUTING.
    Prerouting,
    /// Sent by a local process: nat OUTPUT (then `uid`/`gid` may matter).
    Output,
}

/// Everything a rule may test about the first packet of a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub hook: Hook,
    pub proto: Proto,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    /// Interface the packet came in on (PREROUTING), when known.
    pub in_iface: Option<String>,
    /// Interface it leaves by (OUTPUT), when known; `lo` for loopback destinations.
    pub out_iface: Option<String>,
    /// Owner of the sending socket (OUTPUT only).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `-m addrtype --src-type LOCAL`: the source is an address of this netns.
    pub src_local: bool,
    /// `-m addrtype --dst-type LOCAL`: the destination is an address of this netns.
    pub dst_local: bool,
    /// Affinity lists (`-m recent --name N` / nft `affinity-…` sets) that hold `src` now.
    pub affinity_hits: Vec<String>,
    /// Packet mark on entry (usually 0).
    pub mark: u32,
}

impl Facts {
    /// A TCP connection arriving from an interface, nothing else known.
    pub fn tcp_in(src: SocketAddr, dst: SocketAddr) -> Facts {
        Facts {
            hook: Hook::Prerouting,
            proto: Proto::Tcp,
            src: src.ip(),
            sport: src.port(),
            dst: dst.ip(),
            dport: dst.port(),
            in_iface: None,
            out_iface: None,
            uid: None,
            gid: None,
            src_local: false,
            dst_local: false,
            affinity_hits: Vec::new(),
            mark: 0,
        }
    }
}

/// One rule (or map element, or virtual server) a walk passed.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The chain, map or virtual service, in the dataplane's own spelling
    /// (`KUBE-SVC-53SQRANQXVHTJ6HK`, `service-NKB2MNRK-default/reviews/tcp/http`).
    pub chain: String,
    /// Where the rule is in the input: 1-based line number (text) or element index (JSON).
    pub line: usize,
    /// The rule as the input wrote it, for display.
    pub rule: String,
}

/// How a walk ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Destination rewritten (kube-proxy endpoint). `port` is None when only the address changes.
    Dnat {
        addr: IpAddr,
        port: Option<u16>,
    },
    /// Redirected to a local port (Istio's 15001 / 15006, or 15053 for DNS).
    Redirect {
        port: u16,
    },
    /// Diverted to a local socket without NAT (Istio TPROXY inbound, ambient).
    Tproxy {
        addr: Option<IpAddr>,
        port: u16,
    },
    /// The table let it through unchanged.
    Accept,
    Drop,
    Reject,
}

impl Verdict {
    /// The order outcomes of equal probability are listed in (DNAT by address and port, then
    /// REDIRECT, TPROXY, ACCEPT, DROP, REJECT), so every dataplane's walk sorts alike.
    pub fn sort_key(&self) -> (u8, Option<IpAddr>, u16) {
        match self {
            Verdict::Dnat { addr, port } => (0, Some(*addr), port.unwrap_or(0)),
            Verdict::Redirect { port } => (1, None, *port),
            Verdict::Tproxy { addr, port } => (2, *addr, *port),
            Verdict::Accept => (3, None, 0),
            Verdict::Drop => (4, None, 0),
            Verdict::Reject => (5, None, 0),
        }
    }
}

/// Session affinity that would pin this client to the outcome's endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affinity {
    /// The recent list / affinity set name (`KUBE-SEP-…`, `affinity-…`).
    pub name: String,
    pub timeout_secs: u32,
}

/// One possible end of a walk.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Probability of this outcome given the facts (1.0 when the rules are deterministic).
    pub probability: f64,
    /// Rules passed, in order, including the one that decided.
    pub steps: Vec<Step>,
    pub verdict: Verdict,
    /// The masquerade mark (kube-proxy 0x4000) was set: the source will be SNATed on the way out.
    pub masquerade: bool,
    /// Present when the outcome's endpoint is sticky for this client.
    pub affinity: Option<Affinity>,
}
