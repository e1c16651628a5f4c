//! What a whole run saw: inputs, frames, what was not TCP, what could not be read, and why.

use crate::capture::{Capture, CaptureError, FileSummary, InterfaceInfo};
use crate::decode::DecodeStats;
use crate::model::{Frame, Timestamp};
use crate::reassembly::ReassemblyStats;

#[derive(Debug, Default)]
pub struct Summary {
    pub frames: u64,
    /// Bytes kept in the capture (caplen) and on the wire (orig_len).
    pub captured_bytes: u64,
    pub wire_bytes: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
    pub files: Vec<FileSummary>,
    pub interfaces: Vec<InterfaceInfo>,
    /// Damage met while reading; everything before it was analyzed.
    pub errors: Vec<CaptureError>,
    pub decode: DecodeStats,
    pub reassembly: ReassemblyStats,
    pub exchanges: u64,
    pub connections: u64,
}

impl Summary {
    pub(super) fn add_frame(&mut self, frame: &Frame<'_>) {
        self.frames += 1;
        self.captured_bytes += frame.data.len() as u64;
        self.wire_bytes += u64::from(frame.orig_len);
        self.first = Some(self.first.map_or(frame.ts, |t| t.min(frame.ts)));
        self.last = Some(self.last.map_or(frame.ts, |t| t.max(frame.ts)));
    }

    pub(super) fn finish(
        &mut self,
        capture: &mut Capture,
        decode: &DecodeStats,
        reassembly: &ReassemblyStats,
    ) {
        self.files = capture.files();
        self.interfaces = capture.interfaces();
        self.errors = capture.take_errors();
        self.decode = decode.clone();
        self.reassembly = reassembly.clone();
    }

    /// Duration from first to last frame, in nanoseconds.
    pub fn span(&self) -> i64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.since(a),
            _ => 0,
        }
    }
}
