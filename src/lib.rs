//! hopscope: joins packet captures to the Kubernetes and Istio forwarding path.
//!
//! Data flows one way, left to right; each module imports only `model` and layers to its left:
//!
//! ```text
//! capture ─Frame─► decode ─Segment─► reassembly ─stream events─► http / tls ─Exchange─► report
//! ```
//!
//! Only `capture`, `tui` and the binary's `cli` do I/O or read a clock; everything else is
//! pure and driven by capture timestamps. `tui` is the terminal browser over the same results
//! (nothing imports it).

pub mod model;

pub mod capture;
pub mod decode;
pub mod reassembly;

pub mod http;
pub mod tls;

pub mod pipeline;
pub mod report;

pub mod join;
pub mod k8s;
pub mod mesh;

pub mod tui;
