//! The live report: the offline pipeline over the capture's pcap stream, writing to a
//! line-buffered stdout (`std::io::Stdout` flushes at each newline, and every exchange line is
//! one `write_all` ending in one), so exchanges appear as they complete. The offline writers
//! are used unchanged; only their output handle differs (`analyze` buffers 64 KiB).
//!
//! With a cluster the legs are also kept (at most [`MAX_LEGS`] connections; the join needs
//! them all) and the journeys are written when the capture ends: text streams the exchange
//! lines first, JSON writes only the joined lines (no duplicate exchange lines).

use super::legs::{write_joined, Legs};
use hopscope::capture::Capture;
use hopscope::join::{Cluster, Leg, PointKind};
use hopscope::model::{Connection, Exchange};
use hopscope::pipeline::{self, Config, Sink, Summary};
use hopscope::reassembly::ConnMeta;
use hopscope::report::{self, JsonSink, TextSink};
use std::io::{self, Write};

/// Connections kept for the join. Past it, exchanges still stream but are not joined.
pub const MAX_LEGS: usize = 100_000;

/// The join to do at the end.
pub struct Join<'a> {
    pub cluster: &'a Cluster,
    pub point: PointKind,
}

/// Runs the pipeline over `capture` until the stream ends and writes the whole report.
pub fn analyze(capture: &mut Capture, json: bool, join: Option<Join<'_>>) -> io::Result<Summary> {
    let config = Config::default();
    let quiet = &mut |_, _| {};
    match (json, join) {
        (false, None) => {
            let mut sink = TextSink::new(io::stdout());
            let summary = pipeline::run(capture, &config, &mut sink, quiet)?;
            sink.finish_sections()?;
            let shown = std::mem::take(&mut sink.shown);
            report::write_summary(sink.out(), &summary, &shown)?;
            Ok(summary)
        }
        (true, None) => {
            let mut sink = JsonSink::new(io::stdout());
            let summary = pipeline::run(capture, &config, &mut sink, quiet)?;
            sink.summary(&summary)?;
            Ok(summary)
        }
        (false, Some(join)) => {
            let mut tee = Tee {
                text: TextSink::new(io::stdout()),
                legs: Capped::default(),
            };
            let summary = pipeline::run(capture, &config, &mut tee, quiet)?;
            let mut out = io::BufWriter::new(io::stdout().lock());
            writeln!(out)?;
            let legs = tee.legs.finish(&mut out)?;
            joined(&mut out, join, legs, false)?;
            report::write_summary(&mut out, &summary, &tee.text.shown)?;
            out.flush()?;
            Ok(summary)
        }
        (true, Some(join)) => {
            let mut legs = Capped::default();
            let summary = pipeline::run(capture, &config, &mut legs, quiet)?;
            let mut out = io::BufWriter::new(io::stdout().lock());
            let legs = legs.finish(&mut io::sink())?;
            joined(&mut out, join, legs, true)?;
            JsonSink::new(&mut out).summary(&summary)?;
            out.flush()?;
            Ok(summary)
        }
    }
}

fn joined(out: &mut dyn Write, join: Join<'_>, done: Vec<Leg>, json: bool) -> io::Result<()> {
    let mut legs = done;
    write_joined(out, &[join.point], &mut legs, join.cluster, json)
}

/// The text report streaming and the legs kept, from one pipeline.
struct Tee<W: Write> {
    text: TextSink<W>,
    legs: Capped,
}

impl<W: Write> Sink for Tee<W> {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> io::Result<()> {
        self.legs.exchange(exchange, conn)?;
        self.text.exchange(exchange, conn)
    }
    fn connection(&mut self, connection: &Connection) -> io::Result<()> {
        self.legs.connection(connection)?;
        self.text.connection(connection)
    }
}

/// [`Legs`] holding at most [`MAX_LEGS`] connections (open or done).
#[derive(Default)]
struct Capped {
    legs: Legs,
    /// Connections (and their exchanges) left out of the join.
    left_out: u64,
}

impl Capped {
    fn full(&self) -> bool {
        self.legs.open.len() + self.legs.done.len() >= MAX_LEGS
    }

    /// The kept legs, every one at point 0; says on `note` how many were left out.
    fn finish(self, note: &mut dyn Write) -> io::Result<Vec<Leg>> {
        if self.left_out > 0 {
            writeln!(
                note,
                "(the join keeps the first {MAX_LEGS} connections; {} more were reported above but not joined)",
                self.left_out
            )?;
        }
        Ok(self
            .legs
            .done
            .into_iter()
            .map(|(conn, exchanges)| Leg {
                point: 0,
                conn,
                exchanges,
            })
            .collect())
    }
}

impl Sink for Capped {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> io::Result<()> {
        if self.legs.open.contains_key(&conn.id) || !self.full() {
            self.legs.exchange(exchange, conn)?;
        }
        Ok(())
    }
    fn connection(&mut self, c: &Connection) -> io::Result<()> {
        if self.legs.open.contains_key(&c.id) || !self.full() {
            self.legs.connection(c)
        } else {
            self.left_out += 1;
            Ok(())
        }
    }
}
