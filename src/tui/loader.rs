//! What background threads send the UI: load progress, provisional rows while the captures
//! are read, the joined results, fetched packets and finished exports. The UI thread owns the
//! state and only receives; whoever loads (the CLI today, a live capture later) sends.

use super::app::LoadProgress;
use super::data::Results;
use super::fetch::Fetched;
use super::rows::{self, leg_rows, Interner, LegInput, Row};
use super::stats::{self, Services};
use crate::join::{Cluster, Leg};
use crate::pipeline::legs::{LegHooks, PointInput};
use std::sync::mpsc::Sender;

/// Results made ready for the UI off its thread: rows in time order and the services table.
pub struct Loaded {
    pub results: Results,
    pub rows: Vec<Row>,
    pub services: Services,
}

impl Loaded {
    pub fn new(results: Results) -> Loaded {
        let mut rows = rows::build(&results);
        rows.sort_by_key(|r| r.time);
        let services = stats::services(&results, &rows);
        Loaded {
            results,
            rows,
            services,
        }
    }
}

pub enum Incoming {
    Progress(LoadProgress),
    /// Rows of legs read so far (without paths: the join comes at the end).
    Rows(Vec<Row>),
    /// Every capture is read; the join is running.
    Joining,
    Done(Box<Loaded>),
    /// Nothing could be read: why.
    Failed(Vec<String>),
    /// An on-demand re-read of a leg.
    Fetched(usize, Result<Box<Fetched>, String>),
    /// An export finished: the message for the status line.
    Exported(Result<String, String>),
    /// The visible rows recomputed on a thread, for the given generation.
    Visible(u64, Vec<u32>),
}

/// A load: runs on its own thread and sends what it finds.
pub type LoadFn = Box<dyn FnOnce(Sender<Incoming>) + Send>;

/// [`LegHooks`] that send progress and provisional rows (addresses only, no paths: the join
/// comes at the end) while the captures are read.
pub struct RowHooks {
    tx: Sender<Incoming>,
    inputs: Vec<PointInput>,
    strings: Interner,
    pending: Vec<Row>,
    sent: usize,
    legs: u32,
    empty: Cluster,
}

impl RowHooks {
    pub fn new(tx: Sender<Incoming>, inputs: Vec<PointInput>) -> RowHooks {
        RowHooks {
            tx,
            inputs,
            strings: Interner::default(),
            pending: Vec::new(),
            sent: 0,
            legs: 0,
            empty: Cluster::default(),
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            self.sent += self.pending.len();
            let _ = self
                .tx
                .send(Incoming::Rows(std::mem::take(&mut self.pending)));
        }
    }
}

impl LegHooks for RowHooks {
    fn progress(&mut self, input: usize, read: u64, total: Option<u64>) {
        let name = self
            .inputs
            .get(input)
            .map_or(String::new(), |i| i.path.display().to_string());
        let _ = self.tx.send(Incoming::Progress(LoadProgress {
            input,
            inputs: self.inputs.len(),
            name,
            read,
            total,
            active: true,
            joining: false,
        }));
        // Batches grow with what was sent, so the UI's refreshes stay O(n log n) in all.
        if self.pending.len() >= (self.sent / 4).max(1024) {
            self.flush();
        }
    }

    fn leg(&mut self, _input: usize, leg: &Leg) {
        let input = LegInput {
            index: self.legs,
            leg,
            class: None,
            conn_path: None,
            exchange_paths: None,
            cluster: &self.empty,
        };
        self.legs += 1;
        leg_rows(&input, &mut self.strings, &mut self.pending);
    }

    fn read_done(&mut self) {
        self.flush();
        let _ = self.tx.send(Incoming::Joining);
    }
}
