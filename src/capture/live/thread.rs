//! The capture thread: enters the namespace, opens the handle, creates the `-w` file, drops
//! its capabilities, then turns every packet into a pcap record written to the pipe (and the
//! `-w` file) until a stop condition: the stop flag (Ctrl-C), `-c COUNT`, `--duration`, a
//! libpcap error, or the analysis going away.
//!
//! Batching: a non-blocking `pcap_dispatch` hands over what the kernel ring holds (at most
//! [`DISPATCH_MAX`] packets); the records are flushed after every call, so a packet waits at
//! most for the rest of its burst, never for a timer, and a busy link is written in chunks of
//! up to [`CHUNK_BYTES`]. When the ring is empty the loop polls the handle for at most the
//! read timeout, then checks the stop flag. Drop counters are read about once a second and
//! reported when they change.

use super::caps;
use super::error::LiveError;
use super::handle::{self, Opened};
use super::pipe::{PipeWriter, CHUNK_BYTES};
use super::writer::{file_header, push_record};
use super::{Finished, LiveConfig, Started, Stats, StopReason};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Packets taken per `pcap_dispatch` call: bounds the time between two checks of the stop
/// flag and the counters on a saturated link.
const DISPATCH_MAX: usize = 1024;
/// How often the drop counters are read.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Where the records go.
struct Out {
    pipe: PipeWriter,
    file: Option<(String, std::fs::File)>,
    chunk: Vec<u8>,
    /// The analysis stopped reading.
    closed: bool,
    failed: Option<LiveError>,
}

impl Out {
    /// Writes the pending records to the file, then hands them to the pipe.
    fn flush(&mut self) {
        if self.chunk.is_empty() {
            return;
        }
        if let Some((name, f)) = &mut self.file {
            if let Err(e) = f.write_all(&self.chunk) {
                self.failed = Some(LiveError::failure(format!("writing {name}: {e}")));
                self.file = None;
            }
        }
        if self.pipe.send(&mut self.chunk).is_err() {
            self.closed = true;
            self.chunk.clear();
        }
    }
}

/// The thread body. `ready` gets the start result once; the return value is the end.
pub fn run(
    cfg: LiveConfig,
    pipe: PipeWriter,
    ready: SyncSender<Result<Started, LiveError>>,
    stop: Arc<AtomicBool>,
    mut on_stats: Box<dyn FnMut(&Stats) + Send>,
) -> Finished {
    let opened = cfg
        .netns
        .as_deref()
        .map_or(Ok(()), super::netns::enter)
        .and_then(|()| handle::open(&cfg.handle, &cfg.place));
    let mut opened = match opened {
        Ok(o) => o,
        Err(e) => {
            let _ = ready.send(Err(e));
            return Finished::default();
        }
    };
    let file = match &cfg.write {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some((path.display().to_string(), f)),
            Err(e) => {
                let _ = ready.send(Err(LiveError::failure(format!(
                    "cannot create {}: {e}",
                    path.display()
                ))));
                return Finished::default();
            }
        },
        None => None,
    };
    if let Err(e) = caps::drop_all() {
        let _ = ready.send(Err(LiveError::failure(format!(
            "cannot drop capabilities on the capture thread: {e}"
        ))));
        return Finished::default();
    }
    let mut out = Out {
        pipe,
        file,
        chunk: Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4),
        closed: false,
        failed: None,
    };
    out.chunk.extend_from_slice(&file_header(
        opened.link_type,
        opened.snaplen,
        opened.resolution,
    ));
    out.flush();
    if let Some(e) = out.failed.take() {
        let _ = ready.send(Err(e));
        return Finished::default();
    }
    let started = Started {
        link_type: opened.link_type,
        snaplen: opened.snaplen,
        resolution: opened.resolution,
        caps: caps::of_this_thread().ok(),
    };
    if ready.send(Ok(started)).is_err() {
        return Finished::default();
    }
    capture_loop(
        cfg.count,
        cfg.duration,
        &mut opened,
        &mut out,
        &stop,
        &mut *on_stats,
    )
}

fn capture_loop(
    count: Option<u64>,
    duration: Option<Duration>,
    opened: &mut Opened,
    out: &mut Out,
    stop: &AtomicBool,
    on_stats: &mut dyn FnMut(&Stats),
) -> Finished {
    let limit = count.unwrap_or(u64::MAX);
    let deadline = duration.map(|d| Instant::now() + d);
    let mut stats = Stats::default();
    let mut next_stats = Instant::now() + STATS_EVERY;
    let mut error = None;
    let reason = loop {
        if stop.load(Ordering::SeqCst) {
            break StopReason::Signal;
        }
        let captured = &mut stats.captured;
        let got = opened.cap.dispatch(Some(DISPATCH_MAX), |p| {
            if *captured >= limit {
                return; // past -c COUNT within this batch: not captured
            }
            *captured += 1;
            record(&mut out.chunk, &p);
            if out.chunk.len() >= CHUNK_BYTES {
                out.flush();
            }
        });
        out.flush();
        if let Ok(0) = got {
            handle::wait_readable(&opened.cap, handle::READ_TIMEOUT_MS);
        }
        if let Err(e) = got {
            error = Some(LiveError::failure(format!("the capture stopped: {e}")));
            break StopReason::Error;
        }
        if out.closed {
            break StopReason::ReaderGone;
        }
        if let Some(e) = out.failed.take() {
            error = Some(e);
            break StopReason::Error;
        }
        if stats.captured >= limit {
            break StopReason::Count;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            break StopReason::Duration;
        }
        if now >= next_stats {
            next_stats = now + STATS_EVERY;
            let before = (stats.dropped, stats.if_dropped);
            read_stats(opened, &mut stats);
            if (stats.dropped, stats.if_dropped) != before {
                on_stats(&stats);
            }
        }
    };
    if matches!(reason, StopReason::Signal | StopReason::Duration) {
        drain(opened, out, &mut stats.captured, limit);
    }
    out.flush();
    if let Some((name, f)) = &mut out.file {
        if let Err(e) = f.flush() {
            error.get_or_insert(LiveError::failure(format!("writing {name}: {e}")));
        }
    }
    read_stats(opened, &mut stats);
    Finished {
        stats,
        reason,
        error,
    }
}

/// The packets that arrived before the stop but sit in a block the kernel has not handed over
/// yet: it does so within [`handle::BLOCK_TIMEOUT_MS`], so wait that long (twice, for the
/// timer's slack) and take what came. Without this the last few milliseconds before Ctrl-C
/// would be captured by the kernel yet missing from the report and the file.
fn drain(opened: &mut Opened, out: &mut Out, captured: &mut u64, limit: u64) {
    let until = Instant::now() + Duration::from_millis(2 * handle::BLOCK_TIMEOUT_MS as u64);
    loop {
        let got = opened.cap.dispatch(Some(DISPATCH_MAX), |p| {
            if *captured < limit {
                *captured += 1;
                record(&mut out.chunk, &p);
            }
        });
        let left = until.saturating_duration_since(Instant::now());
        if !matches!(got, Ok(n) if n > 0) && left.is_zero() || out.closed {
            break;
        }
        if matches!(got, Ok(0)) {
            let ms = i32::try_from(left.as_millis()).unwrap_or(0).max(1);
            handle::wait_readable(&opened.cap, ms);
        }
        if got.is_err() {
            break;
        }
    }
}

/// One packet as a pcap record.
fn record(chunk: &mut Vec<u8>, p: &pcap::Packet<'_>) {
    let h = p.header;
    let sec = u32::try_from(h.ts.tv_sec).unwrap_or(0);
    let frac = u32::try_from(h.ts.tv_usec).unwrap_or(0);
    push_record(chunk, sec, frac, p.data, h.len);
}

fn read_stats(opened: &mut Opened, stats: &mut Stats) {
    if let Ok(s) = opened.cap.stats() {
        stats.received = s.received;
        stats.dropped = s.dropped;
        stats.if_dropped = s.if_dropped;
    }
}
