//! `hopscope live` against the real kernel (feature `live`; root, ip, tcpdump, python3):
//! network namespaces joined by a veth pair, an HTTP server inside one, a client sending a
//! known sequence (keep-alive, chunked, a 256 KiB upload, a 1 MiB body, a pipelined pair)
//! from the other, and hopscope capturing from outside.
//!
//! What holds: every exchange is printed while the capture still runs (streaming); after
//! SIGINT the report equals `hopscope analyze` of the `-w` file (but for the line naming the
//! input) and its exchanges equal those of an independent `tcpdump -w` taken at the same time
//! (but for the per-socket time stamps); every thread runs without capabilities; `--pid`,
//! `--duration` and `-c` stop where they should; through istio-iptables' REDIRECT to a
//! sidecar on 15001, `-i any` sees the `lo` leg and the `eth0` leg, each on its interface;
//! errors are one line with their fix and exit code. Skipped, passing, with the reason, when
//! not root or a tool is missing.
#![cfg(feature = "live")]

#[path = "live/checks.rs"]
mod checks;
#[path = "live/harness.rs"]
mod harness;

use checks::*;
use harness::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

#[test]
fn netns_capture_streams_what_analyze_and_tcpdump_see() {
    if skip(TOOLS) {
        return;
    }
    let dir = tmp("netns");
    let (server, client) = pair("n");
    let written = dir.join("live.pcap");
    let independent = dir.join("tcpdump.pcap");
    let w = written.to_string_lossy().into_owned();
    let ns = server.path();
    let live = Proc::hopscope(&["live", "--netns", &ns, "-B", "65536", "-w", &w]);
    let tcpdump = Proc::tcpdump(&server, &independent);
    assert_no_capabilities(live.pid());

    send_sequence(&client, "10.213.0.1", "8080");
    // Streaming: all six exchange lines are out while the capture still runs.
    let urls =
        ["small", "chunked", "upload", "big", "p1", "p2"].map(|p| format!("10.213.0.1:8080/{p}\n"));
    assert!(
        live.wait_stdout(10, |o| urls.iter().all(|u| o.contains(u.as_str()))),
        "exchanges not streamed: {}",
        live.stdout()
    );
    let done = live.interrupt();
    let td = tcpdump.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    let counters = drops(&done.stderr);
    assert!(
        counters.contains(" 0 dropped by kernel") && counters.ends_with("(stopped by a signal)"),
        "{counters}"
    );
    assert!(
        td.stderr.contains("\n0 packets dropped by kernel"),
        "tcpdump dropped: {}",
        td.stderr
    );
    for line in done.stderr.lines() {
        assert!(line.starts_with("hopscope: "), "stray stderr line {line:?}");
    }

    // The live report is `analyze` of the -w file, the input's name aside.
    let (code, offline, err) = hopscope(&["analyze", &w]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        without_input_line(&done.stdout),
        without_input_line(&offline)
    );
    assert!(done
        .stdout
        .contains(&format!("input      live any in {ns}: pcap (nanosecond)")));
    assert!(
        done.stdout.contains("http       6 exchanges: 2xx 6"),
        "{}",
        done.stdout
    );

    // Its exchanges are tcpdump's, and the known sequence, complete.
    let ours = exchanges(&written);
    assert_eq!(ours, exchanges(&independent), "live and tcpdump disagree");
    let got: Vec<String> = ours.iter().map(summary_of).collect();
    assert_eq!(got, SEQUENCE);
    assert!(ours.iter().all(|e| e["incomplete"] == false));
}

#[test]
fn pid_target_stops_at_duration_and_count_and_joins() {
    if skip(TOOLS) {
        return;
    }
    let (mut server, client) = pair("p");
    let sleeper = server.spawn(&["sleep", "60"], None);
    server.wait_inside(sleeper);
    let pid = sleeper.to_string();

    // --duration: ends by itself; JSON lines stream the sequence; a filter is applied.
    let live = Proc::hopscope(&[
        "live",
        "--pid",
        &pid,
        "--json",
        "--duration",
        "8",
        "tcp",
        "port",
        "8080",
    ]);
    send_sequence(&client, "10.213.0.1", "8080");
    assert!(
        live.wait_stdout(6, |o| o.matches("{\"kind\":\"exchange\"").count() == 6),
        "JSON lines not streamed: {}{}",
        live.stdout(),
        live.stderr()
    );
    let done = live.wait(15);
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(
        drops(&done.stderr).ends_with("(duration reached)"),
        "{}",
        done.stderr
    );
    let lines: Vec<Value> = done
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<String> = lines
        .iter()
        .filter(|v| v["kind"] == "exchange")
        .map(summary_of)
        .collect();
    assert_eq!(got, SEQUENCE);
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["kind"], "summary");
    assert_eq!(
        summary["non_tcp"],
        serde_json::json!({}),
        "the filter let only TCP through"
    );

    // -c: exactly that many packets, in the report and in the file.
    let dir = tmp("count");
    let file = dir.join("ten.pcap").to_string_lossy().into_owned();
    let live = Proc::hopscope(&["live", "--pid", &pid, "-c", "10", "-w", &file]);
    send_sequence(&client, "10.213.0.1", "8080");
    let done = live.wait(10);
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(
        drops(&done.stderr).starts_with("hopscope: 10 packets captured,"),
        "{}",
        done.stderr
    );
    assert!(drops(&done.stderr).ends_with("(packet count reached)"));
    assert!(done.stdout.contains("  packets    10 ("), "{}", done.stdout);
    let (_, offline, _) = hopscope(&["analyze", &file]);
    assert!(
        offline.contains(&format!("input      {file}: pcap (nanosecond), 10 packets")),
        "{offline}"
    );

    // --json --cluster: the joined lines at the end, each exchange once, with its point.
    let bundle = concat!(env!("CARGO_MANIFEST_DIR"), "/captures/bookinfo-lab");
    let at = "pod/default/hs-live";
    let live = Proc::hopscope(&[
        "live",
        "--pid",
        &pid,
        "--json",
        "--cluster",
        bundle,
        "--at",
        at,
    ]);
    send_sequence(&client, "10.213.0.1", "8080");
    let done = live.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    let lines: Vec<Value> = done
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let joined: Vec<&Value> = lines.iter().filter(|v| v["kind"] == "exchange").collect();
    let got: Vec<String> = joined.iter().map(|v| summary_of(v)).collect();
    assert_eq!(got, SEQUENCE);
    assert!(joined
        .iter()
        .all(|v| v["point"] == "pod default/hs-live" && v.get("path").is_some()));
    assert_eq!(lines.iter().filter(|v| v["kind"] == "journey").count(), 6);
    let kinds: Vec<&str> = lines
        .iter()
        .rev()
        .take(2)
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["summary", "cluster"],
        "the summary closes the joined lines"
    );
}

#[test]
fn sidecar_redirect_is_seen_on_lo_and_eth0() {
    let tools = [
        "ip",
        "python3",
        "kill",
        "iptables-restore",
        "iptables-save",
        "setpriv",
        "nsenter",
        "ss",
    ];
    if skip(&tools) {
        return;
    }
    // The pod: 10.244.9.7 behind istio-iptables' rules, a uid-1337 sidecar on 15001. The
    // "service" 10.96.100.10:9080 lives in the next namespace.
    let mut pod = Netns::new("rp");
    let mut svc = Netns::new("rv");
    link(&pod, "10.244.9.7/24", &svc, "10.244.9.1/24");
    svc.ip(&["addr", "add", "10.96.100.10/32", "dev", "eth0"]);
    pod.ip(&["route", "add", "default", "via", "10.244.9.1"]);
    svc.serve("0.0.0.0", 9080);
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/lab/istio-iptables.rules"
    );
    pod.exec(&["iptables-restore", "--noflush", rules]);
    // uid 1337 runs a copy in the system temp dir: the checkout may be out of its reach
    // (under /root, mode 700), and so may a per-user python (pyenv's shims under /root).
    let proxy_copy = std::env::temp_dir().join(format!("{}-redirect_proxy.py", pod.name));
    std::fs::copy(script("redirect_proxy.py"), &proxy_copy).unwrap();
    let proxy = proxy_copy.to_string_lossy().into_owned();
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    pod.spawn(
        &[
            "setpriv",
            "--reuid=1337",
            "--regid=1337",
            "--clear-groups",
            python,
            &proxy,
            "30",
        ],
        Some("listening"),
    );

    let dir = tmp("redirect");
    let file = dir.join("pod.pcap");
    let f = file.to_string_lossy().into_owned();
    let ns = pod.path();
    let live = Proc::hopscope(&[
        "live",
        "--netns",
        &ns,
        "-i",
        "any",
        "-B",
        "65536",
        "-w",
        &f,
        "--auto-cluster",
    ]);
    send_sequence(&pod, "10.96.100.10", "9080");
    assert!(
        live.wait_stdout(10, |o| o.matches("10.96.100.10:9080/p2").count() == 2),
        "both legs' last exchange: {}",
        live.stdout()
    );
    let done = live.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    // The bundle --auto-cluster wrote (and kept, for the user to read) is this test's to remove.
    let bundle = done
        .stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("hopscope: --auto-cluster wrote ")?
                .split(" into ")
                .nth(1)
        })
        .and_then(|rest| rest.strip_suffix(" (kept)"))
        .unwrap_or_else(|| panic!("no bundle line: {}", done.stderr));
    assert!(Path::new(bundle)
        .join("pod/unknown")
        .join(&pod.name)
        .join("iptables-save.txt")
        .is_file());
    let _ = std::fs::remove_dir_all(bundle);
    // --auto-cluster collected the pod's rules: the journeys name the interception.
    assert!(done.stdout.contains("JOURNEYS"), "{}", done.stdout);
    assert!(done.stdout.contains("ISTIO_REDIRECT"), "{}", done.stdout);

    // Two legs, each with the whole sequence.
    let sidecar: SocketAddr = "127.0.0.1:15001".parse().unwrap();
    let service: SocketAddr = "10.96.100.10:9080".parse().unwrap();
    let ex = exchanges(&file);
    let leg = |pred: &dyn Fn(&Value) -> bool| -> Vec<String> {
        ex.iter().filter(|e| pred(e)).map(summary_of).collect()
    };
    let app_to_sidecar =
        leg(&|e| e["server"] == sidecar.to_string() && e["original_dst"] == service.to_string());
    let sidecar_to_svc =
        leg(&|e| e["server"] == service.to_string() && e.get("original_dst").is_none());
    assert_eq!(app_to_sidecar, SEQUENCE, "lo leg");
    assert_eq!(sidecar_to_svc, SEQUENCE, "eth0 leg");

    // Each leg's packets carry its interface's index in the SLL2 header.
    let links = pod.exec(&["ip", "-o", "link"]);
    let index = |name: &str| -> u32 {
        links
            .lines()
            .find(|l| {
                l.split(':')
                    .nth(1)
                    .is_some_and(|n| n.trim().split('@').next() == Some(name))
            })
            .and_then(|l| l.split(':').next()?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {links}"))
    };
    let (lo, eth0) = (index("lo"), index("eth0"));
    let (app_ports, on_lo, on_eth0) = interfaces_of_legs(&file, sidecar, service);
    let _ = std::fs::remove_file(&proxy_copy);
    assert_eq!(app_ports.len(), 2, "two app connections: {app_ports:?}");
    assert_eq!(on_lo, BTreeSet::from([lo]), "app ↔ sidecar packets on lo");
    assert_eq!(
        on_eth0,
        BTreeSet::from([eth0]),
        "sidecar ↔ service packets on eth0"
    );
}

#[test]
fn errors_are_one_line_with_the_fix() {
    // Target errors come before any privileged call.
    refused(
        &["live", "--pid", "4294967294"],
        2,
        &["no process 4294967294", "crictl inspect"],
    );
    refused(
        &["live", "--netns", "/var/run/netns/hs-lv-none"],
        2,
        &["ip netns list"],
    );
    refused(&["live", "--pod", "a/b/c"], 2, &["expected NAMESPACE/NAME"]);
    if skip(&["ip", "setpriv"]) {
        return;
    }
    let here = "/proc/self/ns/net";
    refused(
        &["live", "--netns", here, "-i", "hs-none0"],
        2,
        &["no interface \"hs-none0\"", "lo", "-i any"],
    );
    // … and leaves no -w file behind.
    let never = tmp("errors").join("never.pcap");
    let w = never.to_string_lossy().into_owned();
    refused(
        &["live", "--netns", here, "-f", "tcp port nope", "-w", &w],
        2,
        &["bad filter", "pcap-filter(7)"],
    );
    assert!(!never.exists(), "a failed start wrote {w}");
    refused(
        &["live", "--netns", "/etc/hostname"],
        2,
        &["is not a network namespace"],
    );
    // Without privileges: the capability each step needs.
    let ns = Netns::new("e");
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        BIN,
    ];
    let with = |rest: &[&str]| -> Vec<String> {
        nobody.iter().chain(rest).map(|s| s.to_string()).collect()
    };
    let version = with(&["--version"]);
    let runs = std::process::Command::new(&version[0])
        .args(&version[1..])
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        // E.g. a checkout under /root (mode 700): uid 65534 cannot reach the binary.
        eprintln!("live: unprivileged errors skipped: uid 65534 cannot run {BIN}");
        return;
    }
    for (rest, need) in [
        (vec!["live", "-i", "lo"], "CAP_NET_RAW"),
        (vec!["live", "--netns", ns.path().as_str()], "CAP_SYS_ADMIN"),
    ] {
        let cmd = with(&rest);
        let out = std::process::Command::new(&cmd[0])
            .args(&cmd[1..])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(need) && err.contains("setcap"), "{err}");
    }
}
