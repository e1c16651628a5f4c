//! IP fragment reassembly (IPv4 RFC 791 section 3.2, IPv6 RFC 8200 section 4.5), bounded.
//!
//! Datagrams are keyed by (source, destination, identification, protocol) for IPv4 and
//! (source, destination, identification) for IPv6. On overlap the bytes that arrived first
//! win and the fragment is counted as overlapping (RFC 5722 would drop the whole IPv6
//! datagram; keeping the first copy is what BSD and Wireshark do and loses nothing).
//!
//! Limits: bytes held over all datagrams, datagrams held, byte ranges per datagram, and a
//! timeout in capture time after the first fragment (30 s by default, Linux `ipfrag_time`).
//! The oldest datagram is dropped to make room. Nothing is lost silently: every datagram ends
//! reassembled, expired or dropped over a limit, or is still `pending` at the end.
//!
//! The completed datagram (its fragmentable part) is moved into one buffer the segment then
//! borrows; fragments are rare, so holding them in small vectors is not on the hot path.

use super::ip::{FragInfo, IpPacket};
use super::{DecodeConfig, FragmentStats, NotTcp};
use crate::model::Timestamp;
use std::net::IpAddr;

/// Largest fragmentable part: the 16-bit IP length (RFC 791; RFC 8200 section 4.5).
const MAX_DATAGRAM: u32 = 65_535;
/// Disjoint byte ranges one datagram may hold (tiny fragments in a checkerboard).
const MAX_RANGES: usize = 512;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct FragKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

impl FragKey {
    pub(super) fn new(p: &IpPacket<'_>, id: u32) -> FragKey {
        FragKey {
            src: p.src,
            dst: p.dst,
            id,
            // RFC 8200: the IPv6 key has no protocol; fragments may name different ones.
            proto: if p.v6 { 0 } else { p.proto },
        }
    }
}

/// What became of a fragment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Inserted {
    /// Held (or dropped with its datagram over a limit, counted there).
    Held,
    /// Not taken: the frame is counted as skipped for this reason.
    Dropped(NotTcp),
    /// The datagram is whole, in [`FragTable::assembled`].
    Complete(Done),
}

/// A completed datagram: from its first fragment, protocol and IP header length.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Done {
    pub proto: u8,
    pub header_len: u32,
}

struct Datagram {
    key: FragKey,
    first_ts: Timestamp,
    data: Vec<u8>,
    /// Byte ranges held: sorted, disjoint, not adjacent.
    have: Vec<(u32, u32)>,
    /// End of the datagram, from the fragment with no "more fragments" flag.
    total: Option<u32>,
    first: Option<Done>,
}

pub(super) struct FragTable {
    config: DecodeConfig,
    /// In order of first fragment: the oldest first.
    datagrams: Vec<Datagram>,
    bytes: usize,
    /// Earliest time at which some datagram expires.
    deadline: i64,
    assembled: Vec<u8>,
}

impl FragTable {
    pub(super) fn new(config: DecodeConfig) -> FragTable {
        FragTable {
            config,
            datagrams: Vec::new(),
            bytes: 0,
            deadline: i64::MAX,
            assembled: Vec::new(),
        }
    }

    /// The last datagram completed.
    pub(super) fn assembled(&self) -> &[u8] {
        &self.assembled
    }

    /// Drops datagrams older than the timeout at capture time `now`. One comparison when
    /// nothing is due.
    pub(super) fn expire(&mut self, now: Timestamp, stats: &mut FragmentStats) {
        if now.0 < self.deadline {
            return;
        }
        let timeout = self.config.frag_timeout_ns;
        let before = self.datagrams.len();
        self.datagrams.retain(|d| now.since(d.first_ts) < timeout);
        let gone = (before - self.datagrams.len()) as u64;
        stats.expired += gone;
        stats.pending = stats.pending.saturating_sub(gone);
        self.recount();
    }

    fn recount(&mut self) {
        self.bytes = self.datagrams.iter().map(|d| d.data.len()).sum();
        self.deadline = self
            .datagrams
            .iter()
            .map(|d| d.first_ts.0.saturating_add(self.config.frag_timeout_ns))
            .min()
            .unwrap_or(i64::MAX);
    }

    fn drop_at(&mut self, i: usize, stats: &mut FragmentStats) {
        self.datagrams.remove(i);
        stats.dropped_over_limit += 1;
        stats.pending = stats.pending.saturating_sub(1);
        self.recount();
    }

    /// Adds one fragment's bytes (`data`, at `f.offset` of the fragmentable part).
    pub(super) fn insert(
        &mut self,
        key: FragKey,
        ts: Timestamp,
        f: &FragInfo,
        proto: u8,
        data: &[u8],
        stats: &mut FragmentStats,
    ) -> Inserted {
        if f.cut {
            return Inserted::Dropped(NotTcp::Skip("ip fragment cut by snaplen"));
        }
        let start = f.offset;
        let end = match u32::try_from(data.len())
            .ok()
            .and_then(|l| start.checked_add(l))
        {
            Some(e) if e <= MAX_DATAGRAM => e,
            _ => return Inserted::Dropped(NotTcp::Skip("ip fragment beyond 65535 bytes")),
        };
        let mut i = match self.datagrams.iter().position(|d| d.key == key) {
            Some(i) => i,
            None => {
                if self.datagrams.len() >= self.config.frag_max_datagrams.max(1) {
                    self.drop_at(0, stats);
                }
                self.datagrams.push(Datagram {
                    key,
                    first_ts: ts,
                    data: Vec::new(),
                    have: Vec::new(),
                    total: None,
                    first: None,
                });
                stats.pending += 1;
                self.recount();
                self.datagrams.len() - 1
            }
        };
        // Room: drop the oldest other datagrams, then this one if it alone is too big.
        let grow = (end as usize).saturating_sub(self.datagrams[i].data.len());
        while self.bytes + grow > self.config.frag_max_bytes {
            if i == 0 {
                self.drop_at(0, stats);
                return Inserted::Held;
            }
            self.drop_at(0, stats);
            i -= 1;
        }
        let d = &mut self.datagrams[i];
        if d.have.len() >= MAX_RANGES {
            self.drop_at(i, stats);
            return Inserted::Held;
        }
        if d.data.len() < end as usize {
            self.bytes += end as usize - d.data.len();
            d.data.resize(end as usize, 0);
        }
        let overlapped = d.add(start, end, data, f.more);
        if overlapped {
            stats.overlapping += 1;
        }
        if start == 0 && d.first.is_none() {
            d.first = Some(Done {
                proto,
                header_len: f.header_len,
            });
        }
        match (d.total, d.first, d.have.as_slice()) {
            (Some(t), Some(done), &[(0, e)]) if e == t => {
                let mut d = self.datagrams.remove(i);
                d.data.truncate(t as usize);
                std::mem::swap(&mut self.assembled, &mut d.data);
                stats.reassembled += 1;
                stats.pending = stats.pending.saturating_sub(1);
                self.recount();
                Inserted::Complete(done)
            }
            _ => Inserted::Held,
        }
    }
}

impl Datagram {
    /// Copies the parts of `[start, end)` not held yet; true if some part was held already
    /// (or the fragment disagrees with the known end).
    fn add(&mut self, start: u32, end: u32, data: &[u8], more: bool) -> bool {
        let mut overlapped = false;
        if !more {
            let last = self.have.last().map_or(0, |r| r.1);
            match self.total {
                None if end >= last => self.total = Some(end),
                Some(t) if t == end => {}
                _ => overlapped = true,
            }
        }
        let mut end = end;
        if let Some(t) = self.total {
            if end > t {
                end = t;
                overlapped = true;
            }
        }
        if start >= end {
            return overlapped;
        }
        let mut pos = start;
        for &(s, e) in &self.have {
            if e <= pos {
                continue;
            }
            if s >= end {
                break;
            }
            if s > pos {
                copy(&mut self.data, pos, s, start, data);
            }
            overlapped = true;
            pos = e;
            if pos >= end {
                break;
            }
        }
        if pos < end {
            copy(&mut self.data, pos, end, start, data);
        }
        self.have.push((start, end));
        self.have.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
        overlapped
    }
}

/// Copies `[from, to)` of the datagram from a fragment whose data starts at `start`.
fn copy(buf: &mut [u8], from: u32, to: u32, start: u32, data: &[u8]) {
    let src = data.get((from - start) as usize..(to - start) as usize);
    let dst = buf.get_mut(from as usize..to as usize);
    if let (Some(src), Some(dst)) = (src, dst) {
        dst.copy_from_slice(src);
    }
}
