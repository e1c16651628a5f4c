//! Command line: clap arguments, the `analyze` command, exit codes.
//!
//! Exit codes (also in README): 0 success; 1 nothing could be analyzed (no input readable, or
//! output failed); 2 bad usage; 3 results were reported but some input was damaged or unreadable.
//! A closed stdout (`hopscope analyze x | head`) ends quietly with 0.

mod analyze;
mod bundle;
mod cluster;
mod dataplane;
mod joined;
mod live;
mod path;
mod progress;
mod snapshot;
mod tui;
#[cfg(test)]
mod tui_snapshots;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_PARTIAL: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "hopscope",
    version,
    about = "Packet-capture flow analyzer for Kubernetes and Istio"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read tcpdump captures (pcap or pcapng; "-" for stdin) and report TCP connections and
    /// HTTP/1.x exchanges.
    Analyze(AnalyzeArgs),
    /// Collect a cluster bundle (docs/bundle.md) on a node, or inside a pod's network
    /// namespace: iptables/nft/IPVS rules, conntrack, addresses, kubectl objects, Envoy's
    /// config_dump and /clusters. Missing tools are skipped with a note.
    Snapshot(snapshot::SnapshotArgs),
    /// Explain from a bundle alone where a connection to DEST goes: every chain, rule,
    /// probability, listener, route, cluster and endpoint. DEST: IP:PORT (ClusterIP,
    /// NodeIP:NodePort, pod IP) or NAMESPACE/SERVICE:PORT (number or name).
    Path(path::PathArgs),
    /// Browse the requests of captures in the terminal: each one's path hop by hop with
    /// evidence, timing, heads, packets, stream and journey; filter, sort, export (docs/tui.md).
    Tui(tui::TuiArgs),
    /// Capture live inside a pod's network namespace (--pid, --container, --pod, --netns) and
    /// report exchanges as they complete; -w also writes the pcap. Needs the `live` feature
    /// and root or CAP_NET_RAW + CAP_SYS_ADMIN (+ CAP_SYS_PTRACE); see docs/live.md.
    Live(live::LiveArgs),
}

#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Capture files, merged in timestamp order; "-" reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Write JSON lines (schema: docs/json.md) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// Never show progress on stderr (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Analysis threads, each taking a share of the connections; one of them reads the
    /// input (file, pipe or stdin) for all. Same report whatever the number. Not the default:
    /// on 2 busy shared cores not yet measured faster than 1 (docs/performance.md).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub shards: usize,
    /// A cluster bundle (docs/bundle.md): join every connection and request to its path
    /// (kube-proxy chains, sidecar interception, Envoy listener → route → cluster →
    /// endpoint) and stitch the legs of each request into a journey. A FILE that is itself a
    /// bundle directory is read this way too, its captures at their capture points.
    #[arg(long, value_name = "DIR")]
    pub cluster: Option<PathBuf>,
    /// Where the captures given as files were taken: node/NAME or pod/NAMESPACE/NAME.
    #[arg(long, value_name = "POINT")]
    pub at: Option<String>,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Analyze(args) => analyze::run(&args),
        Command::Snapshot(args) => snapshot::run(&args),
        Command::Path(args) => path::run(&args),
        Command::Tui(args) => tui::run(&args),
        Command::Live(args) => live::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hopscope: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
