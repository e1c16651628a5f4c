//! Why an input could not be read further, and where.
//!
//! A capture error always names the input (as the user gave it) and the byte offset of the
//! record or header that was damaged, then says what was expected and what was found, so a
//! user can look at the spot with `xxd -s OFFSET`. For gzip inputs the offset is in the
//! decompressed stream (what `zcat FILE | xxd` shows). Damage stops that input only; every
//! frame before the damaged record was already delivered. An unknown link type is not an
//! error here (the decode layer counts it).

use std::fmt;

/// One input could not be read (further). Display: `NAME: offset N: what`.
#[derive(Debug, thiserror::Error)]
#[error("{name}: offset {offset}: {kind}")]
pub struct CaptureError {
    /// The input as given on the command line (`-` for stdin).
    pub name: String,
    /// Byte offset of the damaged header or record (decompressed stream for gzip inputs).
    pub offset: u64,
    pub kind: ErrorKind,
}

/// What was wrong. Messages are lowercase and say what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot open: {0}")]
    Open(#[source] std::io::Error),
    #[error("read failed: {0}")]
    Io(#[source] std::io::Error),
    #[error("gzip stream is damaged: {0}")]
    Gzip(#[source] std::io::Error),
    #[error("empty file: expected a pcap or pcapng file header")]
    Empty,
    #[error(
        "not a capture file: found magic {found}, expected pcap (a1b2c3d4, a1b23c4d, a1b2cd34, \
         either byte order), pcapng (0a0d0d0a) or gzip (1f8b)"
    )]
    NotCapture { found: Hex },
    /// The file ended inside a header or record: `need` bytes announced, `have` present.
    #[error("file cut short in the middle of {what}: {need} bytes expected, only {have} left")]
    CutShort {
        what: &'static str,
        need: u64,
        have: u64,
    },
    #[error("unsupported pcap version {major}.{minor} (expected 2.x)")]
    PcapVersion { major: u16, minor: u16 },
    /// caplen beyond any sane limit (see `pcap::caplen_limit`).
    #[error(
        "packet of {caplen} bytes is larger than the limit of {limit} bytes (snaplen {snaplen})"
    )]
    TooLarge {
        caplen: u64,
        limit: u64,
        snaplen: u32,
    },
    #[error("corrupt pcapng block: {0}")]
    Block(BlockFault),
    #[error("unsupported pcapng version {major}.{minor} (expected 1.x)")]
    PcapngVersion { major: u16, minor: u16 },
    #[error("more than {limit} interfaces in one file")]
    TooManyInterfaces { limit: usize },
    #[error("packet names interface {id}, but its section has {count} interface(s)")]
    NoInterface { id: u32, count: usize },
}

/// How a pcapng block was corrupt (draft-ietf-opsawg-pcapng section 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockFault {
    /// Block Total Length below the 12-byte minimum or not a multiple of 4.
    BadLength { block_type: u32, length: u32 },
    /// Larger than the reader's record limit.
    TooLong {
        block_type: u32,
        length: u32,
        limit: usize,
    },
    /// The trailing copy of Block Total Length differs from the leading one.
    TrailerMismatch {
        block_type: u32,
        length: u32,
        trailer: u32,
    },
    /// The body is shorter than the block type's fixed fields (plus the packet data).
    BodyTooShort {
        block_type: u32,
        need: u64,
        have: u64,
    },
    /// Section Header Block byte-order magic is neither 1a2b3c4d nor 4d3c2b1a.
    ByteOrderMagic { found: Hex },
}

impl fmt::Display for BlockFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BlockFault::BadLength { block_type, length } => write!(
                f,
                "block type {block_type:#x} has total length {length}, expected a multiple of 4 \
                 and at least 12"
            ),
            BlockFault::TooLong {
                block_type,
                length,
                limit,
            } => write!(
                f,
                "block type {block_type:#x} has total length {length}, over the limit of {limit} bytes"
            ),
            BlockFault::TrailerMismatch {
                block_type,
                length,
                trailer,
            } => write!(
                f,
                "block type {block_type:#x} has total length {length} but its trailing copy says {trailer}"
            ),
            BlockFault::BodyTooShort {
                block_type,
                need,
                have,
            } => write!(
                f,
                "block type {block_type:#x} needs {need} body bytes, has {have}"
            ),
            BlockFault::ByteOrderMagic { ref found } => write!(
                f,
                "section header byte-order magic is {found}, expected 1a2b3c4d or 4d3c2b1a"
            ),
        }
    }
}

/// Bytes shown as hex in messages (the magic as it appears in the file, like `xxd`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex(pub Vec<u8>);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An error before the input's name is attached: the parsers only know offsets.
#[derive(Debug)]
pub(crate) struct At {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl At {
    pub fn new(offset: u64, kind: ErrorKind) -> At {
        At { offset, kind }
    }
    pub fn named(self, name: &str) -> CaptureError {
        CaptureError {
            name: name.to_string(),
            offset: self.offset,
            kind: self.kind,
        }
    }
}
