//! The services table (pure): per destination and Envoy route, the requests, how many failed
//! and latency percentiles; and the join's observed vs configured split per decision.
//!
//! A request seen at several capture points (a pod and its node) is one request: it counts
//! once per journey and destination, like the split does.

use super::data::Results;
use super::rows::Row;
use crate::join::split::{splits, Split};
use crate::model::HopKind;
use crate::report::escape::escape;
use crate::report::joined::request_paths;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// One destination and route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceRow {
    pub service: Arc<str>,
    /// The Envoy route the requests matched (`-` without a sidecar's config).
    pub route: String,
    pub requests: u64,
    /// Responses 5xx, and requests without a response.
    pub errors: u64,
    /// Latency percentiles (nearest rank) over the requests with one, nanoseconds.
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub p99: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Services {
    pub rows: Vec<ServiceRow>,
    pub splits: Vec<Split>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn route_of(r: &Results, l: usize, e: usize) -> String {
    let path = r.joined.exchange_paths.get(l).and_then(|p| p.get(e));
    path.and_then(|p| {
        p.hops
            .iter()
            .filter(|h| h.kind == HopKind::Envoy)
            .flat_map(|h| h.via.iter())
            .find_map(|v| v.strip_prefix("route "))
            .map(|v| escape(v).into_owned())
    })
    .unwrap_or_else(|| "-".into())
}

/// Aggregates the exchange rows.
pub fn services(r: &Results, rows: &[Row]) -> Services {
    type Acc = (u64, u64, Vec<i64>);
    let mut by: BTreeMap<(Arc<str>, String), Acc> = BTreeMap::new();
    let mut seen: HashSet<(usize, Arc<str>, String)> = HashSet::new();
    for row in rows {
        let Some(e) = row.exchange else { continue };
        let (l, e) = (row.leg as usize, e as usize);
        let route = route_of(r, l, e);
        let journey = r.journey_of(l, e).unwrap_or(usize::MAX - l);
        if !seen.insert((journey, row.dst.clone(), route.clone())) {
            continue;
        }
        let acc = by.entry((row.dst.clone(), route)).or_default();
        acc.0 += 1;
        if row.status.is_none_or(|s| s >= 500) {
            acc.1 += 1;
        }
        if let Some(lat) = row.latency {
            acc.2.push(lat);
        }
    }
    let rows = by
        .into_iter()
        .map(|((service, route), (requests, errors, mut lat))| {
            lat.sort_unstable();
            ServiceRow {
                service,
                route,
                requests,
                errors,
                p50: percentile(&lat, 50),
                p90: percentile(&lat, 90),
                p99: percentile(&lat, 99),
            }
        })
        .collect();
    Services {
        rows,
        splits: splits(request_paths(&r.joined)),
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 99), Some(99));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }
}
