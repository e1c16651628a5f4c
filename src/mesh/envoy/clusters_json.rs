//! Envoy admin `/clusters?format=json` (`envoy.admin.v3.Clusters`: `cluster_statuses[]` with
//! `host_statuses[]`) → the same [`ClustersText`] the text form gives, so endpoint health
//! works alike whichever was collected. Also the bare `[ClusterStatus…]` array older
//! `istioctl proxy-config endpoints -o json` printed. Both spellings (Envoy's snake_case, and
//! the lowerCamelCase istioctl and some Envoy builds print) are read.
//!
//! Field names per envoy/api/envoy/admin/v3/clusters.proto. A host's `health_status`
//! (`HostHealthStatus`) becomes the `health_flags` the text form prints for the same state
//! (envoy source/server/admin/clusters_handler.cc `setHealthFlag`, and
//! source/common/upstream/host_utility.cc `healthFlagsToString`): `failed_active_health_check`
//! → `failed_active_hc`, `failed_outlier_check`, `eds_health_status` UNHEALTHY / DRAINING /
//! TIMEOUT → `failed_eds_health` and DEGRADED → `degraded_eds_health`,
//! `failed_active_degraded_check` → `degraded_active_hc`, `pending_dynamic_removal`,
//! `pending_active_hc`, `excluded_via_immediate_hc_fail`, `active_hc_timeout`. Circuit breaker
//! thresholds become the text form's `<priority>_priority::<field>` settings.

use serde_json::Value;

use super::address::Address;
use super::clusters_text::{ClusterStatus, ClustersText, HostAddr, HostStatus};
use super::json_view::{parse_json, At};
use super::EnvoyError;

/// Parses `/clusters?format=json`, or istioctl's bare array of cluster statuses.
pub fn parse_clusters_json(text: &str) -> Result<ClustersText, EnvoyError> {
    from_value(&parse_json(text)?)
}

pub(crate) fn from_value(v: &Value) -> Result<ClustersText, EnvoyError> {
    let root = At::root(v);
    let items = match v {
        Value::Object(_) if root.field("cluster_statuses").is_some() => {
            root.arr("cluster_statuses")?
        }
        // `{}`: an Envoy with no clusters prints no field at all.
        Value::Object(m) if m.is_empty() => Vec::new(),
        Value::Array(_) => (0..v.as_array().map_or(0, Vec::len))
            .filter_map(|i| {
                v.get(i).map(|v| At {
                    v,
                    ptr: format!("/{i}"),
                })
            })
            .collect(),
        _ => {
            return Err(root.err(
                "/clusters?format=json (an object with \"cluster_statuses\") or an array of cluster statuses",
            ))
        }
    };
    let mut out = ClustersText::default();
    for item in items {
        let c = cluster(&item)?;
        match out.clusters.iter_mut().find(|k| k.name == c.name) {
            Some(k) => k.hosts.extend(c.hosts),
            None => out.clusters.push(c),
        }
    }
    Ok(out)
}

fn cluster(a: &At<'_>) -> Result<ClusterStatus, EnvoyError> {
    let a = a.clone().expect_obj()?;
    let mut settings = Vec::new();
    if let Some(cb) = a.obj("circuit_breakers")? {
        for t in cb.arr("thresholds")? {
            let t = t.expect_obj()?;
            let priority = t.str("priority")?.unwrap_or("DEFAULT").to_ascii_lowercase();
            for f in [
                "max_connections",
                "max_pending_requests",
                "max_requests",
                "max_retries",
            ] {
                if let Some(n) = t.u64(f)? {
                    settings.push((format!("{priority}_priority::{f}"), n.to_string()));
                }
            }
        }
    }
    Ok(ClusterStatus {
        name: a.string("name")?,
        added_via_api: a.bool("added_via_api")?,
        eds_service_name: a.string("eds_service_name")?,
        settings,
        hosts: a
            .arr("host_statuses")?
            .iter()
            .map(host)
            .collect::<Result<_, _>>()?,
    })
}

fn host(a: &At<'_>) -> Result<HostStatus, EnvoyError> {
    let a = a.clone().expect_obj()?;
    let address = match a.obj("address")? {
        Some(ad) => match Address::parse(&ad)? {
            Some(Address::Socket(s)) => HostAddr::Socket(s),
            Some(other) => HostAddr::Other(other.to_string()),
            None => return Err(ad.err("a socket_address, pipe or envoy_internal_address")),
        },
        None => return Err(a.err("a host status with an \"address\"")),
    };
    let mut stats = Vec::new();
    for s in a.arr("stats")? {
        let s = s.expect_obj()?;
        // SimpleMetric: a zero `value` is not printed.
        stats.push((s.string("name")?, s.u64("value")?.unwrap_or(0)));
    }
    let (region, zone, sub_zone) = match a.obj("locality")? {
        Some(l) => (
            l.string("region")?,
            l.string("zone")?,
            l.string("sub_zone")?,
        ),
        None => Default::default(),
    };
    Ok(HostStatus {
        address,
        hostname: a.string("hostname")?,
        health_flags: match a.obj("health_status")? {
            Some(h) => health_flags(&h)?,
            None => Vec::new(),
        },
        weight: a.u32("weight")?,
        region,
        zone,
        sub_zone,
        priority: a.u32("priority")?,
        stats,
    })
}

/// `HostHealthStatus` → the text form's flags, in the order Envoy prints them.
fn health_flags(h: &At<'_>) -> Result<Vec<String>, EnvoyError> {
    let on = |key: &str| -> Result<bool, EnvoyError> { Ok(h.bool(key)? == Some(true)) };
    let eds = h.str("eds_health_status")?.unwrap_or("HEALTHY");
    let failed_eds = matches!(eds, "UNHEALTHY" | "DRAINING" | "TIMEOUT");
    let flags = [
        (on("failed_active_health_check")?, "failed_active_hc"),
        (on("failed_outlier_check")?, "failed_outlier_check"),
        (failed_eds, "failed_eds_health"),
        (on("failed_active_degraded_check")?, "degraded_active_hc"),
        (eds == "DEGRADED", "degraded_eds_health"),
        (on("pending_dynamic_removal")?, "pending_dynamic_removal"),
        (on("pending_active_hc")?, "pending_active_hc"),
        (
            on("excluded_via_immediate_hc_fail")?,
            "excluded_via_immediate_hc_fail",
        ),
        (on("active_hc_timeout")?, "active_hc_timeout"),
    ];
    Ok(flags
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, f)| f.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_host_flags_and_settings() {
        // The shape of Envoy's ClustersHandler JSON (clusters_handler.cc), with an IPv6 host.
        let text = r#"{"cluster_statuses": [{"name": "outbound|9080||reviews.default.svc.cluster.local",
            "added_via_api": true,
            "circuit_breakers": {"thresholds": [{"max_connections": 4294967295}, {"priority": "HIGH", "max_retries": 3}]},
            "host_statuses": [
              {"address": {"socket_address": {"address": "fd00:10:244::7", "port_value": 9080}},
               "stats": [{"name": "cx_active", "type": "GAUGE", "value": "2"}, {"name": "rq_total"}],
               "health_status": {"failed_outlier_check": true, "eds_health_status": "HEALTHY"},
               "weight": 2, "locality": {"zone": "eu-west-1a"}},
              {"address": {"socket_address": {"address": "10.244.0.9", "port_value": 9080}},
               "health_status": {"eds_health_status": "DEGRADED", "pending_active_hc": true}}]}]}"#;
        let c = parse_clusters_json(text).unwrap();
        let r = &c.clusters[0];
        assert_eq!(r.added_via_api, Some(true));
        assert_eq!(
            r.settings,
            [
                (
                    "default_priority::max_connections".to_string(),
                    "4294967295".to_string()
                ),
                ("high_priority::max_retries".to_string(), "3".to_string())
            ]
        );
        let h = &r.hosts[0];
        assert_eq!(
            h.address,
            HostAddr::Socket("[fd00:10:244::7]:9080".parse().unwrap())
        );
        assert_eq!(
            (h.stat("cx_active"), h.stat("rq_total")),
            (Some(2), Some(0))
        );
        assert_eq!(h.health_flags, ["failed_outlier_check"]);
        assert!(h.is_unhealthy());
        assert_eq!((h.weight, h.zone.as_str()), (Some(2), "eu-west-1a"));
        let h = &r.hosts[1];
        assert_eq!(h.health_flags, ["degraded_eds_health", "pending_active_hc"]);
        assert!(!h.is_unhealthy());
    }

    #[test]
    fn errors_name_the_pointer() {
        let e = parse_clusters_json(
            r#"{"cluster_statuses": [{"name": "c", "host_statuses": [{"stats": []}]}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/cluster_statuses/0/host_statuses/0: expected a host status with an \"address\""
        );
        let e = parse_clusters_json(r#"{"clusterStatuses": [{"hostStatuses": [{"address": {"socketAddress": {"address": "1.2.3.4", "portValue": 1}}, "weight": -1}]}]}"#)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/clusterStatuses/0/hostStatuses/0/weight: expected an unsigned integer"
        );
        assert!(parse_clusters_json("5").is_err());
        assert!(parse_clusters_json("{}").unwrap().clusters.is_empty());
    }
}
