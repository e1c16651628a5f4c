//! The pcap bytes live capture produces: a file header, then one record per packet, in the
//! classic libpcap format (the tcpdump/Wireshark "pcap" of pcap-savefile(5)).
//!
//! The same bytes go to the in-process pipe that the offline reader analyzes and to the `-w`
//! file, so `hopscope analyze FILE` on the written file sees exactly what the live report saw.
//! Pure: builds bytes into a caller's buffer, no I/O.
//!
//! Little-endian with the nanosecond magic (`a1b23c4d`) when libpcap gives nanosecond time
//! stamps (Linux always can, libpcap >= 1.5), else the microsecond magic (`a1b2c3d4`); both are
//! read by tcpdump, Wireshark and hopscope. Version 2.4, no FCS bits.

/// pcap-savefile(5) magic numbers (written little-endian).
const MAGIC_USEC: u32 = 0xa1b2_c3d4;
const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
const VERSION_MAJOR: u16 = 2;
const VERSION_MINOR: u16 = 4;
/// File header and record header sizes.
pub const FILE_HEADER_LEN: usize = 24;
pub const RECORD_HEADER_LEN: usize = 16;

/// Time stamp resolution of the records.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    Micro,
    Nano,
}

/// The 24-byte file header for `link_type` (a LINKTYPE_* value) and `snaplen`.
pub fn file_header(link_type: u32, snaplen: u32, resolution: Resolution) -> [u8; FILE_HEADER_LEN] {
    let magic = match resolution {
        Resolution::Micro => MAGIC_USEC,
        Resolution::Nano => MAGIC_NSEC,
    };
    let mut h = [0u8; FILE_HEADER_LEN];
    let fields: [&[u8]; 7] = [
        &magic.to_le_bytes(),
        &VERSION_MAJOR.to_le_bytes(),
        &VERSION_MINOR.to_le_bytes(),
        &0i32.to_le_bytes(), // thiszone: always 0 (UTC)
        &0u32.to_le_bytes(), // sigfigs: always 0
        &snaplen.to_le_bytes(),
        &link_type.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        if let Some(dst) = h.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
    h
}

/// Appends one record: `frac` is micro- or nanoseconds as the header says; `data` is what was
/// captured (at most the snaplen), `orig_len` the length on the wire.
pub fn push_record(out: &mut Vec<u8>, sec: u32, frac: u32, data: &[u8], orig_len: u32) {
    let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.reserve(RECORD_HEADER_LEN + data.len());
    out.extend_from_slice(&sec.to_le_bytes());
    out.extend_from_slice(&frac.to_le_bytes());
    out.extend_from_slice(&caplen.to_le_bytes());
    // A packet is never shorter on the wire than captured (readers check caplen <= len).
    out.extend_from_slice(&orig_len.max(caplen).to_le_bytes());
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Container, FileReader, PcapVariant};

    fn file(link_type: u32, resolution: Resolution, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let mut b = file_header(link_type, 65535, resolution).to_vec();
        for &(sec, frac, data, len) in records {
            push_record(&mut b, sec, frac, data, len);
        }
        b
    }

    #[test]
    fn the_offline_reader_reads_what_is_written() {
        let data: &[u8] = &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
        for (res, variant, frac, nanos) in [
            (
                Resolution::Nano,
                PcapVariant::Nano,
                123_456_789,
                123_456_789,
            ),
            (Resolution::Micro, PcapVariant::Micro, 654_321, 654_321_000),
        ] {
            let bytes = file(
                276,
                res,
                &[
                    (1_700_000_000, frac, data, 1500),
                    (1_700_000_001, 0, &[], 0),
                ],
            );
            let mut r =
                FileReader::from_reader("t".into(), 0, Box::new(std::io::Cursor::new(bytes)), None)
                    .expect("a pcap");
            assert_eq!(r.format().container, Container::Pcap(variant));
            assert_eq!(r.interfaces()[0].link_type, 276);
            assert_eq!(r.interfaces()[0].snaplen, 65535);
            let f = r.next_frame().unwrap().expect("first record");
            assert_eq!(f.data, data);
            assert_eq!(f.orig_len, 1500);
            assert_eq!(f.ts.0, 1_700_000_000 * 1_000_000_000 + nanos);
            let f = r.next_frame().unwrap().expect("second record");
            assert!(f.data.is_empty());
            assert!(r.next_frame().unwrap().is_none());
        }
    }

    #[test]
    fn orig_len_is_never_below_caplen() {
        let mut b = Vec::new();
        push_record(&mut b, 1, 2, &[9; 40], 10);
        assert_eq!(b.len(), RECORD_HEADER_LEN + 40);
        assert_eq!(&b[8..12], &40u32.to_le_bytes());
        assert_eq!(&b[12..16], &40u32.to_le_bytes());
    }

    #[test]
    fn header_layout_is_pcap_savefile() {
        let h = file_header(1, 262_144, Resolution::Micro);
        assert_eq!(h[..4], [0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(h[4..8], [2, 0, 4, 0]);
        assert_eq!(h[16..20], 262_144u32.to_le_bytes());
        assert_eq!(h[20..24], [1, 0, 0, 0]);
    }
}
