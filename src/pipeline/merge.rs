//! The merging side of [`super::run_sharded`]: takes the flow shards' batches and hands their
//! results to the sink in one deterministic order, with connection ids as one reassembler
//! over all flows would have given them.
//!
//! Order: by [`Key`] (frame, exchanges before closes, phase of that frame's work), ties between shards by shard
//! index, each shard's own results in the order it produced them; results of the capture end
//! by global connection id, as `Reassembler::finish` closes them. A result is handed on only
//! when every other shard has either a later result buffered or a watermark (last frame fully
//! processed) at or past its frame, so the order never depends on thread timing. It equals
//! the single-threaded order except where two shards' connections expire (idle, deadlines)
//! at the same segment: then one shard's come before the other's instead of interleaving.
//!
//! Ids: each shard numbers its connections 1.. and reports every open; opens are numbered
//! globally in merge order, which is capture order, so ids equal the single-threaded ones.
//! The map holds open connections only (an id is dropped when its connection is handed on).
//!
//! Summary: frames, bytes, files, errors and decode statistics come from shard 0 (the one that
//! reads and decodes for all); reassembly counters are summed; the peaks (`open_peak`,
//! `ooo_peak_bytes`) are counted here from the opens, closes and out-of-order byte counts the
//! shards report, in merge order, so they equal one reassembler's.

use super::shard::{Batch, Item, Key, Keyed, Phase};
use super::{Sink, Summary, PROGRESS_EVERY};
use crate::model::ConnId;
use crate::reassembly::ReassemblyStats;
use std::collections::HashMap;
use std::io;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

/// One shard's stream as the merger sees it.
pub(super) struct Lane {
    rx: Receiver<Batch>,
    spent: Sender<Batch>,
    current: Option<Batch>,
    pos: usize,
    watermark: u64,
    progress: (u64, Option<u64>),
    end: Option<Box<Summary>>,
}

impl Lane {
    pub(super) fn new(rx: Receiver<Batch>, spent: Sender<Batch>) -> Lane {
        Lane {
            rx,
            spent,
            current: None,
            pos: 0,
            watermark: 0,
            progress: (0, None),
            end: None,
        }
    }

    fn head(&self) -> Option<&Keyed> {
        self.current.as_ref()?.items.get(self.pos)
    }

    /// Waits for the shard's next batch.
    fn refill(&mut self) -> io::Result<()> {
        let batch = self
            .rx
            .recv()
            .map_err(|_| io::Error::other("flow shard stopped"))?;
        self.take(batch);
        Ok(())
    }

    /// Takes the shard's next batch if it has sent one; true if it had.
    fn try_refill(&mut self) -> io::Result<bool> {
        match self.rx.try_recv() {
            Ok(batch) => {
                self.take(batch);
                Ok(true)
            }
            Err(TryRecvError::Empty) => Ok(false),
            Err(TryRecvError::Disconnected) => Err(io::Error::other("flow shard stopped")),
        }
    }

    fn take(&mut self, mut batch: Batch) {
        self.watermark = batch.watermark;
        self.progress = batch.progress;
        if let Some(end) = batch.end.take() {
            self.end = Some(end);
        }
        if batch.items.is_empty() {
            let _ = self.spent.send(batch);
        } else {
            self.current = Some(batch);
            self.pos = 0;
        }
    }

    /// Past the head; a spent batch goes back to its shard, which drops its results.
    fn next(&mut self) {
        self.pos += 1;
        if self
            .current
            .as_ref()
            .is_some_and(|b| self.pos >= b.items.len())
        {
            if let Some(batch) = self.current.take() {
                // The shard may have finished already; then the batch is dropped here.
                let _ = self.spent.send(batch);
            }
        }
    }
}

/// Local (shard, id) → global id, for connections not yet handed on.
#[derive(Default)]
struct Ids {
    map: HashMap<(usize, ConnId), ConnId>,
    next: ConnId,
}

impl Ids {
    fn get(&self, shard: usize, id: ConnId) -> ConnId {
        self.map.get(&(shard, id)).copied().unwrap_or(id)
    }
}

/// Merges the lanes into `sink` until every shard has ended; returns the run's summary.
pub(super) fn merge(
    mut lanes: Vec<Lane>,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> io::Result<Summary> {
    let mut ids = Ids {
        next: 1,
        ..Ids::default()
    };
    let (mut open, mut open_peak) = (0u64, 0u64);
    // The last open, and how many were open at that moment once this frame's closes by
    // expiry (which come after it: closes follow exchanges) are counted.
    let mut pending_peak: Option<(u64, u64)> = None;
    let (mut exchanges, mut connections) = (0u64, 0u64);
    let mut progress_at = 0u64;
    let mut ooo_held = vec![0usize; lanes.len()];
    let mut ooo_peak = 0usize;
    loop {
        let mut best: Option<(usize, (Key, ConnId))> = None;
        for (i, lane) in lanes.iter().enumerate() {
            if let Some(head) = lane.head() {
                let order = order(head, i, &ids);
                if best.is_none_or(|(_, b)| order < b) {
                    best = Some((i, order));
                }
            }
        }
        // A shard with nothing buffered may still send something earlier than `best`.
        let waiting = |l: &Lane| {
            l.head().is_none()
                && l.end.is_none()
                && best.is_none_or(|(_, (key, _))| key.frame > l.watermark)
        };
        // Whatever has arrived first; then wait for the shard furthest behind. Shards feed
        // each other (see `dispatch.rs`), so waiting for one that is ahead could wait on a
        // shard that is itself blocked on a full channel to this merger.
        let mut took = false;
        for (j, lane) in lanes.iter_mut().enumerate() {
            if waiting(lane) && lane.try_refill()? {
                took = true;
                if j == 0 {
                    report(lane, &mut progress_at, progress);
                }
            }
        }
        if took {
            continue;
        }
        let behind = (lanes.iter().enumerate())
            .filter(|(_, l)| waiting(l))
            .min_by_key(|(_, l)| l.watermark)
            .map(|(j, _)| j);
        if let Some(j) = behind {
            lanes[j].refill()?;
            if j == 0 {
                report(&lanes[0], &mut progress_at, progress);
            }
            continue;
        }
        let Some((i, (key, _))) = best else { break };
        // Every close that came before the last open is in: its count is final.
        if let Some((frame, at_open)) = pending_peak {
            if key.frame > frame {
                open_peak = open_peak.max(at_open);
                pending_peak = None;
            }
        }
        let lane = &mut lanes[i];
        let Some(keyed) = lane
            .current
            .as_mut()
            .and_then(|b| b.items.get_mut(lane.pos))
        else {
            continue;
        };
        match &mut keyed.item {
            Item::Opened { id, closed_before } => {
                ids.map.insert((i, *id), ids.next);
                ids.next += 1;
                let at_open = open.saturating_sub(u64::from(*closed_before)) + 1;
                pending_peak = Some((keyed.key.frame, at_open));
                open += 1;
            }
            Item::OooBytes { mark, now } => {
                let others: usize = ooo_held.iter().sum::<usize>() - ooo_held[i];
                ooo_peak = ooo_peak.max(others + *mark);
                ooo_held[i] = *now;
            }
            Item::Exchange(exchange, meta) => {
                exchange.conn = ids.get(i, exchange.conn);
                meta.id = ids.get(i, meta.id);
                exchanges += 1;
                sink.exchange(exchange, meta)?;
            }
            Item::Connection(connection) => {
                // Closed by expiry before the segment that opened a connection: one fewer
                // open at that moment.
                if let Some((frame, at_open)) = &mut pending_peak {
                    if *frame == keyed.key.frame && keyed.key.phase == Phase::Expire {
                        *at_open = at_open.saturating_sub(1);
                    }
                }
                connection.id = ids.map.remove(&(i, connection.id)).unwrap_or(connection.id);
                open = open.saturating_sub(1);
                connections += 1;
                sink.connection(connection)?;
            }
        }
        lane.next();
    }

    if let Some((_, at_open)) = pending_peak {
        open_peak = open_peak.max(at_open);
    }
    let mut ends = lanes.into_iter().filter_map(|l| l.end);
    let mut summary = *ends
        .next()
        .ok_or_else(|| io::Error::other("no flow shard"))?;
    for other in ends {
        add(&mut summary.reassembly, &other.reassembly);
    }
    summary.reassembly.open_peak = open_peak;
    summary.reassembly.ooo_peak_bytes = ooo_peak as u64;
    summary.exchanges = exchanges;
    summary.connections = connections;
    Ok(summary)
}

/// Shows progress when shard 0 (the reader) has moved past another step of frames.
fn report(lane: &Lane, progress_at: &mut u64, progress: &mut dyn FnMut(u64, Option<u64>)) {
    if lane.watermark / PROGRESS_EVERY > *progress_at {
        *progress_at = lane.watermark / PROGRESS_EVERY;
        progress(lane.progress.0, lane.progress.1);
    }
}

/// Where a head result goes: its key, then (capture end only) its global connection id.
fn order(head: &Keyed, shard: usize, ids: &Ids) -> (Key, ConnId) {
    if head.key.phase != Phase::Finish {
        return (head.key, 0);
    }
    let local = match &head.item {
        Item::Opened { id, .. } => *id,
        Item::OooBytes { .. } => 0,
        Item::Exchange(_, meta) => meta.id,
        Item::Connection(c) => c.id,
    };
    (head.key, ids.get(shard, local))
}

/// Adds one shard's reassembly counters to `sum` (peaks too; the merger replaces them).
fn add(sum: &mut ReassemblyStats, s: &ReassemblyStats) {
    let ReassemblyStats {
        segments,
        connections,
        closed_fin,
        closed_rst,
        idle,
        reused,
        capture_end,
        evicted,
        open_peak,
        after_close,
        out_of_window,
        ooo_overflows,
        ooo_overflow_gap_bytes,
        ooo_peak_bytes,
        rst_out_of_window,
        rst_overruled,
        reorder_parks,
        reorder_parks_resolved,
    } = s;
    sum.segments += segments;
    sum.connections += connections;
    sum.closed_fin += closed_fin;
    sum.closed_rst += closed_rst;
    sum.idle += idle;
    sum.reused += reused;
    sum.capture_end += capture_end;
    sum.evicted += evicted;
    sum.open_peak += open_peak;
    sum.after_close += after_close;
    sum.out_of_window += out_of_window;
    sum.ooo_overflows += ooo_overflows;
    sum.ooo_overflow_gap_bytes += ooo_overflow_gap_bytes;
    sum.ooo_peak_bytes += ooo_peak_bytes;
    sum.rst_out_of_window += rst_out_of_window;
    sum.rst_overruled += rst_overruled;
    sum.reorder_parks += reorder_parks;
    sum.reorder_parks_resolved += reorder_parks_resolved;
}
