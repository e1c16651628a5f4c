//! The mesh view: what one Envoy sidecar or gateway will do with a connection or request.
//!
//! [`envoy`] parses the admin API (`/config_dump`, `/clusters`); the lookups answer "a
//! connection with original destination V:P (and SNI / ALPN) → which listener and filter
//! chain" ([`listener_match`]), "Host H, path X → which route config, virtual host, route and
//! clusters with weights" ([`route`]), and "cluster → which endpoints with weights and health"
//! ([`endpoints`]); [`istio_name`] reads Istio's cluster and SNI names. Every answer borrows
//! the objects it passed, so their names can be shown as evidence.
//!
//! Not here: choosing *which* endpoint Envoy picked (LEAST_REQUEST / ROUND_ROBIN depend on
//! live state; domain.md 7.6) and joining to captured legs (`join`). Everything is pure.

pub mod endpoints;
pub mod envoy;
pub mod istio_name;
pub mod listener_match;
pub mod route;

pub use endpoints::Endpoint;
pub use istio_name::{Direction, IstioName};
pub use listener_match::{Downstream, ListenerMatch};
pub use route::{RouteMatch, RouteOutcome, RouteRequest};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_shapes;
#[cfg(test)]
mod tests_v2;
