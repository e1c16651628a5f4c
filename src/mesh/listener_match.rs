//! Which listener and filter chain take a connection: `virtualOutbound` hand-off by original
//! destination, then Envoy's filter-chain match.
//!
//! Hand-off (`use_original_dst`, envoy source/server/active_tcp_listener.cc
//! `ActiveTcpListener::newConnection` → `ConnectionHandlerImpl::findActiveTcpListenerByAddress`):
//! the listener whose address is exactly the original destination V:P, else a wildcard listener
//! (`0.0.0.0:P` / `[::]:P`), else the accepting listener keeps the connection (bind_to_port
//! does not matter). Filter-chain selection follows
//! source/common/listener_manager/filter_chain_manager_impl.cc `findFilterChain`: destination
//! port (exact, falling back to port-less chains if the exact bucket has no match), destination
//! IP (longest prefix only), server name (exact, then the longest `*.suffix`, then none),
//! transport protocol (exact, then any), application protocols (the first requested one any
//! chain lists, then any), direct source IP, source type, source IP (longest prefix), source
//! port; a connection matching no chain gets `default_filter_chain` or is closed.
//!
//! The caller supplies what the listener filters would detect: `transport` is what
//! tls_inspector reports (`tls` or `raw_buffer`), `alpn` the ClientHello's ALPN list or, for
//! plaintext, what http_inspector reports (`http/1.1`, `http/1.0`, `h2c`); `server_name` the
//! ClientHello SNI. `source_type` is not evaluated (treated as matching): it needs to know
//! the node's local addresses.

use std::net::{IpAddr, SocketAddr};

use crate::mesh::envoy::{CidrRange, ConfigDump, FilterChain, Listener};

/// The facts about one downstream connection that filter chains match on.
#[derive(Clone, Copy, Debug)]
pub struct Downstream<'a> {
    /// The (original) destination: V:P for outbound, pod:port for inbound.
    pub dst: SocketAddr,
    /// The peer, if known; without it only chains with no source conditions match.
    pub src: Option<SocketAddr>,
    pub server_name: Option<&'a str>,
    /// `tls` or `raw_buffer`.
    pub transport: &'a str,
    pub alpn: &'a [&'a str],
}

/// The listener and filter chain a connection lands on.
#[derive(Clone, Copy, Debug)]
pub struct ListenerMatch<'a> {
    /// The listener that accepted it (`virtualOutbound`) when it handed the connection on.
    pub accepted_by: Option<&'a Listener>,
    pub listener: &'a Listener,
    pub filter_chain: &'a FilterChain,
    /// Index in `listener.filter_chains`, `None` for `default_filter_chain`.
    pub chain_index: Option<usize>,
}

impl ListenerMatch<'_> {
    pub fn is_default_chain(&self) -> bool {
        self.chain_index.is_none()
    }
}

/// Longest prefix length in `ranges` containing `ip`; empty ranges match at length 0
/// (Envoy puts chains without ranges under 0.0.0.0/0 and ::/0).
fn best_prefix(ranges: &[CidrRange], ip: Option<IpAddr>) -> Option<i16> {
    if ranges.is_empty() {
        return Some(-1);
    }
    let ip = ip?;
    ranges
        .iter()
        .filter(|r| r.contains(ip))
        .map(|r| i16::from(r.len))
        .max()
}

/// Keep the chains in the most specific prefix bucket (LcTrie, exclusive: no fallback).
fn by_prefix(
    cands: Vec<(usize, &FilterChain)>,
    ip: Option<IpAddr>,
    ranges: impl Fn(&FilterChain) -> &[CidrRange],
) -> Vec<(usize, &FilterChain)> {
    let scored: Vec<_> = cands
        .into_iter()
        .filter_map(|(i, c)| best_prefix(ranges(c), ip).map(|s| (s, i, c)))
        .collect();
    let Some(best) = scored.iter().map(|(s, _, _)| *s).max() else {
        return Vec::new();
    };
    scored
        .into_iter()
        .filter(|(s, _, _)| *s == best)
        .map(|(_, i, c)| (i, c))
        .collect()
}

/// Keep the chains listing `want`, else those listing nothing.
fn by_list(
    cands: Vec<(usize, &FilterChain)>,
    list: impl Fn(&FilterChain) -> bool,
    empty: impl Fn(&FilterChain) -> bool,
) -> Vec<(usize, &FilterChain)> {
    let hit: Vec<_> = cands.iter().copied().filter(|(_, c)| list(c)).collect();
    if !hit.is_empty() {
        return hit;
    }
    cands.into_iter().filter(|(_, c)| empty(c)).collect()
}

fn m(c: &FilterChain) -> &crate::mesh::envoy::FilterChainMatch {
    &c.filter_chain_match
}

/// Everything after the destination port.
fn after_port<'a>(
    cands: Vec<(usize, &'a FilterChain)>,
    d: &Downstream<'_>,
) -> Option<(usize, &'a FilterChain)> {
    let cands = by_prefix(cands, Some(d.dst.ip()), |c| {
        &c.filter_chain_match.prefix_ranges
    });
    // Server names: exact, then `*.` wildcards from the longest suffix, then catch-all.
    let sn = d.server_name.unwrap_or_default().to_ascii_lowercase();
    let mut picked = None;
    if !sn.is_empty() {
        let exact: Vec<_> = cands
            .iter()
            .copied()
            .filter(|(_, c)| {
                m(c).server_names
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&sn))
            })
            .collect();
        if !exact.is_empty() {
            picked = Some(exact);
        } else {
            let mut pos = sn.get(1..).and_then(|s| s.find('.')).map(|p| p + 1);
            while let Some(p) = pos.filter(|p| *p + 1 < sn.len()) {
                let wildcard = format!("*{}", sn.get(p..).unwrap_or_default());
                let hit: Vec<_> = cands
                    .iter()
                    .copied()
                    .filter(|(_, c)| {
                        m(c).server_names
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(&wildcard))
                    })
                    .collect();
                if !hit.is_empty() {
                    picked = Some(hit);
                    break;
                }
                pos = sn.get(p + 1..).and_then(|s| s.find('.')).map(|q| q + p + 1);
            }
        }
    }
    let cands = match picked {
        Some(p) => p,
        None => cands
            .into_iter()
            .filter(|(_, c)| m(c).server_names.is_empty())
            .collect(),
    };
    let cands = by_list(
        cands,
        |c| !d.transport.is_empty() && m(c).transport_protocol == d.transport,
        |c| m(c).transport_protocol.is_empty(),
    );
    // Application protocols: the first requested value that some chain lists.
    let mut alpn_hit = None;
    for p in d.alpn {
        let hit: Vec<_> = cands
            .iter()
            .copied()
            .filter(|(_, c)| m(c).application_protocols.iter().any(|a| a == p))
            .collect();
        if !hit.is_empty() {
            alpn_hit = Some(hit);
            break;
        }
    }
    let cands = match alpn_hit {
        Some(h) => h,
        None => cands
            .into_iter()
            .filter(|(_, c)| m(c).application_protocols.is_empty())
            .collect(),
    };
    let src_ip = d.src.map(|s| s.ip());
    let cands = by_prefix(cands, src_ip, |c| {
        &c.filter_chain_match.direct_source_prefix_ranges
    });
    let cands = by_prefix(cands, src_ip, |c| {
        &c.filter_chain_match.source_prefix_ranges
    });
    let sport = d.src.map(|s| s.port());
    let cands = by_list(
        cands,
        |c| sport.is_some_and(|p| m(c).source_ports.contains(&p)),
        |c| m(c).source_ports.is_empty(),
    );
    cands.into_iter().next()
}

impl Listener {
    /// The filter chain this listener gives a connection (Envoy's `findFilterChain`), or its
    /// `default_filter_chain`.
    pub fn match_filter_chain(&self, d: &Downstream<'_>) -> Option<(Option<usize>, &FilterChain)> {
        let all: Vec<_> = self.filter_chains.iter().enumerate().collect();
        let port = d.dst.port();
        let exact: Vec<_> = all
            .iter()
            .copied()
            .filter(|(_, c)| c.filter_chain_match.destination_port == Some(port))
            .collect();
        let found = after_port(exact, d).or_else(|| {
            let any = all
                .into_iter()
                .filter(|(_, c)| c.filter_chain_match.destination_port.is_none())
                .collect();
            after_port(any, d)
        });
        match found {
            Some((i, c)) => Some((Some(i), c)),
            None => self.default_filter_chain.as_ref().map(|c| (None, c)),
        }
    }
}

impl ConfigDump {
    /// A listener by name.
    pub fn listener(&self, name: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.name == name)
    }

    /// The listener Envoy hands an original-destination connection to: exact address, else
    /// the wildcard address of the same family on that port.
    pub fn listener_for_address(&self, dst: SocketAddr) -> Option<&Listener> {
        self.listener_for_address_in(dst, "")
    }

    /// [`ConfigDump::listener_for_address`] skipping listeners whose `traffic_direction` is
    /// `skip_direction`.
    fn listener_for_address_in(&self, dst: SocketAddr, skip_direction: &str) -> Option<&Listener> {
        let sock = |l: &Listener| l.address.as_ref().and_then(|a| a.socket());
        let usable =
            |l: &&Listener| skip_direction.is_empty() || l.traffic_direction != skip_direction;
        self.listeners
            .iter()
            .filter(usable)
            .find(|l| sock(l) == Some(dst))
            .or_else(|| {
                self.listeners.iter().filter(usable).find(|l| {
                    sock(l).is_some_and(|a| {
                        a.port() == dst.port()
                            && a.ip().is_unspecified()
                            && a.is_ipv4() == dst.is_ipv4()
                    })
                })
            })
    }

    /// The capture listener: `use_original_dst` on the given port (15001 `virtualOutbound`,
    /// 15006 `virtualInbound`), else by Istio's name.
    fn capture_listener(&self, port: u16, names: &[&str]) -> Option<&Listener> {
        self.listeners
            .iter()
            .find(|l| names.contains(&l.name.as_str()))
            .or_else(|| {
                self.listeners.iter().find(|l| {
                    l.use_original_dst
                        && l.address
                            .as_ref()
                            .and_then(|a| a.socket())
                            .is_some_and(|a| a.port() == port)
                })
            })
    }

    /// An outbound connection the app made to `orig_dst` (captured on 15001): the listener and
    /// filter chain that handle it. With no `virtualOutbound` (gateways), the listener bound
    /// at the address is used directly.
    pub fn outbound(
        &self,
        orig_dst: SocketAddr,
        server_name: Option<&str>,
        alpn: &[&str],
        transport: &str,
    ) -> Option<ListenerMatch<'_>> {
        let d = Downstream {
            dst: orig_dst,
            src: None,
            server_name,
            transport,
            alpn,
        };
        self.outbound_from(&d)
    }

    /// [`ConfigDump::outbound`] with every downstream fact.
    pub fn outbound_from(&self, d: &Downstream<'_>) -> Option<ListenerMatch<'_>> {
        let virt = self.capture_listener(15001, &["virtualOutbound", "virtual"]);
        self.handoff(virt, d, "INBOUND")
    }

    /// An inbound connection to `local_addr` (pod IP and port, captured on 15006).
    pub fn inbound(
        &self,
        local_addr: SocketAddr,
        server_name: Option<&str>,
        alpn: &[&str],
        transport: &str,
    ) -> Option<ListenerMatch<'_>> {
        let d = Downstream {
            dst: local_addr,
            src: None,
            server_name,
            transport,
            alpn,
        };
        self.inbound_from(&d)
    }

    /// [`ConfigDump::inbound`] with every downstream fact. Before Istio 1.5 there was no
    /// `virtualInbound`: per-port inbound listeners (`10.244.1.7_9080`) take it by address.
    pub fn inbound_from(&self, d: &Downstream<'_>) -> Option<ListenerMatch<'_>> {
        match self.capture_listener(15006, &["virtualInbound"]) {
            Some(l) => {
                let (chain_index, filter_chain) = l.match_filter_chain(d)?;
                Some(ListenerMatch {
                    accepted_by: None,
                    listener: l,
                    filter_chain,
                    chain_index,
                })
            }
            None => self.handoff(None, d, "OUTBOUND"),
        }
    }

    fn handoff<'a>(
        &'a self,
        virt: Option<&'a Listener>,
        d: &Downstream<'_>,
        skip_direction: &str,
    ) -> Option<ListenerMatch<'a>> {
        let target = self
            .listener_for_address_in(d.dst, skip_direction)
            .filter(|l| virt.is_none_or(|v| !std::ptr::eq(*l, v)));
        let (listener, accepted_by) = match (target, virt) {
            (Some(t), v) => (t, v),
            (None, Some(v)) => (v, None),
            (None, None) => return None,
        };
        let (chain_index, filter_chain) = listener.match_filter_chain(d)?;
        Some(ListenerMatch {
            accepted_by,
            listener,
            filter_chain,
            chain_index,
        })
    }
}
