//! Envoy admin `/clusters` text → [`ClustersText`]: per cluster its settings lines and per
//! host its stats, `health_flags`, `weight`, `hostname` and locality.
//!
//! Line grammar (envoy source/server/admin/clusters_handler.cc, domain.md 8.4): the cluster
//! name runs to the **first** `::` (Istio cluster names contain `|` but never `::`); a host
//! line ends with `::<stat>::<value>` and what is left in the middle is a host: `ip:port`,
//! `[v6]:port` (which itself contains `::`, hence the split from both ends) or the old
//! `tcp://ip:port` (Envoy ≤1.5 printed `host->url()`). Anything else after the name is a
//! cluster line (`added_via_api::true`, `default_priority::max_connections::1024`,
//! `outlier::…`). `?format=json` is not read here.

use std::net::SocketAddr;

use super::EnvoyError;

/// The whole `/clusters` output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClustersText {
    /// Clusters in first-seen order.
    pub clusters: Vec<ClusterStatus>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterStatus {
    pub name: String,
    pub added_via_api: Option<bool>,
    pub eds_service_name: String,
    /// Other cluster lines as (`default_priority::max_connections`, `1024`).
    pub settings: Vec<(String, String)>,
    pub hosts: Vec<HostStatus>,
}

/// How a host was printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostAddr {
    Socket(SocketAddr),
    /// Anything else Envoy printed in the host position (pipe paths, internal addresses).
    Other(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct HostStatus {
    pub address: HostAddr,
    pub hostname: String,
    /// `health_flags` split on `/`; empty for `healthy`.
    pub health_flags: Vec<String>,
    pub weight: Option<u32>,
    pub region: String,
    pub zone: String,
    pub sub_zone: String,
    pub priority: Option<u32>,
    /// Counters and gauges (`cx_active`, `rq_total`, …) as printed.
    pub stats: Vec<(String, u64)>,
}

impl HostStatus {
    fn new(address: HostAddr) -> Self {
        HostStatus {
            address,
            hostname: String::new(),
            health_flags: Vec::new(),
            weight: None,
            region: String::new(),
            zone: String::new(),
            sub_zone: String::new(),
            priority: None,
            stats: Vec::new(),
        }
    }

    /// A counter or gauge by name.
    pub fn stat(&self, name: &str) -> Option<u64> {
        self.stats.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Whether Envoy excludes the host from load balancing: an active health check failure,
    /// an outlier ejection or EDS health (HostImpl::HealthFlag, envoy/upstream/host_description.h).
    pub fn is_unhealthy(&self) -> bool {
        self.health_flags.iter().any(|f| {
            matches!(
                f.as_str(),
                "failed_active_hc" | "failed_outlier_check" | "failed_eds_health"
            )
        })
    }
}

impl ClustersText {
    pub fn cluster(&self, name: &str) -> Option<&ClusterStatus> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

/// The host in a host line: `10.1.2.3:9080`, `[fd00::1]:9080` or `tcp://10.1.2.3:9080`.
fn host_addr(s: &str) -> Option<SocketAddr> {
    s.strip_prefix("tcp://").unwrap_or(s).parse().ok()
}

/// Parses `/clusters` text.
pub fn parse_clusters(text: &str) -> Result<ClustersText, EnvoyError> {
    let mut out = ClustersText::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let lineno = i + 1;
        let Some((name, rest)) = line.split_once("::") else {
            return Err(EnvoyError::Line {
                line: lineno,
                expected: "`<cluster>::<field>::<value>`".into(),
            });
        };
        if name.is_empty() {
            return Err(EnvoyError::Line {
                line: lineno,
                expected: "a cluster name before the first `::`".into(),
            });
        }
        let idx = match out.clusters.iter().rposition(|c| c.name == name) {
            Some(idx) => idx,
            None => {
                out.clusters.push(ClusterStatus {
                    name: name.to_string(),
                    ..ClusterStatus::default()
                });
                out.clusters.len() - 1
            }
        };
        let Some(cluster) = out.clusters.get_mut(idx) else {
            continue;
        };
        let mut tail = rest.rsplitn(3, "::");
        let value = tail.next().unwrap_or_default();
        let key = tail.next();
        let head = tail.next();
        let Some(key) = key else {
            return Err(EnvoyError::Line {
                line: lineno,
                expected: "`<cluster>::<field>::<value>`".into(),
            });
        };
        let host = head.and_then(|h| host_addr(h).map(|a| (h, HostAddr::Socket(a))));
        let host = match (host, head) {
            (Some(h), _) => Some(h),
            // A head that is not a cluster setting word but holds a `:` is a host Envoy
            // printed some other way (pipe, internal); keep it as text.
            (None, Some(h)) if h.contains(':') || h.contains('/') => {
                Some((h, HostAddr::Other(h.to_string())))
            }
            _ => None,
        };
        let Some((head, addr)) = host else {
            // A cluster line: everything between the name and the last `::` is the key.
            let full_key = match head {
                Some(h) => format!("{h}::{key}"),
                None => key.to_string(),
            };
            match full_key.as_str() {
                "added_via_api" => cluster.added_via_api = Some(value == "true"),
                "eds_service_name" => cluster.eds_service_name = value.to_string(),
                _ => cluster.settings.push((full_key, value.to_string())),
            }
            continue;
        };
        let hpos = match cluster
            .hosts
            .iter()
            .position(|h| match (&h.address, &addr) {
                (HostAddr::Socket(a), HostAddr::Socket(b)) => a == b,
                (HostAddr::Other(a), HostAddr::Other(b)) => a == b,
                _ => false,
            }) {
            Some(p) => p,
            None => {
                cluster.hosts.push(HostStatus::new(addr));
                cluster.hosts.len() - 1
            }
        };
        let Some(h) = cluster.hosts.get_mut(hpos) else {
            continue;
        };
        let bad_number = || EnvoyError::Line {
            line: lineno,
            expected: format!("a number for `{key}` of host {head}"),
        };
        match key {
            "hostname" => h.hostname = value.to_string(),
            "health_flags" => {
                h.health_flags = value
                    .split('/')
                    .filter(|f| !f.is_empty() && *f != "healthy")
                    .map(str::to_string)
                    .collect()
            }
            "weight" => h.weight = Some(value.parse().map_err(|_| bad_number())?),
            "priority" => h.priority = Some(value.parse().map_err(|_| bad_number())?),
            "region" => h.region = value.to_string(),
            "zone" => h.zone = value.to_string(),
            "sub_zone" => h.sub_zone = value.to_string(),
            // success_rate is a float (-1 when unknown), canary a bool: not counters.
            "success_rate" | "local_origin_success_rate" | "canary" => {}
            _ => match value.parse::<u64>() {
                Ok(n) => h.stats.push((key.to_string(), n)),
                Err(_) => return Err(bad_number()),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-made from the example and grammar in domain.md 4.4 (no real `/clusters` output
    /// was found under a usable licence), plus an IPv6 host and an old `tcp://` host.
    const SAMPLE: &str = "\
outbound|9080||reviews.default.svc.cluster.local::default_priority::max_connections::4294967295
outbound|9080||reviews.default.svc.cluster.local::added_via_api::true
outbound|9080||reviews.default.svc.cluster.local::eds_service_name::outbound|9080||reviews.default.svc.cluster.local
outbound|9080||reviews.default.svc.cluster.local::10.244.0.15:9080::cx_active::2
outbound|9080||reviews.default.svc.cluster.local::10.244.0.15:9080::rq_total::89
outbound|9080||reviews.default.svc.cluster.local::10.244.0.15:9080::health_flags::healthy
outbound|9080||reviews.default.svc.cluster.local::10.244.0.15:9080::weight::1
outbound|9080||reviews.default.svc.cluster.local::10.244.0.15:9080::success_rate::-1
outbound|9080||reviews.default.svc.cluster.local::[fd00::1]:9080::cx_active::0
outbound|9080||reviews.default.svc.cluster.local::[fd00::1]:9080::health_flags::/failed_active_hc/failed_outlier_check
outbound|9080||reviews.default.svc.cluster.local::[fd00::1]:9080::zone::eu-west-1a
outbound|9080|v1|reviews.default.svc.cluster.local::10.244.2.34:9080::health_flags::/failed_outlier_check
out.hello|http::tcp://10.1.1.0:80::cx_active::0
";

    #[test]
    fn domain_doc_sample_with_ipv6() {
        let c = parse_clusters(SAMPLE).unwrap();
        assert_eq!(c.clusters.len(), 3);
        let r = c
            .cluster("outbound|9080||reviews.default.svc.cluster.local")
            .unwrap();
        assert_eq!(r.added_via_api, Some(true));
        assert_eq!(r.eds_service_name, r.name);
        assert_eq!(
            r.settings,
            vec![(
                "default_priority::max_connections".to_string(),
                "4294967295".to_string()
            )]
        );
        assert_eq!(r.hosts.len(), 2);
        assert_eq!(r.hosts[0].stat("rq_total"), Some(89));
        assert!(!r.hosts[0].is_unhealthy());
        let v6 = &r.hosts[1];
        assert_eq!(
            v6.address,
            HostAddr::Socket("[fd00::1]:9080".parse().unwrap())
        );
        assert_eq!(
            v6.health_flags,
            vec!["failed_active_hc", "failed_outlier_check"]
        );
        assert_eq!(v6.zone, "eu-west-1a");
        assert!(v6.is_unhealthy());
        let old = c.cluster("out.hello|http").unwrap();
        assert_eq!(
            old.hosts[0].address,
            HostAddr::Socket("10.1.1.0:80".parse().unwrap())
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_clusters("a::b::c\nno separator here\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: expected `<cluster>::<field>::<value>`"
        );
        let e = parse_clusters("\nc::10.0.0.1:80::cx_active::many\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: expected a number for `cx_active` of host 10.0.0.1:80"
        );
        assert!(parse_clusters("c::x\n").is_err());
    }
}
