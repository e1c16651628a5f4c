//! `hopscope live [--netns PATH | --pid PID | --container ID | --pod NS/NAME]`: capture inside
//! a pod's network namespace and report exchanges as they complete (docs/live.md).
//!
//! The capture (feature `live`, `hopscope::capture::live`) yields a pcap byte stream; this
//! command hands it to the offline reader and pipeline, with stdout line-buffered so each
//! exchange line (text or JSON) reaches the terminal when it completes. `--cluster` and
//! `--auto-cluster` also keep the legs and print the journeys (paths) at the end: the join
//! needs every leg at once. Without the feature the command exists and says how to get it.

use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    /// Capture in this network namespace: /var/run/netns/NAME or /proc/PID/ns/net.
    #[arg(long, value_name = "PATH", group = "target")]
    pub netns: Option<PathBuf>,
    /// Capture in the network namespace of this process (a pod's container).
    #[arg(long, value_name = "PID", group = "target")]
    pub pid: Option<u32>,
    /// Capture in this container's pod: its PID from `crictl inspect` (containerd, CRI-O;
    /// `containerd://` and `cri-o://` prefixes accepted) or `docker inspect` (`docker://`).
    #[arg(long, value_name = "ID", group = "target")]
    pub container: Option<String>,
    /// Capture in this pod (on the node that runs it): its container from `kubectl get pod
    /// -o json`, then as --container. NAME alone means namespace default.
    #[arg(long, value_name = "NAMESPACE/NAME", group = "target")]
    pub pod: Option<String>,
    /// Interface inside the namespace; `any` sees both eth0 and lo legs.
    #[arg(short = 'i', long, value_name = "IFACE", default_value = "any")]
    pub interface: String,
    /// Capture filter, tcpdump syntax (pcap-filter(7)); also accepted after the options.
    #[arg(short = 'f', long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Capture filter words, as tcpdump takes them: `hopscope live --pid 1 tcp port 9080`.
    #[arg(value_name = "EXPR", conflicts_with = "filter")]
    pub expression: Vec<String>,
    /// Bytes kept of each packet.
    #[arg(short = 's', long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: u32,
    /// Kernel capture buffer in KiB: bursts beyond it are dropped (and reported).
    #[arg(
        short = 'B',
        long = "buffer-size",
        value_name = "KIB",
        default_value_t = 4096
    )]
    pub buffer_kib: u32,
    /// Also write the packets to this pcap file (`hopscope analyze FILE` or Wireshark reads it).
    #[arg(short = 'w', long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Stop after this many packets.
    #[arg(short = 'c', long, value_name = "COUNT")]
    pub count: Option<u64>,
    /// Stop after this many seconds (decimals allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<std::time::Duration>,
    /// Write JSON lines (docs/json.md) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// A cluster bundle (docs/bundle.md): exchanges stream as usual and the journeys, each
    /// hop with its evidence, are printed when the capture stops (with --json: only then).
    #[arg(long, value_name = "DIR", conflicts_with = "auto_cluster")]
    pub cluster: Option<PathBuf>,
    /// Collect the target's side first, as `hopscope snapshot --pid` does (iptables-save,
    /// listening sockets, Envoy's config_dump from 127.0.0.1:15000), then join as --cluster.
    #[arg(long)]
    pub auto_cluster: bool,
    /// Where the capture is taken, for the join: node/NAME or pod/NAMESPACE/NAME (default:
    /// the --pod; pod/unknown/pid-PID for --pid and --container; pod/unknown/NAME for
    /// --netns .../NAME; node/HOSTNAME with no target).
    #[arg(long, value_name = "POINT")]
    pub at: Option<String>,
}

fn parse_secs(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| format!("{s:?}: not a duration"))
}

#[cfg(not(feature = "live"))]
pub fn run(_args: &LiveArgs) -> anyhow::Result<u8> {
    eprintln!(
        "hopscope: live capture is not in this build: rebuild with `cargo build --release \
         --features live` (needs libpcap-dev), or capture with tcpdump and run `hopscope analyze`"
    );
    Ok(super::EXIT_USAGE)
}

#[cfg(feature = "live")]
mod legs;
#[cfg(feature = "live")]
mod report;
#[cfg(feature = "live")]
mod run;
#[cfg(feature = "live")]
pub use run::run;
