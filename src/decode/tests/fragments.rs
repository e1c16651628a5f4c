//! IP fragment reassembly through the decoder: orders, overlaps, limits, expiry, IPv6.

use super::build::*;
use crate::decode::{DecodeConfig, Decoder};

/// The datagram's payload split at `cuts` (multiples of 8) into IPv4 fragments, id `id`.
fn v4_frags(id: u16, proto: u8, datagram: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(datagram.len());
    bounds
        .windows(2)
        .map(|w| {
            let more = if w[1] < datagram.len() { 0x2000 } else { 0 };
            ipv4_full(
                proto,
                id,
                more | (w[0] / 8) as u16,
                &[],
                &datagram[w[0]..w[1]],
            )
        })
        .collect()
}

fn segment() -> Vec<u8> {
    tcp(&TS_OPT, &(0..100u8).collect::<Vec<_>>())
}

#[test]
fn in_order_and_reversed() {
    for reversed in [false, true] {
        let mut d = decoder();
        let mut frags = v4_frags(7, 6, &segment(), &[40, 80]);
        if reversed {
            frags.reverse();
        }
        assert!(decode(&mut d, 101, &frags[0]).is_none());
        assert!(decode(&mut d, 101, &frags[1]).is_none());
        let s = decode(&mut d, 101, &frags[2]).expect("reassembled");
        assert_eq!(s.payload, (0..100u8).collect::<Vec<_>>());
        assert_eq!(
            (s.tsopt, s.ip_len, s.missing),
            (Some((100, 200)), 20 + 132, 0)
        );
        let f = &d.stats().fragments;
        assert_eq!(
            (f.fragments, f.reassembled, f.pending, f.overlapping),
            (3, 1, 0, 0)
        );
        assert_eq!(d.stats().tcp, 1);
    }
}

#[test]
fn overlap_keeps_the_first_copy() {
    let mut d = decoder();
    let seg = segment();
    let frags = v4_frags(9, 6, &seg, &[40]);
    // A second copy of bytes 32..64 with different contents, arriving between the two.
    let mut other = seg[32..64].to_vec();
    other.iter_mut().for_each(|b| *b = 0xee);
    let overlap = ipv4_full(6, 9, 0x2000 | 4, &[], &other);
    assert!(decode(&mut d, 101, &frags[0]).is_none());
    assert!(decode(&mut d, 101, &overlap).is_none());
    let s = decode(&mut d, 101, &frags[1]).unwrap();
    // Bytes 32..40 came from the first fragment; 40..64 from the overlapping copy (first there).
    let mut want = seg[32..].to_vec();
    want[8..32].iter_mut().for_each(|b| *b = 0xee);
    assert_eq!(&s.payload[..], &want[..]);
    assert_eq!(d.stats().fragments.overlapping, 2);
    // Exact duplicate of a fragment of a completed datagram starts a new one.
    assert!(decode(&mut d, 101, &frags[1]).is_none());
    assert_eq!(d.stats().fragments.pending, 1);
}

#[test]
fn never_completed_is_pending_then_expired() {
    let mut d = decoder();
    let frags = v4_frags(3, 6, &segment(), &[64]);
    assert!(decode_at(&mut d, 101, &frags[0], frags[0].len() as u32, 100).is_none());
    assert_eq!(d.stats().fragments.pending, 1);
    // 29 s later: still held, the missing fragment would complete it.
    let other = ipv4(17, &[0; 8]);
    decode_at(&mut d, 101, &other, other.len() as u32, 129);
    assert_eq!(
        (d.stats().fragments.pending, d.stats().fragments.expired),
        (1, 0)
    );
    decode_at(&mut d, 101, &other, other.len() as u32, 131);
    assert_eq!(
        (d.stats().fragments.pending, d.stats().fragments.expired),
        (0, 1)
    );
    // The late fragment alone does not make a datagram.
    assert!(decode_at(&mut d, 101, &frags[1], frags[1].len() as u32, 132).is_none());
    assert_eq!(d.stats().fragments.pending, 1);
}

#[test]
fn limits_drop_the_oldest() {
    let config = DecodeConfig {
        frag_max_datagrams: 2,
        frag_max_bytes: 1000,
        ..DecodeConfig::default()
    };
    let mut d = Decoder::new(config);
    let seg = segment();
    let firsts: Vec<Vec<u8>> = (1..=3)
        .map(|id| v4_frags(id, 6, &seg, &[64]).remove(0))
        .collect();
    for f in &firsts {
        assert!(decode(&mut d, 101, f).is_none());
    }
    assert_eq!(
        (
            d.stats().fragments.dropped_over_limit,
            d.stats().fragments.pending
        ),
        (1, 2)
    );
    // Datagram 1 was dropped: its last fragment does not complete it; datagram 3 completes.
    let last = |id| v4_frags(id, 6, &seg, &[64]).remove(1);
    assert!(decode(&mut d, 101, &last(1)).is_none());
    assert!(decode(&mut d, 101, &last(3)).is_some());
    // One datagram bigger than all the bytes allowed.
    let big = vec![0u8; 1600];
    let frags = v4_frags(50, 6, &big, &[800]);
    assert!(decode(&mut d, 101, &frags[1]).is_none());
    assert!(decode(&mut d, 101, &frags[0]).is_none());
    let f = &d.stats().fragments;
    assert!(f.dropped_over_limit >= 3, "{f:?}");
    // Beyond the 16-bit datagram length.
    let far = ipv4_full(6, 51, 0x2000 | 8190, &[], &[0; 64]);
    assert!(decode(&mut d, 101, &far).is_none());
    assert_eq!(n(&d.stats().skipped, "ip fragment beyond 65535 bytes"), 1);
}

#[test]
fn cut_fragment_and_fragmented_udp() {
    let mut d = decoder();
    let frags = v4_frags(5, 17, &[0u8; 64], &[32]);
    let f0 = eth(&[0x0800], &frags[0]);
    assert!(decode_at(&mut d, 1, &f0[..40], f0.len() as u32, 0).is_none());
    assert_eq!(n(&d.stats().skipped, "ip fragment cut by snaplen"), 1);
    assert!(decode(&mut d, 101, &frags[0]).is_none());
    assert!(decode(&mut d, 101, &frags[1]).is_none());
    assert_eq!(n(&d.stats().other, "udp"), 1);
    assert_eq!(d.stats().fragments.reassembled, 1);
}

#[test]
fn ipv6_fragments_with_extension_headers() {
    let mut d = decoder();
    // Fragmentable part: destination options, then TCP.
    let mut part = ext8(6);
    part.extend(tcp(&[], &[5; 60]));
    let (a, b) = part.split_at(48);
    let mut p1 = ext8(44); // hop-by-hop (unfragmentable) → fragment
    p1.extend(frag6(60, 0, true, 0xdead));
    p1.extend_from_slice(a);
    let mut p2 = ext8(44);
    p2.extend(frag6(60, 48, false, 0xdead));
    p2.extend_from_slice(b);
    assert!(decode(&mut d, 229, &ipv6(0, &p2)).is_none());
    let s = decode(&mut d, 229, &ipv6(0, &p1)).unwrap();
    assert_eq!(s.payload, vec![5; 60]);
    assert_eq!(s.ip_len, 40 + 8 + part.len() as u32);
    let f = &d.stats().fragments;
    assert_eq!((f.fragments, f.reassembled, f.atomic), (2, 1, 0));
}
