//! Drives one analysis: capture → decode → reassembly → http / tls, handing each finished
//! exchange and connection to a [`Sink`] as soon as it is complete.
//!
//! One pass, streaming: nothing is kept per exchange once the sink has it, so memory is bounded
//! by the open connections (themselves bounded by the reassembly limits), not by capture size.
//! The same driver serves the text and JSON reports (and later the TUI and live capture).

mod app;
mod summary;

pub use app::{AppConn, Output};
pub use summary::Summary;

use crate::capture::Capture;
use crate::decode::{DecodeConfig, Decoder};
use crate::http::HttpLimits;
use crate::model::{Connection, Exchange};
use crate::reassembly::{ConnMeta, Reassembler, ReassemblyConfig};

/// Receives results as they complete. Returning an error stops the run (e.g. a closed pipe).
pub trait Sink {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> std::io::Result<()>;
    fn connection(&mut self, connection: &Connection) -> std::io::Result<()>;
}

/// Limits and settings of every layer.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub decode: DecodeConfig,
    pub reassembly: ReassemblyConfig,
    pub http: HttpLimits,
}

/// Frames between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 1 << 14;

/// Runs the whole capture through the layers. `progress` is called now and then with
/// (bytes read, total bytes if known); it may read a clock, the pipeline does not.
pub fn run(
    capture: &mut Capture,
    config: &Config,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::io::Result<Summary> {
    let mut decoder = Decoder::new(config.decode.clone());
    let mut flows: Reassembler<AppConn> = Reassembler::new(config.reassembly.clone());
    let mut out = Output {
        limits: config.http.clone(),
        ..Output::default()
    };
    let mut summary = Summary::default();
    let mut frame_no: u64 = 0;

    while let Some(frame) = capture.next_frame() {
        frame_no += 1;
        summary.add_frame(&frame);
        if let Some(segment) = decoder.decode(&frame, frame_no) {
            flows.process(&segment, &mut out);
            drain(&mut out, &mut summary, sink)?;
        }
        if frame_no % PROGRESS_EVERY == 0 {
            let (read, total) = capture.progress();
            progress(read, total);
        }
    }
    flows.finish(&mut out);
    drain(&mut out, &mut summary, sink)?;

    summary.finish(capture, decoder.stats(), flows.stats());
    Ok(summary)
}

fn drain(out: &mut Output, summary: &mut Summary, sink: &mut dyn Sink) -> std::io::Result<()> {
    for (exchange, conn) in out.exchanges.drain(..).zip(out.exchange_conns.drain(..)) {
        summary.exchanges += 1;
        sink.exchange(&exchange, &conn)?;
    }
    for connection in out.connections.drain(..) {
        summary.connections += 1;
        sink.connection(&connection)?;
    }
    Ok(())
}
