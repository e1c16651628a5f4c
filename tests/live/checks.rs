//! What tests/live.rs checks reports with: the exchange lines of `analyze --json`, the known
//! sequence, the capabilities of a running process, the report minus its input line.

use super::harness::BIN;
use hopscope::capture::FileReader;
use hopscope::decode::{DecodeConfig, Decoder};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

/// `hopscope ARGS` to its end: (exit code, stdout, stderr).
pub fn hopscope(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("hopscope runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The exchange lines of `hopscope analyze --json FILE`, without what depends on the moment
/// a packet socket saw a packet (two sockets time-stamp the same packet microseconds apart).
pub fn exchanges(file: &Path) -> Vec<Value> {
    let (code, out, err) = hopscope(&["analyze", "--json", &file.to_string_lossy()]);
    assert_eq!(code, Some(0), "analyze {}: {err}", file.display());
    out.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON lines"))
        .filter(|v| v["kind"] == "exchange")
        .map(|mut v| {
            if let Value::Object(m) = &mut v {
                m.remove("latency_ms");
            }
            for side in ["request", "response"] {
                if let Value::Object(m) = &mut v[side] {
                    m.remove("first_byte");
                    m.remove("complete");
                }
            }
            v
        })
        .collect()
}

/// `METHOD target status req-body resp-body` per exchange, with any notes.
pub fn summary_of(ex: &Value) -> String {
    format!(
        "{} {} {} {} {}{}",
        ex["request"]["method"].as_str().unwrap_or("-"),
        ex["request"]["target"].as_str().unwrap_or("-"),
        ex["response"]["status"],
        ex["request"]["body_bytes"],
        ex["response"]["body_bytes"],
        match ex["notes"].as_array() {
            Some(n) if !n.is_empty() => format!(" {n:?}"),
            _ => String::new(),
        }
    )
}

/// The known sequence of tests/live/client.py, as [`summary_of`] prints it.
pub const SEQUENCE: [&str; 6] = [
    "GET /small 200 0 6",
    "GET /chunked 200 0 3116",
    "POST /upload 200 262144 22",
    "GET /big 200 0 1048576",
    "GET /p1 200 0 13",
    "GET /p2 200 0 13",
];

/// Every thread of process `pid` holds no capability and cannot gain any by exec.
pub fn assert_no_capabilities(pid: u32) {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process runs");
    let mut n = 0;
    for t in tasks {
        let status = std::fs::read_to_string(t.unwrap().path().join("status")).unwrap();
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let name = field("Name:");
        assert_eq!(
            field("CapEff:"),
            "0000000000000000",
            "thread {name}: {status}"
        );
        assert_eq!(field("CapPrm:"), "0000000000000000", "thread {name}");
        assert_eq!(field("CapBnd:"), "0000000000000000", "thread {name}");
        assert_eq!(field("NoNewPrivs:"), "1", "thread {name}");
        n += 1;
    }
    assert!(n >= 2, "the main thread and the capture thread");
}

/// The report without its `input` line (which names the source: the live target or the
/// file).
pub fn without_input_line(report: &str) -> String {
    report
        .lines()
        .filter(|l| !l.trim_start().starts_with("input "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One stderr line, the expected exit code, and the fix in it.
pub fn refused(args: &[&str], code: i32, says: &[&str]) {
    let (got, out, err) = hopscope(args);
    assert_eq!(got, Some(code), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(out.is_empty(), "{args:?}: nothing on stdout: {out}");
    for s in says {
        assert!(err.contains(s), "{args:?}: {err:?} lacks {s:?}");
    }
}

/// Interface index of a LINUX_SLL2 frame (bytes 4..8, big-endian).
fn sll2_ifindex(data: &[u8]) -> u32 {
    u32::from_be_bytes(data[4..8].try_into().unwrap())
}

/// In a `-i any` capture of a sidecar pod: the app's ports (its connections to `sidecar`),
/// and the interface indices of the app ↔ sidecar packets and of the sidecar ↔ `service`
/// ones. The app's replies come back from the original destination (conntrack un-NATs
/// them) to an app port; the sidecar's upstream connection is the rest of the `service`
/// traffic.
pub fn interfaces_of_legs(
    file: &Path,
    sidecar: SocketAddr,
    service: SocketAddr,
) -> (BTreeSet<u16>, BTreeSet<u32>, BTreeSet<u32>) {
    let mut reader = FileReader::open(file, 0).unwrap();
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut segments = Vec::new();
    let mut n = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        n += 1;
        assert_eq!(frame.link_type, 276, "LINUX_SLL2");
        let ifindex = sll2_ifindex(frame.data);
        if let Some(s) = decoder.decode(&frame, n) {
            segments.push((s.src, s.dst, ifindex));
        }
    }
    let app_ports: BTreeSet<u16> = segments
        .iter()
        .filter(|(_, dst, _)| *dst == sidecar)
        .map(|(src, _, _)| src.port())
        .collect();
    let (mut app, mut upstream) = (BTreeSet::new(), BTreeSet::new());
    for &(src, dst, ifindex) in &segments {
        if dst == sidecar || src == service && app_ports.contains(&dst.port()) {
            app.insert(ifindex);
        } else if dst == service || src == service {
            upstream.insert(ifindex);
        }
    }
    (app_ports, app, upstream)
}
