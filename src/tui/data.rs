//! The domain results the TUI shows, read-only once loaded: every leg of every capture point,
//! the join's answer for them, the cluster they were joined to, and where each leg was read
//! from (so its packets can be read again on demand). Made by the loader, never by a view.

use crate::join::{Cluster, Joined, Leg};
use crate::pipeline::legs::PointInput;

pub struct Results {
    /// The inputs, by input index.
    pub inputs: Vec<PointInput>,
    /// Capture point labels (`node node-1`, `pod default/productpage-v1`), by point index.
    pub labels: Vec<String>,
    pub legs: Vec<Leg>,
    /// Per leg: the input it was read from.
    pub sources: Vec<usize>,
    pub joined: Joined,
    pub cluster: Cluster,
    /// A cluster bundle was given (without one, paths hold only what the capture shows).
    pub bundle: bool,
    /// Inputs that could not be read or were damaged.
    pub errors: Vec<String>,
}

impl Results {
    /// The point label of leg `l`.
    pub fn point_of(&self, l: usize) -> &str {
        self.legs
            .get(l)
            .and_then(|leg| self.labels.get(leg.point))
            .map_or("", |s| s.as_str())
    }

    /// The journey of exchange `e` of leg `l`, if the join made one.
    pub fn journey_of(&self, l: usize, e: usize) -> Option<usize> {
        self.joined.exchange_journey.get(l)?.get(e).copied()
    }
}
