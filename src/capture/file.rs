//! One input (a file, stdin, or any byte stream): detects the format, then yields its records
//! in file order.
//!
//! The format is told by the first bytes: gzip (decompressed on the fly, see `input`), then
//! pcap or pcapng by magic. A record is parsed in place and kept as a [`Packet`] (buffer
//! position and length) until the merger takes it, so the frame's data is never copied.
//! Damage ends the input: the error is returned once and the reader reports end afterwards.

use super::error::{At, CaptureError, ErrorKind, Hex};
use super::info::{Container, FileFormat, FileSummary, InterfaceInfo};
use super::input::Input;
use super::pcap::{self, Pcap};
use super::pcapng::{self, Pcapng};
use crate::model::{Frame, Timestamp};
use std::io::Read;
use std::path::Path;

/// A record read but not yet handed out: where its bytes sit in the reader's buffer.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Packet {
    pub ts: Timestamp,
    /// Index in this reader's interface list.
    pub interface: u32,
    /// Buffer position (`Input::pos` space) and length of the captured bytes.
    pub at: usize,
    pub len: u32,
    pub orig_len: u32,
}

enum Parser {
    Pcap(Pcap),
    Pcapng(Pcapng),
}

/// One input, read as a stream.
pub struct FileReader {
    name: String,
    index: usize,
    input: Input,
    total: Option<u64>,
    parser: Parser,
    format: FileFormat,
    /// This input's interfaces in the order met (pcapng: over all sections).
    pub(super) interfaces: Vec<InterfaceInfo>,
    pub(super) pending: Option<Packet>,
    packets: u64,
    done: bool,
}

impl FileReader {
    /// Opens a file (`-` = stdin) and reads its file header. `index` = position among inputs.
    pub fn open(path: &Path, index: usize) -> Result<FileReader, CaptureError> {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            return FileReader::with_source(name, index, Box::new(std::io::stdin()), None, true);
        }
        let opened = std::fs::File::open(path).and_then(|f| Ok((f.metadata()?, f)));
        let (meta, file) = opened.map_err(|e| At::new(0, ErrorKind::Open(e)).named(&name))?;
        let total = meta.is_file().then_some(meta.len());
        FileReader::with_source(name, index, Box::new(file), total, true)
    }

    /// Any byte source (stdin, a pipe, a test's cursor); `total` = its size if known.
    pub fn from_reader(
        name: String,
        index: usize,
        r: Box<dyn Read + Send>,
        total: Option<u64>,
    ) -> Result<FileReader, CaptureError> {
        FileReader::with_source(name, index, r, total, false)
    }

    /// `read_ahead`: read (and inflate) on a thread of its own, for files and stdin.
    fn with_source(
        name: String,
        index: usize,
        r: Box<dyn Read + Send>,
        total: Option<u64>,
        read_ahead: bool,
    ) -> Result<FileReader, CaptureError> {
        match Self::start(index, r, read_ahead) {
            Ok((input, parser, container, interfaces)) => Ok(FileReader {
                name,
                index,
                format: FileFormat {
                    container,
                    gzip: input.gzip(),
                },
                input,
                total,
                parser,
                interfaces,
                pending: None,
                packets: 0,
                done: false,
            }),
            Err(at) => Err(at.named(&name)),
        }
    }

    fn start(
        index: usize,
        r: Box<dyn Read + Send>,
        read_ahead: bool,
    ) -> Result<(Input, Parser, Container, Vec<InterfaceInfo>), At> {
        let mut input = Input::new(r, read_ahead)?;
        let have = input.ensure(4)?;
        if have == 0 {
            return Err(At::new(0, ErrorKind::Empty));
        }
        let magic = input.avail().get(..4).unwrap_or(input.avail());
        let mut interfaces = Vec::new();
        if pcap::is_magic(magic) {
            let (p, iface) = Pcap::open(&mut input, index)?;
            interfaces.push(iface);
            let container = Container::Pcap(p.variant);
            Ok((input, Parser::Pcap(p), container, interfaces))
        } else if magic == pcapng::SHB.to_le_bytes() {
            let p = Pcapng::open(&mut input, index, &mut interfaces)?;
            Ok((input, Parser::Pcapng(p), Container::Pcapng, interfaces))
        } else {
            let found = Hex(magic.to_vec());
            Err(At::new(0, ErrorKind::NotCapture { found }))
        }
    }

    /// Reads the next record into `pending`. `Ok(false)` at the end (or after an error).
    #[inline]
    pub(super) fn advance(&mut self) -> Result<bool, CaptureError> {
        if self.done {
            return Ok(false);
        }
        let next = match &mut self.parser {
            Parser::Pcap(p) => p.next(&mut self.input),
            Parser::Pcapng(p) => p.next(&mut self.input, &mut self.interfaces),
        };
        match next {
            Ok(Some(p)) => {
                self.packets += 1;
                self.pending = Some(p);
                Ok(true)
            }
            Ok(None) => {
                self.done = true;
                Ok(false)
            }
            Err(at) => {
                self.done = true;
                Err(at.named(&self.name))
            }
        }
    }

    /// The bytes of a packet read by the last `advance`.
    #[inline]
    pub(super) fn data(&self, p: &Packet) -> &[u8] {
        self.input.slice(p.at, p.len as usize)
    }

    /// Next frame of this input alone, in file order; `Frame.interface` is the index in
    /// [`FileReader::interfaces`]. After an error, returns `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.pending.is_none() && !self.advance()? {
            return Ok(None);
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        let link_type = self
            .interfaces
            .get(p.interface as usize)
            .map_or(0, |i| i.link_type);
        Ok(Some(Frame {
            ts: p.ts,
            link_type,
            interface: p.interface,
            data: self.data(&p),
            orig_len: p.orig_len,
        }))
    }

    /// Position among the inputs (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// This input's interfaces met so far.
    pub fn interfaces(&self) -> &[InterfaceInfo] {
        &self.interfaces
    }

    /// Bytes of the input consumed (compressed bytes for gzip), and its size when known.
    pub fn progress(&self) -> (u64, Option<u64>) {
        let read = if self.input.gzip() {
            self.input.raw_read()
        } else {
            self.input.offset()
        };
        (read, self.total)
    }

    pub fn summary(&self) -> FileSummary {
        FileSummary {
            name: self.name.clone(),
            format: self.format,
            packets: self.packets,
            bytes: self.progress().0,
        }
    }
}
