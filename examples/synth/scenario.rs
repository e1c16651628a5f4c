//! Page loads: one browser request through the ingress gateway, the productpage app, and
//! its calls to details and reviews, each over pooled keep-alive connections.
//!
//! Header sets follow what Envoy adds (Envoy docs "HTTP header manipulation": x-request-id,
//! x-forwarded-proto, x-envoy-attempt-count, x-envoy-upstream-service-time, server:
//! envoy / istio-envoy; B3 propagation per openzipkin/b3-propagation) and what Bookinfo's
//! productpage forwards (its `getForwardHeaders`). The clock runs through the nesting, so
//! `x-envoy-upstream-service-time` is the real gap in the capture.

use crate::bookinfo::{self, Bodies, Leg, LEGS};
use crate::http::{self, Framing};
use crate::tcp::{Conn, Dir, Out};

/// Most idle connections a pool keeps per leg.
const MAX_POOL: u64 = 4;

/// Which body a response carries (an index, so bodies stay borrowed from `Bodies`).
#[derive(Clone, Copy)]
enum Body {
    Page(usize),
    Asset(usize, bool),
    NotFound,
    Redirect,
}

/// What the browser asks for.
enum Kind {
    ProductPage,
    Asset(usize),
    Favicon,
    Login,
}

/// Trace identity shared by every leg of one page load.
struct Ids {
    request_id: String,
    trace_id: String,
    user_agent: &'static str,
}

pub struct Sim {
    pub out: Out,
    bodies: Bodies,
    pools: Vec<Vec<Conn>>,
    next_port: Vec<u16>,
    msg: Vec<u8>,
}

impl Sim {
    pub fn new(mut out: Out) -> Sim {
        let bodies = Bodies::new(&mut out.rng);
        let next_port = LEGS
            .iter()
            .map(|_| out.rng.range(32_768, 50_000) as u16)
            .collect();
        Sim {
            out,
            bodies,
            pools: LEGS.iter().map(|_| Vec::new()).collect(),
            next_port,
            msg: Vec::with_capacity(1 << 18),
        }
    }

    fn span(&mut self) -> String {
        let mut s = String::with_capacity(16);
        self.out.rng.hex(16, &mut s);
        s
    }

    /// An idle pooled connection, or a new one (handshake written now).
    fn take(&mut self, leg: Leg) -> Conn {
        let want = self.out.rng.range(1, MAX_POOL) as usize;
        let pool = &mut self.pools[leg.index()];
        if !pool.is_empty() && pool.len() >= want {
            let i = self.out.rng.range(0, pool.len() as u64 - 1) as usize;
            return pool.swap_remove(i);
        }
        let port = &mut self.next_port[leg.index()];
        *port = port.wrapping_add(self.out.rng.range(1, 7) as u16);
        if *port < 32_768 || *port > 60_999 {
            *port = 32_768;
        }
        let (client, server, mss) = leg.endpoints(*port);
        let budget = leg.budget(&mut self.out.rng);
        let rtt = leg.rtt(&mut self.out.rng);
        let conn = Conn::open(&mut self.out, client, server, mss, budget, rtt);
        self.out.wait(5, 40);
        conn
    }

    /// Returns a connection after one exchange; closes it when its budget is spent.
    fn put(&mut self, leg: Leg, mut conn: Conn) {
        conn.served += 1;
        if conn.served < conn.budget {
            self.pools[leg.index()].push(conn);
            return;
        }
        self.out.wait(100, 5_000);
        let roll = self.out.rng.range(0, 99);
        let rtt = leg.rtt(&mut self.out.rng);
        match roll {
            0..=7 => conn.close_rst(&mut self.out, Dir::ToServer),
            8..=14 => conn.close_fin(&mut self.out, Dir::ToClient, rtt),
            _ => conn.close_fin(&mut self.out, Dir::ToServer, rtt),
        }
    }

    /// Closes every pooled connection (end of capture) with FIN from the client.
    pub fn drain(&mut self) {
        for leg in LEGS {
            let conns = std::mem::take(&mut self.pools[leg.index()]);
            for mut c in conns {
                let rtt = leg.rtt(&mut self.out.rng);
                c.close_fin(&mut self.out, Dir::ToServer, rtt);
                self.out.wait(10, 200);
            }
        }
    }

    fn body(&self, b: Body) -> &[u8] {
        match b {
            Body::Page(i) => &self.bodies.pages[i],
            Body::Asset(i, false) => &self.bodies.assets[i].plain,
            Body::Asset(i, true) => &self.bodies.assets[i].gzip,
            Body::NotFound => &self.bodies.not_found,
            Body::Redirect => b"<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"/productpage\">/productpage</a>. If not, click the link.\n",
        }
    }

    /// Sends the message in `self.msg` and lets the receiver ACK it (quick ACK or not).
    fn deliver(&mut self, leg: Leg, conn: &mut Conn, dir: Dir) {
        conn.send(&mut self.out, dir, &self.msg, leg.segment_gap());
        let rev = if dir == Dir::ToServer {
            Dir::ToClient
        } else {
            Dir::ToServer
        };
        if dir == Dir::ToClient || self.out.rng.chance(500) {
            self.out.wait(5, 60);
            conn.ack(&mut self.out, rev);
        }
        match dir {
            Dir::ToServer => self.out.stats.requests += 1,
            Dir::ToClient => self.out.stats.responses += 1,
        }
    }

    fn count(&mut self, status: u16) {
        *self.out.stats.status.entry(status).or_insert(0) += 1;
    }

    /// One browser request: gateway -> pod:9080, Envoy -> app, the app's work, and back.
    pub fn page_load(&mut self) {
        let rng = &mut self.out.rng;
        let ids = Ids {
            request_id: rng.uuid(),
            trace_id: {
                let mut t = String::new();
                rng.hex(32, &mut t);
                t
            },
            user_agent: rng.pick(&bookinfo::USER_AGENTS),
        };
        let kind = match rng.range(0, 99) {
            0..=79 => Kind::ProductPage,
            80..=91 => Kind::Asset(rng.range(0, 2) as usize),
            92..=96 => Kind::Favicon,
            _ => Kind::Login,
        };
        let (method, path, req_body): (&str, &str, &[u8]) = match kind {
            Kind::ProductPage => ("GET", "/productpage", b""),
            Kind::Asset(i) => ("GET", self.bodies.assets[i].path, b""),
            Kind::Favicon => ("GET", "/favicon.ico", b""),
            Kind::Login => ("POST", "/login", b"username=jason&passwd=jason"),
        };
        let path = path.to_string();
        let mut ing = self.take(Leg::Ingress);
        let mut app = self.take(Leg::InboundApp);
        let (gw_span, app_span) = (self.span(), self.span());
        let len = req_body.len().to_string();
        let operation = format!("productpage.default.svc.cluster.local:9080{path}");
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", "bookinfo.example.com"),
            ("user-agent", ids.user_agent),
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
            ("accept-encoding", "gzip, deflate"),
            ("x-forwarded-for", "10.244.0.1"),
            ("x-forwarded-proto", "http"),
            ("x-envoy-external-address", "10.244.0.1"),
            ("x-request-id", &ids.request_id),
            ("x-envoy-decorator-operation", &operation),
            ("x-envoy-peer-metadata-id", bookinfo::GATEWAY_PEER_ID),
            ("x-envoy-attempt-count", "1"),
            ("x-b3-traceid", &ids.trace_id),
            ("x-b3-spanid", &gw_span),
            ("x-b3-sampled", "1"),
        ];
        if !req_body.is_empty() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
            headers.push(("content-length", &len));
        }
        self.msg.clear();
        http::request_head(&mut self.msg, method, &path, &headers);
        self.msg.extend_from_slice(req_body);
        self.deliver(Leg::Ingress, &mut ing, Dir::ToServer);
        self.out.wait(30, 120);
        let forwarded = self.out.clock_us;
        headers[10] = ("x-envoy-attempt-count", "1");
        headers[12] = ("x-b3-spanid", &app_span);
        headers.push(("x-b3-parentspanid", &gw_span));
        self.msg.clear();
        http::request_head(&mut self.msg, method, &path, &headers);
        self.msg.extend_from_slice(req_body);
        self.deliver(Leg::InboundApp, &mut app, Dir::ToServer);
        self.out.wait(300, 2_000);

        let (status, ctype, body, framing) = match kind {
            Kind::ProductPage => {
                self.upstream(Leg::Details, "/details/0", &ids, &app_span);
                let version = self.out.rng.range(1, 3) as u8;
                let ok = self.upstream(Leg::Reviews(version), "/reviews/0", &ids, &app_span);
                self.out.wait(2_000, 8_000);
                let page = if ok { usize::from(version) - 1 } else { 3 };
                (
                    200,
                    "text/html; charset=utf-8",
                    Body::Page(page),
                    Framing::Length,
                )
            }
            Kind::Asset(i) => {
                let gz = self.out.rng.chance(400);
                let framing = if gz {
                    Framing::Chunked(16_384)
                } else {
                    Framing::Length
                };
                (
                    200,
                    self.bodies.assets[i].content_type,
                    Body::Asset(i, gz),
                    framing,
                )
            }
            Kind::Favicon => (
                404,
                "text/html; charset=utf-8",
                Body::NotFound,
                Framing::Length,
            ),
            Kind::Login => (
                302,
                "text/html; charset=utf-8",
                Body::Redirect,
                Framing::Length,
            ),
        };
        let date = http::imf_date(self.out.clock_us / 1_000_000);
        let gz = matches!(body, Body::Asset(_, true));
        let mut rh: Vec<(&str, &str)> = vec![
            ("server", bookinfo::PRODUCTPAGE_SERVER),
            ("date", &date),
            ("content-type", ctype),
        ];
        if gz {
            rh.push(("content-encoding", "gzip"));
            rh.push(("vary", "Accept-Encoding"));
        }
        if status == 302 {
            rh.push(("location", "/productpage"));
            rh.push((
                "set-cookie",
                "session=eyJ1c2VyIjoiamFzb24ifQ.ZkMpYA.x1; HttpOnly; Path=/",
            ));
        }
        let mut msg = std::mem::take(&mut self.msg);
        msg.clear();
        http::response(&mut msg, status, &rh, self.body(body), framing);
        self.msg = msg;
        self.deliver(Leg::InboundApp, &mut app, Dir::ToClient);
        self.count(status);
        self.out.wait(20, 80);
        let upstream_ms = ((self.out.clock_us - forwarded) / 1000).to_string();
        rh[0] = ("server", "istio-envoy");
        rh.push(("x-envoy-upstream-service-time", &upstream_ms));
        let mut msg = std::mem::take(&mut self.msg);
        msg.clear();
        http::response(&mut msg, status, &rh, self.body(body), framing);
        self.msg = msg;
        self.deliver(Leg::Ingress, &mut ing, Dir::ToClient);
        self.count(status);
        self.put(Leg::InboundApp, app);
        self.put(Leg::Ingress, ing);
    }

    /// The app calls details or reviews: app -> 127.0.0.1:15001, Envoy -> upstream pod.
    /// Returns false when Envoy answered 503 itself (no healthy upstream).
    fn upstream(&mut self, target: Leg, path: &str, ids: &Ids, parent: &str) -> bool {
        let (host, service) = match target {
            Leg::Details => ("details:9080", "details"),
            _ => ("reviews:9080", "reviews"),
        };
        let mut local = self.take(Leg::AppOutbound);
        let app_span = self.span();
        let mut headers: Vec<(&str, &str)> = vec![
            ("Host", host),
            ("user-agent", ids.user_agent),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept", "*/*"),
            ("Connection", "keep-alive"),
            ("x-request-id", &ids.request_id),
            ("x-b3-traceid", &ids.trace_id),
            ("x-b3-spanid", &app_span),
            ("x-b3-parentspanid", parent),
            ("x-b3-sampled", "1"),
        ];
        self.msg.clear();
        http::request_head(&mut self.msg, "GET", path, &headers);
        self.deliver(Leg::AppOutbound, &mut local, Dir::ToServer);
        let sent = self.out.clock_us;
        let unavailable = service == "reviews" && self.out.rng.chance(15);
        let (status, body, framing, ctype) = if unavailable {
            self.out.wait(80, 400);
            (
                503,
                b"no healthy upstream".to_vec(),
                Framing::Length,
                "text/plain",
            )
        } else {
            self.out.wait(40, 150);
            let mut up = self.take(target);
            let envoy_span = self.span();
            let operation = format!("{service}.default.svc.cluster.local:9080/*");
            headers[7] = ("x-b3-spanid", &envoy_span);
            headers[8] = ("x-b3-parentspanid", &app_span);
            headers.push(("x-forwarded-proto", "http"));
            headers.push(("x-envoy-attempt-count", "1"));
            headers.push(("x-envoy-decorator-operation", &operation));
            headers.push(("x-envoy-peer-metadata-id", bookinfo::SIDECAR_PEER_ID));
            self.msg.clear();
            http::request_head(&mut self.msg, "GET", path, &headers);
            self.deliver(target, &mut up, Dir::ToServer);
            let t0 = self.out.clock_us;
            let (body, framing) = match target {
                Leg::Details => {
                    self.out.wait(1_000, 4_000);
                    (self.bodies.details.clone(), Framing::Length)
                }
                Leg::Reviews(v) => {
                    self.out.wait(5_000, 30_000);
                    let i = usize::from(v.clamp(1, 3) - 1);
                    let framing = if v == 3 {
                        Framing::Chunked(256)
                    } else {
                        Framing::Length
                    };
                    (self.bodies.reviews[i].clone(), framing)
                }
                _ => (Vec::new(), Framing::Length),
            };
            let date = http::imf_date(self.out.clock_us / 1_000_000);
            let took = ((self.out.clock_us - t0) / 1000).to_string();
            let rh = [
                ("content-type", "application/json"),
                ("server", "istio-envoy"),
                ("date", &date),
                ("x-envoy-upstream-service-time", &took),
            ];
            self.msg.clear();
            http::response(&mut self.msg, 200, &rh, &body, framing);
            self.deliver(target, &mut up, Dir::ToClient);
            self.count(200);
            self.put(target, up);
            self.out.wait(30, 80);
            (200, body, framing, "application/json")
        };
        let date = http::imf_date(self.out.clock_us / 1_000_000);
        let took = ((self.out.clock_us - sent) / 1000).to_string();
        let rh = [
            ("content-type", ctype),
            ("server", "envoy"),
            ("date", &date),
            ("x-envoy-upstream-service-time", &took),
        ];
        self.msg.clear();
        http::response(&mut self.msg, status, &rh, &body, framing);
        self.deliver(Leg::AppOutbound, &mut local, Dir::ToClient);
        self.count(status);
        self.put(Leg::AppOutbound, local);
        status == 200
    }
}
