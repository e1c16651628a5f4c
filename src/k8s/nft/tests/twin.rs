//! A text ruleset and its `nft -j` twin walk to the same outcomes.

use super::{dnat, facts, summary};
use crate::k8s::nft::*;
use crate::k8s::walk::Verdict;

/// `nft list table ip kube-proxy` in block syntax, from domain.md 2.2 (the doc's lab listing,
/// completed with the base chains, `services` and `mark-for-masquerade` that section names).
const BLOCK: &str = r#"table ip kube-proxy { # handle 12
	comment "rules for kube-proxy"
	map service-ips { # handle 3
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
		elements = { 10.96.100.10 . tcp . 9080 : goto service-NKB2MNRK-default/reviews/tcp/http,
			     10.96.100.11 . tcp . 80 : drop }
	}
	map service-nodeports {
		type inet_proto . inet_service : verdict
		comment "NodePort traffic"
		elements = { tcp . 30080 : goto external-NKB2MNRK-default/reviews/tcp/http }
	}
	chain nat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump services # handle 20
	}
	chain services {
		ip daddr . meta l4proto . th dport vmap @service-ips
		fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
	}
	chain mark-for-masquerade {
		meta mark set meta mark | 0x00004000
	}
	chain service-NKB2MNRK-default/reviews/tcp/http {
		ip daddr 10.96.100.10 tcp dport 9080 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
		numgen random mod 2 vmap { 0 : goto endpoint-2PUXSQEZ-default/reviews/tcp/http__10.244.1.5/9080, 1 : goto endpoint-POGCNMFQ-default/reviews/tcp/http__10.244.1.6/9080 }
	}
	chain endpoint-2PUXSQEZ-default/reviews/tcp/http__10.244.1.5/9080 {
		ip saddr 10.244.1.5 jump mark-for-masquerade
		meta l4proto tcp dnat to 10.244.1.5:9080
	}
	chain endpoint-POGCNMFQ-default/reviews/tcp/http__10.244.1.6/9080 {
		ip saddr 10.244.1.6 jump mark-for-masquerade
		meta l4proto tcp dnat to 10.244.1.6:9080
	}
	chain external-NKB2MNRK-default/reviews/tcp/http {
		jump mark-for-masquerade
		goto service-NKB2MNRK-default/reviews/tcp/http
	}
}
"#;

/// The same ruleset as `nft -j list table`. Hand-made from domain.md 2.2's JSON lines (the
/// doc elides chain names with `…`; here they are written out), not captured from nft.
const JSON: &str = r#"{"nftables": [
{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
{"table": {"family": "ip", "name": "kube-proxy", "handle": 12, "comment": "rules for kube-proxy"}},
{"map": {"family": "ip", "name": "service-ips", "table": "kube-proxy", "type": ["ipv4_addr", "inet_proto", "inet_service"], "map": "verdict",
  "elem": [[{"concat": ["10.96.100.10", "tcp", 9080]}, {"goto": {"target": "service-NKB2MNRK-default/reviews/tcp/http"}}],
           [{"concat": ["10.96.100.11", "tcp", 80]}, {"drop": null}]]}},
{"map": {"family": "ip", "name": "service-nodeports", "table": "kube-proxy", "type": ["inet_proto", "inet_service"], "map": "verdict",
  "elem": [[{"concat": ["tcp", 30080]}, {"goto": {"target": "external-NKB2MNRK-default/reviews/tcp/http"}}]]}},
{"chain": {"family": "ip", "table": "kube-proxy", "name": "nat-prerouting", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
{"chain": {"family": "ip", "table": "kube-proxy", "name": "services", "handle": 2}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "nat-prerouting", "handle": 20, "expr": [{"jump": {"target": "services"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "services", "expr": [{"vmap": {"key": {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}}, {"meta": {"key": "l4proto"}}, {"payload": {"protocol": "th", "field": "dport"}}]}, "data": "@service-ips"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "services", "expr": [
  {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
  {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}},
  {"vmap": {"key": {"concat": [{"meta": {"key": "l4proto"}}, {"payload": {"protocol": "th", "field": "dport"}}]}, "data": "@service-nodeports"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "mark-for-masquerade", "expr": [{"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"|": [{"meta": {"key": "mark"}}, 16384]}}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "service-NKB2MNRK-default/reviews/tcp/http", "expr": [
  {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.96.100.10"}},
  {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 9080}},
  {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.244.0.0", "len": 16}}}},
  {"jump": {"target": "mark-for-masquerade"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "service-NKB2MNRK-default/reviews/tcp/http", "expr": [{"vmap": {"key": {"numgen": {"mode": "random", "mod": 2, "offset": 0}},
  "data": {"set": [[0, {"goto": {"target": "endpoint-2PUXSQEZ-default/reviews/tcp/http__10.244.1.5/9080"}}], [1, {"goto": {"target": "endpoint-POGCNMFQ-default/reviews/tcp/http__10.244.1.6/9080"}}]]}}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "endpoint-2PUXSQEZ-default/reviews/tcp/http__10.244.1.5/9080", "expr": [
  {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.244.1.5"}}, {"jump": {"target": "mark-for-masquerade"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "endpoint-2PUXSQEZ-default/reviews/tcp/http__10.244.1.5/9080", "expr": [
  {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"dnat": {"addr": "10.244.1.5", "port": 9080}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "endpoint-POGCNMFQ-default/reviews/tcp/http__10.244.1.6/9080", "expr": [
  {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.244.1.6"}}, {"jump": {"target": "mark-for-masquerade"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "endpoint-POGCNMFQ-default/reviews/tcp/http__10.244.1.6/9080", "expr": [
  {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"dnat": {"addr": "10.244.1.6", "port": 9080}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "external-NKB2MNRK-default/reviews/tcp/http", "expr": [{"jump": {"target": "mark-for-masquerade"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "external-NKB2MNRK-default/reviews/tcp/http", "expr": [{"goto": {"target": "service-NKB2MNRK-default/reviews/tcp/http"}}]}}
]}"#;

/// Statements without the display text and position of inline map elements.
fn shape(stmts: &[Stmt]) -> Vec<Stmt> {
    let mut v = stmts.to_vec();
    for s in &mut v {
        if let Stmt::Vmap {
            map: VmapRef::Inline(els),
            ..
        } = s
        {
            for e in els {
                e.text.clear();
                e.line = 0;
            }
        }
    }
    v
}

#[test]
fn block_syntax_and_json_twin_agree() {
    let text = parse_text(BLOCK).unwrap();
    let json = parse_json(JSON).unwrap();
    let tt = text.table("ip", "kube-proxy").unwrap();
    assert_eq!(
        tt.chain("nat-prerouting").unwrap().rules[0].handle,
        Some(20)
    );
    assert_eq!(tt.set("service-ips").unwrap().elements.len(), 2);
    assert_eq!(
        tt.set("service-ips").unwrap().key_type,
        ["ipv4_addr", "inet_proto", "inet_service"]
    );
    let jt = json.table("ip", "kube-proxy").unwrap();
    assert_eq!(jt.chains.len(), tt.chains.len());
    for c in &tt.chains {
        let j = jt.chain(&c.name).unwrap();
        assert_eq!(c.base, j.base, "{}", c.name);
        let ts: Vec<_> = c.rules.iter().map(|r| shape(&r.stmts)).collect();
        let js: Vec<_> = j.rules.iter().map(|r| shape(&r.stmts)).collect();
        assert_eq!(ts, js, "{}", c.name);
    }
    let mut node = facts("198.51.100.4:1234", "192.168.0.2:30080");
    node.dst_local = true;
    let cases = [
        facts("10.244.2.2:1000", "10.96.100.10:9080"),
        facts("198.51.100.4:1234", "10.96.100.10:9080"),
        facts("10.244.1.5:1000", "10.96.100.10:9080"),
        facts("10.244.2.2:1000", "10.96.100.11:80"),
        node,
    ];
    for f in &cases {
        assert_eq!(summary(&text, f), summary(&json, f), "{f:?}");
    }
    assert_eq!(
        summary(&json, &cases[0]),
        [
            (0.5, dnat("10.244.1.5", 9080), false),
            (0.5, dnat("10.244.1.6", 9080), false)
        ]
    );
    assert_eq!(summary(&json, &cases[3]), [(1.0, Verdict::Drop, false)]);
    assert_eq!(
        summary(&text, &cases[4]),
        [
            (0.5, dnat("10.244.1.5", 9080), true),
            (0.5, dnat("10.244.1.6", 9080), true)
        ]
    );
}
