//! The human-readable report: exchanges as they complete, then the TCP connections that carried
//! no HTTP, then the capture summary (known only at the end; tcpdump also prints its counts last).
//!
//! Every captured string goes through `escape`; numbers and addresses are ours.

use super::addrfmt;
use super::escape::escape;
use super::timefmt::{
    bytes, clock, duration, write_bytes, write_clock, write_decimal, write_duration,
};
use crate::model::{AppInfo, Connection, Exchange, HttpVersion};
use crate::pipeline::Sink;
use crate::reassembly::ConnMeta;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Lines of the connections section kept for the end of the report.
const OTHER_MAX: usize = 100_000;

/// Counters the summary prints about what was shown.
#[derive(Default, Debug)]
pub struct Shown {
    pub exchanges: u64,
    pub incomplete: u64,
    pub by_class: [u64; 6],
    pub connections: u64,
    pub retransmissions: u64,
    pub gap_bytes: u64,
    pub ends: std::collections::BTreeMap<&'static str, u64>,
}

pub struct TextSink<W: Write> {
    out: W,
    header_done: bool,
    /// Connections without HTTP, printed after the exchanges: one short line each, at most
    /// [`OTHER_MAX`] of them (the rest are counted; `--json` has them all).
    other: Vec<String>,
    other_dropped: u64,
    pub shown: Shown,
    /// The exchange line being written, kept to reuse its buffer.
    line: Line,
}

impl<W: Write> TextSink<W> {
    pub fn new(out: W) -> Self {
        TextSink {
            out,
            header_done: false,
            other: Vec::new(),
            other_dropped: 0,
            shown: Shown::default(),
            line: Line::default(),
        }
    }

    /// Prints the section of connections without HTTP. Call once, after the run.
    pub fn finish_sections(&mut self) -> io::Result<()> {
        if !self.header_done {
            writeln!(self.out, "no HTTP exchanges")?;
        }
        if !self.other.is_empty() {
            writeln!(self.out)?;
            writeln!(
                self.out,
                "TCP connections without HTTP ({}):\n{:<15}  {:<45}  {:>9}  {:>13}  {:>21}  {:<7}  APP",
                self.other.len(),
                "TIME",
                "CLIENT → SERVER",
                "DURATION",
                "PACKETS →/←",
                "BYTES →/←",
                "END",
            )?;
            for line in &self.other {
                writeln!(self.out, "{line}")?;
            }
            if self.other_dropped > 0 {
                writeln!(self.out, "... and {} more (see --json)", self.other_dropped)?;
            }
        }
        Ok(())
    }

    pub fn out(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One report line being built in a buffer kept across lines: fields are written straight
/// into it, padded as `format!`'s `{:<w}` and `{:>w}` would (by characters, not bytes: `→` and
/// escaped Unicode take more bytes than columns). Formatting through `fmt` built about ten
/// temporary `String`s per exchange line. The second buffer holds a right-aligned field
/// before its padding is known (cheaper than rotating it into place).
#[derive(Default)]
struct Line(Vec<u8>, Vec<u8>);

impl Line {
    /// `field` left-aligned in `width` columns, then the two-space column gap.
    fn left(&mut self, width: usize, field: impl FnOnce(&mut Vec<u8>)) {
        let start = self.0.len();
        field(&mut self.0);
        let pad = width.saturating_sub(columns(&self.0[start..]));
        self.0.resize(self.0.len() + pad, b' ');
        self.0.extend_from_slice(b"  ");
    }

    /// `field` right-aligned in `width` columns, then the two-space column gap.
    fn right(&mut self, width: usize, field: impl FnOnce(&mut Vec<u8>)) {
        self.1.clear();
        field(&mut self.1);
        let pad = width.saturating_sub(columns(&self.1));
        self.0.resize(self.0.len() + pad, b' ');
        self.0.extend_from_slice(&self.1);
        self.0.extend_from_slice(b"  ");
    }

    fn text(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// Characters in UTF-8 `b` (bytes that do not continue a sequence).
fn columns(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c & 0xc0 != 0x80).count()
}

/// `client → server`, or `client → original (via server)` when a NAT inside the capture
/// point redirected the connection (an Istio sidecar's 15001): the address the client asked
/// for is what the reader is looking for, the redirect is how it got there.
fn write_flow(out: &mut Vec<u8>, client: SocketAddr, server: SocketAddr, orig: Option<SocketAddr>) {
    write_addr(out, client);
    out.extend_from_slice(" → ".as_bytes());
    match orig {
        Some(orig) => {
            write_addr(out, orig);
            out.extend_from_slice(b" (via ");
            write_addr(out, server);
            out.push(b')');
        }
        None => write_addr(out, server),
    }
}

/// What `Display` prints for `addr` (writing to a `Vec` cannot fail).
fn write_addr(out: &mut Vec<u8>, addr: SocketAddr) {
    let _ = addrfmt::write_addr(out, addr);
}

/// The request's URL: host and target when the target is a path, else the target alone.
fn write_url(out: &mut Vec<u8>, host: Option<&str>, target: &str) {
    if let Some(h) = host.filter(|_| target.starts_with('/')) {
        out.extend_from_slice(escape(h).as_bytes());
    }
    out.extend_from_slice(escape(target).as_bytes());
}

/// `  [note,note]`: "incomplete" first when the exchange is incomplete and does not say so.
fn write_notes(out: &mut Vec<u8>, ex: &Exchange) {
    let incomplete = ex.incomplete() && !ex.notes.contains(&"incomplete");
    if ex.notes.is_empty() && !incomplete {
        return;
    }
    out.extend_from_slice(b"  [");
    let first = incomplete.then_some("incomplete");
    for (i, note) in first
        .into_iter()
        .chain(ex.notes.iter().copied())
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(note.as_bytes());
    }
    out.push(b']');
}

impl<W: Write> Sink for TextSink<W> {
    fn exchange(&mut self, ex: &Exchange, conn: &ConnMeta) -> io::Result<()> {
        if !self.header_done {
            self.header_done = true;
            writeln!(
                self.out,
                "{:<15}  {:<45}  {:<7}  {:>6}  {:>9}  {:>9}  {:>9}  URL  [NOTES]",
                "TIME", "CLIENT → SERVER", "METHOD", "STATUS", "LATENCY", "REQ BODY", "RESP BODY",
            )?;
        }
        self.shown.exchanges += 1;
        if ex.incomplete() {
            self.shown.incomplete += 1;
        }
        if let Some(r) = &ex.response {
            self.shown.by_class[usize::from(r.status / 100).min(5)] += 1;
        }
        let start = ex
            .request
            .as_ref()
            .map(|q| q.msg.first_byte)
            .or(ex.response.as_ref().map(|r| r.msg.first_byte))
            .unwrap_or_default();
        let (q, r) = (ex.request.as_ref(), ex.response.as_ref());
        let line = &mut self.line;
        line.0.clear();
        line.left(15, |o| write_clock(o, start));
        line.left(45, |o| {
            write_flow(o, conn.client, conn.server, conn.original_dst)
        });
        line.left(7, |o| match q {
            Some(q) => o.extend_from_slice(escape(&q.method).as_bytes()),
            None => o.push(b'-'),
        });
        line.right(6, |o| match r {
            // An HTTP/0.9 response has no status line (its status is 0): say so.
            Some(r) if r.msg.version == HttpVersion::Http09 && r.status == 0 => {
                o.extend_from_slice(b"0.9")
            }
            Some(r) => write_decimal(o, u64::from(r.status)),
            None => o.push(b'-'),
        });
        line.right(9, |o| match ex.latency() {
            Some(l) => write_duration(o, l),
            None => o.push(b'-'),
        });
        for msg in [q.map(|q| &q.msg), r.map(|r| &r.msg)] {
            line.right(9, |o| match msg {
                Some(m) => write_bytes(o, m.body_len),
                None => o.push(b'-'),
            });
        }
        match q {
            Some(q) => write_url(&mut line.0, q.msg.header("host"), &q.target),
            None => line.text("-"),
        }
        write_notes(&mut line.0, ex);
        line.0.push(b'\n');
        self.out.write_all(&line.0)
    }

    fn connection(&mut self, c: &Connection) -> io::Result<()> {
        let s = &c.stats;
        self.shown.connections += 1;
        self.shown.retransmissions += s.dir[0].retransmissions + s.dir[1].retransmissions;
        self.shown.gap_bytes += s.dir[0].gap_bytes + s.dir[1].gap_bytes;
        *self.shown.ends.entry(c.end.as_str()).or_default() += 1;
        if self.other.len() >= OTHER_MAX {
            self.other_dropped += 1;
            return Ok(());
        }
        let app = match &c.app {
            AppInfo::Http { .. } | AppInfo::Upgraded { .. } => return Ok(()),
            AppInfo::Unknown => "-".to_string(),
            AppInfo::Tls { sni, alpn, .. } => {
                let mut t = String::from("tls");
                if let Some(sni) = sni {
                    t.push_str(" sni=");
                    t.push_str(&escape(sni));
                }
                if !alpn.is_empty() {
                    t.push_str(" alpn=");
                    t.push_str(&escape(&alpn.join(",")));
                }
                t
            }
        };
        let line = format!(
            "{:<15}  {:<45}  {:>9}  {:>13}  {:>21}  {:<7}  {}",
            clock(s.first),
            {
                let mut flow = Vec::new();
                write_flow(&mut flow, c.client, c.server, c.original_dst);
                String::from_utf8_lossy(&flow).into_owned()
            },
            duration(s.last.since(s.first)),
            format!("{}/{}", s.dir[0].packets, s.dir[1].packets),
            format!("{}/{}", bytes(s.dir[0].payload), bytes(s.dir[1].payload)),
            c.end.as_str(),
            app
        );
        self.other.push(line);
        Ok(())
    }
}
