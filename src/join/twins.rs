//! Views of one TCP connection at several places: before and after kube-proxy's NAT in one
//! node capture, or at both ends of a pod-to-pod leg captured in two pods (domain.md 7.5 R1,
//! 7.6 S4).
//!
//! NAT rewrites addresses and ports but never sequence numbers or TCP timestamps, so the
//! client SYN's (ISN, TSval) identifies a connection across NAT; a proxy (Envoy) opens a new
//! connection with a new ISN, so twins never cross a sidecar. A 32-bit ISN alone could
//! collide in a large capture; the TSval (when the option is on, as on Linux by default) and
//! the SYN times (within `SKEW` of each other) make a false match vanishingly unlikely.

use crate::model::Connection;
use std::collections::HashMap;

/// Largest difference of SYN times between two views of one connection: NAT forwards within
/// microseconds; captures on different machines may differ by clock skew.
pub const SKEW_NS: i64 = 2_000_000_000;

/// For each connection (by index into `conns`), the other connections that are views of it.
pub fn twins(conns: &[&Connection]) -> Vec<Vec<usize>> {
    let mut by_print: HashMap<(u32, Option<u32>), Vec<usize>> = HashMap::new();
    for (i, c) in conns.iter().enumerate() {
        if let Some(p) = c.stats.syn_print {
            by_print.entry((p.isn, p.tsval)).or_default().push(i);
        }
    }
    let mut out = vec![Vec::new(); conns.len()];
    for group in by_print.values().filter(|g| g.len() > 1) {
        for &i in group {
            for &j in group {
                if i != j && same_time(conns[i], conns[j]) {
                    out[i].push(j);
                }
            }
        }
    }
    out
}

fn same_time(a: &Connection, b: &Connection) -> bool {
    match (a.stats.syn, b.stats.syn) {
        (Some(x), Some(y)) => x.since(y).abs() <= SKEW_NS,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppInfo, ConnStats, EndReason, RoleSource, SynPrint, Timestamp};

    fn conn(client: &str, server: &str, isn: u32, at_ms: i64) -> Connection {
        Connection {
            id: 1,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            roles: RoleSource::Handshake,
            stats: ConnStats {
                syn: Some(Timestamp::from_nanos(at_ms * 1_000_000)),
                syn_print: Some(SynPrint {
                    isn,
                    tsval: Some(99),
                }),
                ..ConnStats::default()
            },
            end: EndReason::Fin,
            app: AppInfo::Unknown,
            interface: None,
            original_dst: None,
        }
    }

    #[test]
    fn pre_and_post_nat_views_are_twins_and_strangers_are_not() {
        // domain.md 3.7, node capture of a NodePort request: same seq 2031844537.
        let pre = conn("192.168.50.20:54396", "192.168.50.10:30080", 2031844537, 0);
        let post = conn("10.244.1.1:31815", "10.244.1.6:9080", 2031844537, 0);
        let other = conn("192.168.50.20:54400", "192.168.50.10:30080", 12345, 0);
        let later = conn(
            "192.168.50.21:1000",
            "192.168.50.10:30080",
            2031844537,
            60_000,
        );
        let t = twins(&[&pre, &post, &other, &later]);
        assert_eq!(t, vec![vec![1], vec![0], vec![], vec![]]);
    }
}
