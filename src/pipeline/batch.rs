//! Results on their way from the analysis thread to the writer thread ([`super::run_threaded`]).
//!
//! A batch is the analysis's [`Output`] vectors themselves, swapped out whole when enough
//! results piled up: the HTTP parser pushes each exchange once, into the vector that travels
//! to the writer, and nothing moves an `Exchange` (≈ 400 bytes) again. Moving every result
//! into a batch of enum items after each segment, and draining three empty vectors per
//! packet, was ≈ 6 M instructions of the analysis thread on the 20 MiB benchmark capture.
//!
//! Order: after each segment the output holds, behind what earlier segments produced, that
//! segment's exchanges then its connections. `marks` records where the connections went, so
//! the writer hands the results to the sink in exactly the order [`super::run`] would.

use super::app::Output;
use super::{Sink, Summary};
use crate::model::{Connection, Exchange};
use crate::reassembly::ConnMeta;

/// Results handed to the writer thread at a time: large enough that channel traffic is noise,
/// small enough that the results in flight stay a few MiB.
pub(super) const BATCH: usize = 128;

/// Finished results, in the order they were produced.
#[derive(Default)]
pub(super) struct Batch {
    exchanges: Vec<Exchange>,
    /// The connection of each entry of `exchanges`, index for index.
    exchange_conns: Vec<ConnMeta>,
    connections: Vec<Connection>,
    /// (exchanges, connections) after each segment that finished connections: the results
    /// before such a mark precede the connections up to it.
    marks: Vec<(usize, usize)>,
}

impl Batch {
    /// An empty batch with room for a full one (the capacity is kept when it is recycled).
    pub(super) fn new() -> Batch {
        Batch {
            exchanges: Vec::with_capacity(BATCH),
            exchange_conns: Vec::with_capacity(BATCH),
            connections: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// Empties a spent batch (dropping its results here), keeping its vectors.
    pub(super) fn clear(&mut self) {
        self.exchanges.clear();
        self.exchange_conns.clear();
        self.connections.clear();
        self.marks.clear();
    }

    /// Hands every result to `sink`, in order.
    pub(super) fn write<S: Sink>(&self, sink: &mut S) -> std::io::Result<()> {
        let end = (self.exchanges.len(), self.connections.len());
        let (mut e, mut c) = (0, 0);
        for &(e_end, c_end) in self.marks.iter().chain(std::iter::once(&end)) {
            let exchanges = self.exchanges.get(e..e_end).unwrap_or_default();
            let conns = self.exchange_conns.get(e..e_end).unwrap_or_default();
            for (exchange, conn) in exchanges.iter().zip(conns) {
                sink.exchange(exchange, conn)?;
            }
            for connection in self.connections.get(c..c_end).unwrap_or_default() {
                sink.connection(connection)?;
            }
            (e, c) = (e_end, c_end);
        }
        Ok(())
    }

    /// Drops the header fields the writer split from deferred heads (`Fields::deferred`), so
    /// the thread that allocated them frees them (see `run_threaded`).
    pub(super) fn drop_splits(&mut self) {
        for ex in &mut self.exchanges {
            let request = ex.request.as_mut().map(|q| &mut q.msg);
            for msg in request
                .into_iter()
                .chain(ex.response.as_mut().map(|r| &mut r.msg))
            {
                msg.headers.drop_split();
            }
        }
    }
}

/// The analysis side: results collect in the [`Output`] itself between two sends.
#[derive(Default)]
pub(super) struct Collector {
    /// Results of the current batch already counted (and, for connections, marked).
    exchanges: usize,
    connections: usize,
    marks: Vec<(usize, usize)>,
}

impl Collector {
    /// Takes note of what the last segment added to `out`; true when a batch is full.
    #[inline]
    pub(super) fn note(&mut self, out: &Output, summary: &mut Summary) -> bool {
        let (e, c) = (out.exchanges.len(), out.connections.len());
        if c != self.connections {
            summary.connections += (c - self.connections) as u64;
            self.marks.push((e, c));
            self.connections = c;
        }
        if e != self.exchanges {
            summary.exchanges += (e - self.exchanges) as u64;
            self.exchanges = e;
        }
        e + c >= BATCH
    }

    /// True when nothing was collected since the last [`Collector::take`].
    pub(super) fn is_empty(&self) -> bool {
        self.exchanges == 0 && self.connections == 0
    }

    /// Swaps the collected results out of `out` into `batch` (an empty one, whose vectors
    /// `out` gets instead), ready to send.
    pub(super) fn take(&mut self, out: &mut Output, batch: &mut Batch) {
        std::mem::swap(&mut out.exchanges, &mut batch.exchanges);
        std::mem::swap(&mut out.exchange_conns, &mut batch.exchange_conns);
        std::mem::swap(&mut out.connections, &mut batch.connections);
        std::mem::swap(&mut self.marks, &mut batch.marks);
        self.exchanges = 0;
        self.connections = 0;
    }
}
