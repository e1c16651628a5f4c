//! TUI benchmark: time to first screen and per-frame render time on a big capture (a million
//! exchanges: `cargo run --release --example synth -- --size 1GiB --seed 1 -o X.pcap`).
//!
//! `cargo run --release --example tui_bench -- X.pcap... [--frames N]` (several captures are
//! several inputs at one point, as `hopscope tui a.pcap b.pcap` reads them)
//!
//! Runs what `hopscope tui X.pcap` runs, without a terminal: the load on its own thread (legs
//! read with the TUI's row hooks, the join with an empty cluster, rows and services built),
//! the UI loop taking in its messages, and frames drawn into ratatui's TestBackend at 160x48.
//! Prints: time to the first frame, to the first frame with rows, to the joined results; then
//! the per-frame render time over FRAMES frames moving the selection (mean, p50, p99, max),
//! the cost of a filter keystroke and of a sort over all rows, and the peak RSS.

use hopscope::join::{self, Cluster, PointKind};
use hopscope::pipeline::legs::{read_legs, LegOptions, PointInput};
use hopscope::tui::action::Action;
use hopscope::tui::app::App;
use hopscope::tui::data::Results;
use hopscope::tui::loader::{Incoming, Loaded, RowHooks};
use hopscope::tui::screen;
use hopscope::tui::update::{self, Effects};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut files = Vec::new();
    let mut frames = 300usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--frames" => frames = args.next().and_then(|n| n.parse().ok()).unwrap_or(frames),
            _ => files.push(PathBuf::from(a)),
        }
    }
    assert!(
        !files.is_empty(),
        "usage: tui_bench CAPTURE... [--frames N]"
    );
    let start = Instant::now();
    let (tx, rx) = mpsc::channel();
    let inputs: Vec<PointInput> = files
        .into_iter()
        .map(|path| PointInput {
            path,
            point: PointKind::Unknown,
        })
        .collect();
    {
        let tx = tx.clone();
        let inputs = inputs.clone();
        std::thread::spawn(move || {
            let mut hooks = RowHooks::new(tx.clone(), inputs.clone());
            let options = LegOptions {
                preview_budget: 64 << 20,
            };
            let run = read_legs(&inputs, &options, &mut hooks).expect("reading");
            let cluster = Cluster::default();
            let joined = join::join(&run.points, &run.legs, &cluster);
            let results = Results {
                inputs,
                labels: vec!["capture".into()],
                legs: run.legs,
                sources: run.sources,
                joined,
                cluster,
                bundle: false,
                errors: run.errors,
            };
            let _ = tx.send(Incoming::Done(Box::new(Loaded::new(results))));
        });
    }
    let fx = Effects {
        tx,
        export_dir: std::env::temp_dir(),
        background: true,
        latest: Default::default(),
    };
    let (w, h) = (160, 48);
    let mut app = App::new((w, h), true);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| screen::draw(f, &app)).unwrap();
    // Takes in messages until the visible rows are recomputed.
    let settle = |app: &mut App| {
        while app.refreshing || app.stale {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(m) => update::receive(app, m, &fx),
                Err(_) => break,
            }
        }
    };
    let first_frame = start.elapsed();
    let mut first_rows = None;
    let mut frames_while_loading = Vec::new();
    while app.results.is_none() {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(m) => update::receive(&mut app, m, &fx),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
        while let Ok(m) = rx.try_recv() {
            update::receive(&mut app, m, &fx);
        }
        let t = Instant::now();
        term.draw(|f| screen::draw(f, &app)).unwrap();
        frames_while_loading.push(t.elapsed());
        if first_rows.is_none() && !app.visible.is_empty() {
            first_rows = Some(start.elapsed());
        }
    }
    settle(&mut app);
    let loaded = start.elapsed();
    println!(
        "{} input(s), first {}: {} rows, {} exchanges",
        inputs.len(),
        inputs[0].path.display(),
        app.rows.len(),
        app.requests
    );
    println!("first frame (progress)       {:>9.1} ms", ms(first_frame));
    match first_rows {
        Some(t) => println!("first frame with rows        {:>9.1} ms", ms(t)),
        None => println!("first frame with rows        (only after the join)"),
    }
    println!("joined, all rows on screen   {:>9.1} ms", ms(loaded));
    if !frames_while_loading.is_empty() {
        let worst = frames_while_loading
            .iter()
            .max()
            .copied()
            .unwrap_or_default();
        println!(
            "frames while loading         {:>9} (slowest {:.2} ms)",
            frames_while_loading.len(),
            ms(worst)
        );
    }
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let a = if i % 50 == 49 {
            Action::PageDown
        } else {
            Action::Move(1)
        };
        update::apply(&mut app, a, &fx);
        let t = Instant::now();
        term.draw(|f| screen::draw(f, &app)).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    let at = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    println!(
        "render 160x48 ({frames} frames)  mean {:.3} ms  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        ms(mean),
        ms(at(50)),
        ms(at(99)),
        ms(*times.last().unwrap())
    );
    // Filter and sort: the UI thread's time per key, and the time until the recomputed rows
    // are on screen (over ASYNC_ROWS rows they are computed on a thread).
    update::apply(&mut app, Action::FilterStart, &fx);
    let mut ui = Duration::ZERO;
    let t = Instant::now();
    for c in "status:5xx".chars() {
        let k = Instant::now();
        update::apply(&mut app, Action::FilterChar(c), &fx);
        term.draw(|f| screen::draw(f, &app)).unwrap();
        ui += k.elapsed();
    }
    settle(&mut app);
    println!(
        "filter typed (10 keys): UI thread {:.2} ms per key; rows on screen {:.1} ms after the first key ({} match status:5xx)",
        ms(ui / 10),
        ms(t.elapsed()),
        app.visible.len()
    );
    update::apply(&mut app, Action::FilterCancel, &fx);
    settle(&mut app);
    for _ in 0..7 {
        update::apply(&mut app, Action::SortNext, &fx);
        settle(&mut app);
    }
    let t = Instant::now();
    update::apply(&mut app, Action::SortReverse, &fx);
    let ui = t.elapsed();
    settle(&mut app);
    println!(
        "sort all rows by {:?} (reverse): UI thread {:.2} ms; sorted rows on screen after {:.1} ms",
        app.sort,
        ms(ui),
        ms(t.elapsed())
    );
    let t = Instant::now();
    term.draw(|f| screen::draw(f, &app)).unwrap();
    println!("frame after the sort  {:.3} ms", ms(t.elapsed()));
    println!("peak RSS  {:.0} MiB", peak_rss_mib());
}
