//! Istio's cluster and SNI names → (direction, port, subset, fqdn), and back.
//!
//! Cluster names (istio/istio pilot/pkg/model/service.go `BuildSubsetKey` / `ParseSubsetKey`):
//! `outbound|9080|v1|reviews.default.svc.cluster.local`, `inbound|9080||` (Istio ≥1.10),
//! `inbound|9080|http|reviews.default.svc.cluster.local` (older), `inbound-vip|8000|http|fqdn`
//! (ambient waypoints). SNI (`BuildDNSSrvSubsetKey`):
//! `outbound_.9080_.v1_.reviews.default.svc.cluster.local`, and with no subset
//! `outbound_.9080_._.reviews…` (the `_.` separators around an empty subset).
//! Special clusters (`PassthroughCluster`, `BlackHoleCluster`, …) are not Istio names and give
//! `None`.

use crate::mesh::envoy::{Cluster, ConfigDump, Origin};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Outbound,
    Inbound,
    /// `inbound-vip` (ambient waypoint service clusters).
    InboundVip,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
            Direction::InboundVip => "inbound-vip",
        }
    }
}

/// A parsed Istio cluster or SNI name. For inbound clusters `subset` holds the port name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IstioName {
    pub direction: Direction,
    pub port: u16,
    pub subset: String,
    pub fqdn: String,
}

fn direction(s: &str) -> Option<Direction> {
    match s {
        "outbound" => Some(Direction::Outbound),
        "inbound" => Some(Direction::Inbound),
        "inbound-vip" => Some(Direction::InboundVip),
        _ => None,
    }
}

impl IstioName {
    /// `outbound|9080|v1|reviews.default.svc.cluster.local` and friends.
    pub fn parse_cluster(name: &str) -> Option<IstioName> {
        let mut it = name.split('|');
        let direction = direction(it.next()?)?;
        let port = it.next()?.parse().ok()?;
        let subset = it.next()?.to_string();
        let fqdn = it.next()?.to_string();
        if it.next().is_some() {
            return None;
        }
        Some(IstioName {
            direction,
            port,
            subset,
            fqdn,
        })
    }

    /// `outbound_.9080_.v1_.reviews.default.svc.cluster.local` (`outbound_.9080_._.…` without
    /// a subset).
    pub fn parse_sni(sni: &str) -> Option<IstioName> {
        let mut it = sni.splitn(4, "_.");
        let direction = direction(it.next()?)?;
        let port = it.next()?.parse().ok()?;
        let subset = it.next()?.to_string();
        let fqdn = it.next()?.to_string();
        if fqdn.is_empty() {
            return None;
        }
        Some(IstioName {
            direction,
            port,
            subset,
            fqdn,
        })
    }

    /// The cluster name this denotes.
    pub fn cluster_name(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.direction.as_str(),
            self.port,
            self.subset,
            self.fqdn
        )
    }

    /// The mTLS SNI Istio sets for this cluster.
    pub fn sni(&self) -> String {
        format!(
            "{}_.{}_.{}_.{}",
            self.direction.as_str(),
            self.port,
            self.subset,
            self.fqdn
        )
    }
}

impl ConfigDump {
    /// A cluster by name, preferring a serving one over a warming one.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        let mut found = self.clusters.iter().filter(|c| c.name == name);
        let first = found.next()?;
        if first.origin != Origin::DynamicWarming {
            return Some(first);
        }
        found
            .find(|c| c.origin != Origin::DynamicWarming)
            .or(Some(first))
    }

    /// The cluster a leg-B ClientHello's SNI names: a cluster whose transport socket sets that
    /// SNI, else the cluster named by parsing it (`outbound_.9080_._.x` → `outbound|9080||x`).
    pub fn cluster_for_sni(&self, sni: &str) -> Option<&Cluster> {
        self.clusters
            .iter()
            .find(|c| c.sni == sni && c.origin != Origin::DynamicWarming)
            .or_else(|| self.cluster(&IstioName::parse_sni(sni)?.cluster_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names() {
        let n =
            IstioName::parse_cluster("outbound|9080|v1|reviews.default.svc.cluster.local").unwrap();
        assert_eq!(n.direction, Direction::Outbound);
        assert_eq!(n.port, 9080);
        assert_eq!(n.subset, "v1");
        assert_eq!(
            n.sni(),
            "outbound_.9080_.v1_.reviews.default.svc.cluster.local"
        );
        let i = IstioName::parse_cluster("inbound|9080||").unwrap();
        assert_eq!(
            (i.direction, i.port, i.fqdn.as_str()),
            (Direction::Inbound, 9080, "")
        );
        assert_eq!(i.cluster_name(), "inbound|9080||");
        let i = IstioName::parse_cluster("inbound|9080|http|reviews.default.svc.cluster.local")
            .unwrap();
        assert_eq!(i.subset, "http");
        assert!(IstioName::parse_cluster("PassthroughCluster").is_none());
        assert!(IstioName::parse_cluster("outbound|x||a").is_none());
        assert!(IstioName::parse_cluster("outbound|1|a|b|c").is_none());
    }

    #[test]
    fn sni_names() {
        let s =
            IstioName::parse_sni("outbound_.9080_._.details.default.svc.cluster.local").unwrap();
        assert_eq!(s.subset, "");
        assert_eq!(
            s.cluster_name(),
            "outbound|9080||details.default.svc.cluster.local"
        );
        assert_eq!(
            s.sni(),
            "outbound_.9080_._.details.default.svc.cluster.local"
        );
        assert!(IstioName::parse_sni("istio-peer-exchange").is_none());
        assert!(IstioName::parse_sni("outbound_.9080_._.").is_none());
    }
}
