//! conntrack tables and event streams: the kernel's per-connection NAT record, read from
//! `conntrack -L` (plain and `-o extended`), `/proc/net/nf_conntrack`, and `conntrack -E` event
//! lines (`[NEW]`, `[UPDATE]`, `[DESTROY]`, optionally with the `-o timestamp` prefix
//! `[1700000000.123456]`). Each line gives the original and the reply tuple; their difference
//! is the NAT (domain section 6): a DNAT when `orig.dst:dport != reply.src:sport`, a SNAT or
//! MASQUERADE when `orig.src:sport != reply.dst:dport`.
//!
//! Grammar (conntrack-tools src/conntrack.c and libnetfilter_conntrack's `snprintf_default`;
//! domain 8.3): `[l3name l3num] l4name l4num [timeout] [STATE] ORIG [UNREPLIED] REPLY [ASSURED]
//! [mark=N] [secctx=…] [zone=N] [labels=…] use=N`; a tuple is `src= dst= sport= dport=`, or
//! `src= dst= type= code= id=` for ICMP. The first `src=` opens the original tuple and the
//! second the reply. Unknown `key=value` tokens (`packets=`, `bytes=`, `delta-time=`) and flags
//! are kept, not refused. The `conntrack v1.4.7 (conntrack-tools): N flow entries have been
//! shown.` trailer of a stderr-merged dump and blank lines are skipped.
//!
//! What it does not do: read the binary netlink form, or say in which netns the table was taken
//! (node netns for kube-proxy, pod netns for Istio REDIRECT): the caller knows where it ran.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use crate::k8s::walk::Proto;

#[cfg(test)]
mod tests;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: token {token:?}: expected {expected}")]
pub struct ConntrackError {
    pub line: usize,
    pub token: String,
    pub expected: &'static str,
}

/// The `conntrack -E` event kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    New,
    Update,
    Destroy,
}

/// ICMP identity of a tuple (instead of ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmp {
    pub kind: u8,
    pub code: u8,
    pub id: u16,
}

/// One direction of a connection. For ICMP `sport` and `dport` are 0 and `icmp` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub icmp: Option<Icmp>,
}

impl Tuple {
    pub fn source(&self) -> SocketAddr {
        SocketAddr::new(self.src, self.sport)
    }
    pub fn destination(&self) -> SocketAddr {
        SocketAddr::new(self.dst, self.dport)
    }
}

/// The bracketed status flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub unreplied: bool,
    pub assured: bool,
    pub offload: bool,
    pub hw_offload: bool,
    /// Any other `[FLAG]`, without brackets.
    pub other: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub event: Option<Event>,
    /// `-o timestamp` prefix: (seconds, microseconds) since the epoch.
    pub time: Option<(u64, u32)>,
    /// The l4 protocol name as printed (`tcp`, `udp`, `icmp`, `sctp`, `unknown`…).
    pub proto: String,
    pub proto_num: u8,
    /// Seconds left; absent on `[DESTROY]` events.
    pub timeout: Option<u32>,
    /// TCP/SCTP state (`ESTABLISHED`, `TIME_WAIT`…); absent for UDP and ICMP.
    pub state: Option<String>,
    pub orig: Tuple,
    pub reply: Tuple,
    pub flags: Flags,
    pub mark: Option<u32>,
    pub zone: Option<u16>,
    pub use_count: Option<u32>,
    pub secctx: Option<String>,
    pub labels: Option<String>,
    /// Other `key=value` tokens, in order.
    pub extra: Vec<(String, String)>,
}

impl Entry {
    /// The post-DNAT destination, when the connection was DNATed (kube-proxy: the endpoint
    /// pod; Istio REDIRECT: `127.0.0.1:15001` or `PODIP:15006`).
    pub fn dnat(&self) -> Option<SocketAddr> {
        let to = self.reply.source();
        (self.orig.destination() != to).then_some(to)
    }

    /// What the far end sees as the source, when the connection was SNATed or MASQUERADEd.
    pub fn snat(&self) -> Option<SocketAddr> {
        let to = self.reply.destination();
        (self.orig.source() != to).then_some(to)
    }

    pub fn l4(&self) -> Option<Proto> {
        match self.proto_num {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            132 => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// Parse a conntrack listing or event stream (any of the formats in the module doc).
pub fn parse(text: &str) -> Result<Vec<Entry>, ConntrackError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("conntrack v") {
            continue;
        }
        out.push(parse_line(t, line_no)?);
    }
    Ok(out)
}

fn err(line: usize, token: &str, expected: &'static str) -> ConntrackError {
    ConntrackError {
        line,
        token: token.chars().take(80).collect(),
        expected,
    }
}

fn timestamp(inner: &str) -> Option<(u64, u32)> {
    let (s, us) = inner.split_once('.').unwrap_or((inner, "0"));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((s.parse().ok()?, us.parse().ok()?))
}

#[derive(Default)]
struct TupleParts {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    kind: Option<u8>,
    code: Option<u8>,
    id: Option<u16>,
}

impl TupleParts {
    fn finish(self, line: usize, what: &'static str) -> Result<Tuple, ConntrackError> {
        let (Some(src), Some(dst)) = (self.src, self.dst) else {
            return Err(err(line, what, "src= and dst= in both tuples"));
        };
        let icmp = match (self.kind, self.code, self.id) {
            (Some(kind), code, id) => Some(Icmp {
                kind,
                code: code.unwrap_or(0),
                id: id.unwrap_or(0),
            }),
            _ => None,
        };
        Ok(Tuple {
            src,
            dst,
            sport: self.sport.unwrap_or(0),
            dport: self.dport.unwrap_or(0),
            icmp,
        })
    }
}

fn number<T: std::str::FromStr>(
    v: &str,
    line: usize,
    tok: &str,
    what: &'static str,
) -> Result<T, ConntrackError> {
    v.parse().map_err(|_| err(line, tok, what))
}

fn parse_line(text: &str, line: usize) -> Result<Entry, ConntrackError> {
    let mut toks = text.split_whitespace().peekable();
    let (mut event, mut time) = (None, None);
    // Leading bracketed prefixes: the event and the -o timestamp stamp, in either order.
    while let Some(tok) = toks.peek().copied() {
        let Some(inner) = tok.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
            break;
        };
        match inner {
            "NEW" => event = Some(Event::New),
            "UPDATE" => event = Some(Event::Update),
            "DESTROY" => event = Some(Event::Destroy),
            _ => match timestamp(inner) {
                Some(ts) => time = Some(ts),
                None => return Err(err(line, tok, "[NEW], [UPDATE], [DESTROY] or [secs.usecs]")),
            },
        }
        toks.next();
    }
    let mut name = toks
        .next()
        .ok_or_else(|| err(line, "", "a protocol name"))?;
    if name == "ipv4" || name == "ipv6" {
        let l3 = toks.next().unwrap_or("");
        number::<u8>(l3, line, l3, "the l3 protocol number")?;
        name = toks
            .next()
            .ok_or_else(|| err(line, "", "a protocol name"))?;
    }
    let num_tok = toks.next().unwrap_or("");
    let proto_num: u8 = number(num_tok, line, num_tok, "the l4 protocol number")?;
    let (mut timeout, mut state) = (None, None);
    if let Some(tok) = toks.peek().copied() {
        if tok.bytes().all(|b| b.is_ascii_digit()) {
            timeout = Some(number(tok, line, tok, "a timeout in seconds")?);
            toks.next();
        }
    }
    if let Some(tok) = toks.peek().copied() {
        if !tok.contains('=') && !tok.starts_with('[') {
            state = Some(tok.to_string());
            toks.next();
        }
    }
    let (mut orig, mut reply) = (TupleParts::default(), TupleParts::default());
    let mut tuples_seen = 0u8;
    let mut flags = Flags::default();
    let (mut mark, mut zone, mut use_count, mut secctx, mut labels) =
        (None, None, None, None, None);
    let mut extra = Vec::new();
    for tok in toks {
        if let Some(flag) = tok.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            match flag {
                "UNREPLIED" => flags.unreplied = true,
                "ASSURED" => flags.assured = true,
                "OFFLOAD" => flags.offload = true,
                "HW_OFFLOAD" => flags.hw_offload = true,
                other => flags.other.push(other.to_string()),
            }
            continue;
        }
        let Some((key, value)) = tok.split_once('=') else {
            return Err(err(line, tok, "key=value or [FLAG]"));
        };
        if key == "src" {
            tuples_seen = tuples_seen.saturating_add(1);
            if tuples_seen > 2 {
                return Err(err(line, tok, "at most two tuples"));
            }
        }
        let cur = if tuples_seen <= 1 {
            &mut orig
        } else {
            &mut reply
        };
        let ip = |v: &str| -> Result<IpAddr, ConntrackError> {
            v.parse().map_err(|_| err(line, tok, "an IP address"))
        };
        match key {
            "src" => cur.src = Some(ip(value)?),
            "dst" => cur.dst = Some(ip(value)?),
            "sport" => cur.sport = Some(number(value, line, tok, "a port")?),
            "dport" => cur.dport = Some(number(value, line, tok, "a port")?),
            "type" => cur.kind = Some(number(value, line, tok, "an ICMP type")?),
            "code" => cur.code = Some(number(value, line, tok, "an ICMP code")?),
            "id" => cur.id = Some(number(value, line, tok, "an ICMP id")?),
            "mark" => {
                let parsed = match value.strip_prefix("0x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => value.parse().ok(),
                };
                mark = Some(parsed.ok_or_else(|| err(line, tok, "a mark number"))?);
            }
            "zone" => zone = Some(number(value, line, tok, "a zone number")?),
            "use" => use_count = Some(number(value, line, tok, "a use count")?),
            "secctx" => secctx = Some(value.to_string()),
            "labels" => labels = Some(value.to_string()),
            _ => extra.push((key.to_string(), value.to_string())),
        }
    }
    if tuples_seen < 2 {
        return Err(err(line, text, "an original and a reply tuple (two src=)"));
    }
    Ok(Entry {
        event,
        time,
        proto: name.to_string(),
        proto_num,
        timeout,
        state,
        orig: orig.finish(line, "original tuple")?,
        reply: reply.finish(line, "reply tuple")?,
        flags,
        mark,
        zone,
        use_count,
        secctx,
        labels,
        extra,
    })
}

/// The original-direction key a flow is looked up by: (l4 number, src, sport, dst, dport).
pub type FlowKey = (u8, IpAddr, u16, IpAddr, u16);

/// One connection as seen over a dump or an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The newest entry (its reply tuple, state, flags, mark).
    pub latest: Entry,
    /// Lines merged into this flow.
    pub lines: usize,
    pub first_time: Option<(u64, u32)>,
    pub last_time: Option<(u64, u32)>,
    /// A `[DESTROY]` event was seen.
    pub destroyed: bool,
}

/// Entries keyed by their original tuple. Events of one flow merge (NEW, UPDATE…, DESTROY);
/// a `[NEW]` after a `[DESTROY]` of the same tuple starts a new flow (the 5-tuple was reused),
/// so a key can hold several flows, oldest first.
#[derive(Debug, Default)]
pub struct Table {
    flows: HashMap<FlowKey, Vec<Flow>>,
}

fn proto_num(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Sctp => 132,
    }
}

impl Table {
    pub fn from_entries(entries: Vec<Entry>) -> Table {
        let mut flows: HashMap<FlowKey, Vec<Flow>> = HashMap::new();
        for e in entries {
            let o = e.orig;
            let key = (e.proto_num, o.src, o.sport, o.dst, o.dport);
            let list = flows.entry(key).or_default();
            let fresh = match list.last() {
                None => true,
                Some(f) => f.destroyed && e.event == Some(Event::New),
            };
            if fresh {
                list.push(Flow {
                    destroyed: e.event == Some(Event::Destroy),
                    first_time: e.time,
                    last_time: e.time,
                    lines: 1,
                    latest: e,
                });
                continue;
            }
            if let Some(f) = list.last_mut() {
                f.lines += 1;
                f.destroyed |= e.event == Some(Event::Destroy);
                f.first_time = f.first_time.or(e.time);
                f.last_time = e.time.or(f.last_time);
                f.latest = e;
            }
        }
        Table { flows }
    }

    /// The newest flow with this original tuple.
    pub fn lookup(
        &self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: Proto,
    ) -> Option<&Flow> {
        self.flows_of(src, sport, dst, dport, proto).last()
    }

    /// Every flow with this original tuple, oldest first.
    pub fn flows_of(
        &self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: Proto,
    ) -> &[Flow] {
        self.flows
            .get(&(proto_num(proto), src, sport, dst, dport))
            .map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.flows.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}
