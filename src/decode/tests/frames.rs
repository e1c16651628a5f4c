//! Hand-built frames: every link type, encapsulation, IP and TCP edge case.

use super::build::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

fn v4_tcp(payload: &[u8]) -> Vec<u8> {
    ipv4(6, &tcp(&TS_OPT, payload))
}

fn v6_tcp(payload: &[u8]) -> Vec<u8> {
    ipv6(6, &tcp(&[], payload))
}

fn assert_v4(s: &Seen, payload: &[u8]) {
    let src = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(V4_SRC)), 40000);
    let dst = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(V4_DST)), 80);
    assert_eq!((s.src, s.dst, s.seq), (src, dst, 1000));
    assert_eq!(s.payload, payload);
    assert_eq!(s.tsopt, Some((100, 200)));
    assert_eq!(s.ip_len, 20 + 32 + payload.len() as u32);
    assert_eq!((s.missing, s.frame, s.link.interface), (0, 7, 3));
}

fn assert_v6(s: &Seen, payload: &[u8]) {
    assert_eq!(
        s.src,
        SocketAddr::new(IpAddr::V6(Ipv6Addr::from(V6_SRC)), 40000)
    );
    assert_eq!(s.dst.port(), 80);
    assert_eq!(s.payload, payload);
}

#[test]
fn ethernet_ipv4_and_ipv6() {
    let mut d = decoder();
    assert_v4(
        &decode(&mut d, 1, &eth(&[0x0800], &v4_tcp(b"GET /"))).unwrap(),
        b"GET /",
    );
    assert_v6(
        &decode(&mut d, 1, &eth(&[0x86dd], &v6_tcp(b"hi"))).unwrap(),
        b"hi",
    );
    assert_eq!(d.stats().tcp, 2);
}

#[test]
fn vlan_qinq_and_stacked_tags() {
    let mut d = decoder();
    for types in [
        &[0x8100, 0x0800][..],
        &[0x88a8, 0x8100, 0x0800],
        &[0x9100, 0x9100, 0x8100, 0x0800],
    ] {
        let s = decode(&mut d, 1, &eth(types, &v4_tcp(b"x"))).unwrap();
        assert_v4(&s, b"x");
    }
    // Too deep: 20 tags.
    let deep = [0x8100u16; 20];
    let mut types = deep.to_vec();
    types.push(0x0800);
    assert!(decode(&mut d, 1, &eth(&types, &v4_tcp(b"x"))).is_none());
    assert_eq!(
        n(&d.stats().skipped, "too many vlan tags or mpls labels"),
        1
    );
}

#[test]
fn mpls_stack_then_ip_or_pseudowire() {
    let mut d = decoder();
    // Two labels, the second with bottom-of-stack.
    let labels = [0, 0x10, 0x00, 64, 0, 0x20, 0x01, 64];
    let mut p = labels.to_vec();
    p.extend_from_slice(&v4_tcp(b"mpls"));
    assert_v4(&decode(&mut d, 1, &eth(&[0x8847], &p)).unwrap(), b"mpls");
    let mut p = labels[4..].to_vec();
    p.extend_from_slice(&v6_tcp(b"six"));
    assert_v6(&decode(&mut d, 1, &eth(&[0x8848], &p)).unwrap(), b"six");
    // Pseudowire: control word 0, then an Ethernet frame with a VLAN tag.
    let mut p = labels[4..].to_vec();
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(&eth(&[0x8100, 0x0800], &v4_tcp(b"pw")));
    assert_v4(&decode(&mut d, 1, &eth(&[0x8847], &p)).unwrap(), b"pw");
    // Pseudowire carrying ARP is counted as ARP.
    let mut p = labels[4..].to_vec();
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(&eth(&[0x0806], &[0; 28]));
    assert!(decode(&mut d, 1, &eth(&[0x8847], &p)).is_none());
    assert_eq!(n(&d.stats().other, "arp"), 1);
    // A label stack that never ends.
    assert!(decode(&mut d, 1, &eth(&[0x8847], &[0, 0x10, 0, 64])).is_none());
    assert_eq!(n(&d.stats().skipped, "truncated mpls label"), 1);
}

#[test]
fn non_ip_ethernet_is_counted() {
    let mut d = decoder();
    assert!(decode(&mut d, 1, &eth(&[0x0806], &[0; 28])).is_none());
    assert!(decode(&mut d, 1, &eth(&[0x88cc], &[0; 20])).is_none());
    assert!(decode(&mut d, 1, &eth(&[0x0026], &[0x42, 0x42, 3, 0, 0])).is_none());
    assert!(decode(&mut d, 1, &eth(&[0x1234], &[0; 4])).is_none());
    assert!(decode(&mut d, 1, &[0; 10]).is_none());
    let s = d.stats();
    assert_eq!(
        (
            n(&s.other, "arp"),
            n(&s.other, "lldp"),
            n(&s.other, "llc"),
            n(&s.other, "ethertype other")
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(n(&s.skipped, "truncated ethernet header"), 1);
}

fn sll(pkt_type: u16, arphrd: u16, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = pkt_type.to_be_bytes().to_vec();
    f.extend_from_slice(&arphrd.to_be_bytes());
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(&proto.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn sll2(proto: u16, if_index: u32, arphrd: u16, pkt_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = proto.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&if_index.to_be_bytes());
    f.extend_from_slice(&arphrd.to_be_bytes());
    f.extend_from_slice(&[pkt_type, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn linux_sll_and_sll2() {
    let mut d = decoder();
    let s = decode(&mut d, 113, &sll(4, 1, 0x0800, &v4_tcp(b"a"))).unwrap();
    assert_v4(&s, b"a");
    assert_eq!((s.link.pkt_type, s.link.if_index), (Some(4), None));
    let s = decode(&mut d, 113, &sll(0, 1, 0x86dd, &v6_tcp(b"b"))).unwrap();
    assert_v6(&s, b"b");
    let s = decode(&mut d, 276, &sll2(0x0800, 17, 1, 4, &v4_tcp(b"c"))).unwrap();
    assert_v4(&s, b"c");
    assert_eq!((s.link.pkt_type, s.link.if_index), (Some(4), Some(17)));
    // VLAN tag left in by the kernel.
    let mut tagged = vec![0, 100, 0x08, 0x00];
    tagged.extend_from_slice(&v4_tcp(b"d"));
    assert_v4(
        &decode(&mut d, 276, &sll2(0x8100, 2, 1, 0, &tagged)).unwrap(),
        b"d",
    );
    assert!(decode(&mut d, 113, &sll(0, 1, 0x0004, &[0x42, 0x42, 3])).is_none());
    assert!(decode(&mut d, 113, &sll(0, 824, 0x0000, &[0; 16])).is_none());
    assert!(decode(&mut d, 276, &sll2(0x0806, 2, 1, 0, &[0; 28])).is_none());
    assert!(decode(&mut d, 276, &[0; 19]).is_none());
    let st = d.stats();
    assert_eq!(
        (
            n(&st.other, "llc"),
            n(&st.other, "netlink"),
            n(&st.other, "arp")
        ),
        (1, 1, 1)
    );
    assert_eq!(n(&st.skipped, "truncated linux sll2 header"), 1);
}

#[test]
fn null_both_byte_orders_and_loop() {
    let mut d = decoder();
    for family in [2u32, 24, 28, 30, 10] {
        for header in [family.to_le_bytes(), family.to_be_bytes()] {
            let ip = if family == 2 {
                v4_tcp(b"n")
            } else {
                v6_tcp(b"n")
            };
            let mut f = header.to_vec();
            f.extend_from_slice(&ip);
            let s = decode(&mut d, 0, &f).unwrap_or_else(|| panic!("family {family} {header:?}"));
            assert_eq!(s.payload, b"n");
        }
    }
    let mut f = 30u32.to_be_bytes().to_vec();
    f.extend_from_slice(&v6_tcp(b"lo"));
    assert_v6(&decode(&mut d, 108, &f).unwrap(), b"lo");
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend_from_slice(&[0; 20]);
    assert!(decode(&mut d, 0, &f).is_none());
    assert_eq!(n(&d.stats().other, "loopback family other"), 1);
}

/// An NFLOG TLV: little-endian length (header included) and type, padded to 4.
fn tlv(ty: u16, value: &[u8]) -> Vec<u8> {
    let mut t = ((value.len() + 4) as u16).to_le_bytes().to_vec();
    t.extend_from_slice(&ty.to_le_bytes());
    t.extend_from_slice(value);
    while !t.len().is_multiple_of(4) {
        t.push(0);
    }
    t
}

#[test]
fn nflog_tlvs() {
    let mut d = decoder();
    let mut f = vec![2, 0, 0, 5]; // AF_INET, version 0, resource id 5
    f.extend_from_slice(&tlv(1, &[0x08, 0x00, 3, 0])); // NFULA_PACKET_HDR
    f.extend_from_slice(&tlv(10, b"prefix\0")); // NFULA_PREFIX, padded
    f.extend_from_slice(&tlv(4, &[0, 0, 0, 2])); // NFULA_IFINDEX_INDEV
    f.extend_from_slice(&tlv(9, &v4_tcp(b"nf!")));
    assert_v4(&decode(&mut d, 239, &f).unwrap(), b"nf!");
    let mut f = vec![10, 0, 0, 5];
    f.extend_from_slice(&tlv(10, b"abc"));
    f.extend_from_slice(&tlv(9, &v6_tcp(b"six")));
    assert_v6(&decode(&mut d, 239, &f).unwrap(), b"six");
    let mut f = vec![2, 0, 0, 5];
    f.extend_from_slice(&tlv(10, b"no payload"));
    assert!(decode(&mut d, 239, &f).is_none());
    assert_eq!(n(&d.stats().skipped, "nflog without payload"), 1);
}

#[test]
fn raw_ip_link_types() {
    let mut d = decoder();
    for lt in [101, 12, 14] {
        assert_v4(&decode(&mut d, lt, &v4_tcp(b"r")).unwrap(), b"r");
        assert_v6(&decode(&mut d, lt, &v6_tcp(b"r")).unwrap(), b"r");
    }
    assert_v4(&decode(&mut d, 228, &v4_tcp(b"4")).unwrap(), b"4");
    assert_v6(&decode(&mut d, 229, &v6_tcp(b"6")).unwrap(), b"6");
    assert!(decode(&mut d, 228, &v6_tcp(b"6")).is_none());
    assert!(decode(&mut d, 101, &[0x50; 40]).is_none());
    assert!(decode(&mut d, 147, &v4_tcp(b"?")).is_none());
    let s = d.stats();
    assert_eq!(n(&s.skipped, "bad ip version"), 2);
    assert_eq!(n(&s.skipped, "unknown link type"), 1);
    assert_eq!(s.unknown_link_types.get(&147), Some(&1));
}

#[test]
fn ipv4_options_padding_and_tso() {
    let mut d = decoder();
    let opts = [0x94, 4, 0, 0, 1, 1, 1, 0]; // router alert, NOPs, EOL
    let p = ipv4_full(6, 1, 0, &opts, &tcp(&TS_OPT, b"opt"));
    let s = decode(&mut d, 101, &p).unwrap();
    assert_eq!((s.payload.as_slice(), s.ip_len), (&b"opt"[..], 28 + 32 + 3));
    // Ethernet padding after a short packet is not payload.
    let mut padded = eth(&[0x0800], &ipv4(6, &tcp(&[], b"")));
    padded.extend_from_slice(&[0; 6]);
    let s = decode(&mut d, 1, &padded).unwrap();
    assert_eq!((s.payload.len(), s.missing, s.ip_len), (0, 0, 40));
    // TSO: total length 0, the frame is the packet (and the wire had 100 more bytes).
    let mut tso = v4_tcp(&[7; 3000]);
    tso[2..4].copy_from_slice(&[0, 0]);
    let f = eth(&[0x0800], &tso);
    let s = decode_at(&mut d, 1, &f, f.len() as u32 + 100, 0).unwrap();
    assert_eq!((s.payload.len(), s.missing), (3000, 100));
    assert_eq!(s.ip_len, tso.len() as u32 + 100);
    let mut bad = v4_tcp(b"");
    bad[0] = 0x44;
    assert!(decode(&mut d, 101, &bad).is_none());
    assert_eq!(n(&d.stats().skipped, "bad ipv4 header length"), 1);
}

#[test]
fn snaplen_cut_in_payload_and_headers() {
    let mut d = decoder();
    let f = eth(&[0x0800], &v4_tcp(&[1; 1000]));
    let kept = &f[..14 + 20 + 32 + 100];
    let s = decode_at(&mut d, 1, kept, f.len() as u32, 0).unwrap();
    assert_eq!((s.payload.len(), s.missing, s.ip_len), (100, 900, 1052));
    assert_eq!(d.stats().snaplen_cut, 1);
    for cut in [14 + 20 + 10, 14 + 20 + 30, 14 + 12] {
        assert!(decode_at(&mut d, 1, &f[..cut], f.len() as u32, 0).is_none());
    }
    assert_eq!(n(&d.stats().skipped, "tcp header cut by snaplen"), 2);
    assert_eq!(n(&d.stats().skipped, "truncated ipv4 header"), 1);
    let f6 = v6_tcp(&[1; 500]);
    let s = decode_at(&mut d, 101, &f6[..40 + 20 + 10], f6.len() as u32, 0).unwrap();
    assert_eq!((s.payload.len(), s.missing, s.ip_len), (10, 490, 560));
}

#[test]
fn ipv6_extension_chain_and_atomic_fragment() {
    let mut d = decoder();
    let mut p = ext8(43); // hop-by-hop → routing
    p.extend(ext8(60)); // routing → destination options
    p.extend(ext8(51)); // → AH
    p.extend_from_slice(&[44, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]); // AH (len 1: 12 bytes) → frag
    p.extend(frag6(135, 0, false, 99)); // atomic fragment → mobility
    p.extend(ext8(6)); // mobility header (8 bytes) → TCP
    p.extend(tcp(&[], b"ext"));
    let s = decode(&mut d, 229, &ipv6(0, &p)).unwrap();
    assert_v6(&s, b"ext");
    assert_eq!(s.ip_len, 40 + p.len() as u32);
    assert_eq!(
        (d.stats().fragments.atomic, d.stats().fragments.fragments),
        (1, 0)
    );
    for (next, key) in [
        (50, "esp"),
        (59, "ipv6 no next header"),
        (17, "udp"),
        (58, "icmpv6"),
    ] {
        assert!(decode(
            &mut d,
            229,
            &ipv6(60, &{
                let mut e = ext8(next);
                e.extend_from_slice(&[0; 8]);
                e
            })
        )
        .is_none());
        assert_eq!(n(&d.stats().other, key), 1, "{key}");
    }
    // Extension header longer than the packet.
    assert!(decode(&mut d, 229, &ipv6(0, &[6, 4, 0, 0, 0, 0, 0, 0])).is_none());
    assert_eq!(n(&d.stats().skipped, "truncated ipv6 extension header"), 1);
    // Jumbogram: payload length 0, hop-by-hop with the jumbo option.
    let mut j = ipv6(0, &[6, 0, 0xc2, 4, 0, 1, 0, 0]);
    j[4..6].copy_from_slice(&[0, 0]);
    assert!(decode(&mut d, 229, &j).is_none());
    assert_eq!(n(&d.stats().skipped, "ipv6 jumbogram"), 1);
}

#[test]
fn other_ip_protocols_are_counted_by_name() {
    let mut d = decoder();
    for (proto, key) in [
        (17, "udp"),
        (1, "icmp"),
        (2, "igmp"),
        (132, "sctp"),
        (47, "gre"),
        (50, "esp"),
        (250, "ipv4 other"),
    ] {
        assert!(decode(&mut d, 101, &ipv4(proto, &[0; 8])).is_none());
        assert_eq!(n(&d.stats().other, key), 1, "{key}");
    }
    assert!(decode(&mut d, 101, &ipv6(250, &[0; 8])).is_none());
    assert_eq!(n(&d.stats().other, "ipv6 other"), 1);
    assert_eq!(d.stats().tcp, 0);
}
