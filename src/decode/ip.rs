//! IPv4 (RFC 791) and IPv6 (RFC 8200) headers: addresses, the transport protocol, the transport
//! bytes present and how many the header announced, and fragment facts for [`super::frag`].
//!
//! Lax: the IP length trims Ethernet padding; an IPv4 total length of 0 (a TSO/GSO super-packet
//! captured on the sending host) means "the whole frame"; bytes the header announces beyond
//! the capture are left for the TCP layer to report as missing. IPv6 extension headers are
//! walked (hop-by-hop, routing, fragment, destination options, AH, mobility, HIP, shim6);
//! an atomic fragment (RFC 6946) is read as unfragmented. Checksums and options other than
//! their lengths are not looked at; ESP is opaque; tunnels are counted, not opened.

use super::link::{Net, L3};
use super::NotTcp;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// IPv4 header (RFC 791 section 3.1).
const V4_VERSION_IHL: usize = 0;
const V4_TOTAL_LEN: usize = 2;
const V4_ID: usize = 4;
const V4_FLAGS_FRAG: usize = 6;
const V4_PROTOCOL: usize = 9;
const V4_SRC: usize = 12;
const V4_DST: usize = 16;
const V4_MIN_HEADER: usize = 20;
const V4_MF: u16 = 0x2000;
const V4_OFFSET_MASK: u16 = 0x1fff;

// IPv6 header (RFC 8200 section 3).
const V6_PAYLOAD_LEN: usize = 4;
const V6_NEXT_HEADER: usize = 6;
const V6_SRC: usize = 8;
const V6_DST: usize = 24;
pub(super) const V6_HEADER_LEN: usize = 40;

// IPv6 extension headers (IANA "IPv6 Extension Header Types").
const HOPOPT: u8 = 0;
const IPV6_ROUTE: u8 = 43;
const IPV6_FRAG: u8 = 44;
const ESP: u8 = 50;
const AH: u8 = 51;
const IPV6_NONXT: u8 = 59;
const IPV6_OPTS: u8 = 60;
const MOBILITY: u8 = 135;
const HIP: u8 = 139;
const SHIM6: u8 = 140;
/// Fragment header (RFC 8200 section 4.5): next header, reserved, offset/flags, identification.
const FRAG_HEADER_LEN: usize = 8;
const FRAG_OFFSET_FLAGS: usize = 2;
const FRAG_ID: usize = 4;
const FRAG_M: u16 = 0x0001;
const FRAG_OFFSET_MASK: u16 = 0xfff8;
/// Jumbo Payload option type (RFC 2675), first option of the hop-by-hop header.
const OPT_JUMBO: u8 = 0xc2;
const EXT_FIRST_OPTION: usize = 2;
/// Extension headers walked before giving up.
const MAX_EXT_HEADERS: usize = 16;

const PROTO_TCP: u8 = 6;

/// What the IP header carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Transport {
    Tcp,
    Other(&'static str),
}

/// A fragment: what reassembly needs beyond addresses.
#[derive(Copy, Clone, Debug)]
pub(super) struct FragInfo {
    pub id: u32,
    /// Byte offset of this fragment in the fragmentable part.
    pub offset: u32,
    pub more: bool,
    /// IPv4 header length, or 40 + the unfragmentable extension headers for IPv6.
    pub header_len: u32,
    /// The snapshot length cut this fragment.
    pub cut: bool,
}

/// An IP packet (or one fragment of one).
#[derive(Copy, Clone, Debug)]
pub(super) struct IpPacket<'a> {
    pub v6: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol, or the IPv6 upper-layer header (for a fragment: the fragment header's
    /// next header).
    pub proto: u8,
    pub transport: Transport,
    /// Transport bytes present (fragment bytes, for a fragment).
    pub payload: &'a [u8],
    /// Transport bytes the IP header announced.
    pub announced: u32,
    /// IPv4 total length, or 40 + IPv6 payload length.
    pub ip_len: u32,
    pub frag: Option<FragInfo>,
    pub atomic: bool,
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

#[inline(always)]
fn transport(proto: u8, v6: bool) -> Transport {
    Transport::Other(match proto {
        PROTO_TCP => return Transport::Tcp,
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        17 => "udp",
        33 => "dccp",
        41 => "ipv6 in ip",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        115 => "l2tp",
        132 => "sctp",
        136 => "udplite",
        _ if v6 => "ipv6 other",
        _ => "ipv4 other",
    })
}

/// The IP packet of a link layer. `cut` = bytes of the frame the snapshot length dropped.
#[inline(always)]
pub(super) fn decode(l3: L3<'_>, cut: u32) -> Result<IpPacket<'_>, NotTcp> {
    let b = l3.bytes;
    let version = b
        .first()
        .map(|v| v >> 4)
        .ok_or(NotTcp::Skip("truncated ip header"))?;
    match (l3.net, version) {
        (Net::V4 | Net::Any, 4) => v4(b, cut),
        (Net::V6 | Net::Any, 6) => v6(b, cut),
        _ => Err(NotTcp::Skip("bad ip version")),
    }
}

#[inline(always)]
fn v4(b: &[u8], cut: u32) -> Result<IpPacket<'_>, NotTcp> {
    if b.len() < V4_MIN_HEADER {
        return Err(NotTcp::Skip("truncated ipv4 header"));
    }
    let ihl = usize::from(b[V4_VERSION_IHL] & 0x0f) * 4;
    if ihl < V4_MIN_HEADER {
        return Err(NotTcp::Skip("bad ipv4 header length"));
    }
    let total = match be16(b, V4_TOTAL_LEN) {
        // TSO/GSO: the capturing host saw the packet before segmentation.
        0 => b.len().saturating_add(cut as usize),
        n => usize::from(n),
    };
    if total < ihl {
        return Err(NotTcp::Skip("bad ipv4 total length"));
    }
    if b.len() < ihl {
        return Err(NotTcp::Skip("truncated ipv4 header"));
    }
    let end = total.min(b.len());
    let payload = b.get(ihl..end).unwrap_or_default();
    let proto = b[V4_PROTOCOL];
    let ff = be16(b, V4_FLAGS_FRAG);
    let offset = u32::from(ff & V4_OFFSET_MASK) * 8;
    let more = ff & V4_MF != 0;
    let announced = (total - ihl) as u32;
    let frag = (more || offset != 0).then_some(FragInfo {
        id: u32::from(be16(b, V4_ID)),
        offset,
        more,
        header_len: ihl as u32,
        cut: (payload.len() as u32) < announced,
    });
    Ok(IpPacket {
        v6: false,
        src: IpAddr::V4(Ipv4Addr::from(be32(b, V4_SRC))),
        dst: IpAddr::V4(Ipv4Addr::from(be32(b, V4_DST))),
        proto,
        transport: transport(proto, false),
        payload,
        announced,
        ip_len: u32::try_from(total).unwrap_or(u32::MAX),
        frag,
        atomic: false,
    })
}

fn v6_addr(b: &[u8], at: usize) -> IpAddr {
    let mut a = [0u8; 16];
    if let Some(s) = b.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    IpAddr::V6(Ipv6Addr::from(a))
}

#[inline(always)]
fn v6(b: &[u8], cut: u32) -> Result<IpPacket<'_>, NotTcp> {
    if b.len() < V6_HEADER_LEN {
        return Err(NotTcp::Skip("truncated ipv6 header"));
    }
    let nh = b[V6_NEXT_HEADER];
    let total = match be16(b, V6_PAYLOAD_LEN) {
        0 if nh == HOPOPT && b.get(V6_HEADER_LEN + EXT_FIRST_OPTION) == Some(&OPT_JUMBO) => {
            return Err(NotTcp::Skip("ipv6 jumbogram"));
        }
        // GSO on the capturing host, as for IPv4.
        0 => b.len().saturating_add(cut as usize),
        n => V6_HEADER_LEN + usize::from(n),
    };
    let end = total.min(b.len());
    let present = b.get(..end).unwrap_or_default();
    let chain = ext_chain(nh, present, V6_HEADER_LEN, true)?;
    let announced = total.saturating_sub(chain.offset) as u32;
    let payload = present.get(chain.offset..).unwrap_or_default();
    let frag = chain.frag.map(|(id, offset, more)| FragInfo {
        id,
        offset,
        more,
        header_len: (chain.offset - FRAG_HEADER_LEN) as u32,
        cut: (payload.len() as u32) < announced,
    });
    Ok(IpPacket {
        v6: true,
        src: v6_addr(b, V6_SRC),
        dst: v6_addr(b, V6_DST),
        proto: chain.next,
        transport: transport(chain.next, true),
        payload,
        announced,
        ip_len: u32::try_from(total).unwrap_or(u32::MAX),
        frag,
        atomic: chain.atomic,
    })
}

/// Where the extension header chain ends.
struct Chain {
    /// The upper-layer protocol (or, after a fragment header, its next header).
    next: u8,
    /// Offset of the upper layer (or of the fragment data).
    offset: usize,
    /// (identification, offset, M) of a real fragment header; the walk stops there.
    frag: Option<(u32, u32, bool)>,
    atomic: bool,
}

/// Walks IPv6 extension headers in `b` (the packet up to its announced end) from `offset`.
fn ext_chain(mut next: u8, b: &[u8], mut offset: usize, allow_frag: bool) -> Result<Chain, NotTcp> {
    let mut atomic = false;
    for _ in 0..MAX_EXT_HEADERS {
        let len = match next {
            HOPOPT | IPV6_ROUTE | IPV6_OPTS | MOBILITY | HIP | SHIM6 => {
                b.get(offset + 1).map(|&l| (usize::from(l) + 1) * 8)
            }
            // RFC 4302 section 2.2: length in 4-byte units, minus 2.
            AH => b.get(offset + 1).map(|&l| (usize::from(l) + 2) * 4),
            IPV6_FRAG => Some(FRAG_HEADER_LEN),
            ESP => return Err(NotTcp::Other("esp")),
            IPV6_NONXT => return Err(NotTcp::Other("ipv6 no next header")),
            _ => {
                return Ok(Chain {
                    next,
                    offset,
                    frag: None,
                    atomic,
                })
            }
        };
        let end = len
            .and_then(|l| offset.checked_add(l))
            .filter(|&e| e <= b.len())
            .ok_or(NotTcp::Skip("truncated ipv6 extension header"))?;
        let this = next;
        next = b[offset];
        if this == IPV6_FRAG {
            let ff = be16(b, offset + FRAG_OFFSET_FLAGS);
            let frag_offset = u32::from(ff & FRAG_OFFSET_MASK);
            let more = ff & FRAG_M != 0;
            if frag_offset != 0 || more {
                if !allow_frag {
                    return Err(NotTcp::Skip("nested ipv6 fragment header"));
                }
                return Ok(Chain {
                    next,
                    offset: end,
                    frag: Some((be32(b, offset + FRAG_ID), frag_offset, more)),
                    atomic,
                });
            }
            atomic = true;
        }
        offset = end;
    }
    Err(NotTcp::Skip("too many ipv6 extension headers"))
}

/// The whole datagram reassembled from fragments: `first` is the fragment that completed it
/// (for addresses), `proto` the next header and `header_len` the header length of the first
/// fragment, `bytes` the reassembled fragmentable part.
pub(super) fn reassembled<'a>(
    first: &IpPacket<'_>,
    proto: u8,
    header_len: u32,
    bytes: &'a [u8],
) -> Result<IpPacket<'a>, NotTcp> {
    let (next, offset) = if first.v6 {
        let c = ext_chain(proto, bytes, 0, false)?;
        (c.next, c.offset)
    } else {
        (proto, 0)
    };
    let payload = bytes.get(offset..).unwrap_or_default();
    Ok(IpPacket {
        proto: next,
        transport: transport(next, first.v6),
        payload,
        announced: payload.len() as u32,
        ip_len: header_len.saturating_add(bytes.len() as u32),
        frag: None,
        atomic: false,
        v6: first.v6,
        src: first.src,
        dst: first.dst,
    })
}
