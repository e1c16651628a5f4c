//! Capture points → legs: each capture file analyzed on its own at the point it was taken (a
//! connection seen in a node and in a pod is two legs, not one connection with duplicates),
//! every finished connection kept with its exchanges, for the join.
//!
//! Shared by `analyze --cluster` (which joins and reports at the end) and the TUI (which
//! shows the legs as they arrive, then the join). Unlike the plain report this keeps every
//! connection and exchange until the end: the join needs all legs of a journey at once.
//! Memory grows with the capture; [`LegOptions::preview_budget`] bounds the body previews
//! kept, the largest part of an exchange.

use super::{Config, Sink};
use crate::capture::{Capture, FileReader};
use crate::join::{Leg, PointKind};
use crate::model::{ConnId, Connection, Exchange};
use crate::reassembly::ConnMeta;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

/// A capture file and where it was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointInput {
    pub path: PathBuf,
    pub point: PointKind,
}

/// How much of each exchange to keep.
#[derive(Clone, Copy, Debug)]
pub struct LegOptions {
    /// Body preview bytes kept over all exchanges; past it previews are dropped (and the
    /// exchange says nothing of its body but `body_len`). `usize::MAX`: keep all.
    pub preview_budget: usize,
}

impl Default for LegOptions {
    fn default() -> LegOptions {
        LegOptions {
            preview_budget: usize::MAX,
        }
    }
}

/// What the reading found.
#[derive(Default)]
pub struct LegsRun {
    /// Distinct capture points, in the order first met; `Leg::point` indexes this.
    pub points: Vec<PointKind>,
    /// Every leg, in time order over all points (first packet, then point, then id).
    pub legs: Vec<Leg>,
    /// Per leg, index for index: the input it was read from.
    pub sources: Vec<usize>,
    /// Files that could not be opened or were damaged, with file and offset.
    pub errors: Vec<String>,
    /// Whether any input could be read at all.
    pub read_any: bool,
}

/// Called as the reading goes; the default methods do nothing.
pub trait LegHooks {
    /// Now and then: input index, bytes read, total bytes if known.
    fn progress(&mut self, _input: usize, _read: u64, _total: Option<u64>) {}
    /// A finished leg (its point index, connection and exchanges), before the sort.
    fn leg(&mut self, _input: usize, _leg: &Leg) {}
    /// Every input is read (the join comes next).
    fn read_done(&mut self) {}
}

/// No hooks.
pub struct NoHooks;
impl LegHooks for NoHooks {}

/// Collects one input's legs.
struct Collect<'h, 'a> {
    open: HashMap<ConnId, Vec<Exchange>>,
    done: Vec<Leg>,
    point: usize,
    input: usize,
    budget: usize,
    /// Shared with the progress callback, which the pipeline calls between sink calls.
    hooks: &'h RefCell<&'a mut dyn LegHooks>,
}

impl Sink for Collect<'_, '_> {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> std::io::Result<()> {
        let mut ex = exchange.clone();
        for msg in [
            ex.request.as_mut().map(|q| &mut q.msg),
            ex.response.as_mut().map(|r| &mut r.msg),
        ]
        .into_iter()
        .flatten()
        {
            match self.budget.checked_sub(msg.body_preview.len()) {
                Some(left) => self.budget = left,
                None => {
                    msg.body_preview = Vec::new();
                    self.budget = 0;
                }
            }
        }
        self.open.entry(conn.id).or_default().push(ex);
        Ok(())
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let exchanges = self.open.remove(&c.id).unwrap_or_default();
        let leg = Leg {
            point: self.point,
            conn: c.clone(),
            exchanges,
        };
        self.hooks.borrow_mut().leg(self.input, &leg);
        self.done.push(leg);
        Ok(())
    }
}

/// Reads every input through the pipeline at its point. An input that cannot be opened is an
/// error in [`LegsRun::errors`]; the others are still read. The error returned names the
/// input whose analysis failed (only a sink error can fail it, and this sink does not fail).
pub fn read_legs(
    inputs: &[PointInput],
    options: &LegOptions,
    hooks: &mut dyn LegHooks,
) -> std::io::Result<LegsRun> {
    let mut run = LegsRun::default();
    let mut legs: Vec<(Leg, usize)> = Vec::new();
    let mut budget = options.preview_budget;
    let hooks = RefCell::new(hooks);
    for (index, input) in inputs.iter().enumerate() {
        let reader = match FileReader::open(&input.path, index) {
            Ok(r) => r,
            Err(e) => {
                run.errors.push(e.to_string());
                continue;
            }
        };
        let point = match run.points.iter().position(|p| p == &input.point) {
            Some(i) => i,
            None => {
                run.points.push(input.point.clone());
                run.points.len() - 1
            }
        };
        let mut capture = Capture::new(vec![reader]);
        let mut sink = Collect {
            open: HashMap::new(),
            done: Vec::new(),
            point,
            input: index,
            budget,
            hooks: &hooks,
        };
        let mut progress = |read, total| hooks.borrow_mut().progress(index, read, total);
        let summary = super::run(&mut capture, &Config::default(), &mut sink, &mut progress)
            .map_err(|e| {
                let what = format!("analyzing {}: {e}", input.path.display());
                std::io::Error::new(e.kind(), what)
            })?;
        budget = sink.budget;
        run.read_any = true;
        run.errors
            .extend(summary.errors.iter().map(|e| e.to_string()));
        legs.extend(sink.done.into_iter().map(|l| (l, index)));
    }
    hooks.borrow_mut().read_done();
    // Legs in time order over all points (each point's are in close order).
    legs.sort_by_key(|(l, _)| (l.conn.stats.first, l.point, l.conn.id));
    let (legs, sources) = legs.into_iter().unzip();
    run.legs = legs;
    run.sources = sources;
    Ok(run)
}
