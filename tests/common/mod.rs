//! Shared helpers of the integration tests: run the library pipeline on a capture and collect
//! everything it reports, and find the fixture folders.
#![allow(dead_code)] // each test binary uses a different subset

use hopscope::capture::{Capture, FileReader};
use hopscope::model::{Connection, Exchange};
use hopscope::pipeline::{self, Config, Sink, Summary};
use hopscope::reassembly::ConnMeta;
use std::path::{Path, PathBuf};

/// Everything one run reported.
#[derive(Default)]
pub struct Collected {
    pub exchanges: Vec<(Exchange, ConnMeta)>,
    pub connections: Vec<Connection>,
}

impl Sink for Collected {
    fn exchange(&mut self, exchange: &Exchange, conn: &ConnMeta) -> std::io::Result<()> {
        self.exchanges.push((exchange.clone(), *conn));
        Ok(())
    }
    fn connection(&mut self, connection: &Connection) -> std::io::Result<()> {
        self.connections.push(connection.clone());
        Ok(())
    }
}

pub struct Run {
    pub got: Collected,
    pub summary: Summary,
}

impl Run {
    pub fn requests(&self) -> usize {
        self.got
            .exchanges
            .iter()
            .filter(|(e, _)| e.request.is_some())
            .count()
    }
    pub fn responses(&self) -> usize {
        self.got
            .exchanges
            .iter()
            .filter(|(e, _)| e.response.is_some())
            .count()
    }
    /// `METHOD target status` per exchange, in report order (`-` for a missing side).
    pub fn lines(&self) -> Vec<String> {
        self.got
            .exchanges
            .iter()
            .map(|(e, _)| {
                let (m, t) = e.request.as_ref().map_or(("-".into(), "-".into()), |q| {
                    (q.method.clone(), q.target.clone())
                });
                let s = e
                    .response
                    .as_ref()
                    .map_or("-".into(), |r| r.status.to_string());
                format!("{m} {t} {s}")
            })
            .collect()
    }
}

/// Runs the pipeline with default limits over `paths` (merged by time).
pub fn analyze(paths: &[PathBuf]) -> Run {
    analyze_with(paths, &Config::default())
}

pub fn analyze_with(paths: &[PathBuf], config: &Config) -> Run {
    let readers = paths
        .iter()
        .enumerate()
        .map(|(i, p)| FileReader::open(p, i).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut capture = Capture::new(readers);
    let mut got = Collected::default();
    let summary = pipeline::run(&mut capture, config, &mut got, &mut |_, _| {})
        .expect("collecting cannot fail");
    Run { got, summary }
}

/// `tests/data/NAME`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The third-party captures in `../shared/fixtures/pcaps`, when this checkout has them beside it
/// (CI does); `None` elsewhere, and the caller skips with a note.
pub fn shared_pcaps() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/pcaps");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: ../shared/fixtures/pcaps not found; third-party capture checks skipped");
        None
    }
}
