//! The Istio Bookinfo sample as seen from inside the productpage pod: addresses, the
//! legs a page load crosses, and the bodies each service returns.
//!
//! Addresses and names follow istio/samples/bookinfo (productpage-v1 calls details:9080 and
//! reviews:9080; reviews v2/v3 call ratings) on a kind-like cluster (pod CIDR 10.244.0.0/16).
//! Interception follows Istio's iptables rules (tools/istio-iptables): inbound traffic to
//! :9080 is redirected to Envoy's 15006 and delivered to the app from 127.0.0.6; the app's
//! outbound connections are redirected to 127.0.0.1:15001. A `tcpdump -i any` in the pod
//! therefore sees, per page load: gateway -> pod:9080 (eth0), 127.0.0.6 -> pod:9080 (lo),
//! pod -> 127.0.0.1:15001 (lo, one per upstream call) and pod -> upstream-pod:9080 (eth0).
//! Bodies are generated once at start (deterministic from the seed) and then only sliced.

use crate::packet::Endpoint;
use crate::rng::Rng;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write as _;
use std::net::Ipv4Addr;

pub const APP_PORT: u16 = 9080;
pub const ENVOY_OUTBOUND_PORT: u16 = 15001;
pub const POD_IP: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 7);
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 5);
pub const DETAILS_IP: Ipv4Addr = Ipv4Addr::new(10, 244, 2, 11);
/// reviews-v1, -v2, -v3 pods.
pub const REVIEWS_IPS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 244, 2, 12),
    Ipv4Addr::new(10, 244, 3, 8),
    Ipv4Addr::new(10, 244, 3, 9),
];
/// Source Envoy uses for inbound connections to the app (Istio >= 1.10).
pub const INBOUND_PASSTHROUGH_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 6);
pub const LOOPBACK_IP: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Ethernet MSS on eth0 and the loopback MSS Linux advertises (65535 - 40).
pub const ETH_MSS: u16 = 1460;
pub const LO_MSS: u16 = 65_495;

const POD_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x07];
const CNI_GW_MAC: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01];
const LO_MAC: [u8; 6] = [0; 6];

pub const PRODUCTPAGE_SERVER: &str = "gunicorn";
pub const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
];
pub const GATEWAY_PEER_ID: &str = "router~10.244.0.5~istio-ingressgateway-7c8d6f5b9d-x2k4q.istio-system~istio-system.svc.cluster.local";
pub const SIDECAR_PEER_ID: &str =
    "sidecar~10.244.1.7~productpage-v1-675fc69cf-9xq2d.default~default.svc.cluster.local";

/// A TCP connection type seen in the pod, keyed for the keep-alive pools.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Leg {
    /// istio-ingressgateway -> pod:9080 on eth0.
    Ingress,
    /// Envoy inbound -> app: 127.0.0.6 -> pod:9080 on lo.
    InboundApp,
    /// App -> Envoy outbound listener (redirected): pod -> 127.0.0.1:15001 on lo.
    AppOutbound,
    /// Envoy -> details pod on eth0.
    Details,
    /// Envoy -> reviews-vN pod on eth0 (N = 1..3).
    Reviews(u8),
}

pub const LEGS: [Leg; 7] = [
    Leg::Ingress,
    Leg::InboundApp,
    Leg::AppOutbound,
    Leg::Details,
    Leg::Reviews(1),
    Leg::Reviews(2),
    Leg::Reviews(3),
];

impl Leg {
    pub fn index(self) -> usize {
        match self {
            Leg::Ingress => 0,
            Leg::InboundApp => 1,
            Leg::AppOutbound => 2,
            Leg::Details => 3,
            Leg::Reviews(v) => 3 + usize::from(v.clamp(1, 3)),
        }
    }

    /// (client, server, mss) with the client's ephemeral port.
    pub fn endpoints(self, port: u16) -> (Endpoint, Endpoint, u16) {
        let eth = |ip, port| Endpoint {
            mac: CNI_GW_MAC,
            ip,
            port,
        };
        let pod = |port| Endpoint {
            mac: POD_MAC,
            ip: POD_IP,
            port,
        };
        let lo = |ip, port| Endpoint {
            mac: LO_MAC,
            ip,
            port,
        };
        match self {
            Leg::Ingress => (eth(GATEWAY_IP, port), pod(APP_PORT), ETH_MSS),
            Leg::InboundApp => (
                lo(INBOUND_PASSTHROUGH_IP, port),
                lo(POD_IP, APP_PORT),
                LO_MSS,
            ),
            Leg::AppOutbound => (
                lo(POD_IP, port),
                lo(LOOPBACK_IP, ENVOY_OUTBOUND_PORT),
                LO_MSS,
            ),
            Leg::Details => (pod(port), eth(DETAILS_IP, APP_PORT), ETH_MSS),
            Leg::Reviews(v) => (
                pod(port),
                eth(REVIEWS_IPS[usize::from(v.clamp(1, 3) - 1)], APP_PORT),
                ETH_MSS,
            ),
        }
    }

    /// Requests per connection before the client closes it: python-requests without a
    /// session opens one per call; Envoy pools keep connections for many.
    pub fn budget(self, rng: &mut Rng) -> u32 {
        match self {
            Leg::AppOutbound => rng.range(1, 3) as u32,
            Leg::Ingress | Leg::InboundApp => rng.range(3, 40) as u32,
            Leg::Details | Leg::Reviews(_) => rng.range(5, 60) as u32,
        }
    }

    /// Round-trip time on this leg in microseconds.
    pub fn rtt(self, rng: &mut Rng) -> u64 {
        match self {
            Leg::InboundApp | Leg::AppOutbound => rng.range(20, 60),
            _ => rng.range(120, 400),
        }
    }

    /// Time between back-to-back segments of one write.
    pub fn segment_gap(self) -> u64 {
        match self {
            Leg::InboundApp | Leg::AppOutbound => 8,
            _ => 12,
        }
    }
}

/// A static asset the browser loads through the gateway.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub plain: Vec<u8>,
    pub gzip: Vec<u8>,
}

/// Every body the run uses, built once.
pub struct Bodies {
    /// productpage HTML for reviews v1, v2, v3, and "reviews unavailable".
    pub pages: [Vec<u8>; 4],
    pub details: Vec<u8>,
    pub reviews: [Vec<u8>; 3],
    pub assets: Vec<Asset>,
    pub not_found: Vec<u8>,
}

const WORDS: [&str; 24] = [
    "the",
    "comedy",
    "of",
    "errors",
    "william",
    "shakespeare",
    "play",
    "twins",
    "separated",
    "at",
    "birth",
    "ephesus",
    "syracuse",
    "mistaken",
    "identity",
    "farce",
    "merchant",
    "wife",
    "abbess",
    "duke",
    "chain",
    "gold",
    "courtesan",
    "reviewer",
];

fn prose(rng: &mut Rng, words: usize, out: &mut String) {
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.pick(&WORDS[..]));
    }
}

fn page(rng: &mut Rng, version: usize) -> Vec<u8> {
    let mut s = String::from("<!DOCTYPE html>\n<html>\n  <head>\n    <title>Simple Bookstore App</title>\n    <meta charset=\"utf-8\">\n    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n    <link rel=\"stylesheet\" href=\"static/bootstrap/css/bootstrap.min.css\">\n    <script src=\"static/jquery.min.js\"></script>\n    <script src=\"static/bootstrap/js/bootstrap.min.js\"></script>\n  </head>\n  <body>\n<nav class=\"navbar navbar-inverse navbar-static-top\">\n  <div class=\"container\"><a href=\"#\" class=\"navbar-brand\">BookInfo Sample</a>\n  <button type=\"button\" class=\"btn btn-default navbar-btn pull-right\" data-toggle=\"modal\" href=\"#login-modal\">Sign in</button></div>\n</nav>\n<div class=\"container-fluid\">\n  <div class=\"row\"><div class=\"col-md-12\"><h3 class=\"text-center text-primary\">The Comedy of Errors</h3>\n  <p>Summary: <p>");
    prose(rng, 160, &mut s);
    s.push_str("</p></div></div>\n  <div class=\"row\">\n    <div class=\"col-md-6\"><h4 class=\"text-center text-primary\">Book Details</h4>\n      <dl><dt>Type:</dt>paperback<dt>Pages:</dt>200<dt>Publisher:</dt>PublisherA<dt>Language:</dt>English<dt>ISBN-10:</dt>1234567890<dt>ISBN-13:</dt>123-1234567890</dl>\n    </div>\n    <div class=\"col-md-6\"><h4 class=\"text-center text-primary\">Book Reviews</h4>\n");
    if version == 3 {
        s.push_str("      <h4>Error fetching product reviews!</h4><p>Sorry, product reviews are currently unavailable for this book.</p>\n");
    } else {
        for reviewer in ["Reviewer1", "Reviewer2"] {
            s.push_str("      <blockquote><p>");
            prose(rng, 60, &mut s);
            s.push_str("</p><small>");
            s.push_str(reviewer);
            s.push_str("</small>");
            if version > 0 {
                let color = if version == 1 { "black" } else { "red" };
                for _ in 0..5 {
                    s.push_str("<font color=\"");
                    s.push_str(color);
                    s.push_str("\"><span class=\"glyphicon glyphicon-star\"></span></font>\n");
                }
            }
            s.push_str("</blockquote>\n");
        }
    }
    s.push_str("    </div>\n  </div>\n</div>\n</body>\n</html>\n");
    s.into_bytes()
}

fn reviews_json(rng: &mut Rng, version: usize) -> Vec<u8> {
    let mut s = String::from("{\"id\": \"0\",\"podname\": \"reviews-v");
    s.push_str(&(version + 1).to_string());
    s.push_str("-5b8c6d7f9-q8w2e\",\"clustername\": \"null\",\"reviews\": [");
    for (i, who) in ["Reviewer1", "Reviewer2"].iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{  \"reviewer\": \"");
        s.push_str(who);
        s.push_str("\",  \"text\": \"");
        prose(rng, 25, &mut s);
        s.push('"');
        if version > 0 {
            let color = if version == 1 { "black" } else { "red" };
            s.push_str(&format!(
                ", \"rating\": {{\"stars\": {}, \"color\": \"{color}\"}}",
                4 + i
            ));
        }
        s.push('}');
    }
    s.push_str("]}");
    s.into_bytes()
}

/// CSS/JS-like text of exactly `len` bytes (compresses about 5:1 like minified assets).
fn asset_text(rng: &mut Rng, len: usize, js: bool) -> Vec<u8> {
    let mut s = String::with_capacity(len + 128);
    let mut n = 0u64;
    while s.len() < len {
        n += 1;
        if js {
            s.push_str(&format!(
                "function f{n}(a,b){{return a.{}(b)+{}}};",
                rng.pick(&WORDS[..]),
                rng.range(0, 9999)
            ));
        } else {
            s.push_str(&format!(
                ".{}-{n}{{margin:{}px;padding:{}px}}",
                rng.pick(&WORDS[..]),
                rng.range(0, 40),
                rng.range(0, 40)
            ));
        }
    }
    s.truncate(len);
    s.into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::fast());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

impl Bodies {
    pub fn new(rng: &mut Rng) -> Bodies {
        let pages = [page(rng, 0), page(rng, 1), page(rng, 2), page(rng, 3)];
        let reviews = [
            reviews_json(rng, 0),
            reviews_json(rng, 1),
            reviews_json(rng, 2),
        ];
        let details = br#"{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}"#.to_vec();
        let mut assets = Vec::new();
        for (path, ct, len, js) in [
            (
                "/static/bootstrap/css/bootstrap.min.css",
                "text/css; charset=utf-8",
                121_200,
                false,
            ),
            (
                "/static/jquery.min.js",
                "application/javascript; charset=utf-8",
                86_927,
                true,
            ),
            (
                "/static/bootstrap/js/bootstrap.min.js",
                "application/javascript; charset=utf-8",
                37_045,
                true,
            ),
        ] {
            let plain = asset_text(rng, len, js);
            let gzip = gzip(&plain);
            assets.push(Asset {
                path,
                content_type: ct,
                plain,
                gzip,
            });
        }
        let not_found = b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n".to_vec();
        Bodies {
            pages,
            details,
            reviews,
            assets,
            not_found,
        }
    }
}
