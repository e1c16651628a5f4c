//! Drives the real `hopscope tui` in a terminal (tmux: send-keys in, capture-pane out): open
//! the sample bundle, filter, select, open the path, export the connection as pcap, quit; the
//! screens must show each step and the exported pcap must parse (hopscope's own reader, and
//! tshark when installed). Skips, saying why, when tmux is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Session(String);

impl Session {
    fn keys(&self, keys: &[&str]) {
        let mut c = Command::new("tmux");
        c.args(["send-keys", "-t", &self.0]).args(keys);
        assert!(c.status().unwrap().success(), "tmux send-keys {keys:?}");
    }
    fn literal(&self, text: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.0, "-l", text])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["has-session", "-t", &self.0])
            .status()
            .is_ok_and(|s| s.success())
    }
    /// Waits until the screen contains `what`; panics with the screen after `secs`.
    fn wait_for(&self, what: &str, secs: u64) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < until, "waited for {what:?}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.alive() {
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .status();
        }
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn frames_of(path: &Path) -> usize {
    let r = hopscope::capture::FileReader::open(path, 0).unwrap();
    let mut c = hopscope::capture::Capture::new(vec![r]);
    let mut n = 0;
    while c.next_frame().is_some() {
        n += 1;
    }
    n
}

#[test]
fn browse_filter_open_export_quit() {
    if !tmux_available() {
        eprintln!("tui_pty skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("hopscope-tui-pty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let name = format!("hopscope-tui-test-{}", std::process::id());
    let cmd = format!(
        "cd '{}' && '{}' tui captures/bookinfo-lab --export-dir '{}'",
        root.display(),
        env!("CARGO_BIN_EXE_hopscope"),
        out.display()
    );
    let ok = Command::new("tmux")
        .args(["new-session", "-d", "-s", &name, "-x", "160", "-y", "48"])
        .args(["env", "TERM=xterm-256color", "sh", "-c", &cmd])
        .status()
        .unwrap();
    assert!(ok.success(), "tmux new-session");
    let s = Session(name);

    let first = s.wait_for("joined to the bundle", 60);
    assert!(first.contains("77 of 83 rows"), "{first}");
    assert!(first.contains("/productpage?id=1"), "{first}");

    s.keys(&["/"]);
    s.literal("path:/reviews/2 point:productpage");
    s.keys(&["Enter"]);
    let filtered = s.wait_for("requests, 1 of 83 rows", 10);
    assert!(filtered.contains("filter: path:/reviews/2"), "{filtered}");

    s.keys(&["j", "k", "Enter"]);
    let path = s.wait_for("confidence", 10);
    assert!(path.contains("intercept"), "{path}");
    assert!(path.contains("listener virtualOutbound"), "{path}");
    assert!(path.contains("evidence"), "{path}");

    s.keys(&["p"]);
    let done = s.wait_for("wrote ", 30);
    let pcap = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pcap"))
        .unwrap_or_else(|| panic!("no pcap written; screen:\n{done}"));

    s.keys(&["q"]);
    let until = Instant::now() + Duration::from_secs(10);
    while s.alive() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!s.alive(), "q did not quit");

    let n = frames_of(&pcap);
    assert!(n >= 6, "{} has {n} frames", pcap.display());
    let report = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .arg("analyze")
        .arg(&pcap)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(text.contains("/reviews/2"), "{text}");
    match Command::new("tshark").arg("-r").arg(&pcap).output() {
        Ok(t) => {
            assert!(t.status.success(), "tshark -r {}", pcap.display());
            let shown = String::from_utf8_lossy(&t.stdout);
            assert_eq!(shown.lines().count(), n, "tshark frames:\n{shown}");
        }
        Err(_) => eprintln!("tui_pty: tshark not installed, pcap checked with hopscope only"),
    }
    let _ = std::fs::remove_dir_all(&out);
}
