//! Recently closed 4-tuples, so the stragglers of a closed connection do not open a new one.
//!
//! After both FINs (or a RST) a capture still shows the last ACK, a RST answering late data,
//! retransmitted FINs and data that was in flight. RFC 9293 keeps the tuple in TIME-WAIT for
//! 2*MSL for the same reason (Linux `TCP_TIMEWAIT_LEN`, 60 s). Here a closed tuple is
//! remembered with its last sequence numbers for a capture-time window; within it, a segment
//! that stays within the old sequence space (plus what can be in flight) is counted and
//! dropped. A SYN with a new ISN, or a segment far beyond the old space, is a new connection.
//!
//! Bounded: at most a configured number of entries, oldest forgotten first.

use super::stream::seq_diff;
use super::table::{FlowKey, FxBuild};
use crate::model::{Segment, Timestamp};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// How far past the old next sequence number a straggler may reach: data in flight when the
/// connection closed, bounded by the receive window (16 MiB covers Linux's default
/// `tcp_rmem` maximum of 6 MiB with room).
const IN_FLIGHT: i32 = 1 << 24;

/// What is kept of a closed connection.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Closed {
    pub at: Timestamp,
    /// The client's address: `next[0]`/`isn[0]` are the client's.
    pub client: SocketAddr,
    pub next: [u32; 2],
    pub isn: [u32; 2],
}

pub(crate) struct ClosedSet {
    map: HashMap<FlowKey, (Closed, u64), FxBuild>,
    /// Keys in insertion order with their serial and close time; an entry whose serial no
    /// longer matches `map` is stale (the key was removed or closed again).
    order: VecDeque<(FlowKey, u64, Timestamp)>,
    serial: u64,
    max: usize,
    window_ns: i64,
    /// Bumped whenever `map` loses or replaces an entry (what can make an `order` entry stale).
    generation: u64,
    /// (serial, generation) of the front of `order` when it was last found live: while neither
    /// changed it still is, so [`ClosedSet::expire`], called for every packet, needs no hash
    /// lookup until the front's time is up.
    front_live: Option<(u64, u64)>,
    /// What [`ClosedSet::quiet_until`] last found, while `map` and `order` did not change
    /// since (`None`: to be recomputed). It is asked after every packet; they change only
    /// when a connection closes, a closed tuple is forgotten or a segment reopens one.
    quiet: Option<Option<Timestamp>>,
}

impl ClosedSet {
    pub fn new(max: usize, window_ns: i64) -> Self {
        ClosedSet {
            map: HashMap::default(),
            order: VecDeque::new(),
            serial: 0,
            max,
            window_ns,
            generation: 0,
            front_live: None,
            quiet: None,
        }
    }

    pub fn insert(&mut self, key: FlowKey, closed: Closed) {
        if self.max == 0 {
            return;
        }
        while self.order.len() >= self.max {
            self.pop_oldest();
        }
        self.quiet = None;
        self.serial += 1;
        if self.map.insert(key, (closed, self.serial)).is_some() {
            self.generation += 1;
        }
        self.order.push_back((key, self.serial, closed.at));
    }

    /// Forgets entries older than the window (amortized O(1) per call).
    pub fn expire(&mut self, now: Timestamp) {
        while let Some(&(key, serial, at)) = self.order.front() {
            let expired = now.since(at) > self.window_ns;
            if !expired && self.front_live == Some((serial, self.generation)) {
                break;
            }
            let live = self.map.get(&key).is_some_and(|(_, s)| *s == serial);
            if live && !expired {
                self.front_live = Some((serial, self.generation));
                break;
            }
            if live {
                self.remove(&key);
            }
            self.order.pop_front();
            self.quiet = None;
        }
    }

    /// Until when [`ClosedSet::expire`] would forget nothing: the oldest live entry's close
    /// time plus the window (`None` when empty). Drops stale entries at the front first, as
    /// `expire` would; when they go makes no difference (`insert` drops them first anyway).
    pub fn quiet_until(&mut self) -> Option<Timestamp> {
        if let Some(known) = self.quiet {
            return known;
        }
        let until = self.find_quiet_until();
        self.quiet = Some(until);
        until
    }

    fn find_quiet_until(&mut self) -> Option<Timestamp> {
        while let Some(&(key, serial, at)) = self.order.front() {
            let live = self.front_live == Some((serial, self.generation))
                || self.map.get(&key).is_some_and(|(_, s)| *s == serial);
            if live {
                self.front_live = Some((serial, self.generation));
                return Some(Timestamp(at.0.saturating_add(self.window_ns)));
            }
            self.order.pop_front();
        }
        None
    }

    /// True when `seg` belongs to the closed connection and is to be dropped. A segment that
    /// starts a new connection removes the entry.
    pub fn absorbs(&mut self, key: &FlowKey, seg: &Segment<'_>) -> bool {
        let Some((c, _)) = self.map.get(key) else {
            return false;
        };
        let d = usize::from(seg.src != c.client);
        let straggler = if seg.flags.syn() {
            seg.seq == c.isn[d]
        } else {
            let end = seg.seq.wrapping_add(seg.seq_len());
            seq_diff(end, c.next[d]) <= IN_FLIGHT
        };
        if !straggler {
            self.remove(key);
        }
        straggler
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.generation += 1;
        self.quiet = None;
    }

    fn remove(&mut self, key: &FlowKey) {
        self.map.remove(key);
        self.generation += 1;
        self.quiet = None;
    }

    fn pop_oldest(&mut self) {
        if let Some((key, serial, _)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|(_, s)| *s == serial) {
                self.remove(&key);
            }
        }
    }
}
