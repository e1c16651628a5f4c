//! Hand-built pcapng inputs (sections, interfaces, every block type, damage) and the merge
//! order of several inputs.

use super::build::*;
use super::endian::Endian::{self, Big, Little};
use super::{Capture, ErrorKind};

const NS: i64 = 1_000_000_000;

fn pcapng_two_sections(e: Endian) -> Vec<u8> {
    let mut v = shb(e);
    v.extend(idb(e, 1, 262144, &[(2, b"eth0"), (3, b"uplink\0")]));
    // Nanoseconds, one hour offset.
    let hour = 3600u64.to_le_bytes();
    let hour_e = if e == Little {
        hour
    } else {
        3600u64.to_be_bytes()
    };
    v.extend(idb(e, 113, 0, &[(2, b"any"), (9, &[9]), (14, &hour_e)]));
    v.extend(epb(e, 0, 1_500_000, 100, b"a0")); // µs: 1.5 s
    v.extend(epb(e, 1, 42, 2, b"b1"));
    // Section 2, the other byte order, resets interfaces: id 0 is new.
    let o = if e == Little { Big } else { Little };
    v.extend(shb(o));
    v.extend(idb(o, 276, 65535, &[(9, &[0x80 | 10])]));
    v.extend(epb(o, 0, 2048, 2, b"c2")); // 2^-10 s: 2 s
    v
}

#[test]
fn pcapng_sections_interfaces_and_resolutions() {
    for e in [Little, Big] {
        let (got, err) = read_all(open(pcapng_two_sections(e)).unwrap());
        assert!(err.is_none(), "{err:?}");
        let summary: Vec<_> = got
            .iter()
            .map(|g| (g.ts, g.link_type, g.interface))
            .collect();
        assert_eq!(
            summary,
            vec![
                (1_500_000_000, 1, 0),
                (3600 * NS + 42, 113, 1),
                (2 * NS, 276, 2)
            ]
        );
        assert_eq!(got[0].orig_len, 100);
        let r = open(pcapng_two_sections(e)).unwrap();
        let mut c = Capture::new(vec![r]);
        while c.next_frame().is_some() {}
        let ifs = c.interfaces();
        assert_eq!(ifs.len(), 3);
        assert_eq!(ifs[0].name.as_deref(), Some("eth0"));
        assert_eq!(ifs[0].description.as_deref(), Some("uplink"));
        assert_eq!(
            (ifs[1].tsresol, ifs[1].tsoffset, ifs[1].snaplen),
            (9, 3600, 0)
        );
        assert_eq!((ifs[2].section, ifs[2].tsresol), (1, 0x8a));
    }
}

#[test]
fn simple_packet_block_uses_interface_zero_and_snaplen() {
    let mut v = shb(Little);
    v.extend(idb(Little, 1, 4, &[]));
    v.extend(epb(Little, 0, 7, 3, b"abc"));
    v.extend(spb(Little, 10, b"0123456789"));
    v.extend(spb(Little, 3, b"xyz")); // body padded to 4: caplen is orig_len, not the padding
    let (got, err) = read_all(open(v).unwrap());
    assert!(err.is_none());
    assert_eq!(got[1].data, b"0123");
    assert_eq!((got[1].orig_len, got[1].ts), (10, 7_000));
    assert_eq!(got[2].data, b"xyz");
}

#[test]
fn obsolete_packet_block() {
    let mut v = shb(Big);
    v.extend(idb(Big, 1, 0, &[]));
    v.extend(pb(Big, 0, 5, 80, b"old"));
    let (got, err) = read_all(open(v).unwrap());
    assert!(err.is_none());
    assert_eq!(
        (got[0].data.as_slice(), got[0].orig_len, got[0].ts),
        (&b"old"[..], 80, 5_000)
    );
}

#[test]
fn other_blocks_are_skipped() {
    let mut v = shb(Little);
    v.extend(block(Little, 4, &[1, 0, 4, 0, 10, 0, 0, 1, 0, 0, 0, 0])); // NRB
    v.extend(idb(Little, 1, 0, &[]));
    v.extend(block(Little, 5, &[0; 12])); // ISB
    v.extend(block(Little, 0x0A, &[0; 8])); // DSB
    v.extend(block(Little, 0x0000_0BAD, &[0; 4])); // custom
    v.extend(block(Little, 0x1234_5678, &[])); // unknown, empty body
    v.extend(epb(Little, 0, 1, 1, b"x"));
    let (got, err) = read_all(open(v).unwrap());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 1);
}

fn one_epb_then(e: Endian, tail: Vec<u8>) -> (Vec<u8>, u64) {
    let mut v = shb(e);
    v.extend(idb(e, 1, 0, &[]));
    v.extend(epb(e, 0, 1, 1, b"x"));
    let at = v.len() as u64;
    v.extend(tail);
    (v, at)
}

#[test]
fn corrupt_blocks_end_the_input_with_their_offset() {
    let mut trailer = epb(Little, 0, 2, 1, b"y");
    let n = trailer.len();
    trailer[n - 4] = 99;
    let mut odd = Vec::new();
    put32(&mut odd, Little, 6);
    put32(&mut odd, Little, 30);
    odd.extend([0; 22]);
    let mut tiny = Vec::new();
    put32(&mut tiny, Little, 6);
    put32(&mut tiny, Little, 8);
    tiny.extend([0; 8]);
    // An EPB whose caplen runs past its body.
    let mut long = epb(Little, 0, 2, 1, b"y");
    long[20..24].copy_from_slice(&500u32.to_le_bytes());
    let mut huge = Vec::new();
    put32(&mut huge, Little, 6);
    put32(&mut huge, Little, 0x7fff_fff0);
    huge.extend([0; 4]);
    let cases = [
        (
            trailer,
            "block type 0x6 has total length 36 but its trailing copy says 99",
        ),
        (
            odd,
            "block type 0x6 has total length 30, expected a multiple of 4 and at least 12",
        ),
        (tiny, "total length 8"),
        (long, "block type 0x6 needs 520 body bytes, has 24"),
        (huge, "over the limit of 67108864 bytes"),
    ];
    for (tail, msg) in cases {
        let (v, at) = one_epb_then(Little, tail);
        let (got, err) = read_all(open(v).unwrap());
        assert_eq!(got.len(), 1);
        let err = err.unwrap();
        assert_eq!(err.offset, at);
        assert!(
            err.to_string()
                .starts_with(&format!("test: offset {at}: corrupt pcapng block: ")),
            "{err}"
        );
        assert!(err.to_string().contains(msg), "{err}");
    }
}

#[test]
fn truncated_pcapng_block() {
    let mut block = epb(Big, 0, 2, 1, b"yyyy");
    block.truncate(20);
    let (v, at) = one_epb_then(Big, block);
    let (got, err) = read_all(open(v).unwrap());
    assert_eq!(got.len(), 1);
    let err = err.unwrap();
    assert_eq!(err.offset, at);
    assert!(
        err.to_string()
            .contains("cut short in the middle of a pcapng block: 36 bytes expected, only 20 left"),
        "{err}"
    );
}

#[test]
fn packet_naming_a_missing_interface() {
    let (v, at) = one_epb_then(Little, epb(Little, 3, 2, 1, b"y"));
    let (got, err) = read_all(open(v).unwrap());
    assert_eq!(got.len(), 1);
    let err = err.unwrap();
    assert_eq!(err.offset, at);
    assert!(
        err.to_string()
            .ends_with("packet names interface 3, but its section has 1 interface(s)"),
        "{err}"
    );
    let mut v = shb(Little);
    v.extend(spb(Little, 1, b"z"));
    assert!(matches!(
        read_all(open(v).unwrap()).1.unwrap().kind,
        ErrorKind::NoInterface { id: 0, count: 0 }
    ));
}

#[test]
fn bad_byte_order_magic_and_version() {
    let mut v = shb(Little);
    v[8] = 0;
    let err = open(v).err().unwrap();
    assert!(
        err.to_string().contains("byte-order magic is 003c2b1a"),
        "{err}"
    );
    let mut v = shb(Little);
    v[12] = 2;
    let err = open(v).err().unwrap();
    assert!(
        err.to_string().contains("unsupported pcapng version 2.0"),
        "{err}"
    );
}

#[test]
fn large_block_grows_the_buffer() {
    let data = vec![0xab; 3 << 20];
    let mut v = shb(Little);
    v.extend(idb(Little, 1, 0, &[]));
    v.extend(epb(Little, 0, 1, data.len() as u32, &data));
    v.extend(epb(Little, 0, 2, 1, b"x"));
    let (got, err) = read_all(open(v).unwrap());
    assert!(err.is_none());
    assert_eq!(got[0].data.len(), data.len());
    assert_eq!(got[1].data, b"x");
}

fn pcap_at(times: &[(u32, &[u8])]) -> Vec<u8> {
    let mut v = pcap_header(Little, NSEC, 65535, 1);
    for (ns, data) in times {
        pcap_record(&mut v, Little, 0, *ns, data.len() as u32, &[], data);
    }
    v
}

#[test]
fn merge_by_timestamp_ties_to_lower_input_file_order_kept() {
    let a = pcap_at(&[(10, b"a1"), (30, b"a2"), (20, b"a3"), (50, b"a4")]);
    let mut b = shb(Little);
    b.extend(idb(Little, 113, 0, &[(9, &[9])]));
    for (ts, d) in [(5u64, &b"b1"[..]), (30, b"b2"), (40, b"b3")] {
        b.extend(epb(Little, 0, ts, 2, d));
    }
    let mut c = Capture::new(vec![
        open_as("a", 0, a).unwrap(),
        open_as("b", 1, b).unwrap(),
    ]);
    let mut order = Vec::new();
    while let Some(f) = c.next_frame() {
        order.push((
            String::from_utf8(f.data.to_vec()).unwrap(),
            f.interface,
            f.link_type,
        ));
    }
    let names: Vec<_> = order.iter().map(|o| o.0.as_str()).collect();
    // a3 (20) comes after a2 (30): file order within one input; a2 before b2 on the tie.
    assert_eq!(names, ["b1", "a1", "a2", "a3", "b2", "b3", "a4"]);
    assert_eq!((order[0].1, order[0].2), (1, 113));
    assert_eq!((order[1].1, order[1].2), (0, 1));
    let files = c.files();
    assert_eq!((files[0].packets, files[1].packets), (4, 3));
    assert_eq!(files[1].format.to_string(), "pcapng");
    let (read, total) = c.progress();
    assert_eq!(Some(read), total);
    assert!(c.take_errors().is_empty());
}

#[test]
fn damage_in_one_input_leaves_the_others() {
    let mut a = pcap_at(&[(10, b"a1"), (30, b"a2")]);
    a.truncate(a.len() - 1);
    let b = pcap_at(&[(20, b"b1"), (40, b"b2")]);
    let mut c = Capture::new(vec![
        open_as("a", 0, a).unwrap(),
        open_as("b", 1, b).unwrap(),
    ]);
    let mut n = 0;
    while c.next_frame().is_some() {
        n += 1;
    }
    assert_eq!(n, 3);
    let errors = c.take_errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .starts_with("a: offset 42: file cut short"),
        "{}",
        errors[0]
    );
    assert!(c.take_errors().is_empty());
}
