//! Paths as text (one line per hop) and as JSON (docs/json.md, "path").
//!
//! Names of rules and config objects come from the bundle, not the wire, but they are
//! external input all the same: escaped like captured bytes.

use super::escape::escape;
use crate::join::Cluster;
use crate::model::{Hop, HopKind, Path};
use serde_json::{json, Value};

/// `      kube-service  NodePort … → KUBE-SVC-… → 10.244.1.5:9080, SNAT …  [observed: …]`.
pub fn hop_line(hop: &Hop, cluster: &Cluster) -> String {
    let mut s = String::new();
    let mut parts: Vec<String> = hop.via.iter().map(|v| escape(v).into_owned()).collect();
    match (hop.to, hop.candidates.as_slice()) {
        (Some(to), _) => parts.push(cluster.describe(to)),
        (None, []) => parts.push("?".into()),
        (None, cands) => {
            let list: Vec<String> = cands
                .iter()
                .map(|c| format!("{} {}", cluster.describe(c.addr), percent(c.probability)))
                .collect();
            parts.push(format!("{{{}}}", list.join(", ")));
        }
    }
    s.push_str(&parts.join(" → "));
    if let Some(snat) = hop.snat {
        s.push_str(&format!(", SNAT {snat}"));
    }
    // Candidates next to a decided hop: what the configuration allowed.
    if hop.to.is_some() && hop.candidates.len() > 1 {
        let list: Vec<String> = hop
            .candidates
            .iter()
            .map(|c| format!("{} {}", c.addr, percent(c.probability)))
            .collect();
        s.push_str(&format!(" (configured: {})", list.join(", ")));
    }
    s.push_str(&format!("  [{}", hop.evidence.as_str()));
    if !hop.note.is_empty() {
        s.push_str(": ");
        s.push_str(&escape(&hop.note));
    }
    s.push(']');
    format!("{:<12}  {s}", hop.kind.as_str())
}

/// `50%`, `33.3%`: a probability as the path lines show it.
pub fn percent(p: f64) -> String {
    let v = p * 100.0;
    if (v - v.round()).abs() < 0.05 {
        format!("{:.0}%", v)
    } else {
        format!("{v:.1}%")
    }
}

/// The hops worth a line: the client hop is the leg's own line already.
pub fn shown_hops(path: &Path) -> impl Iterator<Item = &Hop> {
    path.hops.iter().filter(|h| h.kind != HopKind::Client)
}

pub fn path_json(path: &Path) -> Value {
    let hops: Vec<Value> = path
        .hops
        .iter()
        .map(|h| {
            json!({
                "kind": h.kind.as_str(),
                "from": h.from.map(|a| a.to_string()),
                "to": h.to.map(|a| a.to_string()),
                "snat": h.snat.map(|a| a.to_string()),
                "via": h.via,
                "candidates": h.candidates.iter().map(|c| json!({
                    "addr": c.addr.to_string(),
                    "probability": c.probability,
                    "via": c.via,
                })).collect::<Vec<_>>(),
                "evidence": h.evidence.as_str(),
                "note": h.note,
            })
        })
        .collect();
    json!({ "confidence": path.confidence().as_str(), "hops": hops })
}
