//! The reading thread of [`super::run_sharded`]: reads and decodes the capture once, is flow
//! shard 0 itself, and forwards every other shard its segments (see `forward.rs`).
//!
//! Why shard 0 reads rather than a thread of its own: on 2 cores the merger and two shards
//! already share them, and reading plus decoding (~500 instructions a packet) is small next to
//! a shard's reassembly and parsing, so a fourth thread would only add handoffs.
//!
//! Lockstep: each time shard 0 sends its results, every other shard gets its forward batch
//! first, all with the same watermark, and a follower sends its results after each batch it
//! replays. So no shard's results run ahead of what the others have been given, and the
//! merger, waiting for the shard that is furthest behind, can never wait on a batch stuck
//! behind a full channel.

use super::forward::Forward;
use super::shard::{owner_of, Worker, WATERMARK_EVERY};
use super::Summary;
use crate::capture::Capture;
use crate::decode::{DecodeConfig, Decoder};
use std::sync::mpsc::{Receiver, SyncSender};

/// Shard 0's results that make it send (and forward) early.
const BATCH: usize = 128;

/// The sending end of one follower shard.
pub(super) struct Follower {
    pub tx: SyncSender<Forward>,
    pub spent: Receiver<Forward>,
    filling: Forward,
}

impl Follower {
    pub(super) fn new(tx: SyncSender<Forward>, spent: Receiver<Forward>) -> Follower {
        Follower {
            tx,
            spent,
            filling: Forward::new(),
        }
    }

    /// Sends the batch being filled; false if the shard has stopped.
    fn send(&mut self, watermark: u64, end: bool) -> bool {
        let next = match self.spent.try_recv() {
            Ok(mut spent) => {
                spent.clear();
                spent
            }
            Err(_) => Forward::new(),
        };
        let mut full = std::mem::replace(&mut self.filling, next);
        full.watermark = watermark;
        full.end = end;
        self.tx.send(full).is_ok()
    }
}

/// Runs the capture through decode, shard 0 (`own`) and the `followers` (shards 1..).
/// Stops quietly when the merger or a follower has gone away.
pub(super) fn dispatch(
    capture: &mut Capture,
    decode: &DecodeConfig,
    mut own: Worker,
    mut followers: Vec<Follower>,
) {
    let shards = followers.len() + 1;
    let mut decoder = Decoder::new(decode.clone());
    let mut unnat = crate::reassembly::Unnat::new();
    let mut summary = Summary::default();
    let mut frame_no: u64 = 0;
    let mut sent_at: u64 = 0;

    while let Some(frame) = capture.next_frame() {
        frame_no += 1;
        summary.add_frame(&frame);
        let mut full = false;
        if let Some(segment) = decoder.decode(&frame, frame_no) {
            // Both halves of a connection redirected inside the capture point must reach
            // one shard: route by the joined view, forward the segment as captured (the
            // shard's reassembler joins the halves itself and records the original dst).
            let to = owner_of(unnat.observe(&segment), segment.dst, shards);
            if to == 0 {
                own.own(frame_no, &segment);
            } else {
                own.foreign(frame_no, segment.ts);
            }
            for (i, f) in followers.iter_mut().enumerate() {
                if i + 1 == to {
                    f.filling.own(frame_no, &segment);
                    full |= f.filling.is_full();
                } else {
                    f.filling.foreign(frame_no, segment.ts);
                }
            }
        }
        if full || own.pending() >= BATCH || frame_no - sent_at >= WATERMARK_EVERY {
            let sent = followers.iter_mut().all(|f| f.send(frame_no, false));
            if !sent || !own.send(frame_no, capture.progress()) {
                return;
            }
            sent_at = frame_no;
        }
    }
    if !followers.iter_mut().all(|f| f.send(frame_no, true)) {
        return;
    }
    let progress = capture.progress();
    own.finish(frame_no, progress, |reassembly| {
        summary.finish(capture, decoder.stats(), reassembly);
        summary
    });
}

/// A follower shard's loop: replays each forward batch into `worker` and sends its results
/// with the batch's watermark; at the end, closes what is open and sends its counters.
pub(super) fn follow(
    mut worker: Worker,
    rx: Receiver<Forward>,
    spent: std::sync::mpsc::Sender<Forward>,
) {
    for batch in rx {
        batch.replay(&mut worker);
        let (watermark, end) = (batch.watermark, batch.end);
        // The reader may have stopped already; then the batch is dropped here.
        let _ = spent.send(batch);
        if end {
            worker.finish(watermark, (0, None), |reassembly| Summary {
                reassembly: reassembly.clone(),
                ..Summary::default()
            });
            return;
        }
        if !worker.send(watermark, (0, None)) {
            return;
        }
    }
}
