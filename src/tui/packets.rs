//! One connection's packets as the TCP tab lists them (pure): both directions in capture order,
//! sequence numbers relative to each direction's first, and per packet what the sequence
//! space says about it: a retransmission (its bytes were all sent before), bytes skipped
//! before it (lost to the capture, or reordered), and for a data segment the round trip to
//! the first ACK that covers it (Karn's rule: not for retransmitted data).

use crate::model::{Dir, TcpFlags, Timestamp};
use std::collections::VecDeque;

/// What a segment carried, as read from the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub ts: Timestamp,
    pub dir: Dir,
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
    pub window: u16,
}

/// One row of the TCP tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub ts: Timestamp,
    pub dir: Dir,
    pub flags: TcpFlags,
    /// Relative to the direction's first sequence number (its ISN when the SYN was seen).
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
    pub window: u16,
    pub retransmission: bool,
    /// Sequence space skipped just before this segment.
    pub skipped: u32,
    /// For an ACK: the round trip of the oldest data it newly acknowledged.
    pub rtt: Option<i64>,
}

/// Data segments waiting for their ACK, per direction, at most.
const IN_FLIGHT: usize = 4096;

#[derive(Default)]
struct DirState {
    base: Option<u32>,
    /// Next sequence number expected (relative).
    next: Option<u32>,
    /// (relative end, time sent, retransmitted) of unacknowledged data.
    flight: VecDeque<(u32, Timestamp, bool)>,
}

/// `a` is after `b` in sequence space (RFC 9293 modular comparison).
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Annotates segments in capture order.
pub fn annotate(segments: &[SegmentInfo]) -> Vec<Packet> {
    let mut dirs = [DirState::default(), DirState::default()];
    let mut out = Vec::with_capacity(segments.len());
    for s in segments {
        let d = s.dir.index();
        let base = *dirs[d].base.get_or_insert(s.seq);
        let seq = s.seq.wrapping_sub(base);
        let syn_fin = s.flags.syn() as u32 + s.flags.fin() as u32;
        let end = seq.wrapping_add(s.len).wrapping_add(syn_fin);
        let mut retransmission = false;
        let mut skipped = 0;
        let state = &mut dirs[d];
        match state.next {
            Some(next) if s.len + syn_fin > 0 && !after(end, next) => retransmission = true,
            Some(next) if after(seq, next) => {
                skipped = seq.wrapping_sub(next);
                state.next = Some(end);
            }
            Some(next) if after(end, next) => state.next = Some(end),
            Some(_) => {}
            None => state.next = Some(end),
        }
        if s.len + syn_fin > 0 {
            if retransmission {
                for f in state.flight.iter_mut().filter(|f| !after(f.0, end)) {
                    f.2 = true;
                }
            } else if state.flight.len() < IN_FLIGHT {
                state.flight.push_back((end, s.ts, false));
            }
        }
        // The ACK's RTT: the other direction's oldest data it covers.
        let mut rtt = None;
        let other = &mut dirs[1 - d];
        let mut ack_rel = None;
        if s.flags.ack() {
            if let Some(b) = other.base {
                ack_rel = Some(s.ack.wrapping_sub(b));
            }
        }
        if let Some(ack) = ack_rel {
            while let Some(&(fend, sent, retx)) = other.flight.front() {
                if after(fend, ack) {
                    break;
                }
                other.flight.pop_front();
                if rtt.is_none() && !retx {
                    rtt = Some(s.ts.since(sent));
                }
            }
        }
        out.push(Packet {
            ts: s.ts,
            dir: s.dir,
            flags: s.flags,
            seq,
            ack: ack_rel.unwrap_or(0),
            len: s.len,
            window: s.window,
            retransmission,
            skipped,
            rtt,
        });
    }
    out
}

/// `SYN ACK PSH FIN RST` letters of a segment's flags.
pub fn flag_letters(f: TcpFlags) -> String {
    [
        (TcpFlags::SYN, 'S'),
        (TcpFlags::FIN, 'F'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::ACK, '.'),
    ]
    .iter()
    .filter(|(bit, _)| f.has(*bit))
    .map(|(_, c)| *c)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(ms: i64, dir: Dir, flags: u8, seq: u32, ack: u32, len: u32) -> SegmentInfo {
        SegmentInfo {
            ts: Timestamp(ms * 1_000_000),
            dir,
            flags: TcpFlags(flags),
            seq,
            ack,
            len,
            window: 100,
        }
    }

    #[test]
    fn handshake_data_retransmission_gap_and_rtt() {
        use Dir::{ToClient as C, ToServer as S};
        const A: u8 = TcpFlags::ACK;
        let p = annotate(&[
            seg(0, S, TcpFlags::SYN, 1000, 0, 0),
            seg(1, C, TcpFlags::SYN | A, 5000, 1001, 0),
            seg(2, S, A, 1001, 5001, 0),
            seg(3, S, A, 1001, 5001, 100),
            seg(9, S, A, 1001, 5001, 100), // the same bytes again
            seg(10, C, A, 5001, 1101, 0),  // acks them: no RTT (retransmitted, Karn)
            seg(11, S, A, 1201, 5001, 50), // 100 bytes skipped
            seg(15, C, A, 5001, 1251, 0),
        ]);
        assert_eq!(p[1].rtt, Some(1_000_000), "SYN-ACK acks the SYN");
        assert_eq!(p[2].rtt, Some(1_000_000), "ACK acks the SYN-ACK");
        assert_eq!((p[3].seq, p[3].retransmission), (1, false));
        assert!(p[4].retransmission);
        assert_eq!(p[5].rtt, None);
        assert_eq!(p[6].skipped, 100);
        assert_eq!(p[7].rtt, Some(4_000_000));
        assert_eq!(p[7].ack, 251);
        assert_eq!(flag_letters(TcpFlags(TcpFlags::SYN | A)), "S.");
    }

    #[test]
    fn sequence_wraps() {
        let p = annotate(&[
            seg(0, Dir::ToServer, TcpFlags::ACK, u32::MAX - 10, 0, 20),
            seg(1, Dir::ToServer, TcpFlags::ACK, 9, 0, 20),
        ]);
        assert!(!p[1].retransmission);
        assert_eq!(p[1].skipped, 0);
        assert_eq!(p[1].seq, 20);
    }
}
