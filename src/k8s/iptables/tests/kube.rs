//! kube-proxy dumps: the upstream multi-service fixture walked service by service, the
//! kube-proxy view and hash check on it, a comment-less dump, and the real node (read in place).

use super::*;

#[test]
fn overall_fixture_counts() {
    let rs = parse(KUBE_OVERALL).unwrap();
    let names: Vec<&str> = rs.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["filter", "nat"]);
    let nat = rs.table("nat", None).unwrap();
    assert_eq!(nat.chains.len(), 20);
    assert_eq!(nat.chains.iter().map(|c| c.rules.len()).sum::<usize>(), 51);
    assert_eq!(rs.rules().count(), 61);
    let r = &nat.chain("KUBE-SVC-4SW47YFZTEDKD3PK").unwrap().rules[1];
    assert_eq!(r.line, 81);
    assert_eq!(r.comment(), Some("ns4/svc4:p80 -> 10.180.0.4:80"));
    assert!(r
        .matches
        .iter()
        .any(|m| m.kind == MatchKind::Statistic(Statistic::Random { probability: 0.5 })));
    assert_eq!(rs.masquerade_bit(), 0x4000);
}

#[test]
fn overall_cluster_ips() {
    let rs = parse(KUBE_OVERALL).unwrap();
    let pod = "10.0.1.5:40000";
    for (vip, want) in [
        ("172.30.0.41:80", "10.180.0.1:80"),
        ("172.30.0.42:80", "10.180.0.2:80"),
        ("172.30.0.43:80", "10.180.0.3:80"),
        ("172.30.0.45:80", "10.180.0.3:80"),
    ] {
        let outs = rs.walk("nat", &tcp_in(pod, vip));
        assert_eq!(endpoints(&outs), [ep(want, 1.0, false)], "{vip}");
        // From outside the cluster CIDR the SVC chain marks for masquerade.
        let outs = rs.walk("nat", &tcp_in("192.168.1.9:40000", vip));
        assert_eq!(endpoints(&outs), [ep(want, 1.0, true)], "{vip} off-cluster");
    }
    let outs = rs.walk("nat", &tcp_in(pod, "172.30.0.44:80"));
    assert_eq!(
        endpoints(&outs),
        [
            ep("10.180.0.4:80", 0.5, false),
            ep("10.180.0.5:80", 0.5, false)
        ]
    );
    let chains: Vec<&str> = outs[0].steps.iter().map(|s| s.chain.as_str()).collect();
    assert_eq!(
        chains,
        [
            "PREROUTING",
            "KUBE-SERVICES",
            "KUBE-SVC-4SW47YFZTEDKD3PK",
            "KUBE-SEP-UKSFD7AGPMPPLUHC"
        ]
    );
    assert_eq!(outs[0].steps[0].line, 0, "the implied kube-proxy jump");
    assert_eq!(outs[0].steps[3].line, 79);
    assert!(outs[0].steps[3]
        .rule
        .ends_with("-j DNAT --to-destination 10.180.0.4:80"));
    // A wrong port or protocol is not the service.
    assert_eq!(
        endpoints(&rs.walk("nat", &tcp_in(pod, "172.30.0.41:81"))),
        [ep("Accept", 1.0, false)]
    );
    let udp = facts(Hook::Prerouting, Proto::Udp, pod, "172.30.0.41:80");
    assert_eq!(endpoints(&rs.walk("nat", &udp)), [ep("Accept", 1.0, false)]);
    // From the host (OUTPUT) the same rules apply.
    let host = facts(
        Hook::Output,
        Proto::Tcp,
        "192.168.0.2:5000",
        "172.30.0.41:80",
    );
    assert_eq!(
        endpoints(&rs.walk("nat", &host)),
        [ep("10.180.0.1:80", 1.0, true)]
    );
}

#[test]
fn overall_nodeports_external_and_lb() {
    let rs = parse(KUBE_OVERALL).unwrap();
    let client = "203.0.113.9:50000";
    let np = |port: u16| {
        let mut f = tcp_in(client, &format!("192.168.0.2:{port}"));
        f.dst_local = true;
        f
    };
    // ns3/svc3 NodePort, eTP=Cluster: EXT marks, SVC dispatches.
    assert_eq!(
        endpoints(&rs.walk("nat", &np(3003))),
        [ep("10.180.0.3:80", 1.0, true)]
    );
    // ns5/svc5 NodePort 3002.
    assert_eq!(
        endpoints(&rs.walk("nat", &np(3002))),
        [ep("10.180.0.3:80", 1.0, true)]
    );
    // ns2/svc2 NodePort 3001 is eTP=Local with no local endpoint: no DNAT, filter drops.
    let f = np(3001);
    assert_eq!(endpoints(&rs.walk("nat", &f)), [ep("Accept", 1.0, false)]);
    assert_eq!(endpoints(&rs.walk("filter", &f)), [ep("Drop", 1.0, false)]);
    // ... but host-originated traffic is masqueraded and sent to the cluster endpoints.
    let mut local = np(3001);
    local.src_local = true;
    assert_eq!(
        endpoints(&rs.walk("nat", &local)),
        [ep("10.180.0.2:80", 1.0, true)]
    );
    // ... and pod traffic goes to the cluster endpoints unmasqueraded.
    let mut from_pod = np(3001);
    from_pod.src = "10.0.3.3".parse().unwrap();
    assert_eq!(
        endpoints(&rs.walk("nat", &from_pod)),
        [ep("10.180.0.2:80", 1.0, false)]
    );
    // ns4/svc4 external IP, eTP=Cluster: masqueraded, two endpoints.
    let outs = rs.walk("nat", &tcp_in(client, "192.168.99.33:80"));
    assert_eq!(
        endpoints(&outs),
        [
            ep("10.180.0.4:80", 0.5, true),
            ep("10.180.0.5:80", 0.5, true)
        ]
    );
    // ns2/svc2 external IP and LB IP from outside: nothing local, filter drops.
    for dst in ["192.168.99.22:80", "1.2.3.4:80"] {
        assert_eq!(
            endpoints(&rs.walk("nat", &tcp_in(client, dst))),
            [ep("Accept", 1.0, false)],
            "{dst}"
        );
        assert_eq!(
            endpoints(&rs.walk("filter", &tcp_in(client, dst))),
            [ep("Drop", 1.0, false)],
            "{dst}"
        );
    }
    // ns5/svc5 LB with loadBalancerSourceRanges 203.0.113.0/25.
    let allowed = tcp_in("203.0.113.5:1234", "5.6.7.8:80");
    let outs = rs.walk("nat", &allowed);
    assert_eq!(endpoints(&outs), [ep("10.180.0.3:80", 1.0, true)]);
    assert!(outs[0]
        .steps
        .iter()
        .any(|s| s.chain == "KUBE-FW-NUKIZ6OKUXPJNT4C"));
    // filter sees the packet after the nat DNAT.
    let mut translated = allowed.clone();
    translated.dst = "10.180.0.3".parse().unwrap();
    assert_eq!(
        endpoints(&rs.walk("filter", &translated)),
        [ep("Accept", 1.0, false)]
    );
    let refused = tcp_in("203.0.113.200:1234", "5.6.7.8:80");
    assert_eq!(
        endpoints(&rs.walk("nat", &refused)),
        [ep("Accept", 1.0, false)]
    );
    let outs = rs.walk("filter", &refused);
    assert_eq!(endpoints(&outs), [ep("Drop", 1.0, false)]);
    assert_eq!(outs[0].steps.last().unwrap().chain, "KUBE-PROXY-FIREWALL");
}

#[test]
fn overall_no_endpoints_rejects() {
    let rs = parse(KUBE_OVERALL).unwrap();
    let f = tcp_in("10.0.1.5:40000", "172.30.0.46:80");
    assert_eq!(endpoints(&rs.walk("nat", &f)), [ep("Accept", 1.0, false)]);
    let outs = rs.walk("filter", &f);
    assert_eq!(endpoints(&outs), [ep("Reject", 1.0, false)]);
    assert_eq!(outs[0].steps.last().unwrap().line, 9);
}

#[test]
fn overall_kube_view() {
    let rs = parse(KUBE_OVERALL).unwrap();
    let v = KubeProxyView::from_ruleset(&rs);
    assert_eq!(v.services.len(), 5);
    assert_eq!(v.masquerade_mark, 0x4000);
    let by = |n: &str| {
        v.services
            .iter()
            .find(|s| s.name.as_deref() == Some(n))
            .unwrap()
    };
    let s1 = by("ns1/svc1:p80");
    assert_eq!(s1.hash, "XPGD46QRK7WJZT7O");
    assert_eq!(s1.proto, Some(Proto::Tcp));
    assert_eq!(s1.frontends.len(), 1);
    assert_eq!(s1.frontends[0].kind, FrontendKind::ClusterIp);
    assert_eq!(s1.frontends[0].addr, Some("172.30.0.41".parse().unwrap()));
    assert_eq!(s1.endpoints.len(), 1);
    assert_eq!(s1.endpoints[0].chain, "KUBE-SEP-SXIVWICOYRO3J4NJ");
    assert_eq!(s1.masquerade_unless_from, Cidr::parse("10.0.0.0/8"));
    let s2 = by("ns2/svc2:p80");
    let kinds: Vec<(FrontendKind, u16)> = s2.frontends.iter().map(|f| (f.kind, f.port)).collect();
    assert_eq!(
        kinds,
        [
            (FrontendKind::ClusterIp, 80),
            (FrontendKind::ExternalIp, 80),
            (FrontendKind::LoadBalancer, 80),
            (FrontendKind::NodePort, 3001)
        ]
    );
    assert!(!s2.external_masquerade);
    let s4 = by("ns4/svc4:p80");
    let eps: Vec<(String, f64)> = s4
        .endpoints
        .iter()
        .map(|e| (format!("{}:{}", e.addr, e.port.unwrap()), e.probability))
        .collect();
    assert_eq!(
        eps,
        [
            ("10.180.0.4:80".to_string(), 0.5),
            ("10.180.0.5:80".to_string(), 0.5)
        ]
    );
    assert!(s4.external_masquerade);
    let s5 = by("ns5/svc5:p80");
    assert_eq!(s5.source_ranges, [Cidr::parse("203.0.113.0/25").unwrap()]);
    assert_eq!(
        s5.chains,
        [
            "KUBE-EXT-NUKIZ6OKUXPJNT4C",
            "KUBE-FW-NUKIZ6OKUXPJNT4C",
            "KUBE-SVC-NUKIZ6OKUXPJNT4C"
        ]
    );
    assert_eq!(v.refused.len(), 5);
    assert_eq!(v.refused[0].name.as_deref(), Some("ns6/svc6:p80"));
    assert_eq!(v.check(), []);
}

#[test]
fn kube_view_without_comments_and_stale_hash() {
    // Large-cluster mode: no comments on SEP rules; the structure alone gives endpoints.
    let text = "*nat\n\
        -A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O\n\
        -A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-AAAAAAAAAAAAAAAA\n\
        -A KUBE-SVC-XPGD46QRK7WJZT7O -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-BBBBBBBBBBBBBBBB\n\
        -A KUBE-SVC-XPGD46QRK7WJZT7O -j KUBE-SEP-CCCCCCCCCCCCCCCC\n\
        -A KUBE-SEP-AAAAAAAAAAAAAAAA -p tcp -m tcp -j DNAT --to-destination 10.1.0.1:8080\n\
        -A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m tcp -j DNAT --to-destination 10.1.0.2:8080\n\
        -A KUBE-SEP-CCCCCCCCCCCCCCCC -p tcp -m comment --comment \"ns1/svc1:p80\" -m tcp -j DNAT --to-destination 10.1.0.3:8080\n\
        COMMIT\n";
    let rs = parse(text).unwrap();
    let v = KubeProxyView::from_ruleset(&rs);
    let p: Vec<f64> = v.services[0]
        .endpoints
        .iter()
        .map(|e| e.probability)
        .collect();
    assert_eq!(p, [0.333333333333, 0.333333333333, 0.333333333333]);
    assert_eq!(v.services[0].name.as_deref(), Some("ns1/svc1:p80"));
    // The service hash is right; the made-up SEP names are not.
    let stale = v.check();
    let bad: Vec<&str> = stale.iter().map(|m| m.chain.as_str()).collect();
    assert_eq!(
        bad,
        [
            "KUBE-SEP-AAAAAAAAAAAAAAAA",
            "KUBE-SEP-BBBBBBBBBBBBBBBB",
            "KUBE-SEP-CCCCCCCCCCCCCCCC"
        ]
    );
    let outs = rs.walk("nat", &tcp_in("10.2.0.1:1000", "10.96.0.20:80"));
    assert_eq!(
        endpoints(&outs),
        [
            ep("10.1.0.1:8080", 0.333333333333, false),
            ep("10.1.0.2:8080", 0.333333333333, false),
            ep("10.1.0.3:8080", 0.333333333333, false)
        ]
    );
}

#[test]
fn real_node_kube_dns() {
    let Some(text) = shared_fixture(REAL_NODE) else {
        return;
    };
    let rs = parse(&text).unwrap();
    let names: Vec<&str> = rs.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["mangle", "filter", "nat"]);
    let f = facts(
        Hook::Prerouting,
        Proto::Udp,
        "10.244.0.9:33000",
        "10.96.0.10:53",
    );
    let outs = rs.walk("nat", &f);
    assert_eq!(
        endpoints(&outs),
        [
            ep("10.244.0.2:53", 0.5, false),
            ep("10.244.0.3:53", 0.5, false)
        ]
    );
    // The real PREROUTING jump is used, not an implied one.
    assert!(outs[0].steps[0].line > 0 && outs[0].steps[0].chain == "PREROUTING");
    let api = rs.walk("nat", &tcp_in("10.244.0.9:33000", "10.96.0.1:443"));
    assert_eq!(endpoints(&api), [ep("172.31.7.91:6443", 1.0, false)]);
    let v = KubeProxyView::from_ruleset(&rs);
    assert_eq!(v.services.len(), 4);
    assert_eq!(v.check(), []);
    assert_eq!(rs.walk("filter", &f), rs.walk("filter", &f));
    assert_eq!(
        endpoints(&rs.walk("filter", &f)),
        [ep("Accept", 1.0, false)]
    );
}
