//! `pipeline::run_sharded` reports what `pipeline::run` does: the same exchanges and
//! connections (as multisets; in the same order where no two shards expire connections at
//! the same segment), the same connection ids and the same summary, on every fixture; and
//! the same output on repeated runs, whatever the threads' timing.

mod common;

use common::data;
use hopscope::capture::{Capture, FileReader};
use hopscope::model::{Connection, Exchange};
use hopscope::pipeline::{self, Config, Sink, Summary};
use hopscope::reassembly::ConnMeta;
use std::path::{Path, PathBuf};

fn capture(path: &Path) -> Capture {
    Capture::new(vec![FileReader::open(path, 0).expect("fixture opens")])
}

/// Every capture of tests/data and tests/data/third-party, the sample bundle's capture, and
/// the 20 MiB benchmark capture when this machine has it.
fn fixtures() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for dir in [data(""), data("third-party")] {
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let third_party = dir.ends_with("third-party");
            if path.is_file() && (third_party || name.contains(".pcap")) {
                paths.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    paths.push(root.join("captures/bookinfo-sample.pcap"));
    let bench = Path::new("/work/bench/bookinfo-20MiB.pcap");
    if bench.is_file() {
        paths.push(bench.to_path_buf());
    }
    // A file that does not open as a capture never reaches a pipeline.
    paths.retain(|p| FileReader::open(p, 0).is_ok());
    paths.sort();
    paths
}

/// One line per result, exchanges and connections in the order the sink got them.
#[derive(Default)]
struct Lines(Vec<String>);

impl Sink for Lines {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> std::io::Result<()> {
        self.0.push(format!("{exchange:?} {conn:?}"));
        Ok(())
    }
    fn connection(&mut self, connection: &Connection) -> std::io::Result<()> {
        self.0.push(format!("{connection:?}"));
        Ok(())
    }
}

fn sharded(path: &Path, shards: usize) -> (Vec<String>, Summary) {
    let mut got = Lines::default();
    let summary = pipeline::run_sharded(
        &mut capture(path),
        shards,
        &Config::default(),
        &mut got,
        &mut |_, _| {},
    )
    .expect("sharded run");
    (got.0, summary)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn sharded_run_matches_single_threaded_run_on_every_fixture() {
    let mut checked = 0;
    let mut reordered = Vec::new();
    for path in fixtures() {
        let name = path.display().to_string();
        let mut one = Lines::default();
        let s1 = pipeline::run(
            &mut capture(&path),
            &Config::default(),
            &mut one,
            &mut |_, _| {},
        )
        .unwrap();
        for shards in [2, 3] {
            let (two, s2) = sharded(&path, shards);
            let run = format!("{name} ({shards} shards)");
            assert_eq!(format!("{s1:?}"), format!("{s2:?}"), "{run}");
            if one.0 != two {
                reordered.push(run.clone());
            }
            assert_eq!(sorted(one.0.clone()), sorted(two), "{run}");
        }
        checked += 1;
    }
    assert!(checked > 40, "fixtures found: {checked}");
    assert!(reordered.is_empty(), "order differs: {reordered:?}");
}

#[test]
fn sharded_run_is_the_same_on_repeated_runs() {
    for path in [
        data("third-party/zeek-http-ipv6-keepalive-1000req-one-dropped-response.pcap"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/bookinfo-sample.pcap"),
    ] {
        let (first, s1) = sharded(&path, 2);
        for _ in 0..5 {
            let (again, s2) = sharded(&path, 2);
            assert_eq!(first, again, "{}", path.display());
            assert_eq!(format!("{s1:?}"), format!("{s2:?}"));
        }
    }
}
