//! What tests/live.rs builds on: network namespaces that clean up after themselves (a Drop
//! guard kills what ran inside, then deletes the namespace, also when a test fails), processes
//! whose output is collected while they run, and the checks that need root or tools.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_hopscope");

pub fn script(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/live")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Why a test needing root and `tools` cannot run here, if it cannot.
pub fn cannot_run(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("not root (run as root, as .ci/run does)".into());
    }
    let gone: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    (!gone.is_empty()).then(|| format!("missing {}", gone.join(", ")))
}

/// Runs a command to success, or panics with its stderr.
pub fn run(cmd: &[&str]) -> Output {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", cmd[0]));
    assert!(
        out.status.success(),
        "{} failed ({}): {}",
        cmd.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh directory under the test target dir.
pub fn tmp(tag: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("live-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A network namespace `hs-lv<pid>-<tag>` with `lo` up; deleted on drop, after the processes
/// started in it are killed.
pub struct Netns {
    pub name: String,
    children: Vec<Child>,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("hs-lv{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        let ns = Netns {
            name,
            children: Vec::new(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// `ip -n NAME args…`
    pub fn ip(&self, args: &[&str]) {
        let mut cmd = vec!["ip", "-n", &self.name];
        cmd.extend_from_slice(args);
        run(&cmd);
    }

    /// Runs `cmd` inside to success; its stdout.
    pub fn exec(&self, cmd: &[&str]) -> String {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(cmd);
        String::from_utf8_lossy(&run(&full).stdout).into_owned()
    }

    /// Starts `cmd` inside (killed on drop); returns its PID (`ip netns exec` execs it) and,
    /// when `ready` is given, waits for a stdout line starting with it.
    pub fn spawn(&mut self, cmd: &[&str], ready: Option<&str>) -> u32 {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ip netns exec runs");
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped");
        self.children.push(child);
        if let Some(ready) = ready {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            assert!(line.starts_with(ready), "{}: said {line:?}", cmd.join(" "));
        }
        pid
    }

    /// Waits (at most 10 s) until process `pid` is inside this namespace: `ip netns exec`
    /// enters it and then execs the command, so right after the spawn the PID may still be
    /// in the caller's namespace.
    pub fn wait_inside(&self, pid: u32) {
        use std::os::unix::fs::MetadataExt;
        let ns = std::fs::metadata(self.path())
            .expect("the netns file")
            .ino();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(format!("/proc/{pid}/ns/net")).map(|m| m.ino());
            if now.is_ok_and(|ino| ino == ns) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pid {pid} never entered {}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The test HTTP server (tests/live/server.py) on HOST:PORT, up for at most a minute.
    pub fn serve(&mut self, host: &str, port: u16) {
        let port = port.to_string();
        let server = script("server.py");
        self.spawn(&["python3", &server, host, &port, "60"], Some("listening"));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A veth pair `eth0` ↔ `eth0` between two namespaces (created inside them, never in the
/// test's own namespace), addressed and up.
pub fn link(a: &Netns, a_addr: &str, b: &Netns, b_addr: &str) {
    a.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &b.name,
    ]);
    for (ns, addr) in [(a, a_addr), (b, b_addr)] {
        ns.ip(&["addr", "add", addr, "dev", "eth0"]);
        ns.ip(&["link", "set", "eth0", "up"]);
    }
}

/// A running process whose stdout and stderr are collected as they come; killed on drop.
pub struct Proc {
    child: Option<Child>,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// How a [`Proc`] ended.
pub struct Done {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

fn collect(
    mut r: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

impl Proc {
    /// Starts `cmd` and waits (at most 15 s) until its stderr contains `ready`.
    pub fn start(cmd: &[&str], ready: &str) -> Proc {
        let mut child = Command::new(cmd[0])
            .args(&cmd[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", cmd[0]));
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&out)),
            collect(child.stderr.take().unwrap(), Arc::clone(&err)),
        ];
        let mut p = Proc {
            child: Some(child),
            out,
            err,
            readers,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !p.stderr().contains(ready) {
            let exited = p.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "{} did not say {ready:?} (exit {exited:?}): {}",
                cmd.join(" "),
                p.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    /// `hopscope ARGS` once it is capturing.
    pub fn hopscope(args: &[&str]) -> Proc {
        let mut cmd = vec![BIN];
        cmd.extend_from_slice(args);
        Proc::start(&cmd, "hopscope: capturing on")
    }

    /// `tcpdump -i any -w FILE tcp` in `ns` with a large buffer and nanosecond time stamps,
    /// in immediate mode: without it tcpdump (TPACKET_V3, 1 s block timeout) exits on SIGINT
    /// without the packets of its last, unfinished block.
    pub fn tcpdump(ns: &Netns, file: &Path) -> Proc {
        let file = file.to_string_lossy();
        let cmd = [
            "ip",
            "netns",
            "exec",
            &ns.name,
            "tcpdump",
            "-i",
            "any",
            "-B",
            "65536",
            "-U",
            "--immediate-mode",
            "--time-stamp-precision=nano",
            "-w",
            &file,
            "tcp",
        ];
        Proc::start(&cmd, "listening on")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// Waits (at most `secs`) until the stdout so far satisfies `pred`.
    pub fn wait_stdout(&self, secs: u64, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if pred(&self.stdout()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred(&self.stdout())
    }

    /// Sends SIGINT and waits for the end.
    pub fn interrupt(self) -> Done {
        run(&["kill", "-INT", &self.pid().to_string()]);
        self.wait(10)
    }

    /// Waits (at most `secs`) for the process to end by itself.
    pub fn wait(mut self, secs: u64) -> Done {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("still running after {secs} s: {}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Done {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub const TOOLS: &[&str] = &["ip", "tcpdump", "python3", "kill"];

pub fn skip(tools: &[&str]) -> bool {
    match cannot_run(tools) {
        Some(why) => {
            eprintln!("live skipped: {why}");
            true
        }
        None => false,
    }
}

/// Server namespace 10.213.0.1 with tests/live/server.py on 8080, client namespace 10.213.0.2.
pub fn pair(tag: &str) -> (Netns, Netns) {
    let mut server = Netns::new(&format!("{tag}s"));
    let client = Netns::new(&format!("{tag}c"));
    link(&server, "10.213.0.1/24", &client, "10.213.0.2/24");
    server.serve("0.0.0.0", 8080);
    (server, client)
}

pub fn send_sequence(client: &Netns, host: &str, port: &str) {
    let out = client.exec(&["python3", &script("client.py"), "sequence", host, port]);
    assert!(
        out.starts_with("sequence: statuses [200, 200, 200, 200, 200, 200]"),
        "{out}"
    );
}

pub fn drops(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.contains("packets captured,"))
        .unwrap_or_else(|| panic!("no counters line: {stderr}"))
        .to_string()
}
