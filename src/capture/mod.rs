//! The only packet I/O of hopscope: reads tcpdump capture files (pcap, pcapng, either one
//! gzip-compressed) from files or stdin, in pure Rust, and merges several inputs into one
//! stream of [`Frame`]s in timestamp order.
//!
//! What it does not do: decode link layers (an unknown link type is the decode layer's to
//! count), or seek (inputs may be pipes).
//!
//! Why this shape: a frame's bytes are a slice of its reader's buffer (no copy per packet), and
//! each reader holds at most one parsed-but-not-yet-yielded record, so the merger compares
//! timestamps without copying and memory stays flat (one buffer per input, see `input`).
//! Bad input is normal: damage ends that input with a [`CaptureError`] naming file and offset,
//! after every frame before it was delivered; the other inputs go on.
//!
//! Interfaces get a global index (`Frame.interface`) in the order they are met: all interfaces
//! known when the inputs are opened, in input order (pcap: one per file), then each pcapng
//! Interface Description Block as the merge reaches it.
//!
//! Modules: `input` (buffer, refill, gzip), `pcap`, `pcapng`, `interface` (the formats),
//! `file` (one input), `info` (what is reported), `error`, `endian`; `live` (capture in a
//! network namespace through libpcap, feature `live`: it feeds this reader through a pipe).

mod endian;
mod error;
mod file;
mod info;
mod input;
mod interface;
pub mod live;
mod pcap;
mod pcapng;
mod prefetch;

#[cfg(test)]
mod build;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bench;
#[cfg(test)]
mod tests_fixtures;
#[cfg(test)]
mod tests_pcap;
#[cfg(test)]
mod tests_prop;

pub use error::{BlockFault, CaptureError, ErrorKind, Hex};
pub use file::FileReader;
pub use info::{Container, FileFormat, FileSummary, InterfaceInfo, PcapVariant};
pub use input::{BUFFER_SIZE, MAX_RECORD};
pub use pcap::MAXIMUM_SNAPLEN;
pub use pcapng::MAX_INTERFACES;

use crate::model::Frame;

/// Several inputs merged by timestamp.
pub struct Capture {
    readers: Vec<Slot>,
    interfaces: Vec<InterfaceInfo>,
    errors: Vec<CaptureError>,
}

/// A reader and the global index of each of its interfaces.
struct Slot {
    reader: FileReader,
    /// `global[local]` = index in `Capture::interfaces`.
    global: Vec<u32>,
}

impl Slot {
    /// Gives global indices to interfaces the reader met since the last call.
    fn sync(&mut self, interfaces: &mut Vec<InterfaceInfo>) {
        while let Some(info) = self.reader.interfaces.get(self.global.len()) {
            self.global.push(interfaces.len() as u32);
            interfaces.push(info.clone());
        }
    }

    /// The reader's pending record as a frame.
    #[inline]
    fn take(&mut self) -> Option<Frame<'_>> {
        let p = self.reader.pending.take()?;
        let local = p.interface as usize;
        let link_type = self.reader.interfaces.get(local).map_or(0, |f| f.link_type);
        let interface = self.global.get(local).copied().unwrap_or(u32::MAX);
        Some(Frame {
            ts: p.ts,
            link_type,
            interface,
            data: self.reader.data(&p),
            orig_len: p.orig_len,
        })
    }
}

impl Capture {
    pub fn new(readers: Vec<FileReader>) -> Capture {
        let mut c = Capture {
            readers: readers
                .into_iter()
                .map(|reader| Slot {
                    reader,
                    global: Vec::new(),
                })
                .collect(),
            interfaces: Vec::new(),
            errors: Vec::new(),
        };
        for i in 0..c.readers.len() {
            c.sync_interfaces(i);
        }
        c
    }

    /// Gives global indices to interfaces a reader met since the last call.
    fn sync_interfaces(&mut self, i: usize) {
        if let Some(slot) = self.readers.get_mut(i) {
            slot.sync(&mut self.interfaces);
        }
    }

    /// Next frame over all inputs, smallest timestamp first; ties go to the lower input index,
    /// and within one input file order is kept even when timestamps go backwards. Damage ends
    /// that input (see [`Capture::take_errors`]); the others go on.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        if self.readers.len() == 1 {
            return self.next_only();
        }
        let mut best: Option<(usize, crate::model::Timestamp)> = None;
        for i in 0..self.readers.len() {
            let slot = self.readers.get_mut(i)?;
            if slot.reader.pending.is_none() {
                match slot.reader.advance() {
                    Ok(_) => {}
                    Err(e) => self.errors.push(e),
                }
                if slot.reader.interfaces.len() != slot.global.len() {
                    self.sync_interfaces(i);
                }
            }
            if let Some(p) = self.readers.get(i).and_then(|s| s.reader.pending.as_ref()) {
                if best.is_none_or(|(_, ts)| p.ts < ts) {
                    best = Some((i, p.ts));
                }
            }
        }
        let (i, _) = best?;
        self.readers.get_mut(i)?.take()
    }

    /// [`Capture::next_frame`] of the usual single input: the same steps without the merge.
    #[inline]
    fn next_only(&mut self) -> Option<Frame<'_>> {
        let slot = self.readers.first_mut()?;
        if slot.reader.pending.is_none() {
            if let Err(e) = slot.reader.advance() {
                self.errors.push(e);
            }
            if slot.reader.interfaces.len() != slot.global.len() {
                slot.sync(&mut self.interfaces);
            }
        }
        slot.take()
    }

    /// Bytes consumed over all inputs, and the total when every input's size is known.
    pub fn progress(&self) -> (u64, Option<u64>) {
        let mut read = 0u64;
        let mut total = Some(0u64);
        for s in &self.readers {
            let (r, t) = s.reader.progress();
            read = read.saturating_add(r);
            total = total.zip(t).map(|(a, b)| a.saturating_add(b));
        }
        (read, total)
    }

    pub fn files(&self) -> Vec<FileSummary> {
        self.readers.iter().map(|s| s.reader.summary()).collect()
    }

    /// Every interface met so far; the position is the global index in `Frame.interface`.
    pub fn interfaces(&self) -> Vec<InterfaceInfo> {
        self.interfaces.clone()
    }

    /// Damage met so far, in the order found.
    pub fn take_errors(&mut self) -> Vec<CaptureError> {
        std::mem::take(&mut self.errors)
    }
}
