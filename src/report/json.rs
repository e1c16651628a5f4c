//! JSON lines: one object per exchange, per connection, and a closing summary.
//! The schema is documented in docs/json.md and kept stable: fields are added, never renamed.

use super::timefmt::rfc3339;
use crate::model::{AppInfo, Connection, DirStats, Exchange, Message, Timestamp};
use crate::pipeline::{Sink, Summary};
use crate::reassembly::ConnMeta;
use serde::Serialize;
use std::io::{self, Write};

/// Writes JSON lines to `W` (usually a buffered stdout).
pub struct JsonSink<W: Write> {
    out: W,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink { out }
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
        value.serialize(&mut ser).map_err(io::Error::other)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn exchange(&mut self, ex: &Exchange, conn: &ConnMeta) -> io::Result<()> {
        let value = ExchangeJson {
            kind: "exchange",
            conn: ex.conn,
            index: ex.index,
            client: Shown(&conn.client),
            server: Shown(&conn.server),
            request: ex.request.as_ref().map(|q| RequestJson {
                method: &q.method,
                target: &q.target,
                msg: MessageJson::from(&q.msg),
            }),
            response: ex.response.as_ref().map(|r| ResponseJson {
                status: r.status,
                reason: &r.reason,
                informational: &r.informational,
                msg: MessageJson::from(&r.msg),
            }),
            latency_ms: ex.latency().map(ms),
            incomplete: ex.incomplete(),
            notes: &ex.notes,
        };
        self.line(&value)
    }

    fn connection(&mut self, c: &Connection) -> io::Result<()> {
        let s = &c.stats;
        let value = ConnectionJson {
            kind: "connection",
            id: c.id,
            client: c.client.to_string(),
            server: c.server.to_string(),
            roles: match c.roles {
                crate::model::RoleSource::Handshake => "handshake",
                crate::model::RoleSource::Heuristic => "heuristic",
            },
            interface: c.interface,
            first: rfc3339(s.first),
            last: rfc3339(s.last),
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
        };
        self.line(&value)
    }
}

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(rfc3339)
}

/// Nanoseconds → milliseconds, rounded to the nanosecond.
pub(super) fn ms(nanos: i64) -> f64 {
    nanos as f64 / 1e6
}

#[derive(Serialize)]
struct ExchangeJson<'a> {
    kind: &'static str,
    conn: u64,
    index: u32,
    client: Shown<&'a std::net::SocketAddr>,
    server: Shown<&'a std::net::SocketAddr>,
    request: Option<RequestJson<'a>>,
    response: Option<ResponseJson<'a>>,
    latency_ms: Option<f64>,
    incomplete: bool,
    notes: &'a [&'static str],
}

#[derive(Serialize)]
struct RequestJson<'a> {
    method: &'a str,
    target: &'a str,
    #[serde(flatten)]
    msg: MessageJson<'a>,
}

#[derive(Serialize)]
struct ResponseJson<'a> {
    status: u16,
    reason: &'a str,
    informational: &'a [u16],
    #[serde(flatten)]
    msg: MessageJson<'a>,
}

#[derive(Serialize)]
struct MessageJson<'a> {
    version: &'static str,
    headers: HeadersJson<'a>,
    first_byte: String,
    complete: Option<String>,
    head_bytes: u32,
    body_bytes: u64,
    gap_bytes: u64,
    body_preview: std::borrow::Cow<'a, str>,
    preview_note: Option<&'a str>,
}

impl<'a> From<&'a Message> for MessageJson<'a> {
    fn from(m: &'a Message) -> Self {
        MessageJson {
            version: m.version.as_str(),
            headers: HeadersJson(m),
            first_byte: rfc3339(m.first_byte),
            complete: ts(m.complete),
            head_bytes: m.head_len,
            body_bytes: m.body_len,
            gap_bytes: m.gap_bytes,
            body_preview: String::from_utf8_lossy(&m.body_preview),
            preview_note: m.preview_note.as_deref(),
        }
    }
}

/// The header fields as an array of `[name, value]`, written straight from the message.
struct HeadersJson<'a>(&'a Message);

impl Serialize for HeadersJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.headers())
    }
}

/// A value written with its `Display` (an address), without building a `String` first.
struct Shown<T>(T);

impl<T: std::fmt::Display> Serialize for Shown<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[derive(Serialize)]
struct ConnectionJson {
    kind: &'static str,
    id: u64,
    client: String,
    server: String,
    roles: &'static str,
    interface: Option<u32>,
    first: String,
    last: String,
    syn: Option<String>,
    syn_ack: Option<String>,
    ack: Option<String>,
    first_data: Option<String>,
    rst: Option<String>,
    handshake_rtt_ms: Option<f64>,
    end: &'static str,
    to_server: DirJson,
    to_client: DirJson,
    app: AppJson,
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
    fin: Option<String>,
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
            AppInfo::Tls { sni, alpn } => AppJson::Tls {
                sni: sni.clone(),
                alpn: alpn.clone(),
            },
        }
    }
}

/// serde_json escapes C0 controls and `"`/`\`; this also escapes DEL, C1 controls and bidi
/// overrides, so `hopscope --json | cat` cannot drive a terminal either.
struct SafeFormatter;

impl serde_json::ser::Formatter for SafeFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Printable ASCII (nearly all output) is safe: skip the per-char check. serde_json has
        // already split out `"`, `\\` and C0 controls, so this is the whole test for ASCII.
        if fragment.bytes().all(|b| (0x20..0x7f).contains(&b))
            || !fragment.chars().any(super::escape::is_unsafe)
        {
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
