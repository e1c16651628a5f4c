//! The per-connection application layer: decides from the first bytes whether a connection
//! carries HTTP/1.x, TLS or something else, then feeds the matching parser.
//!
//! Detection is by content, never by port: 9080, 15001 and 15006 are all everyday HTTP ports in a
//! mesh, and a service may listen anywhere. The first bytes of either direction decide:
//! a request line (client) or status line (server) means HTTP, a TLS handshake record from the
//! client means TLS, anything else makes the connection opaque and its bytes are dropped at once.
//! A gap before the protocol is known keeps the connection undecided, so HTTP can still be found
//! at the next message boundary.

use crate::http::{self, HttpConn, HttpLimits};
use crate::model::{AppInfo, Connection, Dir, Exchange, Timestamp};
use crate::reassembly::{ConnMeta, StreamHandler};
use crate::tls::{self, TlsFlow};

/// Bytes kept while the first bytes are too short to decide (e.g. a 2-byte first segment).
const SNIFF_MAX: usize = 16;

/// Where handlers put what they produce; the pipeline drains it after every segment.
#[derive(Default)]
pub struct Output {
    pub exchanges: Vec<Exchange>,
    /// The connection of each entry of `exchanges`, index for index.
    pub exchange_conns: Vec<ConnMeta>,
    pub connections: Vec<Connection>,
    pub limits: HttpLimits,
}

impl Output {
    /// Marks the exchanges the parser just pushed as belonging to `meta`.
    fn tag(&mut self, meta: &ConnMeta) {
        let new = self
            .exchanges
            .len()
            .saturating_sub(self.exchange_conns.len());
        self.exchange_conns.extend(std::iter::repeat_n(*meta, new));
    }
}

/// One connection's application-layer state.
pub enum AppConn {
    /// Nothing decided yet.
    Sniffing(Box<Sniffer>),
    Http(Box<HttpConn>),
    /// TLS: the ClientHello's names, then the application data's timing.
    Tls(Box<TlsFlow>),
    /// Not a protocol we parse; bytes are ignored.
    Opaque,
}

/// Sniffing state: a short prefix per direction when a segment was too short to decide, and
/// how many segment starts did not look like anything we parse.
///
/// A connection picked up mid-stream may start inside a body, so one miss is not enough: each
/// segment start is probed (a few bytes compared, cheap) until [`SNIFF_MISSES`] misses in all.
#[derive(Default)]
pub struct Sniffer {
    held: [Vec<u8>; 2],
    misses: u32,
}

/// Segment starts probed before a connection is declared opaque.
const SNIFF_MISSES: u32 = 16;

impl Sniffer {
    fn probe(&mut self, dir: Dir, bytes: &[u8]) -> Verdict {
        let held = &mut self.held[dir.index()];
        let verdict = if held.is_empty() {
            sniff(dir, bytes)
        } else {
            let mut probe = held.clone();
            probe.extend_from_slice(&bytes[..bytes.len().min(SNIFF_MAX)]);
            sniff(dir, &probe)
        };
        match verdict {
            Verdict::Undecided if held.len() + bytes.len() <= SNIFF_MAX => {
                held.extend_from_slice(bytes);
                Verdict::Undecided
            }
            Verdict::Undecided | Verdict::Opaque => {
                held.clear();
                self.misses += 1;
                if self.misses >= SNIFF_MISSES {
                    Verdict::Opaque
                } else {
                    Verdict::Undecided
                }
            }
            decided => decided,
        }
    }
}

enum Verdict {
    Http,
    Tls,
    Opaque,
    Undecided,
}

fn sniff(dir: Dir, prefix: &[u8]) -> Verdict {
    match http::sniff(prefix, dir) {
        http::Sniff::Request | http::Sniff::Response => return Verdict::Http,
        http::Sniff::Maybe => return Verdict::Undecided,
        http::Sniff::No => {}
    }
    if dir == Dir::ToServer {
        match tls::sniff(prefix) {
            http::Sniff::Request | http::Sniff::Response => return Verdict::Tls,
            http::Sniff::Maybe => return Verdict::Undecided,
            http::Sniff::No => {}
        }
    }
    Verdict::Opaque
}

impl AppConn {
    fn start_http(&mut self, meta: &ConnMeta, limits: &HttpLimits) -> &mut HttpConn {
        *self = AppConn::Http(Box::new(HttpConn::new(meta.id, limits.clone())));
        match self {
            AppConn::Http(h) => h,
            _ => unreachable!("just assigned"),
        }
    }
}

impl StreamHandler for AppConn {
    type Ctx = Output;

    fn open(_meta: &ConnMeta, _ctx: &mut Output) -> Self {
        AppConn::Sniffing(Box::default())
    }

    fn data(&mut self, ctx: &mut Output, meta: &ConnMeta, dir: Dir, ts: Timestamp, bytes: &[u8]) {
        match self {
            AppConn::Http(h) => {
                h.data(dir, ts, bytes, &mut ctx.exchanges);
                ctx.tag(meta);
            }
            AppConn::Tls(flow) => flow.data(dir, ts, bytes),
            AppConn::Opaque => {}
            AppConn::Sniffing(sniffer) => match sniffer.probe(dir, bytes) {
                Verdict::Undecided => {}
                Verdict::Opaque => *self = AppConn::Opaque,
                Verdict::Http => {
                    let held = std::mem::take(&mut sniffer.held);
                    let h = self.start_http(meta, &ctx.limits);
                    // The other direction's held prefix is older than this segment.
                    for (d, prefix) in [
                        (dir.reverse(), &held[dir.reverse().index()]),
                        (dir, &held[dir.index()]),
                    ] {
                        if !prefix.is_empty() {
                            h.data(d, ts, prefix, &mut ctx.exchanges);
                        }
                    }
                    h.data(dir, ts, bytes, &mut ctx.exchanges);
                    ctx.tag(meta);
                }
                Verdict::Tls => {
                    let held = std::mem::take(&mut sniffer.held);
                    let mut flow = Box::<TlsFlow>::default();
                    // Held prefixes first, the server's (older than this client segment) too.
                    for d in [Dir::ToClient, Dir::ToServer] {
                        if let Some(prefix) = held.get(d.index()).filter(|p| !p.is_empty()) {
                            flow.data(d, ts, prefix);
                        }
                    }
                    flow.data(dir, ts, bytes);
                    *self = AppConn::Tls(flow);
                }
            },
        }
    }

    fn gap(&mut self, ctx: &mut Output, meta: &ConnMeta, dir: Dir, ts: Timestamp, len: u64) {
        match self {
            AppConn::Http(h) => {
                h.gap(dir, ts, len, &mut ctx.exchanges);
                ctx.tag(meta);
            }
            // Undecided: forget the partial prefix; the next segment may start a message.
            AppConn::Sniffing(sniffer) => sniffer.held[dir.index()].clear(),
            AppConn::Tls(flow) => flow.gap(dir, len),
            _ => {}
        }
    }

    fn end(&mut self, ctx: &mut Output, meta: &ConnMeta, dir: Dir, ts: Timestamp) {
        if let AppConn::Http(h) = self {
            h.end(dir, ts, &mut ctx.exchanges);
            ctx.tag(meta);
        }
    }

    fn close(self, ctx: &mut Output, mut conn: Connection) {
        conn.app = match self {
            AppConn::Http(h) => {
                let summary = h.finish(&mut ctx.exchanges);
                ctx.tag(&ConnMeta {
                    id: conn.id,
                    client: conn.client,
                    server: conn.server,
                    original_dst: conn.original_dst,
                });
                if summary.upgraded.is_some() {
                    AppInfo::Upgraded {
                        exchanges: summary.exchanges,
                    }
                } else {
                    AppInfo::Http {
                        exchanges: summary.exchanges,
                    }
                }
            }
            AppConn::Tls(flow) => flow.finish(),
            AppConn::Sniffing(_) | AppConn::Opaque => AppInfo::Unknown,
        };
        ctx.connections.push(conn);
    }
}
