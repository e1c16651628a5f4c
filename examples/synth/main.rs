//! `synth`: writes a synthetic Istio-Bookinfo-like capture of any size, as `tcpdump -i any`
//! inside the productpage pod would see it (see `bookinfo` for the legs).
//!
//! ```text
//! cargo run --release --example synth -- --size 1GiB [--seed N] [--format pcap|pcapng] -o FILE
//! ```
//!
//! Deterministic for a given seed, size and format. It stops at the first page load that
//! takes the file past `--size`, then closes every pooled connection, so every
//! connection in the file is complete (handshake .. FIN/RST) and every request has its
//! response. The summary on stderr gives the counts an analyzer must find. Not a
//! traffic model: timings and mixes are plausible, not measured.

mod bookinfo;
mod http;
mod packet;
mod pcap;
mod rng;
mod scenario;
mod tcp;

use std::process::ExitCode;
use std::time::Instant;

/// 2024-05-14T09:00:00Z: where the capture's clock starts.
const START_SECS: u64 = 1_715_677_200;

struct Args {
    size: u64,
    seed: u64,
    format: pcap::Format,
    output: String,
}

const USAGE: &str = "usage: synth --size SIZE [--seed N] [--format pcap|pcapng] -o FILE\n  SIZE: bytes, or with a suffix KiB MiB GiB (also K M G, KB MB GB = powers of 1000)";

fn parse_size(s: &str) -> Option<u64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().ok()?;
    let mult = match s[digits..].trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_args() -> Result<Args, String> {
    let mut size = None;
    let mut seed = 1;
    let mut format = pcap::Format::Pcap;
    let mut output = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--size" => size = Some(parse_size(&value()?).ok_or("bad --size")?),
            "--seed" => seed = value()?.parse().map_err(|_| "bad --seed")?,
            "--format" => {
                format = match value()?.as_str() {
                    "pcap" => pcap::Format::Pcap,
                    "pcapng" => pcap::Format::Pcapng,
                    f => return Err(format!("unknown format {f}")),
                }
            }
            "-o" | "--output" => output = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(Args {
        size: size.ok_or("--size is required")?,
        seed,
        format,
        output: output.ok_or("-o FILE is required")?,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("synth: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let writer = match pcap::Writer::create(&args.output, args.format) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("synth: {}: {e}", args.output);
            return ExitCode::FAILURE;
        }
    };
    let mut rng = rng::Rng::new(args.seed);
    let start_us = (START_SECS + rng.range(0, 3_600)) * 1_000_000;
    let mut sim = scenario::Sim::new(tcp::Out::new(writer, start_us, rng));
    let mut pages = 0u64;
    while sim.out.w.bytes < args.size {
        sim.page_load();
        pages += 1;
        sim.out.wait(50, 20_000);
    }
    sim.drain();
    let out = sim.out;
    let (packets, bytes, clock) = (out.w.packets, out.w.bytes, out.clock_us);
    if let Err(e) = out.w.finish() {
        eprintln!("synth: {}: {e}", args.output);
        return ExitCode::FAILURE;
    }
    let s = &out.stats;
    let secs = started.elapsed().as_secs_f64();
    let status: Vec<String> = s.status.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    eprintln!(
        "synth: wrote {} ({:?}, seed {}) in {secs:.2} s ({:.0} MB/s)",
        args.output,
        args.format,
        args.seed,
        bytes as f64 / secs / 1e6
    );
    eprintln!("  page loads:     {pages}");
    eprintln!("  packets:        {packets}");
    eprintln!("  file bytes:     {bytes}");
    eprintln!(
        "  tcp payload:    {} bytes in streams (+{} retransmitted)",
        s.payload_bytes, s.retransmitted_bytes
    );
    eprintln!(
        "  connections:    {} ({} closed by FIN, {} by RST)",
        s.connections, s.fin_closes, s.rst_closes
    );
    eprintln!("  requests:       {}", s.requests);
    eprintln!(
        "  responses:      {} (status {})",
        s.responses,
        status.join(" ")
    );
    eprintln!(
        "  retransmitted:  {} segments, {} adjacent swaps",
        s.retransmissions, s.reorders
    );
    eprintln!("  capture span:   {:.1} s", (clock - start_us) as f64 / 1e6);
    // One machine-readable line for tests and scripts.
    eprintln!(
        "summary connections={} requests={} responses={} packets={packets} bytes={bytes} payload={}",
        s.connections, s.requests, s.responses, s.payload_bytes
    );
    ExitCode::SUCCESS
}
