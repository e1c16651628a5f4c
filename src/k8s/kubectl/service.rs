//! Service objects: the frontends kube-proxy programs (ClusterIPs, externalIPs, load-balancer
//! ingress IPs, nodePorts), their ports and the policies that change the walk.
//!
//! Defaults follow the API (k8s.io/api core/v1 `ServiceSpec`): type ClusterIP, protocol TCP,
//! `targetPort` = `port` when absent, sessionAffinity None with a ClientIP timeout of 10800 s,
//! traffic policies Cluster. `clusterIP: None` is headless, which kube-proxy skips
//! (pkg/proxy/servicechangetracker.go `ShouldSkipService`), as it skips ExternalName.
//!
//! What it does not keep: `loadBalancerSourceRanges`, `healthCheckNodePort`, `appProtocol`,
//! ingress hostnames.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::field::At;
use super::{protocol, KubeError, Meta};
use crate::k8s::walk::Proto;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
    Other(String),
}

/// A port's `targetPort`: a number, or a container port name resolved per endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAffinity {
    None,
    /// `ClientIP` with `sessionAffinityConfig.clientIP.timeoutSeconds` (default 10800).
    ClientIp {
        timeout_seconds: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// Empty when unnamed (allowed for a single-port service).
    pub name: String,
    pub protocol: Proto,
    pub port: u16,
    pub target_port: TargetPort,
    pub node_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub service_type: ServiceType,
    /// `clusterIPs` (or `clusterIP`); empty when headless.
    pub cluster_ips: Vec<IpAddr>,
    pub headless: bool,
    pub external_ips: Vec<IpAddr>,
    /// `status.loadBalancer.ingress[].ip`.
    pub lb_ingress: Vec<IpAddr>,
    pub ports: Vec<ServicePort>,
    pub session_affinity: SessionAffinity,
    /// `externalTrafficPolicy` as given (`Cluster` when absent; `Local` keeps client IPs).
    pub external_traffic_policy: String,
    pub internal_traffic_policy: String,
    pub selector: BTreeMap<String, String>,
}

impl Service {
    /// kube-proxy programs no rules for headless and ExternalName services.
    pub fn is_proxied(&self) -> bool {
        !self.headless && self.service_type != ServiceType::ExternalName
    }
}

/// Kubernetes' default ClientIP affinity timeout (core/v1 `DefaultClientIPServiceAffinitySeconds`).
pub const DEFAULT_AFFINITY_SECONDS: u32 = 10800;

fn ip_list(at: At<'_, '_>, key: &str, out: &mut Vec<IpAddr>) -> Result<(), KubeError> {
    for c in at.items(key)? {
        let ip = c.at().as_ip()?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(())
}

fn port(at: At<'_, '_>) -> Result<ServicePort, KubeError> {
    let number = at.u16_opt("port")?.unwrap_or(0);
    let target_port = match at.get("targetPort") {
        None => TargetPort::Number(number),
        Some(c) => {
            let c = c.at();
            match c.value {
                serde_json::Value::String(s) => match s.parse::<u16>() {
                    Ok(n) => TargetPort::Number(n),
                    Err(_) => TargetPort::Name(s.clone()),
                },
                _ => TargetPort::Number(c.as_u16()?),
            }
        }
    };
    Ok(ServicePort {
        name: at.string("name")?,
        protocol: protocol(at)?,
        port: number,
        target_port,
        node_port: at.u16_opt("nodePort")?.filter(|&p| p != 0),
    })
}

pub(crate) fn parse(at: At<'_, '_>) -> Result<Service, KubeError> {
    let meta = Meta::read(at)?;
    let mut svc = Service {
        namespace: meta.namespace,
        name: meta.name,
        service_type: ServiceType::ClusterIP,
        cluster_ips: Vec::new(),
        headless: false,
        external_ips: Vec::new(),
        lb_ingress: Vec::new(),
        ports: Vec::new(),
        session_affinity: SessionAffinity::None,
        external_traffic_policy: "Cluster".into(),
        internal_traffic_policy: "Cluster".into(),
        selector: BTreeMap::new(),
    };
    if let Some(spec) = at.get("spec") {
        let spec = spec.at();
        svc.service_type = match spec.str_opt("type")?.as_deref() {
            None | Some("ClusterIP") => ServiceType::ClusterIP,
            Some("NodePort") => ServiceType::NodePort,
            Some("LoadBalancer") => ServiceType::LoadBalancer,
            Some("ExternalName") => ServiceType::ExternalName,
            Some(other) => ServiceType::Other(other.to_string()),
        };
        let single = spec.str_opt("clusterIP")?;
        svc.headless = single.as_deref() == Some("None");
        if !svc.headless {
            if let Some(c) = spec.get("clusterIP") {
                if !single.as_deref().unwrap_or("").is_empty() {
                    svc.cluster_ips.push(c.at().as_ip()?);
                }
            }
            for c in spec.items("clusterIPs")? {
                let c = c.at();
                if c.as_str()? == "None" {
                    svc.headless = true;
                    continue;
                }
                let ip = c.as_ip()?;
                if !svc.cluster_ips.contains(&ip) {
                    svc.cluster_ips.push(ip);
                }
            }
            if svc.headless {
                svc.cluster_ips.clear();
            }
        }
        ip_list(spec, "externalIPs", &mut svc.external_ips)?;
        for p in spec.items("ports")? {
            svc.ports.push(port(p.at())?);
        }
        if spec.str_opt("sessionAffinity")?.as_deref() == Some("ClientIP") {
            let timeout = match spec.get("sessionAffinityConfig") {
                Some(c) => match c.at().get("clientIP") {
                    Some(ip) => ip.at().u32_opt("timeoutSeconds")?,
                    None => None,
                },
                None => None,
            };
            svc.session_affinity = SessionAffinity::ClientIp {
                timeout_seconds: timeout.unwrap_or(DEFAULT_AFFINITY_SECONDS),
            };
        }
        if let Some(p) = spec.str_opt("externalTrafficPolicy")? {
            // "Local" and "Cluster"; the pre-1.22 spelling "Global" meant Cluster.
            svc.external_traffic_policy = if p == "Global" { "Cluster".into() } else { p };
        }
        if let Some(p) = spec.str_opt("internalTrafficPolicy")? {
            svc.internal_traffic_policy = p;
        }
        svc.selector = spec.str_map("selector")?;
    }
    if let Some(status) = at.get("status") {
        if let Some(lb) = status.at().get("loadBalancer") {
            for ing in lb.at().items("ingress")? {
                if let Some(ip) = ing.at().get("ip") {
                    svc.lb_ingress.push(ip.at().as_ip()?);
                }
            }
        }
    }
    Ok(svc)
}
