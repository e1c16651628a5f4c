//! Frame → TCP segment: slices the link, IP and TCP headers of each captured frame and hands
//! the TCP segment (a borrowed view) to reassembly; everything else is counted.
//!
//! What it does:
//! - link types EN10MB (VLAN / QinQ tags, MPLS label stacks, pseudowire), LINUX_SLL, LINUX_SLL2,
//!   RAW (101, 12, 14), IPV4, IPV6, NULL, LOOP and NFLOG (`link`);
//! - IPv4 and IPv6 with the IPv6 extension header chain (`ip`), reassembly of IP fragments in
//!   a bounded table that expires in capture time (`frag`);
//! - the TCP header and its timestamp option (`tcp`).
//!
//! What it does not: verify checksums (offload makes them wrong on the capturing host), decode
//! tunnels (IP-in-IP, GRE, VXLAN, Geneve: counted by protocol; decapsulation is a later step),
//! or parse anything above TCP.
//!
//! Why hand-rolled: it is the hot path. Decoding an unfragmented frame allocates nothing and
//! reads a few dozen bytes at named offsets; the payload is a slice of the frame. Decoding is
//! lax like etherparse's slicing: Ethernet padding is trimmed by the IP length, bytes the
//! snapshot length cut are reported as [`Segment::missing`], and a frame is only skipped when a
//! header we need is not there; the reason is counted.
//!
//! Every frame lands in exactly one bucket: `tcp`, `other` (by protocol), `skipped` (by
//! reason), or it is an IP fragment held for reassembly, so
//! `frames = tcp + Σother + Σskipped + fragments.fragments - fragments.reassembled`.

mod frag;
mod ip;
mod link;
mod tcp;

use crate::model::{Frame, LinkMeta, Segment, Timestamp};
use frag::{FragKey, FragTable, Inserted};
use ip::{IpPacket, Transport};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// Limits of the decoder: only IP fragment reassembly holds state.
#[derive(Clone, Debug)]
pub struct DecodeConfig {
    /// Fragment bytes held over all incomplete datagrams.
    pub frag_max_bytes: usize,
    /// Incomplete datagrams held at once; the oldest is dropped to make room.
    pub frag_max_datagrams: usize,
    /// A datagram not complete this long (capture time, ns) after its first fragment is dropped.
    /// 30 s, as Linux `net.ipv4.ipfrag_time`.
    pub frag_timeout_ns: i64,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            frag_max_bytes: 4 << 20,
            frag_max_datagrams: 1024,
            frag_timeout_ns: 30_000_000_000,
        }
    }
}

/// IP fragment reassembly counters.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FragmentStats {
    /// Fragment frames seen (atomic fragments excluded).
    pub fragments: u64,
    /// Datagrams completed from fragments.
    pub reassembled: u64,
    /// Datagrams dropped incomplete after the timeout.
    pub expired: u64,
    /// Datagrams dropped incomplete to respect a limit (table full, bytes, over 65535 bytes).
    pub dropped_over_limit: u64,
    /// Fragments that overlapped bytes already held (the first copy wins, RFC 5722 style).
    pub overlapping: u64,
    /// IPv6 atomic fragments (offset 0, M = 0, RFC 6946), decoded as unfragmented.
    pub atomic: u64,
    /// Datagrams still incomplete now; at the end of a capture, those never completed.
    pub pending: u64,
}

/// What the decoder saw.
#[derive(Clone, Debug, Default)]
pub struct DecodeStats {
    /// TCP segments returned.
    pub tcp: u64,
    /// Frames that are not TCP, by protocol ("udp", "arp", "icmpv6", ...).
    pub other: BTreeMap<&'static str, u64>,
    /// Frames that could not be decoded, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// TCP segments whose payload the snapshot length cut.
    pub snaplen_cut: u64,
    pub fragments: FragmentStats,
    /// Frames per link type value counted as "unknown link type" in `skipped`.
    pub unknown_link_types: BTreeMap<u32, u64>,
}

/// Why a frame yields no TCP segment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum NotTcp {
    /// A protocol we recognize and count but do not decode.
    Other(&'static str),
    /// A header we need is missing or malformed.
    Skip(&'static str),
}

impl DecodeStats {
    fn count(&mut self, why: NotTcp) {
        let (map, key) = match why {
            NotTcp::Other(k) => (&mut self.other, k),
            NotTcp::Skip(k) => (&mut self.skipped, k),
        };
        *map.entry(key).or_insert(0) += 1;
    }
}

/// Stateful decoder: the state is the fragment table and the counters.
pub struct Decoder {
    stats: DecodeStats,
    frags: FragTable,
}

impl Decoder {
    pub fn new(config: DecodeConfig) -> Decoder {
        Decoder {
            stats: DecodeStats::default(),
            frags: FragTable::new(config),
        }
    }

    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// TCP segment in the frame, or None (counted in stats by why). `frame_no` is 1-based.
    /// The segment borrows the frame, or the decoder's buffer for a reassembled IP datagram.
    pub fn decode<'a>(&'a mut self, frame: &Frame<'a>, frame_no: u64) -> Option<Segment<'a>> {
        let Decoder { stats, frags } = self;
        frags.expire(frame.ts, &mut stats.fragments);
        let data: &'a [u8] = frame.data;
        let l3 = match link::decode(frame.link_type, data) {
            Ok(l3) => l3,
            Err(why) => {
                if why == link::UNKNOWN_LINK_TYPE {
                    *stats.unknown_link_types.entry(frame.link_type).or_insert(0) += 1;
                }
                stats.count(why);
                return None;
            }
        };
        let link = LinkMeta {
            interface: frame.interface,
            if_index: l3.if_index,
            pkt_type: l3.pkt_type,
        };
        // Bytes of the frame the snapshot length cut: an IP length of 0 (TSO) counts them.
        let cut = frame.orig_len.saturating_sub(data.len() as u32);
        let packet = match ip::decode(l3, cut) {
            Ok(p) => p,
            Err(why) => {
                stats.count(why);
                return None;
            }
        };
        if packet.atomic {
            stats.fragments.atomic += 1;
        }
        let ctx = Ctx {
            ts: frame.ts,
            frame: frame_no,
            link,
        };
        match packet.frag {
            None => finish(stats, &ctx, &packet),
            Some(f) => {
                let key = FragKey::new(&packet, f.id);
                let fs = &mut stats.fragments;
                match frags.insert(key, frame.ts, &f, packet.proto, packet.payload, fs) {
                    Inserted::Held => {
                        stats.fragments.fragments += 1;
                        None
                    }
                    Inserted::Dropped(why) => {
                        stats.count(why);
                        None
                    }
                    Inserted::Complete(done) => {
                        stats.fragments.fragments += 1;
                        let bytes: &'a [u8] = frags.assembled();
                        match ip::reassembled(&packet, done.proto, done.header_len, bytes) {
                            Ok(p) => finish(stats, &ctx, &p),
                            Err(why) => {
                                stats.count(why);
                                None
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Frame facts the segment carries.
struct Ctx {
    ts: Timestamp,
    frame: u64,
    link: LinkMeta,
}

/// The transport layer of a whole (unfragmented or reassembled) IP packet.
#[inline(always)]
fn finish<'a>(stats: &mut DecodeStats, ctx: &Ctx, p: &IpPacket<'a>) -> Option<Segment<'a>> {
    match p.transport {
        Transport::Tcp => {}
        Transport::Other(name) => {
            stats.count(NotTcp::Other(name));
            return None;
        }
    }
    match tcp::decode(p.payload, p.announced) {
        Ok(t) => {
            stats.tcp += 1;
            if t.missing > 0 {
                stats.snaplen_cut += 1;
            }
            Some(Segment {
                ts: ctx.ts,
                frame: ctx.frame,
                src: SocketAddr::new(p.src, t.src_port),
                dst: SocketAddr::new(p.dst, t.dst_port),
                seq: t.seq,
                ack: t.ack,
                flags: t.flags,
                window: t.window,
                tsopt: t.tsopt,
                payload: t.payload,
                ip_len: p.ip_len,
                missing: t.missing,
                link: ctx.link,
            })
        }
        Err(why) => {
            stats.count(why);
            None
        }
    }
}

#[cfg(test)]
mod tests;
