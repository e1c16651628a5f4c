//! UI state: the loaded results (read-only), the table rows, what is visible, selected,
//! filtered and sorted, which screen and tab are open, and what the loader and the on-demand
//! fetches have delivered so far. State changes here are pure; `update.rs` applies actions and
//! their side effects.

use super::data::Results;
use super::fetch::Fetched;
use super::filter::{self, Filter};
use super::rows::{Flags, Row};
use super::stats::Services;
use std::cmp::Ordering;
use std::sync::Arc;

/// The main screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Requests,
    Detail,
    Journey,
    Services,
}

/// Tabs of the detail screen, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Path,
    Timing,
    Http,
    Tcp,
    Stream,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Path, Tab::Timing, Tab::Http, Tab::Tcp, Tab::Stream];

    pub const fn title(self) -> &'static str {
        match self {
            Tab::Path => "Path",
            Tab::Timing => "Timing",
            Tab::Http => "HTTP",
            Tab::Tcp => "TCP",
            Tab::Stream => "Stream",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Sortable columns of the requests table, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Time,
    Source,
    Destination,
    Method,
    Host,
    Target,
    Status,
    Latency,
    Path,
    Flags,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::Time,
        Column::Source,
        Column::Destination,
        Column::Method,
        Column::Host,
        Column::Target,
        Column::Status,
        Column::Latency,
        Column::Path,
        Column::Flags,
    ];

    pub const fn title(self) -> &'static str {
        match self {
            Column::Time => "Time",
            Column::Source => "Source",
            Column::Destination => "Destination",
            Column::Method => "Method",
            Column::Host => "Host",
            Column::Target => "Target",
            Column::Status => "St",
            Column::Latency => "Latency",
            Column::Path => "Path",
            Column::Flags => "Flags",
        }
    }

    fn compare(self, a: &Row, b: &Row) -> Ordering {
        match self {
            Column::Time => a.time.cmp(&b.time),
            Column::Source => a.src.cmp(&b.src),
            Column::Destination => a.dst.cmp(&b.dst),
            Column::Method => a.method.cmp(&b.method),
            Column::Host => a.host.cmp(&b.host),
            Column::Target => a.target.cmp(&b.target),
            Column::Status => a.status.cmp(&b.status),
            Column::Latency => a.latency.cmp(&b.latency),
            Column::Path => a.path.cmp(&b.path),
            Column::Flags => a.flags.0.cmp(&b.flags.0),
        }
    }
}

/// How far the background load is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadProgress {
    pub input: usize,
    pub inputs: usize,
    pub name: String,
    pub read: u64,
    pub total: Option<u64>,
    /// Still reading (false once the join is done or the load failed).
    pub active: bool,
    /// The reading is done and the join is running.
    pub joining: bool,
}

impl LoadProgress {
    /// 0..=1 over all inputs, when sizes are known.
    pub fn ratio(&self) -> f64 {
        let inputs = self.inputs.max(1) as f64;
        let within = match self.total {
            Some(t) if t > 0 => (self.read as f64 / t as f64).min(1.0),
            _ => 0.0,
        };
        ((self.input as f64 + within) / inputs).clamp(0.0, 1.0)
    }
}

/// An on-demand re-read of one leg's packets.
pub enum FetchState {
    None,
    Pending(usize),
    Ready(usize, Box<Fetched>),
    Failed(usize, String),
}

pub struct App {
    /// None until the load is done.
    pub results: Option<Results>,
    /// Shared so a filter or sort over many rows can run off the UI thread.
    pub rows: Arc<Vec<Row>>,
    /// Rows that are exchanges (the others are connections without HTTP).
    pub requests: usize,
    pub services: Services,
    /// Indices into `rows` that pass the filter, in sort order.
    pub visible: Vec<u32>,
    /// Position in `visible`, and the first visible row on screen.
    pub selected: usize,
    pub offset: usize,
    pub screen: Screen,
    /// The leg and exchange (None: a connection) the detail and journey screens show.
    pub detail: Option<(usize, Option<usize>)>,
    pub tab: Tab,
    pub help: bool,
    /// The filter being typed, and whether the prompt is open.
    pub filter_text: String,
    pub filter_editing: bool,
    pub filter: Filter,
    pub filter_error: Option<String>,
    pub sort: Column,
    pub descending: bool,
    /// Show connections without HTTP as rows.
    pub show_conns: bool,
    /// Hide mesh control traffic (Envoy admin, agent, xDS, telemetry, health checks).
    pub hide_mesh: bool,
    pub progress: LoadProgress,
    pub load_errors: Vec<String>,
    /// Scroll of the detail, journey and services screens.
    pub scroll: u16,
    pub hex: bool,
    pub fetch: FetchState,
    /// The last message for the status line (an export written, an error).
    pub status: Option<String>,
    /// Selection in the journey and services screens.
    pub journey_selected: usize,
    pub services_selected: usize,
    /// `visible` is out of date (the filter, a toggle, the sort or the rows changed); `update`
    /// recomputes it, here or on a thread.
    pub stale: bool,
    /// Bumped for each recomputation asked for; a result of an older one is dropped.
    pub generation: u64,
    /// A recomputation is running on a thread.
    pub refreshing: bool,
    /// Terminal size (columns, lines).
    pub size: (u16, u16),
    /// Whether colours are on (`NO_COLOR` unset).
    pub color: bool,
    pub quit: bool,
}

/// Lines above and below the table: title, header / status, filter line.
pub const TABLE_CHROME: u16 = 4;

impl App {
    pub fn new(size: (u16, u16), color: bool) -> App {
        App {
            results: None,
            rows: Arc::new(Vec::new()),
            requests: 0,
            services: Services::default(),
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            screen: Screen::Requests,
            detail: None,
            tab: Tab::Path,
            help: false,
            filter_text: String::new(),
            filter_editing: false,
            filter: Filter::default(),
            filter_error: None,
            sort: Column::Time,
            descending: false,
            show_conns: false,
            hide_mesh: false,
            progress: LoadProgress {
                active: true,
                ..LoadProgress::default()
            },
            load_errors: Vec::new(),
            scroll: 0,
            hex: false,
            fetch: FetchState::None,
            status: None,
            journey_selected: 0,
            services_selected: 0,
            stale: false,
            generation: 0,
            refreshing: false,
            size,
            color,
            quit: false,
        }
    }

    /// Lines of table rows that fit on screen.
    pub fn page(&self) -> usize {
        self.size.1.saturating_sub(TABLE_CHROME).max(1) as usize
    }

    /// The selected row, if any.
    pub fn selected_row(&self) -> Option<&Row> {
        let i = *self.visible.get(self.selected)?;
        self.rows.get(i as usize)
    }

    /// The selected exchange as (leg, exchange) once results are loaded.
    pub fn selected_exchange(&self) -> Option<(usize, usize)> {
        let row = self.selected_row()?;
        self.results.as_ref()?;
        Some((row.leg as usize, row.exchange? as usize))
    }

    /// The selected leg once results are loaded.
    pub fn selected_leg(&self) -> Option<usize> {
        let row = self.selected_row()?;
        self.results.as_ref()?;
        Some(row.leg as usize)
    }

    /// What decides the visible rows, as a value a thread can take.
    pub fn query(&self) -> Query {
        Query {
            filter: self.filter.clone(),
            show_conns: self.show_conns,
            hide_mesh: self.hide_mesh,
            sort: self.sort,
            descending: self.descending,
            labels: self
                .results
                .as_ref()
                .map_or_else(Vec::new, |r| r.labels.clone()),
        }
    }

    /// Installs a recomputed `visible`, keeping the selected row selected when it still is.
    pub fn install(&mut self, visible: Vec<u32>) {
        let keep = self.visible.get(self.selected).copied();
        self.visible = visible;
        self.selected = keep
            .and_then(|k| self.visible.iter().position(|&v| v == k))
            .unwrap_or(0);
        self.clamp();
    }

    /// Recomputes `visible` here, now.
    pub fn refresh(&mut self) {
        let v = visible_rows(&self.rows, &self.query());
        self.stale = false;
        self.install(v);
    }

    /// Keeps the selection inside the rows and on screen.
    pub fn clamp(&mut self) {
        let n = self.visible.len();
        if n == 0 {
            self.selected = 0;
            self.offset = 0;
            return;
        }
        self.selected = self.selected.min(n - 1);
        let page = self.page();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        self.offset = self.offset.min(n.saturating_sub(page));
    }

    /// Moves the selection by `delta` rows.
    pub fn move_by(&mut self, delta: isize) {
        let n = self.visible.len();
        if n == 0 {
            return;
        }
        let to = (self.selected as isize).saturating_add(delta);
        self.selected = to.clamp(0, n as isize - 1) as usize;
        self.clamp();
    }

    /// Parses `filter_text` into the filter (an error keeps the last good filter).
    pub fn apply_filter_text(&mut self) {
        match filter::parse(&self.filter_text) {
            Ok(f) => {
                self.filter = f;
                self.filter_error = None;
                self.stale = true;
            }
            Err(e) => self.filter_error = Some(e.to_string()),
        }
    }
}

/// The filter, toggles and sort of the requests table.
#[derive(Clone, Debug)]
pub struct Query {
    pub filter: Filter,
    pub show_conns: bool,
    pub hide_mesh: bool,
    pub sort: Column,
    pub descending: bool,
    /// Capture point labels (for `point:`).
    pub labels: Vec<String>,
}

impl Query {
    fn passes(&self, row: &Row) -> bool {
        if row.flags.has(Flags::CONN) && !self.show_conns {
            return false;
        }
        if row.flags.has(Flags::MESH) && self.hide_mesh {
            return false;
        }
        let point = self
            .labels
            .get(row.point as usize)
            .map_or("", |s| s.as_str());
        self.filter.matches(row, point)
    }
}

/// Indices of the rows that pass `q`, in its order (pure; run on the UI thread for small
/// tables, on a worker for big ones).
pub fn visible_rows(rows: &[Row], q: &Query) -> Vec<u32> {
    visible_rows_until(rows, q, &|| false).unwrap_or_default()
}

/// [`visible_rows`] that gives up (None) when `cancelled` says so, checked every 64 Ki rows:
/// a worker whose answer a newer keystroke made useless stops early.
pub fn visible_rows_until(
    rows: &[Row],
    q: &Query,
    cancelled: &dyn Fn() -> bool,
) -> Option<Vec<u32>> {
    let mut visible: Vec<u32> = Vec::new();
    for (n, chunk) in rows.chunks(1 << 16).enumerate() {
        if cancelled() {
            return None;
        }
        let base = (n << 16) as u32;
        visible.extend(
            (0..chunk.len() as u32)
                .filter(|&i| q.passes(&chunk[i as usize]))
                .map(|i| base + i),
        );
    }
    // Rows come in time order (the loader sorts them): by time ascending is index order.
    if q.sort != Column::Time || q.descending {
        let (col, desc) = (q.sort, q.descending);
        visible.sort_by(|&a, &b| {
            let o = col.compare(&rows[a as usize], &rows[b as usize]);
            let o = if desc { o.reverse() } else { o };
            o.then(a.cmp(&b))
        });
    }
    Some(visible)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                status: Some(if i % 1000 == 7 { 503 } else { 200 }),
                latency: Some((n - i) as i64),
                ..Row::default()
            })
            .collect()
    }

    #[test]
    fn visible_rows_across_chunks_sorted_and_cancelled() {
        let rows = rows(200_000);
        let mut app = App::new((80, 24), false);
        app.filter = filter::parse("status:5xx").unwrap();
        let q = app.query();
        let v = visible_rows(&rows, &q);
        assert_eq!(v.len(), 200);
        assert_eq!((v[0], v[199]), (7, 199_007));
        app.sort = Column::Latency;
        let sorted = visible_rows(&rows, &app.query());
        assert_eq!(sorted.first(), Some(&199_007), "lowest latency first");
        assert_eq!(visible_rows_until(&rows, &q, &|| true), None);
    }

    #[test]
    fn install_keeps_the_selected_row() {
        let mut app = App::new((80, 24), false);
        app.rows = Arc::new(rows(100));
        app.refresh();
        app.move_by(30);
        let row = app.visible[app.selected];
        app.sort = Column::Latency;
        app.refresh();
        assert_eq!(app.visible[app.selected], row);
        assert!(app.selected >= app.offset && app.selected < app.offset + app.page());
    }
}
