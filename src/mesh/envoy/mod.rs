//! Parsers for the Envoy admin API and istioctl: `/config_dump` JSON (v3 and v2alpha
//! envelopes, Envoy 1.7's map of configs, Envoy's snake_case and istioctl's lowerCamelCase,
//! v2 field forms), `istioctl proxy-config … -o json` arrays, and `/clusters` as text or
//! `?format=json`. [`parse_admin`] tells them apart by shape.
//!
//! Pure: text in, owned data out. Only what the join needs is modelled (listeners, filter
//! chains, HTTP/TCP routing, clusters, endpoints, the bootstrap node); everything else in a
//! dump is ignored. Envoy v1 JSON (`{"listeners": […]}`, Istio ≤0.7) is not read yet.

mod address;
mod admin;
mod cluster;
mod clusters_json;
mod clusters_text;
mod config_dump;
mod istioctl;
pub(crate) mod json_view;
mod listener;
mod route_config;
mod sections;
mod tcp_v1;

pub use address::{Address, CidrRange};
pub use admin::{parse_admin, AdminDoc};
pub use cluster::{
    Cluster, ClusterLoadAssignment, ClusterType, IstioService, LbEndpoint, Locality,
    LocalityEndpoints, Origin,
};
pub use clusters_json::parse_clusters_json;
pub use clusters_text::{parse_clusters, ClusterStatus, ClustersText, HostAddr, HostStatus};
pub use config_dump::{parse_config_dump, BootstrapNode, ConfigDump, FailedListener};
pub use listener::{FilterChain, FilterChainMatch, HcmRoutes, Listener, NetworkFilter, TcpTarget};
pub use route_config::{
    HeaderMatcher, PathSpecifier, QueryMatcher, Route, RouteAction, RouteConfig, RouteMatcher,
    StringMatch, VirtualHost, WeightedCluster,
};
pub use tcp_v1::TcpV1Route;

/// Why an Envoy admin document could not be read (or, as a warning, why one resource in it
/// was skipped).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvoyError {
    /// Not JSON at all.
    #[error("line {line}, column {column}: invalid json: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A value of the wrong type, at a JSON pointer.
    #[error("{pointer}: expected {expected}")]
    Json { pointer: String, expected: String },
    /// A `/clusters` text line that is not `cluster::…::value`.
    #[error("line {line}: expected {expected}")]
    Line { line: usize, expected: String },
}
