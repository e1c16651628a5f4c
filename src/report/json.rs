//! JSON lines: one object per exchange, per connection, and a closing summary.
//! The schema is documented in docs/json.md and kept stable: fields are added, never renamed.
//!
//! Exchange and connection lines (one per result) are written by hand with `json_line` into a
//! reused line buffer, one `write_all` each; the summary (one per run) goes through serde with
//! [`SafeFormatter`]. The tests hold the hand-written connection line to what serde writes.

use super::addrfmt::write_addr;
use super::json_line as line;
use super::timefmt::rfc3339_bytes;
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
    /// The exchange or connection line being written, reused: its many small writes (a run of
    /// plain text, an escape, a field name) are appends to a `Vec`, and `out` gets one
    /// `write_all` per line.
    line: Vec<u8>,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink {
            out,
            line: Vec::new(),
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
        w.write_all(b"{\"kind\":\"exchange\",\"conn\":")?;
        line::uint(w, ex.conn)?;
        w.write_all(b",\"index\":")?;
        line::uint(w, u64::from(ex.index))?;
        w.write_all(b",\"client\":")?;
        addr(w, conn.client)?;
        w.write_all(b",\"server\":")?;
        addr(w, conn.server)?;
        if let Some(a) = conn.original_dst {
            w.write_all(b",\"original_dst\":")?;
            addr(w, a)?;
        }
        w.write_all(b",\"request\":")?;
        match &ex.request {
            None => w.write_all(b"null")?,
            Some(q) => {
                w.write_all(b"{\"method\":")?;
                line::string(w, &q.method)?;
                w.write_all(b",\"target\":")?;
                line::string(w, &q.target)?;
                message(w, &q.msg)?;
            }
        }
        w.write_all(b",\"response\":")?;
        match &ex.response {
            None => w.write_all(b"null")?,
            Some(r) => {
                w.write_all(b"{\"status\":")?;
                line::uint(w, u64::from(r.status))?;
                w.write_all(b",\"reason\":")?;
                line::string(w, &r.reason)?;
                w.write_all(b",\"informational\":[")?;
                for (i, code) in r.informational.iter().enumerate() {
                    if i > 0 {
                        w.write_all(b",")?;
                    }
                    line::uint(w, u64::from(*code))?;
                }
                w.write_all(b"]")?;
                message(w, &r.msg)?;
            }
        }
        w.write_all(b",\"latency_ms\":")?;
        match ex.latency() {
            // serde_json's float format, so the figures read as before.
            Some(nanos) => serde_json::to_writer(&mut *w, &ms(nanos))?,
            None => w.write_all(b"null")?,
        }
        w.write_all(if ex.incomplete() {
            b",\"incomplete\":true,\"notes\":["
        } else {
            b",\"incomplete\":false,\"notes\":["
        })?;
        for (i, note) in ex.notes.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            line::string(w, note)?;
        }
        w.write_all(b"]}\n")?;
        self.out.write_all(&self.line)
    }

    fn connection(&mut self, c: &Connection) -> io::Result<()> {
        // Hand-written like exchange lines (serde cost ~22 k instructions per line); the field
        // order is the schema's (docs/json.md), and `tests::connection_line_matches_serde`
        // holds it to what the serde structs below write.
        let (w, s) = (&mut self.line, &c.stats);
        w.clear();
        w.write_all(b"{\"kind\":\"connection\",\"id\":")?;
        line::uint(w, c.id)?;
        w.write_all(b",\"client\":")?;
        addr(w, c.client)?;
        w.write_all(b",\"server\":")?;
        addr(w, c.server)?;
        w.write_all(match c.roles {
            RoleSource::Handshake => b",\"roles\":\"handshake\",\"interface\":",
            RoleSource::Heuristic => b",\"roles\":\"heuristic\",\"interface\":",
        })?;
        match c.interface {
            Some(i) => line::uint(w, u64::from(i))?,
            None => w.write_all(b"null")?,
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
            w.write_all(name)?;
            opt_time(w, t)?;
        }
        w.write_all(b",\"handshake_rtt_ms\":")?;
        match s.handshake_rtt() {
            Some(nanos) => serde_json::to_writer(&mut *w, &ms(nanos))?,
            None => w.write_all(b"null")?,
        }
        w.write_all(b",\"end\":")?;
        line::string(w, c.end.as_str())?;
        w.write_all(b",\"to_server\":")?;
        dir_stats(w, &s.dir[0])?;
        w.write_all(b",\"to_client\":")?;
        dir_stats(w, &s.dir[1])?;
        w.write_all(b",\"app\":")?;
        app(w, &c.app)?;
        w.write_all(b",\"original_dst\":")?;
        match c.original_dst {
            Some(a) => addr(w, a)?,
            None => w.write_all(b"null")?,
        }
        let print = s.syn_print;
        for (name, n) in [
            (&b",\"isn\":"[..], print.map(|p| p.isn)),
            (b",\"tsval\":", print.and_then(|p| p.tsval)),
        ] {
            w.write_all(name)?;
            match n {
                Some(n) => line::uint(w, u64::from(n))?,
                None => w.write_all(b"null")?,
            }
        }
        w.write_all(b"}\n")?;
        self.out.write_all(&self.line)
    }
}

/// One direction's counters (`DirJson`'s fields, in order).
fn dir_stats<W: Write + ?Sized>(w: &mut W, d: &DirStats) -> io::Result<()> {
    for (name, n) in [
        (&b"{\"packets\":"[..], d.packets),
        (b",\"bytes\":", d.bytes),
        (b",\"payload\":", d.payload),
        (b",\"retransmissions\":", d.retransmissions),
        (b",\"out_of_order\":", d.out_of_order),
        (b",\"zero_windows\":", d.zero_windows),
        (b",\"gap_bytes\":", d.gap_bytes),
    ] {
        w.write_all(name)?;
        line::uint(w, n)?;
    }
    w.write_all(b",\"fin\":")?;
    opt_time(w, d.fin)?;
    w.write_all(b"}")
}

/// What the connection carried (`AppJson`, internally tagged by `protocol`).
fn app<W: Write + ?Sized>(w: &mut W, a: &AppInfo) -> io::Result<()> {
    match a {
        AppInfo::Unknown => w.write_all(b"{\"protocol\":\"unknown\"}"),
        AppInfo::Http { exchanges } => {
            w.write_all(b"{\"protocol\":\"http\",\"exchanges\":")?;
            line::uint(w, u64::from(*exchanges))?;
            w.write_all(b"}")
        }
        AppInfo::Upgraded { exchanges } => {
            w.write_all(b"{\"protocol\":\"http-upgraded\",\"exchanges\":")?;
            line::uint(w, u64::from(*exchanges))?;
            w.write_all(b"}")
        }
        AppInfo::Tls { sni, alpn, .. } => {
            w.write_all(b"{\"protocol\":\"tls\",\"sni\":")?;
            match sni {
                Some(sni) => line::string(w, sni)?,
                None => w.write_all(b"null")?,
            }
            w.write_all(b",\"alpn\":[")?;
            for (i, p) in alpn.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                line::string(w, p)?;
            }
            w.write_all(b"]}")
        }
    }
}

fn opt_time<W: Write + ?Sized>(w: &mut W, t: Option<Timestamp>) -> io::Result<()> {
    match t {
        Some(t) => time(w, t),
        None => w.write_all(b"null"),
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
fn message<W: Write + ?Sized>(w: &mut W, m: &Message) -> io::Result<()> {
    w.write_all(b",\"version\":\"")?;
    w.write_all(m.version.as_str().as_bytes())?;
    w.write_all(b"\",\"headers\":[")?;
    for (i, (name, value)) in m.headers().enumerate() {
        w.write_all(if i > 0 { b",[" } else { b"[" })?;
        line::string(w, name)?;
        w.write_all(b",")?;
        line::string(w, value)?;
        w.write_all(b"]")?;
    }
    w.write_all(b"],\"first_byte\":")?;
    time(w, m.first_byte)?;
    w.write_all(b",\"complete\":")?;
    match m.complete {
        Some(t) => time(w, t)?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"head_bytes\":")?;
    line::uint(w, u64::from(m.head_len))?;
    w.write_all(b",\"body_bytes\":")?;
    line::uint(w, m.body_len)?;
    w.write_all(b",\"gap_bytes\":")?;
    line::uint(w, m.gap_bytes)?;
    w.write_all(b",\"body_preview\":")?;
    line::string(w, &lossy(&m.body_preview))?;
    w.write_all(b",\"preview_note\":")?;
    match &m.preview_note {
        Some(note) => line::string(w, note)?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b"}")
}

fn time<W: Write + ?Sized>(w: &mut W, t: Timestamp) -> io::Result<()> {
    w.write_all(b"\"")?;
    w.write_all(&rfc3339_bytes(t))?;
    w.write_all(b"\"")
}

/// Addresses print only digits, hex, `.:[]%`: nothing to escape.
fn addr<W: Write + ?Sized>(w: &mut W, a: SocketAddr) -> io::Result<()> {
    w.write_all(b"\"")?;
    write_addr(w, a)?;
    w.write_all(b"\"")
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
