//! Hand-built pcap inputs: every variant, byte order and kind of damage, and gzip.

use super::build::*;
use super::endian::Endian::{self, Big, Little};
use super::ErrorKind;

const S: u32 = 1_700_000_000;
const NS: i64 = 1_000_000_000;

fn two_packet_pcap(e: Endian, magic: u32, extra: &[u8]) -> Vec<u8> {
    let mut v = pcap_header(e, magic, 65535, 1);
    pcap_record(&mut v, e, S, 5, 60, extra, b"first");
    pcap_record(&mut v, e, S + 1, 7, 6, extra, b"second");
    v
}

#[test]
fn pcap_microseconds_both_byte_orders() {
    for e in [Little, Big] {
        let r = open(two_packet_pcap(e, USEC, &[])).unwrap();
        assert_eq!(r.format().to_string(), "pcap");
        assert_eq!(r.interfaces()[0].link_type, 1);
        assert_eq!(r.interfaces()[0].snaplen, 65535);
        assert_eq!(r.interfaces()[0].tsresol, 6);
        let (got, err) = read_all(r);
        assert!(err.is_none());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].ts, i64::from(S) * NS + 5_000);
        assert_eq!(got[0].data, b"first");
        assert_eq!(got[0].orig_len, 60);
        assert_eq!(got[1].ts, i64::from(S + 1) * NS + 7_000);
        assert_eq!(got[1].data, b"second");
    }
}

#[test]
fn pcap_nanoseconds_both_byte_orders() {
    for e in [Little, Big] {
        let r = open(two_packet_pcap(e, NSEC, &[])).unwrap();
        assert_eq!(r.format().to_string(), "pcap (nanosecond)");
        assert_eq!(r.interfaces()[0].tsresol, 9);
        let (got, err) = read_all(r);
        assert!(err.is_none());
        assert_eq!(got[0].ts, i64::from(S) * NS + 5);
        assert_eq!(got[1].ts, i64::from(S + 1) * NS + 7);
    }
}

#[test]
fn pcap_modified_variants_are_told_apart() {
    // ss991029: ifindex u32, protocol u16, pkt_type u8, pad u8.
    let extra24 = [3, 0, 0, 0, 0x08, 0x00, 4, 0];
    // ss990915: the same plus cpu1, cpu2 and 3 pad bytes.
    let extra28 = [3, 0, 0, 0, 0x08, 0x00, 4, 0, 0, 0, 0, 0];
    for e in [Little, Big] {
        let r = open(two_packet_pcap(e, MODIFIED, &extra24)).unwrap();
        assert_eq!(r.format().to_string(), "pcap (modified)");
        let (got, err) = read_all(r);
        assert!(err.is_none());
        assert_eq!(got[1].data, b"second");
        let r = open(two_packet_pcap(e, MODIFIED, &extra28)).unwrap();
        assert_eq!(r.format().to_string(), "pcap (modified ss990915)");
        let (got, err) = read_all(r);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got[1].data, b"second");
    }
}

#[test]
fn pcap_standard_magic_with_24_byte_records_is_ss990417() {
    // First record's extra bytes would be read as the next record header by plain pcap.
    let extra = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let r = open(two_packet_pcap(Little, USEC, &extra)).unwrap();
    assert_eq!(r.format().to_string(), "pcap (modified ss990417)");
    let (got, err) = read_all(r);
    assert!(err.is_none());
    assert_eq!(got.len(), 2);
}

#[test]
fn pcap_link_type_upper_bits_carry_fcs_length() {
    // FCS present, length 2 * 16 bits, link type 1.
    let v = pcap_header(Little, USEC, 65535, 0x2400_0001);
    let r = open(v).unwrap();
    assert_eq!(r.interfaces()[0].link_type, 1);
    assert_eq!(r.interfaces()[0].fcs_bits, Some(32));
}

#[test]
fn caplen_above_orig_len_raises_orig_len() {
    let mut v = pcap_header(Little, USEC, 65535, 1);
    pcap_record(&mut v, Little, S, 0, 2, &[], b"abcd");
    let (got, _) = read_all(open(v).unwrap());
    assert_eq!(got[0].data, b"abcd");
    assert_eq!(got[0].orig_len, 4);
}

#[test]
fn pcap_before_2_3_has_lengths_swapped() {
    let mut v = pcap_header(Little, USEC, 65535, 1);
    v[6] = 2; // version 2.2
              // Written as orig_len, caplen: the helper writes caplen first, so swap by hand.
    let mut rec = Vec::new();
    pcap_record(&mut rec, Little, S, 0, 0, &[], b"abc");
    rec[8..12].copy_from_slice(&100u32.to_le_bytes());
    rec[12..16].copy_from_slice(&3u32.to_le_bytes());
    v.extend_from_slice(&rec);
    let (got, err) = read_all(open(v).unwrap());
    assert!(err.is_none());
    assert_eq!(
        (got[0].data.as_slice(), got[0].orig_len),
        (&b"abc"[..], 100)
    );
}

#[test]
fn truncated_last_record_keeps_the_packets_before() {
    let mut v = two_packet_pcap(Little, USEC, &[]);
    let second = 24 + 16 + 5;
    v.truncate(v.len() - 2);
    let (got, err) = read_all(open(v).unwrap());
    assert_eq!(got.len(), 1);
    let err = err.unwrap();
    assert_eq!(err.offset, second as u64);
    assert_eq!(
        err.to_string(),
        format!("test: offset {second}: file cut short in the middle of a packet: 22 bytes expected, only 20 left")
    );
}

#[test]
fn truncated_record_header() {
    let mut v = two_packet_pcap(Little, USEC, &[]);
    v.truncate(24 + 16 + 5 + 3);
    let (got, err) = read_all(open(v).unwrap());
    assert_eq!(got.len(), 1);
    let err = err.unwrap();
    assert!(
        matches!(
            err.kind,
            ErrorKind::CutShort {
                need: 16,
                have: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("cut short in the middle of a packet record header"));
}

#[test]
fn absurd_caplen_is_damage() {
    let mut v = pcap_header(Little, USEC, 1500, 1);
    pcap_record(&mut v, Little, S, 0, 60, &[], b"ok");
    let at = v.len();
    put32(&mut v, Little, S);
    put32(&mut v, Little, 0);
    put32(&mut v, Little, 0x7fff_0000);
    put32(&mut v, Little, 0x7fff_0000);
    v.extend_from_slice(&[0; 64]);
    let (got, err) = read_all(open(v).unwrap());
    assert_eq!(got.len(), 1);
    let err = err.unwrap();
    assert_eq!(err.offset, at as u64);
    assert!(
        matches!(err.kind, ErrorKind::TooLarge { limit: 262_144, .. }),
        "{err}"
    );
}

#[test]
fn caplen_a_little_over_snaplen_is_accepted() {
    let mut v = pcap_header(Little, USEC, 40, 1);
    pcap_record(&mut v, Little, S, 0, 100, &[], &[1; 100]);
    let (got, err) = read_all(open(v).unwrap());
    assert!(err.is_none());
    assert_eq!(got[0].data.len(), 100);
}

#[test]
fn not_a_capture_file() {
    let err = open(b"GET / HTTP/1.1\r\n".to_vec()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "test: offset 0: not a capture file: found magic 47455420, expected pcap (a1b2c3d4, \
         a1b23c4d, a1b2cd34, either byte order), pcapng (0a0d0d0a) or gzip (1f8b)"
    );
    let err = open(vec![0xd4, 0xc3]).err().unwrap();
    assert!(matches!(err.kind, ErrorKind::NotCapture { .. }));
}

#[test]
fn empty_file() {
    let err = open(Vec::new()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "test: offset 0: empty file: expected a pcap or pcapng file header"
    );
}

#[test]
fn cut_file_header() {
    let mut v = pcap_header(Big, USEC, 65535, 1);
    v.truncate(10);
    let err = open(v).err().unwrap();
    assert!(
        matches!(
            err.kind,
            ErrorKind::CutShort {
                need: 24,
                have: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_pcap_version() {
    let mut v = pcap_header(Little, USEC, 65535, 1);
    v[4] = 1;
    let err = open(v).err().unwrap();
    assert!(
        err.to_string().contains("unsupported pcap version 1.4"),
        "{err}"
    );
}

#[test]
fn header_only_files_have_no_frames() {
    let (got, err) = read_all(open(pcap_header(Little, USEC, 65535, 1)).unwrap());
    assert!(got.is_empty() && err.is_none());
    let r = open(shb(Big)).unwrap();
    assert_eq!(r.format().to_string(), "pcapng");
    let (got, err) = read_all(r);
    assert!(got.is_empty() && err.is_none());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_is_transparent() {
    let plain = two_packet_pcap(Big, NSEC, &[]);
    let gz = gzip(&plain);
    let mut r = open(gz.clone()).unwrap();
    assert_eq!(r.format().to_string(), "pcap (nanosecond) gzip");
    while r.next_frame().unwrap().is_some() {}
    assert_eq!(r.progress(), (gz.len() as u64, Some(gz.len() as u64)));
    assert_eq!(r.summary().packets, 2);
    let (got, err) = read_all(open(gz).unwrap());
    assert!(err.is_none());
    assert_eq!(got, read_all(open(plain).unwrap()).0);
    // Two members concatenated (`cat a.gz b.gz`) read as one stream.
    let mut pcapng = shb(Little);
    pcapng.extend(idb(Little, 1, 0, &[]));
    let mut two = gzip(&pcapng);
    two.extend(gzip(&epb(Little, 0, 1, 3, b"abc")));
    let (got, err) = read_all(open(two).unwrap());
    assert!(err.is_none());
    assert_eq!(got.len(), 1);
}

#[test]
fn damaged_gzip_is_an_error_not_a_panic() {
    let mut gz = gzip(&two_packet_pcap(Little, USEC, &[]));
    let n = gz.len();
    gz[n / 2] ^= 0xff;
    gz.truncate(n - 3);
    match open(gz) {
        Ok(r) => assert!(read_all(r).1.is_some()),
        Err(e) => assert!(e.to_string().starts_with("test: offset ")),
    }
}

/// A pipe that hands out one piece per read and then stays open (reads fail, as if nothing
/// had arrived yet): what `tcpdump -U -w - | hopscope analyze -` looks like between packets.
struct OpenPipe(std::collections::VecDeque<Vec<u8>>);

impl std::io::Read for OpenPipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(mut piece) = self.0.pop_front() else {
            return Err(std::io::Error::other(
                "nothing more yet: the reader asked too early",
            ));
        };
        let n = piece.len().min(buf.len());
        buf[..n].copy_from_slice(&piece[..n]);
        if n < piece.len() {
            self.0.push_front(piece.split_off(n));
        }
        Ok(n)
    }
}

#[test]
fn a_live_pipe_yields_packets_without_waiting_for_more_bytes() {
    let mut pieces = std::collections::VecDeque::new();
    pieces.push_back(pcap_header(Little, 0xa1b2_c3d4, 262_144, 1));
    for i in 0..3u32 {
        let mut record = Vec::new();
        pcap_record(&mut record, Little, 100 + i, 0, 60, &[], &[i as u8; 60]);
        pieces.push_back(record);
    }
    let reader = super::FileReader::from_reader("-".into(), 0, Box::new(OpenPipe(pieces)), None);
    let (got, err) = read_all(reader.expect("opens after the first records, not after 64 KiB"));
    assert_eq!(got.len(), 3);
    assert!(err.is_some_and(|e| e.to_string().contains("asked too early")));
}
