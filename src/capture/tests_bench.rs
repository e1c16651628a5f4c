//! Throughput check (ignored by default; run with
//! `cargo test --release --lib capture::tests_bench -- --ignored --nocapture`).
//!
//! Writes a pcap and a pcapng of `HOPSCOPE_BENCH_MB` MiB (default 1024) to the temp directory,
//! reads each once to warm the page cache, then times a full read through `Capture`, touching
//! every frame's first and last byte. The files are removed afterwards.

use super::build::*;
use super::endian::Endian::Little;
use super::{Capture, FileReader};
use std::io::Write;
use std::time::Instant;

/// Frame sizes cycling like a request/response mix: ACKs, small heads, full segments.
const SIZES: [usize; 8] = [66, 66, 1514, 1514, 400, 1514, 66, 900];

fn write_file(path: &std::path::Path, ng: bool, bytes: usize) {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let frame = vec![0x5a; 1514];
    let mut written = 0;
    if ng {
        let mut head = shb(Little);
        head.extend(idb(Little, 1, 0, &[(9, &[9])]));
        out.write_all(&head).unwrap();
    } else {
        out.write_all(&pcap_header(Little, USEC, 262144, 1))
            .unwrap();
    }
    let mut i = 0u64;
    let mut rec = Vec::new();
    while written < bytes {
        let len = SIZES[i as usize % SIZES.len()];
        rec.clear();
        if ng {
            rec.extend(epb(Little, 0, i * 1000, len as u32, &frame[..len]));
        } else {
            pcap_record(
                &mut rec,
                Little,
                (i / 1000) as u32,
                (i % 1000) as u32,
                len as u32,
                &[],
                &frame[..len],
            );
        }
        out.write_all(&rec).unwrap();
        written += rec.len();
        i += 1;
    }
    out.flush().unwrap();
}

fn time_read(path: &std::path::Path) -> (u64, u64, f64) {
    let mut c = Capture::new(vec![FileReader::open(path, 0).unwrap()]);
    let start = Instant::now();
    let (mut frames, mut sum) = (0u64, 0u64);
    while let Some(f) = c.next_frame() {
        frames += 1;
        sum += u64::from(*f.data.first().unwrap_or(&0)) + u64::from(*f.data.last().unwrap_or(&0));
    }
    let secs = start.elapsed().as_secs_f64();
    assert!(c.take_errors().is_empty());
    assert!(sum > 0);
    (frames, c.progress().0, secs)
}

#[test]
#[ignore = "benchmark: writes a large temporary file"]
fn read_throughput() {
    let mb: usize = std::env::var("HOPSCOPE_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    for ng in [false, true] {
        let path = std::env::temp_dir().join(format!(
            "hopscope-bench-{}.{}",
            std::process::id(),
            if ng { "pcapng" } else { "pcap" }
        ));
        write_file(&path, ng, mb << 20);
        time_read(&path); // warm the page cache
        let mut best = f64::MAX;
        let mut result = (0, 0);
        for _ in 0..3 {
            let (frames, bytes, secs) = time_read(&path);
            best = best.min(secs);
            result = (frames, bytes);
        }
        let _ = std::fs::remove_file(&path);
        let (frames, bytes) = result;
        println!(
            "{}: {} frames, {} MiB in {:.3} s: {:.2} GB/s, {:.1} Mframes/s",
            if ng { "pcapng" } else { "pcap" },
            frames,
            bytes >> 20,
            best,
            bytes as f64 / best / 1e9,
            frames as f64 / best / 1e6
        );
    }
}
