//! `hopscope analyze FILE...`: open the inputs, run the pipeline, write the report.

use super::progress::Progress;
use super::{AnalyzeArgs, EXIT_FAILURE, EXIT_PARTIAL};
use anyhow::Context;
use hopscope::capture::{Capture, FileReader};
use hopscope::pipeline::{self, Config, Sink, Summary};
use hopscope::report::{self, JsonSink, TextSink};
use std::io::{BufWriter, Write};

pub fn run(args: &AnalyzeArgs) -> anyhow::Result<u8> {
    let bundle_arg = args.files.iter().find(|f| super::bundle::is_bundle(f));
    if let Some(dir) = args.cluster.as_ref().or(bundle_arg) {
        return super::joined::run(args, dir);
    }
    if args.at.is_some() {
        anyhow::bail!("--at needs --cluster DIR");
    }
    let mut readers = Vec::new();
    let mut open_errors = Vec::new();
    for (index, path) in args.files.iter().enumerate() {
        match FileReader::open(path, index) {
            Ok(r) => {
                readers.push(r);
            }
            Err(e) => open_errors.push(e),
        }
    }
    if readers.is_empty() {
        for e in &open_errors {
            eprintln!("hopscope: {e}");
        }
        return Ok(EXIT_FAILURE);
    }
    let mut capture = Capture::new(readers);
    let mut config = Config::default();
    if !args.json {
        // The text report shows no body previews, so none are kept: gzip bodies are then
        // counted, not inflated (the inflater's set-up alone was ~2 % of the analysis).
        config.http.preview = 0;
        // It reads one field (the request's Host), on the writer thread: leave heads unsplit.
        config.http.defer_fields = true;
    }
    let mut progress = Progress::new(!args.no_progress);
    let mut on_progress = |read, total| progress.update(read, total);
    // `Stdout`, not a `StdoutLock`: the report may be written from the pipeline's writer thread.
    let out = BufWriter::with_capacity(1 << 16, std::io::stdout());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // One shard reads for all, so any input can be sharded: files, pipes, stdin, merged.
    let mode = if args.shards > 1 {
        Mode::Sharded(args.shards)
    } else if cpus > 1 {
        Mode::Threaded
    } else {
        Mode::Single
    };

    let mut summary;
    if args.json {
        let mut sink = JsonSink::new(out);
        summary = run_pipeline(&mode, &mut capture, &config, &mut sink, &mut on_progress)?;
        summary.errors.splice(0..0, open_errors);
        sink.summary(&summary)?;
        sink.into_inner().flush().context("writing the report")?;
    } else {
        let mut sink = TextSink::new(out);
        summary = run_pipeline(&mode, &mut capture, &config, &mut sink, &mut on_progress)?;
        summary.errors.splice(0..0, open_errors);
        sink.finish_sections()?;
        let shown = std::mem::take(&mut sink.shown);
        report::write_summary(sink.out(), &summary, &shown)?;
        sink.into_inner().flush().context("writing the report")?;
    }
    progress.clear();
    for e in &summary.errors {
        eprintln!("hopscope: {e}");
    }
    Ok(if summary.errors.is_empty() {
        0
    } else {
        EXIT_PARTIAL
    })
}

/// How the pipeline runs.
enum Mode {
    /// One thread.
    Single,
    /// Analysis on this thread, formatting on a second one.
    Threaded,
    /// Connections split over this many analysis threads; this thread merges and formats.
    Sharded(usize),
}

/// Runs the pipeline the way `mode` says; same output in every mode.
fn run_pipeline<S: Sink + Send>(
    mode: &Mode,
    capture: &mut Capture,
    config: &Config,
    sink: &mut S,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::io::Result<Summary> {
    match *mode {
        Mode::Single => pipeline::run(capture, config, sink, progress),
        Mode::Threaded => pipeline::run_threaded(capture, config, sink, progress),
        Mode::Sharded(shards) => pipeline::run_sharded(capture, shards, config, sink, progress),
    }
}
