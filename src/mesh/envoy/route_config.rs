//! Envoy `config.route.v3.RouteConfiguration`: virtual hosts with domains, routes with their
//! match (path specifier + header and query matchers) and action (cluster, weighted clusters,
//! cluster header, redirect, direct response).
//!
//! Field names follow envoy/api/envoy/config/route/v3/route_components.proto. Deprecated v2
//! header matchers (`exact_match`, `prefix_match`, `regex_match`…) and the v3 `string_match`
//! form are both read into one [`StringMatch`]; the v2 path `regex` and header `regex_match`
//! (ECMAScript, full match) are read as RE2 `safe_regex`, which agrees on the patterns Istio
//! wrote. Not modelled: runtime fractions, gRPC and TLS
//! context matchers, `range_match` (kept as [`StringMatch::Unsupported`], which never matches).
//! Matching lives in `mesh::route`.

use super::json_view::At;
use super::EnvoyError;

/// One route configuration (RDS resource or inline in an HCM).
#[derive(Clone, Debug, PartialEq)]
pub struct RouteConfig {
    pub name: String,
    pub virtual_hosts: Vec<VirtualHost>,
    /// `ignore_port_in_host_matching`: strip `:port` from Host before choosing a vhost.
    pub ignore_port_in_host_matching: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VirtualHost {
    pub name: String,
    pub domains: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// `name` (Istio: `default`, or the VirtualService route name); may be empty.
    pub name: String,
    pub matcher: RouteMatcher,
    pub action: RouteAction,
    /// `decorator.operation` (`reviews.default.svc.cluster.local:9080/*`).
    pub operation: String,
}

/// `config.route.v3.RouteMatch`.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteMatcher {
    pub path: PathSpecifier,
    /// `case_sensitive` (default true) for prefix and path.
    pub case_sensitive: bool,
    pub headers: Vec<HeaderMatcher>,
    pub query_parameters: Vec<QueryMatcher>,
}

/// The path specifier of a route match.
#[derive(Clone, Debug, PartialEq)]
pub enum PathSpecifier {
    Prefix(String),
    Path(String),
    /// `safe_regex.regex` (RE2 syntax, full match).
    SafeRegex(String),
    PathSeparatedPrefix(String),
    /// `connect_matcher`, `path_match_policy` or none given: never matches a plain request.
    Unsupported(String),
}

/// A string matcher as the header and query matchers use it.
#[derive(Clone, Debug, PartialEq)]
pub enum StringMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Regex(String),
    /// `present_match`: true = the header must be present, false = it must be absent.
    Present(bool),
    /// `range_match` and anything newer: never matches.
    Unsupported,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HeaderMatcher {
    /// Header name, lowercased (HTTP/1 names are case-insensitive; Envoy stores them lower).
    pub name: String,
    pub rule: StringMatch,
    pub ignore_case: bool,
    pub invert: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueryMatcher {
    pub name: String,
    pub rule: StringMatch,
    pub ignore_case: bool,
}

/// What a matched route does.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteAction {
    Cluster(String),
    Weighted(Vec<WeightedCluster>),
    /// `cluster_header`: the cluster is named by this request header.
    ClusterHeader(String),
    /// `redirect` (host / path as configured, may be empty).
    Redirect {
        host: String,
        path: String,
    },
    /// `direct_response.status`.
    DirectResponse {
        status: u32,
    },
    /// Anything else (`filter_action`, cluster specifier plugins, no action).
    Other,
}

/// `weighted_clusters.clusters[]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedCluster {
    pub name: String,
    pub weight: u32,
}

impl WeightedCluster {
    /// `weighted_clusters` → its `clusters[]`.
    pub(crate) fn parse_list(w: &At<'_>) -> Result<Vec<WeightedCluster>, EnvoyError> {
        w.arr("clusters")?
            .into_iter()
            .map(|c| {
                let c = c.expect_obj()?;
                Ok(WeightedCluster {
                    name: c.string("name")?,
                    weight: c.u32("weight")?.unwrap_or(0),
                })
            })
            .collect()
    }
}

impl RouteConfig {
    pub(crate) fn parse(a: &At<'_>) -> Result<RouteConfig, EnvoyError> {
        let a = a.clone().expect_obj()?;
        Ok(RouteConfig {
            name: a.string("name")?,
            virtual_hosts: a
                .arr("virtual_hosts")?
                .iter()
                .map(VirtualHost::parse)
                .collect::<Result<_, _>>()?,
            ignore_port_in_host_matching: a.bool("ignore_port_in_host_matching")?.unwrap_or(false),
        })
    }
}

impl VirtualHost {
    fn parse(a: &At<'_>) -> Result<VirtualHost, EnvoyError> {
        let a = a.clone().expect_obj()?;
        Ok(VirtualHost {
            name: a.string("name")?,
            domains: a.strings("domains")?,
            routes: a
                .arr("routes")?
                .iter()
                .map(Route::parse)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl Route {
    fn parse(a: &At<'_>) -> Result<Route, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let matcher = match a.obj("match")? {
            Some(m) => RouteMatcher::parse(&m)?,
            None => return Err(a.err("a route with \"match\"")),
        };
        let action = if let Some(r) = a.obj("route")? {
            if let Some(c) = r.str("cluster")? {
                RouteAction::Cluster(c.to_string())
            } else if let Some(w) = r.obj("weighted_clusters")? {
                RouteAction::Weighted(WeightedCluster::parse_list(&w)?)
            } else if let Some(h) = r.str("cluster_header")? {
                RouteAction::ClusterHeader(h.to_ascii_lowercase())
            } else {
                RouteAction::Other
            }
        } else if let Some(r) = a.obj("redirect")? {
            RouteAction::Redirect {
                host: r.string("host_redirect")?,
                path: r.string("path_redirect")?,
            }
        } else if let Some(d) = a.obj("direct_response")? {
            RouteAction::DirectResponse {
                status: d.u32("status")?.unwrap_or(0),
            }
        } else {
            RouteAction::Other
        };
        let operation = match a.obj("decorator")? {
            Some(d) => d.string("operation")?,
            None => String::new(),
        };
        Ok(Route {
            name: a.string("name")?,
            matcher,
            action,
            operation,
        })
    }
}

impl RouteMatcher {
    fn parse(m: &At<'_>) -> Result<RouteMatcher, EnvoyError> {
        let path = if let Some(p) = m.str("prefix")? {
            PathSpecifier::Prefix(p.to_string())
        } else if let Some(p) = m.str("path")? {
            PathSpecifier::Path(p.to_string())
        } else if let Some(r) = m.obj("safe_regex")? {
            PathSpecifier::SafeRegex(r.string("regex")?)
        } else if let Some(r) = m.str(&m.v2_name("regex"))? {
            PathSpecifier::SafeRegex(r.to_string())
        } else if let Some(p) = m.str("path_separated_prefix")? {
            PathSpecifier::PathSeparatedPrefix(p.to_string())
        } else if m.field("connect_matcher").is_some() {
            PathSpecifier::Unsupported("connect_matcher".into())
        } else if m.field("path_match_policy").is_some() {
            PathSpecifier::Unsupported("path_match_policy".into())
        } else {
            PathSpecifier::Unsupported("no path specifier".into())
        };
        let headers = m
            .arr("headers")?
            .into_iter()
            .map(|h| {
                let h = h.expect_obj()?;
                let (rule, ignore_case) = string_match(&h, true)?;
                Ok(HeaderMatcher {
                    name: h.string("name")?.to_ascii_lowercase(),
                    rule,
                    ignore_case,
                    invert: h.bool("invert_match")?.unwrap_or(false),
                })
            })
            .collect::<Result<_, EnvoyError>>()?;
        let query_parameters = m
            .arr("query_parameters")?
            .into_iter()
            .map(|q| {
                let q = q.expect_obj()?;
                let (rule, ignore_case) = string_match(&q, false)?;
                Ok(QueryMatcher {
                    name: q.string("name")?,
                    rule,
                    ignore_case,
                })
            })
            .collect::<Result<_, EnvoyError>>()?;
        Ok(RouteMatcher {
            path,
            case_sensitive: m.bool("case_sensitive")?.unwrap_or(true),
            headers,
            query_parameters,
        })
    }
}

/// A header or query matcher's rule: the v3 `string_match` object or the older per-kind fields
/// (`exact_match`, `prefix_match`, `suffix_match`, `contains_match`, `safe_regex_match`,
/// `present_match`). With none given, a header matcher means "present" (Envoy's
/// HeaderUtility: an empty specifier matches any value of a present header).
fn string_match(h: &At<'_>, header: bool) -> Result<(StringMatch, bool), EnvoyError> {
    if let Some(s) = h.obj("string_match")? {
        let ic = s.bool("ignore_case")?.unwrap_or(false);
        let rule = if let Some(x) = s.str("exact")? {
            StringMatch::Exact(x.to_string())
        } else if let Some(x) = s.str("prefix")? {
            StringMatch::Prefix(x.to_string())
        } else if let Some(x) = s.str("suffix")? {
            StringMatch::Suffix(x.to_string())
        } else if let Some(x) = s.str("contains")? {
            StringMatch::Contains(x.to_string())
        } else if let Some(r) = s.obj("safe_regex")? {
            StringMatch::Regex(r.string("regex")?)
        } else {
            StringMatch::Unsupported
        };
        return Ok((rule, ic));
    }
    let rule = if let Some(x) = h.str("exact_match")? {
        StringMatch::Exact(x.to_string())
    } else if let Some(x) = h.str("prefix_match")? {
        StringMatch::Prefix(x.to_string())
    } else if let Some(x) = h.str("suffix_match")? {
        StringMatch::Suffix(x.to_string())
    } else if let Some(x) = h.str("contains_match")? {
        StringMatch::Contains(x.to_string())
    } else if let Some(r) = h.obj("safe_regex_match")? {
        StringMatch::Regex(r.string("regex")?)
    } else if let Some(p) = h.bool("present_match")? {
        StringMatch::Present(p)
    } else if let Some(r) = h.str(&h.v2_name("regex_match"))? {
        StringMatch::Regex(r.to_string())
    } else if h.field("range_match").is_some() {
        StringMatch::Unsupported
    } else {
        StringMatch::Present(header)
    };
    Ok((rule, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_route_config_from_istio_docs() {
        // The outbound RDS route of domain.md 4.2 (istio.io proxy-cmd doc, istioctl camelCase).
        let v = serde_json::json!({"name": "9080", "virtualHosts": [{"name": "reviews.default.svc.cluster.local:9080",
            "domains": ["reviews.default.svc.cluster.local", "reviews:9080"],
            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "outbound|9080||reviews.default.svc.cluster.local", "timeout": "0.000s"}}]}]});
        let rc = RouteConfig::parse(&At::root(&v)).unwrap();
        assert_eq!(rc.name, "9080");
        let r = &rc.virtual_hosts[0].routes[0];
        assert_eq!(r.matcher.path, PathSpecifier::Prefix("/".into()));
        assert_eq!(
            r.action,
            RouteAction::Cluster("outbound|9080||reviews.default.svc.cluster.local".into())
        );
    }

    #[test]
    fn header_matchers_old_and_new() {
        let v = serde_json::json!({"prefix": "/", "headers": [
            {"name": "End-User", "exact_match": "jason"},
            {"name": "x-v", "string_match": {"prefix": "v", "ignore_case": true}},
            {"name": "x-p", "present_match": false},
            {"name": "x-r", "regex_match": "v[12]"},
            {"name": "x-any"}]});
        let m = RouteMatcher::parse(&At::root(&v)).unwrap();
        assert_eq!(m.headers[0].name, "end-user");
        assert_eq!(m.headers[0].rule, StringMatch::Exact("jason".into()));
        assert!(m.headers[1].ignore_case);
        assert_eq!(m.headers[2].rule, StringMatch::Present(false));
        assert_eq!(m.headers[3].rule, StringMatch::Regex("v[12]".into()));
        assert_eq!(m.headers[4].rule, StringMatch::Present(true));
        let v = serde_json::json!({"regex": "/reviews/[0-9]+"});
        let m = RouteMatcher::parse(&At::root(&v)).unwrap();
        assert_eq!(m.path, PathSpecifier::SafeRegex("/reviews/[0-9]+".into()));
    }

    #[test]
    fn route_without_match_is_an_error() {
        let v = serde_json::json!({"name": "r", "virtual_hosts": [{"name": "v", "routes": [{"route": {}}]}]});
        assert_eq!(
            RouteConfig::parse(&At::root(&v)).unwrap_err().to_string(),
            "/virtual_hosts/0/routes/0: expected a route with \"match\""
        );
    }
}
