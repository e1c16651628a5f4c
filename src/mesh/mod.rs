//! The mesh view: what one Envoy sidecar or gateway will do with a connection or request.
//!
//! [`envoy`] parses the admin API (`/config_dump`, `/clusters`). Everything is pure.

pub mod envoy;
