//! The kernel lab (tests/lab/lab.sh): a netns cluster with kube-proxy-style iptables rules,
//! Istio-style REDIRECT sidecars (HAProxy) with mTLS between them and real tcpdump captures,
//! checked against what must hold. Skipped, passing, with a printed note when not root or a
//! tool is missing.
//!
//! What it checks: every capture of the bundle reads through hopscope's pipeline; the node
//! capture shows each NodePort connection both before DNAT (client -> 192.168.50.10:30080) and
//! after it (node -> productpage pod) with the same client ISN (NAT never rewrites sequence
//! numbers, domain.md 3.7); conntrack's DNAT endpoint is one of the productpage endpoints of the
//! EndpointSlice; each sidecar pod's capture shows app -> 127.0.0.1:15001 answered from the
//! original destination and its inbound REDIRECTs; the sidecars' upstream legs carry the
//! x-request-id their logs recorded (plaintext) or the cluster's SNI (mTLS); and hopscope's
//! join (`analyze BUNDLE --json`) names what the kernel and the sidecars did: endpoints, SNAT,
//! chains, affinity, upstreams, the observed split, one journey per client request, and each
//! request over mTLS stitched end to end through the TLS connection the sidecars logged
//! (tests/lab_mtls).

mod common;
mod lab_mtls;

use hopscope::capture::{Capture, FileReader};
use hopscope::decode::{DecodeConfig, Decoder};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOOLS: &[&str] = &[
    "ip",
    "iptables",
    "iptables-save",
    "iptables-restore",
    "conntrack",
    "tcpdump",
    "haproxy",
    "python3",
    "curl",
    "setpriv",
    "ss",
    "openssl",
];

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Why the lab cannot run here, if it cannot.
fn cannot_run() -> Option<String> {
    if !is_root() {
        return Some("not root".into());
    }
    let gone: Vec<&str> = TOOLS.iter().copied().filter(|t| !on_path(t)).collect();
    (!gone.is_empty()).then(|| format!("missing {}", gone.join(", ")))
}

/// One TCP segment's addresses, sequence number and flags, as decoded by hopscope.
#[derive(Clone, Debug)]
struct Seg {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    ack: bool,
}

fn segments(pcap: &Path) -> Vec<Seg> {
    let reader = FileReader::open(pcap, 0).unwrap_or_else(|e| panic!("{}: {e}", pcap.display()));
    let mut capture = Capture::new(vec![reader]);
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(frame) = capture.next_frame() {
        n += 1;
        if let Some(s) = decoder.decode(&frame, n) {
            out.push(Seg {
                src: s.src,
                dst: s.dst,
                seq: s.seq,
                syn: s.flags.syn(),
                ack: s.flags.ack(),
            });
        }
    }
    assert!(
        capture.take_errors().is_empty(),
        "{}: read errors",
        pcap.display()
    );
    out
}

fn addr(v: &Value) -> SocketAddr {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an ip:port: {v}"))
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `pod/default/<name>` for the pod whose name starts with `prefix`.
fn pod_dir(bundle: &Path, prefix: &str) -> PathBuf {
    let dir = bundle.join("pod/default");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no pod {prefix}* in {}", dir.display()))
}

/// Endpoint `ip:9080` of the EndpointSlices of `service` in kubectl/cluster.json.
fn slice_endpoints(cluster: &Value, service: &str) -> BTreeSet<SocketAddr> {
    let items = cluster["items"].as_array().expect("a List");
    items
        .iter()
        .filter(|i| i["kind"] == "EndpointSlice")
        .filter(|i| i["metadata"]["labels"]["kubernetes.io/service-name"] == service)
        .flat_map(|s| {
            let port = s["ports"][0]["port"].as_u64().expect("a port");
            let eps = s["endpoints"].as_array().cloned().unwrap_or_default();
            eps.into_iter().flat_map(move |e| {
                let ips = e["addresses"].as_array().cloned().unwrap_or_default();
                ips.into_iter()
                    .map(move |ip| format!("{}:{port}", ip.as_str().unwrap()).parse().unwrap())
            })
        })
        .collect()
}

/// x-request-id of every request the pipeline found, by (client, server) of its connection.
fn request_ids(run: &common::Run) -> BTreeMap<(SocketAddr, SocketAddr), Vec<String>> {
    let mut out: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for (e, meta) in &run.got.exchanges {
        if let Some(rid) = e
            .request
            .as_ref()
            .and_then(|q| q.msg.header("x-request-id"))
        {
            out.entry((meta.client, meta.server))
                .or_default()
                .push(rid.to_string());
        }
    }
    out
}

#[test]
fn lab_bundle_holds_what_the_kernel_and_the_sidecar_did() {
    if let Some(why) = cannot_run() {
        eprintln!("lab skipped: {why}");
        return;
    }
    let bundle = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-bundle");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&bundle)
        .env(
            "HS_LAB_STATE",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("hs-lab"),
        )
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) {
        eprintln!("lab skipped: {stderr}");
        return;
    }
    assert!(out.status.success(), "lab.sh failed:\n{stderr}");

    let node = bundle.join("node/node-1");
    let pp = pod_dir(&bundle, "productpage-v1-");
    let rv2 = pod_dir(&bundle, "reviews-v2-");
    let truth = read_json(&bundle.join("truth.json"));
    let cluster = read_json(&bundle.join("kubectl/cluster.json"));
    let pp_name = pp.file_name().unwrap().to_str().unwrap().to_string();
    let rv2_name = rv2.file_name().unwrap().to_str().unwrap().to_string();

    // Every capture reads through the whole pipeline, with HTTP on it.
    let mut runs = BTreeMap::new();
    for (name, pcap) in [
        ("node", node.join("capture.pcap")),
        ("productpage", pp.join("capture.pcap")),
        ("reviews-v2", rv2.join("capture.pcap")),
    ] {
        let run = common::analyze(std::slice::from_ref(&pcap));
        assert!(run.summary.errors.is_empty(), "{name}: capture errors");
        assert!(run.requests() > 0, "{name}: no HTTP requests found");
        assert!(!run.got.connections.is_empty(), "{name}: no connections");
        eprintln!(
            "lab {name}: {} frames, {} connections, {} requests, {} responses",
            run.summary.frames,
            run.got.connections.len(),
            run.requests(),
            run.responses()
        );
        runs.insert(name, run);
    }

    // Node: each NodePort connection, before and after DNAT, with the same ISN.
    let node_segs = segments(&node.join("capture.pcap"));
    let syns: Vec<&Seg> = node_segs.iter().filter(|s| s.syn && !s.ack).collect();
    let conns = truth["connections"]["node/node-1"]
        .as_array()
        .expect("node connections");
    // Every connection the node's conntrack saw opened in the node capture, as first sent.
    for c in conns {
        let (src, dst) = (addr(&c["orig"]["src"]), addr(&c["orig"]["dst"]));
        assert!(
            syns.iter().any(|s| s.src == src && s.dst == dst),
            "conntrack has {src} -> {dst}; the node capture has no SYN for it"
        );
    }
    let pp_eps = slice_endpoints(&cluster, "productpage");
    let nodeport: Vec<&Value> = conns
        .iter()
        .filter(|c| c["kind"] == "nodePort" && c["service"] == "default/productpage:http")
        .collect();
    assert!(
        nodeport.len() >= 4,
        "NodePort 30080 connections: {nodeport:?}"
    );
    for c in &nodeport {
        let (osrc, odst) = (addr(&c["orig"]["src"]), addr(&c["orig"]["dst"]));
        let (rsrc, rdst) = (addr(&c["reply"]["src"]), addr(&c["reply"]["dst"]));
        assert_eq!(odst, "192.168.50.10:30080".parse().unwrap());
        assert!(
            pp_eps.contains(&rsrc),
            "DNAT endpoint {rsrc} not a productpage endpoint"
        );
        assert_eq!(c["snat"], true, "eTP=Cluster masquerades: {c}");
        assert_eq!(
            rdst.ip().to_string(),
            "192.168.50.10",
            "MASQUERADE to the node IP"
        );
        let pre = syns
            .iter()
            .find(|s| s.src == osrc && s.dst == odst)
            .unwrap_or_else(|| panic!("no pre-DNAT SYN {osrc} -> {odst}"));
        let post = syns
            .iter()
            .find(|s| s.src == rdst && s.dst == rsrc)
            .unwrap_or_else(|| panic!("no post-DNAT SYN {rdst} -> {rsrc}"));
        assert_eq!(pre.seq, post.seq, "NAT keeps the ISN ({osrc})");
    }
    // NodePort 30081 (eTP=Local): DNAT to ratings, the client address kept.
    let local: Vec<&Value> = conns
        .iter()
        .filter(|c| c["kind"] == "nodePort" && c["service"] == "default/ratings:http")
        .collect();
    assert_eq!(local.len(), 1, "one eTP=Local connection");
    assert_eq!(local[0]["snat"], false);
    assert_eq!(local[0]["endpoint"], "10.244.1.8:9080");
    // ClusterIP with ClientIP affinity: reviews-v1 twice (reviews-v2 reaches ratings through its
    // sidecar, by pod IP).
    let affinity: Vec<&Value> = conns
        .iter()
        .filter(|c| c["kind"] == "clusterIP" && c["service"] == "default/ratings:http")
        .collect();
    assert!(
        affinity.len() >= 2,
        "ratings ClusterIP connections: {affinity:?}"
    );
    for c in &affinity {
        assert_eq!(c["endpoint"], "10.244.1.8:9080");
        assert_eq!(c["sep_chain"], "KUBE-SEP-IH5336KVFKZSXU6H");
        assert_eq!(c["snat"], false, "pod sources are not masqueraded");
    }
    // The affinity list of ratings' one KUBE-SEP holds one --set per new connection per source.
    let pinned = truth["affinity"]["KUBE-SEP-IH5336KVFKZSXU6H"]
        .as_array()
        .expect("the ratings affinity list");
    for entry in pinned {
        let src = entry["src"].as_str().expect("src");
        let conns_from = conns
            .iter()
            .filter(|c| c["service"] == "default/ratings:http")
            .filter(|c| addr(&c["orig"]["src"]).ip().to_string() == src)
            .count();
        assert_eq!(
            entry["packets"].as_u64(),
            Some(conns_from as u64),
            "{entry}"
        );
    }
    assert!(
        pinned
            .iter()
            .any(|e| e["src"] == "10.244.1.6" && e["packets"] == 2),
        "reviews-v1's two ClusterIP connections pinned: {pinned:?}"
    );

    // The passthrough request reached the reviews ClusterIP through kube-proxy's DNAT.
    let reviews_eps = slice_endpoints(&cluster, "reviews");
    let via_vip: Vec<&Value> = conns
        .iter()
        .filter(|c| c["kind"] == "clusterIP" && c["service"] == "default/reviews:http")
        .collect();
    assert!(
        !via_vip.is_empty(),
        "PassthroughCluster goes via the ClusterIP"
    );
    for c in &via_vip {
        assert!(reviews_eps.contains(&addr(&c["endpoint"])), "{c}");
    }

    // Sidecar pods: app -> 127.0.0.1:15001 answered from the original destination, and the
    // inbound REDIRECT to 15006 invisible on the wire (domain.md 3.7).
    for (name, dir) in [("productpage", &pp), ("reviews-v2", &rv2)] {
        let pod = dir.file_name().unwrap().to_str().unwrap();
        let segs = segments(&dir.join("capture.pcap"));
        let pod_conns = truth["connections"][format!("pod/default/{pod}")]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: pod connections"));
        redirects_hold(name, &segs, pod_conns);
    }

    // The sidecars' logs: every upstream leg one reports is in its pod's capture, carrying
    // the request id when plaintext, the cluster's SNI when mTLS.
    let requests = truth["requests"].as_array().expect("requests");
    assert!(
        requests.len() >= 10,
        "sidecar log lines: {}",
        requests.len()
    );
    let ids: BTreeMap<&str, _> = [
        (pp_name.as_str(), request_ids(&runs["productpage"])),
        (rv2_name.as_str(), request_ids(&runs["reviews-v2"])),
    ]
    .into_iter()
    .collect();
    let runs_of: BTreeMap<&str, &common::Run> = [
        (pp_name.as_str(), &runs["productpage"]),
        (rv2_name.as_str(), &runs["reviews-v2"]),
    ]
    .into_iter()
    .collect();
    let mut to_v2 = 0;
    for r in requests {
        let rid = r["request_id"].as_str().expect("request_id");
        assert!(!rid.is_empty(), "{r}");
        let sidecar = r["sidecar"].as_str().expect("sidecar");
        let leg = (addr(&r["upstream_local"]), addr(&r["upstream_host"]));
        if r["upstream_tls"] == true {
            let sni = lab_mtls::tls_sni(runs_of[sidecar], leg)
                .unwrap_or_else(|| panic!("mTLS leg {leg:?} of {rid} not in {sidecar}'s capture"));
            assert_eq!(sni, lab_mtls::REVIEWS_SNI, "{r}");
        } else {
            let on_wire = ids[sidecar].get(&leg).cloned().unwrap_or_default();
            assert!(
                on_wire.iter().any(|id| id == rid),
                "upstream leg {leg:?} of {rid} not in {sidecar}'s capture (saw {on_wire:?})"
            );
        }
        match r["listener"].as_str() {
            Some("virtualInbound") => {
                assert_eq!(
                    leg.0.ip().to_string(),
                    "127.0.0.6",
                    "inbound binds 127.0.0.6"
                );
                assert_eq!(r["cluster"], "inbound|9080||");
                if r["downstream_tls"] == true {
                    assert_eq!(
                        sidecar, rv2_name,
                        "only reviews-v2 is reached over mTLS: {r}"
                    );
                    assert_eq!(r["sni"], lab_mtls::REVIEWS_SNI, "{r}");
                }
            }
            Some("virtualOutbound") => {
                let cluster = r["cluster"].as_str().unwrap_or_default();
                if cluster == "outbound|9080||reviews.default.svc.cluster.local" {
                    assert!(reviews_eps.contains(&leg.1), "EDS endpoint {}", leg.1);
                    assert_eq!(r["server"].as_str(), Some(leg.1.to_string().as_str()));
                    // Auto-mTLS: the endpoint with a sidecar gets TLS, the other plaintext.
                    let v2 = leg.1.to_string() == "10.244.1.7:9080";
                    assert_eq!(r["upstream_tls"], v2, "{r}");
                } else {
                    assert!(
                        cluster == "PassthroughCluster"
                            || cluster == "outbound|9080||ratings.default.svc.cluster.local",
                        "{r}"
                    );
                }
                if leg.1.to_string() == "10.244.1.7:9080" {
                    to_v2 += 1;
                    let seen: Vec<&String> = ids[rv2_name.as_str()].values().flatten().collect();
                    assert!(
                        seen.iter().any(|id| *id == rid),
                        "{rid} not seen by reviews-v2"
                    );
                }
            }
            other => panic!("unknown listener {other:?}"),
        }
    }
    assert!(to_v2 > 0, "round robin sent nothing to reviews-v2");
    join_matches_the_kernel(&bundle, &truth);
}

/// A sidecar pod's REDIRECTs as its conntrack saw them, against its capture.
fn redirects_hold(name: &str, segs: &[Seg], pod_conns: &[Value]) {
    let outbound: Vec<&Value> = pod_conns
        .iter()
        .filter(|c| c["kind"] == "redirect-outbound")
        .collect();
    assert!(
        !outbound.is_empty(),
        "{name}: no REDIRECT to 15001 in the pod conntrack"
    );
    let inbound: Vec<&Value> = pod_conns
        .iter()
        .filter(|c| c["kind"] == "redirect-inbound")
        .collect();
    assert!(!inbound.is_empty(), "{name}: no REDIRECT to 15006");
    // Inbound REDIRECTs: the wire shows the original destination, the pod IP's port 9080.
    for c in inbound {
        let (src, dst) = (addr(&c["orig"]["src"]), addr(&c["orig"]["dst"]));
        assert_eq!(dst.port(), 9080, "{c}");
        assert_eq!(addr(&c["reply"]["src"]).port(), 15006, "{c}");
        assert!(
            segs.iter()
                .any(|s| s.syn && !s.ack && s.src == src && s.dst == dst),
            "{name}: no inbound SYN {src} -> {dst}"
        );
    }
    let sidecar_out: SocketAddr = "127.0.0.1:15001".parse().unwrap();
    for c in &outbound {
        let (app, orig) = (addr(&c["orig"]["src"]), addr(&c["orig"]["dst"]));
        assert_eq!(addr(&c["reply"]["src"]), sidecar_out);
        assert!(
            segs.iter()
                .any(|s| s.syn && !s.ack && s.src == app && s.dst == sidecar_out),
            "{name}: no SYN {app} -> 127.0.0.1:15001"
        );
        assert!(
            segs.iter()
                .any(|s| s.syn && s.ack && s.src == orig && s.dst == app),
            "{name}: no SYN-ACK from the original destination {orig} to {app}"
        );
    }
}

/// hopscope's join (`analyze BUNDLE --json`) against what the kernel and the sidecar did:
/// every NodePort / ClusterIP connection's endpoint and SNAT as conntrack recorded them, every
/// sidecar request's upstream as the sidecar logged it, and one journey per client request.
fn join_matches_the_kernel(bundle: &Path, truth: &Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["analyze", "--json"])
        .arg(bundle)
        .output()
        .expect("hopscope runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let hop = |v: &Value, kind: &str| -> Option<Value> {
        v["path"]["hops"]
            .as_array()?
            .iter()
            .find(|h| h["kind"] == kind)
            .cloned()
    };
    // kube-proxy: each conntrack connection to a service frontend, seen in the node capture.
    let mut checked = 0;
    let mut affinity = 0;
    for c in truth["connections"]["node/node-1"].as_array().unwrap() {
        if c["dnat"] != true {
            continue;
        }
        let (src, dst) = (
            c["orig"]["src"].as_str().unwrap(),
            c["orig"]["dst"].as_str().unwrap(),
        );
        let Some(conn) = lines.iter().find(|l| {
            l["kind"] == "connection"
                && l["point"] == "node node-1"
                && l["client"] == src
                && l["server"] == dst
        }) else {
            panic!("conntrack connection {src} → {dst} not in the node capture's legs");
        };
        assert_eq!(conn["leg"], "service", "{conn}");
        let h = hop(conn, "kube-service").expect("a kube-service hop");
        assert_eq!(h["to"], c["endpoint"], "endpoint of {src} → {dst}: {h}");
        assert_eq!(h["evidence"], "observed", "{h}");
        let snat = if c["snat"] == true {
            c["seen_by_endpoint_from"].clone()
        } else {
            Value::Null
        };
        assert_eq!(h["snat"], snat, "SNAT of {src} → {dst}: {h}");
        let sep = c["sep_chain"].as_str().unwrap();
        assert!(
            h["via"].as_array().unwrap().iter().any(|v| v == sep),
            "{sep} not among the chains passed: {h}"
        );
        // The kernel's affinity list holds this client: the hop says it is pinned.
        let src_ip = src.rsplit_once(':').unwrap().0;
        let pinned = truth["affinity"][sep]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["src"] == src_ip));
        if pinned {
            let note = h["note"].as_str().unwrap();
            assert!(note.contains(&format!("in the {sep} list")), "{h}");
            affinity += 1;
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} service connections checked");
    assert!(
        affinity >= 2,
        "only {affinity} affinity connections checked"
    );
    // The sidecars: each outbound request's upstream is the server the proxy logged, observed
    // when plaintext, by timing when it went over mTLS.
    let mut upstreams = 0;
    for r in truth["requests"].as_array().unwrap() {
        if r["listener"] != "virtualOutbound" {
            continue;
        }
        let client = r["downstream_remote"].as_str().unwrap();
        let path = r["path"].as_str().unwrap();
        let Some(ex) = lines.iter().find(|l| {
            l["kind"] == "exchange"
                && l["leg"] == "app→sidecar"
                && l["client"] == client
                && l["request"]["target"] == path
        }) else {
            panic!("request {path} from {client} not found as an app→sidecar exchange");
        };
        assert_eq!(ex["original_dst"], r["downstream_local"], "{ex}");
        let h = hop(ex, "envoy").expect("an envoy hop");
        if r["cluster"] == "PassthroughCluster" {
            assert!(
                h["via"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v == "cluster PassthroughCluster"),
                "{h}"
            );
        } else {
            assert_eq!(h["to"], r["server"], "upstream of {path}: {h}");
            let evidence = if r["upstream_tls"] == true {
                "timing"
            } else {
                "observed"
            };
            assert_eq!(h["evidence"], evidence, "{h}");
            let cl = format!("cluster {}", r["cluster"].as_str().unwrap());
            assert!(
                h["via"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v.as_str() == Some(cl.as_str())),
                "{h}"
            );
        }
        upstreams += 1;
    }
    assert!(upstreams >= 5, "only {upstreams} sidecar requests checked");
    // Observed vs configured: the reviews split counts exactly what the sidecar logged.
    let cluster = "outbound|9080||reviews.default.svc.cluster.local";
    let mut logged: BTreeMap<String, u64> = BTreeMap::new();
    for r in truth["requests"].as_array().unwrap() {
        if r["cluster"] == cluster {
            *logged
                .entry(r["server"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let decision = format!("envoy cluster {cluster}");
    let split = lines
        .iter()
        .find(|l| l["kind"] == "split" && l["decision"] == decision.as_str())
        .expect("a split line for the reviews cluster");
    for d in split["destinations"].as_array().unwrap() {
        let n = logged
            .get(d["addr"].as_str().unwrap())
            .copied()
            .unwrap_or(0);
        assert_eq!(d["observed"], n, "{split}");
        assert_eq!(d["configured"], 0.5, "{split}");
    }
    // Journeys: every request the client sent to the NodePort heads its own journey, and the
    // sidecar's legs of it are in that journey.
    let journeys: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "journey").collect();
    let client_requests = lines
        .iter()
        .filter(|l| {
            l["kind"] == "exchange"
                && l["leg"] == "service"
                && l["client"].as_str().unwrap().starts_with("192.168.50.20:")
                // 30081 is ratings (eTP=Local), which has no sidecar.
                && l["server"] == "192.168.50.10:30080"
        })
        .count();
    assert!(client_requests >= 8, "{client_requests} client requests");
    let with_sidecar = journeys
        .iter()
        .filter(|j| {
            let legs: Vec<&Value> = j["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| &m["leg"])
                .collect();
            legs.contains(&&Value::from("service")) && legs.contains(&&Value::from("sidecar→app"))
        })
        .count();
    assert_eq!(
        with_sidecar, client_requests,
        "each NodePort request stitched through its sidecar"
    );
    lab_mtls::stitched_over_mtls(truth, &lines);
}
