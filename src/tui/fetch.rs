//! On-demand re-reads of a capture for the connections of one leg or journey: the streaming
//! pipeline keeps no packets and no stream bytes, so the TCP and Stream tabs, the HTTP tab's
//! body preview and the pcap export read the capture file again and keep what matches.
//!
//! A frame matches a connection when its 4-tuple is the connection's (either direction) or
//! its other NAT half (the replies from the original destination, `unnat.rs`) and its time is
//! within the connection's first and last packet. Reading stops a few seconds past the last
//! connection's end (captures are in time order, give or take). Everything kept is bounded:
//! [`MAX_PACKETS`] packets, [`MAX_STREAM`] stream bytes; the tabs say when they are cut.

use super::packets::{annotate, Packet, SegmentInfo};
use crate::capture::FileReader;
use crate::decode::{DecodeConfig, Decoder};
use crate::model::{Connection, Dir, Exchange, Timestamp};
use crate::pipeline::{AppConn, Output};
use crate::reassembly::{ConnMeta, Reassembler, ReassemblyConfig, StreamHandler};
use std::net::SocketAddr;
use std::path::Path;

/// Packets kept per fetch.
pub const MAX_PACKETS: usize = 20_000;
/// Reassembled stream bytes kept per fetch.
pub const MAX_STREAM: usize = 1 << 20;
/// Frames kept for a pcap export.
pub const MAX_FRAMES: usize = 1 << 20;
/// How far past a connection's last packet the file is still read (out-of-order records).
const SLACK_NS: i64 = 5_000_000_000;

/// What identifies one connection's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub original_dst: Option<SocketAddr>,
    pub first: Timestamp,
    pub last: Timestamp,
}

impl Matcher {
    pub fn of(c: &Connection) -> Matcher {
        Matcher {
            client: c.client,
            server: c.server,
            original_dst: c.original_dst,
            first: c.stats.first,
            last: c.stats.last,
        }
    }

    /// The direction of a segment from `src` to `dst` at `ts`, if it is this connection's.
    pub fn dir(&self, src: SocketAddr, dst: SocketAddr, ts: Timestamp) -> Option<Dir> {
        if ts < self.first || ts > self.last {
            return None;
        }
        let peer = |a: SocketAddr| a == self.server || Some(a) == self.original_dst;
        if src == self.client && peer(dst) {
            Some(Dir::ToServer)
        } else if dst == self.client && peer(src) {
            Some(Dir::ToClient)
        } else {
            None
        }
    }
}

/// A frame as read, for the pcap export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub ts: Timestamp,
    pub link_type: u32,
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// One in-order run of stream bytes, or a gap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub dir: Dir,
    pub ts: Timestamp,
    pub bytes: Vec<u8>,
    /// Bytes the capture missed here (then `bytes` is empty).
    pub gap: u64,
}

/// What the tabs show of one leg.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    pub packets: Vec<Packet>,
    /// Packets of the connection in the file (more than `packets` when cut).
    pub packets_total: u64,
    pub stream: Vec<Chunk>,
    /// Stream bytes of the connection (more than kept when cut).
    pub stream_total: u64,
    /// The exchanges parsed again, body previews whole.
    pub exchanges: Vec<Exchange>,
}

/// Records the stream of the one connection fed to it.
struct Recorder;

#[derive(Default)]
struct Recorded {
    chunks: Vec<Chunk>,
    kept: usize,
    total: u64,
}

impl StreamHandler for Recorder {
    type Ctx = Recorded;
    fn open(_: &ConnMeta, _: &mut Recorded) -> Recorder {
        Recorder
    }
    fn data(&mut self, ctx: &mut Recorded, _: &ConnMeta, dir: Dir, ts: Timestamp, bytes: &[u8]) {
        ctx.total += bytes.len() as u64;
        let room = MAX_STREAM.saturating_sub(ctx.kept);
        let take = bytes.get(..room.min(bytes.len())).unwrap_or_default();
        if take.is_empty() {
            return;
        }
        ctx.kept += take.len();
        match ctx.chunks.last_mut() {
            Some(c) if c.dir == dir && c.gap == 0 => c.bytes.extend_from_slice(take),
            _ => ctx.chunks.push(Chunk {
                dir,
                ts,
                bytes: take.to_vec(),
                gap: 0,
            }),
        }
    }
    fn gap(&mut self, ctx: &mut Recorded, _: &ConnMeta, dir: Dir, ts: Timestamp, len: u64) {
        ctx.chunks.push(Chunk {
            dir,
            ts,
            bytes: Vec::new(),
            gap: len,
        });
    }
    fn end(&mut self, _: &mut Recorded, _: &ConnMeta, _: Dir, _: Timestamp) {}
    fn close(self, _: &mut Recorded, _: Connection) {}
}

/// Reads `path` for the frames of the `matchers`' connections; `each` gets every matching
/// frame with the index of its connection and the decoded segment's fields.
fn scan(
    path: &Path,
    matchers: &[Matcher],
    each: &mut dyn FnMut(usize, &crate::model::Frame<'_>, &crate::model::Segment<'_>),
) -> Result<(), String> {
    let mut reader = FileReader::open(path, 0).map_err(|e| e.to_string())?;
    let mut decoder = Decoder::new(DecodeConfig::default());
    let end = matchers
        .iter()
        .map(|m| m.last.nanos().saturating_add(SLACK_NS))
        .max()
        .unwrap_or(i64::MIN);
    let mut frame_no = 0u64;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        frame_no += 1;
        if frame.ts.nanos() > end {
            return Ok(());
        }
        if let Some(seg) = decoder.decode(&frame, frame_no) {
            if let Some(i) = matchers
                .iter()
                .position(|m| m.dir(seg.src, seg.dst, seg.ts).is_some())
            {
                each(i, &frame, &seg);
            }
        }
    }
}

/// The packets, stream and exchanges of connection `conn` from capture `path`.
pub fn fetch_leg(path: &Path, conn: &Connection) -> Result<Fetched, String> {
    let m = Matcher::of(conn);
    let mut infos: Vec<SegmentInfo> = Vec::new();
    let mut total = 0u64;
    let mut http: Reassembler<AppConn> = Reassembler::new(ReassemblyConfig::default());
    let mut out = Output::default();
    let mut rec: Reassembler<Recorder> = Reassembler::new(ReassemblyConfig::default());
    let mut recorded = Recorded::default();
    scan(path, &[m], &mut |_, _, seg| {
        total += 1;
        if infos.len() < MAX_PACKETS {
            if let Some(dir) = m.dir(seg.src, seg.dst, seg.ts) {
                infos.push(SegmentInfo {
                    ts: seg.ts,
                    dir,
                    flags: seg.flags,
                    seq: seg.seq,
                    ack: seg.ack,
                    len: seg.payload.len() as u32 + seg.missing,
                    window: seg.window,
                });
            }
        }
        http.process_unnat(seg, &mut out);
        rec.process_unnat(seg, &mut recorded);
    })?;
    http.finish(&mut out);
    rec.finish(&mut recorded);
    Ok(Fetched {
        packets: annotate(&infos),
        packets_total: total,
        stream: recorded.chunks,
        stream_total: recorded.total,
        exchanges: out.exchanges,
    })
}

/// The raw frames of the given connections, each `(capture path, connection)`, merged in
/// time order (for the pcap export). At most [`MAX_FRAMES`]; the bool says whether more
/// matched.
pub fn frames(conns: &[(&Path, &Connection)]) -> Result<(Vec<RawFrame>, bool), String> {
    let mut by_file: Vec<(&Path, Vec<Matcher>)> = Vec::new();
    for (path, c) in conns {
        match by_file.iter_mut().find(|(p, _)| p == path) {
            Some((_, v)) => v.push(Matcher::of(c)),
            None => by_file.push((path, vec![Matcher::of(c)])),
        }
    }
    let mut out = Vec::new();
    let mut cut = false;
    for (path, matchers) in &by_file {
        scan(path, matchers, &mut |_, frame, _| {
            if out.len() >= MAX_FRAMES {
                cut = true;
                return;
            }
            out.push(RawFrame {
                ts: frame.ts,
                link_type: frame.link_type,
                orig_len: frame.orig_len,
                data: frame.data.to_vec(),
            });
        })?;
    }
    out.sort_by_key(|f| f.ts);
    Ok((out, cut))
}
