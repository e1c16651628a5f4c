//! Per-packet decode cost, measured in release mode:
//! `cargo test --release decode_cost -- --ignored --nocapture`.

use super::build::*;
use crate::model::{Frame, Timestamp};
use std::hint::black_box;
use std::time::Instant;

fn measure(name: &str, link_type: u32, frames: &[Vec<u8>]) {
    let mut d = decoder();
    let rounds = (2_000_000 / frames.len().max(1)).max(1);
    let start = Instant::now();
    let mut bytes = 0usize;
    for r in 0..rounds {
        for (i, data) in frames.iter().enumerate() {
            let frame = Frame {
                ts: Timestamp(r as i64),
                link_type,
                interface: 0,
                data,
                orig_len: data.len() as u32,
            };
            if let Some(s) = d.decode(black_box(&frame), i as u64) {
                bytes += black_box(s.payload).len();
            }
        }
    }
    let packets = (rounds * frames.len()) as f64;
    let ns = start.elapsed().as_nanos() as f64 / packets;
    println!("{name}: {ns:.1} ns/packet over {packets} packets ({bytes} payload bytes)");
}

/// The floor: a loop that reads a few header bytes of the same frames and builds nothing.
fn bare(frames: &[Vec<u8>]) {
    let rounds = (2_000_000 / frames.len().max(1)).max(1);
    let start = Instant::now();
    let mut acc = 0u64;
    for _ in 0..rounds {
        for data in frames {
            let data = black_box(data.as_slice());
            let ihl = usize::from(data.get(14).copied().unwrap_or(0) & 15) * 4;
            let ports = data
                .get(14 + ihl..14 + ihl + 4)
                .map_or(0, |p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
            acc = acc.wrapping_add(u64::from(ports) + data.len() as u64);
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / (rounds * frames.len()) as f64;
    println!(
        "bare header loop: {ns:.1} ns/packet ({})",
        black_box(acc) % 2
    );
}

#[test]
#[ignore]
fn decode_cost() {
    bare(&[eth(&[0x0800], &ipv4(6, &tcp(&TS_OPT, &[0; 1400])))]);
    let v4 = eth(&[0x0800], &ipv4(6, &tcp(&TS_OPT, &[0; 1400])));
    measure("ethernet ipv4 tcp+ts", 1, &[v4]);
    let vlan = eth(&[0x8100, 0x0800], &ipv4(6, &tcp(&TS_OPT, &[0; 100])));
    measure("ethernet vlan ipv4 tcp", 1, &[vlan]);
    let v6 = ipv6(6, &tcp(&TS_OPT, &[0; 1400]));
    measure("raw ipv6 tcp", 101, &[v6]);
    let mut sll2 = vec![
        0x08, 0, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    sll2.extend(ipv4(6, &tcp(&TS_OPT, &[0; 600])));
    measure("sll2 ipv4 tcp", 276, &[sll2]);
    let udp = eth(&[0x0800], &ipv4(17, &[0; 100]));
    measure("ethernet ipv4 udp (counted)", 1, &[udp]);
}

fn time(name: &str, mut f: impl FnMut() -> usize) {
    let n: u32 = std::env::var("PERF_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let start = Instant::now();
    let mut acc = 0;
    for _ in 0..n {
        acc += f();
    }
    let ns = start.elapsed().as_nanos() as f64 / n as f64;
    println!("{name}: {ns:.1} ns ({})", acc % 2);
}

#[test]
#[ignore]
fn layer_cost() {
    use crate::decode::{ip, link, tcp};
    let f = eth(&[0x0800], &ipv4(6, &tcp(&TS_OPT, &[0; 1400])));
    time("link", || {
        link::decode(1, black_box(&f)).map_or(0, |l| l.bytes.len())
    });
    let l3 = link::decode(1, &f).unwrap();
    time("ip", || {
        ip::decode(black_box(l3), 0).map_or(0, |p| p.payload.len())
    });
    let p = ip::decode(l3, 0).unwrap();
    time("tcp", || {
        tcp::decode(black_box(p.payload), p.announced).map_or(0, |t| t.payload.len())
    });
    let mut d = decoder();
    let frame = Frame {
        ts: Timestamp(0),
        link_type: 1,
        interface: 0,
        data: &f,
        orig_len: f.len() as u32,
    };
    time("decoder", || {
        d.decode(black_box(&frame), 1)
            .map_or(0, |s| s.payload.len())
    });
}
