//! `hopscope analyze CAPTURE... --cluster DIR`: each capture point analyzed on its own (a
//! connection seen in a node and in a pod is two legs, not one connection with duplicates),
//! then joined to the bundle's state and reported as journeys.
//!
//! Unlike the plain report this keeps every connection and exchange until the end: the join
//! needs all legs of a journey at once. Memory grows with the capture (about 1 KiB per
//! exchange); the plain `analyze` stays the streaming tool for big files.

use super::bundle::{self, BundleFiles};
use super::cluster;
use super::{AnalyzeArgs, EXIT_FAILURE, EXIT_PARTIAL};
use anyhow::Context;
use hopscope::capture::{Capture, FileReader};
use hopscope::join::{self, Cluster, Leg, PointKind};
use hopscope::model::{ConnId, Connection, Exchange};
use hopscope::pipeline::{self, Config, Sink};
use hopscope::reassembly::ConnMeta;
use hopscope::report::joined::{write_json, write_text, JoinReport};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Collects one capture point's legs (also `live --cluster`'s).
#[derive(Default)]
pub(super) struct Legs {
    pub(super) open: HashMap<ConnId, Vec<Exchange>>,
    pub(super) done: Vec<(Connection, Vec<Exchange>)>,
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

/// A capture and where it was taken.
struct Input {
    path: PathBuf,
    point: PointKind,
}

pub(super) fn point_label(p: &PointKind) -> String {
    match p {
        PointKind::Node(n) => format!("node {n}"),
        PointKind::Pod { namespace, name } => format!("pod {namespace}/{name}"),
        PointKind::Unknown => "capture".into(),
    }
}

/// `--at node/NAME` or `--at pod/NS/NAME`.
pub fn parse_at(s: &str) -> anyhow::Result<PointKind> {
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        ["node", name] if !name.is_empty() => Ok(PointKind::Node(name.to_string())),
        ["pod", ns, name] if !ns.is_empty() && !name.is_empty() => Ok(PointKind::Pod {
            namespace: ns.to_string(),
            name: name.to_string(),
        }),
        _ => anyhow::bail!("--at {s}: expected node/NAME or pod/NAMESPACE/NAME"),
    }
}

fn inputs(args: &AnalyzeArgs) -> anyhow::Result<Vec<Input>> {
    let at = args.at.as_deref().map(parse_at).transpose()?;
    let mut v = Vec::new();
    for f in &args.files {
        if bundle::is_bundle(f) {
            let b: BundleFiles = bundle::scan(f);
            for d in b.nodes.iter().chain(&b.pods) {
                let point = match (&d.node, &d.pod) {
                    (Some(n), _) => PointKind::Node(n.clone()),
                    (None, Some((ns, name))) => PointKind::Pod {
                        namespace: ns.clone(),
                        name: name.clone(),
                    },
                    _ => PointKind::Unknown,
                };
                for c in &d.captures {
                    v.push(Input {
                        path: c.clone(),
                        point: point.clone(),
                    });
                }
            }
            for c in b.loose_captures {
                v.push(Input {
                    path: c,
                    point: PointKind::Unknown,
                });
            }
        } else {
            v.push(Input {
                path: f.clone(),
                point: at.clone().unwrap_or(PointKind::Unknown),
            });
        }
    }
    Ok(v)
}

pub fn run(args: &AnalyzeArgs, dir: &Path) -> anyhow::Result<u8> {
    anyhow::ensure!(dir.is_dir(), "--cluster {}: not a directory", dir.display());
    let inputs = inputs(args)?;
    let cluster = cluster::load(&bundle::scan(dir));
    let mut points: Vec<PointKind> = Vec::new();
    let mut legs: Vec<Leg> = Vec::new();
    let mut errors = Vec::new();
    let mut read_any = false;
    for (index, input) in inputs.iter().enumerate() {
        let reader = match FileReader::open(&input.path, index) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let point = match points.iter().position(|p| p == &input.point) {
            Some(i) => i,
            None => {
                points.push(input.point.clone());
                points.len() - 1
            }
        };
        let mut capture = Capture::new(vec![reader]);
        let mut sink = Legs::default();
        let summary = pipeline::run(&mut capture, &Config::default(), &mut sink, &mut |_, _| {})
            .with_context(|| format!("analyzing {}", input.path.display()))?;
        read_any = true;
        errors.extend(summary.errors.iter().map(|e| e.to_string()));
        for (conn, exchanges) in sink.done {
            legs.push(Leg {
                point,
                conn,
                exchanges,
            });
        }
    }
    if !read_any {
        for e in &errors {
            eprintln!("hopscope: {e}");
        }
        if inputs.is_empty() {
            eprintln!("hopscope: no captures given or found in the bundle");
        }
        return Ok(EXIT_FAILURE);
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    write_joined(&mut out, &points, &mut legs, &cluster, args.json)?;
    out.flush().context("writing the report")?;
    for e in &errors {
        eprintln!("hopscope: {e}");
    }
    Ok(if errors.is_empty() { 0 } else { EXIT_PARTIAL })
}

/// Joins the legs seen at `points` to `cluster` and writes the journeys report (text or
/// JSON lines). Shared with `live --cluster`.
pub(super) fn write_joined(
    out: &mut dyn Write,
    points: &[PointKind],
    legs: &mut [Leg],
    cluster: &Cluster,
    json: bool,
) -> std::io::Result<()> {
    // Legs in time order over all points (each point's are in close order).
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
