//! The libpcap handle: opened on the capture thread after it entered the target namespace, so
//! the packet socket belongs to that namespace (`-i any` then sees the pod's `eth0` and `lo`).
//!
//! Settings and why:
//! - TPACKET_V3 with a [`BLOCK_TIMEOUT_MS`] read timeout, not immediate mode: immediate mode
//!   makes libpcap use TPACKET_V2, whose ring has one slot per packet sized for the snaplen,
//!   so a 4 MiB buffer held 15 packets of 256 KiB and a 1 MiB response over a veth (64 KiB GSO
//!   packets) lost packets; V3 packs packets into blocks and the kernel hands a block over
//!   when it is full or this many milliseconds after its first packet, so a packet waits at
//!   most that long.
//! - Non-blocking, with the capture loop doing its own `poll(2)` of the handle's descriptor
//!   for at most [`READ_TIMEOUT_MS`]: libpcap's blocking read does not return on a quiet V3
//!   capture (the kernel retires no empty block), and Ctrl-C would wait for a packet.
//! - Nanosecond time stamps when libpcap has them; not promiscuous (a pod's traffic is
//!   addressed to it); LINUX_SLL2 on `any` when offered (it carries the interface index, as
//!   tcpdump 4.99 writes), else what libpcap gives.

use super::error::{LiveError, PRIVILEGE_FIX};
use super::netns;
use super::writer::Resolution;
use pcap::{Active, Capture, Linktype, Precision};

/// How long the loop waits for packets before it checks the stop flag, the deadline and the
/// drop counters again.
pub const READ_TIMEOUT_MS: i32 = 100;
/// The kernel hands a partly filled block of packets over this long after its first packet:
/// the longest a packet waits before it is analyzed.
pub const BLOCK_TIMEOUT_MS: i32 = 10;

extern "C" {
    // libpcap >= 1.5; the pcap crate links libpcap but does not wrap these two.
    fn pcap_get_tstamp_precision(p: *mut libc::c_void) -> libc::c_int;
    fn pcap_snapshot(p: *mut libc::c_void) -> libc::c_int;
}
/// PCAP_TSTAMP_PRECISION_NANO (pcap/pcap.h).
const PRECISION_NANO: libc::c_int = 1;

/// What to open.
#[derive(Clone, Debug)]
pub struct HandleConfig {
    pub interface: String,
    pub filter: Option<String>,
    pub snaplen: u32,
    /// Kernel ring buffer, bytes.
    pub buffer_bytes: u32,
}

/// An open, filtered handle and what its records look like.
pub struct Opened {
    pub cap: Capture<Active>,
    pub link_type: u32,
    pub snaplen: u32,
    pub resolution: Resolution,
}

/// Opens the capture in the calling thread's namespace; `place` names it for messages.
pub fn open(cfg: &HandleConfig, place: &str) -> Result<Opened, LiveError> {
    let iface = cfg.interface.as_str();
    if iface != "any" && !netns::has_interface(iface) {
        let have = netns::interfaces();
        return Err(LiveError::usage(format!(
            "no interface {iface:?} in {place}: it has {}; or use -i any",
            if have.is_empty() {
                "none listed".to_string()
            } else {
                have.join(", ")
            }
        )));
    }
    let snaplen = i32::try_from(cfg.snaplen).unwrap_or(i32::MAX);
    let buffer = i32::try_from(cfg.buffer_bytes).unwrap_or(i32::MAX);
    let inactive = Capture::from_device(iface).map_err(|e| open_error(iface, place, &e))?;
    let mut cap = inactive
        .snaplen(snaplen)
        .promisc(false)
        .timeout(BLOCK_TIMEOUT_MS)
        .buffer_size(buffer)
        .precision(Precision::Nano)
        .open()
        .map_err(|e| open_error(iface, place, &e))?;
    if iface == "any" {
        let offered = cap.list_datalinks().unwrap_or_default();
        if offered.contains(&Linktype::LINUX_SLL2) {
            // Not fatal: libpcap's default (LINUX_SLL) reads as well.
            let _ = cap.set_datalink(Linktype::LINUX_SLL2);
        }
    }
    if let Some(f) = &cfg.filter {
        cap.filter(f, true).map_err(|e| {
            LiveError::usage(format!(
                "bad filter {f:?}: {}: the syntax is tcpdump's (pcap-filter(7)), e.g. \
                 -f 'tcp port 9080'",
                pcap_message(&e)
            ))
        })?;
    }
    let cap = cap.setnonblock().map_err(|e| {
        LiveError::failure(format!(
            "cannot capture on {iface} in {place}: {}",
            pcap_message(&e)
        ))
    })?;
    let raw = cap.as_ptr() as *mut libc::c_void;
    // SAFETY: `raw` is the live handle owned by `cap`, valid for these calls.
    let (precision, snapshot) = unsafe { (pcap_get_tstamp_precision(raw), pcap_snapshot(raw)) };
    Ok(Opened {
        link_type: u32::try_from(cap.get_datalink().0).unwrap_or(0),
        snaplen: u32::try_from(snapshot)
            .ok()
            .filter(|&s| s > 0)
            .unwrap_or(cfg.snaplen),
        resolution: if precision == PRECISION_NANO {
            Resolution::Nano
        } else {
            Resolution::Micro
        },
        cap,
    })
}

/// libpcap's text without the crate's "libpcap error: " prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// An activation error as one line with its fix: permissions, a vanished interface, the rest.
fn open_error(iface: &str, place: &str, e: &pcap::Error) -> LiveError {
    let m = pcap_message(e);
    let lower = m.to_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        LiveError::failure(format!(
            "capturing on {iface} needs CAP_NET_RAW ({m}): {PRIVILEGE_FIX}"
        ))
    } else if lower.contains("no such device") {
        LiveError::usage(format!(
            "no interface {iface:?} in {place} ({m}): use -i any"
        ))
    } else {
        LiveError::failure(format!("cannot capture on {iface} in {place}: {m}"))
    }
}

/// Waits until the handle has packets (or an error to report), at most `timeout_ms`; a signal
/// ends the wait early, which is what Ctrl-C wants.
pub fn wait_readable(cap: &Capture<Active>, timeout_ms: i32) {
    use std::os::fd::AsRawFd;
    let mut fds = libc::pollfd {
        fd: cap.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, owned here, for the duration of the call.
    unsafe { libc::poll(&mut fds, 1, timeout_ms) };
}
