//! The pcapng file format (draft-ietf-opsawg-pcapng): a sequence of blocks, each
//! `type, total length, body, total length`, in sections that each start with a Section Header
//! Block (SHB) giving the byte order and resetting the interface list.
//!
//! Reads Interface Description Blocks (contents parsed in `interface`), Enhanced
//! Packet Blocks, Simple Packet Blocks and the obsolete Packet Block; every other block (name
//! resolution, statistics, decryption secrets, custom, unknown) is checked for a sane length
//! and skipped. Both length copies are compared and lengths must be multiples of 4 (section
//! 3.1). The section length field is not used (it may be -1), so nothing here seeks.

use super::endian::Endian;
use super::error::{At, BlockFault, ErrorKind, Hex};
use super::file::Packet;
use super::info::InterfaceInfo;
use super::input::{Input, MAX_RECORD};
use super::interface::{parse_idb, Units, IDB_FIXED};
use crate::model::Timestamp;

/// Block types (section 11.1 of the draft; Appendix for the obsolete Packet Block).
pub const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const PB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
/// Section Header Block byte-order magic.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

const BLOCK_HEADER_LEN: usize = 8;
const BLOCK_TRAILER_LEN: usize = 4;
const MIN_BLOCK_LEN: usize = BLOCK_HEADER_LEN + BLOCK_TRAILER_LEN;
/// Offset of the byte-order magic in an SHB (from the block start).
const SHB_OFF_MAGIC: usize = 8;
/// Body offsets.
const SHB_OFF_MAJOR: usize = 4;
const SHB_OFF_MINOR: usize = 6;
const SHB_FIXED: usize = 16;
const EPB_OFF_INTERFACE: usize = 0;
const EPB_OFF_TS_HIGH: usize = 4;
const EPB_OFF_TS_LOW: usize = 8;
const EPB_OFF_CAPLEN: usize = 12;
const EPB_OFF_LEN: usize = 16;
const EPB_FIXED: usize = 20;
const PB_OFF_INTERFACE: usize = 0;
const PB_FIXED: usize = 20;
const SPB_OFF_LEN: usize = 0;
const SPB_FIXED: usize = 4;

/// Interfaces one file may declare (each costs an [`InterfaceInfo`]); beyond this the file is
/// treated as damaged so memory stays bounded.
pub const MAX_INTERFACES: usize = 1 << 16;

/// One interface of the current section.
#[derive(Copy, Clone, Debug)]
struct SectionIface {
    /// Index in the file's interface list.
    local: u32,
    snaplen: u32,
    units: Units,
    offset_ns: i64,
}

/// Reading state of one pcapng file.
pub(crate) struct Pcapng {
    endian: Endian,
    section: u32,
    started: bool,
    ifaces: Vec<SectionIface>,
    /// Timestamp of the previous packet: Simple Packet Blocks have none and get this one.
    last_ts: Timestamp,
    file: usize,
}

enum Step {
    Packet(Packet),
    Skipped,
    End,
}

impl Pcapng {
    /// Reads the first Section Header Block (the caller saw its magic).
    pub fn open(
        input: &mut Input,
        file: usize,
        out: &mut Vec<InterfaceInfo>,
    ) -> Result<Pcapng, At> {
        let mut p = Pcapng {
            endian: Endian::Little,
            section: 0,
            started: false,
            ifaces: Vec::new(),
            last_ts: Timestamp::default(),
            file,
        };
        p.step(input, out)?;
        Ok(p)
    }

    /// The next packet, or `None` at a clean end of file.
    pub fn next(
        &mut self,
        input: &mut Input,
        out: &mut Vec<InterfaceInfo>,
    ) -> Result<Option<Packet>, At> {
        loop {
            match self.step(input, out)? {
                Step::Packet(p) => return Ok(Some(p)),
                Step::Skipped => {}
                Step::End => return Ok(None),
            }
        }
    }

    /// Reads one block.
    fn step(&mut self, input: &mut Input, out: &mut Vec<InterfaceInfo>) -> Result<Step, At> {
        let offset = input.offset();
        let have = input.ensure(MIN_BLOCK_LEN)?;
        if have == 0 {
            return Ok(Step::End);
        }
        if have < MIN_BLOCK_LEN {
            return Err(cut(offset, "a pcapng block header", MIN_BLOCK_LEN, have));
        }
        let head = input.avail();
        let mut e = self.endian;
        let is_shb = Endian::Little.u32(head, 0) == SHB;
        if is_shb {
            e = match Endian::Little.u32(head, SHB_OFF_MAGIC) {
                BYTE_ORDER_MAGIC => Endian::Little,
                m if m == BYTE_ORDER_MAGIC.swap_bytes() => Endian::Big,
                _ => {
                    let found = Hex(head
                        .get(SHB_OFF_MAGIC..SHB_OFF_MAGIC + 4)
                        .unwrap_or_default()
                        .to_vec());
                    return Err(block_err(offset, BlockFault::ByteOrderMagic { found }));
                }
            };
        }
        let block_type = e.u32(head, 0);
        let length = e.u32(head, 4);
        let len = length as usize;
        if len < MIN_BLOCK_LEN || !len.is_multiple_of(4) {
            return Err(block_err(
                offset,
                BlockFault::BadLength { block_type, length },
            ));
        }
        if len > MAX_RECORD {
            let limit = MAX_RECORD;
            return Err(block_err(
                offset,
                BlockFault::TooLong {
                    block_type,
                    length,
                    limit,
                },
            ));
        }
        let have = input.ensure(len)?;
        if have < len {
            return Err(cut(offset, "a pcapng block", len, have));
        }
        let block = input.avail().get(..len).unwrap_or_default();
        let trailer = e.u32(block, len - BLOCK_TRAILER_LEN);
        if trailer != length {
            return Err(block_err(
                offset,
                BlockFault::TrailerMismatch {
                    block_type,
                    length,
                    trailer,
                },
            ));
        }
        let body = block
            .get(BLOCK_HEADER_LEN..len - BLOCK_TRAILER_LEN)
            .unwrap_or_default();
        let short = |need: usize| {
            let (need, have) = (need as u64, body.len() as u64);
            block_err(
                offset,
                BlockFault::BodyTooShort {
                    block_type,
                    need,
                    have,
                },
            )
        };
        let data_at = input.pos() + BLOCK_HEADER_LEN;
        let step = match block_type {
            SHB => {
                if body.len() < SHB_FIXED {
                    return Err(short(SHB_FIXED));
                }
                let (major, minor) = (e.u16(body, SHB_OFF_MAJOR), e.u16(body, SHB_OFF_MINOR));
                if major != 1 {
                    return Err(At::new(offset, ErrorKind::PcapngVersion { major, minor }));
                }
                self.endian = e;
                if self.started {
                    self.section += 1;
                }
                self.started = true;
                self.ifaces.clear();
                Step::Skipped
            }
            IDB => {
                if body.len() < IDB_FIXED {
                    return Err(short(IDB_FIXED));
                }
                if out.len() >= MAX_INTERFACES {
                    return Err(At::new(
                        offset,
                        ErrorKind::TooManyInterfaces {
                            limit: MAX_INTERFACES,
                        },
                    ));
                }
                let (info, units) = parse_idb(body, e, self.file, self.section);
                self.ifaces.push(SectionIface {
                    local: out.len() as u32,
                    snaplen: info.snaplen,
                    units,
                    offset_ns: info.tsoffset.saturating_mul(1_000_000_000),
                });
                out.push(info);
                Step::Skipped
            }
            EPB | PB => {
                let fixed = if block_type == EPB {
                    EPB_FIXED
                } else {
                    PB_FIXED
                };
                if body.len() < fixed {
                    return Err(short(fixed));
                }
                let id = if block_type == EPB {
                    e.u32(body, EPB_OFF_INTERFACE)
                } else {
                    u32::from(e.u16(body, PB_OFF_INTERFACE))
                };
                let caplen = e.u32(body, EPB_OFF_CAPLEN);
                if caplen as usize > body.len() - fixed {
                    return Err(short(fixed + caplen as usize));
                }
                let iface = *self.iface(id, offset)?;
                let raw = u64::from(e.u32(body, EPB_OFF_TS_HIGH)) << 32
                    | u64::from(e.u32(body, EPB_OFF_TS_LOW));
                let ts =
                    Timestamp::from_nanos(iface.units.nanos(raw).saturating_add(iface.offset_ns));
                self.last_ts = ts;
                Step::Packet(Packet {
                    ts,
                    interface: iface.local,
                    at: data_at + fixed,
                    len: caplen,
                    orig_len: e.u32(body, EPB_OFF_LEN).max(caplen),
                })
            }
            SPB => {
                if body.len() < SPB_FIXED {
                    return Err(short(SPB_FIXED));
                }
                let iface = *self.iface(0, offset)?;
                let orig_len = e.u32(body, SPB_OFF_LEN);
                // Section 4.4: captured length = min(original length, snaplen), the block
                // body (padded) bounding it.
                let mut caplen = orig_len.min((body.len() - SPB_FIXED) as u32);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen);
                }
                Step::Packet(Packet {
                    ts: self.last_ts,
                    interface: iface.local,
                    at: data_at + SPB_FIXED,
                    len: caplen,
                    orig_len,
                })
            }
            _ => Step::Skipped,
        };
        input.consume(len);
        Ok(step)
    }

    fn iface(&self, id: u32, offset: u64) -> Result<&SectionIface, At> {
        self.ifaces.get(id as usize).ok_or(At::new(
            offset,
            ErrorKind::NoInterface {
                id,
                count: self.ifaces.len(),
            },
        ))
    }
}

fn cut(offset: u64, what: &'static str, need: usize, have: usize) -> At {
    At::new(
        offset,
        ErrorKind::CutShort {
            what,
            need: need as u64,
            have: have as u64,
        },
    )
}

fn block_err(offset: u64, fault: BlockFault) -> At {
    At::new(offset, ErrorKind::Block(fault))
}
