//! [`HttpConn`]: the per-direction state machine of one HTTP/1.x connection.
//!
//! Each direction is in one of: fresh (nothing seen), head (between messages or inside a
//! buffered head), body (framing from `body`), resync (sync lost: searching for the next
//! message start), done (ended, or the connection upgraded). Heads are parsed straight from
//! the caller's bytes and buffered only while incomplete, up to `HttpLimits::max_head`. The
//! exchanges themselves live in `queue`; this module says when messages start and end.

mod message;

use super::body::{Body, GapEffect};
use super::head::{self, Parsed};
use super::preview::Preview;
use super::queue::{Pending, Queue};
use super::sniff::{find_start, sniff, Sniff};
use super::{HttpLimits, HttpSummary};
use crate::model::{ConnId, Dir, Exchange, Message, Timestamp};

/// A message body in progress.
struct InBody {
    body: Body,
    preview: Preview,
    /// The exchange the message belongs to.
    index: u32,
    /// A CONNECT or Upgrade request: hold the client bytes after it (see [`Hold`]).
    then_hold: bool,
    body_len: u64,
    gap_bytes: u64,
}

enum State {
    /// Nothing seen yet: the first bytes may be mid-message if the capture started late.
    Fresh,
    Head,
    Body(InBody),
    Resync,
    /// Server side after an HTTP/0.9 request: the next bytes are a head-less response running
    /// to the close, unless they are a status line (a server answering 0.9 with 1.x).
    Http09,
    /// Client side after a CONNECT or Upgrade request, until its response decides whether the
    /// bytes that follow are a tunnel (101, 2xx to CONNECT) or the next request: they are held
    /// in `Side::hold`, bounded by `HttpLimits::max_head`.
    Hold,
    Done,
}

/// Client bytes sent after a CONNECT or Upgrade request before its response ("optimistic"
/// data, e.g. a TLS ClientHello right behind the CONNECT).
#[derive(Default)]
struct Hold {
    /// The exchange whose response decides.
    index: u32,
    buf: Vec<u8>,
    /// Time of the first held byte.
    ts: Option<Timestamp>,
    /// Bytes past the bound or lost in gaps, after `buf`.
    lost: u64,
}

struct Side {
    state: State,
    /// The incomplete head so far (empty between messages).
    buf: Vec<u8>,
    /// Time of the first byte in `buf`.
    head_ts: Timestamp,
    /// The next message on this side was found by a resync search.
    resynced: bool,
    hold: Hold,
}

impl Side {
    fn new() -> Side {
        Side {
            state: State::Fresh,
            buf: Vec::new(),
            head_ts: Timestamp::default(),
            resynced: false,
            hold: Hold::default(),
        }
    }
}

/// One TCP connection's HTTP/1.x parser. See the module docs of [`crate::http`].
pub struct HttpConn {
    limits: HttpLimits,
    sides: [Side; 2],
    queue: Queue,
    upgraded: Option<&'static str>,
}

fn msg_mut(p: &mut Pending, dir: Dir) -> Option<&mut Message> {
    match dir {
        Dir::ToServer => p.ex.request.as_mut().map(|r| &mut r.msg),
        Dir::ToClient => p.ex.response.as_mut().map(|r| &mut r.msg),
    }
}

impl HttpConn {
    pub fn new(conn: ConnId, limits: HttpLimits) -> HttpConn {
        HttpConn {
            limits,
            sides: [Side::new(), Side::new()],
            queue: Queue::new(conn),
            upgraded: None,
        }
    }

    /// In-order bytes of direction `dir`, captured at `ts`.
    pub fn data(&mut self, dir: Dir, ts: Timestamp, bytes: &[u8], out: &mut Vec<Exchange>) {
        let mut at = 0;
        while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
            let side = &mut self.sides[dir.index()];
            match &mut side.state {
                State::Done => return,
                State::Fresh => {
                    side.state = match sniff(rest, dir) {
                        Sniff::No => State::Resync,
                        _ => State::Head,
                    }
                }
                State::Resync => match find_start(rest, dir, self.limits.resync_scan) {
                    Some(off) => {
                        at += off;
                        side.state = State::Head;
                        side.resynced = true;
                    }
                    None => return,
                },
                State::Head => at += self.head(dir, ts, rest, out),
                State::Hold => {
                    let hold = &mut side.hold;
                    let room = self.limits.max_head.saturating_sub(hold.buf.len());
                    let (keep, over) = rest.split_at(rest.len().min(room));
                    hold.buf.extend_from_slice(keep);
                    hold.lost = hold.lost.saturating_add(over.len() as u64);
                    hold.ts.get_or_insert(ts);
                    return;
                }
                State::Http09 => {
                    if sniff(rest, dir) == Sniff::Response {
                        side.state = State::Head;
                    } else {
                        self.start_http09_response(ts);
                    }
                }
                State::Body(b) => {
                    let InBody {
                        body,
                        preview,
                        body_len,
                        ..
                    } = b;
                    let fed = body.feed(rest, &mut |x: &[u8]| {
                        *body_len += x.len() as u64;
                        if preview.wants() {
                            preview.push(x);
                        }
                    });
                    match fed {
                        Ok((n, done)) => {
                            at += n;
                            if done {
                                self.end_body(dir, Some(ts), None, out);
                            }
                        }
                        Err(e) => {
                            self.end_body(dir, None, Some(e.note), out);
                            self.sides[dir.index()].state = State::Resync;
                        }
                    }
                }
            }
        }
    }

    /// `len` bytes of direction `dir` will never arrive.
    pub fn gap(&mut self, dir: Dir, ts: Timestamp, len: u64, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[dir.index()];
        match &mut side.state {
            State::Done | State::Resync => {}
            State::Http09 => side.state = State::Resync,
            State::Hold => side.hold.lost = side.hold.lost.saturating_add(len),
            State::Fresh => {
                side.state = State::Resync;
                if len > 0 {
                    self.lost_between_messages(dir, out);
                }
            }
            State::Head if side.buf.is_empty() => {
                side.state = State::Resync;
                if len > 0 {
                    self.lost_between_messages(dir, out);
                }
            }
            State::Head => {
                let buf = std::mem::take(&mut side.buf);
                let ts0 = side.head_ts;
                self.lost_head(dir, &buf, ts0, "gap", out);
            }
            State::Body(b) => {
                b.preview.gap();
                match b.body.gap(len) {
                    GapEffect::Kept { done } => {
                        b.body_len = b.body_len.saturating_add(len);
                        b.gap_bytes = b.gap_bytes.saturating_add(len);
                        if done {
                            self.end_body(dir, Some(ts), None, out);
                        }
                    }
                    GapEffect::Lost { body } => {
                        b.body_len = b.body_len.saturating_add(body);
                        b.gap_bytes = b
                            .gap_bytes
                            .saturating_add(if body > 0 { body } else { len });
                        self.end_body(dir, None, None, out);
                        self.sides[dir.index()].state = State::Resync;
                    }
                }
            }
        }
    }

    /// Direction `dir` ended (FIN or RST): completes a body read until close.
    pub fn end(&mut self, dir: Dir, ts: Timestamp, out: &mut Vec<Exchange>) {
        self.cut(dir, Some(ts), "closed-mid-message", out);
        let side = &mut self.sides[dir.index()];
        if !matches!(side.state, State::Hold) {
            side.state = State::Done;
        }
        if dir == Dir::ToClient {
            self.queue.server_done = true;
        }
        self.queue.emit_ready(out);
    }

    /// The connection is over: pushes every exchange still open and says what it carried.
    pub fn finish(mut self, out: &mut Vec<Exchange>) -> HttpSummary {
        for dir in [Dir::ToServer, Dir::ToClient] {
            self.cut(dir, None, "capture-end", out);
        }
        self.queue.flush(out);
        HttpSummary {
            exchanges: self.queue.emitted,
            upgraded: self.upgraded,
        }
    }

    /// Ends the message in progress on `dir`: a body read until close completes at `end`,
    /// anything else is cut with `note`.
    fn cut(
        &mut self,
        dir: Dir,
        end: Option<Timestamp>,
        note: &'static str,
        out: &mut Vec<Exchange>,
    ) {
        let side = &mut self.sides[dir.index()];
        match &side.state {
            State::Body(b) if b.body == Body::UntilClose && end.is_some() => {
                self.end_body(dir, end, None, out)
            }
            State::Body(_) => self.end_body(dir, None, Some(note), out),
            State::Head if !side.buf.is_empty() => {
                let buf = std::mem::take(&mut side.buf);
                let ts0 = side.head_ts;
                self.lost_head(dir, &buf, ts0, note, out);
            }
            _ => {}
        }
    }

    /// Parses or buffers a head from `rest`; returns the bytes of `rest` consumed.
    fn head(&mut self, dir: Dir, ts: Timestamp, rest: &[u8], out: &mut Vec<Exchange>) -> usize {
        let max = self.limits.max_head;
        let side = &mut self.sides[dir.index()];
        if side.buf.is_empty() {
            // Empty lines between messages are ignored (RFC 9112 section 2.2).
            let blank = rest
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if blank > 0 {
                return blank;
            }
            return match head::parse(rest, dir, self.limits.defer_fields) {
                // The cap holds whatever the segmentation, so results do not depend on it.
                Parsed::Complete(h) if h.len > max => {
                    self.lost_head(dir, rest, ts, "head-too-large", out);
                    h.len
                }
                Parsed::Complete(h) => {
                    let n = h.len;
                    self.start(dir, h, ts, ts, out);
                    n
                }
                Parsed::Partial if rest.len() < max => {
                    side.buf.extend_from_slice(rest);
                    side.head_ts = ts;
                    rest.len()
                }
                Parsed::Partial | Parsed::TooManyHeaders => {
                    self.lost_head(dir, rest, ts, "head-too-large", out);
                    rest.len().min(max).max(1)
                }
                Parsed::Invalid => {
                    if self.http09_request(dir, rest, ts, ts, out) {
                        return rest.len();
                    }
                    self.lost_head(dir, rest, ts, "bad-head", out);
                    1
                }
            };
        }
        let old = side.buf.len();
        let take = rest.len().min(max.saturating_sub(old));
        side.buf.extend_from_slice(rest.get(..take).unwrap_or(&[]));
        let ts0 = side.head_ts;
        match head::parse(&side.buf, dir, self.limits.defer_fields) {
            Parsed::Complete(h) => {
                side.buf.clear();
                let n = h.len.saturating_sub(old);
                self.start(dir, h, ts0, ts, out);
                n
            }
            Parsed::Partial if side.buf.len() < max => take,
            parsed => {
                let buf = std::mem::take(&mut side.buf);
                if matches!(parsed, Parsed::Invalid) && self.http09_request(dir, &buf, ts0, ts, out)
                {
                    return take;
                }
                let note = match parsed {
                    Parsed::Invalid => "bad-head",
                    _ => "head-too-large",
                };
                self.lost_head(dir, &buf, ts0, note, out);
                // Search the new bytes again: the next message may start among them.
                if note == "bad-head" {
                    0
                } else {
                    take
                }
            }
        }
    }
}
