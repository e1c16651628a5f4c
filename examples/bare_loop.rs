//! `bare_loop`: the performance baseline. Reads a pcap file with big buffered reads and
//! only slices the Ethernet / IPv4 / TCP headers of each packet, summing TCP payload
//! lengths. Whatever hopscope does beyond this is the cost of its actual work.
//!
//! ```text
//! cargo run --release --example bare_loop -- FILE.pcap
//! ```
//!
//! Honest on purpose: it touches every record header and every packet's headers (no
//! skipping by record length alone), and it checks the IPv4/TCP lengths it reads. It
//! does not reassemble, parse HTTP, or handle pcapng / other link types (those packets
//! are counted as "other"). Formats: pcap-savefile(5) (µs and ns magic, either byte
//! order); Ethernet II with optional 802.1Q tags; IPv4 (RFC 791); TCP (RFC 9293).

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;
use std::time::Instant;

/// Read size: large enough that syscalls are noise.
const READ_CHUNK: usize = 4 << 20;
const PCAP_HEADER: usize = 24;
const RECORD_HEADER: usize = 16;
const MAGIC_USEC: u32 = 0xa1b2_c3d4;
const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
const LINKTYPE_EN10MB: u32 = 1;
const ETH_HEADER: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_VLAN: u16 = 0x8100;
const IPPROTO_TCP: u8 = 6;

#[derive(Default)]
struct Counts {
    packets: u64,
    tcp: u64,
    other: u64,
    payload: u64,
}

/// Slices one Ethernet frame down to its TCP payload length, if it is IPv4/TCP.
fn tcp_payload_len(frame: &[u8]) -> Option<usize> {
    let mut off = ETH_HEADER;
    let mut ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    while ethertype == ETHERTYPE_VLAN {
        ethertype = u16::from_be_bytes([*frame.get(off + 2)?, *frame.get(off + 3)?]);
        off += 4;
    }
    if ethertype != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(off..)?;
    let ihl = usize::from(*ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    if *ip.get(9)? != IPPROTO_TCP || ihl < 20 || total < ihl {
        return None;
    }
    let doff = usize::from(*ip.get(ihl + 12)? >> 4) * 4;
    total.checked_sub(ihl + doff)
}

fn run(path: &str) -> std::io::Result<(Counts, u64)> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; READ_CHUNK * 2];
    let mut filled = 0;
    let mut start = 0;
    let mut total = 0u64;
    let mut header_done = false;
    let mut swap = false;
    let mut counts = Counts::default();
    loop {
        // Move the partial record to the front and read more behind it.
        buf.copy_within(start..filled, 0);
        filled -= start;
        start = 0;
        if buf.len() - filled < READ_CHUNK {
            buf.resize(filled + READ_CHUNK, 0);
        }
        let n = file.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
        total += n as u64;
        if !header_done {
            if filled < PCAP_HEADER {
                continue;
            }
            let magic = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
            swap = match magic {
                MAGIC_USEC | MAGIC_NSEC => false,
                m if m.swap_bytes() == MAGIC_USEC || m.swap_bytes() == MAGIC_NSEC => true,
                _ => {
                    return Err(std::io::Error::other(
                        "not a pcap file (pcapng is not supported)",
                    ))
                }
            };
            let lt = u32::from_le_bytes([buf[20], buf[21], buf[22], buf[23]]);
            let lt = if swap { lt.swap_bytes() } else { lt };
            if lt & 0xffff != LINKTYPE_EN10MB {
                return Err(std::io::Error::other(format!(
                    "link type {lt}: only Ethernet"
                )));
            }
            start = PCAP_HEADER;
            header_done = true;
        }
        while let Some(rec) = buf.get(start..start + RECORD_HEADER) {
            let caplen = u32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]);
            let caplen = if swap { caplen.swap_bytes() } else { caplen } as usize;
            let Some(data) = buf.get(start + RECORD_HEADER..start + RECORD_HEADER + caplen) else {
                break;
            };
            counts.packets += 1;
            match tcp_payload_len(data) {
                Some(len) => {
                    counts.tcp += 1;
                    counts.payload += len as u64;
                }
                None => counts.other += 1,
            }
            start += RECORD_HEADER + caplen;
        }
    }
    Ok((counts, total))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: bare_loop FILE.pcap");
        return ExitCode::from(2);
    };
    let t = Instant::now();
    match run(&path) {
        Ok((c, bytes)) => {
            let secs = t.elapsed().as_secs_f64();
            println!(
                "packets={} tcp={} other={} payload_bytes={} file_bytes={bytes} seconds={secs:.3} GB/s={:.2}",
                c.packets,
                c.tcp,
                c.other,
                c.payload,
                bytes as f64 / secs / 1e9
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bare_loop: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
