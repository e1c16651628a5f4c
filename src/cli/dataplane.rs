//! Reading a netns directory's rules and Envoy files into the join's views (`join::adapt`).
//! Which file wins when several are present: iptables-save (kube-proxy's default mode and
//! what Istio writes), then nft (JSON before text: no text ambiguity), then ipvsadm.

use super::bundle::NetnsDir;
use hopscope::join::adapt::{Envoy, Iptables, Ipvs, Nftables};
use hopscope::join::{Dataplane, PodView};
use hopscope::k8s::iptables::istio::Interception;
use hopscope::k8s::iptables::{self, Family};
use hopscope::k8s::{ipvs, nft};
use hopscope::mesh::envoy::{parse_clusters, parse_config_dump};

fn text(d: &NetnsDir, name: &str, warnings: &mut Vec<String>) -> Option<(String, String)> {
    let f = d.file(name)?;
    match std::fs::read(&f) {
        Ok(b) => Some((
            f.display().to_string(),
            String::from_utf8_lossy(&b).into_owned(),
        )),
        Err(e) => {
            warnings.push(format!("{}: {e}", f.display()));
            None
        }
    }
}

/// An iptables-save with no rules at all (a netns nobody configured) decides nothing.
fn has_rules(rs: &iptables::Ruleset) -> bool {
    rs.rules().next().is_some()
}

fn rules(
    d: &NetnsDir,
    warnings: &mut Vec<String>,
) -> Option<(Box<dyn Dataplane>, Option<iptables::Ruleset>)> {
    if let Some((f, t)) = text(d, "iptables-save.txt", warnings) {
        match iptables::parse(&t) {
            Ok(rs) if has_rules(&rs) => {
                return Some((Box::new(Iptables(rs.clone())), Some(rs)));
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("{f}: {e}")),
        }
    }
    for (name, json) in [("nft.json", true), ("nft.txt", false)] {
        if let Some((f, t)) = text(d, name, warnings) {
            let parsed = if json {
                nft::parse_json(&t)
            } else {
                nft::parse_text(&t)
            };
            match parsed {
                Ok(rs) if !rs.tables.is_empty() => return Some((Box::new(Nftables(rs)), None)),
                Ok(_) => {}
                Err(e) => warnings.push(format!("{f}: {e}")),
            }
        }
    }
    if let Some((f, t)) = text(d, "ipvsadm.txt", warnings) {
        match ipvs::parse_ipvsadm(&t) {
            Ok(v) => return Some((Box::new(Ipvs(v)), None)),
            Err(e) => warnings.push(format!("{f}: {e}")),
        }
    }
    None
}

pub fn node_dataplane(d: &NetnsDir, warnings: &mut Vec<String>) -> Option<Box<dyn Dataplane>> {
    rules(d, warnings).map(|(r, _)| r)
}

/// The pod's interception rules; a pod whose rules capture traffic has a sidecar (or is in
/// ambient mode) whatever kubectl said.
pub fn pod_rules(d: &NetnsDir, view: &mut PodView, warnings: &mut Vec<String>) {
    let Some((plane, ipt)) = rules(d, warnings) else {
        return;
    };
    if let Some(i) = ipt
        .as_ref()
        .and_then(|rs| Interception::from_ruleset(rs, Family::V4))
    {
        apply(&i, view);
    }
    view.rules = Some(plane);
}

fn apply(i: &Interception, view: &mut PodView) {
    view.sidecar = true;
    view.outbound_port = i.outbound_capture_port;
    view.inbound_port = i.inbound_capture_port;
    view.inbound_excluded = i.inbound_ports_excluded.clone();
    view.proxy_uid = i.proxy_uids.first().copied();
}

pub fn pod_mesh(d: &NetnsDir, view: &mut PodView, warnings: &mut Vec<String>) {
    let Some((f, t)) = text(d, "config_dump.json", warnings) else {
        return;
    };
    let dump = match parse_config_dump(&t) {
        Ok(dump) => dump,
        Err(e) => {
            warnings.push(format!("{f}: {e}"));
            return;
        }
    };
    for w in &dump.warnings {
        warnings.push(format!("{f}: {w}"));
    }
    let clusters = text(d, "clusters.txt", warnings).and_then(|(f, t)| match parse_clusters(&t) {
        Ok(c) => Some(c),
        Err(e) => {
            warnings.push(format!("{f}: {e}"));
            None
        }
    });
    view.sidecar = true;
    view.mesh = Some(Box::new(Envoy { dump, clusters }));
}
