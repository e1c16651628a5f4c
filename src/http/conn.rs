//! [`HttpConn`]: the per-direction state machine of one HTTP/1.x connection.
//!
//! Each direction is in one of: fresh (nothing seen), head (between messages or inside a
//! buffered head), body (framing from `body`), resync (sync lost: searching for the next
//! message start), done (ended, or the connection upgraded). Heads are parsed straight from
//! the caller's bytes and buffered only while incomplete, up to `HttpLimits::max_head`. The
//! exchanges themselves live in `queue`; this module says when messages start and end.

use super::body::{Body, Chunk, GapEffect};
use super::head::{self, Head, Length, Parsed, Start};
use super::preview::Preview;
use super::queue::{add_note, Pending, Queue};
use super::sniff::{find_start, sniff, Sniff};
use super::{HttpLimits, HttpSummary};
use crate::model::{ConnId, Dir, Exchange, Message, Request, Response, Timestamp};

/// A message body in progress.
struct InBody {
    body: Body,
    preview: Preview,
    /// The exchange the message belongs to.
    index: u32,
    body_len: u64,
    gap_bytes: u64,
}

enum State {
    /// Nothing seen yet: the first bytes may be mid-message if the capture started late.
    Fresh,
    Head,
    Body(InBody),
    Resync,
    Done,
}

struct Side {
    state: State,
    /// The incomplete head so far (empty between messages).
    buf: Vec<u8>,
    /// Time of the first byte in `buf`.
    head_ts: Timestamp,
    /// The next message on this side was found by a resync search.
    resynced: bool,
}

impl Side {
    fn new() -> Side {
        Side {
            state: State::Fresh,
            buf: Vec::new(),
            head_ts: Timestamp::default(),
            resynced: false,
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
            State::Fresh => side.state = State::Resync,
            State::Head if side.buf.is_empty() => side.state = State::Resync,
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
        self.sides[dir.index()].state = State::Done;
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
            return match head::parse(rest, dir) {
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
                    self.lost_head(dir, rest, ts, "bad-head", out);
                    1
                }
            };
        }
        let old = side.buf.len();
        let take = rest.len().min(max.saturating_sub(old));
        side.buf.extend_from_slice(rest.get(..take).unwrap_or(&[]));
        let ts0 = side.head_ts;
        match head::parse(&side.buf, dir) {
            Parsed::Complete(h) => {
                side.buf.clear();
                let n = h.len.saturating_sub(old);
                self.start(dir, h, ts0, ts, out);
                n
            }
            Parsed::Partial if side.buf.len() < max => take,
            parsed => {
                let buf = std::mem::take(&mut side.buf);
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

    /// The exchange the next response belongs to.
    fn response_target(&mut self) -> u32 {
        if self.queue.orphans > 0 {
            self.queue.orphans -= 1;
            let i = self.queue.push(None);
            self.queue.note(i, "queue-full");
            return i;
        }
        match self.queue.unanswered() {
            Some(i) => i,
            None => {
                let i = self.queue.push(None);
                self.queue.note(i, "no-request");
                i
            }
        }
    }

    /// Makes room for one more request (RFC 9112 section 9.3.2 sets no depth; we do).
    fn make_room(&mut self, out: &mut Vec<Exchange>) {
        if self.queue.len() < self.limits.max_pending.max(1) {
            return;
        }
        if let Some((unanswered, resp_open)) = self.queue.pop_front(out, Some("queue-full")) {
            if unanswered {
                self.queue.orphans = self.queue.orphans.saturating_add(1);
            }
            if resp_open {
                self.sides[Dir::ToClient.index()].state = State::Resync;
            }
        }
    }

    /// A head that could not be parsed: reports what its start line says and resyncs.
    fn lost_head(
        &mut self,
        dir: Dir,
        buf: &[u8],
        first: Timestamp,
        note: &'static str,
        out: &mut Vec<Exchange>,
    ) {
        let msg = |version| Message {
            version,
            first_byte: first,
            head_len: u32::try_from(buf.len()).unwrap_or(u32::MAX),
            ..Message::default()
        };
        let index = match (dir, head::lax_start(buf, dir)) {
            (Dir::ToServer, lax) => {
                self.make_room(out);
                self.queue.push(match lax {
                    Some((Start::Request { method, target }, v)) => Some(Request {
                        method,
                        target,
                        msg: msg(v),
                    }),
                    _ => None,
                })
            }
            (Dir::ToClient, lax) => {
                let i = self.response_target();
                let resp = match lax {
                    Some((Start::Response { status, reason }, v)) => Some(Response {
                        status,
                        reason,
                        msg: msg(v),
                        informational: Vec::new(),
                    }),
                    _ => None,
                };
                self.queue.answer(i, resp, false);
                i
            }
        };
        self.queue.note(index, note);
        let side = &mut self.sides[dir.index()];
        if std::mem::take(&mut side.resynced) {
            self.queue.note(index, "resync");
        }
        side.state = State::Resync;
        side.buf.clear();
        self.queue.emit_ready(out);
    }

    /// A complete head: opens its message. `first` = time of its first byte, `ts` of its last.
    fn start(
        &mut self,
        dir: Dir,
        h: Head,
        first: Timestamp,
        ts: Timestamp,
        out: &mut Vec<Exchange>,
    ) {
        let mut msg = Message {
            version: h.version,
            headers: h.headers,
            first_byte: first,
            head_len: u32::try_from(h.len).unwrap_or(u32::MAX),
            ..Message::default()
        };
        let (index, body) = match h.start {
            Start::Request { method, target } => {
                self.make_room(out);
                // Section 6.3: a request without a length has no body; a Transfer-Encoding
                // not ending in chunked cannot be framed (the server answers 400 and closes).
                let body = match h.length {
                    Length::Absent | Length::Exact(0) => None,
                    Length::Exact(n) => Some(Body::Length(n)),
                    Length::Chunked => Some(Body::Chunked(Chunk::START)),
                    Length::UntilClose => None,
                };
                if body.is_none() {
                    msg.complete = Some(ts);
                }
                let index = self.queue.push(Some(Request {
                    method,
                    target,
                    msg,
                }));
                if h.length == Length::UntilClose {
                    self.queue.note(index, "bad-framing");
                    self.sides[dir.index()].state = State::Resync;
                }
                if let Some(p) = self.queue.get(index) {
                    p.req_open = body.is_some();
                }
                (index, body)
            }
            Start::Response { status, reason } => {
                let index = self.response_target();
                let (is_head, is_connect) =
                    match self.queue.get(index).and_then(|p| p.ex.request.as_ref()) {
                        Some(q) => (q.method == "HEAD", q.method == "CONNECT"),
                        None => (false, false),
                    };
                if (100..200).contains(&status) && status != 101 {
                    // Interim response (RFC 9110 section 15.2): the final one follows.
                    self.queue.informational(index, status);
                    self.take_resync(dir, index);
                    return;
                }
                let upgrade = match status {
                    101 => Some("upgrade"),
                    200..=299 if is_connect => Some("connect"),
                    _ => None,
                };
                // Section 6.3 items 1-2 and 8.
                let body = match h.length {
                    _ if is_head || status == 204 || status == 304 || upgrade.is_some() => None,
                    Length::Exact(0) => None,
                    Length::Exact(n) => Some(Body::Length(n)),
                    Length::Chunked => Some(Body::Chunked(Chunk::START)),
                    Length::Absent | Length::UntilClose => Some(Body::UntilClose),
                };
                if body.is_none() {
                    msg.complete = Some(ts);
                }
                let response = Response {
                    status,
                    reason,
                    msg,
                    informational: Vec::new(),
                };
                self.queue.answer(index, Some(response), body.is_some());
                if let Some(note) = upgrade {
                    self.queue.note(index, note);
                    self.upgraded = Some(note);
                    for side in &mut self.sides {
                        side.state = State::Done;
                    }
                }
                (index, body)
            }
        };
        self.take_resync(dir, index);
        if let Some(body) = body {
            let hint = match body {
                Body::Length(n) => Some(n),
                _ => None,
            };
            self.sides[dir.index()].state = State::Body(InBody {
                body,
                preview: Preview::new(h.coding, self.limits.preview, hint),
                index,
                body_len: 0,
                gap_bytes: 0,
            });
        }
        self.queue.emit_ready(out);
    }

    fn take_resync(&mut self, dir: Dir, index: u32) {
        if std::mem::take(&mut self.sides[dir.index()].resynced) {
            self.queue.note(index, "resync");
        }
    }

    /// Closes the body in progress on `dir`: `complete` = time of its last byte, `None` if cut.
    fn end_body(
        &mut self,
        dir: Dir,
        complete: Option<Timestamp>,
        note: Option<&'static str>,
        out: &mut Vec<Exchange>,
    ) {
        let side = &mut self.sides[dir.index()];
        let State::Body(b) = std::mem::replace(&mut side.state, State::Head) else {
            return;
        };
        let (preview, preview_note) = b.preview.finish(complete.is_none(), b.body_len);
        if let Some(p) = self.queue.get(b.index) {
            if let Some(msg) = msg_mut(p, dir) {
                msg.body_len = b.body_len;
                msg.gap_bytes = msg.gap_bytes.saturating_add(b.gap_bytes);
                msg.body_preview = preview;
                msg.preview_note = preview_note;
                msg.complete = complete;
            }
            match dir {
                Dir::ToServer => p.req_open = false,
                Dir::ToClient => p.resp_open = false,
            }
            if b.gap_bytes > 0 {
                add_note(&mut p.ex, "gap");
            }
            if let Some(note) = note {
                add_note(&mut p.ex, note);
            }
        }
        self.queue.emit_ready(out);
    }
}
