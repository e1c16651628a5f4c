//! Fixture tests: kube-proxy's own nftables transaction (pkg/proxy/nftables/proxier_test.go,
//! Apache-2.0) and istio-cni's ambient goldens, then hand-written cases.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;

use super::kube::{kube_services, FrontendKind};
use super::*;
use crate::k8s::walk::{Facts, Hook, Proto, Verdict};

mod twin;

const KUBE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/third-party/nft/kube-proxy-nftables-overall-transaction.nft"
));
const AMBIENT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/third-party/nft/istio-cni-ambient-nftables-default.golden"
));
const AMBIENT6: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/third-party/nft/istio-cni-ambient-nftables-default_ipv6.golden"
));
const INGRESS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/third-party/nft/istio-cni-ambient-nftables-ingress.golden"
));

fn facts(src: &str, dst: &str) -> Facts {
    Facts::tcp_in(src.parse().unwrap(), dst.parse().unwrap())
}

fn dnat(a: &str, p: u16) -> Verdict {
    Verdict::Dnat {
        addr: a.parse().unwrap(),
        port: Some(p),
    }
}

/// (probability, verdict, masquerade) of each outcome.
fn summary(rs: &NftRuleset, f: &Facts) -> Vec<(f64, Verdict, bool)> {
    rs.walk(f)
        .into_iter()
        .map(|o| (o.probability, o.verdict, o.masquerade))
        .collect()
}

#[test]
fn kube_transaction_parses() {
    let rs = parse_text(KUBE).unwrap();
    assert_eq!(rs.tables.len(), 1);
    let t = rs.table("ip", "kube-proxy").unwrap();
    assert_eq!(t.comment.as_deref(), Some("rules for kube-proxy"));
    assert_eq!(t.chains.len(), 32);
    assert_eq!(t.sets.len(), 8);
    let rules: usize = t.chains.iter().map(|c| c.rules.len()).sum();
    assert_eq!(rules, 57);
    assert_eq!(t.set("service-ips").unwrap().elements.len(), 9);
    assert_eq!(t.set("service-nodeports").unwrap().elements.len(), 3);
    assert_eq!(t.set("no-endpoint-services").unwrap().elements.len(), 3);
    let ne = &t.set("no-endpoint-services").unwrap().elements[0];
    assert_eq!(ne.comment.as_deref(), Some("ns2/svc2:p80"));
    assert_eq!(ne.data, Some(ElemData::Verdict(NftVerdict::Drop)));
    let aff = t
        .set("affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80")
        .unwrap();
    assert_eq!(aff.timeout_secs, Some(10800));
    assert_eq!(aff.flags, vec!["dynamic", "timeout"]);
    let nat = t.chain("nat-prerouting").unwrap().base.as_ref().unwrap();
    assert_eq!(
        (nat.kind.as_str(), nat.hook.as_str(), nat.priority),
        ("nat", "prerouting", -100)
    );
    let ep = t
        .chain("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80")
        .unwrap();
    assert_eq!(
        ep.rules[1].stmts,
        vec![
            Stmt::Match {
                left: vec![Expr::L4proto],
                op: MatchOp::Eq,
                right: Value::Word("tcp".into())
            },
            Stmt::Dnat {
                addr: Some("10.180.0.1".parse().unwrap()),
                port: Some(80)
            }
        ]
    );
    assert_eq!(ep.rules[1].text, "meta l4proto tcp dnat to 10.180.0.1:80");
    let mm = &t.chain("mark-for-masquerade").unwrap().rules[0];
    assert_eq!(mm.stmts, vec![Stmt::MarkSet(MarkOp::Or(0x4000))]);
    // No statement of kube-proxy's rules is left unread.
    for c in &t.chains {
        for r in &c.rules {
            assert!(
                !r.stmts.iter().any(|s| matches!(s, Stmt::Other(_))),
                "{}: {}",
                c.name,
                r.text
            );
        }
    }
}

#[test]
fn kube_view_of_the_six_services() {
    let rs = parse_text(KUBE).unwrap();
    let svcs = kube_services(&rs);
    let names: Vec<&str> = svcs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ns1/svc1/tcp/p80",
            "ns2/svc2/tcp/p80",
            "ns3/svc3/tcp/p80",
            "ns4/svc4/tcp/p80",
            "ns5/svc5/tcp/p80"
        ]
    );
    for s in &svcs {
        // Every chain name carries kube-proxy's hash of its name.
        assert_eq!(
            s.chain,
            format!("service-{}", kube::chain_name_base(&s.name))
        );
        for e in &s.endpoints {
            assert!(e.name_agrees, "{}", e.chain);
            let base = e.chain.strip_prefix("endpoint-").unwrap();
            let n = base.split_once('-').unwrap().1;
            assert_eq!(base, kube::chain_name_base(n));
        }
    }
    let svc2 = &svcs[1];
    let kinds: Vec<_> = svc2
        .frontends
        .iter()
        .map(|f| (f.kind.clone(), f.port))
        .collect();
    assert_eq!(
        kinds,
        [
            (FrontendKind::ClusterIp, 80),
            (FrontendKind::ExternalIp, 80),
            (FrontendKind::ExternalIp, 80),
            (FrontendKind::NodePort, 3001)
        ]
    );
    assert_eq!(svcs[3].endpoints.len(), 2);
    assert!(svcs[3].endpoints.iter().all(|e| e.share == 0.5));
    assert_eq!(svcs[4].affinity_timeout_secs, Some(10800));
    assert!(svcs[4].firewall_chain.is_some());
}

#[test]
fn kube_walk_cluster_ips() {
    let rs = parse_text(KUBE).unwrap();
    let pod = "10.0.1.1:40000";
    let outside = "192.168.0.9:40000";
    for (vip, ep) in [
        ("172.30.0.41:80", "10.180.0.1"),
        ("172.30.0.42:80", "10.180.0.2"),
        ("172.30.0.43:80", "10.180.0.3"),
        ("172.30.0.45:80", "10.180.0.3"),
    ] {
        assert_eq!(
            summary(&rs, &facts(pod, vip)),
            [(1.0, dnat(ep, 80), false)],
            "{vip}"
        );
        // From outside the cluster CIDR: masquerade.
        assert_eq!(
            summary(&rs, &facts(outside, vip)),
            [(1.0, dnat(ep, 80), true)],
            "{vip}"
        );
    }
    // svc4: two endpoints, 1/2 each, in address order.
    assert_eq!(
        summary(&rs, &facts(pod, "172.30.0.44:80")),
        [
            (0.5, dnat("10.180.0.4", 80), false),
            (0.5, dnat("10.180.0.5", 80), false)
        ]
    );
    // Hairpin: the endpoint itself calls its service.
    assert_eq!(
        summary(&rs, &facts("10.180.0.1:5555", "172.30.0.41:80")),
        [(1.0, dnat("10.180.0.1", 80), true)]
    );
    // svc6 has no endpoints: nat leaves it (filter's no-endpoint-services rejects it).
    assert_eq!(
        summary(&rs, &facts(pod, "172.30.0.46:80")),
        [(1.0, Verdict::Accept, false)]
    );
    // A port the service does not have.
    assert_eq!(
        summary(&rs, &facts(pod, "172.30.0.41:81"))[0].1,
        Verdict::Accept
    );
    let steps: Vec<String> = rs.walk(&facts(pod, "172.30.0.41:80"))[0]
        .steps
        .iter()
        .map(|s| s.chain.clone())
        .collect();
    assert_eq!(
        steps,
        [
            "nat-prerouting",
            "services",
            "service-ips",
            "service-ULMVA6XW-ns1/svc1/tcp/p80",
            "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
        ]
    );
}

#[test]
fn kube_walk_external_nodeport_lb_and_affinity() {
    let rs = parse_text(KUBE).unwrap();
    let outside = "203.0.113.7:40000";
    // svc2 eTP=Local with no local endpoints: external traffic is not DNATed.
    assert_eq!(
        summary(&rs, &facts(outside, "192.168.99.22:80")),
        [(1.0, Verdict::Accept, false)]
    );
    // ...but pod traffic short-circuits to the service chain.
    assert_eq!(
        summary(&rs, &facts("10.0.3.3:1000", "1.2.3.4:80")),
        [(1.0, dnat("10.180.0.2", 80), false)]
    );
    // ...and so does local traffic, masqueraded.
    let mut local = facts("192.168.0.2:1000", "1.2.3.4:80");
    local.src_local = true;
    assert_eq!(summary(&rs, &local), [(1.0, dnat("10.180.0.2", 80), true)]);
    // svc3 NodePort 3003 on the node IP (in @nodeport-ips).
    assert_eq!(
        summary(&rs, &facts(outside, "192.168.0.2:3003")),
        [(1.0, dnat("10.180.0.3", 80), true)]
    );
    // Not a nodeport address.
    assert_eq!(
        summary(&rs, &facts(outside, "192.168.0.3:3003"))[0].1,
        Verdict::Accept
    );
    // svc4 external IP: masquerade, 1/2 each.
    assert_eq!(
        summary(&rs, &facts(outside, "192.168.99.33:80")),
        [
            (0.5, dnat("10.180.0.4", 80), true),
            (0.5, dnat("10.180.0.5", 80), true)
        ]
    );
    // svc5 LB IP and NodePort 3002; its endpoint updates the affinity set.
    for dst in ["5.6.7.8:80", "192.168.0.2:3002"] {
        let o = rs.walk(&facts(outside, dst));
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].verdict, dnat("10.180.0.3", 80));
        assert!(o[0].masquerade);
        let a = o[0].affinity.as_ref().unwrap();
        assert_eq!(a.name, "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80");
        assert_eq!(a.timeout_secs, 10800);
    }
    // A hit in the affinity set goes straight to the endpoint chain.
    let mut f = facts("10.0.0.5:1", "172.30.0.45:80");
    f.affinity_hits = vec!["affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80".into()];
    let o = rs.walk(&f);
    assert!(o[0]
        .steps
        .iter()
        .any(|s| s.rule.starts_with("ip saddr @affinity-")));
    // OUTPUT from the node: nat-output jumps services too.
    let mut out = facts("192.168.0.2:1", "172.30.0.43:80");
    out.hook = Hook::Output;
    assert_eq!(summary(&rs, &out), [(1.0, dnat("10.180.0.3", 80), true)]);
    // IPv6 facts never enter an `ip` table.
    let v6 = facts("[fd00::1]:1", "[fd00::2]:80");
    assert_eq!(summary(&rs, &v6), [(1.0, Verdict::Accept, false)]);
}

#[test]
fn ambient_goldens_parse_and_walk() {
    for (text, tables, nat_rules) in [(AMBIENT, 3, 10), (AMBIENT6, 3, 16), (INGRESS, 2, 6)] {
        let rs = parse_text(text).unwrap();
        assert_eq!(rs.tables.len(), tables);
        let nat = rs.table("inet", "istio-ambient-nat").unwrap();
        let n: usize = nat.chains.iter().map(|c| c.rules.len()).sum();
        assert_eq!(n, nat_rules);
        let mangle = rs.table("inet", "istio-ambient-mangle").unwrap();
        let out = mangle.chain("output").unwrap().base.as_ref().unwrap();
        assert_eq!((out.kind.as_str(), out.priority), ("route", -150));
    }
    let rs = parse_text(AMBIENT).unwrap();
    // Inbound to the app port: redirected to ztunnel's 15006 in the pod netns.
    let o = rs.walk(&facts("10.0.0.9:1000", "10.0.0.20:8080"));
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].verdict, Verdict::Redirect { port: 15006 });
    // HBONE 15008 is not redirected; nor are kubelet probes from 169.254.7.127.
    assert_eq!(
        rs.walk(&facts("10.0.0.9:1000", "10.0.0.20:15008"))[0].verdict,
        Verdict::Accept
    );
    assert_eq!(
        rs.walk(&facts("169.254.7.127:1000", "10.0.0.20:8080"))[0].verdict,
        Verdict::Accept
    );
    // Packets ztunnel itself sends (mark 0x539) pass.
    let mut z = facts("10.0.0.9:1000", "10.0.0.20:8080");
    z.mark = 0x539;
    assert_eq!(rs.walk(&z)[0].verdict, Verdict::Accept);
    // Outbound from the app: to 15001; DNS to 15053.
    let mut app = facts("10.0.0.20:40000", "10.96.0.50:80");
    app.hook = Hook::Output;
    app.out_iface = Some("eth0".into());
    assert_eq!(rs.walk(&app)[0].verdict, Verdict::Redirect { port: 15001 });
    app.proto = Proto::Udp;
    app.dport = 53;
    assert_eq!(rs.walk(&app)[0].verdict, Verdict::Redirect { port: 15053 });
    // IPv6 golden: inbound v6 redirected by the ip6 rule.
    let rs6 = parse_text(AMBIENT6).unwrap();
    let o = rs6.walk(&facts("[fd00::9]:1000", "[fd00::20]:8080"));
    assert_eq!(o[0].verdict, Verdict::Redirect { port: 15006 });
    let mut lo = facts("[fd00::9]:1000", "[::1]:8080");
    lo.dst = "::1".parse::<IpAddr>().unwrap();
    assert_eq!(rs6.walk(&lo)[0].verdict, Verdict::Accept);
}

#[test]
fn json_errors_give_a_pointer() {
    let e = |s: &str| parse_json(s).unwrap_err().to_string();
    assert_eq!(e("[]"), "/: expected an object");
    assert_eq!(e(r#"{"x": 1}"#), "/nftables: expected an array");
    assert_eq!(e(r#"{"nftables": [1]}"#), "/nftables/0: expected an object");
    assert_eq!(
        e(
            r#"{"nftables": [{"metainfo": {}}, {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"accept": null}, 3]}}]}"#
        ),
        "/nftables/1/rule/expr/1: expected an object"
    );
    assert_eq!(
        e(r#"{"nftables": [{"rule": {"family": "ip", "table": "t"}}]}"#),
        "/nftables/0/rule/chain: expected a string"
    );
    // Unknown statements are kept, not refused.
    let rs = parse_json(r#"{"nftables": [{"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"flow": {"op": "add"}}]}}]}"#).unwrap();
    assert!(matches!(
        rs.tables[0].chains[0].rules[0].stmts[0],
        Stmt::Other(_)
    ));
}

#[test]
fn text_errors_name_the_line() {
    let e = |s: &str| parse_text(s).unwrap_err().to_string();
    assert_eq!(
        e("table ip t {\n chain c {\n"),
        "line 2: expected '}' closing the chain"
    );
    assert!(e("\n\nfoo bar\n").starts_with("line 3: expected a table block"));
    assert!(e("add gadget ip t x\n").starts_with("line 1: expected table, chain"));
    assert!(
        e("table ip t {\n chain c {\n type nat hook output priority bogus;\n }\n}\n")
            .starts_with("line 3: expected a numeric or named priority")
    );
}

#[test]
fn transaction_commands_apply_in_order() {
    let rs = parse_text(
        "add table ip t\nadd chain ip t c { type nat hook output priority dstnat - 10 ; policy drop ; }\n\
         add rule ip t c tcp dport 80 accept\ninsert rule ip t c udp dport 53 drop\n\
         add set ip t s { type ipv4_addr ; }\nadd element ip t s { 1.1.1.1, 2.2.2.2 }\n\
         delete element ip t s { 1.1.1.1 }\nadd chain ip t gone\ndelete chain ip t gone\n",
    )
    .unwrap();
    let t = rs.table("ip", "t").unwrap();
    let c = t.chain("c").unwrap();
    assert_eq!(c.base.as_ref().unwrap().priority, -110);
    assert_eq!(c.base.as_ref().unwrap().policy.as_deref(), Some("drop"));
    assert_eq!(c.rules[0].text, "udp dport 53 drop");
    assert_eq!(t.set("s").unwrap().elements.len(), 1);
    assert!(t.chain("gone").is_none());
    // policy drop: what no rule accepts is dropped.
    let mut f = facts("1.1.1.1:1", "2.2.2.2:81");
    f.hook = Hook::Output;
    assert_eq!(summary(&rs, &f), [(1.0, Verdict::Drop, false)]);
    f.dport = 80;
    assert_eq!(summary(&rs, &f), [(1.0, Verdict::Accept, false)]);
    let flushed =
        parse_text("add table ip t\nadd chain ip t c\nadd rule ip t c accept\nflush table ip t\n")
            .unwrap();
    assert!(flushed.tables[0].chains[0].rules.is_empty());
}

#[test]
fn loops_and_fanout_are_bounded() {
    let rs = parse_text(
        "table ip t {\n chain pre { type nat hook prerouting priority -100;\n jump a\n }\n chain a {\n jump a\n }\n}\n",
    )
    .unwrap();
    let o = rs.walk(&facts("1.1.1.1:1", "2.2.2.2:2"));
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].verdict, Verdict::Drop);
    assert!(o[0].steps.last().unwrap().rule.contains("depth limit"));
    // 8 nested numgen mod 4 levels would be 65536 outcomes; the cap keeps it bounded.
    let mut s = String::from(
        "table ip t {\n chain pre { type nat hook prerouting priority -100;\n goto c0\n }\n",
    );
    for i in 0..8 {
        s.push_str(&format!(
            " chain c{i} {{\n numgen random mod 4 vmap {{ 0 : goto c{n}, 1 : goto c{n}, 2 : goto c{n}, 3 : goto c{n} }}\n }}\n",
            n = i + 1
        ));
    }
    s.push_str(" chain c8 {\n dnat to 10.0.0.1:80\n }\n}\n");
    let rs = parse_text(&s).unwrap();
    let o = rs.walk(&facts("1.1.1.1:1", "2.2.2.2:2"));
    assert!(o.len() <= 2048, "{}", o.len());
    let total: f64 = o.iter().map(|o| o.probability).sum();
    assert!(total <= 1.0 + 1e-9);
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn anonymous_sets_ranges_and_ct_state() {
    let rs = parse_text(
        "table inet t {\n chain pre {\n type nat hook prerouting priority dstnat; policy accept;\n\
         ct state established,related accept\n ip saddr { 10.0.0.0/8, 192.168.1.1-192.168.1.9 } tcp dport { 80, 8000-8100 } redirect to :15001\n }\n}\n",
    )
    .unwrap();
    let walk = |s: &str, d: &str| rs.walk(&Facts::tcp_in(sock(s), sock(d)))[0].verdict.clone();
    assert_eq!(
        walk("10.1.1.1:1", "9.9.9.9:8050"),
        Verdict::Redirect { port: 15001 }
    );
    assert_eq!(
        walk("192.168.1.5:1", "9.9.9.9:80"),
        Verdict::Redirect { port: 15001 }
    );
    assert_eq!(walk("192.168.1.10:1", "9.9.9.9:80"), Verdict::Accept);
    assert_eq!(walk("10.1.1.1:1", "9.9.9.9:81"), Verdict::Accept);
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        if let Ok(rs) = parse_text(&s) {
            let _ = rs.walk(&facts("1.1.1.1:1", "2.2.2.2:2"));
        }
        let _ = parse_json(&s);
    }

    #[test]
    fn nft_shaped_text_never_panics(
        parts in proptest::collection::vec(
            "(table|chain|add|rule|map|set|element|ip|inet|nat|type|hook|priority|\\{|\\}|;|\n|,|:|\\.|@s|goto|jump|vmap|numgen|random|mod|2|dnat|to|10\\.0\\.0\\.1:80|redirect|:15001|mark|set|or|0x4000|elements|=|\"c\"|# handle 3|prerouting|-100|delete|flush|fib|daddr|local)",
            0..60)
    ) {
        let s = parts.join(" ");
        if let Ok(rs) = parse_text(&s) {
            let _ = rs.walk(&facts("1.1.1.1:1", "2.2.2.2:2"));
            let _ = kube_services(&rs);
        }
    }

    #[test]
    fn kube_fixture_with_a_cut_never_panics(cut in 0usize..11600) {
        let s = KUBE.get(..cut.min(KUBE.len())).unwrap_or("");
        if let Ok(rs) = parse_text(s) {
            let _ = rs.walk(&facts("10.0.0.1:1", "172.30.0.44:80"));
        }
    }
}
