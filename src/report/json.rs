//! JSON lines: one object per exchange, per connection, and a closing summary.
//! The schema is documented in docs/json.md and kept stable: fields are added, never renamed.
//!
//! Exchange and connection lines (one per result) are written by hand with `json_line` into a
//! reused line buffer, one `write_all` each; the summary (one per run) goes through serde with
//! [`SafeFormatter`]. The tests hold the hand-written connection line to what serde writes.

use super::addrfmt::v4_text;
use super::json_line::Line;
use super::timefmt::{rfc3339_bytes, RFC3339_LEN};
use crate::model::{AppInfo, Connection, DirStats, Exchange, Message, RoleSource, Timestamp};
use crate::pipeline::{Sink, Summary};
use crate::reassembly::ConnMeta;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Writes JSON lines to `W` (usually a buffered stdout).
pub struct JsonSink<W: Write> {
    out: W,
    /// The exchange or connection line being written, reused: its many small writes (a field
    /// name, a number, an escaped string) are appends to a [`Line`], which cannot fail, and
    /// `out` gets one `write_all` per line.
    line: Line,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            line: Line::default(),
        }
    }

    pub fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        let value = super::summary_json(summary);
        self.line(&value)
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn line<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        let mut ser = serde_json::Serializer::with_formatter(&mut self.out, SafeFormatter);
        // `From` keeps an I/O error's kind (a closed pipe must stay `BrokenPipe`).
        value.serialize(&mut ser).map_err(io::Error::from)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn exchange(&mut self, ex: &Exchange, conn: &ConnMeta) -> io::Result<()> {
        // Hand-written (see `json_line`); the field order is the schema's (docs/json.md).
        let w = &mut self.line;
        w.clear();
        w.raw(b"{\"kind\":\"exchange\",\"conn\":");
        w.uint(ex.conn);
        w.raw(b",\"index\":");
        w.uint(u64::from(ex.index));
        w.raw(b",\"client\":");
        addr(w, conn.client);
        w.raw(b",\"server\":");
        addr(w, conn.server);
        if let Some(a) = conn.original_dst {
            w.raw(b",\"original_dst\":");
            addr(w, a);
        }
        w.raw(b",\"request\":");
        match &ex.request {
            None => w.raw(b"null"),
            Some(q) => {
                w.raw(b"{\"method\":");
                w.string(&q.method);
                w.raw(b",\"target\":");
                w.string(&q.target);
                message(w, &q.msg);
            }
        }
        w.raw(b",\"response\":");
        match &ex.response {
            None => w.raw(b"null"),
            Some(r) => {
                w.raw(b"{\"status\":");
                w.uint(u64::from(r.status));
                w.raw(b",\"reason\":");
                w.string(&r.reason);
                w.raw(b",\"informational\":[");
                for (i, code) in r.informational.iter().enumerate() {
                    if i > 0 {
                        w.byte(b',');
                    }
                    w.uint(u64::from(*code));
                }
                w.byte(b']');
                message(w, &r.msg);
            }
        }
        w.raw(b",\"latency_ms\":");
        match ex.latency() {
            // serde_json's float format, so the figures read as before.
            Some(nanos) => serde_json::to_writer(&mut *w, &ms(nanos))?,
            None => w.raw(b"null"),
        }
        w.raw(if ex.incomplete() {
            b",\"incomplete\":true,\"notes\":["
        } else {
            b",\"incomplete\":false,\"notes\":["
        });
        for (i, note) in ex.notes.iter().enumerate() {
            if i > 0 {
                w.byte(b',');
            }
            w.string(note);
        }
        w.raw(b"]}\n");
        self.out.write_all(self.line.as_bytes())
    }

    fn connection(&mut self, c: &Connection) -> io::Result<()> {
        // Hand-written like exchange lines (serde cost ~22 k instructions per line); the field
        // order is the schema's (docs/json.md), and `tests::connection_line_matches_serde`
        // holds it to what the serde structs below write.
        let (w, s) = (&mut self.line, &c.stats);
        w.clear();
        w.raw(b"{\"kind\":\"connection\",\"id\":");
        w.uint(c.id);
        w.raw(b",\"client\":");
        addr(w, c.client);
        w.raw(b",\"server\":");
        addr(w, c.server);
        w.raw(match c.roles {
            RoleSource::Handshake => b",\"roles\":\"handshake\",\"interface\":",
            RoleSource::Heuristic => b",\"roles\":\"heuristic\",\"interface\":",
        });
        match c.interface {
            Some(i) => w.uint(u64::from(i)),
            None => w.raw(b"null"),
        }
        for (name, t) in [
            (&b",\"first\":"[..], Some(s.first)),
            (b",\"last\":", Some(s.last)),
            (b",\"syn\":", s.syn),
            (b",\"syn_ack\":", s.syn_ack),
            (b",\"ack\":", s.ack),
            (b",\"first_data\":", s.first_data),
            (b",\"rst\":", s.rst),
        ] {
            w.raw(name);
            opt_time(w, t);
        }
        w.raw(b",\"handshake_rtt_ms\":");
        match s.handshake_rtt() {
            Some(nanos) => serde_json::to_writer(&mut *w, &ms(nanos))?,
            None => w.raw(b"null"),
        }
        w.raw(b",\"end\":");
        w.string(c.end.as_str());
        w.raw(b",\"to_server\":");
        dir_stats(w, &s.dir[0]);
        w.raw(b",\"to_client\":");
        dir_stats(w, &s.dir[1]);
        w.raw(b",\"app\":");
        app(w, &c.app);
        w.raw(b",\"original_dst\":");
        match c.original_dst {
            Some(a) => addr(w, a),
            None => w.raw(b"null"),
        }
        let print = s.syn_print;
        for (name, n) in [
            (&b",\"isn\":"[..], print.map(|p| p.isn)),
            (b",\"tsval\":", print.and_then(|p| p.tsval)),
        ] {
            w.raw(name);
            match n {
                Some(n) => w.uint(u64::from(n)),
                None => w.raw(b"null"),
            }
        }
        w.raw(b"}\n");
        self.out.write_all(self.line.as_bytes())
    }
}

/// One direction's counters (`DirJson`'s fields, in order).
fn dir_stats(w: &mut Line, d: &DirStats) {
    for (name, n) in [
        (&b"{\"packets\":"[..], d.packets),
        (b",\"bytes\":", d.bytes),
        (b",\"payload\":", d.payload),
        (b",\"retransmissions\":", d.retransmissions),
        (b",\"out_of_order\":", d.out_of_order),
        (b",\"zero_windows\":", d.zero_windows),
        (b",\"gap_bytes\":", d.gap_bytes),
    ] {
        w.raw(name);
        w.uint(n);
    }
    w.raw(b",\"fin\":");
    opt_time(w, d.fin);
    w.byte(b'}');
}

/// What the connection carried (`AppJson`, internally tagged by `protocol`).
fn app(w: &mut Line, a: &AppInfo) {
    match a {
        AppInfo::Unknown => w.raw(b"{\"protocol\":\"unknown\"}"),
        AppInfo::Http { exchanges } => {
            w.raw(b"{\"protocol\":\"http\",\"exchanges\":");
            w.uint(u64::from(*exchanges));
            w.byte(b'}');
        }
        AppInfo::Upgraded { exchanges } => {
            w.raw(b"{\"protocol\":\"http-upgraded\",\"exchanges\":");
            w.uint(u64::from(*exchanges));
            w.byte(b'}');
        }
        AppInfo::Tls { sni, alpn, .. } => {
            w.raw(b"{\"protocol\":\"tls\",\"sni\":");
            match sni {
                Some(sni) => w.string(sni),
                None => w.raw(b"null"),
            }
            w.raw(b",\"alpn\":[");
            for (i, p) in alpn.iter().enumerate() {
                if i > 0 {
                    w.byte(b',');
                }
                w.string(p);
            }
            w.raw(b"]}");
        }
    }
}

fn opt_time(w: &mut Line, t: Option<Timestamp>) {
    match t {
        Some(t) => time(w, t),
        None => w.raw(b"null"),
    }
}

/// `String::from_utf8_lossy` with the fast validation first (bodies are mostly ASCII).
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Nanoseconds → milliseconds, rounded to the nanosecond.
pub(super) fn ms(nanos: i64) -> f64 {
    nanos as f64 / 1e6
}

/// The fields of a request or response after its first line, closing its object.
fn message(w: &mut Line, m: &Message) {
    w.raw(b",\"version\":\"");
    w.raw(m.version.as_str().as_bytes());
    w.raw(b"\",\"headers\":[");
    for (i, (name, value)) in m.headers().enumerate() {
        w.raw(if i > 0 { b",[" } else { b"[" });
        w.string(name);
        w.byte(b',');
        w.string(value);
        w.byte(b']');
    }
    w.raw(b"],\"first_byte\":");
    time(w, m.first_byte);
    w.raw(b",\"complete\":");
    match m.complete {
        Some(t) => time(w, t),
        None => w.raw(b"null"),
    }
    w.raw(b",\"head_bytes\":");
    w.uint(u64::from(m.head_len));
    w.raw(b",\"body_bytes\":");
    w.uint(m.body_len);
    w.raw(b",\"gap_bytes\":");
    w.uint(m.gap_bytes);
    w.raw(b",\"body_preview\":");
    w.string(&lossy(&m.body_preview));
    w.raw(b",\"preview_note\":");
    match &m.preview_note {
        Some(note) => w.string(note),
        None => w.raw(b"null"),
    }
    w.byte(b'}');
}

/// A timestamp as a JSON string (digits and separators: nothing to escape).
fn time(w: &mut Line, t: Timestamp) {
    let mut text = [b'"'; RFC3339_LEN + 2];
    if let Some(digits) = text.get_mut(1..=RFC3339_LEN) {
        digits.copy_from_slice(&rfc3339_bytes(t));
    }
    w.raw(&text);
}

/// Addresses print only digits, hex, `.:[]%`: nothing to escape.
fn addr(w: &mut Line, a: SocketAddr) {
    w.byte(b'"');
    match v4_text(a) {
        Some((text, len)) => w.prefix(&text, len),
        // Appending cannot fail.
        None => drop(write!(w, "{a}")),
    }
    w.byte(b'"');
}

/// A string as the serde path writes it (for the test that holds `json_line` to the same bytes).
#[cfg(test)]
pub(super) fn serde_string(w: &mut Vec<u8>, s: &str) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, SafeFormatter);
    s.serialize(&mut ser).map_err(io::Error::from)
}

/// serde_json escapes C0 controls and `"`/`\`; this also escapes DEL, C1 controls and bidi
/// overrides, so `hopscope --json | cat` cannot drive a terminal either.
pub(super) struct SafeFormatter;

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde_json hands over fragments without `"`, `\\` and C0 controls, so plain ASCII
        // (below DEL) is safe as is; checking bytes first keeps the common case a fast scan.
        // A fold, not `all`: without the early exit the loop vectorizes.
        let plain_ascii = !fragment.bytes().fold(false, |high, b| high | (b >= 0x7f));
        if plain_ascii || !fragment.chars().any(super::escape::is_unsafe) {
            return w.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            // Backslashes reach this point only as data (serde_json escapes them before).
            if c != '\\' && super::escape::is_unsafe(c) {
                write!(w, "\\u{:04x}", c as u32)?;
            } else {
                let mut buf = [0u8; 4];
                w.write_all(c.encode_utf8(&mut buf).as_bytes())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The serde structs connection lines were written with before they were written by hand,
    //! kept as the reference the hand-written line must match byte for byte.

    use super::*;
    use crate::model::{ConnStats, EndReason};
    use serde::Serializer;

    fn ts(t: Option<Timestamp>) -> Option<Time> {
        t.map(Time)
    }

    /// A timestamp written as an RFC 3339 string, formatted on the stack.
    struct Time(Timestamp);

    impl Serialize for Time {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let buf = rfc3339_bytes(self.0);
            // All ASCII digits and separators.
            s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
        }
    }

    /// A socket address written as a string without allocating one (`10.0.0.1:80`, `[::1]:80`).
    struct Addr(SocketAddr);

    impl Serialize for Addr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&self.0)
        }
    }

    #[derive(Serialize)]
    struct ConnectionJson {
        kind: &'static str,
        id: u64,
        client: Addr,
        server: Addr,
        roles: &'static str,
        interface: Option<u32>,
        first: Time,
        last: Time,
        syn: Option<Time>,
        syn_ack: Option<Time>,
        ack: Option<Time>,
        first_data: Option<Time>,
        rst: Option<Time>,
        handshake_rtt_ms: Option<f64>,
        end: &'static str,
        to_server: DirJson,
        to_client: DirJson,
        app: AppJson,
        original_dst: Option<Addr>,
        isn: Option<u32>,
        tsval: Option<u32>,
    }

    #[derive(Serialize)]
    struct DirJson {
        packets: u64,
        bytes: u64,
        payload: u64,
        retransmissions: u64,
        out_of_order: u64,
        zero_windows: u64,
        gap_bytes: u64,
        fin: Option<Time>,
    }

    impl From<&DirStats> for DirJson {
        fn from(d: &DirStats) -> Self {
            DirJson {
                packets: d.packets,
                bytes: d.bytes,
                payload: d.payload,
                retransmissions: d.retransmissions,
                out_of_order: d.out_of_order,
                zero_windows: d.zero_windows,
                gap_bytes: d.gap_bytes,
                fin: ts(d.fin),
            }
        }
    }

    #[derive(Serialize)]
    #[serde(tag = "protocol", rename_all = "kebab-case")]
    enum AppJson {
        Unknown,
        Http {
            exchanges: u32,
        },
        HttpUpgraded {
            exchanges: u32,
        },
        Tls {
            sni: Option<String>,
            alpn: Vec<String>,
        },
    }

    impl From<&AppInfo> for AppJson {
        fn from(a: &AppInfo) -> Self {
            match a {
                AppInfo::Unknown => AppJson::Unknown,
                AppInfo::Http { exchanges } => AppJson::Http {
                    exchanges: *exchanges,
                },
                AppInfo::Upgraded { exchanges } => AppJson::HttpUpgraded {
                    exchanges: *exchanges,
                },
                AppInfo::Tls { sni, alpn, .. } => AppJson::Tls {
                    sni: sni.clone(),
                    alpn: alpn.clone(),
                },
            }
        }
    }

    fn serde_line(c: &Connection) -> String {
        let s = &c.stats;
        let value = ConnectionJson {
            kind: "connection",
            id: c.id,
            client: Addr(c.client),
            server: Addr(c.server),
            roles: match c.roles {
                RoleSource::Handshake => "handshake",
                RoleSource::Heuristic => "heuristic",
            },
            interface: c.interface,
            first: Time(s.first),
            last: Time(s.last),
            syn: ts(s.syn),
            syn_ack: ts(s.syn_ack),
            ack: ts(s.ack),
            first_data: ts(s.first_data),
            rst: ts(s.rst),
            handshake_rtt_ms: s.handshake_rtt().map(ms),
            end: c.end.as_str(),
            to_server: DirJson::from(&s.dir[0]),
            to_client: DirJson::from(&s.dir[1]),
            app: AppJson::from(&c.app),
            original_dst: c.original_dst.map(Addr),
            isn: s.syn_print.map(|p| p.isn),
            tsval: s.syn_print.and_then(|p| p.tsval),
        };
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeFormatter);
        value.serialize(&mut ser).unwrap();
        out.push(b'\n');
        String::from_utf8(out).unwrap()
    }

    fn hand_line(c: &Connection) -> String {
        let mut sink = JsonSink::new(Vec::new());
        sink.connection(c).unwrap();
        String::from_utf8(sink.into_inner()).unwrap()
    }

    #[test]
    fn connection_line_matches_serde() {
        let t = |n: i64| Timestamp::from_nanos(1_700_000_000_000_000_000 + n);
        let full = ConnStats {
            first: t(0),
            last: t(9_000_123),
            syn: Some(t(0)),
            syn_ack: Some(t(41_000)),
            ack: Some(t(83_000)),
            first_data: Some(t(90_000)),
            rst: Some(t(9_000_123)),
            syn_print: Some(crate::model::SynPrint {
                isn: 4_000_000_000,
                tsval: Some(77),
            }),
            dir: [
                DirStats {
                    packets: 8,
                    bytes: 919,
                    payload: 495,
                    retransmissions: 1,
                    out_of_order: 2,
                    zero_windows: 3,
                    gap_bytes: 4,
                    fin: Some(t(8_000_000)),
                },
                DirStats::default(),
            ],
        };
        let apps = [
            AppInfo::Unknown,
            AppInfo::Http { exchanges: 7 },
            AppInfo::Upgraded { exchanges: 1 },
            AppInfo::Tls {
                sni: Some("outbound_.9080_.v1_.reviews \"x\"\u{202e}".into()),
                alpn: vec!["istio-peer-exchange".into(), "istio".into()],
                bursts: Default::default(),
            },
            AppInfo::Tls {
                sni: None,
                alpn: Vec::new(),
                bursts: Default::default(),
            },
        ];
        for (i, app) in apps.into_iter().enumerate() {
            let c = Connection {
                id: i as u64,
                client: "10.1.2.3:33588".parse().unwrap(),
                server: if i % 2 == 0 {
                    "[fe80::1]:9080".parse().unwrap()
                } else {
                    "127.0.0.1:80".parse().unwrap()
                },
                roles: if i % 2 == 0 {
                    RoleSource::Handshake
                } else {
                    RoleSource::Heuristic
                },
                stats: if i % 2 == 0 {
                    full.clone()
                } else {
                    ConnStats::default()
                },
                end: EndReason::Fin,
                app,
                interface: (i % 2 == 0).then_some(3),
                original_dst: (i % 2 == 0).then(|| "10.96.100.10:9080".parse().unwrap()),
            };
            assert_eq!(hand_line(&c), serde_line(&c), "{c:?}");
        }
    }
}
