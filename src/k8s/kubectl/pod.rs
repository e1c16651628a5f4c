//! Pod objects: identity, placement, addresses, containers and Istio markers.
//!
//! Addresses follow the API's own rule (k8s.io/api core/v1 `PodStatus`): `status.podIPs[0]` is
//! `status.podIP`, and a dual-stack pod lists one address per family; `status.hostIPs` likewise
//! extends `hostIP`. With `spec.hostNetwork: true` the pod's IPs *are* the node's, which is why
//! the [`super::Inventory`] never names such an address as the pod.
//!
//! What it does not keep: volumes, probes, resources, env, container statuses.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::field::At;
use super::istio::{self, Interception, IstioInitArgs, SidecarKind};
use super::{protocol, KubeError, Meta};
use crate::k8s::walk::Proto;

#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    /// `spec.nodeName`; absent until scheduled.
    pub node: Option<String>,
    pub host_network: bool,
    /// `status.podIP` then the other `status.podIPs`, without repeats.
    pub pod_ips: Vec<IpAddr>,
    /// `status.hostIP` then the other `status.hostIPs`.
    pub host_ips: Vec<IpAddr>,
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    pub sidecar: Option<SidecarKind>,
    /// `traffic.sidecar.istio.io/*` and `sidecar.istio.io/interceptionMode` overrides.
    pub interception: Interception,
    /// The `istio-init` container's `istio-iptables` arguments, when the listing has them.
    pub istio_init: Option<IstioInitArgs>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub ports: Vec<ContainerPort>,
    /// Only init containers set it; `Always` makes a native sidecar (KEP-753, Kubernetes 1.28+).
    pub restart_policy: Option<String>,
}

impl Container {
    /// An init container that keeps running beside the app (KEP-753 native sidecar).
    pub fn is_native_sidecar(&self) -> bool {
        self.restart_policy.as_deref() == Some("Always")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Proto,
}

impl Pod {
    /// Running pods win over pending ones, and both over finished ones, when an IP is reused.
    pub(crate) fn liveness_rank(&self) -> u8 {
        match self.phase.as_deref() {
            Some("Running") => 3,
            Some("Pending") | None => 2,
            Some("Unknown") => 1,
            _ => 0,
        }
    }

    /// The container port named `name` (a Service `targetPort` by name), in any container.
    pub fn named_port(&self, name: &str, proto: Proto) -> Option<u16> {
        self.containers
            .iter()
            .chain(&self.init_containers)
            .flat_map(|c| &c.ports)
            .find(|p| p.name.as_deref() == Some(name) && p.protocol == proto)
            .map(|p| p.port)
    }
}

fn container(at: At<'_, '_>) -> Result<Container, KubeError> {
    let mut ports = Vec::new();
    for p in at.items("ports")? {
        let p = p.at();
        ports.push(ContainerPort {
            name: p.str_opt("name")?,
            port: p.u16_opt("containerPort")?.unwrap_or(0),
            protocol: protocol(p)?,
        });
    }
    Ok(Container {
        name: at.string("name")?,
        image: at.str_opt("image")?,
        command: at.strings("command")?,
        args: at.strings("args")?,
        ports,
        restart_policy: at.str_opt("restartPolicy")?,
    })
}

fn ips(at: At<'_, '_>, single: &str, plural: &str) -> Result<Vec<IpAddr>, KubeError> {
    let mut out = Vec::new();
    let mut push = |ip: IpAddr| {
        if !out.contains(&ip) {
            out.push(ip);
        }
    };
    if let Some(c) = at.get(single) {
        if !c.at().as_str()?.is_empty() {
            push(c.at().as_ip()?);
        }
    }
    for item in at.items(plural)? {
        if let Some(c) = item.at().get("ip") {
            if !c.at().as_str()?.is_empty() {
                push(c.at().as_ip()?);
            }
        }
    }
    Ok(out)
}

pub(crate) fn parse(at: At<'_, '_>) -> Result<Pod, KubeError> {
    let meta = Meta::read(at)?;
    let (mut containers, mut init_containers) = (Vec::new(), Vec::new());
    let (mut node, mut host_network) = (None, false);
    if let Some(spec) = at.get("spec") {
        let spec = spec.at();
        node = spec.str_opt("nodeName")?.filter(|n| !n.is_empty());
        host_network = spec.bool_opt("hostNetwork")?.unwrap_or(false);
        for c in spec.items("containers")? {
            containers.push(container(c.at())?);
        }
        for c in spec.items("initContainers")? {
            init_containers.push(container(c.at())?);
        }
    }
    let (mut pod_ips, mut host_ips, mut phase) = (Vec::new(), Vec::new(), None);
    if let Some(status) = at.get("status") {
        let status = status.at();
        pod_ips = ips(status, "podIP", "podIPs")?;
        host_ips = ips(status, "hostIP", "hostIPs")?;
        phase = status.str_opt("phase")?;
    }
    let sidecar = istio::sidecar_kind(&containers, &init_containers, &meta);
    let interception = Interception::from_annotations(&meta.annotations);
    let istio_init = init_containers
        .iter()
        .chain(&containers)
        .find(|c| c.name == "istio-init")
        .and_then(|c| IstioInitArgs::from_argv(c.command.iter().chain(&c.args)));
    Ok(Pod {
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        node,
        host_network,
        pod_ips,
        host_ips,
        phase,
        labels: meta.labels,
        annotations: meta.annotations,
        containers,
        init_containers,
        sidecar,
        interception,
        istio_init,
    })
}
