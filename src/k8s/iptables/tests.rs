//! Fixture tests: the third-party dumps in tests/data/third-party/iptables (Apache-2.0, see
//! tests/data/README.md) parse, walk and summarise as their sources say; the unlicensed
//! real-node dump is read in place from ../shared/fixtures when present. Hand-written edge
//! cases and a no-panic property test follow.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;

use super::istio::{Interception, InterceptionMode};
use super::kube::{FrontendKind, KubeProxyView};
use super::*;
use crate::k8s::walk::{Facts, Hook, Outcome, Proto, Verdict};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/third-party/iptables/",
            $name
        ))
    };
}

const KUBE_OVERALL: &str = fixture!("kube-proxy-iptables-overall-multiple-services.txt");

const ALL_COPIED: &[(&str, &str)] = &[
    (
        "kube-proxy-iptables-overall-multiple-services.txt",
        KUBE_OVERALL,
    ),
    (
        "kube-proxy-2015-userspace-era-iptables-save.txt",
        fixture!("kube-proxy-2015-userspace-era-iptables-save.txt"),
    ),
    (
        "istio-iptables-capture-empty.golden",
        fixture!("istio-iptables-capture-empty.golden"),
    ),
    (
        "istio-iptables-capture-ip-range.golden",
        fixture!("istio-iptables-capture-ip-range.golden"),
    ),
    (
        "istio-iptables-capture-tproxy.golden",
        fixture!("istio-iptables-capture-tproxy.golden"),
    ),
    (
        "istio-iptables-capture-inbound-ports-include.golden",
        fixture!("istio-iptables-capture-inbound-ports-include.golden"),
    ),
    (
        "istio-iptables-capture-outbound-ports-include.golden",
        fixture!("istio-iptables-capture-outbound-ports-include.golden"),
    ),
    (
        "istio-iptables-capture-inbound-ports-wildcard-tproxy.golden",
        fixture!("istio-iptables-capture-inbound-ports-wildcard-tproxy.golden"),
    ),
    (
        "istio-iptables-capture-ipv6-inbound-ports.golden",
        fixture!("istio-iptables-capture-ipv6-inbound-ports.golden"),
    ),
    (
        "istio-iptables-capture-dns-uid-gid.golden",
        fixture!("istio-iptables-capture-dns-uid-gid.golden"),
    ),
    (
        "istio-iptables-capture-kube-virt-interfaces.golden",
        fixture!("istio-iptables-capture-kube-virt-interfaces.golden"),
    ),
    (
        "istio-iptables-capture-drop-invalid.golden",
        fixture!("istio-iptables-capture-drop-invalid.golden"),
    ),
    (
        "istio-cni-plugin-basic.txt.golden",
        fixture!("istio-cni-plugin-basic.txt.golden"),
    ),
    (
        "istio-cni-plugin-tproxy.txt.golden",
        fixture!("istio-cni-plugin-tproxy.txt.golden"),
    ),
    (
        "istio-cni-plugin-dns.txt.golden",
        fixture!("istio-cni-plugin-dns.txt.golden"),
    ),
    (
        "istio-cni-ambient-iptables-default.golden",
        fixture!("istio-cni-ambient-iptables-default.golden"),
    ),
    (
        "istio-cni-ambient-iptables-default_ipv6.golden",
        fixture!("istio-cni-ambient-iptables-default_ipv6.golden"),
    ),
    (
        "istio-cni-ambient-iptables-ingress.golden",
        fixture!("istio-cni-ambient-iptables-ingress.golden"),
    ),
];

fn golden(name: &str) -> Ruleset {
    let text = ALL_COPIED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap();
    parse(text).unwrap()
}

/// The shared fixtures folder: beside the main checkout, or two up from a worktree in wt/.
fn shared_fixture(name: &str) -> Option<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    for base in [
        "/../shared/fixtures/iptables/",
        "/../../shared/fixtures/iptables/",
    ] {
        if let Ok(t) = std::fs::read_to_string(format!("{root}{base}{name}")) {
            return Some(t);
        }
    }
    println!("note: {name} not found under ../shared/fixtures; test skipped");
    None
}

const REAL_NODE: &str = "real-node-kubeadm-flannel-iptables-save-v1.8.10-nft-2026.txt";

fn facts(hook: Hook, proto: Proto, src: &str, dst: &str) -> Facts {
    let src: SocketAddr = src.parse().unwrap();
    let dst: SocketAddr = dst.parse().unwrap();
    let mut f = Facts::tcp_in(src, dst);
    f.hook = hook;
    f.proto = proto;
    f
}

fn tcp_in(src: &str, dst: &str) -> Facts {
    facts(Hook::Prerouting, Proto::Tcp, src, dst)
}

fn dnat(o: &Outcome) -> Option<(IpAddr, Option<u16>)> {
    match o.verdict {
        Verdict::Dnat { addr, port } => Some((addr, port)),
        _ => None,
    }
}

/// (endpoint, probability, masquerade) of each outcome.
fn endpoints(outs: &[Outcome]) -> Vec<(String, f64, bool)> {
    outs.iter()
        .map(|o| {
            let v = match dnat(o) {
                Some((a, Some(p))) => format!("{a}:{p}"),
                _ => format!("{:?}", o.verdict),
            };
            (v, o.probability, o.masquerade)
        })
        .collect()
}

fn ep(s: &str, p: f64, m: bool) -> (String, f64, bool) {
    (s.to_string(), p, m)
}

#[test]
fn every_iptables_fixture_parses() {
    for (name, text) in ALL_COPIED {
        let rs = parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(rs.rules().count() > 0, "{name}: no rules");
    }
    // Whatever else is in the shared folder in iptables syntax (the nft files are not).
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = [
        "/../shared/fixtures/iptables",
        "/../../shared/fixtures/iptables",
    ]
    .iter()
    .find_map(|b| std::fs::read_dir(format!("{root}{b}")).ok());
    let Some(dir) = dir else {
        println!("note: ../shared/fixtures/iptables not found; only the copied fixtures checked");
        return;
    };
    let mut n = 0;
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".nft") || name.contains("nftables") || name.ends_with(".md") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        n += 1;
    }
    assert_eq!(n, 19, "iptables-syntax files in the shared folder");
}

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

#[test]
fn istio_sidecar_walks() {
    let rs = golden("istio-cni-plugin-basic.txt.golden");
    let mut out = facts(Hook::Output, Proto::Tcp, "10.244.1.5:41000", "10.96.0.1:80");
    out.uid = Some(1000);
    out.gid = Some(1000);
    let outs = rs.walk("nat", &out);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].verdict, Verdict::Redirect { port: 15001 });
    let chains: Vec<&str> = outs[0].steps.iter().map(|s| s.chain.as_str()).collect();
    assert_eq!(chains, ["OUTPUT", "ISTIO_OUTPUT", "ISTIO_REDIRECT"]);
    out.uid = Some(1337);
    assert_eq!(rs.walk("nat", &out)[0].verdict, Verdict::Accept);
    // Unknown owner: `--uid-owner` does not match, so the app rule applies.
    out.uid = None;
    out.gid = None;
    assert_eq!(
        rs.walk("nat", &out)[0].verdict,
        Verdict::Redirect { port: 15001 }
    );
    // Envoy's own call back to the pod IP over lo goes to inbound.
    let mut hairpin = facts(
        Hook::Output,
        Proto::Tcp,
        "10.244.1.5:41000",
        "10.244.1.5:9080",
    );
    hairpin.uid = Some(1337);
    hairpin.out_iface = Some("lo".into());
    assert_eq!(
        rs.walk("nat", &hairpin)[0].verdict,
        Verdict::Redirect { port: 15006 }
    );
    let inb = tcp_in("10.244.2.7:50000", "10.244.1.5:9080");
    assert_eq!(
        rs.walk("nat", &inb)[0].verdict,
        Verdict::Redirect { port: 15006 }
    );
    let status = tcp_in("10.244.2.7:50000", "10.244.1.5:15020");
    let outs = rs.walk("nat", &status);
    assert_eq!(outs[0].verdict, Verdict::Accept);
    assert_eq!(
        outs[0].steps.last().unwrap().rule,
        "-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN"
    );
}

#[test]
fn istio_tproxy_dns_and_ambient_walks() {
    let rs = golden("istio-iptables-capture-tproxy.golden");
    let inb = tcp_in("10.244.2.7:50000", "10.244.1.5:9080");
    let outs = rs.walk("mangle", &inb);
    assert_eq!(
        outs[0].verdict,
        Verdict::Tproxy {
            addr: None,
            port: 15006
        }
    );
    // nat does not capture inbound in TPROXY mode.
    assert_eq!(rs.walk("nat", &inb)[0].verdict, Verdict::Accept);
    // DNS to the v6 nameserver uses the ip6tables copy.
    let rs = golden("istio-iptables-capture-dns-uid-gid.golden");
    let mut dns = facts(
        Hook::Output,
        Proto::Udp,
        "[fd00::5]:40000",
        "[::127.0.0.53]:53",
    );
    dns.uid = Some(1000);
    assert_eq!(
        rs.walk("nat", &dns)[0].verdict,
        Verdict::Redirect { port: 15053 }
    );
    let mut dns4 = facts(Hook::Output, Proto::Udp, "10.0.0.5:40000", "127.0.0.53:53");
    dns4.uid = Some(1000);
    assert_eq!(
        rs.walk("nat", &dns4)[0].verdict,
        Verdict::Redirect { port: 15053 }
    );
    dns4.uid = Some(3);
    assert_eq!(rs.walk("nat", &dns4)[0].verdict, Verdict::Accept);
    let rs = golden("istio-cni-ambient-iptables-default.golden");
    assert_eq!(
        rs.walk("nat", &inb)[0].verdict,
        Verdict::Redirect { port: 15006 }
    );
    let out = facts(Hook::Output, Proto::Tcp, "10.244.1.5:41000", "10.96.0.1:80");
    assert_eq!(
        rs.walk("nat", &out)[0].verdict,
        Verdict::Redirect { port: 15001 }
    );
    let mut ztunnel = out.clone();
    ztunnel.mark = 0x539;
    assert_eq!(rs.walk("nat", &ztunnel)[0].verdict, Verdict::Accept);
    let hbone = tcp_in("10.244.2.7:50000", "10.244.1.5:15008");
    assert_eq!(rs.walk("nat", &hbone)[0].verdict, Verdict::Accept);
}

fn icept(name: &str) -> Interception {
    Interception::from_ruleset(&golden(name), Family::V4).unwrap()
}

#[test]
fn interception_of_every_golden() {
    let c = |s: &str| Cidr::parse(s).unwrap();
    let i = icept("istio-iptables-capture-empty.golden");
    assert_eq!(i.mode, InterceptionMode::Redirect);
    assert!(!i.inbound_enabled && !i.outbound_all);
    assert_eq!(
        (i.inbound_capture_port, i.outbound_capture_port),
        (Some(15006), Some(15001))
    );
    assert_eq!(
        (i.proxy_uids.as_slice(), i.proxy_gids.as_slice()),
        (&[1337][..], &[1337][..])
    );
    assert_eq!(i.outbound_cidrs_excluded, [c("127.0.0.1/32")]);
    assert_eq!(i.inbound_ports_excluded, [15008]);

    let i = icept("istio-iptables-capture-ip-range.golden");
    assert_eq!(
        i.outbound_cidrs_excluded,
        [c("127.0.0.1/32"), c("1.1.0.0/16")]
    );
    assert_eq!(i.outbound_cidrs_included, [c("9.9.0.0/16")]);
    assert_eq!(
        (i.proxy_uids.as_slice(), i.proxy_gids.as_slice()),
        (&[3, 4][..], &[1, 2][..])
    );
    assert_eq!(i.dns_redirect_port, Some(15053));
    assert_eq!(i.dns_servers, ["127.0.0.53".parse::<IpAddr>().unwrap()]);

    let i = icept("istio-iptables-capture-tproxy.golden");
    assert_eq!(i.mode, InterceptionMode::Tproxy);
    assert!(i.inbound_enabled && i.inbound_all_ports);
    assert_eq!(
        (i.inbound_capture_port, i.tproxy_mark),
        (Some(15006), Some(1337))
    );
    assert_eq!(i.excluded_interfaces, ["not-istio-nic"]);
    assert_eq!(i.outbound_cidrs_included, [c("9.9.0.0/16")]);
    let v6 =
        Interception::from_ruleset(&golden("istio-iptables-capture-tproxy.golden"), Family::V6)
            .unwrap();
    assert_eq!(v6.outbound_cidrs_excluded, [c("::1/128")]);

    let i = icept("istio-iptables-capture-inbound-ports-include.golden");
    assert!(i.inbound_enabled && !i.inbound_all_ports);
    assert_eq!(i.inbound_ports_included, [32000, 31000]);
    let i = icept("istio-iptables-capture-outbound-ports-include.golden");
    assert_eq!(i.outbound_ports_included, [32000, 31000]);
    assert!(!i.outbound_all);
    let i = icept("istio-iptables-capture-inbound-ports-wildcard-tproxy.golden");
    assert_eq!(i.mode, InterceptionMode::Tproxy);
    assert!(i.inbound_all_ports);
    let i = icept("istio-iptables-capture-ipv6-inbound-ports.golden");
    assert_eq!(i.inbound_ports_included, [4000, 5000]);
    let i = icept("istio-iptables-capture-dns-uid-gid.golden");
    assert_eq!(
        (i.proxy_uids.as_slice(), i.proxy_gids.as_slice()),
        (&[3, 4][..], &[1, 2][..])
    );
    assert_eq!(i.dns_redirect_port, Some(15053));
    let i = icept("istio-iptables-capture-kube-virt-interfaces.golden");
    assert_eq!(i.kube_virt_interfaces, ["eth2", "eth1"]);
    assert!(i.outbound_all);
    assert!(icept("istio-iptables-capture-drop-invalid.golden").drop_invalid);
    assert!(!icept("istio-iptables-capture-empty.golden").drop_invalid);

    let i = icept("istio-cni-plugin-basic.txt.golden");
    assert_eq!(i.inbound_ports_excluded, [15008, 15020, 15021, 15090]);
    assert!(i.inbound_all_ports && i.outbound_all);
    assert_eq!(i.outbound_ports_excluded, [15020]);
    let i = icept("istio-cni-plugin-tproxy.txt.golden");
    assert_eq!(i.mode, InterceptionMode::Tproxy);
    assert_eq!(i.inbound_ports_excluded, [15020, 15021, 15090]);
    let i = icept("istio-cni-plugin-dns.txt.golden");
    assert_eq!(i.dns_redirect_port, Some(15053));
    assert!(i.dns_servers.is_empty(), "capture-all-dns");

    for name in [
        "istio-cni-ambient-iptables-default.golden",
        "istio-cni-ambient-iptables-default_ipv6.golden",
    ] {
        for fam in [Family::V4, Family::V6] {
            let Some(i) = Interception::from_ruleset(&golden(name), fam) else {
                continue;
            };
            assert_eq!(i.mode, InterceptionMode::Ambient, "{name}");
            assert_eq!(
                (i.inbound_capture_port, i.outbound_capture_port),
                (Some(15006), Some(15001)),
                "{name}"
            );
            assert_eq!(
                (i.dns_redirect_port, i.proxy_mark),
                (Some(15053), Some(0x539)),
                "{name}"
            );
        }
    }
    let i = icept("istio-cni-ambient-iptables-ingress.golden");
    assert_eq!(i.mode, InterceptionMode::Ambient);
    assert_eq!(
        (i.inbound_capture_port, i.outbound_capture_port),
        (None, Some(15001))
    );
    assert!(Interception::from_ruleset(&parse(KUBE_OVERALL).unwrap(), Family::V4).is_none());
}

#[test]
fn parse_forms_and_errors() {
    let text = "# Generated by iptables-save v1.8.9\n\
        * nat\n\
        :PREROUTING ACCEPT [12:720]\n\
        :MYCHAIN - [0:0]\n\
        [5:300] -A PREROUTING -s 10.0.0.0/255.0.0.0 -j MYCHAIN\n\
        -A MYCHAIN -m comment --comment \"say \\\"hi\\\"\" -p tcp -m multiport --dports 80,8000:8100 -j DNAT --to-destination [fd00::1]:8080\n\
        -I MYCHAIN -m foo --bar baz -j LOG --log-prefix x\n\
        -A MYCHAIN -s ! 10.1.0.0/16 -j MARK --set-mark 0x10/0xff\n\
        COMMIT\n\
        iptables-save\n\
        iptables -t mangle -A PREROUTING -j MARK --or-mark 0x4000\n\
        iptables -L -n\n";
    let rs = parse(text).unwrap();
    let nat = rs.table("nat", None).unwrap();
    assert_eq!(
        nat.chain("PREROUTING").unwrap().policy.as_deref(),
        Some("ACCEPT")
    );
    let pre = &nat.chain("PREROUTING").unwrap().rules[0];
    assert_eq!((pre.line, pre.counters), (5, Some((5, 300))));
    let my = &nat.chain("MYCHAIN").unwrap().rules;
    assert_eq!(my.len(), 3);
    assert_eq!(my[0].line, 7, "-I without a number goes first");
    assert!(
        matches!(&my[0].matches[0].kind, MatchKind::Unknown { module: Some(m), .. } if m == "foo")
    );
    assert!(matches!(&my[0].target, Some(Target::Other { name, .. }) if name == "LOG"));
    assert_eq!(my[1].comment(), Some("say \"hi\""));
    assert_eq!(
        my[1].target,
        Some(Target::Dnat {
            addr: Some("fd00::1".parse().unwrap()),
            port: Some(8080)
        })
    );
    assert!(my[2].matches[0].negated);
    assert_eq!(
        my[2].target,
        Some(Target::Mark {
            value: 0x10,
            mask: 0xff
        })
    );
    let mangle = rs.table("mangle", None).unwrap();
    assert_eq!(
        mangle.chain("PREROUTING").unwrap().rules[0].target,
        Some(Target::Mark {
            value: 0x4000,
            mask: 0x4000
        })
    );

    for (bad, line, what) in [
        ("-A X -j ACCEPT\n", 1, "expected a *table line"),
        ("*nat\n-A\n", 2, "-A needs a chain name"),
        (
            "*nat\n\n-A X -s 10.0.0.300 -j ACCEPT\n",
            3,
            "expected an address or CIDR after -s",
        ),
        (
            "*nat\n-A X -p tcp --dport http -j ACCEPT\n",
            2,
            "expected a port",
        ),
        (
            "*nat\n-A X -m statistic --mode random --probability 2 -j X\n",
            2,
            "expected a probability",
        ),
        (
            "*nat\n-A X -m comment --comment \"open\n",
            2,
            "expected a closing",
        ),
        ("*nat\n-Q X\n", 2, "expected a rule command"),
        ("*nat\n-A X -j MARK\n", 2, "expected --set-xmark"),
        ("*\n", 1, "expected a table name"),
        ("*nat\n[1:x] -A X\n", 2, "expected counters"),
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.line, line, "{bad:?}: {e}");
        assert!(e.message.contains(what), "{bad:?}: {e}");
        assert!(e.to_string().starts_with(&format!("line {line}: ")));
    }
}

#[test]
fn walk_marks_goto_affinity_and_guards() {
    let text = "*nat\n\
        -A PREROUTING -j MARK --set-xmark 0x1/0xff\n\
        -A PREROUTING -m mark --mark 0x1/0xff -g G\n\
        -A PREROUTING -j DNAT --to-destination 9.9.9.9:1\n\
        -A G -m recent --rcheck --seconds 600 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A\n\
        -A G -m statistic --mode random --probability 0.33332999982 -j KUBE-SEP-A\n\
        -A G -j RETURN\n\
        -A KUBE-SEP-A -m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j DNAT --to-destination 10.0.0.1:80\n\
        -A LOOP -j LOOP\n\
        -A OUTPUT -j LOOP\n\
        COMMIT\n";
    let rs = parse(text).unwrap();
    let f = tcp_in("1.1.1.1:1", "2.2.2.2:2");
    let outs = rs.walk("nat", &f);
    // p = 1/3 for the SEP; the goto's RETURN returns past PREROUTING: policy ACCEPT, not the DNAT.
    assert_eq!(
        endpoints(&outs),
        [
            ep("Accept", 0.666666666667, false),
            ep("10.0.0.1:80", 0.333333333333, false)
        ]
    );
    assert_eq!(
        outs[1]
            .affinity
            .as_ref()
            .map(|a| (a.name.as_str(), a.timeout_secs)),
        Some(("KUBE-SEP-A", 600))
    );
    let mut sticky = f.clone();
    sticky.affinity_hits = vec!["KUBE-SEP-A".into()];
    assert_eq!(
        endpoints(&rs.walk("nat", &sticky)),
        [ep("10.0.0.1:80", 1.0, false)]
    );
    // A loop is cut, not followed forever.
    let mut out = f.clone();
    out.hook = Hook::Output;
    assert!(rs.walk("nat", &out).is_empty());
    assert!(rs.walk("raw", &f).is_empty(), "no such table");
}

#[test]
fn walk_caps_explosion() {
    // 12 chained 50/50 splits: 4096 paths, but only two verdicts.
    let mut text = String::from("*nat\n");
    for i in 0..12 {
        text.push_str(&format!("-A PREROUTING -m statistic --mode random --probability 0.5 -j C{i}\n-A C{i} -j MARK --set-xmark 0x0/0x0\n"));
    }
    text.push_str("-A PREROUTING -m statistic --mode random --probability 0.5 -j DROP\nCOMMIT\n");
    let rs = parse(&text).unwrap();
    let outs = rs.walk("nat", &tcp_in("1.1.1.1:1", "2.2.2.2:2"));
    assert_eq!(outs.len(), 2);
    let total: f64 = outs.iter().map(|o| o.probability).sum();
    assert!(total <= 1.0 + 1e-9 && total > 0.2, "{total}");
}

proptest! {
    #[test]
    fn random_text_never_panics(s in "\\PC{0,300}") {
        if let Ok(rs) = parse(&s) {
            let _ = rs.walk("nat", &tcp_in("1.1.1.1:1", "2.2.2.2:2"));
            let _ = KubeProxyView::from_ruleset(&rs).check();
            let _ = Interception::from_ruleset(&rs, Family::V4);
        }
    }

    #[test]
    fn random_rule_lines_never_panic(lines in proptest::collection::vec(
        proptest::collection::vec(proptest::sample::select(vec![
            "-A", "-I", "-N", "-j", "-g", "-m", "!", "-s", "-d", "-p", "tcp", "udp", "--dport", "80", "1:2",
            "statistic", "--mode", "random", "--probability", "0.5", "recent", "--set", "--rcheck", "--name",
            "mark", "--mark", "0x4000/0x4000", "MARK", "--set-xmark", "DNAT", "--to-destination", "10.0.0.1:80",
            "KUBE-SVC-XPGD46QRK7WJZT7O", "KUBE-SEP-SXIVWICOYRO3J4NJ", "KUBE-SERVICES", "PREROUTING", "X", "RETURN",
            "owner", "--uid-owner", "1337", "\"a b\"", "10.0.0.0/8", "*nat", "COMMIT", "[1:2]", "1", "REDIRECT",
            "--to-ports", "15001", "multiport", "--dports", "53,80", "comment", "--comment",
        ]), 0..12).prop_map(|w| w.join(" ")), 0..20)) {
        let text = format!("*nat\n{}\n", lines.join("\n"));
        if let Ok(rs) = parse(&text) {
            let mut f = tcp_in("10.0.0.1:1", "10.0.0.2:80");
            let _ = rs.walk("nat", &f);
            f.hook = Hook::Output;
            let _ = rs.walk("nat", &f);
            let _ = KubeProxyView::from_ruleset(&rs).check();
            let _ = Interception::from_ruleset(&rs, Family::V4);
        }
    }
}
