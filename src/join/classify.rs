//! Which leg of the forwarding path a captured connection is (domain.md 7.4), from where it
//! was captured and its addresses. First matching rule wins; the rules only read facts the
//! bundle gives (the pod's IPs, whether it has a sidecar and on which ports it intercepts),
//! never names.

use crate::model::Connection;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Where a capture was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PointKind {
    /// A node's netns: kube-proxy's NAT happens here.
    Node(String),
    /// A pod's netns: its sidecar's interception happens here.
    Pod { namespace: String, name: String },
    /// Not said: classified from addresses alone.
    Unknown,
}

/// What the join knows about a capture point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointFacts {
    pub kind: PointKind,
    /// The pod's own IPs (pod points), or the node's addresses (node points).
    pub local_ips: Vec<IpAddr>,
    /// The pod runs a sidecar (istio-proxy container, or ISTIO_* rules in its netns).
    pub sidecar: bool,
    /// Outbound and inbound capture ports (15001 / 15006 unless the rules say otherwise).
    pub outbound_port: u16,
    pub inbound_port: u16,
    /// Inbound ports the sidecar does not capture (15008, 15090, 15021, 15020 by default).
    pub inbound_excluded: Vec<u16>,
}

impl PointFacts {
    pub fn new(kind: PointKind) -> PointFacts {
        PointFacts {
            kind,
            local_ips: Vec::new(),
            sidecar: false,
            outbound_port: 15001,
            inbound_port: 15006,
            inbound_excluded: vec![15008, 15090, 15021, 15020],
        }
    }
}

/// Envoy's source address for inbound passthrough to the app (Istio >= 1.10; `::6` on IPv6).
pub const INBOUND_PASSTHROUGH_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 6));
pub const INBOUND_PASSTHROUGH_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 6));

/// Istio's own ports: admin, agent, xDS, telemetry, health, DNS (domain.md 3.5).
const MESH_CONTROL: [u16; 9] = [
    15000, 15004, 15010, 15012, 15014, 15020, 15021, 15053, 15090,
];
const HBONE: u16 = 15008;

/// The kinds of leg, named after domain.md 3.7's legs A–D.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegClass {
    /// A: the app's outbound connection, redirected to the sidecar's 15001.
    AppToSidecar,
    /// B: the sidecar's connection to the upstream it chose.
    SidecarToUpstream,
    /// C: a downstream's connection to this pod, taken by the sidecar's 15006.
    DownstreamToSidecar,
    /// D: the sidecar's inbound passthrough to the app (from 127.0.0.6).
    SidecarToApp,
    /// Seen in a node netns, or unknown point, to a service frontend (ClusterIP, NodePort…).
    ServiceFrontend,
    /// Istio control plane and telemetry (xDS, health, stats, DNS).
    MeshControl,
    /// Ambient / waypoint HBONE tunnel (15008).
    Hbone,
    /// Anything else: pod to pod, node to pod, external.
    Plain,
}

impl LegClass {
    pub const fn as_str(self) -> &'static str {
        match self {
            LegClass::AppToSidecar => "app→sidecar",
            LegClass::SidecarToUpstream => "sidecar→upstream",
            LegClass::DownstreamToSidecar => "downstream→sidecar",
            LegClass::SidecarToApp => "sidecar→app",
            LegClass::ServiceFrontend => "service",
            LegClass::MeshControl => "mesh-control",
            LegClass::Hbone => "hbone",
            LegClass::Plain => "plain",
        }
    }
}

/// Classifies `conn` captured at `point`; `is_frontend` says whether an address:port is a
/// kube-proxy frontend (ClusterIP, external/LB IP, or a node address with a NodePort).
pub fn classify(
    conn: &Connection,
    point: &PointFacts,
    is_frontend: &dyn Fn(SocketAddr) -> bool,
) -> LegClass {
    let (client, server) = (conn.client, conn.server);
    let in_pod = matches!(point.kind, PointKind::Pod { .. });
    let sidecar = in_pod && point.sidecar;
    let local = |ip: IpAddr| point.local_ips.contains(&ip);
    if server.port() == HBONE {
        return LegClass::Hbone;
    }
    if MESH_CONTROL.contains(&server.port()) {
        return LegClass::MeshControl;
    }
    // A: redirected to the outbound port (the reply half names the original destination).
    if server.port() == point.outbound_port
        && (server.ip().is_loopback() || conn.original_dst.is_some())
    {
        return LegClass::AppToSidecar;
    }
    if client.ip() == INBOUND_PASSTHROUGH_V4 || client.ip() == INBOUND_PASSTHROUGH_V6 {
        return LegClass::SidecarToApp;
    }
    if sidecar && local(server.ip()) && !point.inbound_excluded.contains(&server.port()) {
        return LegClass::DownstreamToSidecar;
    }
    if sidecar && local(client.ip()) && !server.ip().is_loopback() {
        return if is_frontend(server) {
            // Envoy's PassthroughCluster goes to the ClusterIP itself: kube-proxy decides.
            LegClass::ServiceFrontend
        } else {
            LegClass::SidecarToUpstream
        };
    }
    if is_frontend(server) {
        return LegClass::ServiceFrontend;
    }
    LegClass::Plain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppInfo, ConnStats, EndReason, RoleSource};

    fn conn(client: &str, server: &str, orig: Option<&str>) -> Connection {
        Connection {
            id: 1,
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            roles: RoleSource::Handshake,
            stats: ConnStats::default(),
            end: EndReason::Fin,
            app: AppInfo::Unknown,
            interface: None,
            original_dst: orig.map(|o| o.parse().unwrap()),
        }
    }

    fn pod() -> PointFacts {
        PointFacts {
            local_ips: vec!["10.244.1.7".parse().unwrap()],
            sidecar: true,
            ..PointFacts::new(PointKind::Pod {
                namespace: "default".into(),
                name: "productpage".into(),
            })
        }
    }

    fn vip(a: SocketAddr) -> bool {
        a == "10.96.100.10:9080".parse::<SocketAddr>().unwrap()
    }

    #[test]
    fn the_four_sidecar_legs_of_domain_md_3_7() {
        let p = pod();
        let a = conn(
            "10.244.1.7:49996",
            "127.0.0.1:15001",
            Some("10.96.100.10:9080"),
        );
        assert_eq!(classify(&a, &p, &vip), LegClass::AppToSidecar);
        let b = conn("10.244.1.7:42874", "10.244.1.6:9080", None);
        assert_eq!(classify(&b, &p, &vip), LegClass::SidecarToUpstream);
        let c = conn("10.244.1.6:41744", "10.244.1.7:9080", None);
        assert_eq!(classify(&c, &p, &vip), LegClass::DownstreamToSidecar);
        let d = conn("127.0.0.6:50753", "10.244.1.7:9080", None);
        assert_eq!(classify(&d, &p, &vip), LegClass::SidecarToApp);
    }

    #[test]
    fn excluded_and_control_ports_are_not_intercepted_legs() {
        let p = pod();
        let health = conn("10.244.1.1:5000", "10.244.1.7:15021", None);
        assert_eq!(classify(&health, &p, &vip), LegClass::MeshControl);
        let xds = conn("10.244.1.7:5000", "10.96.0.5:15012", None);
        assert_eq!(classify(&xds, &p, &vip), LegClass::MeshControl);
        let tunnel = conn("10.244.1.7:5000", "10.244.2.9:15008", None);
        assert_eq!(classify(&tunnel, &p, &vip), LegClass::Hbone);
    }

    #[test]
    fn node_point_sees_service_frontends_and_plain_traffic() {
        let node = PointFacts {
            local_ips: vec!["192.168.50.10".parse().unwrap()],
            ..PointFacts::new(PointKind::Node("node-1".into()))
        };
        let np = |a: SocketAddr| a.port() == 30080;
        let c = conn("192.168.50.20:54396", "192.168.50.10:30080", None);
        assert_eq!(classify(&c, &node, &np), LegClass::ServiceFrontend);
        let post = conn("10.244.1.1:31815", "10.244.1.6:9080", None);
        assert_eq!(classify(&post, &node, &np), LegClass::Plain);
        // A pod capture without a sidecar: its connections are plain.
        let mut p = pod();
        p.sidecar = false;
        let b = conn("10.244.1.7:42874", "10.244.1.6:9080", None);
        assert_eq!(classify(&b, &p, &vip), LegClass::Plain);
    }
}
