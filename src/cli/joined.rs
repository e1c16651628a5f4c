//! `hopscope analyze CAPTURE... --cluster DIR`: each capture point analyzed on its own (a
//! connection seen in a node and in a pod is two legs, not one connection with duplicates),
//! then joined to the bundle's state and reported as journeys.
//!
//! Unlike the plain report this keeps every connection and exchange until the end: the join
//! needs all legs of a journey at once. Memory grows with the capture (about 1 KiB per
//! exchange); the plain `analyze` stays the streaming tool for big files. The reading is
//! `pipeline::legs`; [`load`] (reading and join) is shared with `hopscope tui`.

use super::bundle::{self, BundleFiles};
use super::cluster;
use super::{AnalyzeArgs, EXIT_FAILURE, EXIT_PARTIAL};
use anyhow::Context;
use hopscope::join::{self, Cluster, Joined, PointKind};
use hopscope::pipeline::legs::{read_legs, LegHooks, LegOptions, LegsRun, NoHooks, PointInput};
use hopscope::report::joined::{write_json, write_text, JoinReport};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub fn point_label(p: &PointKind) -> String {
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

/// The captures of `files` at their capture points: a bundle directory's captures where its
/// layout puts them, other files at `at` (`--at`) or an unknown point.
pub fn inputs(files: &[PathBuf], at: Option<&str>) -> anyhow::Result<Vec<PointInput>> {
    let at = at.map(parse_at).transpose()?;
    let mut v = Vec::new();
    for f in files {
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
                    v.push(PointInput {
                        path: c.clone(),
                        point: point.clone(),
                    });
                }
            }
            for c in b.loose_captures {
                v.push(PointInput {
                    path: c,
                    point: PointKind::Unknown,
                });
            }
        } else {
            v.push(PointInput {
                path: f.clone(),
                point: at.clone().unwrap_or(PointKind::Unknown),
            });
        }
    }
    Ok(v)
}

/// Everything `analyze --cluster` and the TUI show: the legs of every capture point and
/// their join to the bundle.
pub struct Loaded {
    pub inputs: Vec<PointInput>,
    /// Capture point labels (`node node-1`, `pod default/productpage-v1`), by point index.
    pub labels: Vec<String>,
    pub run: LegsRun,
    pub joined: Joined,
    pub cluster: Cluster,
}

/// Reads the captures at their points and joins them to `cluster` (an empty cluster: no
/// bundle, the join still classifies the legs and stitches journeys by request id). `None`
/// when no input could be read (the errors say why).
pub fn load(
    inputs: Vec<PointInput>,
    cluster: Cluster,
    options: &LegOptions,
    hooks: &mut dyn LegHooks,
) -> anyhow::Result<Result<Loaded, Vec<String>>> {
    let run = read_legs(&inputs, options, hooks)?;
    if !run.read_any {
        let mut errors = run.errors;
        if inputs.is_empty() {
            errors.push("no captures given or found in the bundle".into());
        }
        return Ok(Err(errors));
    }
    let joined = join::join(&run.points, &run.legs, &cluster);
    let labels = run.points.iter().map(point_label).collect();
    Ok(Ok(Loaded {
        inputs,
        labels,
        run,
        joined,
        cluster,
    }))
}

pub fn run(args: &AnalyzeArgs, dir: &Path) -> anyhow::Result<u8> {
    anyhow::ensure!(dir.is_dir(), "--cluster {}: not a directory", dir.display());
    let inputs = inputs(&args.files, args.at.as_deref())?;
    let cluster = cluster::load(&bundle::scan(dir));
    let loaded = match load(inputs, cluster, &LegOptions::default(), &mut NoHooks)? {
        Ok(l) => l,
        Err(errors) => {
            for e in &errors {
                eprintln!("hopscope: {e}");
            }
            return Ok(EXIT_FAILURE);
        }
    };
    let (legs, joined, errors) = (&loaded.run.legs, &loaded.joined, &loaded.run.errors);
    let report = JoinReport {
        points: &loaded.labels,
        legs,
        joined,
        cluster: &loaded.cluster,
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    if args.json {
        write_json(&mut out, &report)?;
    } else {
        write_text(&mut out, &report)?;
    }
    out.flush().context("writing the report")?;
    for e in errors {
        eprintln!("hopscope: {e}");
    }
    Ok(if errors.is_empty() { 0 } else { EXIT_PARTIAL })
}
