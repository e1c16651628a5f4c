//! The TCP header (RFC 9293 section 3.1): ports, sequence numbers, flags, window, and the
//! timestamp option (RFC 7323 section 3); the payload is what follows the header, as long as
//! the IP header says.
//!
//! Options other than the timestamp are skipped by their length; a malformed option list only
//! means "no timestamp". Checksums are not verified: segmentation and checksum offload leave
//! them wrong on the capturing host, and a wrong checksum is no reason to lose data here.

use super::NotTcp;
use crate::model::TcpFlags;

const SRC_PORT: usize = 0;
const DST_PORT: usize = 2;
const SEQ: usize = 4;
const ACK: usize = 8;
const DATA_OFFSET: usize = 12;
const FLAGS: usize = 13;
const WINDOW: usize = 14;
const MIN_HEADER: usize = 20;

// Options (IANA "TCP Option Kind Numbers").
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_TIMESTAMP: u8 = 8;
const OPT_TIMESTAMP_LEN: usize = 10;
/// Options examined at most: 40 option bytes hold at most 40 options.
const MAX_OPTIONS: usize = 40;

/// The parts of a TCP segment the model keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub tsopt: Option<(u32, u32)>,
    pub payload: &'a [u8],
    /// Payload bytes announced by IP but not captured.
    pub missing: u32,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `seg`: the transport bytes captured; `announced`: how many the IP header announced.
#[inline(always)]
pub(super) fn decode(seg: &[u8], announced: u32) -> Result<Tcp<'_>, NotTcp> {
    let announced = announced as usize;
    let Some(h) = seg.get(..MIN_HEADER) else {
        return Err(if announced >= MIN_HEADER {
            NotTcp::Skip("tcp header cut by snaplen")
        } else {
            NotTcp::Skip("truncated tcp header")
        });
    };
    let hlen = usize::from(h[DATA_OFFSET] >> 4) * 4;
    if hlen < MIN_HEADER || hlen > announced {
        return Err(NotTcp::Skip("bad tcp data offset"));
    }
    let Some(options) = seg.get(MIN_HEADER..hlen) else {
        return Err(NotTcp::Skip("tcp header cut by snaplen"));
    };
    let payload = seg.get(hlen..announced.min(seg.len())).unwrap_or_default();
    let missing = announced - hlen - payload.len();
    Ok(Tcp {
        src_port: be16(h, SRC_PORT),
        dst_port: be16(h, DST_PORT),
        seq: be32(h, SEQ),
        ack: be32(h, ACK),
        flags: TcpFlags(h[FLAGS]),
        window: be16(h, WINDOW),
        tsopt: timestamp(options),
        payload,
        missing: u32::try_from(missing).unwrap_or(u32::MAX),
    })
}

/// TSval and TSecr of the timestamp option (kind 8, length 10), if the list is well formed up
/// to it.
#[inline(always)]
fn timestamp(mut opts: &[u8]) -> Option<(u32, u32)> {
    // What Linux and the BSDs send on every segment: NOP, NOP, timestamp (RFC 7323 appendix A).
    if let Some(o) = opts.get(..12) {
        if o[..4] == [OPT_NOP, OPT_NOP, OPT_TIMESTAMP, OPT_TIMESTAMP_LEN as u8] {
            return Some((be32(o, 4), be32(o, 8)));
        }
    }
    for _ in 0..MAX_OPTIONS {
        match *opts.first()? {
            OPT_EOL => return None,
            OPT_NOP => opts = &opts[1..],
            kind => {
                let len = usize::from(*opts.get(1)?);
                if len < 2 {
                    return None;
                }
                let opt = opts.get(..len)?;
                if kind == OPT_TIMESTAMP {
                    return (len == OPT_TIMESTAMP_LEN).then(|| (be32(opt, 2), be32(opt, 6)));
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(doff: u8, opts: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0..2].copy_from_slice(&1234u16.to_be_bytes());
        h[2..4].copy_from_slice(&80u16.to_be_bytes());
        h[4..8].copy_from_slice(&7u32.to_be_bytes());
        h[8..12].copy_from_slice(&9u32.to_be_bytes());
        h[12] = doff << 4;
        h[13] = TcpFlags::ACK | TcpFlags::PSH;
        h[14..16].copy_from_slice(&512u16.to_be_bytes());
        h.extend_from_slice(opts);
        h
    }

    const TS: [u8; 12] = [1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6];

    #[test]
    fn fields_options_and_payload() {
        let mut s = header(8, &TS);
        s.extend_from_slice(b"hello");
        let t = decode(&s, s.len() as u32).unwrap();
        assert_eq!((t.src_port, t.dst_port, t.seq, t.ack), (1234, 80, 7, 9));
        assert_eq!(t.window, 512);
        assert!(t.flags.ack() && t.flags.has(TcpFlags::PSH));
        assert_eq!(t.tsopt, Some((5, 6)));
        assert_eq!((t.payload, t.missing), (&b"hello"[..], 0));
    }

    #[test]
    fn payload_cut_counts_missing() {
        let mut s = header(5, &[]);
        s.extend_from_slice(b"abc");
        let t = decode(&s, 20 + 100).unwrap();
        assert_eq!((t.payload.len(), t.missing), (3, 97));
    }

    #[test]
    fn header_cut_and_bad_offsets() {
        let s = header(5, &[]);
        assert_eq!(
            decode(&s[..12], 40),
            Err(NotTcp::Skip("tcp header cut by snaplen"))
        );
        assert_eq!(
            decode(&s[..12], 12),
            Err(NotTcp::Skip("truncated tcp header"))
        );
        let s = header(8, &TS);
        assert_eq!(
            decode(&s[..24], 40),
            Err(NotTcp::Skip("tcp header cut by snaplen"))
        );
        assert_eq!(
            decode(&header(4, &[]), 20),
            Err(NotTcp::Skip("bad tcp data offset"))
        );
        assert_eq!(
            decode(&header(8, &TS), 28),
            Err(NotTcp::Skip("bad tcp data offset"))
        );
    }

    #[test]
    fn malformed_options_mean_no_timestamp() {
        for opts in [
            &[8u8, 9, 0, 0, 0, 5, 0, 0, 0, 6, 1, 1][..], // wrong length
            &[2, 0, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0],      // zero length option
            &[0, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6],      // EOL first
            &[2, 40, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0],     // overlong option
        ] {
            let s = header(8, opts);
            assert_eq!(decode(&s, s.len() as u32).unwrap().tsopt, None, "{opts:?}");
        }
        // MSS, NOPs, SACK-permitted, then the timestamp (a SYN's usual list).
        let opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let s = header(10, &opts);
        assert_eq!(decode(&s, s.len() as u32).unwrap().tsopt, Some((256, 0)));
    }
}
