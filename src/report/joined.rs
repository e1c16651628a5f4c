//! The `--cluster` report: journeys (the legs of each request across capture points, each
//! leg with its hops), then the connections without HTTP, then what the bundle lacked. The
//! JSON form adds `point`, `leg`, `journey` and `path` to the exchange and connection lines
//! and writes one `journey` line per journey (docs/json.md).

use super::escape::escape;
use super::path::{hop_line, path_json, shown_hops};
use super::timefmt::{clock, duration, rfc3339};
use super::JsonSink;
use crate::join::split::splits;
use crate::join::{Cluster, Joined, Leg};
use crate::model::{AppInfo, Burst, Connection, Exchange, Timestamp};
use crate::pipeline::Sink;
use crate::reassembly::ConnMeta;
use serde_json::{json, Value};
use std::io::{self, Write};

/// What the report shows.
pub struct JoinReport<'a> {
    /// Capture point labels (`node node-1`, `pod default/productpage-v1`), by point index.
    pub points: &'a [String],
    pub legs: &'a [Leg],
    pub joined: &'a Joined,
    pub cluster: &'a Cluster,
}

fn flow(c: &Connection, cluster: &Cluster) -> String {
    match c.original_dst {
        Some(o) => format!(
            "{} → {} (via {})",
            cluster.describe(c.client),
            cluster.describe(o),
            c.server
        ),
        None => format!(
            "{} → {}",
            cluster.describe(c.client),
            cluster.describe(c.server)
        ),
    }
}

fn request_line(ex: &Exchange) -> String {
    let (m, t) = match &ex.request {
        Some(q) => (
            escape(&q.method).into_owned(),
            escape(&q.target).into_owned(),
        ),
        None => ("-".into(), "-".into()),
    };
    let s = ex
        .response
        .as_ref()
        .map_or("-".into(), |r| r.status.to_string());
    let lat = ex.latency().map(duration).unwrap_or_else(|| "-".into());
    format!("{m} {t} {s} {lat}")
}

/// One line of a journey: an exchange or a TLS leg's burst, with its time.
enum Row {
    Exchange(Timestamp, usize, usize),
    Tls(Timestamp, usize),
}

/// Journey `n`'s exchanges and TLS members in time order.
fn rows(r: &JoinReport<'_>, n: usize) -> Vec<Row> {
    let journey = &r.joined.journeys[n];
    let mut v: Vec<Row> = journey
        .members
        .iter()
        .map(|&(l, e)| {
            let leg = &r.legs[l];
            let ex = &leg.exchanges[e];
            let at = ex
                .request
                .as_ref()
                .map(|q| q.msg.first_byte)
                .or(ex.response.as_ref().map(|s| s.msg.first_byte))
                .unwrap_or(leg.conn.stats.first);
            Row::Exchange(at, l, e)
        })
        .collect();
    for (t, m) in journey.tls.iter().enumerate() {
        let conn = &r.legs[m.leg].conn;
        let at = burst(conn, m.burst).map_or(conn.stats.first, |b| b.first);
        v.push(Row::Tls(at, t));
    }
    // Stable: exchanges keep the journey's order among themselves.
    v.sort_by_key(|row| match row {
        Row::Exchange(at, ..) | Row::Tls(at, _) => *at,
    });
    v
}

fn burst(c: &Connection, i: usize) -> Option<&Burst> {
    match &c.app {
        AppInfo::Tls { bursts, .. } => bursts.list.get(i),
        _ => None,
    }
}

/// `tls sni=outbound_.9080_._.reviews… burst 3: 412 B, reply 1.2 ms later`.
fn tls_line(c: &Connection, i: usize) -> String {
    let sni = match &c.app {
        AppInfo::Tls { sni: Some(s), .. } => format!(" sni={}", escape(s)),
        _ => String::new(),
    };
    let Some(b) = burst(c, i) else {
        return format!("tls{sni}");
    };
    let reply = match &c.app {
        AppInfo::Tls { bursts, .. } => bursts.reply_to(i).map_or(String::new(), |x| {
            format!(
                ", reply {} B {} later",
                x.bytes,
                duration(x.first.since(b.first))
            )
        }),
        _ => String::new(),
    };
    format!("tls{sni} burst #{}: {} B{reply}", i + 1, b.bytes)
}

pub fn write_text(out: &mut dyn Write, r: &JoinReport<'_>) -> io::Result<()> {
    let j = r.joined;
    writeln!(out, "JOURNEYS ({})", j.journeys.len())?;
    for (n, journey) in j.journeys.iter().enumerate() {
        let Some(&(l0, e0)) = journey.members.first() else {
            continue;
        };
        let first = &r.legs[l0].exchanges[e0];
        let head = first.request.as_ref().map_or("-".to_string(), |q| {
            let host = q.msg.header("host").unwrap_or("");
            format!(
                "{} {}{}",
                escape(&q.method),
                escape(host),
                escape(&q.target)
            )
        });
        let status = first
            .response
            .as_ref()
            .map_or("-".into(), |s| s.status.to_string());
        let links: Vec<&str> = journey.links.iter().map(|l| l.as_str()).collect();
        let joined_by = if links.is_empty() {
            String::new()
        } else {
            format!(", joined by {}", links.join(", "))
        };
        writeln!(
            out,
            "\n#{}  {head} → {status}  ({} legs{joined_by})",
            n + 1,
            journey.members.len() + journey.tls.len()
        )?;
        for row in rows(r, n) {
            match row {
                Row::Exchange(at, l, e) => {
                    let leg = &r.legs[l];
                    writeln!(
                        out,
                        "  {}  {:<34}  {:<18}  {}  {}",
                        clock(at),
                        r.points[leg.point],
                        j.classes[l].as_str(),
                        flow(&leg.conn, r.cluster),
                        request_line(&leg.exchanges[e])
                    )?;
                    for hop in shown_hops(&j.exchange_paths[l][e]) {
                        writeln!(out, "                   {}", hop_line(hop, r.cluster))?;
                    }
                }
                Row::Tls(at, t) => {
                    let m = &journey.tls[t];
                    let leg = &r.legs[m.leg];
                    writeln!(
                        out,
                        "  {}  {:<34}  {:<18}  {}  {} ({})",
                        clock(at),
                        r.points[leg.point],
                        j.classes[m.leg].as_str(),
                        flow(&leg.conn, r.cluster),
                        tls_line(&leg.conn, m.burst),
                        m.link.as_str()
                    )?;
                    for hop in shown_hops(&j.tls_paths[n][t]) {
                        writeln!(out, "                   {}", hop_line(hop, r.cluster))?;
                    }
                }
            }
        }
        for u in &journey.unlinked {
            let leg = &r.legs[u.exchange.0];
            let cands: Vec<String> = u
                .candidates
                .iter()
                .map(|&(l, _)| {
                    let c = &r.legs[l].conn;
                    format!("{} → {}", c.client, c.server)
                })
                .collect();
            writeln!(
                out,
                "  not linked by {}: {} on {} ({}): TLS legs that fit: {}",
                u.link.as_str(),
                request_line(&leg.exchanges[u.exchange.1]),
                r.points[leg.point],
                u.why.as_str(),
                cands.join(", ")
            )?;
        }
    }
    let quiet: Vec<usize> = (0..r.legs.len())
        .filter(|&l| r.legs[l].exchanges.is_empty())
        .collect();
    writeln!(out, "\nCONNECTIONS WITHOUT HTTP ({})", quiet.len())?;
    for l in quiet {
        let leg = &r.legs[l];
        let app = match &leg.conn.app {
            AppInfo::Tls { sni, .. } => format!(
                "tls sni={}",
                sni.as_deref()
                    .map_or("-".into(), |s| escape(s).into_owned())
            ),
            AppInfo::Upgraded { .. } => "http-upgraded".into(),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {}  {:<34}  {:<18}  {}  {app}",
            clock(leg.conn.stats.first),
            r.points[leg.point],
            j.classes[l].as_str(),
            flow(&leg.conn, r.cluster)
        )?;
        for hop in shown_hops(&j.paths[l]) {
            writeln!(out, "                   {}", hop_line(hop, r.cluster))?;
        }
    }
    let splits = splits(request_paths(r.joined));
    if !splits.is_empty() {
        writeln!(
            out,
            "\nSPLIT (requests observed per destination vs configured share)"
        )?;
        for s in &splits {
            let total: u64 = s.destinations.iter().map(|d| d.2).sum::<u64>() + s.unexpected;
            writeln!(out, "  {}  ({total} requests)", escape(&s.decision))?;
            for (addr, p, n) in &s.destinations {
                let seen = if total == 0 {
                    0.0
                } else {
                    *n as f64 * 100.0 / total as f64
                };
                writeln!(
                    out,
                    "    {:<52}  configured {:>5.1}%  observed {n:>4} ({seen:.1}%)",
                    r.cluster.describe(*addr),
                    p * 100.0
                )?;
            }
            if s.unexpected > 0 {
                writeln!(out, "    outside the configured set: {}", s.unexpected)?;
            }
        }
    }
    if !r.cluster.missing.is_empty() || !r.cluster.warnings.is_empty() {
        writeln!(out, "\nBUNDLE")?;
        for m in &r.cluster.missing {
            writeln!(out, "  missing: {}", escape(m))?;
        }
        for w in &r.cluster.warnings {
            writeln!(out, "  warning: {}", escape(w))?;
        }
    }
    Ok(())
}

/// Every request's path with its journey (what `join::split::splits` counts).
pub fn request_paths(j: &Joined) -> impl Iterator<Item = (usize, &crate::model::Path)> {
    j.exchange_paths
        .iter()
        .enumerate()
        .flat_map(move |(l, paths)| {
            paths
                .iter()
                .enumerate()
                .map(move |(e, p)| (j.exchange_journey[l][e], p))
        })
}

/// A line of the plain JSON report as a value, to add the join's fields to.
fn base_line(write: impl FnOnce(&mut JsonSink<Vec<u8>>) -> io::Result<()>) -> io::Result<Value> {
    let mut sink = JsonSink::new(Vec::new());
    write(&mut sink)?;
    serde_json::from_slice(&sink.into_inner()).map_err(io::Error::other)
}

pub fn write_json(out: &mut dyn Write, r: &JoinReport<'_>) -> io::Result<()> {
    let j = r.joined;
    for (l, leg) in r.legs.iter().enumerate() {
        let meta = ConnMeta {
            id: leg.conn.id,
            client: leg.conn.client,
            server: leg.conn.server,
            original_dst: leg.conn.original_dst,
        };
        for (e, ex) in leg.exchanges.iter().enumerate() {
            line(out, &exchange_line(r, &meta, l, e, ex)?)?;
        }
        let mut v = base_line(|s| s.connection(&leg.conn))?;
        if let Value::Object(m) = &mut v {
            m.insert("point".into(), json!(r.points[leg.point]));
            m.insert("leg".into(), json!(j.classes[l].as_str()));
            m.insert("path".into(), path_json(&j.paths[l]));
        }
        line(out, &v)?;
    }
    for n in 0..j.journeys.len() {
        line(out, &journey_line(r, n))?;
    }
    for s in splits(request_paths(j)) {
        let d: Vec<Value> = s
            .destinations
            .iter()
            .map(|(a, p, n)| json!({"addr": a.to_string(), "configured": p, "observed": n}))
            .collect();
        let v = json!({"kind": "split", "decision": s.decision, "destinations": d,
                       "unexpected": s.unexpected});
        line(out, &v)?;
    }
    let v =
        json!({"kind": "cluster", "missing": r.cluster.missing, "warnings": r.cluster.warnings});
    line(out, &v)
}

/// The JSON line of exchange `e` (`ex`) of leg `l` (`meta`: its connection): the plain
/// report's exchange line with the join's `point`, `leg`, `journey` and `path`.
pub fn exchange_line(
    r: &JoinReport<'_>,
    meta: &ConnMeta,
    l: usize,
    e: usize,
    ex: &Exchange,
) -> io::Result<Value> {
    let j = r.joined;
    let leg = &r.legs[l];
    let mut v = base_line(|s| s.exchange(ex, meta))?;
    if let Value::Object(m) = &mut v {
        m.insert("point".into(), json!(r.points[leg.point]));
        m.insert("leg".into(), json!(j.classes[l].as_str()));
        m.insert("journey".into(), json!(j.exchange_journey[l][e] + 1));
        m.insert("path".into(), path_json(&j.exchange_paths[l][e]));
    }
    Ok(v)
}

/// The JSON line of journey `n` (0-based; its id is `n + 1`).
pub fn journey_line(r: &JoinReport<'_>, n: usize) -> Value {
    let j = r.joined;
    let journey = &j.journeys[n];
    let exchange_ref = |(l, e): (usize, usize)| {
        let leg = &r.legs[l];
        json!({"point": r.points[leg.point], "conn": leg.conn.id,
               "index": leg.exchanges[e].index, "leg": j.classes[l].as_str()})
    };
    let members: Vec<Value> = journey.members.iter().map(|&m| exchange_ref(m)).collect();
    let links: Vec<&str> = journey.links.iter().map(|k| k.as_str()).collect();
    let tls: Vec<Value> = journey
        .tls
        .iter()
        .enumerate()
        .map(|(t, m)| {
            let leg = &r.legs[m.leg];
            let b = burst(&leg.conn, m.burst);
            json!({"point": r.points[leg.point], "conn": leg.conn.id,
                   "leg": j.classes[m.leg].as_str(), "burst": m.burst,
                   "at": b.map(|b| rfc3339(b.first)), "bytes": b.map(|b| b.bytes),
                   "offset": b.map(|b| b.offset), "link": m.link.as_str(),
                   "with": m.with.map(exchange_ref),
                   "delay_ms": m.with.map(|_| m.delay_ns as f64 / 1e6),
                   "path": path_json(&j.tls_paths[n][t])})
        })
        .collect();
    let unlinked: Vec<Value> = journey
        .unlinked
        .iter()
        .map(|u| {
            let cands: Vec<Value> = u
                .candidates
                .iter()
                .map(|&(l, b)| {
                    let leg = &r.legs[l];
                    json!({"point": r.points[leg.point], "conn": leg.conn.id, "burst": b})
                })
                .collect();
            json!({"exchange": exchange_ref(u.exchange), "link": u.link.as_str(),
                   "why": u.why.as_str(), "candidates": cands})
        })
        .collect();
    json!({"kind": "journey", "id": n + 1, "members": members, "links": links,
                   "tls": tls, "unlinked": unlinked})
}

/// With the report's formatter: DEL, C1 and bidi controls escaped like every JSON line.
pub fn line(out: &mut dyn Write, v: &Value) -> io::Result<()> {
    use serde::Serialize;
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, super::json::SafeFormatter);
    v.serialize(&mut ser).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
