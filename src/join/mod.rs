//! The join: captured connections and exchanges + the cluster's state → the path each one
//! took (domain.md 7). Pure: the bundle is parsed by the CLI, the captures by the pipeline.
//!
//! Steps: classify each captured connection as a leg (`classify`), find the views of one
//! connection at several points or on both sides of a NAT (`twins`), resolve each leg's hops
//! with the strongest evidence available, and stitch the legs of one request into a journey
//! (`journey`; mTLS legs by SNI and timing, `mtls`).

pub mod adapt;
pub mod classify;
pub mod cluster;
pub mod explain;
pub mod hops;
mod intercept;
pub mod journey;
pub mod mtls;
mod mtls_paths;
pub mod run;
pub mod split;
pub mod twins;

pub use classify::{classify, LegClass, PointFacts, PointKind};
pub use cluster::{Cluster, Dataplane, EnvoyDecision, Frontend, Mesh, NatEntry, NodeView, PodView};
pub use journey::{journeys, journeys_with, Journey, LegView, Link, TlsMember, Unlinked};
pub use run::{join, point_facts, Joined, Leg};

#[cfg(test)]
mod tests_mtls;
