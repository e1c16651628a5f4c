//! The pcap file format (pcap-savefile(5); draft-ietf-opsawg-pcap): a 24-byte file header,
//! then records of a fixed-size header and `caplen` bytes of packet.
//!
//! Handles both byte orders, microsecond (a1b2c3d4) and nanosecond (a1b23c4d) timestamps, and
//! the 1999 patched-libpcap "modified" files (a1b2cd34) whose record headers carry extra fields.
//! Which record header a file uses is not always told by its magic: like Wireshark's
//! wiretap/libpcap.c (`libpcap_try_variants`) we read the first records as each candidate
//! variant and keep the first that makes sense, else the least bad. Not handled: AIX pcap
//! (ifType link types), Ixia's extra header bytes. One interface per file.

use super::endian::Endian;
use super::error::{At, ErrorKind, Hex};
use super::file::Packet;
use super::info::{InterfaceInfo, PcapVariant};
use super::input::{Input, MAX_RECORD};
use crate::model::Timestamp;

/// File header length (magic, version, thiszone, sigfigs, snaplen, linktype).
pub const FILE_HEADER_LEN: usize = 24;
const OFF_VERSION_MAJOR: usize = 4;
const OFF_VERSION_MINOR: usize = 6;
const OFF_SNAPLEN: usize = 16;
const OFF_LINKTYPE: usize = 20;
/// Record header fields (all variants start with the standard 16 bytes).
const OFF_TS_SEC: usize = 0;
const OFF_TS_FRAC: usize = 4;
const OFF_CAPLEN: usize = 8;
const OFF_LEN: usize = 12;

/// The magics as read little-endian from the first 4 bytes.
const MAGIC_USEC: u32 = 0xa1b2_c3d4;
const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

/// libpcap's MAXIMUM_SNAPLEN (pcap-int.h): the largest caplen most link types allow.
pub const MAXIMUM_SNAPLEN: u32 = 262_144;
/// Wireshark's heuristic bound on a believable orig_len (libpcap.c, issue 9634).
const MAX_BELIEVABLE_LEN: u32 = 128 << 20;
/// Records read per candidate variant when guessing (Wireshark: MAX_RECORDS_TO_TRY).
const RECORDS_TO_TRY: usize = 3;
/// Bytes buffered at most to guess the layout (three jumbo records); past it, judge on what
/// is there.
const GUESS_MAX: usize = 1 << 20;

/// pcap-linktype(7) / libpcap sf-pcap.c `LT_LINKTYPE`, `LT_FCS_LENGTH_PRESENT`, `LT_FCS_LENGTH`.
const LT_LINKTYPE_MASK: u32 = 0x0000_ffff;
const LT_FCS_LENGTH_PRESENT: u32 = 0x0400_0000;
const LT_FCS_LENGTH_SHIFT: u32 = 28;

/// Does this magic (first 4 bytes) start a pcap file?
pub fn is_magic(b: &[u8]) -> bool {
    let m = Endian::Little.u32(b, 0);
    [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED]
        .iter()
        .any(|&x| m == x || m == x.swap_bytes())
}

/// Order of caplen and orig_len in record headers: before version 2.3 they were swapped
/// (Wireshark libpcap.c `lengths_swapped`; DG/UX writes 543.0 with the old order).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Lengths {
    Normal,
    Swapped,
    /// 2.3: some writers kept the old order; swap when caplen > orig_len.
    MaybeSwapped,
}

/// A parsed pcap file header.
#[derive(Clone, Debug)]
pub(crate) struct FileHeader {
    endian: Endian,
    /// Candidates for the record layout, most likely first.
    candidates: &'static [PcapVariant],
    lengths: Lengths,
    pub snaplen: u32,
    pub link_type: u32,
    pub fcs_bits: Option<u8>,
}

/// Parses the 24-byte file header (`b` may be longer).
pub(crate) fn parse_file_header(b: &[u8]) -> Result<FileHeader, ErrorKind> {
    let magic = Endian::Little.u32(b, 0);
    let (endian, candidates): (Endian, &'static [PcapVariant]) = match magic {
        MAGIC_USEC => (Endian::Little, STANDARD),
        MAGIC_NSEC => (Endian::Little, &[PcapVariant::Nano]),
        MAGIC_MODIFIED => (Endian::Little, MODIFIED),
        m if m == MAGIC_USEC.swap_bytes() => (Endian::Big, STANDARD),
        m if m == MAGIC_NSEC.swap_bytes() => (Endian::Big, &[PcapVariant::Nano]),
        m if m == MAGIC_MODIFIED.swap_bytes() => (Endian::Big, MODIFIED),
        _ => {
            return Err(ErrorKind::NotCapture {
                found: Hex(b.get(..4).unwrap_or(b).to_vec()),
            })
        }
    };
    if b.len() < FILE_HEADER_LEN {
        return Err(ErrorKind::CutShort {
            what: "the pcap file header",
            need: FILE_HEADER_LEN as u64,
            have: b.len() as u64,
        });
    }
    let major = endian.u16(b, OFF_VERSION_MAJOR);
    let minor = endian.u16(b, OFF_VERSION_MINOR);
    let lengths = match (major, minor) {
        (2, 0..=2) | (543, _) => Lengths::Swapped,
        (2, 3) => Lengths::MaybeSwapped,
        (2, _) => Lengths::Normal,
        _ => return Err(ErrorKind::PcapVersion { major, minor }),
    };
    let network = endian.u32(b, OFF_LINKTYPE);
    let fcs_bits = (network & LT_FCS_LENGTH_PRESENT != 0)
        .then(|| ((network >> LT_FCS_LENGTH_SHIFT) * 16) as u8);
    Ok(FileHeader {
        endian,
        candidates,
        lengths,
        snaplen: endian.u32(b, OFF_SNAPLEN),
        link_type: network & LT_LINKTYPE_MASK,
        fcs_bits,
    })
}

/// Wireshark's order: standard magic tries plain pcap first, modified magic ss991029 first.
const STANDARD: &[PcapVariant] = &[
    PcapVariant::Micro,
    PcapVariant::Ss990417,
    PcapVariant::Nokia,
];
const MODIFIED: &[PcapVariant] = &[PcapVariant::Ss991029, PcapVariant::Ss990915];

/// One record header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub ts_sec: u32,
    pub ts_frac: u32,
    pub caplen: u32,
    pub orig_len: u32,
}

impl FileHeader {
    /// Parses the standard 16 bytes at the start of `b` (caller checked the length).
    #[inline]
    fn record(&self, b: &[u8]) -> RecordHeader {
        let e = self.endian;
        let (mut caplen, mut orig_len) = (e.u32(b, OFF_CAPLEN), e.u32(b, OFF_LEN));
        if self.lengths == Lengths::Swapped
            || (self.lengths == Lengths::MaybeSwapped && caplen > orig_len)
        {
            std::mem::swap(&mut caplen, &mut orig_len);
        }
        RecordHeader {
            ts_sec: e.u32(b, OFF_TS_SEC),
            ts_frac: e.u32(b, OFF_TS_FRAC),
            caplen,
            orig_len,
        }
    }

    /// Demerits of reading `b` (the bytes after the file header) as `variant`: 0 = the first
    /// records all make sense (Wireshark libpcap.c `libpcap_try_record`). `complete` says `b`
    /// holds the whole rest of the file, so a cut record counts against the variant.
    fn demerits(&self, variant: PcapVariant, mut b: &[u8], complete: bool) -> u32 {
        let hdr_len = variant.record_header_len();
        for _ in 0..RECORDS_TO_TRY {
            if b.is_empty() {
                return 0;
            }
            if b.len() < hdr_len {
                return u32::from(complete);
            }
            let r = self.record(b);
            let bad = [
                r.ts_frac >= 1_000_000,
                r.caplen > MAXIMUM_SNAPLEN,
                r.orig_len > MAX_BELIEVABLE_LEN,
                r.caplen > self.snaplen,
                r.caplen > r.orig_len,
            ];
            let n = bad.iter().filter(|&&x| x).count() as u32;
            if n > 0 {
                return n;
            }
            match b.get(hdr_len + r.caplen as usize..) {
                Some(rest) => b = rest,
                None => return u32::from(complete),
            }
        }
        0
    }

    /// Reads until the first [`RECORDS_TO_TRY`] records as `variant` lays them out are
    /// buffered, or until a record header is implausible (nothing more is needed to judge
    /// it). Returns true when the input ended first (the buffer then holds all of it).
    fn buffer_records(&self, input: &mut Input, variant: PcapVariant) -> Result<bool, At> {
        let hdr_len = variant.record_header_len();
        let mut need = 0usize;
        for _ in 0..RECORDS_TO_TRY {
            if input.ensure(need + hdr_len)? < need + hdr_len {
                return Ok(true);
            }
            let caplen = self.record(&input.avail()[need..]).caplen;
            if caplen > caplen_limit(self.snaplen, hdr_len) {
                return Ok(false);
            }
            need += hdr_len + caplen as usize;
            if need > GUESS_MAX {
                return Ok(false);
            }
            if input.ensure(need)? < need {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The record layout that best explains `b`, the bytes following the file header.
    ///
    /// Like Wireshark, the first candidate wins when its first records make sense. Unlike
    /// Wireshark, another candidate replaces it only when that one explains every record
    /// tried: a plain pcap damaged in its second record stays plain pcap (and reports the
    /// damage) rather than being read as garbage in an exotic layout.
    pub fn guess_variant(&self, b: &[u8], complete: bool) -> PcapVariant {
        let (first, others) = match self.candidates.split_first() {
            Some(x) => x,
            None => return PcapVariant::Micro,
        };
        if others.is_empty() || self.demerits(*first, b, complete) == 0 {
            return *first;
        }
        others
            .iter()
            .copied()
            .find(|&v| self.demerits(v, b, complete) == 0)
            .unwrap_or(*first)
    }
}

/// Largest caplen accepted: the file's snaplen or libpcap's maximum, whichever is larger,
/// within [`MAX_RECORD`]. Writers do exceed their snaplen a little (Wireshark accepts it);
/// beyond this the header is garbage.
pub fn caplen_limit(snaplen: u32, hdr_len: usize) -> u32 {
    let cap = (MAX_RECORD - hdr_len) as u32;
    snaplen.max(MAXIMUM_SNAPLEN).min(cap)
}

/// Reading state of one pcap file.
pub(crate) struct Pcap {
    header: FileHeader,
    pub variant: PcapVariant,
    hdr_len: usize,
    limit: u32,
}

impl Pcap {
    /// Reads the file header and guesses the record layout from the first records.
    pub fn open(input: &mut Input, file: usize) -> Result<(Pcap, InterfaceInfo), At> {
        input.ensure(FILE_HEADER_LEN)?;
        let header = parse_file_header(input.avail()).map_err(|k| At::new(0, k))?;
        input.consume(FILE_HEADER_LEN);
        // Buffer the first records, as many bytes as the widest candidate layout says they
        // span, and no more: on a pipe (`tcpdump -U -w - | hopscope analyze -`) this waits
        // for RECORDS_TO_TRY packets, not for a fixed number of bytes.
        let mut complete = false;
        for &variant in header.candidates {
            complete |= header.buffer_records(input, variant)?;
        }
        let variant = header.guess_variant(input.avail(), complete);
        let hdr_len = variant.record_header_len();
        let iface = InterfaceInfo {
            file,
            name: None,
            description: None,
            link_type: header.link_type,
            snaplen: header.snaplen,
            tsresol: if variant == PcapVariant::Nano { 9 } else { 6 },
            tsoffset: 0,
            fcs_bits: header.fcs_bits,
            section: 0,
        };
        let limit = caplen_limit(header.snaplen, hdr_len);
        Ok((
            Pcap {
                header,
                variant,
                hdr_len,
                limit,
            },
            iface,
        ))
    }

    /// The next record, or `None` at a clean end of file.
    #[inline]
    pub fn next(&mut self, input: &mut Input) -> Result<Option<Packet>, At> {
        let hdr_len = self.hdr_len;
        let have = input.ensure(hdr_len)?;
        if have < hdr_len {
            if have == 0 {
                return Ok(None);
            }
            return Err(cut(input, "a packet record header", hdr_len, have));
        }
        let r = self.header.record(input.avail());
        if r.caplen > self.limit {
            return Err(At::new(
                input.offset(),
                ErrorKind::TooLarge {
                    caplen: r.caplen.into(),
                    limit: self.limit.into(),
                    snaplen: self.header.snaplen,
                },
            ));
        }
        let total = hdr_len + r.caplen as usize;
        let have = input.ensure(total)?;
        if have < total {
            return Err(cut(input, "a packet", total, have));
        }
        // u32 seconds * 1e9 + u32 fraction * 1000 stays far below i64::MAX.
        let frac = if self.variant == PcapVariant::Nano {
            i64::from(r.ts_frac)
        } else {
            i64::from(r.ts_frac) * 1000
        };
        let packet = Packet {
            ts: Timestamp::from_nanos(i64::from(r.ts_sec) * 1_000_000_000 + frac),
            interface: 0,
            at: input.pos() + hdr_len,
            len: r.caplen,
            // caplen > orig_len is nonsense; the wire carried at least what was captured.
            orig_len: r.orig_len.max(r.caplen),
        };
        input.consume(total);
        Ok(Some(packet))
    }
}

fn cut(input: &Input, what: &'static str, need: usize, have: usize) -> At {
    At::new(
        input.offset(),
        ErrorKind::CutShort {
            what,
            need: need as u64,
            have: have as u64,
        },
    )
}
