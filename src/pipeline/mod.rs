//! Drives one analysis: capture → decode → reassembly → http / tls, handing each finished
//! exchange and connection to a [`Sink`] as soon as it is complete.
//!
//! One pass, streaming: nothing is kept per exchange once the sink has it, so memory is bounded
//! by the open connections (themselves bounded by the reassembly limits), not by capture size.
//! The same driver serves the text and JSON reports (and later the TUI and live capture).

mod app;
mod batch;
mod dispatch;
mod forward;
pub mod legs;
mod merge;
mod shard;
mod summary;

pub use app::{AppConn, Output};
pub use summary::Summary;

use crate::capture::Capture;
use crate::decode::{DecodeConfig, Decoder};
use crate::http::HttpLimits;
use crate::model::{Connection, Exchange};
use crate::reassembly::{ConnMeta, Reassembler, ReassemblyConfig};
use batch::{Batch, Collector};

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

/// Runs the whole capture through the layers on the calling thread. `progress` is called now and
/// then with (bytes read, total bytes if known); it may read a clock, the pipeline does not.
pub fn run(
    capture: &mut Capture,
    config: &Config,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::io::Result<Summary> {
    let mut out = output(config);
    drive(capture, config, &mut out, progress, &mut |out, summary| {
        drain(out, summary, sink)
    })
}

/// Batches in flight between the two threads; the analysis blocks when the writer lags.
const BATCHES_IN_FLIGHT: usize = 2;

/// [`run`] on two threads: this one reads, decodes, reassembles and parses; a second one hands
/// the results to `sink` (formatting the report), in the same order, so the output is
/// identical. Worth it when formatting is a large share of the cost (the JSON report: about
/// half). If the sink fails (e.g. a closed pipe) the run stops with its error.
///
/// Results are not moved into the batch: they collect in the [`Output`] the parsers push to,
/// whose vectors are swapped out whole as the batch (`batch.rs`).
///
/// The writer sends each spent batch back, results and all: they are dropped, and the batch's
/// vectors reused, on this thread. Freeing on the thread that allocated keeps the allocator
/// on one arena without a lock handoff per free (glibc's arena lock was ~8 % of the run when
/// the writer freed what this thread allocated).
pub fn run_threaded<S: Sink + Send>(
    capture: &mut Capture,
    config: &Config,
    sink: &mut S,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::io::Result<Summary> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for mut batch in rx {
                batch.write(sink)?;
                batch.drop_splits();
                // The analysis may have stopped already; then the batch is dropped here.
                let _ = spent_tx.send(batch);
            }
            Ok(())
        });
        let mut out = output(config);
        let mut collector = Collector::default();
        // A failed send means the writer stopped on an error; joining it below reports that.
        let send = |out: &mut Output, collector: &mut Collector| -> std::io::Result<()> {
            let mut batch = recycle(&spent_rx);
            collector.take(out, &mut batch);
            tx.send(batch)
                .map_err(|_| std::io::Error::other("report writer stopped"))
        };
        let mut analysis = drive(capture, config, &mut out, progress, &mut |out, summary| {
            if collector.note(out, summary) {
                send(out, &mut collector)?;
            }
            Ok(())
        });
        if analysis.is_ok() && !collector.is_empty() {
            analysis = send(&mut out, &mut collector).and(analysis);
        }
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("report writer panicked")));
        // The writer's error is the cause when both failed.
        written.and(analysis)
    })
}

/// Batches in flight from each flow shard to the merger.
const SHARD_BATCHES_IN_FLIGHT: usize = 4;
/// Forward batches in flight from the reading thread to each other shard.
const FORWARDS_IN_FLIGHT: usize = 2;

/// [`run`] with the connections split over `shards` analysis threads by a hash of their
/// 4-tuple; this thread merges their results into `sink` (see `merge.rs`). One of them reads
/// and decodes the capture, analyzes its own share and forwards the other shards theirs
/// (`dispatch.rs`), so the input is read once: stdin, pipes and merged inputs work too.
///
/// Same results as [`run`], with the same connection ids and summary; the order is the same
/// except where connections of two shards expire at the same segment (idle, RST grace,
/// reordering deadlines). The limits that bound memory over all connections
/// (`max_connections`, `ooo_bytes_total`, `closed_max`) are split evenly over the shards, so
/// evictions can differ from [`run`] when those limits are reached.
pub fn run_sharded(
    capture: &mut Capture,
    shards: usize,
    config: &Config,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::io::Result<Summary> {
    let shards = shards.max(1);
    std::thread::scope(|scope| {
        let mut lanes = Vec::with_capacity(shards);
        let mut workers = Vec::with_capacity(shards);
        let mut followers = Vec::with_capacity(shards - 1);
        let mut own = None;
        for index in 0..shards {
            let (tx, rx) = std::sync::mpsc::sync_channel(SHARD_BATCHES_IN_FLIGHT);
            let (spent_tx, spent_rx) = std::sync::mpsc::channel();
            let worker = shard::Worker::new(shards, config, tx, spent_rx);
            lanes.push(merge::Lane::new(rx, spent_tx));
            if index == 0 {
                own = Some(worker);
                continue;
            }
            let (fwd_tx, fwd_rx) = std::sync::mpsc::sync_channel(FORWARDS_IN_FLIGHT);
            let (back_tx, back_rx) = std::sync::mpsc::channel();
            followers.push(dispatch::Follower::new(fwd_tx, back_rx));
            workers.push(scope.spawn(move || dispatch::follow(worker, fwd_rx, back_tx)));
        }
        if let Some(own) = own {
            let decode = &config.decode;
            workers.push(scope.spawn(move || dispatch::dispatch(capture, decode, own, followers)));
        }
        // The lanes are dropped when the merge ends, so shards blocked on a send stop too.
        let merged = merge::merge(lanes, sink, progress);
        let panicked = workers
            .into_iter()
            .map(|w| w.join().is_err())
            .fold(false, |a, b| a | b);
        if panicked && merged.is_ok() {
            return Err(std::io::Error::other("flow shard panicked"));
        }
        merged
    })
}

/// An empty batch: a spent one back from the writer (its results dropped here) if there is
/// one, else a new one. At most `BATCHES_IN_FLIGHT + 3` batches ever exist.
fn recycle(spent: &std::sync::mpsc::Receiver<Batch>) -> Batch {
    match spent.try_recv() {
        Ok(mut batch) => {
            batch.clear();
            batch
        }
        Err(_) => Batch::new(),
    }
}

/// The output the handlers write to, with the HTTP limits of `config`.
fn output(config: &Config) -> Output {
    Output {
        limits: config.http.clone(),
        ..Output::default()
    }
}

/// The loop shared by [`run`] and [`run_threaded`]: `deliver` takes what each segment finished.
fn drive(
    capture: &mut Capture,
    config: &Config,
    out: &mut Output,
    progress: &mut dyn FnMut(u64, Option<u64>),
    deliver: &mut dyn FnMut(&mut Output, &mut Summary) -> std::io::Result<()>,
) -> std::io::Result<Summary> {
    let mut decoder = Decoder::new(config.decode.clone());
    let mut flows: Reassembler<AppConn> = Reassembler::new(config.reassembly.clone());
    let mut summary = Summary::default();
    let mut frame_no: u64 = 0;

    while let Some(frame) = capture.next_frame() {
        frame_no += 1;
        summary.add_frame(&frame);
        if let Some(segment) = decoder.decode(&frame, frame_no) {
            flows.process_unnat(&segment, out);
            deliver(out, &mut summary)?;
        }
        if frame_no.is_multiple_of(PROGRESS_EVERY) {
            let (read, total) = capture.progress();
            progress(read, total);
        }
    }
    flows.finish(out);
    deliver(out, &mut summary)?;

    summary.finish(capture, decoder.stats(), &flows.stats());
    Ok(summary)
}

fn drain(out: &mut Output, summary: &mut Summary, sink: &mut dyn Sink) -> std::io::Result<()> {
    if out.exchanges.is_empty() && out.connections.is_empty() {
        return Ok(());
    }
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
