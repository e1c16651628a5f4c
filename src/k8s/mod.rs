//! Kubernetes node and pod state: parsers for kube-proxy's dataplane (iptables-save, nftables,
//! IPVS), Istio's interception rules, kubectl objects and conntrack tables, and the common
//! [`walk`] answer they give.
//!
//! Every parser here is pure: text or bytes in, data out, errors naming the line (or JSON
//! pointer) and what was expected. Reading the files is the CLI's job.

pub mod chain_hash;
pub mod conntrack;
pub mod iptables;
pub mod ipvs;
pub mod kubectl;
pub mod nft;
pub mod recent;
pub mod walk;
