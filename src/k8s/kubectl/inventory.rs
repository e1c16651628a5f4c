//! The cluster's names for addresses (domain section 7.2): which pod, service frontend or node an
//! IP is, which service a (frontend, port, protocol) or a nodePort is, and a service port's
//! endpoints as kube-proxy would program them.
//!
//! Naming rules, in order: a service frontend (ClusterIP, externalIP, load-balancer ingress IP)
//! is the service; a node address (from Node objects, or a pod's `hostIP`, or a host-network
//! pod's IP) is the node, never a pod: host-network pods share it; any other pod IP is the pod.
//! Pod IPs are reused over time, so when several listed pods claim one IP the most alive wins:
//! Running, then Pending (or no phase), then Unknown, then Succeeded/Failed; among equals the first
//! listed. This is a snapshot rule; a time-versioned index belongs to the join.
//!
//! Endpoints follow kube-proxy (pkg/proxy/endpointslicecache.go, pkg/proxy/topology.go
//! `CategorizeEndpoints`): slices of a service are merged, the endpoint port is the slice port
//! whose name equals the service port's name, and the usable set is the ready endpoints, or,
//! when none is ready, the serving-and-terminating ones. v1 Endpoints are used only for a service
//! that has no EndpointSlice in the listing (the EndpointSlice mirror makes slices since 1.19).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use super::{EndpointSlice, Node, Object, Pod, Service, ServicePort, TargetRef};
use crate::k8s::walk::Proto;

/// What an address is in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpName {
    Pod {
        namespace: String,
        name: String,
        node: Option<String>,
    },
    Service {
        namespace: String,
        name: String,
    },
    Node {
        name: String,
    },
    Unknown,
}

/// One endpoint of a service port, as kube-proxy would DNAT to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEndpoint {
    pub addr: SocketAddr,
    pub node_name: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub target_ref: Option<TargetRef>,
}

/// kube-proxy's ServicePortName string since v1.19: `ns/svc:port`, or `ns/svc` when unnamed
/// (pkg/proxy/types.go `ServicePortName.String`, `fmtPortName`).
pub fn service_port_name(namespace: &str, service: &str, port_name: &str) -> String {
    if port_name.is_empty() {
        format!("{namespace}/{service}")
    } else {
        format!("{namespace}/{service}:{port_name}")
    }
}

/// The pre-1.19 form: always a colon, even for an unnamed port (`ns/svc:`).
pub fn legacy_service_port_name(namespace: &str, service: &str, port_name: &str) -> String {
    format!("{namespace}/{service}:{port_name}")
}

/// Pods, services, slices and nodes of one snapshot, indexed by address.
#[derive(Debug, Default)]
pub struct Inventory {
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub slices: Vec<EndpointSlice>,
    pub nodes: Vec<Node>,
    /// Other kinds seen, as (kind, name).
    pub other: Vec<(String, String)>,
    pod_by_ip: HashMap<IpAddr, usize>,
    node_by_ip: HashMap<IpAddr, String>,
    service_by_ip: HashMap<IpAddr, usize>,
}

impl Inventory {
    pub fn from_objects(objects: Vec<Object>) -> Inventory {
        let mut inv = Inventory::default();
        let mut endpoints = Vec::new();
        for o in objects {
            match o {
                Object::Pod(p) => inv.pods.push(*p),
                Object::Service(s) => inv.services.push(s),
                Object::EndpointSlice(s) => inv.slices.push(s),
                Object::Endpoints(e) => endpoints.push(e),
                Object::Node(n) => inv.nodes.push(n),
                Object::Other { kind, name } => inv.other.push((kind, name)),
            }
        }
        // v1 Endpoints only for services no slice covers.
        let sliced: HashSet<(String, String)> = inv
            .slices
            .iter()
            .filter_map(|s| Some((s.namespace.clone(), s.service.clone()?)))
            .collect();
        for e in endpoints {
            if !sliced.contains(&(e.namespace.clone(), e.name.clone())) {
                inv.slices.extend(e.subsets);
            }
        }
        inv.index();
        inv
    }

    fn index(&mut self) {
        for n in &self.nodes {
            for ip in n.ips() {
                self.node_by_ip.entry(ip).or_insert_with(|| n.name.clone());
            }
        }
        for p in &self.pods {
            let Some(node) = &p.node else { continue };
            let node_ips = p.host_ips.iter().chain(if p.host_network {
                p.pod_ips.as_slice()
            } else {
                &[]
            });
            for ip in node_ips {
                self.node_by_ip.entry(*ip).or_insert_with(|| node.clone());
            }
        }
        for (i, p) in self.pods.iter().enumerate() {
            if p.host_network {
                continue;
            }
            for ip in &p.pod_ips {
                match self.pod_by_ip.get(ip) {
                    Some(&j)
                        if self
                            .pods
                            .get(j)
                            .is_some_and(|q| q.liveness_rank() >= p.liveness_rank()) => {}
                    _ => {
                        self.pod_by_ip.insert(*ip, i);
                    }
                }
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            for ip in s
                .cluster_ips
                .iter()
                .chain(&s.external_ips)
                .chain(&s.lb_ingress)
            {
                self.service_by_ip.entry(*ip).or_insert(i);
            }
        }
    }

    /// Name an address (rules in the module doc).
    pub fn name_ip(&self, ip: IpAddr) -> IpName {
        if let Some(s) = self
            .service_by_ip
            .get(&ip)
            .and_then(|&i| self.services.get(i))
        {
            return IpName::Service {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
            };
        }
        if let Some(name) = self.node_by_ip.get(&ip) {
            return IpName::Node { name: name.clone() };
        }
        match self.pod_by_ip(ip) {
            Some(p) => IpName::Pod {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                node: p.node.clone(),
            },
            None => IpName::Unknown,
        }
    }

    /// The pod that owns `ip` (never a host-network pod, never a node address).
    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<&Pod> {
        if self.node_by_ip.contains_key(&ip) {
            return None;
        }
        self.pod_by_ip.get(&ip).and_then(|&i| self.pods.get(i))
    }

    /// The service whose frontend (ClusterIP, externalIP or LB ingress IP) and port match.
    pub fn service_by_frontend(
        &self,
        ip: IpAddr,
        port: u16,
        proto: Proto,
    ) -> Option<(&Service, &ServicePort)> {
        self.services
            .iter()
            .filter(|s| s.is_proxied())
            .filter(|s| {
                s.cluster_ips.contains(&ip)
                    || s.external_ips.contains(&ip)
                    || s.lb_ingress.contains(&ip)
            })
            .find_map(|s| {
                s.ports
                    .iter()
                    .find(|p| p.port == port && p.protocol == proto)
                    .map(|p| (s, p))
            })
    }

    /// The service port that owns a nodePort.
    pub fn service_by_node_port(
        &self,
        port: u16,
        proto: Proto,
    ) -> Option<(&Service, &ServicePort)> {
        self.services
            .iter()
            .filter(|s| s.is_proxied())
            .find_map(|s| {
                s.ports
                    .iter()
                    .find(|p| p.node_port == Some(port) && p.protocol == proto)
                    .map(|p| (s, p))
            })
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    /// Every endpoint listed for a service port, with its conditions, before kube-proxy's
    /// selection. The protocol is the service port's (TCP when the service is not listed).
    pub fn all_endpoints_of(
        &self,
        namespace: &str,
        service: &str,
        port_name: &str,
    ) -> Vec<ServiceEndpoint> {
        let proto = self
            .service(namespace, service)
            .and_then(|s| s.ports.iter().find(|p| p.name == port_name))
            .map_or(Proto::Tcp, |p| p.protocol);
        let mut out: Vec<ServiceEndpoint> = Vec::new();
        let slices = self
            .slices
            .iter()
            .filter(|s| s.namespace == namespace && s.service.as_deref() == Some(service));
        for slice in slices {
            let Some(port) = slice
                .ports
                .iter()
                .find(|p| p.name == port_name && p.protocol == proto)
                .and_then(|p| p.port)
            else {
                continue;
            };
            for e in &slice.endpoints {
                for ip in e.ips() {
                    let addr = SocketAddr::new(ip, port);
                    // The same endpoint in two slices (during a move) counts once.
                    if out.iter().any(|o| o.addr == addr) {
                        continue;
                    }
                    out.push(ServiceEndpoint {
                        addr,
                        node_name: e.node_name.clone(),
                        ready: e.ready(),
                        serving: e.serving(),
                        terminating: e.terminating(),
                        target_ref: e.target_ref.clone(),
                    });
                }
            }
        }
        out
    }

    /// The endpoints kube-proxy would use: the ready ones, or, when none is ready, the serving
    /// and terminating ones. Each carries its node so the caller can take the node-local set.
    pub fn endpoints_of(
        &self,
        namespace: &str,
        service: &str,
        port_name: &str,
    ) -> Vec<ServiceEndpoint> {
        let all = self.all_endpoints_of(namespace, service, port_name);
        if all.iter().any(|e| e.ready) {
            all.into_iter().filter(|e| e.ready).collect()
        } else {
            all.into_iter()
                .filter(|e| e.serving && e.terminating)
                .collect()
        }
    }
}
