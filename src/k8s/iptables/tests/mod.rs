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

pub(super) const KUBE_OVERALL: &str = fixture!("kube-proxy-iptables-overall-multiple-services.txt");

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

mod istio;
mod kube;

pub(super) fn golden(name: &str) -> Ruleset {
    let text = ALL_COPIED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap();
    parse(text).unwrap()
}

/// The shared fixtures folder: beside the main checkout, or two up from a worktree in wt/.
pub(super) fn shared_fixture(name: &str) -> Option<String> {
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

pub(super) const REAL_NODE: &str = "real-node-kubeadm-flannel-iptables-save-v1.8.10-nft-2026.txt";

pub(super) fn facts(hook: Hook, proto: Proto, src: &str, dst: &str) -> Facts {
    let src: SocketAddr = src.parse().unwrap();
    let dst: SocketAddr = dst.parse().unwrap();
    let mut f = Facts::tcp_in(src, dst);
    f.hook = hook;
    f.proto = proto;
    f
}

pub(super) fn tcp_in(src: &str, dst: &str) -> Facts {
    facts(Hook::Prerouting, Proto::Tcp, src, dst)
}

pub(super) fn dnat(o: &Outcome) -> Option<(IpAddr, Option<u16>)> {
    match o.verdict {
        Verdict::Dnat { addr, port } => Some((addr, port)),
        _ => None,
    }
}

/// (endpoint, probability, masquerade) of each outcome.
pub(super) fn endpoints(outs: &[Outcome]) -> Vec<(String, f64, bool)> {
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

pub(super) fn ep(s: &str, p: f64, m: bool) -> (String, f64, bool) {
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
    // Twin tables without addresses: the first copy is IPv4, the second IPv6.
    let twins = parse("*raw\n-A OUTPUT -j X\nCOMMIT\n*raw\n-A OUTPUT -j Y\nCOMMIT\n").unwrap();
    assert_eq!(
        (twins.tables[0].family, twins.tables[1].family),
        (Some(Family::V4), Some(Family::V6))
    );
    assert_eq!(twins.table("raw", Some(Family::V6)).unwrap().line, 4);
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
