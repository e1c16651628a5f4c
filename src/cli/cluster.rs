//! Reading a bundle's files (docs/bundle.md) into the join's view of the cluster: parse each
//! with the library's parsers, say what was missing, and warn (file, line, what) for what
//! could not be read. A bad file never stops the report; it only resolves fewer hops.

use super::bundle::{BundleFiles, NetnsDir};
use hopscope::join::{Cluster, Frontend, NatEntry, NodeView, PodView};
use hopscope::k8s::conntrack;
use hopscope::k8s::kubectl::{self, Inventory, Object, ServiceType};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// Bundle files are text of a bounded size; a 1 GiB "iptables-save" is not one.
const FILE_LIMIT: u64 = 512 << 20;

fn read(path: &Path, warnings: &mut Vec<String>) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > FILE_LIMIT => {
            warnings.push(format!(
                "{}: over {FILE_LIMIT} bytes, skipped",
                path.display()
            ));
            return None;
        }
        Err(e) => {
            warnings.push(format!("{}: {e}", path.display()));
            return None;
        }
        Ok(_) => {}
    }
    match std::fs::read(path) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => {
            warnings.push(format!("{}: {e}", path.display()));
            None
        }
    }
}

pub fn load(files: &BundleFiles) -> Cluster {
    let mut c = Cluster::default();
    let inventory = inventory(files, &mut c.warnings);
    if inventory.pods.is_empty() && inventory.services.is_empty() {
        c.missing
            .push("kubectl objects (kubectl/*.json): IPs are not named, services unknown".into());
    }
    name_ips(&inventory, &mut c);
    for d in &files.nodes {
        c.nodes.push(node(d, &inventory, &mut c.warnings));
    }
    for d in &files.pods {
        c.pods.push(pod(d, &inventory, &mut c.warnings));
    }
    // Pods the inventory knows but the bundle has no netns directory for.
    for p in &inventory.pods {
        if c.pod(&p.namespace, &p.name).is_none() && !p.host_network && !p.pod_ips.is_empty() {
            c.pods.push(PodView {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
                ips: p.pod_ips.clone(),
                node: p.node.clone(),
                sidecar: p.sidecar.is_some(),
                ..PodView::default()
            });
        }
    }
    if c.nodes.iter().all(|n| n.dataplane.is_none()) {
        c.missing
            .push("node rules (node/NODE/iptables-save.txt, nft.json, ipvsadm.txt)".into());
    }
    if c.nodes.iter().all(|n| n.conntrack.is_empty()) {
        c.missing
            .push("node conntrack (node/NODE/conntrack.txt)".into());
    }
    if c.pods.iter().any(|p| p.sidecar) && c.pods.iter().all(|p| p.mesh.is_none()) {
        c.missing
            .push("Envoy config (pod/NS/POD/config_dump.json or the istioctl proxy-config files) for the sidecar pods".into());
    }
    c
}

fn inventory(files: &BundleFiles, warnings: &mut Vec<String>) -> Inventory {
    let mut objects: Vec<Object> = Vec::new();
    for f in &files.kubectl {
        let Some(text) = read(f, warnings) else {
            continue;
        };
        match kubectl::parse(&text) {
            Ok(o) => objects.extend(o),
            Err(e) => warnings.push(format!("{}: {e}", f.display())),
        }
    }
    if let Some(f) = &files.pods_wide {
        if let Some(text) = read(f, warnings) {
            match kubectl::parse_pods_wide(&text) {
                Ok(pods) => objects.extend(pods.into_iter().map(|p| Object::Pod(Box::new(p)))),
                Err(e) => warnings.push(format!("{}: {e}", f.display())),
            }
        }
    }
    Inventory::from_objects(objects)
}

/// Names for every IP the inventory knows, and the service frontends.
fn name_ips(inv: &Inventory, c: &mut Cluster) {
    for n in &inv.nodes {
        for ip in n.ips() {
            c.names.insert(ip, format!("node {}", n.name));
        }
    }
    for p in &inv.pods {
        for &ip in &p.pod_ips {
            if !p.host_network {
                c.names
                    .entry(ip)
                    .or_insert(format!("pod {}/{}", p.namespace, p.name));
            }
        }
    }
    for s in inv.services.iter().filter(|s| s.is_proxied()) {
        let addrs: Vec<IpAddr> = s.cluster_ips.to_vec();
        for &ip in &addrs {
            c.names
                .insert(ip, format!("service {}/{}", s.namespace, s.name));
        }
        for port in &s.ports {
            let spn = kubectl::service_port_name(&s.namespace, &s.name, &port.name);
            for &ip in &addrs {
                c.frontends.insert(
                    SocketAddr::new(ip, port.port),
                    Frontend {
                        service: spn.clone(),
                        kind: "cluster IP",
                    },
                );
            }
            for &ip in &s.external_ips {
                c.frontends.insert(
                    SocketAddr::new(ip, port.port),
                    Frontend {
                        service: spn.clone(),
                        kind: "external IP",
                    },
                );
            }
            for &ip in &s.lb_ingress {
                c.frontends.insert(
                    SocketAddr::new(ip, port.port),
                    Frontend {
                        service: spn.clone(),
                        kind: "load balancer IP",
                    },
                );
            }
            let has_node_port = matches!(
                s.service_type,
                ServiceType::NodePort | ServiceType::LoadBalancer
            );
            if let (true, Some(np)) = (has_node_port, port.node_port) {
                c.node_ports.insert(
                    np,
                    Frontend {
                        service: spn.clone(),
                        kind: "node port",
                    },
                );
            }
        }
    }
}

fn nat_entries(d: &NetnsDir, warnings: &mut Vec<String>) -> Vec<NatEntry> {
    let mut out = Vec::new();
    for name in ["conntrack.txt", "conntrack-L.txt"] {
        let Some(f) = d.file(name) else {
            continue;
        };
        let Some(text) = read(&f, warnings) else {
            continue;
        };
        match conntrack::parse(&text) {
            Ok(entries) => {
                out.extend(
                    entries
                        .iter()
                        .filter(|e| e.proto == "tcp")
                        .map(|e| NatEntry {
                            orig_src: e.orig.source(),
                            orig_dst: e.orig.destination(),
                            reply_src: e.reply.source(),
                            reply_dst: e.reply.destination(),
                        }),
                )
            }
            Err(e) => warnings.push(format!("{}: {e}", f.display())),
        }
    }
    out.sort_by_key(|e| (e.orig_src, e.orig_dst, e.reply_src, e.reply_dst));
    out.dedup();
    out
}

fn addresses(d: &NetnsDir, warnings: &mut Vec<String>) -> Vec<IpAddr> {
    let Some(f) = d.file("addresses.txt") else {
        return Vec::new();
    };
    let text = read(&f, warnings).unwrap_or_default();
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        match t.split('/').next().unwrap_or(t).parse() {
            Ok(ip) => v.push(ip),
            Err(_) => warnings.push(format!(
                "{}: line {}: expected an IP address",
                f.display(),
                i + 1
            )),
        }
    }
    v
}

fn node(d: &NetnsDir, inv: &Inventory, warnings: &mut Vec<String>) -> NodeView {
    let name = d.node.clone().unwrap_or_default();
    let mut addrs = addresses(d, warnings);
    if let Some(n) = inv.nodes.iter().find(|n| n.name == name) {
        for ip in n.ips() {
            if !addrs.contains(&ip) {
                addrs.push(ip);
            }
        }
    }
    let mut affinity = Vec::new();
    if let Some(f) = d.file("xt_recent.txt") {
        if let Some(text) = read(&f, warnings) {
            match hopscope::k8s::recent::parse(&text) {
                Ok(lists) => affinity.extend(lists),
                Err(e) => warnings.push(format!("{}: {e}", f.display())),
            }
        }
    }
    NodeView {
        affinity,
        dataplane: super::dataplane::node_dataplane(d, warnings),
        conntrack: nat_entries(d, warnings),
        addresses: addrs,
        name,
    }
}

fn pod(d: &NetnsDir, inv: &Inventory, warnings: &mut Vec<String>) -> PodView {
    let (namespace, name) = d.pod.clone().unwrap_or_default();
    let known = inv
        .pods
        .iter()
        .find(|p| p.namespace == namespace && p.name == name);
    let mut ips = known.map(|p| p.pod_ips.clone()).unwrap_or_default();
    for ip in addresses(d, warnings) {
        if !ip.is_loopback() && !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    let mut view = PodView {
        ips,
        node: known.and_then(|p| p.node.clone()),
        sidecar: known.is_some_and(|p| p.sidecar.is_some()),
        conntrack: nat_entries(d, warnings),
        namespace,
        name,
        ..PodView::default()
    };
    super::dataplane::pod_rules(d, &mut view, warnings);
    super::dataplane::pod_mesh(d, &mut view, warnings);
    view
}
