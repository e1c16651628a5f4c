//! Reading a netns directory's rules and Envoy files into the join's views (`join::adapt`).
//! Which file wins when several are present: iptables-save (kube-proxy's default mode and
//! what Istio writes), then nft (JSON before text: no text ambiguity), then ipvsadm.

use super::bundle::NetnsDir;
use hopscope::join::adapt::{Envoy, Iptables, Ipvs, Nftables};
use hopscope::join::{Dataplane, PodView};
use hopscope::k8s::iptables::istio::Interception;
use hopscope::k8s::iptables::{self, Family};
use hopscope::k8s::{ipvs, nft};
use hopscope::mesh::envoy::{parse_admin, AdminDoc, ClustersText, ConfigDump};

/// Bundle files are text of a bounded size (the bound `cluster.rs` applies too).
const FILE_LIMIT: u64 = 512 << 20;

fn text(d: &NetnsDir, name: &str, warnings: &mut Vec<String>) -> Option<(String, String)> {
    let f = d.file(name)?;
    if std::fs::metadata(&f).is_ok_and(|m| m.len() > FILE_LIMIT) {
        warnings.push(format!("{}: over {FILE_LIMIT} bytes, skipped", f.display()));
        return None;
    }
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

/// A pod netns's Envoy files (docs/bundle.md), each read by shape (`parse_admin`): the
/// config dump first, so it wins over the istioctl files on a name they share.
const ENVOY_FILES: &[&str] = &[
    "config_dump.json",
    "bootstrap.json",
    "listeners.json",
    "routes.json",
    "clusters.json",
    "endpoints.json",
    "clusters.txt",
];

pub fn pod_mesh(d: &NetnsDir, view: &mut PodView, warnings: &mut Vec<String>) {
    let mut dump: Option<ConfigDump> = None;
    let mut clusters: Option<ClustersText> = None;
    for name in ENVOY_FILES {
        let Some((f, t)) = text(d, name, warnings) else {
            continue;
        };
        match parse_admin(&t) {
            Ok(AdminDoc::Config(c)) => {
                let mut c = *c;
                for w in c.warnings.drain(..) {
                    warnings.push(format!("{f}: {w}"));
                }
                match &mut dump {
                    Some(x) => x.merge(c),
                    None => dump = Some(c),
                }
            }
            Ok(AdminDoc::Clusters(c)) => match &mut clusters {
                Some(x) => x.merge(c),
                None => clusters = Some(c),
            },
            Err(e) => warnings.push(format!("{f}: {e}")),
        }
    }
    let Some(dump) = dump else {
        return;
    };
    view.sidecar = true;
    view.mesh = Some(Box::new(Envoy { dump, clusters }));
}
