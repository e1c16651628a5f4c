//! The ClientIP affinity lists of kube-proxy's `-m recent` rules, as the kernel shows them in
//! `/proc/net/xt_recent/<NAME>` (one file per list, per netns). A bundle keeps them all in one
//! file, each list after a `== NAME` line (what `for f in /proc/net/xt_recent/*; do echo "==
//! ${f##*/}"; cat "$f"; done` prints; `hopscope snapshot` writes it so).
//!
//! Each entry line is `src=IP ttl: T last_seen: J oldest_pkt: N J1, J2, …` (xt_recent's
//! `recent_seq_show`). Times are in jiffies since boot, which a capture cannot be compared
//! with; so an address in a list is taken as "this client is pinned to the list's endpoint"
//! (the snapshot is taken right after the capture; kube-proxy's timeout is 3 hours).

use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {expected}")]
pub struct RecentError {
    pub line: usize,
    pub expected: &'static str,
}

/// List name → the source addresses it holds.
pub fn parse(text: &str) -> Result<BTreeMap<String, Vec<IpAddr>>, RecentError> {
    let mut lists: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix("==") {
            let name = name.trim();
            if name.is_empty() {
                return Err(RecentError {
                    line: i + 1,
                    expected: "a list name after ==",
                });
            }
            lists.entry(name.to_string()).or_default();
            current = Some(name.to_string());
            continue;
        }
        let Some(addr) = line.strip_prefix("src=") else {
            return Err(RecentError {
                line: i + 1,
                expected: "`== NAME` or `src=IP …`",
            });
        };
        let ip = addr.split_whitespace().next().unwrap_or("");
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return Err(RecentError {
                line: i + 1,
                expected: "an IP address after src=",
            });
        };
        let Some(name) = &current else {
            return Err(RecentError {
                line: i + 1,
                expected: "a `== NAME` line before the entries",
            });
        };
        lists.entry(name.clone()).or_default().push(ip);
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the kernel lab (tests/lab), `/proc/net/xt_recent/KUBE-SEP-IH5336KVFKZSXU6H`.
    const LAB: &str = "== KUBE-SEP-IH5336KVFKZSXU6H
src=10.244.1.7 ttl: 64 last_seen: 4295483623 oldest_pkt: 3 4295483533, 4295483570, 4295483623
src=10.244.1.6 ttl: 64 last_seen: 4295483669 oldest_pkt: 2 4295483662, 4295483669
src=192.168.50.20 ttl: 64 last_seen: 4295483648 oldest_pkt: 1 4295483648
== KUBE-SEP-EMPTY
";

    #[test]
    fn lists_and_their_sources() {
        let l = parse(LAB).unwrap();
        assert_eq!(l.len(), 2);
        let ips: Vec<String> = l["KUBE-SEP-IH5336KVFKZSXU6H"]
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ips, ["10.244.1.7", "10.244.1.6", "192.168.50.20"]);
        assert!(l["KUBE-SEP-EMPTY"].is_empty());
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("src=10.0.0.1 ttl: 1").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("== A\nsrc=nope").unwrap_err();
        assert_eq!(e.to_string(), "line 2: an IP address after src=");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }
    }
}
