//! `pipeline::run_threaded` reports exactly what `pipeline::run` does, in the same order, and
//! stops with the sink's own error when the sink fails.

mod common;

use common::{data, Collected};
use hopscope::capture::{Capture, FileReader};
use hopscope::model::{Connection, Exchange};
use hopscope::pipeline::{self, Config, Sink};
use hopscope::reassembly::ConnMeta;
use std::path::Path;

fn capture(path: &Path) -> Capture {
    Capture::new(vec![FileReader::open(path, 0).expect("fixture opens")])
}

#[test]
fn threaded_run_matches_single_threaded_run_on_every_fixture() {
    let dir = data("");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/data") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.contains(".pcap") {
            continue;
        }
        let config = Config::default();
        let mut one = Collected::default();
        let s1 = pipeline::run(&mut capture(&path), &config, &mut one, &mut |_, _| {}).unwrap();
        let mut two = Collected::default();
        let s2 =
            pipeline::run_threaded(&mut capture(&path), &config, &mut two, &mut |_, _| {}).unwrap();
        assert_eq!(
            format!("{:?}", one.exchanges),
            format!("{:?}", two.exchanges),
            "{name}"
        );
        assert_eq!(
            format!("{:?}", one.connections),
            format!("{:?}", two.connections),
            "{name}"
        );
        assert_eq!(format!("{s1:?}"), format!("{s2:?}"), "{name}");
        checked += 1;
    }
    assert!(checked > 5, "fixtures found: {checked}");
}

/// A sink whose output was closed after the first result.
struct ClosedPipe;

impl Sink for ClosedPipe {
    fn exchange(&mut self, _: &Exchange, _: &ConnMeta) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn connection(&mut self, _: &Connection) -> std::io::Result<()> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
}

#[test]
fn threaded_run_stops_with_the_sink_error() {
    let path = data("nginx-keepalive-3req.pcap");
    let err = pipeline::run_threaded(
        &mut capture(&path),
        &Config::default(),
        &mut ClosedPipe,
        &mut |_, _| {},
    )
    .expect_err("the sink fails");
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
}
