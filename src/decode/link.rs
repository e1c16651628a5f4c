//! Link layers: from a frame of a given LINKTYPE_* to the IP packet inside it.
//!
//! Follows <https://www.tcpdump.org/linktypes.html> and libpcap's pcap-linktype(7): EN10MB (with
//! IEEE 802.1Q / 802.1ad / 0x9100 VLAN tags and MPLS label stacks, RFC 3032, and the RFC 4385
//! pseudowire control word), LINUX_SLL and LINUX_SLL2 (the `tcpdump -i any` headers), RAW in
//! its three numberings, IPV4, IPV6, NULL and LOOP (BSD loopback), and NFLOG (Linux
//! `nfnetlink_log`, as Wireshark's epan/dissectors/packet-nflog.c reads it).
//!
//! It does not look past the link header for anything but IPv4 and IPv6: ARP, LLDP, LLC and
//! the rest are named and counted. Nothing is copied; the IP packet is a subslice.

use super::NotTcp;

/// Which IP version the link header announced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Net {
    V4,
    V6,
    /// The link says "IP" only (RAW, MPLS): the version nibble decides.
    Any,
}

/// The network layer of a frame, with what the link header said about the capture point.
#[derive(Copy, Clone, Debug)]
pub(super) struct L3<'a> {
    pub net: Net,
    pub bytes: &'a [u8],
    pub if_index: Option<u32>,
    pub pkt_type: Option<u16>,
}

pub(super) const UNKNOWN_LINK_TYPE: NotTcp = NotTcp::Skip("unknown link type");

// LINKTYPE_* values.
const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
/// DLT_RAW on most systems written as is by old libpcap.
const LINKTYPE_RAW_12: u32 = 12;
/// DLT_RAW on OpenBSD.
const LINKTYPE_RAW_14: u32 = 14;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_IPV6: u32 = 229;
const LINKTYPE_NFLOG: u32 = 239;
const LINKTYPE_LINUX_SLL2: u32 = 276;

// Ethernet II (IEEE 802.3 clause 3).
const ETH_HEADER_LEN: usize = 14;
const ETH_TYPE: usize = 12;
/// A type/length field below this is an 802.3 length: LLC follows.
const ETH_MIN_ETHERTYPE: u16 = 0x0600;
/// VLAN tag: TCI (2 bytes), then the next EtherType.
const VLAN_TAG_LEN: usize = 4;
const VLAN_NEXT_TYPE: usize = 2;
/// Tags, labels and pseudowire headers followed in one frame before giving up.
const MAX_ENCAPSULATIONS: usize = 16;

// EtherTypes (IEEE registry).
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_WOL: u16 = 0x0842;
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_RARP: u16 = 0x8035;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_IPX: u16 = 0x8137;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_SLOW: u16 = 0x8809;
const ETHERTYPE_MPLS: u16 = 0x8847;
const ETHERTYPE_MPLS_MC: u16 = 0x8848;
const ETHERTYPE_PPPOE_DISC: u16 = 0x8863;
const ETHERTYPE_PPPOE_SESS: u16 = 0x8864;
const ETHERTYPE_EAPOL: u16 = 0x888e;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_LLDP: u16 = 0x88cc;
const ETHERTYPE_MACSEC: u16 = 0x88e5;
const ETHERTYPE_PTP: u16 = 0x88f7;
const ETHERTYPE_CFM: u16 = 0x8902;
const ETHERTYPE_LOOPBACK: u16 = 0x9000;
/// Pre-standard stacked VLAN tag.
const ETHERTYPE_VLAN_9100: u16 = 0x9100;

// MPLS label stack entry (RFC 3032 section 2.1): label 20, TC 3, S 1, TTL 8.
const MPLS_ENTRY_LEN: usize = 4;
const MPLS_BOS_BYTE: usize = 2;
const MPLS_BOS_BIT: u8 = 0x01;
/// RFC 4385 pseudowire control word, then an Ethernet frame (RFC 4448).
const PW_CONTROL_WORD_LEN: usize = 4;

// LINUX_SLL (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
const SLL_PKT_TYPE: usize = 0;
const SLL_ARPHRD: usize = 2;
const SLL_PROTOCOL: usize = 14;
const SLL_HEADER_LEN: usize = 16;
// LINUX_SLL2 (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
const SLL2_PROTOCOL: usize = 0;
const SLL2_IF_INDEX: usize = 4;
const SLL2_ARPHRD: usize = 8;
const SLL2_PKT_TYPE: usize = 10;
const SLL2_HEADER_LEN: usize = 20;
// ARPHRD_* (linux/if_arp.h) and the pseudo-protocols SLL uses with them (linux/if_ether.h).
const ARPHRD_NETLINK: u16 = 824;
const ARPHRD_IEEE80211_RADIOTAP: u16 = 803;
const ETH_P_802_3: u16 = 0x0001;
const ETH_P_AX25: u16 = 0x0002;
const ETH_P_802_2: u16 = 0x0004;
const ETH_P_CAN: u16 = 0x000c;
const ETH_P_CANFD: u16 = 0x000d;

// NULL / LOOP: a 4-byte address family.
const LOOP_HEADER_LEN: usize = 4;
const AF_INET: u32 = 2;
const AF_INET6_LINUX: u32 = 10;
const AF_INET6_NETBSD_OPENBSD: u32 = 24;
const AF_INET6_FREEBSD: u32 = 28;
const AF_INET6_DARWIN: u32 = 30;

// NFLOG (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html, linux/netfilter/nfnetlink_log.h).
const NFLOG_HEADER_LEN: usize = 4;
const NFLOG_TLV_HEADER_LEN: usize = 4;
const NFULA_PAYLOAD: u16 = 9;
/// Top bits of the TLV type are NLA_F_NESTED and NLA_F_NET_BYTEORDER.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// TLVs examined before giving up (a real NFLOG record has about ten).
const NFLOG_MAX_TLVS: usize = 64;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[inline(always)]
fn ip<'a>(net: Net, bytes: &'a [u8]) -> Result<L3<'a>, NotTcp> {
    Ok(L3 {
        net,
        bytes,
        if_index: None,
        pkt_type: None,
    })
}

/// The IP packet inside a frame of `link_type`.
#[inline(always)]
pub(super) fn decode(link_type: u32, data: &[u8]) -> Result<L3<'_>, NotTcp> {
    match link_type {
        LINKTYPE_ETHERNET => ethernet(data, 0),
        LINKTYPE_RAW | LINKTYPE_RAW_12 | LINKTYPE_RAW_14 => ip(Net::Any, data),
        LINKTYPE_IPV4 => ip(Net::V4, data),
        LINKTYPE_IPV6 => ip(Net::V6, data),
        LINKTYPE_LINUX_SLL => sll(data),
        LINKTYPE_LINUX_SLL2 => sll2(data),
        LINKTYPE_NULL => null(data),
        LINKTYPE_LOOP => {
            let family = be32(data, 0).ok_or(NotTcp::Skip("truncated loopback header"))?;
            loopback(family, data)
        }
        LINKTYPE_NFLOG => nflog(data),
        _ => Err(UNKNOWN_LINK_TYPE),
    }
}

/// Ethernet II header; `depth` counts encapsulations already followed (pseudowires nest).
#[inline(always)]
fn ethernet(data: &[u8], depth: usize) -> Result<L3<'_>, NotTcp> {
    let ty = be16(data, ETH_TYPE).ok_or(NotTcp::Skip("truncated ethernet header"))?;
    if ty < ETH_MIN_ETHERTYPE {
        // IEEE 802.3 length field: an LLC header (STP, CDP, SNAP...) follows.
        return Err(NotTcp::Other("llc"));
    }
    let rest = data.get(ETH_HEADER_LEN..).unwrap_or_default();
    ethertype(ty, rest, depth)
}

/// What follows an EtherType: VLAN tags and MPLS labels are followed, IP returned.
#[inline(always)]
fn ethertype(mut ty: u16, mut rest: &[u8], mut depth: usize) -> Result<L3<'_>, NotTcp> {
    loop {
        match ty {
            ETHERTYPE_IPV4 => return ip(Net::V4, rest),
            ETHERTYPE_IPV6 => return ip(Net::V6, rest),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_VLAN_9100 => {
                ty = be16(rest, VLAN_NEXT_TYPE).ok_or(NotTcp::Skip("truncated vlan tag"))?;
                rest = rest.get(VLAN_TAG_LEN..).unwrap_or_default();
                if ty < ETH_MIN_ETHERTYPE {
                    return Err(NotTcp::Other("llc"));
                }
            }
            ETHERTYPE_MPLS | ETHERTYPE_MPLS_MC => return mpls(rest, depth),
            _ => return Err(NotTcp::Other(ethertype_name(ty))),
        }
        depth += 1;
        if depth > MAX_ENCAPSULATIONS {
            return Err(NotTcp::Skip("too many vlan tags or mpls labels"));
        }
    }
}

/// MPLS label stack until bottom-of-stack, then IP by version nibble, or a pseudowire.
fn mpls(mut rest: &[u8], mut depth: usize) -> Result<L3<'_>, NotTcp> {
    loop {
        let entry = rest
            .get(..MPLS_ENTRY_LEN)
            .ok_or(NotTcp::Skip("truncated mpls label"))?;
        rest = rest.get(MPLS_ENTRY_LEN..).unwrap_or_default();
        if entry[MPLS_BOS_BYTE] & MPLS_BOS_BIT != 0 {
            break;
        }
        depth += 1;
        if depth > MAX_ENCAPSULATIONS {
            return Err(NotTcp::Skip("too many vlan tags or mpls labels"));
        }
    }
    // No protocol field: the first nibble tells (RFC 4385 section 3 reserves 0 for the
    // pseudowire control word, 1 for the associated channel).
    match rest.first().map(|b| b >> 4) {
        Some(4) | Some(6) => ip(Net::Any, rest),
        Some(0) if depth < MAX_ENCAPSULATIONS => {
            let inner = rest.get(PW_CONTROL_WORD_LEN..).unwrap_or_default();
            ethernet(inner, depth + 1).map_err(|e| match e {
                NotTcp::Skip(_) => NotTcp::Other("mpls pseudowire other"),
                other => other,
            })
        }
        Some(_) => Err(NotTcp::Other("mpls other")),
        None => Err(NotTcp::Skip("truncated mpls payload")),
    }
}

fn ethertype_name(ty: u16) -> &'static str {
    match ty {
        ETHERTYPE_ARP => "arp",
        ETHERTYPE_RARP => "rarp",
        ETHERTYPE_WOL => "wake-on-lan",
        ETHERTYPE_TEB => "transparent ethernet bridging",
        ETHERTYPE_IPX => "ipx",
        ETHERTYPE_SLOW => "lacp",
        ETHERTYPE_PPPOE_DISC | ETHERTYPE_PPPOE_SESS => "pppoe",
        ETHERTYPE_EAPOL => "eapol",
        ETHERTYPE_LLDP => "lldp",
        ETHERTYPE_MACSEC => "macsec",
        ETHERTYPE_PTP => "ptp",
        ETHERTYPE_CFM => "cfm",
        ETHERTYPE_LOOPBACK => "ethernet loopback",
        _ => "ethertype other",
    }
}

/// LINUX_SLL: packet type, ARPHRD, address length, address[8], protocol.
#[inline(always)]
fn sll(data: &[u8]) -> Result<L3<'_>, NotTcp> {
    if data.len() < SLL_HEADER_LEN {
        return Err(NotTcp::Skip("truncated linux sll header"));
    }
    let pkt_type = be16(data, SLL_PKT_TYPE);
    let arphrd = be16(data, SLL_ARPHRD).unwrap_or_default();
    let proto = be16(data, SLL_PROTOCOL).unwrap_or_default();
    let mut l3 = sll_protocol(
        arphrd,
        proto,
        data.get(SLL_HEADER_LEN..).unwrap_or_default(),
    )?;
    l3.pkt_type = pkt_type;
    Ok(l3)
}

/// LINUX_SLL2: protocol, reserved, interface index, ARPHRD, packet type, address length,
/// address[8].
#[inline(always)]
fn sll2(data: &[u8]) -> Result<L3<'_>, NotTcp> {
    if data.len() < SLL2_HEADER_LEN {
        return Err(NotTcp::Skip("truncated linux sll2 header"));
    }
    let proto = be16(data, SLL2_PROTOCOL).unwrap_or_default();
    let if_index = be32(data, SLL2_IF_INDEX);
    let arphrd = be16(data, SLL2_ARPHRD).unwrap_or_default();
    let pkt_type = data.get(SLL2_PKT_TYPE).map(|&b| u16::from(b));
    let mut l3 = sll_protocol(
        arphrd,
        proto,
        data.get(SLL2_HEADER_LEN..).unwrap_or_default(),
    )?;
    l3.if_index = if_index;
    l3.pkt_type = pkt_type;
    Ok(l3)
}

/// The SLL protocol field: an EtherType, or a Linux pseudo-protocol below 0x0600.
fn sll_protocol(arphrd: u16, proto: u16, rest: &[u8]) -> Result<L3<'_>, NotTcp> {
    match arphrd {
        ARPHRD_NETLINK => return Err(NotTcp::Other("netlink")),
        ARPHRD_IEEE80211_RADIOTAP => return Err(NotTcp::Other("802.11")),
        _ => {}
    }
    match proto {
        ETH_P_802_2 => Err(NotTcp::Other("llc")),
        ETH_P_802_3 => Err(NotTcp::Other("802.3 raw")),
        ETH_P_AX25 => Err(NotTcp::Other("ax.25")),
        ETH_P_CAN | ETH_P_CANFD => Err(NotTcp::Other("can")),
        p if p < ETH_MIN_ETHERTYPE => Err(NotTcp::Other("sll protocol other")),
        p => ethertype(p, rest, 0),
    }
}

/// NULL: the family is in the writer's byte order. Every family value is below 256, so a
/// non-zero low byte of the little-endian reading tells a little-endian writer.
fn null(data: &[u8]) -> Result<L3<'_>, NotTcp> {
    let raw = data
        .get(..LOOP_HEADER_LEN)
        .ok_or(NotTcp::Skip("truncated loopback header"))?;
    let le = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let family = if le & 0xffff_0000 == 0 {
        le
    } else {
        le.swap_bytes()
    };
    loopback(family, data)
}

fn loopback(family: u32, data: &[u8]) -> Result<L3<'_>, NotTcp> {
    let rest = data.get(LOOP_HEADER_LEN..).unwrap_or_default();
    match family {
        AF_INET => ip(Net::V4, rest),
        AF_INET6_LINUX | AF_INET6_NETBSD_OPENBSD | AF_INET6_FREEBSD | AF_INET6_DARWIN => {
            ip(Net::V6, rest)
        }
        _ => Err(NotTcp::Other("loopback family other")),
    }
}

/// NFLOG: family, version, resource id, then TLVs (length and type in the logging host's
/// byte order, little endian in practice; length includes the TLV header; padded to 4).
/// The packet is the NFULA_PAYLOAD TLV; which IP version is told by its nibble, as the family
/// may be AF_UNSPEC for bridge logging.
fn nflog(data: &[u8]) -> Result<L3<'_>, NotTcp> {
    let mut rest = data
        .get(NFLOG_HEADER_LEN..)
        .ok_or(NotTcp::Skip("truncated nflog header"))?;
    // Little endian unless that reading of the first TLV length cannot be right.
    let big = match rest.get(..2) {
        Some(&[a, b]) => {
            let le = usize::from(u16::from_le_bytes([a, b]));
            let be = usize::from(u16::from_be_bytes([a, b]));
            (le < NFLOG_TLV_HEADER_LEN || le > rest.len())
                && (NFLOG_TLV_HEADER_LEN..=rest.len()).contains(&be)
        }
        _ => false,
    };
    let read = |b: &[u8], at: usize| -> Option<u16> {
        let s = b.get(at..at + 2)?;
        Some(if big {
            u16::from_be_bytes([s[0], s[1]])
        } else {
            u16::from_le_bytes([s[0], s[1]])
        })
    };
    for _ in 0..NFLOG_MAX_TLVS {
        let (Some(len), Some(ty)) = (read(rest, 0), read(rest, 2)) else {
            break;
        };
        let len = usize::from(len);
        if len < NFLOG_TLV_HEADER_LEN {
            return Err(NotTcp::Skip("bad nflog tlv length"));
        }
        if ty & NLA_TYPE_MASK == NFULA_PAYLOAD {
            // A payload cut by the snapshot length ends with the frame.
            let end = len.min(rest.len());
            return ip(
                Net::Any,
                rest.get(NFLOG_TLV_HEADER_LEN..end).unwrap_or_default(),
            );
        }
        let padded = len.checked_add(3).map(|l| l & !3).unwrap_or(usize::MAX);
        rest = match rest.get(padded..) {
            Some(r) => r,
            None => break,
        };
    }
    Err(NotTcp::Skip("nflog without payload"))
}
