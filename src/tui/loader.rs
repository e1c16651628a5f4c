//! What background threads send the UI: load progress, provisional rows while the captures
//! are read, the joined results, fetched packets and finished exports. The UI thread owns the
//! state and only receives; whoever loads (the CLI today, a live capture later) sends.

use super::app::LoadProgress;
use super::data::Results;
use super::fetch::Fetched;
use super::rows::{self, Row};
use super::stats::{self, Services};
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
}

/// A load: runs on its own thread and sends what it finds.
pub type LoadFn = Box<dyn FnOnce(Sender<Incoming>) + Send>;
