//! HTTP routing: Host → virtual host → first matching route → cluster(s) with weights, as
//! Envoy's router does it (source/common/router/config_impl.cc).
//!
//! Virtual host (`RouteMatcher::findVirtualHost`): the Host is lowercased; an exact domain
//! wins, then the longest suffix wildcard (`*.example.com`, `*-bar.example.com`), then the
//! longest prefix wildcard (`example.*`), then `*`; a wildcard must match at least one
//! character. The port is part of the Host as sent (Istio lists every name with and without
//! `:port`), unless the route config sets `ignore_port_in_host_matching`.
//! Route (`VirtualHostImpl::getRouteFromEntries`): the first route whose path specifier and
//! all header and query matchers match. `prefix` and `path` honour `case_sensitive` and
//! ignore the query string for `path`; `safe_regex` must match the whole path (without query);
//! `path_separated_prefix` matches the prefix followed by the end of the path or `/`.
//! Header matchers (source/common/http/header_utility.cc): multiple values of one header are
//! joined with `,`; `present_match: false` means absent; `invert_match` flips the result.
//!
//! Not evaluated: runtime fractions (treated as matching), gRPC / TLS-context / dynamic
//! metadata matchers, `range_match` (never matches). Weighted clusters are shown with their
//! share w/Σw: the pick is random per request.

use regex::RegexBuilder;

use crate::mesh::envoy::{
    ConfigDump, HcmRoutes, PathSpecifier, Route, RouteAction, RouteConfig, StringMatch, VirtualHost,
};

/// The request facts routing looks at.
#[derive(Clone, Copy, Debug)]
pub struct RouteRequest<'a> {
    /// `Host` / `:authority` as sent.
    pub host: &'a str,
    /// `:path` including any query string.
    pub path: &'a str,
    /// Other request headers (name, value); `:method` may be given here.
    pub headers: &'a [(&'a str, &'a str)],
}

/// What a matched route does, with each cluster's share of requests.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteOutcome {
    /// (cluster, share); one entry with share 1.0 for a plain `cluster`.
    Clusters(Vec<(String, f64)>),
    /// `cluster_header`: named by this request header's value (`None` if absent).
    ClusterHeader {
        header: String,
        cluster: Option<String>,
    },
    Redirect {
        host: String,
        path: String,
    },
    DirectResponse {
        status: u32,
    },
    Other,
}

/// Everything passed on the way to a route.
#[derive(Clone, Debug)]
pub struct RouteMatch<'a> {
    pub route_config: &'a RouteConfig,
    pub virtual_host: &'a VirtualHost,
    pub route: &'a Route,
    pub route_index: usize,
    pub outcome: RouteOutcome,
}

/// The regex cap: a route regex from a dump should not make us allocate without bound.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Full match of an RE2-syntax regex (Envoy's `Regex::Utility` uses `RE2::FullMatch`).
fn full_match(re: &str, s: &str, ignore_case: bool) -> bool {
    RegexBuilder::new(&format!("^(?:{re})$"))
        .case_insensitive(ignore_case)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .is_ok_and(|r| r.is_match(s))
}

fn eq(a: &str, b: &str, ignore_case: bool) -> bool {
    if ignore_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn starts_with(s: &str, prefix: &str, ignore_case: bool) -> bool {
    s.len() >= prefix.len()
        && s.get(..prefix.len())
            .is_some_and(|head| eq(head, prefix, ignore_case))
}

fn ends_with(s: &str, suffix: &str, ignore_case: bool) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len() - suffix.len()..)
            .is_some_and(|tail| eq(tail, suffix, ignore_case))
}

/// A string rule against an optional value.
fn string_rule(rule: &StringMatch, value: Option<&str>, ignore_case: bool) -> bool {
    match (rule, value) {
        (StringMatch::Present(want), v) => v.is_some() == *want,
        (_, None) => false,
        (StringMatch::Exact(x), Some(v)) => eq(v, x, ignore_case),
        (StringMatch::Prefix(x), Some(v)) => starts_with(v, x, ignore_case),
        (StringMatch::Suffix(x), Some(v)) => ends_with(v, x, ignore_case),
        (StringMatch::Contains(x), Some(v)) => {
            if ignore_case {
                v.to_ascii_lowercase().contains(&x.to_ascii_lowercase())
            } else {
                v.contains(x.as_str())
            }
        }
        (StringMatch::Regex(re), Some(v)) => full_match(re, v, ignore_case),
        (StringMatch::Unsupported, Some(_)) => false,
    }
}

/// The path without `?query` and `#fragment` (Http::PathUtil::removeQueryAndFragment).
fn path_only(path: &str) -> &str {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path.get(..end).unwrap_or(path)
}

fn query_value<'q>(path: &'q str, name: &str) -> Option<&'q str> {
    let q = path.split_once('?')?.1;
    let q = q.split('#').next().unwrap_or_default();
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

impl Route {
    /// Whether this route takes the request.
    pub fn matches(&self, req: &RouteRequest<'_>) -> bool {
        let m = &self.matcher;
        let ic = !m.case_sensitive;
        let path_ok = match &m.path {
            PathSpecifier::Prefix(p) => starts_with(req.path, p, ic),
            PathSpecifier::Path(p) => eq(path_only(req.path), p, ic),
            PathSpecifier::SafeRegex(re) => full_match(re, path_only(req.path), false),
            PathSpecifier::PathSeparatedPrefix(p) => {
                let path = path_only(req.path);
                starts_with(path, p, ic)
                    && matches!(path.as_bytes().get(p.len()), None | Some(b'/'))
            }
            PathSpecifier::Unsupported(_) => false,
        };
        if !path_ok {
            return false;
        }
        let headers_ok = m.headers.iter().all(|h| {
            let value = header_value(req, &h.name);
            string_rule(&h.rule, value.as_deref(), h.ignore_case) != h.invert
        });
        headers_ok
            && m.query_parameters
                .iter()
                .all(|q| string_rule(&q.rule, query_value(req.path, &q.name), q.ignore_case))
    }
}

/// A request header by lowercase name; `:authority`/`host` and `:path` come from the request.
fn header_value(req: &RouteRequest<'_>, name: &str) -> Option<String> {
    let vals: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect();
    if !vals.is_empty() {
        return Some(vals.join(","));
    }
    match name {
        ":authority" | "host" => Some(req.host.to_string()),
        ":path" => Some(req.path.to_string()),
        _ => None,
    }
}

/// `host` without a trailing `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    let port_ok = |p: &str| p.parse::<u16>().is_ok();
    if host.starts_with('[') {
        return match host.rfind("]:") {
            Some(i) if host.get(i + 2..).is_some_and(port_ok) => host.get(..=i).unwrap_or(host),
            _ => host,
        };
    }
    match host.split_once(':') {
        Some((h, p)) if port_ok(p) => h,
        _ => host,
    }
}

impl RouteConfig {
    /// The virtual host Envoy picks for `host`.
    pub fn virtual_host(&self, host: &str) -> Option<&VirtualHost> {
        let lowered = host.to_ascii_lowercase();
        let host = if self.ignore_port_in_host_matching {
            strip_port(&lowered)
        } else {
            &lowered
        };
        let domains = || {
            self.virtual_hosts
                .iter()
                .flat_map(|vh| vh.domains.iter().map(move |d| (vh, d.to_ascii_lowercase())))
        };
        if let Some((vh, _)) = domains().find(|(_, d)| d == host) {
            return Some(vh);
        }
        // Longest suffix wildcard `*x`, then longest prefix wildcard `x*`; each must leave at
        // least one character for the `*`.
        let suffix = domains()
            .filter_map(|(vh, d)| {
                let s = d.strip_prefix('*')?;
                (!s.is_empty() && host.len() > s.len() && host.ends_with(s))
                    .then_some((s.len(), vh))
            })
            .max_by_key(|(n, _)| *n);
        if let Some((_, vh)) = suffix {
            return Some(vh);
        }
        let prefix = domains()
            .filter_map(|(vh, d)| {
                let p = d.strip_suffix('*')?;
                (!p.is_empty() && host.len() > p.len() && host.starts_with(p))
                    .then_some((p.len(), vh))
            })
            .max_by_key(|(n, _)| *n);
        if let Some((_, vh)) = prefix {
            return Some(vh);
        }
        domains().find(|(_, d)| d == "*").map(|(vh, _)| vh)
    }

    /// Route a request through this configuration.
    pub fn route(&self, req: &RouteRequest<'_>) -> Option<RouteMatch<'_>> {
        let vh = self.virtual_host(req.host)?;
        let (route_index, route) = vh.routes.iter().enumerate().find(|(_, r)| r.matches(req))?;
        let outcome = match &route.action {
            RouteAction::Cluster(c) => RouteOutcome::Clusters(vec![(c.clone(), 1.0)]),
            RouteAction::Weighted(ws) => {
                let total: u64 = ws.iter().map(|w| u64::from(w.weight)).sum();
                RouteOutcome::Clusters(
                    ws.iter()
                        .map(|w| {
                            let share = if total == 0 {
                                0.0
                            } else {
                                w.weight as f64 / total as f64
                            };
                            (w.name.clone(), share)
                        })
                        .collect(),
                )
            }
            RouteAction::ClusterHeader(h) => RouteOutcome::ClusterHeader {
                header: h.clone(),
                cluster: header_value(req, h),
            },
            RouteAction::Redirect { host, path } => RouteOutcome::Redirect {
                host: host.clone(),
                path: path.clone(),
            },
            RouteAction::DirectResponse { status } => {
                RouteOutcome::DirectResponse { status: *status }
            }
            RouteAction::Other => RouteOutcome::Other,
        };
        Some(RouteMatch {
            route_config: self,
            virtual_host: vh,
            route,
            route_index,
            outcome,
        })
    }
}

impl ConfigDump {
    /// A route configuration by name (RDS).
    pub fn route_config(&self, name: &str) -> Option<&RouteConfig> {
        self.route_configs.iter().find(|r| r.name == name)
    }

    /// Route a request through an HCM's routes: RDS by name from this dump, or inline.
    pub fn route<'a>(
        &'a self,
        routes: &'a HcmRoutes,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Option<RouteMatch<'a>> {
        let rc = match routes {
            HcmRoutes::Rds(name) => self.route_config(name)?,
            HcmRoutes::Inline(rc) => rc,
            HcmRoutes::Scoped | HcmRoutes::Missing => return None,
        };
        rc.route(&RouteRequest {
            host,
            path,
            headers,
        })
    }
}

#[cfg(test)]
mod tests;
