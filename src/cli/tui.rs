//! `hopscope tui CAPTURE... [--cluster DIR] [--at POINT]`: the terminal browser. This side
//! finds the inputs and the bundle and provides the load (the same reading and join as
//! `analyze --cluster`, see `joined.rs`), run on the browser's loader thread; the browser is
//! `hopscope::tui`.

use super::bundle;
use super::cluster;
use super::joined;
use super::EXIT_USAGE;
use hopscope::pipeline::legs::{LegOptions, PointInput};
use hopscope::tui::data::Results;
use hopscope::tui::loader::{Incoming, LoadFn, Loaded, RowHooks};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::Sender;

#[derive(clap::Args, Debug)]
pub struct TuiArgs {
    /// Capture files, or a bundle directory (its captures at their capture points).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A cluster bundle (docs/bundle.md) to join the captures to.
    #[arg(long, value_name = "DIR")]
    pub cluster: Option<PathBuf>,
    /// Where the captures given as files were taken: node/NAME or pod/NAMESPACE/NAME.
    #[arg(long, value_name = "POINT")]
    pub at: Option<String>,
    /// Directory the exports (JSON, pcap) are written to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub export_dir: PathBuf,
}

/// Body preview bytes kept over all exchanges; past this the HTTP tab reads them again.
const PREVIEW_BUDGET: usize = 64 << 20;

/// The load the browser runs: read and join, then send the results.
pub fn load_fn(inputs: Vec<PointInput>, bundle_dir: Option<PathBuf>) -> LoadFn {
    Box::new(move |tx: Sender<Incoming>| {
        let cluster = bundle_dir
            .as_ref()
            .map(|d| cluster::load(&bundle::scan(d)))
            .unwrap_or_default();
        let mut hooks = RowHooks::new(tx.clone(), inputs.clone());
        let options = LegOptions {
            preview_budget: PREVIEW_BUDGET,
        };
        match joined::load(inputs, cluster, &options, &mut hooks) {
            Ok(Ok(l)) => {
                let results = Results {
                    inputs: l.inputs,
                    labels: l.labels,
                    legs: l.run.legs,
                    sources: l.run.sources,
                    joined: l.joined,
                    cluster: l.cluster,
                    bundle: bundle_dir.is_some(),
                    errors: l.run.errors,
                };
                let _ = tx.send(Incoming::Done(Box::new(Loaded::new(results))));
            }
            Ok(Err(errors)) => {
                let _ = tx.send(Incoming::Failed(errors));
            }
            Err(e) => {
                let _ = tx.send(Incoming::Failed(vec![format!("{e:#}")]));
            }
        }
    })
}

/// The inputs and the bundle directory of the arguments.
pub fn plan(args: &TuiArgs) -> anyhow::Result<(Vec<PointInput>, Option<PathBuf>)> {
    if args.files.iter().any(|f| f.as_os_str() == "-") {
        anyhow::bail!("tui: a capture on standard input cannot be read (the terminal is there)");
    }
    let bundle_arg = args.files.iter().find(|f| bundle::is_bundle(f)).cloned();
    let dir = args.cluster.clone().or(bundle_arg);
    if let Some(d) = &dir {
        anyhow::ensure!(d.is_dir(), "--cluster {}: not a directory", d.display());
    }
    Ok((joined::inputs(&args.files, args.at.as_deref())?, dir))
}

pub fn run(args: &TuiArgs) -> anyhow::Result<u8> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!("hopscope: tui needs a terminal (use `hopscope analyze` for a report)");
        return Ok(EXIT_USAGE);
    }
    let (inputs, dir) = plan(args)?;
    hopscope::tui::run(load_fn(inputs, dir), args.export_dir.clone())?;
    Ok(0)
}
