//! The human-readable report: exchanges as they complete, then the TCP connections that carried
//! no HTTP, then the capture summary (known only at the end; tcpdump also prints its counts last).
//!
//! Every captured string goes through `escape`; numbers and addresses are ours.

use super::escape::escape;
use super::timefmt::{bytes, clock, duration};
use crate::model::{AppInfo, Connection, Exchange};
use crate::pipeline::Sink;
use crate::reassembly::ConnMeta;
use std::io::{self, Write};

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
}

impl<W: Write> TextSink<W> {
    pub fn new(out: W) -> Self {
        TextSink {
            out,
            header_done: false,
            other: Vec::new(),
            other_dropped: 0,
            shown: Shown::default(),
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

fn url(host: Option<&str>, target: &str) -> String {
    match host {
        Some(h) if target.starts_with('/') => format!("{}{}", escape(h), escape(target)),
        _ => escape(target).into_owned(),
    }
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
        let start = ex
            .request
            .as_ref()
            .map(|q| q.msg.first_byte)
            .or(ex.response.as_ref().map(|r| r.msg.first_byte))
            .unwrap_or_default();
        let (method, url_text, req_body) = match &ex.request {
            Some(q) => (
                escape(&q.method).into_owned(),
                url(q.msg.header("host"), &q.target),
                bytes(q.msg.body_len),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let (status, resp_body) = match &ex.response {
            Some(r) => {
                let class = usize::from(r.status / 100).min(5);
                self.shown.by_class[class] += 1;
                // An HTTP/0.9 response has no status line (its status is 0): say so.
                let status = match r.msg.version {
                    crate::model::HttpVersion::Http09 if r.status == 0 => "0.9".to_owned(),
                    _ => r.status.to_string(),
                };
                (status, bytes(r.msg.body_len))
            }
            None => ("-".into(), "-".into()),
        };
        let latency = ex.latency().map(duration).unwrap_or_else(|| "-".into());
        let flow = format!("{} → {}", conn.client, conn.server);
        write!(
            self.out,
            "{:<15}  {:<45}  {:<7}  {:>6}  {:>9}  {:>9}  {:>9}  {}",
            clock(start),
            flow,
            method,
            status,
            latency,
            req_body,
            resp_body,
            url_text
        )?;
        if !ex.notes.is_empty() || ex.incomplete() {
            let mut notes: Vec<&str> = ex.notes.to_vec();
            if ex.incomplete() && !notes.contains(&"incomplete") {
                notes.insert(0, "incomplete");
            }
            write!(self.out, "  [{}]", notes.join(","))?;
        }
        writeln!(self.out)
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
            AppInfo::Tls { sni, alpn } => {
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
            format!("{} → {}", c.client, c.server),
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
