//! The one place where actions change the state and side effects happen: re-reading a
//! capture for the detail tabs (on a thread, its answer comes back as a message), writing
//! exports, and taking in what the loader sends.

use super::action::Action;
use super::app::{visible_rows_until, App, FetchState, Screen, Tab, TABLE_CHROME};
use super::export;
use super::fetch;
use super::journey;
use super::loader::Incoming;
use super::rows::Flags;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// What side effects need.
pub struct Effects {
    /// Where background work sends its answers.
    pub tx: Sender<Incoming>,
    /// Where exports are written.
    pub export_dir: PathBuf,
    /// Run fetches and pcap exports on a thread (false in tests: run them in place).
    pub background: bool,
    /// The newest visible-rows generation asked for, read by the workers to stop early.
    pub latest: Arc<AtomicU64>,
}

impl Effects {
    fn spawn(&self, job: impl FnOnce() -> Incoming + Send + 'static) {
        if self.background {
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                let _ = tx.send(job());
            });
        } else {
            let _ = self.tx.send(job());
        }
    }
}

/// Whether the tab needs the leg's packets read again.
fn needs_fetch(app: &App) -> bool {
    let Some(r) = &app.results else { return false };
    let Some((l, e)) = app.detail else {
        return false;
    };
    match app.tab {
        Tab::Tcp | Tab::Stream => true,
        Tab::Http => e
            .and_then(|e| r.legs.get(l)?.exchanges.get(e))
            .is_some_and(|ex| {
                [
                    ex.request.as_ref().map(|q| &q.msg),
                    ex.response.as_ref().map(|s| &s.msg),
                ]
                .into_iter()
                .flatten()
                .any(|m| m.body_len > 0 && m.body_preview.is_empty())
            }),
        _ => false,
    }
}

fn start_fetch(app: &mut App, fx: &Effects) {
    if !needs_fetch(app) {
        return;
    }
    let (Some(r), Some((l, _))) = (&app.results, app.detail) else {
        return;
    };
    match &app.fetch {
        FetchState::Pending(f) | FetchState::Ready(f, _) | FetchState::Failed(f, _) if *f == l => {
            return
        }
        _ => {}
    }
    let (Some(leg), Some(&src)) = (r.legs.get(l), r.sources.get(l)) else {
        return;
    };
    let Some(input) = r.inputs.get(src) else {
        return;
    };
    let (path, conn) = (input.path.clone(), leg.conn.clone());
    app.fetch = FetchState::Pending(l);
    fx.spawn(move || Incoming::Fetched(l, fetch::fetch_leg(&path, &conn).map(Box::new)));
}

fn open_detail(app: &mut App, leg: usize, exchange: Option<usize>, fx: &Effects) {
    app.detail = Some((leg, exchange));
    app.screen = Screen::Detail;
    app.scroll = 0;
    start_fetch(app, fx);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<String, String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(format!("wrote {} ({} bytes)", path.display(), bytes.len()))
}

/// The leg and exchange an export or the journey refers to: the detail's, else the row's.
fn target(app: &App) -> Option<(usize, Option<usize>)> {
    match app.screen {
        Screen::Requests => {
            let row = app.selected_row()?;
            app.results.as_ref()?;
            Some((row.leg as usize, row.exchange.map(|e| e as usize)))
        }
        _ => app.detail,
    }
}

fn export(app: &mut App, action: &Action, fx: &Effects) {
    let Some(r) = &app.results else {
        app.status = Some("still loading: exports need the joined results".into());
        return;
    };
    let Some((l, e)) = target(app) else {
        app.status = Some("nothing selected".into());
        return;
    };
    let journey = e.and_then(|e| r.journey_of(l, e));
    let dir = fx.export_dir.clone();
    let conn_id = r.legs.get(l).map_or(0, |leg| leg.conn.id);
    let result = match action {
        Action::ExportJson => match e {
            Some(e) => export::exchange_json(r, l, e)
                .map_err(|x| x.to_string())
                .and_then(|b| write(&dir, &format!("hopscope-leg{}-ex{}.json", l + 1, e + 1), &b)),
            None => Err("a connection without HTTP has no exchange to export".into()),
        },
        Action::ExportJourneyJson => match journey {
            Some(n) => export::journey_json(r, n)
                .map_err(|x| x.to_string())
                .and_then(|b| write(&dir, &format!("hopscope-journey{}.json", n + 1), &b)),
            None => Err("no journey for this row".into()),
        },
        Action::ExportPcap | Action::ExportJourneyPcap => {
            let legs: Vec<usize> = match (action, journey) {
                (Action::ExportJourneyPcap, Some(n)) => {
                    let mut v: Vec<usize> =
                        r.joined.journeys[n].members.iter().map(|m| m.0).collect();
                    v.dedup();
                    v
                }
                (Action::ExportJourneyPcap, None) => {
                    app.status = Some("no journey for this row".into());
                    return;
                }
                _ => vec![l],
            };
            let conns: Vec<(PathBuf, crate::model::Connection)> = legs
                .iter()
                .filter_map(|&l| {
                    let input = r.inputs.get(*r.sources.get(l)?)?;
                    Some((input.path.clone(), r.legs.get(l)?.conn.clone()))
                })
                .collect();
            let name = match (action, journey) {
                (Action::ExportJourneyPcap, Some(n)) => format!("hopscope-journey{}.pcap", n + 1),
                _ => format!("hopscope-leg{}-conn{conn_id}.pcap", l + 1),
            };
            app.status = Some(format!("exporting {name}…"));
            fx.spawn(move || {
                let refs: Vec<(&Path, &crate::model::Connection)> =
                    conns.iter().map(|(p, c)| (p.as_path(), c)).collect();
                let done = fetch::frames(&refs).and_then(|(frames, cut)| {
                    let bytes = export::capture_bytes(&frames);
                    let msg = write(&dir, &name, &bytes)?;
                    Ok(if cut {
                        format!("{msg}, cut at {} frames", fetch::MAX_FRAMES)
                    } else {
                        format!("{msg}, {} frames", frames.len())
                    })
                });
                Incoming::Exported(done)
            });
            return;
        }
        _ => return,
    };
    app.status = Some(result.unwrap_or_else(|e| e));
}

fn move_by(app: &mut App, delta: i32) {
    let big = |d: i32| {
        if d > 0 {
            isize::MAX / 2
        } else {
            -(isize::MAX / 2)
        }
    };
    let d = if delta == i32::MIN || delta == i32::MAX {
        big(delta)
    } else {
        delta as isize
    };
    match app.screen {
        Screen::Requests => app.move_by(d),
        Screen::Journey => {
            let n = journey::current(app)
                .and_then(|j| app.results.as_ref()?.joined.journeys.get(j))
                .map_or(0, |j| j.members.len());
            let to = (app.journey_selected as isize).saturating_add(d);
            app.journey_selected = to.clamp(0, n.saturating_sub(1) as isize) as usize;
        }
        Screen::Services if delta.abs() == 1 => {
            let n = app.services.rows.len();
            let to = (app.services_selected as isize).saturating_add(d);
            app.services_selected = to.clamp(0, n.saturating_sub(1) as isize) as usize;
        }
        _ => {
            let to = (app.scroll as isize).saturating_add(d);
            app.scroll = to.clamp(0, u16::MAX as isize) as u16;
        }
    }
}

/// Applies one action.
pub fn apply(app: &mut App, action: Action, fx: &Effects) {
    act(app, action, fx);
    sync_visible(app, fx);
}

fn act(app: &mut App, action: Action, fx: &Effects) {
    if !matches!(action, Action::Resize(..) | Action::Move(_)) {
        app.status = None;
    }
    match action {
        Action::Quit => app.quit = true,
        Action::Move(d) => move_by(app, d),
        Action::PageDown => move_by(app, app.page() as i32),
        Action::PageUp => move_by(app, -(app.page() as i32)),
        Action::Open => match app.screen {
            Screen::Requests => {
                if app.results.is_none() {
                    app.status = Some("still loading: details come when the join is done".into());
                } else if let Some(row) = app.selected_row() {
                    let (l, e) = (row.leg as usize, row.exchange.map(|e| e as usize));
                    open_detail(app, l, e, fx);
                }
            }
            Screen::Journey => {
                let member = journey::current(app).and_then(|j| {
                    let r = app.results.as_ref()?;
                    r.joined
                        .journeys
                        .get(j)?
                        .members
                        .get(app.journey_selected)
                        .copied()
                });
                if let Some((l, e)) = member {
                    open_detail(app, l, Some(e), fx);
                }
            }
            _ => {}
        },
        Action::Back => {
            if app.help {
                app.help = false;
            } else {
                app.screen = match app.screen {
                    Screen::Journey if app.detail.is_some() => Screen::Detail,
                    _ => Screen::Requests,
                };
                app.scroll = 0;
            }
        }
        Action::NextTab | Action::PrevTab | Action::Tab(_) if app.screen == Screen::Detail => {
            let i = app.tab.index();
            let n = Tab::ALL.len();
            let to = match action {
                Action::NextTab => (i + 1) % n,
                Action::PrevTab => (i + n - 1) % n,
                Action::Tab(t) => t.min(n - 1),
                _ => i,
            };
            app.tab = Tab::ALL[to];
            app.scroll = 0;
            start_fetch(app, fx);
        }
        Action::NextTab | Action::PrevTab | Action::Tab(_) => {}
        Action::FilterStart => {
            app.screen = Screen::Requests;
            app.filter_editing = true;
        }
        Action::FilterChar(c) => {
            app.filter_text.push(c);
            app.apply_filter_text();
        }
        Action::FilterBackspace => {
            app.filter_text.pop();
            app.apply_filter_text();
        }
        Action::FilterClear => {
            app.filter_text.clear();
            app.apply_filter_text();
        }
        Action::FilterAccept => {
            app.filter_editing = false;
            app.filter_error = None;
        }
        Action::FilterCancel => {
            app.filter_editing = false;
            app.filter_text.clear();
            app.apply_filter_text();
        }
        Action::SortNext => {
            let cols = super::app::Column::ALL;
            let i = cols.iter().position(|c| *c == app.sort).unwrap_or(0);
            app.sort = cols[(i + 1) % cols.len()];
            app.stale = true;
        }
        Action::SortReverse => {
            app.descending = !app.descending;
            app.stale = true;
        }
        Action::ToggleConns => {
            app.show_conns = !app.show_conns;
            app.stale = true;
        }
        Action::ToggleMesh => {
            app.hide_mesh = !app.hide_mesh;
            app.stale = true;
        }
        Action::ToggleHex => app.hex = !app.hex,
        Action::Help => app.help = !app.help,
        Action::Journey => {
            if let Some((l, e)) = target(app) {
                app.detail = Some((l, e));
                app.screen = Screen::Journey;
                app.journey_selected = 0;
                app.scroll = 0;
            }
        }
        Action::Services => {
            app.screen = Screen::Services;
            app.scroll = 0;
        }
        Action::ExportJson
        | Action::ExportJourneyJson
        | Action::ExportPcap
        | Action::ExportJourneyPcap => export(app, &action, fx),
        Action::Click(y) => {
            // The table's rows start below the title and the header.
            if app.screen == Screen::Requests && y >= 2 && y < app.size.1.saturating_sub(2) {
                let i = app.offset + (y - 2) as usize;
                if i < app.visible.len() {
                    if i == app.selected {
                        act(app, Action::Open, fx);
                    } else {
                        app.selected = i;
                    }
                }
            }
        }
        Action::Resize(w, h) => {
            app.size = (w, h.max(TABLE_CHROME + 1));
            app.clamp();
        }
    }
}

/// Takes in one message from a background thread.
pub fn receive(app: &mut App, msg: Incoming, fx: &Effects) {
    match msg {
        Incoming::Progress(p) => app.progress = p,
        Incoming::Rows(rows) => {
            app.requests += rows.iter().filter(|r| !r.flags.has(Flags::CONN)).count();
            Arc::make_mut(&mut app.rows).extend(rows);
            app.stale = true;
        }
        Incoming::Joining => app.progress.joining = true,
        Incoming::Done(loaded) => {
            app.load_errors = loaded.results.errors.clone();
            app.rows = Arc::new(loaded.rows);
            app.requests = app.rows.iter().filter(|r| r.exchange.is_some()).count();
            app.services = loaded.services;
            app.results = Some(loaded.results);
            app.progress.active = false;
            app.progress.joining = false;
            // The provisional rows' indices mean nothing in the final rows.
            app.visible.clear();
            app.selected = 0;
            app.offset = 0;
            app.stale = true;
            start_fetch(app, fx);
        }
        Incoming::Failed(errors) => {
            app.progress.active = false;
            app.load_errors = errors;
        }
        Incoming::Fetched(l, got) => {
            if matches!(app.fetch, FetchState::Pending(p) if p == l) {
                app.fetch = match got {
                    Ok(f) => FetchState::Ready(l, f),
                    Err(e) => FetchState::Failed(l, e),
                };
            }
        }
        Incoming::Exported(done) => app.status = Some(done.unwrap_or_else(|e| e)),
        Incoming::Visible(generation, visible) => {
            if generation == app.generation {
                app.install(visible);
                app.refreshing = false;
            }
        }
    }
    sync_visible(app, fx);
}

/// Rows at which the filter and sort run on a thread (about 50 ms of work on one core).
pub const ASYNC_ROWS: usize = 100_000;

/// Recomputes the visible rows when they are stale: here for small tables, on a thread for
/// big ones (the answer comes back as [`Incoming::Visible`]; typing on goes on meanwhile).
pub fn sync_visible(app: &mut App, fx: &Effects) {
    if !app.stale {
        return;
    }
    app.stale = false;
    app.generation += 1;
    if fx.background && app.rows.len() >= ASYNC_ROWS {
        let (rows, query, generation) = (app.rows.clone(), app.query(), app.generation);
        app.refreshing = true;
        fx.latest.store(generation, Ordering::Relaxed);
        let latest = fx.latest.clone();
        fx.spawn(move || {
            let stale = || latest.load(Ordering::Relaxed) != generation;
            let v = visible_rows_until(&rows, &query, &stale).unwrap_or_default();
            Incoming::Visible(generation, v)
        });
    } else {
        app.refreshing = false;
        app.refresh();
    }
}
