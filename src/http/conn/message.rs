//! Opening and closing messages: a parsed head becomes a Request or Response in the queue
//! with its framing (RFC 9112 section 6.3), a lost head becomes what its start line says,
//! and a finished body writes its counts, preview and completion time back.

use super::{msg_mut, Hold, HttpConn, InBody, State};
use crate::http::body::{Body, Chunk};
use crate::http::head::{self, Coding, Head, Length, Start};
use crate::http::preview::Preview;
use crate::http::queue::add_note;
use crate::model::{Dir, Exchange, HttpVersion, Message, Request, Response, Timestamp};

impl HttpConn {
    /// The exchange the next response belongs to.
    pub(super) fn response_target(&mut self) -> u32 {
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
    /// A gap on `dir` where a message would start: the lost bytes began a whole message, so
    /// keep the FIFO pairing in step. A lost response answers the oldest waiting request (else
    /// the next response found would pair with it, and every later one would be off by one:
    /// zeek-http-ipv6-keepalive-1000req-one-dropped-response); a lost request gets a
    /// placeholder exchange (request unknown) for its response to pair with. Not when the
    /// lost bytes may have been a `100 Continue` the client waits for.
    pub(super) fn lost_between_messages(&mut self, dir: Dir, out: &mut Vec<Exchange>) {
        match dir {
            Dir::ToServer => {
                self.make_room(out);
                let i = self.queue.push(None);
                self.queue.note(i, "gap");
            }
            Dir::ToClient => {
                let Some(i) = self.queue.unanswered() else {
                    return;
                };
                let Some(p) = self.queue.get(i) else {
                    return;
                };
                let expects_100 = p.informational.is_empty()
                    && p.ex.request.as_ref().is_some_and(|q| {
                        q.msg
                            .header("expect")
                            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
                    });
                if p.ex.request.is_none() || expects_100 {
                    return;
                }
                self.queue.note(i, "gap");
                self.queue.answer(i, None, false);
                self.queue.emit_ready(out);
            }
        }
    }

    pub(super) fn make_room(&mut self, out: &mut Vec<Exchange>) {
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
    pub(super) fn lost_head(
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
    pub(super) fn start(
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
        let mut then_hold = false;
        let mut release = None;
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
                // RFC 9110 sections 9.3.6 and 7.8: what follows may be a tunnel or another
                // protocol; only the response can tell.
                let switching = method == "CONNECT" || h.upgrade;
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
                if switching && h.length != Length::UntilClose {
                    if body.is_some() {
                        then_hold = true;
                    } else {
                        self.hold(index);
                    }
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
                        side.hold = Hold::default();
                    }
                } else {
                    release = Some(index);
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
                then_hold,
                body_len: 0,
                gap_bytes: 0,
            });
        }
        if let Some(index) = release {
            self.release(index, out);
        }
        self.queue.emit_ready(out);
    }

    /// Starts holding the client bytes after request `index` (a CONNECT or Upgrade).
    fn hold(&mut self, index: u32) {
        let side = &mut self.sides[Dir::ToServer.index()];
        side.state = State::Hold;
        side.hold = Hold {
            index,
            ..Hold::default()
        };
    }

    /// The final response to exchange `index` was no switch: bytes held behind its request
    /// are parsed as what they are, the next request(s), at the time the first of them came.
    fn release(&mut self, index: u32, out: &mut Vec<Exchange>) {
        let side = &mut self.sides[Dir::ToServer.index()];
        if !matches!(side.state, State::Hold) || side.hold.index != index {
            return;
        }
        let hold = std::mem::take(&mut side.hold);
        side.state = State::Head;
        if let Some(ts) = hold.ts {
            self.data(Dir::ToServer, ts, &hold.buf, out);
            if hold.lost > 0 {
                self.gap(Dir::ToServer, ts, hold.lost, out);
            }
        }
    }

    /// An HTTP/0.9 simple request (RFC 1945 section 4.1) in `buf`, a head httparse rejected:
    /// opens its exchange and returns true. Only the first message of a connection can be one,
    /// and only before the server said anything (0.9 has one request per connection); the rest
    /// of the client side is ignored.
    pub(super) fn http09_request(
        &mut self,
        dir: Dir,
        buf: &[u8],
        first: Timestamp,
        ts: Timestamp,
        out: &mut Vec<Exchange>,
    ) -> bool {
        let [client, server] = &self.sides;
        let first_message = self.queue.emitted == 0 && self.queue.len() == 0 && !client.resynced;
        if dir != Dir::ToServer || !first_message || !matches!(server.state, State::Fresh) {
            return false;
        }
        let Some((target, line)) = head::http09_request(buf) else {
            return false;
        };
        let index = self.queue.push(Some(Request {
            method: "GET".into(),
            target: target.to_owned(),
            msg: Message {
                version: HttpVersion::Http09,
                first_byte: first,
                complete: Some(ts),
                head_len: u32::try_from(line).unwrap_or(u32::MAX),
                ..Message::default()
            },
        }));
        self.queue.note(index, "http/0.9");
        self.sides[Dir::ToServer.index()].state = State::Done;
        self.sides[Dir::ToClient.index()].state = State::Http09;
        self.queue.emit_ready(out);
        true
    }

    /// The first server bytes after an HTTP/0.9 request: a response with no status line and no
    /// headers (status 0, reason "", version 0.9) whose body runs until the server closes.
    pub(super) fn start_http09_response(&mut self, ts: Timestamp) {
        let index = self.response_target();
        let response = Response {
            status: 0,
            reason: "".into(),
            msg: Message {
                version: HttpVersion::Http09,
                first_byte: ts,
                ..Message::default()
            },
            informational: Vec::new(),
        };
        self.queue.answer(index, Some(response), true);
        self.sides[Dir::ToClient.index()].state = State::Body(InBody {
            body: Body::UntilClose,
            preview: Preview::new(Coding::Identity, self.limits.preview, None),
            index,
            then_hold: false,
            body_len: 0,
            gap_bytes: 0,
        });
    }

    pub(super) fn take_resync(&mut self, dir: Dir, index: u32) {
        if std::mem::take(&mut self.sides[dir.index()].resynced) {
            self.queue.note(index, "resync");
        }
    }

    /// Closes the body in progress on `dir`: `complete` = time of its last byte, `None` if cut.
    pub(super) fn end_body(
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
        if b.then_hold && complete.is_some() {
            self.hold(b.index);
        }
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
