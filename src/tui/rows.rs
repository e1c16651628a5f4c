//! Results → table rows (pure): one row per HTTP exchange and per connection without HTTP,
//! with everything the requests table shows, sorts and filters on, already escaped for the
//! terminal; and the services table (per destination and route: requests, errors, latency
//! percentiles).
//!
//! Rows are small and shared strings are interned (`Arc<str>`: a million rows name a few
//! hundred pods), so the table of a million exchanges stays a few hundred MiB. Names come from
//! the bundle (`cluster.names`), paths from the join; nothing here decides a hop.

use super::data::Results;
use crate::join::{Cluster, Leg, LegClass};
use crate::model::{Exchange, HopKind, Path, Timestamp};
use crate::report::escape::escape;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Row flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// A side missing or not complete.
    pub const INCOMPLETE: u8 = 1;
    /// The capture lost bytes of the exchange or connection.
    pub const GAP: u8 = 2;
    /// The connection had retransmissions.
    pub const RETRANS: u8 = 4;
    /// A hop of the path is only known as candidates with probabilities.
    pub const CANDIDATE: u8 = 8;
    /// A connection without HTTP (not an exchange).
    pub const CONN: u8 = 16;
    /// Mesh control traffic (Envoy admin, agent, xDS, telemetry, health): the join's class.
    pub const MESH: u8 = 32;
    /// Reset by either side.
    pub const RESET: u8 = 64;

    pub const fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// `IGR?` style letters for the flags column.
    pub fn letters(self) -> String {
        let mut s = String::new();
        for (bit, c) in [
            (Self::INCOMPLETE, 'I'),
            (Self::GAP, 'G'),
            (Self::RETRANS, 'R'),
            (Self::RESET, 'X'),
            (Self::CANDIDATE, '?'),
        ] {
            if self.has(bit) {
                s.push(c);
            }
        }
        s
    }
}

/// One line of the requests table.
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Leg index into [`Results::legs`], and the exchange on it (None: a connection row).
    pub leg: u32,
    pub exchange: Option<u32>,
    pub time: Timestamp,
    /// `pod/productpage-v1-…`, `svc/reviews:9080`, `node/node-1:30080`, or
    /// the address.
    pub src: Arc<str>,
    pub dst: Arc<str>,
    /// Source port, destination port, original destination's port (0 when none).
    pub ports: [u16; 3],
    pub method: Cow<'static, str>,
    pub host: Box<str>,
    pub target: Box<str>,
    pub status: Option<u16>,
    pub latency: Option<i64>,
    /// `NodePort default/productpage:http → pod/… → sidecar 15006 → app`.
    pub path: Arc<str>,
    pub flags: Flags,
    pub point: u16,
    pub request_id: Option<Box<str>>,
    /// Named pods and services of the path (for `pod:` and `svc:`).
    pub path_names: Arc<[Arc<str>]>,
}

impl Row {
    /// Every name the row carries: source, destination and those on its path.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [&*self.src, &*self.dst]
            .into_iter()
            .chain(self.path_names.iter().map(|n| &**n))
    }
}

/// Interns the strings many rows share.
#[derive(Default)]
pub struct Interner {
    map: HashMap<String, Arc<str>>,
    lists: HashMap<Vec<Arc<str>>, Arc<[Arc<str>]>>,
}

impl Interner {
    pub fn get(&mut self, s: String) -> Arc<str> {
        if let Some(a) = self.map.get(&s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s.as_str());
        // Bounded: past this, strings are just not shared.
        if self.map.len() < 1 << 20 {
            self.map.insert(s, a.clone());
        }
        a
    }

    fn list(&mut self, v: Vec<Arc<str>>) -> Arc<[Arc<str>]> {
        if let Some(a) = self.lists.get(&v) {
            return a.clone();
        }
        let a: Arc<[Arc<str>]> = Arc::from(v.clone());
        if self.lists.len() < 1 << 16 {
            self.lists.insert(v, a.clone());
        }
        a
    }
}

/// `pod/x`, `svc/reviews`, `pod/istio-system/y`, `node/node-1` from the bundle's name of an
/// IP (the `default` namespace left out, as kubectl does).
pub fn short_name(name: &str) -> String {
    let name = escape(name);
    for (long, short) in [("pod ", "pod/"), ("service ", "svc/"), ("node ", "node/")] {
        if let Some(rest) = name.strip_prefix(long) {
            let rest = rest.strip_prefix("default/").unwrap_or(rest);
            return format!("{short}{rest}");
        }
    }
    name.into_owned()
}

/// An address as the table names it: the bundle's name and the port (a client's ephemeral
/// port is left out when the address is named and `port` is false), or the bare address.
pub fn label(cluster: &Cluster, addr: SocketAddr, port: bool) -> String {
    match cluster.names.get(&addr.ip()) {
        Some(n) if port => format!("{}:{}", short_name(n), addr.port()),
        Some(n) => short_name(n),
        None => addr.to_string(),
    }
}

/// The short form of a path: one step per hop after the client, with the hop's decision.
pub fn path_summary(path: &Path, cluster: &Cluster) -> String {
    let mut parts: Vec<String> = Vec::new();
    for hop in path.hops.iter().filter(|h| h.kind != HopKind::Client) {
        let to = || match (hop.to, hop.candidates.len()) {
            (Some(to), _) => label(cluster, to, true),
            (None, 0) => "?".into(),
            (None, n) => format!("{{{n} candidates}}"),
        };
        let step = match hop.kind {
            HopKind::KubeService => {
                let svc = hop.via.first().map(|v| escape(v).into_owned());
                match svc {
                    Some(s) => format!("{s} → {}", to()),
                    None => to(),
                }
            }
            HopKind::Intercept => match hop.to {
                Some(to) => format!("sidecar {}", to.port()),
                None => "sidecar".into(),
            },
            HopKind::Envoy => {
                let cluster_name = hop
                    .via
                    .iter()
                    .rev()
                    .find_map(|v| v.strip_prefix("cluster "))
                    .map(|c| escape(c).into_owned());
                match cluster_name {
                    Some(c) => format!("{c} → {}", to()),
                    None => to(),
                }
            }
            HopKind::App => "app".into(),
            HopKind::Client => continue,
        };
        if parts.last() != Some(&step) {
            parts.push(step);
        }
    }
    parts.join(" → ")
}

fn path_names(path: &Path, cluster: &Cluster, strings: &mut Interner) -> Arc<[Arc<str>]> {
    let mut v: Vec<Arc<str>> = Vec::new();
    for hop in &path.hops {
        let addrs = hop
            .to
            .into_iter()
            .chain(hop.candidates.iter().map(|c| c.addr));
        for a in addrs {
            if cluster.names.contains_key(&a.ip()) {
                let n = strings.get(label(cluster, a, false));
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
        for via in &hop.via {
            // `node port default/productpage:http` names the service.
            if let Some(svc) = via.split(' ').next_back().filter(|s| s.contains('/')) {
                let svc = svc.strip_prefix("default/").unwrap_or(svc);
                let n = strings.get(format!("svc/{}", escape(svc)));
                if !v.contains(&n) {
                    v.push(n);
                }
            }
        }
    }
    strings.list(v)
}

fn request_id(ex: &Exchange) -> Option<Box<str>> {
    let q = ex.request.as_ref()?;
    ["x-request-id", "x-b3-traceid", "traceparent"]
        .iter()
        .find_map(|h| q.msg.header(h))
        .map(|v| escape(v).into())
}

/// The time a row sorts by: request's first byte, else the response's, else the connection's.
pub fn exchange_time(ex: &Exchange, leg: &Leg) -> Timestamp {
    ex.request
        .as_ref()
        .map(|q| q.msg.first_byte)
        .or(ex.response.as_ref().map(|s| s.msg.first_byte))
        .unwrap_or(leg.conn.stats.first)
}

fn leg_flags(leg: &Leg, class: Option<LegClass>, path: Option<&Path>) -> u8 {
    let s = &leg.conn.stats;
    let mut f = 0;
    if s.dir.iter().any(|d| d.retransmissions > 0) {
        f |= Flags::RETRANS;
    }
    if s.rst.is_some() {
        f |= Flags::RESET;
    }
    if class == Some(LegClass::MeshControl) {
        f |= Flags::MESH;
    }
    if path.is_some_and(|p| {
        p.hops
            .iter()
            .any(|h| h.to.is_none() && !h.candidates.is_empty())
    }) {
        f |= Flags::CANDIDATE;
    }
    f
}

/// What rows of one leg are made from; `cluster` names addresses (an empty one during the
/// load: addresses only).
pub struct LegInput<'a> {
    pub index: u32,
    pub leg: &'a Leg,
    pub class: Option<LegClass>,
    pub conn_path: Option<&'a Path>,
    pub exchange_paths: Option<&'a [Path]>,
    pub cluster: &'a Cluster,
}

/// Rows of one leg: one per exchange, or one for the connection when it has none.
pub fn leg_rows(input: &LegInput<'_>, strings: &mut Interner, out: &mut Vec<Row>) {
    let LegInput { leg, cluster, .. } = input;
    let c = &leg.conn;
    let src = strings.get(label(cluster, c.client, false));
    let dst_addr = c.original_dst.unwrap_or(c.server);
    let dst = strings.get(label(cluster, dst_addr, true));
    let ports = [
        c.client.port(),
        c.server.port(),
        c.original_dst.map_or(0, |o| o.port()),
    ];
    let point = leg.point.min(u16::MAX as usize) as u16;
    let base = leg_flags(leg, input.class, input.conn_path);
    if leg.exchanges.is_empty() {
        let mut flags = base | Flags::CONN;
        if c.stats.dir.iter().any(|d| d.gap_bytes > 0) {
            flags |= Flags::GAP;
        }
        let path = input
            .conn_path
            .map(|p| strings.get(path_summary(p, cluster)));
        let names = input
            .conn_path
            .map(|p| path_names(p, cluster, strings))
            .unwrap_or_else(|| strings.list(Vec::new()));
        out.push(Row {
            leg: input.index,
            exchange: None,
            time: c.stats.first,
            src,
            dst,
            ports,
            method: Cow::Borrowed(""),
            host: Box::from(""),
            target: app_label(&c.app).into(),
            status: None,
            latency: Some(c.stats.last.since(c.stats.first)),
            path: path.unwrap_or_else(|| strings.get(String::new())),
            flags: Flags(flags),
            point,
            request_id: None,
            path_names: names,
        });
        return;
    }
    for (e, ex) in leg.exchanges.iter().enumerate() {
        let path = input.exchange_paths.and_then(|p| p.get(e));
        let mut flags = base | leg_flags(leg, None, path);
        if ex.incomplete() {
            flags |= Flags::INCOMPLETE;
        }
        let gap = [
            ex.request.as_ref().map(|q| &q.msg),
            ex.response.as_ref().map(|r| &r.msg),
        ]
        .into_iter()
        .flatten()
        .any(|m| m.gap_bytes > 0);
        if gap || ex.notes.contains(&"gap") {
            flags |= Flags::GAP;
        }
        let q = ex.request.as_ref();
        out.push(Row {
            leg: input.index,
            exchange: Some(e as u32),
            time: exchange_time(ex, leg),
            src: src.clone(),
            dst: dst.clone(),
            ports,
            method: q.map_or(Cow::Borrowed("-"), |q| match escape(&q.method) {
                Cow::Borrowed(_) => q.method.clone(),
                Cow::Owned(s) => Cow::Owned(s),
            }),
            host: q
                .and_then(|q| q.msg.header("host"))
                .map_or(Box::from(""), |h| escape(h).into()),
            target: q.map_or(Box::from("-"), |q| escape(&q.target).into()),
            status: ex.response.as_ref().map(|r| r.status),
            latency: ex.latency(),
            path: strings.get(path.map_or_else(String::new, |p| path_summary(p, cluster))),
            flags: Flags(flags),
            point,
            request_id: request_id(ex),
            path_names: match path {
                Some(p) => path_names(p, cluster, strings),
                None => strings.list(Vec::new()),
            },
        });
    }
}

fn app_label(app: &crate::model::AppInfo) -> String {
    use crate::model::AppInfo;
    match app {
        AppInfo::Tls { sni, .. } => format!(
            "tls sni={}",
            sni.as_deref()
                .map_or("-".into(), |s| escape(s).into_owned())
        ),
        AppInfo::Upgraded { .. } => "http-upgraded".into(),
        AppInfo::Http { .. } => "http".into(),
        AppInfo::Unknown => "tcp".into(),
    }
}

/// Every row of the results, in leg order (legs are in time order).
pub fn build(r: &Results) -> Vec<Row> {
    let mut strings = Interner::default();
    let mut out = Vec::new();
    for (l, leg) in r.legs.iter().enumerate() {
        let input = LegInput {
            index: l as u32,
            leg,
            class: r.joined.classes.get(l).copied(),
            conn_path: r.joined.paths.get(l),
            exchange_paths: r.joined.exchange_paths.get(l).map(|v| v.as_slice()),
            cluster: &r.cluster,
        };
        leg_rows(&input, &mut strings, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_flags() {
        assert_eq!(short_name("pod default/p"), "pod/p");
        assert_eq!(short_name("pod istio-system/p"), "pod/istio-system/p");
        assert_eq!(short_name("service default/r"), "svc/r");
        assert_eq!(short_name("node n\x1b[2J"), "node/n\\x1b[2J");
        assert_eq!(
            Flags(Flags::INCOMPLETE | Flags::RETRANS | Flags::CANDIDATE).letters(),
            "IR?"
        );
        assert_eq!(Flags::default().letters(), "");
    }
}
