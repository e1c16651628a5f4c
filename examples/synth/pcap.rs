//! Capture file writers: classic pcap (microsecond, LINKTYPE_EN10MB) and pcapng.
//!
//! Follows the libpcap file format (pcap-savefile(5), draft-ietf-opsawg-pcap) and pcapng
//! (draft-ietf-opsawg-pcapng: SHB 0x0A0D0D0A, IDB 1, EPB 6). Little-endian, like tcpdump
//! on x86. It only writes; one interface; records are buffered in a large `BufWriter`
//! so that a 1 GiB file costs a few thousand `write` calls.

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// LINKTYPE_EN10MB (tcpdump.org/linktypes.html).
pub const LINKTYPE_EN10MB: u32 = 1;
/// Snapshot length written in the headers (tcpdump's default since 4.99).
pub const SNAPLEN: u32 = 262_144;
/// pcap magic for microsecond timestamps.
const PCAP_MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// pcapng block types.
const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 0x0000_0001;
const PCAPNG_EPB: u32 = 0x0000_0006;
const PCAPNG_BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// Output buffer: big writes keep the generator I/O-bound on the disk, not on syscalls.
const WRITE_BUFFER: usize = 8 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    Pcapng,
}

/// Writes packets with microsecond timestamps; counts what it wrote.
pub struct Writer {
    out: BufWriter<File>,
    format: Format,
    pub packets: u64,
    pub bytes: u64,
}

impl Writer {
    pub fn create(path: &str, format: Format) -> io::Result<Writer> {
        let file = File::create(path)?;
        let mut w = Writer {
            out: BufWriter::with_capacity(WRITE_BUFFER, file),
            format,
            packets: 0,
            bytes: 0,
        };
        match format {
            Format::Pcap => w.pcap_header()?,
            Format::Pcapng => w.pcapng_header()?,
        }
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.bytes += b.len() as u64;
        self.out.write_all(b)
    }

    fn u32(&mut self, v: u32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    fn u16(&mut self, v: u16) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    fn pcap_header(&mut self) -> io::Result<()> {
        self.u32(PCAP_MAGIC_USEC)?;
        self.u16(2)?; // version major
        self.u16(4)?; // version minor
        self.u32(0)?; // thiszone
        self.u32(0)?; // sigfigs
        self.u32(SNAPLEN)?;
        self.u32(LINKTYPE_EN10MB)
    }

    fn pcapng_header(&mut self) -> io::Result<()> {
        // Section Header Block, no options: 28 bytes.
        self.u32(PCAPNG_SHB)?;
        self.u32(28)?;
        self.u32(PCAPNG_BYTE_ORDER_MAGIC)?;
        self.u16(1)?; // major
        self.u16(0)?; // minor
        self.put(&u64::MAX.to_le_bytes())?; // section length unknown
        self.u32(28)?;
        // Interface Description Block with if_name and if_tsresol (6 = microseconds).
        let name = b"eth0";
        let opts_len = 4 + 4 /* if_name padded */ + 4 + 4 /* if_tsresol padded */ + 4;
        let total = 20 + opts_len;
        self.u32(PCAPNG_IDB)?;
        self.u32(total)?;
        self.u16(LINKTYPE_EN10MB as u16)?;
        self.u16(0)?; // reserved
        self.u32(SNAPLEN)?;
        self.u16(2)?; // if_name
        self.u16(name.len() as u16)?;
        self.put(name)?;
        self.u16(9)?; // if_tsresol
        self.u16(1)?;
        self.put(&[6, 0, 0, 0])?;
        self.u32(0)?; // opt_endofopt
        self.u32(total)
    }

    /// One packet at `ts_us` microseconds since the Unix epoch.
    pub fn packet(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        self.packets += 1;
        let len = data.len() as u32;
        match self.format {
            Format::Pcap => {
                let mut rec = [0u8; 16];
                rec[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
                rec[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
                rec[8..12].copy_from_slice(&len.to_le_bytes());
                rec[12..16].copy_from_slice(&len.to_le_bytes());
                self.put(&rec)?;
                self.put(data)
            }
            Format::Pcapng => {
                let pad = (4 - data.len() % 4) % 4;
                let total = 32 + len + pad as u32;
                let mut rec = [0u8; 28];
                rec[0..4].copy_from_slice(&PCAPNG_EPB.to_le_bytes());
                rec[4..8].copy_from_slice(&total.to_le_bytes());
                // interface id 0 at 8..12
                rec[12..16].copy_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
                rec[16..20].copy_from_slice(&(ts_us as u32).to_le_bytes());
                rec[20..24].copy_from_slice(&len.to_le_bytes());
                rec[24..28].copy_from_slice(&len.to_le_bytes());
                self.put(&rec)?;
                self.put(data)?;
                self.put(&[0u8; 3][..pad])?;
                self.u32(total)
            }
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}
