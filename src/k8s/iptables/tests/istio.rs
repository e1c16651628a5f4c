//! Istio dumps: sidecar, TPROXY, DNS and ambient walks, and the Interception summary of
//! every golden.

use super::*;

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
