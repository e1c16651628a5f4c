//! The small value types rules are made of: CIDR blocks, port ranges and mark/mask pairs, with
//! the spellings iptables-save prints and iptables-restore accepts.
//!
//! Follows libxtables' `xtables_ipparse_any` / `xtables_parse_port` spellings: `10.0.0.1`,
//! `10.0.0.0/8`, `10.0.0.0/255.0.0.0` (old iptables-save), `::1/128`, `::127.0.0.53/128`;
//! ports `80` or `1000:2000` (also `1000-2000` in REDIRECT/DNAT); marks `0x4000`, `1337`,
//! `0x4000/0x4000`. Host names and service names are not resolved (saved output never has them).

use std::fmt;
use std::net::IpAddr;

/// An address block from `-s`/`-d` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `A`, `A/len` or `A/dotted-mask`; None when it is none of these.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max => n,
                Ok(_) => return None,
                Err(_) => match (addr, p.parse::<IpAddr>().ok()?) {
                    (IpAddr::V4(_), IpAddr::V4(m)) => contiguous_prefix(u32::from(m) as u128, 32)?,
                    (IpAddr::V6(_), IpAddr::V6(m)) => contiguous_prefix(u128::from(m), 128)?,
                    _ => return None,
                },
            },
        };
        Some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside this block (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = prefix_mask(self.prefix, 32) as u32;
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = prefix_mask(self.prefix, 128);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Mask of the top `prefix` bits of a `width`-bit value, in the low bits of a u128.
fn prefix_mask(prefix: u8, width: u32) -> u128 {
    let prefix = u32::from(prefix).min(width);
    if prefix == 0 {
        return 0;
    }
    let ones: u128 = if prefix == 128 {
        u128::MAX
    } else {
        (1u128 << prefix) - 1
    };
    ones << (width - prefix)
}

/// Prefix length of a dotted mask, None when its ones are not contiguous.
fn contiguous_prefix(mask: u128, width: u32) -> Option<u8> {
    let ones = mask.count_ones();
    if ones > width {
        return None;
    }
    if prefix_mask(ones as u8, width) == mask {
        Some(ones as u8)
    } else {
        None
    }
}

/// A port or inclusive port range (`80`, `1000:2000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Parses `N`, `N:M` or `N-M` (an open end, `:M` or `N:`, means 0 or 65535 as in libxtables).
    pub fn parse(s: &str) -> Option<PortRange> {
        let (a, b) = match s.split_once([':', '-']) {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let first = if a.is_empty() && b.is_some() {
            0
        } else {
            a.parse().ok()?
        };
        let last = match b {
            None => first,
            Some("") => u16::MAX,
            Some(b) => b.parse().ok()?,
        };
        (first <= last).then_some(PortRange { first, last })
    }

    pub fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }

    /// The single port, when this is not a range.
    pub fn single(&self) -> Option<u16> {
        (self.first == self.last).then_some(self.first)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.single() {
            Some(p) => write!(f, "{p}"),
            None => write!(f, "{}:{}", self.first, self.last),
        }
    }
}

/// Parses a mark number, hex (`0x4000`) or decimal (`1337`).
pub fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses `V` or `V/M`; a missing mask is all ones.
pub fn parse_mark(s: &str) -> Option<(u32, u32)> {
    match s.split_once('/') {
        Some((v, m)) => Some((parse_u32(v)?, parse_u32(m)?)),
        None => Some((parse_u32(s)?, u32::MAX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_spellings() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.180.0.1".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        assert_eq!(
            Cidr::parse("172.30.0.41").unwrap().to_string(),
            "172.30.0.41/32"
        );
        assert_eq!(Cidr::parse("10.0.0.0/255.0.0.0"), Cidr::parse("10.0.0.0/8"));
        assert_eq!(Cidr::parse("10.0.0.0/255.0.255.0"), None);
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        let v6 = Cidr::parse("::127.0.0.53/128").unwrap();
        assert!(v6.contains("::7f00:35".parse().unwrap()));
        assert!(Cidr::parse("::/0")
            .unwrap()
            .contains("fd00::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        let c = Cidr::parse("203.0.113.0/25").unwrap();
        assert!(c.contains("203.0.113.127".parse().unwrap()));
        assert!(!c.contains("203.0.113.128".parse().unwrap()));
        assert_eq!(Cidr::parse("nope"), None);
    }

    #[test]
    fn ports_and_marks() {
        assert_eq!(PortRange::parse("80").unwrap().single(), Some(80));
        let r = PortRange::parse("1000:2000").unwrap();
        assert!(r.contains(1500) && !r.contains(2001));
        assert_eq!(PortRange::parse("20-10"), None);
        assert_eq!(PortRange::parse(":10").unwrap().first, 0);
        assert_eq!(PortRange::parse("x"), None);
        assert_eq!(parse_mark("0x4000/0x4000"), Some((0x4000, 0x4000)));
        assert_eq!(parse_mark("1337"), Some((1337, u32::MAX)));
        assert_eq!(parse_mark("0x539/0xfff"), Some((0x539, 0xfff)));
        assert_eq!(parse_mark("zz"), None);
    }
}
