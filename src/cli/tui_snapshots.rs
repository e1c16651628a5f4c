//! Screens of `hopscope tui` rendered to text (ratatui's TestBackend) and held as insta
//! snapshots: every view on the sample bundle (captures/bookinfo-lab) and on plain tests/data
//! captures, at 80x24 and 160x48; and the proof that a request whose target, headers and body
//! carry escape sequences renders only escaped text.

use super::tui::{load_fn, plan, TuiArgs};
use hopscope::tui::action::Action;
use hopscope::tui::app::App;
use hopscope::tui::loader::Incoming;
use hopscope::tui::screen;
use hopscope::tui::update::{self, Effects};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

struct Harness {
    app: App,
    fx: Effects,
    rx: Receiver<Incoming>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads like `hopscope tui FILES` does, on this thread, then takes in every message.
fn open(files: &[&str], size: (u16, u16)) -> Harness {
    let args = TuiArgs {
        files: files.iter().map(|f| root().join(f)).collect(),
        cluster: None,
        at: None,
        export_dir: std::env::temp_dir(),
    };
    let (inputs, dir) = plan(&args).unwrap();
    let (tx, rx) = mpsc::channel();
    load_fn(inputs, dir)(tx.clone());
    let mut h = Harness {
        app: App::new(size, false),
        fx: Effects {
            tx,
            export_dir: std::env::temp_dir(),
            background: false,
            latest: Default::default(),
        },
        rx,
    };
    h.pump();
    assert!(h.app.results.is_some(), "{:?}", h.app.load_errors);
    h
}

impl Harness {
    fn pump(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            update::receive(&mut self.app, m, &self.fx);
        }
    }

    fn act(&mut self, actions: &[Action]) {
        for a in actions {
            update::apply(&mut self.app, a.clone(), &self.fx);
            self.pump();
        }
    }

    fn screen(&self) -> String {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| screen::draw(f, &self.app)).unwrap();
        let buf = t.backend().buffer();
        let mut out = String::new();
        for y in 0..h {
            let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn filter(text: &str) -> Vec<Action> {
    let mut v = vec![Action::FilterStart];
    v.extend(text.chars().map(Action::FilterChar));
    v.push(Action::FilterAccept);
    v
}

#[test]
fn bookinfo_lab_views() {
    for (w, h) in SIZES {
        let mut t = open(&["captures/bookinfo-lab"], (w, h));
        let name = |v: &str| format!("bookinfo_{v}_{w}x{h}");
        insta::assert_snapshot!(name("requests"), t.screen());
        // The second request of the first journey leg on the sidecar: a path through Envoy.
        t.act(&filter("path:/reviews/2 point:productpage"));
        insta::assert_snapshot!(name("filtered"), t.screen());
        t.act(&[Action::Open]);
        insta::assert_snapshot!(name("path"), t.screen());
        for (i, tab) in ["timing", "http", "tcp", "stream"].iter().enumerate() {
            t.act(&[Action::Tab(i + 1)]);
            insta::assert_snapshot!(name(tab), t.screen());
        }
        t.act(&[Action::Journey]);
        insta::assert_snapshot!(name("journey"), t.screen());
        t.act(&[Action::Services]);
        insta::assert_snapshot!(name("services"), t.screen());
        t.act(&[Action::Back, Action::Help]);
        insta::assert_snapshot!(name("help"), t.screen());
    }
}

#[test]
fn plain_captures_without_a_bundle() {
    for (w, h) in SIZES {
        let mut t = open(
            &[
                "tests/data/python-get-404-head.pcap",
                "tests/data/nginx-keepalive-3req.pcap",
            ],
            (w, h),
        );
        let name = |v: &str| format!("plain_{v}_{w}x{h}");
        t.act(&[Action::ToggleConns]);
        insta::assert_snapshot!(name("requests"), t.screen());
        t.act(&filter("status:404"));
        assert_eq!(t.app.visible.len(), 2, "one 404 in each capture");
        t.act(&[Action::Open]);
        insta::assert_snapshot!(name("path"), t.screen());
        t.act(&[Action::Tab(2)]);
        insta::assert_snapshot!(name("http"), t.screen());
    }
}

#[test]
fn sorting_and_mesh_toggle_change_the_rows() {
    let mut t = open(&["captures/bookinfo-lab"], (160, 48));
    let all = t.app.visible.len();
    // Latency, descending: the slowest request first.
    while t.app.sort != hopscope::tui::app::Column::Latency {
        t.act(&[Action::SortNext]);
    }
    t.act(&[Action::SortReverse]);
    let lat: Vec<i64> = t
        .app
        .visible
        .iter()
        .map(|&i| t.app.rows[i as usize].latency.unwrap_or(0))
        .collect();
    assert!(lat.windows(2).all(|w| w[0] >= w[1]), "{lat:?}");
    t.act(&[Action::ToggleMesh]);
    assert!(t.app.visible.len() <= all);
    t.act(&filter("status:5xx"));
    assert!(t.app.visible.is_empty(), "the lab's requests all succeed");
}

#[test]
fn escape_sequences_render_escaped() {
    let mut t = open(&["tests/data/escape-headers-503.pcap"], (160, 48));
    let mut screens = vec![t.screen()];
    t.act(&[Action::Open]);
    for tab in 0..5 {
        t.act(&[Action::Tab(tab)]);
        screens.push(t.screen());
        t.act(&[Action::ToggleHex]);
        screens.push(t.screen());
        t.act(&[Action::ToggleHex]);
    }
    let all = screens.concat();
    let unsafe_char = all
        .chars()
        .find(|&c| c != '\n' && hopscope::report::escape::is_unsafe(c) && c != '\\');
    assert_eq!(
        unsafe_char, None,
        "a control or bidi character reached the screen"
    );
    assert!(
        all.contains("/evil\\x1b[2J\\x1b]0;pwned\\x07"),
        "target shown escaped"
    );
    assert!(
        all.contains("evil\\x9b2J\\u{202e}"),
        "response header shown escaped"
    );
    assert!(
        all.contains("upstream \\x1b[31mfailed"),
        "body shown escaped"
    );
    assert!(
        all.contains("X-Csi: \\x9b2J"),
        "request bytes in the stream shown escaped"
    );
    insta::assert_snapshot!("escape_http", screens[5].clone());
}
