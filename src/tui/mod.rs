//! The terminal flow browser (`hopscope tui`): the requests of a capture, each with where it
//! went (its path, hop by hop with evidence), its timing, heads, packets and stream, its
//! journey across capture points, per-service figures, and exports (JSON, pcap).
//!
//! Layout (one concept per file): `data` (the loaded results, read-only), `rows` and `stats`
//! (pure: results → table rows), `filter` (pure: the filter language), `timeline` and
//! `packets` (pure: timing and per-packet facts), `app` (UI state), `action` (keys → actions),
//! `update` (the one place actions and side effects are applied), `loader` (what background
//! threads send), `fetch` (re-reading a connection's packets on demand), `export` (JSON and
//! pcap bytes), `theme`, `terminal` (setup/restore, panic hook), `screen` (the frame) and one
//! file per view. Views are pure functions of `App` drawing to a ratatui `Frame`; they format,
//! never decide a domain fact (the join does).
//!
//! Loading runs on its own thread and streams [`loader::Incoming`] messages (progress, rows
//! as legs finish, then the joined results), so the first screen comes at once and a live
//! capture can feed the same channel later.

pub mod action;
pub mod app;
pub mod data;
pub mod detail_http;
pub mod detail_path;
pub mod detail_stream;
pub mod detail_tcp;
pub mod detail_timing;
pub mod export;
pub mod fetch;
pub mod filter;
pub mod help;
pub mod journey;
pub mod loader;
pub mod packets;
pub mod requests;
pub mod rows;
pub mod screen;
pub mod services;
pub mod stats;
pub mod terminal;
pub mod theme;
pub mod timeline;
pub mod update;

use app::App;
use loader::{Incoming, LoadFn};
use ratatui::crossterm::event;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};
use update::Effects;

/// How long the loop waits for a key before looking at the loader's messages.
const POLL: Duration = Duration::from_millis(50);
/// Time spent taking in messages between two frames at most.
const RECEIVE_BUDGET: Duration = Duration::from_millis(30);

/// Opens the terminal, starts `load` on a thread and runs the browser until the user quits.
pub fn run(load: LoadFn, export_dir: PathBuf) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel();
    let loader_tx = tx.clone();
    std::thread::spawn(move || load(loader_tx));
    let mut term = terminal::setup()?;
    let color = theme::color_allowed(std::env::var_os("NO_COLOR").as_deref());
    let fx = Effects {
        tx,
        export_dir,
        background: true,
        latest: Default::default(),
    };
    let result = event_loop(&mut term, &rx, &fx, color);
    terminal::restore();
    result
}

fn event_loop(
    term: &mut terminal::Term,
    rx: &Receiver<Incoming>,
    fx: &Effects,
    color: bool,
) -> std::io::Result<()> {
    let size = term.size()?;
    let mut app = App::new((size.width, size.height), color);
    let mut dirty = true;
    loop {
        if dirty {
            term.draw(|f| screen::draw(f, &app))?;
            dirty = false;
        }
        if event::poll(POLL)? {
            let ev = event::read()?;
            if let Some(a) = action::map_event(&ev, &app) {
                update::apply(&mut app, a, fx);
            }
            dirty = true;
        }
        let until = Instant::now() + RECEIVE_BUDGET;
        while let Ok(msg) = rx.try_recv() {
            update::receive(&mut app, msg, fx);
            dirty = true;
            if Instant::now() > until {
                break;
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}
