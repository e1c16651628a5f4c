//! The flow table: connections by 4-tuple, in least-recently-active order.
//!
//! A hash map from the direction-independent [`FlowKey`] to a slot of a slab; the slots form an
//! intrusive doubly linked list ordered by last activity, so touching a connection, finding the
//! least recently active one (idle expiry, eviction) and removing one are all O(1). Nothing is
//! scanned per packet.
//!
//! The hasher is FxHash (the rustc/Firefox multiply-rotate hash): a few cycles per word, good
//! enough for keys an attacker does not choose freely at line rate in an offline analyzer. A
//! capture is trusted input as far as hash flooding goes; the table size is bounded anyway.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::SocketAddr;

/// FxHash: `h = (h.rotl(5) ^ word) * K` per word (rustc-hash), finished with a rotation so
/// the well-mixed high bits reach the bucket index.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_K: u64 = 0xf135_7aea_2e62_a9c5;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_K);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// A connection's 4-tuple with the endpoints in a fixed order, so both directions find it.
///
/// The endpoints are plain integers rather than `SocketAddr`s: comparing, ordering and
/// hashing the enum (and IPv4's octet-wise order) was ~50 instructions of every packet's
/// lookup. The order only has to be the same for both directions; it is not `SocketAddr`'s.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct FlowKey {
    lo: End,
    hi: End,
}

/// One endpoint: the address (IPv4 in the low 32 bits) and the port, with bit 16 set for
/// IPv6 so that an IPv4 endpoint never equals an IPv6 one (not even `::ffff:a.b.c.d`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct End {
    ip: u128,
    port: u32,
}

const V6: u32 = 1 << 16;

impl End {
    #[inline]
    fn of(addr: SocketAddr) -> End {
        match addr {
            SocketAddr::V4(a) => End {
                ip: u128::from(u32::from(*a.ip())),
                port: u32::from(a.port()),
            },
            SocketAddr::V6(a) => End {
                ip: u128::from(*a.ip()),
                port: u32::from(a.port()) | V6,
            },
        }
    }

    /// One word for the hasher: exact for IPv4 (port in bits 0-15, address in 16-47), a
    /// fold of the 128 bits for IPv6. The port must sit low: FxHash's multiply carries low
    /// bits up only, and the bucket index comes from the middle of the product, so a port
    /// in the top bits would put every connection between two hosts in one bucket.
    #[inline]
    fn word(self) -> u64 {
        let fold = (self.ip as u64) ^ ((self.ip >> 64) as u64).rotate_left(32);
        fold.rotate_left(16) ^ u64::from(self.port)
    }
}

impl FlowKey {
    #[inline]
    pub fn new(a: SocketAddr, b: SocketAddr) -> FlowKey {
        let (a, b) = (End::of(a), End::of(b));
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
    }
}

impl Hash for FlowKey {
    #[inline]
    fn hash<S: Hasher>(&self, state: &mut S) {
        state.write_u64(self.lo.word());
        state.write_u64(self.hi.word());
    }
}

const NIL: u32 = u32::MAX;

struct Slot<T> {
    key: FlowKey,
    value: Option<T>,
    /// Towards the most recently active.
    newer: u32,
    /// Towards the least recently active.
    older: u32,
}

/// Slab of values, indexed by key, kept in activity order.
pub(crate) struct Table<T> {
    index: HashMap<FlowKey, u32, FxBuild>,
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    newest: u32,
    oldest: u32,
}

impl<T> Table<T> {
    pub fn new() -> Self {
        Table {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn find(&self, key: &FlowKey) -> Option<u32> {
        self.index.get(key).copied()
    }

    pub fn get(&self, slot: u32) -> Option<&T> {
        self.slots.get(slot as usize)?.value.as_ref()
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.slots.get_mut(slot as usize)?.value.as_mut()
    }

    /// The least recently active entry.
    pub fn oldest(&self) -> Option<u32> {
        (self.oldest != NIL).then_some(self.oldest)
    }

    /// Inserts as the most recently active. The key must not be present.
    pub fn insert(&mut self, key: FlowKey, value: T) -> u32 {
        let slot = Slot {
            key,
            value: Some(value),
            newer: NIL,
            older: NIL,
        };
        let at = match self.free.pop() {
            Some(at) => {
                if let Some(s) = self.slots.get_mut(at as usize) {
                    *s = slot;
                }
                at
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, at);
        self.link_newest(at);
        at
    }

    /// Marks the entry as the most recently active.
    pub fn touch(&mut self, at: u32) {
        if self.newest != at {
            self.unlink(at);
            self.link_newest(at);
        }
    }

    pub fn remove(&mut self, at: u32) -> Option<(FlowKey, T)> {
        let slot = self.slots.get_mut(at as usize)?;
        let value = slot.value.take()?;
        let key = slot.key;
        self.unlink(at);
        self.index.remove(&key);
        self.free.push(at);
        Some((key, value))
    }

    /// Every live slot, in no particular order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.index.values().copied()
    }

    fn link_newest(&mut self, at: u32) {
        let old_newest = self.newest;
        if let Some(s) = self.slots.get_mut(at as usize) {
            s.older = old_newest;
            s.newer = NIL;
        }
        match self.slots.get_mut(old_newest as usize) {
            Some(s) => s.newer = at,
            None => self.oldest = at,
        }
        self.newest = at;
    }

    fn unlink(&mut self, at: u32) {
        let Some(s) = self.slots.get(at as usize) else {
            return;
        };
        let (newer, older) = (s.newer, s.older);
        match self.slots.get_mut(newer as usize) {
            Some(n) => n.older = older,
            None => self.newest = older,
        }
        match self.slots.get_mut(older as usize) {
            Some(o) => o.newer = newer,
            None => self.oldest = newer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> FlowKey {
        FlowKey::new(
            SocketAddr::from(([10, 0, 0, 1], port)),
            SocketAddr::from(([10, 0, 0, 2], 80)),
        )
    }

    #[test]
    fn key_is_direction_independent() {
        let a = SocketAddr::from(([10, 0, 0, 1], 1234));
        let b = SocketAddr::from(([10, 0, 0, 2], 80));
        assert_eq!(FlowKey::new(a, b), FlowKey::new(b, a));
    }

    #[test]
    fn key_tells_families_and_ports_apart() {
        let v4 = SocketAddr::from(([10, 0, 0, 1], 80));
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:80".parse().unwrap();
        let other: SocketAddr = "[::ffff:10.0.0.2]:80".parse().unwrap();
        let peer = SocketAddr::from(([10, 0, 0, 2], 1234));
        assert_ne!(FlowKey::new(v4, peer), FlowKey::new(mapped, peer));
        assert_ne!(FlowKey::new(mapped, peer), FlowKey::new(other, peer));
        assert_ne!(
            FlowKey::new(v4, peer),
            FlowKey::new(SocketAddr::from(([10, 0, 0, 1], 81)), peer)
        );
        assert_eq!(FlowKey::new(mapped, other), FlowKey::new(other, mapped));
    }

    #[test]
    fn lru_order_follows_touches() {
        let mut t = Table::new();
        let a = t.insert(key(1), 'a');
        let b = t.insert(key(2), 'b');
        let c = t.insert(key(3), 'c');
        assert_eq!(t.oldest(), Some(a));
        t.touch(a);
        assert_eq!(t.oldest(), Some(b));
        assert_eq!(t.remove(b).map(|(_, v)| v), Some('b'));
        assert_eq!(t.oldest(), Some(c));
        let d = t.insert(key(4), 'd');
        assert_eq!(d, b, "slot reused");
        assert_eq!(t.find(&key(4)), Some(d));
        t.remove(c);
        t.remove(a);
        assert_eq!(t.oldest(), Some(d));
        t.remove(d);
        assert_eq!(t.oldest(), None);
        assert_eq!(t.len(), 0);
    }
}
