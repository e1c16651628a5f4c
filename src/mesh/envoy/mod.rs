//! Parsers for the Envoy admin API: `/config_dump` JSON (v3 and v2alpha envelopes, Envoy's
//! snake_case and istioctl's lowerCamelCase) and `/clusters` text.
//!
//! Pure: text in, owned data out. Only what the join needs is modelled (listeners, filter
//! chains, HTTP/TCP routing, clusters, endpoints, the bootstrap node); everything else in a
//! dump is ignored. Envoy v1 JSON (`{"listeners": […]}`, Istio ≤0.7) is not read yet.

mod address;
mod cluster;
mod clusters_text;
mod config_dump;
pub(crate) mod json_view;
mod listener;
mod route_config;

pub use address::{Address, CidrRange};
pub use cluster::{
    Cluster, ClusterLoadAssignment, ClusterType, IstioService, LbEndpoint, Locality,
    LocalityEndpoints, Origin,
};
pub use clusters_text::{parse_clusters, ClusterStatus, ClustersText, HostAddr, HostStatus};
pub use config_dump::{parse_config_dump, BootstrapNode, ConfigDump, FailedListener};
pub use listener::{FilterChain, FilterChainMatch, HcmRoutes, Listener, NetworkFilter, TcpTarget};
pub use route_config::{
    HeaderMatcher, PathSpecifier, QueryMatcher, Route, RouteAction, RouteConfig, RouteMatcher,
    StringMatch, VirtualHost, WeightedCluster,
};

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
