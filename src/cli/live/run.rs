//! `hopscope live` with the feature: resolve the target, collect or load the cluster, start
//! the capture (which creates the `-w` file), drop this thread's capabilities, analyze the
//! stream until the capture stops, then print the counters.

use super::report::{self, Join};
use super::LiveArgs;
use crate::cli::{bundle, cluster, joined, snapshot, EXIT_PARTIAL};
use anyhow::Context;
use hopscope::capture::live::{
    self, HandleConfig, LiveConfig, LiveError, Resolution, Resolved, Stats, StopReason, Target,
};
use hopscope::capture::{Capture, FileReader};
use hopscope::join::PointKind;
use hopscope::report::link_type_name as link_name;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn run(args: &LiveArgs) -> anyhow::Result<u8> {
    let resolved = match target(args).and_then(|t| live::resolve(&t)) {
        Ok(r) => r,
        Err(e) => return Ok(fail(&e)),
    };
    let point = match &args.at {
        Some(at) => joined::parse_at(at)?,
        None => default_point(&resolved),
    };
    let cluster_dir = if args.auto_cluster {
        Some(collect(&resolved, &point)?)
    } else {
        args.cluster.clone()
    };
    let cluster = match &cluster_dir {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "--cluster {}: not a directory", dir.display());
            Some(cluster::load(&bundle::scan(dir)))
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    live::stop_on_interrupt(&stop).context("installing the SIGINT/SIGTERM handler")?;
    let filter = args
        .filter
        .clone()
        .or_else(|| (!args.expression.is_empty()).then(|| args.expression.join(" ")));
    let cfg = LiveConfig {
        netns: resolved.netns.clone(),
        place: resolved.label.clone(),
        handle: HandleConfig {
            interface: args.interface.clone(),
            filter,
            snaplen: args.snaplen.max(1),
            buffer_bytes: args.buffer_kib.saturating_mul(1024),
        },
        count: args.count,
        duration: args.duration,
        write: args.write.clone(),
    };
    let (capture, reader) = match live::start(cfg, Arc::clone(&stop), Box::new(report_drops)) {
        Ok(x) => x,
        Err(e) => return Ok(fail(&e)),
    };
    // The capture thread dropped its own; this thread (the analysis) drops its too.
    if let Err(e) = live::drop_privileges() {
        stop.store(true, Ordering::SeqCst);
        drop(reader);
        capture.wait();
        anyhow::bail!("cannot drop capabilities: {e}");
    }
    started(args, &resolved, &capture.started);

    let name = format!("live {} in {}", args.interface, resolved.label);
    let analyzed = match FileReader::from_reader(name, 0, Box::new(reader), None) {
        Ok(r) => {
            let mut input = Capture::new(vec![r]);
            let join = cluster.as_ref().map(|cluster| Join {
                cluster,
                point: point.clone(),
            });
            report::analyze(&mut input, args.json, join)
        }
        Err(e) => Err(std::io::Error::other(e.to_string())),
    };
    // The pipe's reader is gone by now: a capture still running stops at its next chunk.
    stop.store(true, Ordering::SeqCst);
    let finished = capture.wait();
    let summary = analyzed?;
    eprintln!("hopscope: {}", counters(&finished.stats, finished.reason));
    let mut code = 0;
    if let Some(e) = &finished.error {
        eprintln!("hopscope: {e}");
        code = EXIT_PARTIAL;
    }
    for e in &summary.errors {
        eprintln!("hopscope: {e}");
        code = EXIT_PARTIAL;
    }
    Ok(code)
}

/// The target the arguments name (clap makes them exclusive).
fn target(args: &LiveArgs) -> Result<Target, LiveError> {
    Ok(if let Some(p) = &args.netns {
        Target::Netns(p.clone())
    } else if let Some(pid) = args.pid {
        Target::Pid(pid)
    } else if let Some(id) = &args.container {
        Target::Container(id.clone())
    } else if let Some(pod) = &args.pod {
        let (namespace, name) = pod.split_once('/').unwrap_or(("default", pod));
        if namespace.is_empty() || name.is_empty() || name.contains('/') {
            return Err(LiveError::usage(format!(
                "--pod {pod}: expected NAMESPACE/NAME (or NAME in namespace default)"
            )));
        }
        Target::Pod {
            namespace: namespace.into(),
            name: name.into(),
        }
    } else {
        Target::Current
    })
}

/// The capture point for the join: the pod when named, else the bundle path `snapshot`
/// writes for a PID or netns (`pod/unknown/pid-PID`), else this node.
fn default_point(r: &Resolved) -> PointKind {
    if let Some((namespace, name)) = &r.pod {
        return PointKind::Pod {
            namespace: namespace.clone(),
            name: name.clone(),
        };
    }
    match (r.pid, &r.netns) {
        (Some(pid), _) => PointKind::Pod {
            namespace: "unknown".into(),
            name: format!("pid-{pid}"),
        },
        (None, Some(ns)) => PointKind::Pod {
            namespace: "unknown".into(),
            name: ns
                .file_name()
                .map_or("netns".into(), |n| n.to_string_lossy().into_owned()),
        },
        (None, None) => PointKind::Node(crate::cli::snapshot::hostname()),
    }
}

/// `--auto-cluster`: `hopscope snapshot` of the target's side into a fresh directory whose
/// layout puts it at `point`.
fn collect(r: &Resolved, point: &PointKind) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("hopscope-live-{}", std::process::id()));
    let (pod, node) = match point {
        PointKind::Pod { namespace, name } => (Some(format!("{namespace}/{name}")), None),
        PointKind::Node(n) => (None, Some(n.clone())),
        PointKind::Unknown => (None, None),
    };
    let args = snapshot::SnapshotArgs {
        out: Some(dir.clone()),
        pid: None,
        netns: r.netns.clone(),
        pod,
        node,
        fetch: None,
    };
    let n = snapshot::collect(&dir, &args).context("--auto-cluster: collecting the bundle")?;
    eprintln!(
        "hopscope: --auto-cluster wrote {n} files into {} (kept)",
        dir.display()
    );
    Ok(dir)
}

/// Prints the error's line and gives its exit code.
fn fail(e: &LiveError) -> u8 {
    eprintln!("hopscope: {e}");
    e.exit_code()
}

fn started(args: &LiveArgs, r: &Resolved, s: &live::Started) {
    let caps = match s.caps {
        Some(c) if c.none() => "capabilities dropped",
        Some(_) => "capabilities NOT dropped",
        None => "capabilities unknown",
    };
    let stop = match (args.count, args.duration) {
        (Some(c), _) => format!("stops after {c} packets or on Ctrl-C"),
        (None, Some(d)) => format!("stops after {:.1} s or on Ctrl-C", d.as_secs_f64()),
        (None, None) => "Ctrl-C stops".into(),
    };
    eprintln!(
        "hopscope: capturing on {} in {} ({}, snaplen {}, {} time stamps); {caps}; {stop}",
        args.interface,
        r.label,
        link_name(s.link_type),
        s.snaplen,
        match s.resolution {
            Resolution::Nano => "ns",
            Resolution::Micro => "µs",
        },
    );
}

/// On the capture thread, when the drop counters changed.
fn report_drops(s: &Stats) {
    eprintln!(
        "hopscope: kernel drops: {} dropped (buffer full, raise -B), {} by the interface; {} \
         received, {} captured so far",
        s.dropped, s.if_dropped, s.received, s.captured
    );
}

/// The last line, tcpdump's three counters and why the capture stopped.
fn counters(s: &Stats, reason: StopReason) -> String {
    let why = match reason {
        StopReason::Signal => "stopped by a signal",
        StopReason::Count => "packet count reached",
        StopReason::Duration => "duration reached",
        StopReason::ReaderGone => "output closed",
        StopReason::Error => "capture error",
    };
    format!(
        "{} packets captured, {} received by filter, {} dropped by kernel, {} dropped by \
         interface ({why})",
        s.captured, s.received, s.dropped, s.if_dropped
    )
}
