//! The `hopscope` binary as a user runs it: exit codes, stdin, JSON lines, terminal safety.

mod common;

use common::data;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hopscope(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn path(name: &str) -> String {
    data(name).to_string_lossy().into_owned()
}

#[test]
fn text_report_and_summary() {
    let out = hopscope(&["analyze", &path("nginx-keepalive-3req.pcap")], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("GET") && text.contains("/missing") && text.contains("404"),
        "{text}"
    );
    assert!(
        text.contains("http       3 exchanges: 2xx 2, 4xx 1"),
        "{text}"
    );
}

#[test]
fn json_lines_one_object_each_then_summary() {
    let out = hopscope(
        &["analyze", "--json", &path("nginx-keepalive-3req.pcap")],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let values: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = values.iter().map(|v| v["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["exchange", "exchange", "exchange", "connection", "summary"]
    );
    assert_eq!(values[0]["request"]["method"], "GET");
    assert_eq!(values[2]["response"]["status"], 404);
    assert_eq!(values[0]["conn"], values[3]["id"]);
    assert_eq!(values[4]["exchanges"], 3);
}

#[test]
fn reads_a_capture_from_stdin() {
    let bytes = std::fs::read(data("nginx-keepalive-3req.pcap")).unwrap();
    let piped = hopscope(&["analyze", "--json", "-"], Some(&bytes));
    let direct = hopscope(
        &["analyze", "--json", &path("nginx-keepalive-3req.pcap")],
        None,
    );
    assert_eq!(piped.status.code(), Some(0));
    let strip = |o: &Output| {
        // The summary names the input; everything before it must be identical.
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        s.lines()
            .filter(|l| !l.contains("\"summary\""))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&piped), strip(&direct));
}

#[test]
fn exit_codes() {
    let missing = hopscope(&["analyze", "/nonexistent/x.pcap"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.pcap"));

    let garbage = hopscope(
        &["analyze", &path("third-party/pcapparser-corrupt-eof.bin")],
        None,
    );
    assert_eq!(garbage.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&garbage.stderr).contains("not a capture file"));

    let cut = hopscope(
        &[
            "analyze",
            &path("third-party/sv-http-file-cut-short-mid-packet.pcap"),
        ],
        None,
    );
    assert_eq!(
        cut.status.code(),
        Some(3),
        "results reported, input damaged"
    );
    assert!(String::from_utf8_lossy(&cut.stdout).contains("exchanges"));
    assert!(String::from_utf8_lossy(&cut.stderr).contains("offset 2715459"));

    let usage = hopscope(&["analyze"], None);
    assert_eq!(usage.status.code(), Some(2));
}

/// A minimal pcap (Ethernet) holding one TCP connection whose request carries `head`.
fn pcap_with_request(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let mut packet = |n: u32, from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]| {
        let (src, dst, sport, dport) = if from_client {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 80u16)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
        };
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(n * 1000).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    };
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    packet(1, true, 100, 0, 0x02, b"");
    packet(2, false, 500, 101, 0x12, b"");
    packet(3, true, 101, 501, 0x10, b"");
    packet(4, true, 101, 501, 0x18, head);
    packet(5, false, 501, 101 + head.len() as u32, 0x18, resp);
    out
}

#[test]
fn escape_sequences_in_captured_bytes_never_reach_the_terminal() {
    // ESC in the target (httparse refuses it: a bad head, still reported) and C1 CSI / bidi
    // override in a header value (obs-text, accepted).
    let head = b"GET /\x1b[2J\x1b]0;pwned\x07 HTTP/1.1\r\nHost: a\r\n\r\n";
    let value = b"GET /ok HTTP/1.1\r\nHost: b\xc2\x9b6n\xe2\x80\xae\r\n\r\n";
    for (request, shown) in [(&head[..], ["2J", "pwned"]), (&value[..], ["b", "6n"])] {
        let pcap = pcap_with_request(request);
        for args in [&["analyze", "-"][..], &["analyze", "--json", "-"][..]] {
            let out = hopscope(args, Some(&pcap));
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            for bad in ['\x1b', '\x07', '\u{9b}', '\u{202e}'] {
                assert!(!text.contains(bad), "{args:?} wrote {bad:?} raw:\n{text}");
            }
            let escaped = if args.contains(&"--json") {
                [r"\u001b[2J", r"\u009b6n", r"\u202e"]
            } else {
                [r"\x1b[2J", r"\x9b6n", r"\u{202e}"]
            };
            let want = if request == &head[..] {
                &escaped[..1]
            } else {
                &escaped[1..]
            };
            for w in want {
                assert!(text.contains(w), "{args:?}: {w} missing:\n{text}");
            }
            assert!(shown.iter().all(|s| text.contains(s)));
        }
    }
}

#[test]
fn shards_give_the_same_report_on_files_and_stdin() {
    let cut = path("third-party/sv-http-file-cut-short-mid-packet.pcap");
    let keepalive = path("nginx-keepalive-3req.pcap");
    for file in [&cut, &keepalive] {
        for json in [&[][..], &["--json"][..]] {
            let run = |shards: &str| {
                let mut args = vec!["analyze", "--shards", shards, file.as_str()];
                args.extend_from_slice(json);
                hopscope(&args, None)
            };
            let (one, two) = (run("1"), run("2"));
            assert_eq!(one.status.code(), two.status.code(), "{file}");
            assert_eq!(one.stdout, two.stdout, "{file} {json:?}");
            // The cut file's error is reported once, not once per shard.
            assert_eq!(one.stderr, two.stderr, "{file} {json:?}");
        }
    }
    // One thread reads for all shards, so stdin is sharded too.
    let bytes = std::fs::read(data("nginx-keepalive-3req.pcap")).unwrap();
    let piped = |shards| hopscope(&["analyze", "--shards", shards, "-"], Some(&bytes));
    let (one, two) = (piped("1"), piped("2"));
    assert_eq!(two.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&two.stdout).contains("GET"));
    assert_eq!(one.stdout, two.stdout);
}

/// `snapshot` never fails for a missing tool: it writes what it can and says what it skipped.
#[test]
fn snapshot_writes_a_bundle_and_logs_what_it_skipped() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("snapshot-node");
    let _ = std::fs::remove_dir_all(&dir);
    let out = hopscope(
        &["snapshot", "-o", dir.to_str().unwrap(), "--node", "node-1"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let log = std::fs::read_to_string(dir.join("snapshot.log")).unwrap();
    // Every collector is accounted for, written or skipped.
    for tool in [
        "iptables-save",
        "nft",
        "ipvsadm",
        "conntrack",
        "kubectl",
        "ip -o addr",
    ] {
        assert!(log.contains(tool), "{tool} missing from:\n{log}");
    }
    assert!(dir.join("node/node-1").is_dir());
}

#[test]
fn snapshot_fetch_refuses_anything_but_loopback() {
    let out = hopscope(
        &["snapshot", "--fetch", "http://10.0.0.1:15000/config_dump"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only loopback"), "{err}");
}

/// The README's main command: the lab bundle in captures/ shows the path of every request,
/// the mTLS legs to reviews-v2 included.
#[test]
fn the_sample_bundle_shows_the_path_of_every_request() {
    let out = hopscope(
        &[
            "analyze",
            concat!(env!("CARGO_MANIFEST_DIR"), "/captures/bookinfo-lab"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("JOURNEYS ("), "{text}");
    for needle in [
        "node port default/productpage:http",
        "KUBE-NODEPORTS",
        "KUBE-SEP-",
        "ISTIO_IN_REDIRECT",
        "ISTIO_REDIRECT",
        "listener virtualOutbound",
        "cluster outbound|9080||reviews.default.svc.cluster.local",
        "[observed",
        // The mTLS leg to reviews-v2, in its journey, on timing evidence.
        "tls sni=outbound_.9080_._.reviews.default.svc.cluster.local burst",
        "(sni+timing)",
        "[timing: upstream 10.244.1.7:9080",
        "joined by same-connection, same-connection, x-request-id, trace-id, request-line+timing, sni+timing, timing)",
    ] {
        assert!(text.contains(needle), "{needle} missing");
    }
    assert!(!text.contains("not linked"), "{text}");
    // Every exchange line of the JSON form carries a path with at least its client hop.
    let out = hopscope(
        &[
            "analyze",
            "--json",
            concat!(env!("CARGO_MANIFEST_DIR"), "/captures/bookinfo-lab"),
        ],
        None,
    );
    let mut exchanges = 0;
    let mut over_mtls = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["kind"] == "exchange" {
            exchanges += 1;
            assert!(
                v["path"]["hops"].as_array().is_some_and(|h| !h.is_empty()),
                "{v}"
            );
            assert!(v["journey"].as_u64().is_some(), "{v}");
        }
        if v["kind"] == "journey" {
            let tls = v["tls"].as_array().unwrap();
            if tls.iter().any(|t| t["link"] == "sni+timing") {
                assert!(tls.iter().any(|t| t["link"] == "timing"), "{v}");
                over_mtls += 1;
            }
            assert_eq!(v["unlinked"], serde_json::json!([]), "{v}");
        }
    }
    assert!(exchanges > 50, "{exchanges}");
    // reviews-v2's three requests of the sample (round robin: ids 2, 4 and 6).
    assert_eq!(over_mtls, 3);
}

/// `analyze BUNDLE --json | head -1`: a reader that goes away ends the run quietly with 0, in
/// bundle (join) mode too (its JSON lines once turned the closed pipe into an error).
#[test]
fn closed_stdout_in_bundle_mode_is_quiet() {
    let root = env!("CARGO_MANIFEST_DIR");
    for args in [&["--json"][..], &[][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hopscope"))
            .arg("analyze")
            .arg(format!("{root}/captures/bookinfo-lab"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read one byte, then close our end before the report is written out.
        let mut stdout = child.stdout.take().unwrap();
        let mut one = [0u8; 1];
        std::io::Read::read_exact(&mut stdout, &mut one).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
