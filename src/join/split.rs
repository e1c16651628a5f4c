//! Observed versus configured split: for each decision with several destinations (a
//! kube-proxy service with several endpoints, an Envoy cluster or weighted clusters), how many
//! requests each destination actually got, next to the share the configuration gives it. This
//! is how "why 9:1 and not 5:5" is answered from a capture (the seeds' question).

use crate::model::{HopKind, Path};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One decision point and what it did.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// `kube-service node port default/productpage:http`, `envoy cluster outbound|9080||…`.
    pub decision: String,
    /// Per destination: configured probability, requests observed going there.
    pub destinations: Vec<(SocketAddr, f64, u64)>,
    /// Requests whose destination was observed outside the configured set.
    pub unexpected: u64,
}

/// Per decision: its destinations (address, configured share, observed count) and the count
/// observed outside them.
type Tally = (Vec<(SocketAddr, f64, u64)>, u64);

/// Aggregates the observed hops with candidates over `paths`, each with its journey: one
/// request seen at two capture points (a pod and its node) counts once per decision.
pub fn splits<'a>(paths: impl Iterator<Item = (usize, &'a Path)>) -> Vec<Split> {
    let mut by: BTreeMap<String, Tally> = BTreeMap::new();
    let mut counted: std::collections::HashSet<(usize, String)> = Default::default();
    for (journey, path) in paths {
        for hop in &path.hops {
            let Some(to) = hop.to else { continue };
            if hop.candidates.len() < 2 {
                continue;
            }
            let name = match hop.kind {
                HopKind::KubeService => hop.via.first(),
                _ => hop.via.iter().rev().find(|v| v.starts_with("cluster ")),
            };
            let decision = format!("{} {}", hop.kind.as_str(), name.map_or("", |s| s.as_str()));
            if !counted.insert((journey, decision.clone())) {
                continue;
            }
            let entry = by.entry(decision).or_insert_with(|| {
                let mut d: Vec<(SocketAddr, f64, u64)> = hop
                    .candidates
                    .iter()
                    .map(|c| (c.addr, c.probability, 0))
                    .collect();
                d.sort_by_key(|x| x.0);
                (d, 0)
            });
            match entry.0.iter_mut().find(|d| d.0 == to) {
                Some(d) => d.2 += 1,
                None => entry.1 += 1,
            }
        }
    }
    by.into_iter()
        .map(|(decision, (destinations, unexpected))| Split {
            decision,
            destinations,
            unexpected,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Candidate, Evidence, Hop};

    fn req(to: &str) -> Path {
        let mut h = Hop::new(HopKind::Envoy, Evidence::Observed);
        h.to = Some(to.parse().unwrap());
        h.via = vec!["route 9080".into(), "cluster outbound|9080||reviews".into()];
        h.candidates = ["10.0.0.1:9080", "10.0.0.2:9080"]
            .iter()
            .map(|a| Candidate {
                addr: a.parse().unwrap(),
                probability: 0.5,
                via: String::new(),
            })
            .collect();
        Path { hops: vec![h] }
    }

    #[test]
    fn counts_each_destination_next_to_its_configured_share() {
        let paths = [
            req("10.0.0.1:9080"),
            req("10.0.0.1:9080"),
            req("10.0.0.2:9080"),
            req("10.0.0.9:9080"),
        ];
        let s = splits(paths.iter().enumerate());
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].decision, "envoy cluster outbound|9080||reviews");
        let got: Vec<u64> = s[0].destinations.iter().map(|d| d.2).collect();
        assert_eq!(got, [2, 1]);
        assert_eq!(s[0].unexpected, 1);
    }
}
