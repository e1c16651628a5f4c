//! `hopscope path DEST --cluster DIR [--from IP] [--host H] [--path P]`.

use super::bundle;
use super::cluster;
use hopscope::join::explain::{explain, service_frontend, Query};
use hopscope::report::escape::escape;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct PathArgs {
    /// IP:PORT, or NAMESPACE/SERVICE:PORT.
    #[arg(value_name = "DEST")]
    pub dest: String,
    /// The cluster bundle (docs/bundle.md).
    #[arg(long, value_name = "DIR")]
    pub cluster: PathBuf,
    /// The client's IP (a pod IP makes its sidecar and rules apply); default: outside.
    #[arg(long, value_name = "IP")]
    pub from: Option<IpAddr>,
    /// HTTP Host for Envoy's route choice (default: the service name when DEST is one).
    #[arg(long, value_name = "H")]
    pub host: Option<String>,
    /// HTTP path for Envoy's route choice.
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
}

pub fn run(args: &PathArgs) -> anyhow::Result<u8> {
    anyhow::ensure!(
        args.cluster.is_dir(),
        "--cluster {}: not a directory",
        args.cluster.display()
    );
    let cluster = cluster::load(&bundle::scan(&args.cluster));
    let (dest, host): (SocketAddr, Option<String>) = match args.dest.parse() {
        Ok(a) => (a, None),
        Err(_) => {
            let Some(a) = service_frontend(&cluster, &args.dest) else {
                eprintln!(
                    "hopscope: {}: expected IP:PORT or a NAMESPACE/SERVICE:PORT of the bundle",
                    escape(&args.dest)
                );
                return Ok(super::EXIT_USAGE);
            };
            // Envoy's virtual hosts list `name:port`; use what a client would send.
            let name = args
                .dest
                .split('/')
                .nth(1)
                .and_then(|s| s.split(':').next());
            (a, name.map(|n| format!("{n}:{}", a.port())))
        }
    };
    let host = args.host.clone().or(host);
    let q = Query {
        dest,
        from: args.from,
        host: host.as_deref(),
        path: args.path.as_deref(),
    };
    let mut out = std::io::stdout().lock();
    for (i, stage) in explain(&cluster, &q).iter().enumerate() {
        writeln!(out, "{}. {}", i + 1, escape(&stage.title))?;
        for l in &stage.lines {
            writeln!(out, "     {}", escape(l))?;
        }
    }
    for m in &cluster.missing {
        writeln!(out, "missing: {}", escape(m))?;
    }
    for w in &cluster.warnings {
        eprintln!("hopscope: {}", escape(w));
    }
    Ok(0)
}
