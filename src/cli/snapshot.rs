//! `hopscope snapshot -o DIR [--pid PID | --netns PATH]`: collect a cluster bundle
//! (docs/bundle.md) on a node, or inside one pod's network namespace.
//!
//! On a node (no `--pid`/`--netns`): `iptables-save`, `ip6tables-save`, `nft -j list ruleset`,
//! `nft list ruleset`, `ipvsadm -Ln`, `conntrack -L -o extended` (else
//! `/proc/net/nf_conntrack`), the node's addresses, and `kubectl get
//! pods,services,endpointslices,nodes -A -o json` when kubectl works. Inside a pod's netns:
//! `iptables-save`, `nft list ruleset`, `conntrack -L`, `ss -ntlp` (else `netstat -nltp`), and
//! Envoy's `/config_dump?include_eds` and `/clusters` from 127.0.0.1:15000.
//!
//! Commands run inside the netns through `nsenter --net=…` (util-linux), the way an SRE does
//! it by hand (the seeds), so hopscope itself needs no setns code; the Envoy admin requests are
//! made by this binary re-run under nsenter (`hopscope snapshot --fetch URL`). A missing tool,
//! a failing command or an empty output is skipped with a note (in `DIR/snapshot.log` and on
//! stderr), never a failure: a partial bundle still resolves what it can.

use anyhow::Context;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    /// Bundle directory to write (created; existing files are replaced).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        required_unless_present = "fetch"
    )]
    pub out: Option<PathBuf>,
    /// Collect inside the network namespace of this process (a pod's container).
    #[arg(long, value_name = "PID", conflicts_with = "netns")]
    pub pid: Option<u32>,
    /// Collect inside this network namespace (e.g. /var/run/netns/cni-…).
    #[arg(long, value_name = "PATH")]
    pub netns: Option<PathBuf>,
    /// The pod's NAMESPACE/NAME, for the bundle path (default: pod/unknown/<pid or netns>).
    #[arg(long, value_name = "NS/NAME")]
    pub pod: Option<String>,
    /// The node's name (default: the hostname).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Internal: GET an http:// URL on 127.0.0.1 and print the body (run inside the netns).
    #[arg(long, value_name = "URL", hide = true)]
    pub fetch: Option<String>,
}

/// Envoy's admin responses can be large (a big mesh's config_dump is tens of MB).
const FETCH_LIMIT: usize = 256 << 20;

pub fn run(args: &SnapshotArgs) -> anyhow::Result<u8> {
    if let Some(url) = &args.fetch {
        let body = fetch(url).with_context(|| format!("GET {url}"))?;
        std::io::stdout().write_all(&body)?;
        return Ok(0);
    }
    let out = args.out.as_ref().context("-o DIR is required")?;
    let written = collect(out, args)?;
    eprintln!("hopscope: wrote {written} files into {}", out.display());
    Ok(0)
}

/// Collects the bundle `args` describes into `out` (the node's side, or with `pid`/`netns`
/// one pod's side) and returns how many files it wrote. Also `live --auto-cluster`'s.
pub(super) fn collect(out: &Path, args: &SnapshotArgs) -> anyhow::Result<usize> {
    let netns = match (&args.pid, &args.netns) {
        (Some(pid), _) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        (None, Some(p)) => Some(p.clone()),
        (None, None) => None,
    };
    let mut log = Log::default();
    let written = match &netns {
        None => node(out, args, &mut log)?,
        Some(ns) => pod(out, ns, args, &mut log)?,
    };
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("snapshot.log"), log.text.as_bytes())?;
    Ok(written)
}

#[derive(Default)]
struct Log {
    text: String,
}

impl Log {
    fn note(&mut self, line: String) {
        eprintln!("hopscope: {line}");
        self.text.push_str(&line);
        self.text.push('\n');
    }
}

/// This machine's name, as a node's name in a bundle (`node` when unreadable).
pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "node".into())
}

fn node(out: &Path, args: &SnapshotArgs, log: &mut Log) -> anyhow::Result<usize> {
    let name = args.node.clone().unwrap_or_else(hostname);
    let dir = out.join("node").join(safe(&name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut n = 0;
    let runs: [(&str, &[&str]); 6] = [
        ("iptables-save.txt", &["iptables-save", "-c"]),
        ("ip6tables-save.txt", &["ip6tables-save", "-c"]),
        ("nft.json", &["nft", "-j", "list", "ruleset"]),
        ("nft.txt", &["nft", "list", "ruleset"]),
        ("ipvsadm.txt", &["ipvsadm", "-Ln"]),
        ("conntrack.txt", &["conntrack", "-L", "-o", "extended"]),
    ];
    for (file, cmd) in runs {
        n += save(&dir.join(file), cmd, None, log) as usize;
    }
    if !dir.join("conntrack.txt").exists() {
        n += copy("/proc/net/nf_conntrack", &dir.join("conntrack.txt"), log) as usize;
    }
    n += addresses(&dir.join("addresses.txt"), None, log) as usize;
    n += xt_recent(&dir.join("xt_recent.txt"), log) as usize;
    let kubectl = out.join("kubectl");
    std::fs::create_dir_all(&kubectl)?;
    let get = [
        "kubectl",
        "get",
        "pods,services,endpointslices,nodes",
        "-A",
        "-o",
        "json",
    ];
    n += save(&kubectl.join("cluster.json"), &get, None, log) as usize;
    Ok(n)
}

fn pod(out: &Path, netns: &Path, args: &SnapshotArgs, log: &mut Log) -> anyhow::Result<usize> {
    let rel = match &args.pod {
        Some(p) => {
            let (ns, name) = p.split_once('/').unwrap_or(("default", p));
            PathBuf::from(safe(ns)).join(safe(name))
        }
        None => {
            let tag = args.pid.map_or_else(
                || safe(&netns.to_string_lossy()),
                |pid| format!("pid-{pid}"),
            );
            PathBuf::from("unknown").join(tag)
        }
    };
    let dir = out.join("pod").join(rel);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ns = Some(netns);
    let mut n = 0;
    let runs: [(&str, &[&str]); 4] = [
        ("iptables-save.txt", &["iptables-save", "-c"]),
        ("nft.txt", &["nft", "list", "ruleset"]),
        ("conntrack.txt", &["conntrack", "-L", "-o", "extended"]),
        ("listen.txt", &["ss", "-ntlp"]),
    ];
    for (file, cmd) in runs {
        n += save(&dir.join(file), cmd, ns, log) as usize;
    }
    if !dir.join("listen.txt").exists() {
        n += save(&dir.join("listen.txt"), &["netstat", "-nltp"], ns, log) as usize;
    }
    n += addresses(&dir.join("addresses.txt"), ns, log) as usize;
    let exe = std::env::current_exe()?.to_string_lossy().into_owned();
    for (file, path) in [
        ("config_dump.json", "/config_dump?include_eds"),
        ("clusters.txt", "/clusters"),
    ] {
        let url = format!("http://127.0.0.1:15000{path}");
        let cmd = [exe.as_str(), "snapshot", "--fetch", url.as_str()];
        n += save(&dir.join(file), &cmd, ns, log) as usize;
    }
    Ok(n)
}

/// Runs `cmd` (inside `netns` through nsenter) and writes its stdout to `file`; false (with a
/// note) when the tool is missing, fails or prints nothing.
fn save(file: &Path, cmd: &[&str], netns: Option<&Path>, log: &mut Log) -> bool {
    let mut c = match netns {
        Some(ns) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net={}", ns.display())).arg("--");
            c.args(cmd);
            c
        }
        None => {
            let mut c = Command::new(cmd[0]);
            c.args(&cmd[1..]);
            c
        }
    };
    let shown = cmd.join(" ");
    match c.output() {
        Err(e) => {
            log.note(format!("skipped {shown}: {e}"));
            false
        }
        Ok(o) if !o.status.success() => {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err.lines().next().unwrap_or("").trim();
            log.note(format!("skipped {shown}: {} {first}", o.status));
            false
        }
        Ok(o) if o.stdout.is_empty() => {
            log.note(format!("skipped {shown}: empty output"));
            false
        }
        Ok(o) => match std::fs::write(file, &o.stdout) {
            Ok(()) => {
                log.note(format!("{shown} → {}", file.display()));
                true
            }
            Err(e) => {
                log.note(format!("could not write {}: {e}", file.display()));
                false
            }
        },
    }
}

fn copy(from: &str, to: &Path, log: &mut Log) -> bool {
    match std::fs::read(from) {
        Ok(b) if !b.is_empty() => std::fs::write(to, b).is_ok(),
        Ok(_) => false,
        Err(e) => {
            log.note(format!("skipped {from}: {e}"));
            false
        }
    }
}

/// The netns's own addresses, one per line (what `-m addrtype --dst-type LOCAL` matches), from
/// `ip -o addr`.
fn addresses(file: &Path, netns: Option<&Path>, log: &mut Log) -> bool {
    let tmp = file.with_extension("ip-o-addr");
    if !save(&tmp, &["ip", "-o", "addr", "show"], netns, log) {
        return false;
    }
    let text = std::fs::read_to_string(&tmp).unwrap_or_default();
    let _ = std::fs::remove_file(&tmp);
    let addrs: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut t = l.split_whitespace();
            t.find(|w| *w == "inet" || *w == "inet6")?;
            t.next()?.split('/').next()
        })
        .collect();
    !addrs.is_empty() && std::fs::write(file, addrs.join("\n") + "\n").is_ok()
}

/// kube-proxy's ClientIP affinity lists (`/proc/net/xt_recent/*`), one `== NAME` header each.
fn xt_recent(file: &Path, log: &mut Log) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/net/xt_recent") else {
        log.note("skipped /proc/net/xt_recent: not present (no -m recent rules)".into());
        return false;
    };
    let mut names: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let mut text = String::new();
    for p in names {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        text.push_str(&format!("== {name}\n"));
        text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
    }
    !text.is_empty() && std::fs::write(file, text).is_ok()
}

/// A path component from a name (no separators, no dot-dot).
fn safe(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => "_".into(),
        _ => s,
    }
}

/// A minimal HTTP/1.0 GET to a loopback address (Envoy's admin port): status 200 or an error.
fn fetch(url: &str) -> anyhow::Result<Vec<u8>> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs are fetched")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr: std::net::SocketAddr = host.parse().context("host must be IP:port")?;
    anyhow::ensure!(
        addr.ip().is_loopback(),
        "only loopback addresses are fetched"
    );
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut buf = Vec::new();
    s.take(FETCH_LIMIT as u64 + 1).read_to_end(&mut buf)?;
    anyhow::ensure!(
        buf.len() <= FETCH_LIMIT,
        "response over {FETCH_LIMIT} bytes"
    );
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of the response head")?;
    let status_line = buf[..end].split(|&b| b == b'\n').next().unwrap_or(&[]);
    let ok = status_line.split(|&b| b == b' ').nth(1) == Some(b"200");
    anyhow::ensure!(
        ok,
        "status {}",
        String::from_utf8_lossy(status_line).trim_end()
    );
    Ok(buf.split_off(end + 4))
}
