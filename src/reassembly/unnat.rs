//! Joins the two halves of a connection that a capture point sees under two 4-tuples because
//! NAT sits between the tap and the socket: a REDIRECT (Istio's `-j REDIRECT --to-ports 15001`)
//! or a DNAT done in the same netns.
//!
//! Inside a sidecar pod's netns, `tcpdump -i any` shows the app's connection to a service as
//! `10.244.1.7:49996 > 127.0.0.1:15001` (the SYN and every client packet, already redirected)
//! but the replies as `10.96.100.10:9080 > 10.244.1.7:49996` (already un-NATed back to the
//! original destination): domain.md 3.7, reproduced in the lab. A flow table keyed by 4-tuple
//! sees two one-way connections, requests on one and responses on the other, and pairs
//! nothing. The SYN-ACK proves the halves are one connection: it goes to the SYN's sender and
//! acknowledges the SYN's sequence number (`ack == ISN + 1`), which NAT never rewrites.
//!
//! So: remember recent SYNs by (sender, ISN) with every destination they were seen going to
//! (a packet can be captured before and after NAT on different interfaces: eth0 pre-DNAT and
//! a veth post-DNAT, both under the client's address when there is no SNAT). A SYN-ACK from an
//! address none of those SYNs went to, acknowledging that ISN, creates an alias: packets from
//! that address to the client are presented as coming from the SYN's destination, and the
//! connection records the alias as its original destination (what SO_ORIGINAL_DST would
//! return). Only this exact proof creates an alias; addresses and ports are never guessed.
//!
//! Bounded: a SYN is kept only until its first SYN-ACK (at most `PENDING` unanswered ones),
//! and at most `LIMIT` aliases (oldest forgotten first), so a connection opened more than
//! `LIMIT` redirected connections ago may lose its original destination in the report; its
//! bytes are still reassembled (as two one-way halves). Memory does not grow with the
//! capture: a capture without redirects holds only the SYNs in flight.

use super::table::FxBuild;
use crate::model::Segment;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// Aliases (redirected connections) remembered at most.
const LIMIT: usize = 1 << 16;
/// Unanswered SYNs remembered at most: an answered SYN is forgotten at its SYN-ACK, so only
/// SYNs in flight (or never answered: scans, drops) wait here.
const PENDING: usize = 1 << 12;
/// Distinct destinations remembered per SYN (pre/post NAT copies; more means a SYN flood
/// with one ISN, and the extras are not worth keeping).
const VIEWS: usize = 4;

/// The NAT views of one connection seen so far. (FxHash, as the flow table: `table.rs`.)
#[derive(Default)]
pub struct Unnat {
    /// (client, ISN) → destinations its SYN was captured going to.
    syns: HashMap<(SocketAddr, u32), Vec<SocketAddr>, FxBuild>,
    syn_order: VecDeque<(SocketAddr, u32)>,
    /// (reply source, client) → the destination the client's packets show.
    aliases: HashMap<(SocketAddr, SocketAddr), SocketAddr, FxBuild>,
    /// (client, destination the client's packets show) → the reply source (original dst).
    originals: HashMap<(SocketAddr, SocketAddr), SocketAddr, FxBuild>,
    alias_order: VecDeque<(SocketAddr, SocketAddr)>,
}

impl Unnat {
    pub fn new() -> Unnat {
        Unnat::default()
    }

    /// Looks at a segment before the flow table does; rewrites the source of a reply half to
    /// the address the client's half uses. Nearly free (one branch) until a redirected
    /// connection has been seen.
    #[inline]
    pub fn view(&mut self, seg: &mut Segment<'_>) {
        seg.src = self.observe(seg);
    }

    /// [`Unnat::view`] without the rewrite: takes the segment in and returns the source it
    /// is to be presented with (where a copy of the segment is not worth making).
    #[inline]
    pub fn observe(&mut self, seg: &Segment<'_>) -> SocketAddr {
        if seg.flags.syn() {
            self.syn(seg);
        }
        if !self.aliases.is_empty() {
            if let Some(&shown) = self.aliases.get(&(seg.src, seg.dst)) {
                return shown;
            }
        }
        seg.src
    }

    /// The original destination of the connection `client → server` when its replies came
    /// from another address (see the module doc).
    pub fn original_dst(&self, client: SocketAddr, server: SocketAddr) -> Option<SocketAddr> {
        self.originals.get(&(client, server)).copied()
    }

    fn syn(&mut self, seg: &Segment<'_>) {
        if !seg.flags.ack() {
            let key = (seg.src, seg.seq);
            let views = self.syns.entry(key).or_default();
            if views.is_empty() {
                self.syn_order.push_back(key);
            }
            if views.len() < VIEWS && !views.contains(&seg.dst) {
                views.push(seg.dst);
            }
            while self.syn_order.len() > PENDING {
                if let Some(old) = self.syn_order.pop_front() {
                    self.syns.remove(&old);
                }
            }
            return;
        }
        // SYN-ACK from `seg.src` to the client `seg.dst`.
        let key = (seg.dst, seg.ack.wrapping_sub(1));
        // The first answer decides; a second SYN-ACK (the pre-NAT copy of an answered
        // connection, or a retransmission) finds nothing and changes nothing.
        let Some(views) = self.syns.remove(&key) else {
            return;
        };
        if views.contains(&seg.src) || self.aliases.contains_key(&(seg.src, seg.dst)) {
            return;
        }
        // Several destinations and none answering: which one this reply belongs to is not
        // proven; leave the halves apart rather than guess.
        let [shown] = views[..] else {
            return;
        };
        self.aliases.insert((seg.src, seg.dst), shown);
        self.originals.insert((seg.dst, shown), seg.src);
        self.alias_order.push_back((seg.src, seg.dst));
        while self.alias_order.len() > LIMIT {
            if let Some(old) = self.alias_order.pop_front() {
                if let Some(shown) = self.aliases.remove(&old) {
                    self.originals.remove(&(old.1, shown));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LinkMeta, TcpFlags, Timestamp};

    fn seg(src: &str, dst: &str, flags: u8, seq: u32, ack: u32) -> Segment<'static> {
        Segment {
            ts: Timestamp::default(),
            frame: 0,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            seq,
            ack,
            flags: TcpFlags(flags),
            window: 100,
            tsopt: None,
            payload: &[],
            ip_len: 40,
            missing: 0,
            link: LinkMeta::default(),
        }
    }

    const SYN: u8 = TcpFlags::SYN;
    const SYNACK: u8 = TcpFlags::SYN | TcpFlags::ACK;
    const ACK: u8 = TcpFlags::ACK;

    #[test]
    fn redirect_reply_half_is_presented_as_the_redirected_address() {
        // domain.md 3.7 (a): app → 127.0.0.1:15001, replies from the ClusterIP.
        let mut u = Unnat::new();
        let mut s = seg("10.244.1.7:49996", "127.0.0.1:15001", SYN, 1000, 0);
        u.view(&mut s);
        let mut r = seg("10.96.100.10:9080", "10.244.1.7:49996", SYNACK, 5000, 1001);
        u.view(&mut r);
        assert_eq!(r.src, "127.0.0.1:15001".parse().unwrap());
        let mut d = seg("10.96.100.10:9080", "10.244.1.7:49996", ACK, 5001, 1100);
        u.view(&mut d);
        assert_eq!(d.src, "127.0.0.1:15001".parse().unwrap());
        let client = "10.244.1.7:49996".parse().unwrap();
        assert_eq!(
            u.original_dst(client, "127.0.0.1:15001".parse().unwrap()),
            Some("10.96.100.10:9080".parse().unwrap())
        );
        // The client's own packets are untouched.
        let mut c = seg("10.244.1.7:49996", "127.0.0.1:15001", ACK, 1001, 5001);
        u.view(&mut c);
        assert_eq!(c.dst, "127.0.0.1:15001".parse().unwrap());
    }

    #[test]
    fn a_reply_that_does_not_ack_the_isn_is_left_alone() {
        let mut u = Unnat::new();
        u.view(&mut seg(
            "10.244.1.7:49996",
            "127.0.0.1:15001",
            SYN,
            1000,
            0,
        ));
        let mut r = seg("10.96.100.10:9080", "10.244.1.7:49996", SYNACK, 5000, 77);
        u.view(&mut r);
        assert_eq!(r.src, "10.96.100.10:9080".parse().unwrap());
        assert!(u.aliases.is_empty());
    }

    #[test]
    fn pre_and_post_dnat_copies_without_snat_stay_two_views() {
        // Node capture, eTP=Local: eth0 shows client → node:30081, the veth shows
        // client → pod:9080 (same ISN); each SYN-ACK answers one of them.
        let mut u = Unnat::new();
        u.view(&mut seg(
            "192.168.50.20:50612",
            "192.168.50.10:30081",
            SYN,
            7,
            0,
        ));
        u.view(&mut seg(
            "192.168.50.20:50612",
            "10.244.1.6:9080",
            SYN,
            7,
            0,
        ));
        let mut a = seg("10.244.1.6:9080", "192.168.50.20:50612", SYNACK, 9, 8);
        u.view(&mut a);
        let mut b = seg("192.168.50.10:30081", "192.168.50.20:50612", SYNACK, 9, 8);
        u.view(&mut b);
        assert_eq!(a.src, "10.244.1.6:9080".parse().unwrap());
        assert_eq!(b.src, "192.168.50.10:30081".parse().unwrap());
        assert!(u.aliases.is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let mut u = Unnat::new();
        for i in 0..(LIMIT as u32 + 100) {
            let port = (i % 60000) as u16 + 1024;
            let host = i / 60000;
            let client = format!("10.0.{host}.1:{port}");
            u.view(&mut seg(&client, "127.0.0.1:15001", SYN, i, 0));
            u.view(&mut seg(
                "10.96.0.1:80",
                &client,
                SYNACK,
                1,
                i.wrapping_add(1),
            ));
        }
        assert!(u.syns.len() <= PENDING && u.aliases.len() <= LIMIT);
        assert!(u.originals.len() <= LIMIT);
    }
}
