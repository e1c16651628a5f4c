//! The per-connection transaction queue: requests wait in FIFO order, each response pairs with
//! the oldest request not yet answered (RFC 9112 section 9.3.2: responses to pipelined requests
//! come in request order), and exchanges leave in index order once both sides are done.
//!
//! The design follows Suricata's app-layer transactions: a queue of open transactions per
//! flow, the response side pointing at the oldest unanswered one. It does not parse anything;
//! `conn` tells it when a message starts and ends.

use crate::model::{ConnId, Exchange, Request, Response};
use std::collections::VecDeque;

/// Notes kept per exchange at most (they are deduplicated; the list is short anyway).
const MAX_NOTES: usize = 8;
/// 1xx status codes kept per response at most.
const MAX_INFORMATIONAL: usize = 16;
/// Room for this many exchanges from the start: without pipelining one or two are open at a
/// time. (An empty `VecDeque` grows to 4 on its first push: 4 `Pending`s are past the size
/// glibc serves from its per-thread cache, and that first allocation of every connection was
/// ~1.2 k instructions; 2 fit.)
const FIRST_ROOM: usize = 2;

/// One exchange being built.
#[derive(Debug)]
pub(super) struct Pending {
    pub ex: Exchange,
    /// The request side is still inside this request (its body).
    pub req_open: bool,
    /// The response side is still inside this response.
    pub resp_open: bool,
    /// A final response (or a lost one) has been assigned.
    pub answered: bool,
    pub informational: Vec<u16>,
}

/// The open exchanges of one connection, oldest first. Indices are contiguous.
#[derive(Debug)]
pub(super) struct Queue {
    conn: ConnId,
    items: VecDeque<Pending>,
    next_index: u32,
    /// Exchanges pushed out so far.
    pub emitted: u32,
    /// Exchanges flushed unanswered because the queue was full: their responses are still due
    /// and must not pair with a later request.
    pub orphans: u32,
    /// The server side ended: unanswered requests will never get a response.
    pub server_done: bool,
}

impl Queue {
    pub(super) fn new(conn: ConnId) -> Queue {
        Queue {
            conn,
            items: VecDeque::with_capacity(FIRST_ROOM),
            next_index: 0,
            emitted: 0,
            orphans: 0,
            server_done: false,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Appends a new exchange (with a request, or `None` for a response without one) and
    /// returns its index.
    pub(super) fn push(&mut self, request: Option<Request>) -> u32 {
        let index = self.next_index;
        self.next_index = self.next_index.wrapping_add(1);
        self.items.push_back(Pending {
            ex: Exchange {
                conn: self.conn,
                index,
                request,
                response: None,
                notes: Vec::new(),
            },
            req_open: false,
            resp_open: false,
            answered: false,
            informational: Vec::new(),
        });
        index
    }

    pub(super) fn get(&mut self, index: u32) -> Option<&mut Pending> {
        let front = self.items.front()?.ex.index;
        let pos = usize::try_from(index.wrapping_sub(front)).ok()?;
        self.items.get_mut(pos)
    }

    /// The oldest exchange without a final response, if any.
    pub(super) fn unanswered(&self) -> Option<u32> {
        self.items.iter().find(|p| !p.answered).map(|p| p.ex.index)
    }

    /// Adds a note to exchange `index` (once).
    pub(super) fn note(&mut self, index: u32, note: &'static str) {
        if let Some(p) = self.get(index) {
            add_note(&mut p.ex, note);
        }
    }

    /// Records a 1xx response on exchange `index`.
    pub(super) fn informational(&mut self, index: u32, status: u16) {
        if let Some(p) = self.get(index) {
            if p.informational.len() < MAX_INFORMATIONAL {
                p.informational.push(status);
            }
        }
    }

    /// Sets the final response (`None` when it was lost) of exchange `index`.
    pub(super) fn answer(&mut self, index: u32, response: Option<Response>, open: bool) {
        if let Some(p) = self.get(index) {
            p.ex.response = response;
            p.answered = true;
            p.resp_open = open;
        }
    }

    /// Pushes to `out` every exchange at the front that is done.
    pub(super) fn emit_ready(&mut self, out: &mut Vec<Exchange>) {
        while let Some(front) = self.items.front() {
            let done =
                !front.req_open && ((front.answered && !front.resp_open) || self.server_done);
            if !done {
                break;
            }
            self.pop_front(out, None);
        }
    }

    /// Removes the oldest exchange whatever its state, adding `note`; returns whether it still
    /// waited for a response, and whether its response was in progress.
    pub(super) fn pop_front(
        &mut self,
        out: &mut Vec<Exchange>,
        note: Option<&'static str>,
    ) -> Option<(bool, bool)> {
        let mut p = self.items.pop_front()?;
        if let Some(note) = note {
            add_note(&mut p.ex, note);
        }
        if !p.answered && p.ex.request.is_some() {
            add_note(&mut p.ex, "no-response");
        }
        if let Some(resp) = p.ex.response.as_mut() {
            resp.informational = std::mem::take(&mut p.informational);
        }
        out.push(p.ex);
        self.emitted = self.emitted.saturating_add(1);
        Some((!p.answered, p.resp_open))
    }

    /// Flushes everything, oldest first.
    pub(super) fn flush(&mut self, out: &mut Vec<Exchange>) {
        while self.pop_front(out, None).is_some() {}
    }
}

pub(super) fn add_note(ex: &mut Exchange, note: &'static str) {
    if ex.notes.len() < MAX_NOTES && !ex.notes.contains(&note) {
        ex.notes.push(note);
    }
}
