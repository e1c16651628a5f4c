//! Real third-party listings first (tests/data/third-party/k8s, Apache-2.0, see
//! tests/data/README.md), then hand-written edge cases, then a no-panic property.

use std::net::{IpAddr, SocketAddr};

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/third-party/k8s/",
            $name
        ))
    };
}

// After the macro, so the submodules see it.
mod props;
mod wide;

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().expect("test ip")
}

fn pods(objs: &[Object]) -> Vec<&Pod> {
    objs.iter()
        .filter_map(|o| match o {
            Object::Pod(p) => Some(&**p),
            _ => None,
        })
        .collect()
}

fn one_pod(text: &str) -> Pod {
    let objs = parse(text).expect("parses");
    assert_eq!(objs.len(), 1, "{objs:?}");
    pods(&objs)[0].clone()
}

#[test]
fn every_fixture_parses() {
    let all = [
        (fixture!("victoriametrics-minikube-podlist-etcd.json"), 1),
        (
            fixture!("victoriametrics-minikube-servicelist-kube-dns.json"),
            1,
        ),
        (fixture!("victoriametrics-kind-endpointslicelist.json"), 2),
        (fixture!("k9s-testdata-p1.json"), 1),
        (fixture!("k9s-testdata-po_sidecar.json"), 1),
        (fixture!("k9s-testdata-po_init.json"), 1),
        (fixture!("k9s-testdata-svc.json"), 1),
        (fixture!("k9s-testdata-ep.json"), 1),
        (fixture!("k9s-testdata-eps.json"), 1),
        (fixture!("istio-inject-testdata-pod.injected.yaml"), 1),
        (
            fixture!("istio-inject-testdata-native-sidecar.injected.yaml"),
            1,
        ),
        (fixture!("istio-inject-testdata-list.injected.yaml"), 2),
    ];
    for (text, count) in all {
        let objs = parse(text).expect("fixture parses");
        assert_eq!(objs.len(), count, "{objs:?}");
    }
}

#[test]
fn etcd_is_host_network_and_named_as_its_node() {
    let objs = parse(fixture!("victoriametrics-minikube-podlist-etcd.json")).unwrap();
    let p = pods(&objs)[0];
    assert_eq!(
        (p.namespace.as_str(), p.name.as_str()),
        ("kube-system", "etcd-m01")
    );
    assert!(p.host_network);
    assert_eq!(p.pod_ips, vec![ip("172.17.0.2")]);
    assert_eq!(p.host_ips, vec![ip("172.17.0.2")]);
    assert_eq!(p.node.as_deref(), Some("m01"));
    assert_eq!(p.phase.as_deref(), Some("Running"));
    assert_eq!(p.named_port("foobar", Proto::Tcp), Some(1234));
    assert_eq!(p.sidecar, None);
    let inv = Inventory::from_objects(objs);
    assert_eq!(
        inv.name_ip(ip("172.17.0.2")),
        IpName::Node { name: "m01".into() }
    );
    assert!(inv.pod_by_ip(ip("172.17.0.2")).is_none());
}

#[test]
fn kube_dns_service_ports() {
    let objs = parse(fixture!(
        "victoriametrics-minikube-servicelist-kube-dns.json"
    ))
    .unwrap();
    let Object::Service(s) = &objs[0] else {
        panic!("{objs:?}")
    };
    assert_eq!(
        (s.namespace.as_str(), s.name.as_str()),
        ("kube-system", "kube-dns")
    );
    assert_eq!(s.cluster_ips, vec![ip("10.96.0.10")]);
    assert_eq!(s.service_type, ServiceType::ClusterIP);
    assert_eq!(s.session_affinity, SessionAffinity::None);
    let ports: Vec<_> = s
        .ports
        .iter()
        .map(|p| (p.name.as_str(), p.protocol, p.port))
        .collect();
    assert_eq!(
        ports,
        [
            ("dns", Proto::Udp, 53),
            ("dns-tcp", Proto::Tcp, 53),
            ("metrics", Proto::Tcp, 9153)
        ]
    );
    assert_eq!(s.ports[0].target_port, TargetPort::Number(53));
    let inv = Inventory::from_objects(objs);
    let (svc, port) = inv
        .service_by_frontend(ip("10.96.0.10"), 53, Proto::Udp)
        .unwrap();
    assert_eq!((svc.name.as_str(), port.name.as_str()), ("kube-dns", "dns"));
    assert!(inv
        .service_by_frontend(ip("10.96.0.10"), 9153, Proto::Udp)
        .is_none());
    assert_eq!(
        inv.name_ip(ip("10.96.0.10")),
        IpName::Service {
            namespace: "kube-system".into(),
            name: "kube-dns".into()
        }
    );
}

#[test]
fn kind_slices_resolve_kube_dns_to_coredns() {
    let mut objs = parse(fixture!("victoriametrics-kind-endpointslicelist.json")).unwrap();
    let Object::EndpointSlice(s) = &objs[1] else {
        panic!("{objs:?}")
    };
    assert_eq!(s.service.as_deref(), Some("kube-dns"));
    // v1beta1 `topology` stands in for the missing nodeName.
    assert_eq!(
        s.endpoints[0].node_name.as_deref(),
        Some("kind-control-plane")
    );
    objs.extend(
        parse(fixture!(
            "victoriametrics-minikube-servicelist-kube-dns.json"
        ))
        .unwrap(),
    );
    let inv = Inventory::from_objects(objs);
    let eps = inv.endpoints_of("kube-system", "kube-dns", "dns");
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].addr, "10.244.0.3:53".parse::<SocketAddr>().unwrap());
    let t = eps[0].target_ref.as_ref().unwrap();
    assert_eq!(
        (t.kind.as_str(), t.name.as_str()),
        ("Pod", "coredns-66bff467f8-z8czk")
    );
    assert_eq!(
        inv.endpoints_of("kube-system", "kube-dns", "metrics")[0]
            .addr
            .port(),
        9153
    );
    // dns-tcp has no slice port in this listing: no endpoint, not a wrong one.
    assert!(inv
        .endpoints_of("kube-system", "kube-dns", "dns-tcp")
        .is_empty());
    assert_eq!(
        inv.endpoints_of("default", "kubernetes", "https")[0].addr,
        "172.18.0.2:6443".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn k9s_pods() {
    let p = one_pod(fixture!("k9s-testdata-p1.json"));
    assert_eq!(p.name, "nginx-7fb78fb6d8-2w75j");
    assert_eq!(p.pod_ips, vec![ip("10.44.0.229")]);
    assert_eq!(p.host_ips, vec![ip("10.128.0.15")]);
    assert!(!p.host_network);
    let p = one_pod(fixture!("k9s-testdata-po_sidecar.json"));
    assert_eq!(p.pod_ips, vec![ip("10.244.0.8")]);
    assert_eq!(
        p.sidecar,
        Some(SidecarKind::Native {
            container: "sidecar".into()
        })
    );
    assert!(p.init_containers[1].is_native_sidecar());
    assert!(!p.init_containers[0].is_native_sidecar());
    let p = one_pod(fixture!("k9s-testdata-po_init.json"));
    assert_eq!(p.pod_ips, vec![ip("172.17.0.6")]);
    assert_eq!(p.init_containers.len(), 1);
    assert_eq!(p.sidecar, None);
    let inv = Inventory::from_objects(parse(fixture!("k9s-testdata-po_init.json")).unwrap());
    assert_eq!(
        inv.name_ip(ip("172.17.0.6")),
        IpName::Pod {
            namespace: "default".into(),
            name: "nginx".into(),
            node: Some("minikube".into())
        }
    );
    // The pod's hostIP names the node even without a Node object.
    assert_eq!(
        inv.name_ip(ip("192.168.64.104")),
        IpName::Node {
            name: "minikube".into()
        }
    );
}

#[test]
fn k9s_service_named_target_port_and_endpoints() {
    let objs = parse(fixture!("k9s-testdata-svc.json")).unwrap();
    let Object::Service(s) = &objs[0] else {
        panic!()
    };
    assert_eq!(s.cluster_ips, vec![ip("10.47.248.116")]);
    assert_eq!(s.ports[0].target_port, TargetPort::Name("http".into()));
    let mut objs = parse(fixture!("k9s-testdata-ep.json")).unwrap();
    let Object::Endpoints(e) = &objs[0] else {
        panic!()
    };
    assert_eq!((e.namespace.as_str(), e.subsets.len()), ("ns-1", 1));
    objs.extend(parse(fixture!("k9s-testdata-eps.json")).unwrap());
    let inv = Inventory::from_objects(objs);
    let eps = inv.endpoints_of("ns-1", "blee", "http");
    assert_eq!(eps[0].addr, "10.0.0.67:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(eps[0].node_name.as_deref(), Some("n-1"));
    // The k9s slice has no service-name label: it belongs to no service.
    assert!(inv
        .slices
        .iter()
        .any(|s| s.name == "fred" && s.service.is_none()));
}

#[test]
fn istio_injected_pods() {
    for text in [
        fixture!("istio-inject-testdata-pod.injected.yaml"),
        fixture!("istio-inject-testdata-native-sidecar.injected.yaml"),
    ] {
        let p = one_pod(text);
        assert_eq!(
            p.sidecar,
            Some(SidecarKind::IstioNativeSidecar),
            "{}",
            p.name
        );
        assert_eq!(
            p.labels
                .get("security.istio.io/tlsMode")
                .map(String::as_str),
            Some("istio")
        );
        assert!(p.pod_ips.is_empty(), "spec only, no status IPs");
        let a = p.istio_init.expect("istio-init args");
        assert_eq!(
            (a.envoy_port, a.inbound_capture_port),
            (Some(15001), Some(15006))
        );
        assert_eq!(a.proxy_uid.as_deref(), Some("1337"));
        assert_eq!(a.mode.as_deref(), Some("REDIRECT"));
        assert_eq!(a.include_cidrs.as_deref(), Some("*"));
        assert_eq!(a.exclude_cidrs.as_deref(), Some(""));
        assert_eq!(a.inbound_ports.as_deref(), Some("*"));
        assert_eq!(
            a.exclude_inbound_ports.as_deref(),
            Some("15090,15021,15020")
        );
        assert_eq!(a.other, ["--log_output_level=default:info"]);
        assert_eq!(p.containers[0].ports[0].port, 80);
    }
    let objs = parse(fixture!("istio-inject-testdata-list.injected.yaml")).unwrap();
    assert!(objs
        .iter()
        .all(|o| matches!(o, Object::Other { kind, .. } if kind == "Deployment")));
}

#[test]
fn describe_form_of_istio_iptables_args() {
    let a = IstioInitArgs::from_command_line(
        r#"-p 15001 -z 15006 -u 1337 -m REDIRECT -i * -x "" -b * -d 15090,15021,15020"#,
    )
    .unwrap();
    assert_eq!(a.exclude_cidrs.as_deref(), Some(""));
    assert_eq!(a.inbound_ports.as_deref(), Some("*"));
    // Istio 1.6 describe output drops the empty value entirely.
    let b = IstioInitArgs::from_command_line(
        "-p 15001 -z 15006 -u 1337 -m REDIRECT -i * -x -b * -d 15090,15021,15020",
    )
    .unwrap();
    assert_eq!(a, b);
    let c =
        IstioInitArgs::from_command_line("pilot-agent istio-iptables --envoy-port=15001 -m TPROXY")
            .unwrap();
    assert_eq!(
        (c.envoy_port, c.mode.as_deref()),
        (Some(15001), Some("TPROXY"))
    );
    assert!(IstioInitArgs::from_command_line("sleep 3600").is_none());
}

const AMBIENT_AND_OVERRIDES: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: amb
  namespace: shop
  annotations:
    ambient.istio.io/redirection: enabled
    traffic.sidecar.istio.io/excludeOutboundPorts: "5432"
    sidecar.istio.io/interceptionMode: TPROXY
spec:
  nodeName: w1
status:
  phase: Running
  podIP: 10.1.0.9
  podIPs: [{ip: 10.1.0.9}, {ip: "fd00::9"}]
---
kind: Pod
metadata: {name: old, namespace: shop}
status: {phase: Succeeded, podIP: 10.1.0.9}
"#;

#[test]
fn ambient_dual_stack_overrides_and_ip_reuse() {
    let objs = parse(AMBIENT_AND_OVERRIDES).unwrap();
    let p = pods(&objs)[0];
    assert_eq!(p.sidecar, Some(SidecarKind::Ambient));
    assert_eq!(p.pod_ips, vec![ip("10.1.0.9"), ip("fd00::9")]);
    assert_eq!(
        p.interception.exclude_outbound_ports.as_deref(),
        Some("5432")
    );
    assert_eq!(p.interception.mode.as_deref(), Some("TPROXY"));
    // The finished pod listed later does not take the running pod's IP, in either order.
    for objs in [objs.clone(), objs.into_iter().rev().collect()] {
        let inv = Inventory::from_objects(objs);
        assert_eq!(inv.pod_by_ip(ip("10.1.0.9")).unwrap().name, "amb");
        assert_eq!(inv.pod_by_ip(ip("fd00::9")).unwrap().name, "amb");
    }
}

const NODEPORT_SVC: &str = r#"{"kind":"List","items":[
 {"kind":"Service","metadata":{"name":"ratings","namespace":"bookinfo"},
  "spec":{"type":"LoadBalancer","clusterIP":"10.96.5.5","clusterIPs":["10.96.5.5"],"externalIPs":["192.0.2.7"],
   "sessionAffinity":"ClientIP","externalTrafficPolicy":"Local",
   "ports":[{"port":9080,"targetPort":"http","nodePort":30080}]},
  "status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.3"},{"hostname":"lb.example"}]}}},
 {"kind":"Service","metadata":{"name":"db","namespace":"bookinfo"},"spec":{"clusterIP":"None","ports":[{"port":5432}]}},
 {"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"ratings-a","namespace":"bookinfo",
   "labels":{"kubernetes.io/service-name":"ratings"}},"addressType":"IPv4",
  "endpoints":[{"addresses":["10.244.1.6"],"conditions":{"ready":false,"serving":true,"terminating":true},"nodeName":"w1"},
               {"addresses":["10.244.2.6"],"conditions":{"ready":false,"serving":false,"terminating":true},"nodeName":"w2"}],
  "ports":[{"port":9081}]},
 {"kind":"Node","metadata":{"name":"w1"},"spec":{"podCIDR":"10.244.1.0/24"},
  "status":{"addresses":[{"type":"InternalIP","address":"192.168.50.10"},{"type":"Hostname","address":"w1"}]}},
 {"kind":"ConfigMap","metadata":{"name":"cm"}}
]}"#;

#[test]
fn hand_written_service_nodeport_terminating_endpoints() {
    let inv = Inventory::from_objects(parse(NODEPORT_SVC).unwrap());
    let (s, p) = inv.service_by_node_port(30080, Proto::Tcp).unwrap();
    assert_eq!(
        (s.name.as_str(), p.target_port.clone()),
        ("ratings", TargetPort::Name("http".into()))
    );
    assert_eq!(
        s.session_affinity,
        SessionAffinity::ClientIp {
            timeout_seconds: 10800
        }
    );
    assert_eq!(s.external_traffic_policy, "Local");
    for frontend in ["10.96.5.5", "192.0.2.7", "198.51.100.3"] {
        assert!(
            inv.service_by_frontend(ip(frontend), 9080, Proto::Tcp)
                .is_some(),
            "{frontend}"
        );
    }
    assert!(inv.service_by_node_port(30080, Proto::Udp).is_none());
    // None ready: kube-proxy falls back to serving+terminating endpoints only.
    let eps = inv.endpoints_of("bookinfo", "ratings", "");
    assert_eq!(eps.len(), 1);
    assert_eq!(
        eps[0].addr,
        "10.244.1.6:9081".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(inv.all_endpoints_of("bookinfo", "ratings", "").len(), 2);
    let db = inv.service("bookinfo", "db").unwrap();
    assert!(db.headless && db.cluster_ips.is_empty() && !db.is_proxied());
    assert_eq!(
        inv.name_ip(ip("192.168.50.10")),
        IpName::Node { name: "w1".into() }
    );
    assert_eq!(inv.name_ip(ip("10.9.9.9")), IpName::Unknown);
    assert_eq!(inv.nodes[0].pod_cidrs, ["10.244.1.0/24"]);
    assert_eq!(inv.other, [("ConfigMap".to_string(), "cm".to_string())]);
}

#[test]
fn service_port_names() {
    assert_eq!(service_port_name("ns1", "svc1", "p80"), "ns1/svc1:p80");
    assert_eq!(service_port_name("default", "nginx", ""), "default/nginx");
    assert_eq!(
        legacy_service_port_name("default", "nginx", ""),
        "default/nginx:"
    );
}

#[test]
fn errors_say_where() {
    let e =
        parse(r#"{"kind":"ServiceList","items":[{"spec":{"ports":[{"port":"x"}]}}]}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/items/0/spec/ports/0/port: expected an integer 0..=65535, found a string"
    );
    let e = parse("kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nstatus:\n  podIP: [1]\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "yaml document at line 3: /status/podIP: expected a string, found an array"
    );
    let e = parse("kind: Pod\nmetadata: {name: [\n").unwrap_err();
    assert!(
        matches!(
            e,
            KubeError::Yaml { line: 3, .. } | KubeError::Yaml { line: 2, .. }
        ),
        "{e}"
    );
    let e = parse("{\"kind\": \"Pod\",\n \"status\": {\"podIP\": \"10.0.0.300\"}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "/status/podIP: expected an IP address, found a string"
    );
    assert!(matches!(
        parse("{\n\"kind\": }"),
        Err(KubeError::Json { line: 2, .. })
    ));
}

#[test]
fn lenient_on_missing_fields() {
    let p = one_pod("kind: Pod\n");
    assert_eq!((p.namespace.as_str(), p.name.as_str()), ("default", ""));
    assert!(p.pod_ips.is_empty() && p.phase.is_none());
    let p = one_pod(r#"{"kind":"Pod","metadata":{"name":"p"},"status":{"podIP":""}}"#);
    assert!(p.pod_ips.is_empty());
    assert!(parse("").unwrap().is_empty());
    assert!(parse("---\n---\n").unwrap().is_empty());
}

#[test]
fn yaml_aliases_are_bounded() {
    let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        s.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    assert!(matches!(parse(&s), Err(KubeError::Yaml { .. })));
}
