//! The legs a live capture collects for `--cluster`, and their joined report at the end
//! (the offline join reads whole files instead: `pipeline::legs`).

use crate::cli::joined::point_label;
use hopscope::join::{self, Cluster, Leg, PointKind};
use hopscope::model::{ConnId, Connection, Exchange};
use hopscope::pipeline::Sink;
use hopscope::reassembly::ConnMeta;
use hopscope::report::joined::{write_json, write_text, JoinReport};
use std::collections::HashMap;
use std::io::Write;

/// Collects one capture point's legs as they complete (`live --cluster`).
#[derive(Default)]
pub(crate) struct Legs {
    pub(crate) open: HashMap<ConnId, Vec<Exchange>>,
    pub(crate) done: Vec<(Connection, Vec<Exchange>)>,
}

impl Sink for Legs {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> std::io::Result<()> {
        self.open.entry(conn.id).or_default().push(exchange.clone());
        Ok(())
    }
    fn connection(&mut self, c: &Connection) -> std::io::Result<()> {
        let ex = self.open.remove(&c.id).unwrap_or_default();
        self.done.push((c.clone(), ex));
        Ok(())
    }
}

/// Joins collected legs to `cluster` and writes the report (`live --cluster` at its end).
pub(crate) fn write_joined(
    out: &mut dyn Write,
    points: &[PointKind],
    legs: &mut [Leg],
    cluster: &Cluster,
    json: bool,
) -> std::io::Result<()> {
    // Legs in time order over all points (each point's are in close order), as read_legs does.
    legs.sort_by_key(|l| (l.conn.stats.first, l.point, l.conn.id));
    let joined = join::join(points, legs, cluster);
    let labels: Vec<String> = points.iter().map(point_label).collect();
    let report = JoinReport {
        points: &labels,
        legs,
        joined: &joined,
        cluster,
    };
    if json {
        write_json(out, &report)
    } else {
        write_text(out, &report)
    }
}
