//! The lab's mTLS legs (productpage's sidecar → reviews-v2's sidecar) against the join: both
//! sidecars logged which request went out on which TLS connection and which plaintext leg it
//! became (truth.json `mtls`, by ports), and the join must have found exactly that from SNI and
//! timing, each request stitched end to end: client → NodePort → productpage sidecar → app →
//! sidecar outbound → TLS leg → reviews-v2 sidecar → app → ratings. A plaintext request to
//! reviews-v1 is never linked to a TLS leg.

use hopscope::model::AppInfo;
use serde_json::Value;
use std::net::SocketAddr;

/// The SNI Istio sets for `outbound|9080||reviews.default.svc.cluster.local`.
pub const REVIEWS_SNI: &str = "outbound_.9080_._.reviews.default.svc.cluster.local";

/// The SNI of the TLS connection `leg` (client, server) in a capture's run.
pub fn tls_sni(run: &super::common::Run, leg: (SocketAddr, SocketAddr)) -> Option<String> {
    let c = run
        .got
        .connections
        .iter()
        .find(|c| (c.client, c.server) == leg)?;
    match &c.app {
        AppInfo::Tls { sni, bursts, .. } => {
            assert!(!bursts.list.is_empty(), "no application data on {leg:?}");
            sni.clone()
        }
        _ => None,
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("no {k} in {v}"))
}

/// The one line of `kind` at `point` for which `pick` holds.
fn one<'a>(lines: &'a [Value], kind: &str, pick: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == kind && pick(l))
        .collect();
    assert_eq!(found.len(), 1, "{kind} lines found: {found:?}");
    found[0]
}

/// `{"point", "conn", "index"}` of an exchange line, as journey members name it.
fn member(ex: &Value) -> (String, u64, u64) {
    (
        s(ex, "point").to_string(),
        ex["conn"].as_u64().unwrap(),
        ex["index"].as_u64().unwrap(),
    )
}

fn as_member(m: &Value) -> (String, u64, u64) {
    (
        s(m, "point").to_string(),
        m["conn"].as_u64().unwrap(),
        m["index"].as_u64().unwrap(),
    )
}

pub fn stitched_over_mtls(truth: &Value, lines: &[Value]) {
    let requests = truth["requests"].as_array().unwrap();
    let mtls = truth["mtls"].as_array().expect("truth.json mtls");
    assert!(!mtls.is_empty(), "no request went to reviews-v2 over mTLS");
    let pod = |name: &str| format!("pod default/{name}");
    let ex_at = |point: &str, leg: &str, client: &str, target: &str| -> &Value {
        one(lines, "exchange", |l| {
            l["point"] == point
                && l["leg"] == leg
                && l["client"] == client
                && l["request"]["target"] == target
        })
    };
    let conn_at = |point: &str, client: &str, server: &str| -> u64 {
        one(lines, "connection", |l| {
            l["point"] == point && l["client"] == client && l["server"] == server
        })["id"]
            .as_u64()
            .unwrap()
    };
    for m in mtls {
        let rid = s(m, "request_id");
        let path = s(m, "path");
        let (pp, rv) = (
            pod(s(m, "client_sidecar")),
            pod(m["server_sidecar"]
                .as_str()
                .expect("the TLS leg's far end logged it")),
        );
        let out = requests
            .iter()
            .find(|r| r["request_id"] == rid && r["upstream_tls"] == true)
            .unwrap();
        // Leg A: the app's plaintext request; its upstream rests on timing.
        let a = ex_at(&pp, "app→sidecar", s(out, "downstream_remote"), path);
        let hop = a["path"]["hops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == "envoy")
            .expect("an envoy hop");
        assert_eq!(hop["to"], m["tls_server"], "{hop}");
        assert_eq!(hop["evidence"], "timing", "{hop}");
        // Leg D: the plaintext request reviews-v2's sidecar made of it.
        let d = ex_at(&rv, "sidecar→app", s(m, "app_client"), path);
        let journey = a["journey"].as_u64().unwrap();
        assert_eq!(d["journey"].as_u64(), Some(journey), "{rid}: A and D apart");
        let j = one(lines, "journey", |l| l["id"] == journey);
        // The TLS connection the sidecars logged, at both ends, linked to A and D.
        let (tc, ts) = (s(m, "tls_client"), s(m, "tls_server"));
        let tls = j["tls"].as_array().unwrap();
        let find = |point: &str, leg: &str| -> &Value {
            let conn = conn_at(point, tc, ts);
            tls.iter()
                .find(|t| t["point"] == point && t["conn"] == conn && t["leg"] == leg)
                .unwrap_or_else(|| panic!("{rid}: no TLS member {leg} at {point} in {j}"))
        };
        let b = find(&pp, "sidecar→upstream");
        assert_eq!(b["link"], "sni+timing", "{b}");
        assert_eq!(as_member(&b["with"]), member(a), "{b}");
        let c = find(&rv, "downstream→sidecar");
        assert_eq!(c["link"], "timing", "{c}");
        assert_eq!(as_member(&c["with"]), member(d), "{c}");
        for t in [b, c] {
            let envoy = t["path"]["hops"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["kind"] == "envoy")
                .unwrap();
            assert_eq!(envoy["evidence"], "timing", "{t}");
        }
        assert!(j["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "sni+timing"));
        assert!(j["links"].as_array().unwrap().iter().any(|l| l == "timing"));
        // End to end: the journey holds every leg of the request, in order of the path.
        let legs: Vec<(String, String)> = j["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (s(x, "point").to_string(), s(x, "leg").to_string()))
            .collect();
        let mut want: Vec<(String, &str)> = Vec::new();
        // Every call but the lab's own curl from the productpage pod came in through NodePort.
        if rid != "lab-direct-1" {
            want.push(("node node-1".into(), "service"));
            want.push((pp.clone(), "downstream→sidecar"));
            want.push((pp.clone(), "sidecar→app"));
        }
        want.extend([
            (pp.clone(), "app→sidecar"),
            (rv.clone(), "sidecar→app"),
            (rv.clone(), "app→sidecar"),
            (rv.clone(), "sidecar→upstream"),
        ]);
        let mut at = 0;
        for (point, leg) in &want {
            at += legs[at..]
                .iter()
                .position(|(p, l)| p == point && l == leg)
                .unwrap_or_else(|| panic!("{rid}: no {leg} at {point} after #{at} in {legs:?}"));
        }
        eprintln!(
            "lab mtls: {rid} {path}: {tc} → {ts} linked, {} legs",
            legs.len() + tls.len()
        );
    }
    // Plaintext requests to reviews-v1 are never linked to a TLS leg.
    let mut plain = 0;
    for r in requests
        .iter()
        .filter(|r| r["listener"] == "virtualOutbound" && r["upstream_host"] == "10.244.1.6:9080")
    {
        let a = ex_at(
            &pod(s(r, "sidecar")),
            "app→sidecar",
            s(r, "downstream_remote"),
            s(r, "path"),
        );
        let j = one(lines, "journey", |l| l["id"] == a["journey"]);
        for t in j["tls"].as_array().unwrap() {
            assert!(
                t["with"].is_null() || as_member(&t["with"]) != member(a),
                "{t}"
            );
        }
        let hop = a["path"]["hops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["kind"] == "envoy")
            .unwrap();
        assert_eq!(hop["evidence"], "observed", "{hop}");
        assert!(j["unlinked"].as_array().unwrap().is_empty(), "{j}");
        plain += 1;
    }
    assert!(plain > 0, "no request went to reviews-v1");
}
