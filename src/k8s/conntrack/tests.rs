//! The lines below are hand-copied from /work/shared/docs/domain.md (sections 1.4, 3.7 and 6,
//! conntrack-tools 1.4.7 lab outputs), then hand-written edge cases, then no-panic properties.

use std::net::SocketAddr;

use proptest::prelude::*;

use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("test addr")
}

fn one(line: &str) -> Entry {
    let mut v = parse(line).expect("parses");
    assert_eq!(v.len(), 1);
    v.remove(0)
}

/// Section 6, `conntrack -L`: NodePort with eTP=Cluster, DNAT to the pod and MASQUERADE.
const PLAIN: &str = "tcp      6 118 TIME_WAIT src=192.168.50.20 dst=192.168.50.10 sport=54396 dport=30080 src=10.244.1.6 dst=10.244.1.1 sport=9080 dport=31815 [ASSURED] mark=0 use=1";
/// Section 6, `-o extended`: NodePort eTP=Local, DNAT only.
const EXTENDED: &str = "ipv4     2 tcp      6 111 TIME_WAIT src=192.168.50.20 dst=192.168.50.10 sport=50612 dport=30081 src=10.244.1.6 dst=192.168.50.20 sport=9080 dport=50612 [ASSURED] mark=0 use=1";
/// Section 6, /proc/net/nf_conntrack: pod to ClusterIP.
const PROC: &str = "ipv4     2 tcp      6 118 TIME_WAIT src=10.244.1.7 dst=10.96.100.10 sport=35782 dport=9080 src=10.244.1.5 dst=10.244.1.7 sport=9080 dport=35782 [ASSURED] mark=0 zone=0 use=2";
/// Section 6, `conntrack -E`: Istio outbound REDIRECT to 15001.
const EVENTS: &str = "    [NEW] tcp      6 120 SYN_SENT src=10.244.1.7 dst=10.96.100.10 sport=35904 dport=9080 [UNREPLIED] src=127.0.0.1 dst=10.244.1.7 sport=15001 dport=35904
 [UPDATE] tcp      6 432000 ESTABLISHED src=10.244.1.7 dst=10.96.100.10 sport=35904 dport=9080 src=127.0.0.1 dst=10.244.1.7 sport=15001 dport=35904 [ASSURED]
";
/// Section 3.7: the pod-netns entries of legs A (outbound) and C (inbound REDIRECT to 15006).
const POD_NETNS: &str = "tcp 6 431999 ESTABLISHED src=10.244.1.7 dst=10.96.100.10 sport=49996 dport=9080 src=127.0.0.1 dst=10.244.1.7 sport=15001 dport=49996 [ASSURED] mark=0 use=1
tcp 6 431999 ESTABLISHED src=10.244.1.6 dst=10.244.1.7 sport=41744 dport=9080 src=10.244.1.7 dst=10.244.1.6 sport=15006 dport=41744 [ASSURED] mark=0 use=1
";

#[test]
fn plain_nodeport_dnat_and_masquerade() {
    let e = one(PLAIN);
    assert_eq!(
        (e.proto.as_str(), e.proto_num, e.timeout),
        ("tcp", 6, Some(118))
    );
    assert_eq!(e.state.as_deref(), Some("TIME_WAIT"));
    assert_eq!(e.dnat(), Some(sa("10.244.1.6:9080")));
    assert_eq!(e.snat(), Some(sa("10.244.1.1:31815")));
    assert!(e.flags.assured && !e.flags.unreplied);
    assert_eq!((e.mark, e.use_count, e.zone), (Some(0), Some(1), None));
}

#[test]
fn extended_local_policy_keeps_client() {
    let e = one(EXTENDED);
    assert_eq!(e.dnat(), Some(sa("10.244.1.6:9080")));
    assert_eq!(e.snat(), None);
    let e = one(PROC);
    assert_eq!(e.zone, Some(0));
    assert_eq!(e.dnat(), Some(sa("10.244.1.5:9080")));
    assert_eq!(e.snat(), None);
}

#[test]
fn section_1_4_walks() {
    // 1.4 walk 1 (eTP=Cluster) and walk 3 (pod -> ClusterIP), the bare tuples quoted there.
    let e = one("tcp 6 100 ESTABLISHED src=192.168.50.20 dst=192.168.50.10 sport=54396 dport=30080 src=10.244.1.6 dst=10.244.1.1 sport=9080 dport=31815");
    assert_eq!(
        (e.dnat(), e.snat()),
        (Some(sa("10.244.1.6:9080")), Some(sa("10.244.1.1:31815")))
    );
    let e = one("tcp 6 100 ESTABLISHED src=10.244.1.7 dst=10.96.100.10 sport=35782 dport=9080 src=10.244.1.5 dst=10.244.1.7 sport=9080 dport=35782");
    assert_eq!((e.dnat(), e.snat()), (Some(sa("10.244.1.5:9080")), None));
}

#[test]
fn pod_netns_redirects() {
    let v = parse(POD_NETNS).unwrap();
    assert_eq!(v[0].dnat(), Some(sa("127.0.0.1:15001")));
    assert_eq!(v[1].dnat(), Some(sa("10.244.1.7:15006")));
    assert_eq!((v[0].snat(), v[1].snat()), (None, None));
}

#[test]
fn events_merge_into_one_flow() {
    let mut text = String::from(EVENTS);
    text.push_str(" [DESTROY] tcp      6 src=10.244.1.7 dst=10.96.100.10 sport=35904 dport=9080 src=127.0.0.1 dst=10.244.1.7 sport=15001 dport=35904 [ASSURED]\n");
    text.push_str("    [NEW] tcp      6 120 SYN_SENT src=10.244.1.7 dst=10.96.100.10 sport=35904 dport=9080 [UNREPLIED] src=10.244.1.5 dst=10.244.1.7 sport=9080 dport=35904\n");
    let v = parse(&text).unwrap();
    assert_eq!(v[0].event, Some(Event::New));
    assert!(v[0].flags.unreplied);
    assert_eq!(
        (v[2].event, v[2].timeout, v[2].state.as_deref()),
        (Some(Event::Destroy), None, None)
    );
    let t = Table::from_entries(v);
    let (src, dst) = (
        "10.244.1.7".parse().unwrap(),
        "10.96.100.10".parse().unwrap(),
    );
    let flows = t.flows_of(src, 35904, dst, 9080, Proto::Tcp);
    assert_eq!(flows.len(), 2, "a NEW after DESTROY is a new flow");
    assert_eq!(flows[0].lines, 3);
    assert!(flows[0].destroyed);
    assert_eq!(flows[0].latest.dnat(), Some(sa("127.0.0.1:15001")));
    assert_eq!(
        t.lookup(src, 35904, dst, 9080, Proto::Tcp)
            .unwrap()
            .latest
            .dnat(),
        Some(sa("10.244.1.5:9080"))
    );
    assert!(t.lookup(src, 35904, dst, 9080, Proto::Udp).is_none());
    assert_eq!(t.len(), 2);
}

#[test]
fn timestamps_icmp_udp_and_trailer() {
    let text = "[1700000000.123456]\t    [NEW] udp      17 30 src=10.244.1.7 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.0.3 dst=10.244.1.7 sport=53 dport=40000 mark=0x539 zone=1
icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=4660 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=4660 mark=0 secctx=system_u:object_r:unlabeled_t:s0 labels=0x1 use=1
ipv6     10 tcp      6 299 ESTABLISHED src=fd00::1 dst=fd00::2 sport=1 dport=2 packets=3 bytes=180 src=fd00::2 dst=fd00::1 sport=2 dport=1 packets=2 bytes=120 [ASSURED] [OFFLOAD] mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.
";
    let v = parse(text).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].time, Some((1_700_000_000, 123_456)));
    assert_eq!(
        (v[0].state.as_deref(), v[0].mark, v[0].zone),
        (None, Some(1337), Some(1))
    );
    assert_eq!(v[0].dnat(), Some(sa("10.244.0.3:53")));
    let icmp = v[1].orig.icmp.unwrap();
    assert_eq!((icmp.kind, icmp.code, icmp.id), (8, 0, 4660));
    assert_eq!(v[1].reply.icmp.unwrap().kind, 0);
    assert_eq!(v[1].dnat(), None);
    assert_eq!(v[1].labels.as_deref(), Some("0x1"));
    assert!(v[1].secctx.is_some() && v[1].l4().is_none());
    assert!(v[2].flags.offload);
    assert_eq!(v[2].extra.len(), 4);
    assert_eq!(v[2].dnat(), None);
}

#[test]
fn errors_name_line_and_token() {
    let e = parse(&format!("{PLAIN}\ntcp 6 1 src=10.0.0.1 dst=10.0.0.x sport=1 dport=2 src=1.1.1.1 dst=1.1.1.1 sport=1 dport=1\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: token \"dst=10.0.0.x\": expected an IP address"
    );
    let e = parse("tcp 6 1 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2").unwrap_err();
    assert_eq!(e.expected, "an original and a reply tuple (two src=)");
    let e = parse("tcp six 1 src=a").unwrap_err();
    assert_eq!((e.line, e.token.as_str()), (1, "six"));
    let e = parse("[BOGUS] tcp 6").unwrap_err();
    assert_eq!(e.token, "[BOGUS]");
    assert!(parse("tcp 6 1 src=1.1.1.1 dst=1.1.1.1 sport=99999 dport=1 src=1.1.1.1 dst=1.1.1.1 sport=1 dport=1").is_err());
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = parse(&s).map(Table::from_entries);
    }

    #[test]
    fn shuffled_tokens_never_panic(toks in proptest::collection::vec(
        prop_oneof![Just("src=1.2.3.4"), Just("dst=::1"), Just("sport=1"), Just("dport=70000"),
            Just("type=3"), Just("[ASSURED]"), Just("tcp"), Just("6"), Just("ipv4"), Just("2"),
            Just("[NEW]"), Just("[1.5]"), Just("mark=0xzz"), Just("="), Just("[")], 0..24)) {
        let _ = parse(&toks.join(" ")).map(Table::from_entries);
    }
}
