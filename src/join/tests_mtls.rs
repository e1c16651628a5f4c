//! The mTLS linker (`mtls.rs`) on hand-built legs: a productpage pod (point 0) sending two
//! requests for reviews over one pooled TLS connection to reviews-v2 (point 1), whose sidecar
//! forwards them to the app. No request ids anywhere: only SNI, timing and stream offsets can
//! join the legs. Times are microseconds.

use super::classify::LegClass;
use super::journey::{journeys_with, Journey, LegView, Link};
use super::mtls::{twin_bursts, Ambiguity, MtlsFacts, Routed};
use crate::model::{
    AppInfo, Burst, Bursts, ConnStats, Connection, Dir, EndReason, Exchange, Message, Request,
    Response, RoleSource, Timestamp,
};

const REVIEWS: &str = "outbound|9080||reviews.default.svc.cluster.local";
const SNI: &str = "outbound_.9080_._.reviews.default.svc.cluster.local";

fn t(us: i64) -> Timestamp {
    Timestamp::from_nanos(us * 1000)
}

fn conn(client: &str, server: &str, app: AppInfo) -> Connection {
    Connection {
        id: 1,
        client: client.parse().unwrap(),
        server: server.parse().unwrap(),
        roles: RoleSource::Handshake,
        stats: ConnStats {
            first: t(0),
            last: t(100_000),
            syn: Some(t(0)),
            ..ConnStats::default()
        },
        end: EndReason::Fin,
        app,
        interface: None,
        original_dst: None,
    }
}

/// `(dir, at, offset)`: client bursts of 300 bytes, server bursts of 500.
fn tls(bursts: &[(Dir, i64, u64)], dropped: u64) -> AppInfo {
    AppInfo::Tls {
        sni: Some(SNI.into()),
        alpn: vec!["istio-peer-exchange".into(), "istio".into()],
        bursts: Bursts {
            list: bursts
                .iter()
                .map(|&(dir, at, offset)| Burst {
                    dir,
                    first: t(at),
                    last: t(at + 20),
                    offset,
                    bytes: if dir == Dir::ToServer { 300 } else { 500 },
                })
                .collect(),
            dropped,
        },
    }
}

/// `(target, request at, response at)`.
fn exchanges(list: &[(&str, i64, i64)]) -> Vec<Exchange> {
    list.iter()
        .enumerate()
        .map(|(i, &(target, q, r))| Exchange {
            conn: 1,
            index: i as u32,
            request: Some(Request {
                method: "GET".into(),
                target: target.into(),
                msg: Message {
                    first_byte: t(q),
                    ..Message::default()
                },
            }),
            response: Some(Response {
                status: 200,
                msg: Message {
                    first_byte: t(r),
                    ..Message::default()
                },
                ..Response::default()
            }),
            notes: Vec::new(),
        })
        .collect()
}

struct Lab {
    legs: Vec<(usize, LegClass, Connection, Vec<Exchange>)>,
    twins: Vec<Vec<usize>>,
}

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
const D: usize = 3;

use Dir::{ToClient as S, ToServer as Cl};

/// A → B (TLS, pooled, two requests) ≡ C (the same connection at reviews-v2) → D. B's first
/// client burst is the Finished + request 1, the server's session tickets cross it; at C the
/// tickets come before the request is forwarded (TLS 1.3).
fn lab() -> Lab {
    let mut a = conn("10.244.1.5:40000", "127.0.0.1:15001", AppInfo::Unknown);
    a.original_dst = Some("10.96.100.10:9080".parse().unwrap());
    let b_bursts = [
        (S, 900, 133),
        (Cl, 1200, 397),
        (S, 1300, 1411),
        (S, 4800, 1911),
        (Cl, 10_200, 697),
        (S, 13_800, 2411),
    ];
    let c_bursts: Vec<(Dir, i64, u64)> =
        b_bursts.iter().map(|&(d, at, o)| (d, at + 50, o)).collect();
    let legs = vec![
        (
            0,
            LegClass::AppToSidecar,
            a,
            exchanges(&[("/reviews/1", 1000, 5000), ("/reviews/2", 10_000, 14_000)]),
        ),
        (
            0,
            LegClass::SidecarToUpstream,
            conn("10.244.1.5:50000", "10.244.1.7:9080", tls(&b_bursts, 0)),
            Vec::new(),
        ),
        (
            1,
            LegClass::DownstreamToSidecar,
            conn("10.244.1.5:50000", "10.244.1.7:9080", tls(&c_bursts, 0)),
            Vec::new(),
        ),
        (
            1,
            LegClass::SidecarToApp,
            conn("127.0.0.6:33000", "10.244.1.7:9080", AppInfo::Unknown),
            exchanges(&[("/reviews/1", 1500, 4000), ("/reviews/2", 10_500, 13_000)]),
        ),
    ];
    Lab {
        twins: vec![vec![], vec![C], vec![B], vec![]],
        legs,
    }
}

impl Lab {
    fn add(&mut self, point: usize, class: LegClass, c: Connection, ex: Vec<Exchange>) -> usize {
        self.legs.push((point, class, c, ex));
        self.twins.push(Vec::new());
        self.legs.len() - 1
    }

    fn run(&self, sni_cluster: &str) -> Vec<Journey> {
        let views: Vec<LegView<'_>> = self
            .legs
            .iter()
            .map(|(point, class, conn, ex)| LegView {
                point: *point,
                class: *class,
                conn,
                exchanges: ex,
            })
            .collect();
        let routed = Routed {
            clusters: vec![REVIEWS.into()],
            endpoints: vec![
                "10.244.1.6:9080".parse().unwrap(),
                "10.244.1.7:9080".parse().unwrap(),
            ],
        };
        let facts = MtlsFacts {
            routes: self
                .legs
                .iter()
                .map(|(_, class, _, ex)| {
                    let r = (*class == LegClass::AppToSidecar).then(|| routed.clone());
                    vec![r; ex.len()]
                })
                .collect(),
            sni_clusters: self
                .legs
                .iter()
                .map(|(_, _, c, _)| {
                    matches!(c.app, AppInfo::Tls { .. }).then(|| sni_cluster.to_string())
                })
                .collect(),
        };
        journeys_with(&views, &self.twins, &facts)
    }
}

fn journey_of(js: &[Journey], ex: (usize, usize)) -> &Journey {
    js.iter()
        .find(|j| j.members.contains(&ex))
        .expect("every exchange is in a journey")
}

#[test]
fn one_tls_leg_in_the_window_stitches_each_request_end_to_end() {
    let js = lab().run(REVIEWS);
    assert_eq!(js.len(), 2, "{js:#?}");
    for (e, b_burst) in [(0, 1), (1, 4)] {
        let j = journey_of(&js, (A, e));
        assert_eq!(j.members, vec![(A, e), (D, e)]);
        let tls: Vec<(usize, usize, Link)> =
            j.tls.iter().map(|m| (m.leg, m.burst, m.link)).collect();
        assert_eq!(
            tls,
            vec![(B, b_burst, Link::SniTiming), (C, b_burst, Link::Timing)]
        );
        assert_eq!(j.tls[0].with, Some((A, e)));
        assert_eq!(j.tls[0].delay_ns, 200_000);
        assert_eq!(j.tls[1].with, Some((D, e)));
        assert_eq!(j.tls[1].delay_ns, 250_000);
        assert_eq!(
            j.links,
            vec![Link::SameConnection, Link::SniTiming, Link::Timing]
        );
        assert!(j.unlinked.is_empty());
    }
}

#[test]
fn two_tls_legs_in_the_window_are_not_presented_as_fact() {
    let mut lab = lab();
    // A second TLS connection to the same cluster, busy during request 1 only.
    let other = conn(
        "10.244.1.5:50002",
        "10.244.1.7:9080",
        tls(&[(Cl, 1250, 397), (S, 4700, 1411)], 0),
    );
    let b2 = lab.add(0, LegClass::SidecarToUpstream, other, Vec::new());
    let js = lab.run(REVIEWS);
    let j1 = journey_of(&js, (A, 0));
    assert!(j1.tls.iter().all(|m| m.link != Link::SniTiming), "{j1:#?}");
    assert_eq!(j1.unlinked.len(), 1);
    let u = &j1.unlinked[0];
    assert_eq!(
        (u.exchange, u.link, u.why),
        ((A, 0), Link::SniTiming, Ambiguity::SeveralLegs)
    );
    assert_eq!(u.candidates, vec![(B, Some(1)), (b2, Some(0))]);
    // Request 1 reached the app: that side still links, but not to request 1's leg A.
    let d1 = journey_of(&js, (D, 0));
    assert!(!d1.members.contains(&(A, 0)));
    assert!(d1
        .tls
        .iter()
        .any(|m| m.link == Link::Timing && m.with == Some((D, 0))));
    // Request 2 had one candidate.
    let j2 = journey_of(&js, (A, 1));
    assert!(j2
        .tls
        .iter()
        .any(|m| m.leg == B && m.link == Link::SniTiming));
    assert!(j2.members.contains(&(D, 1)));
}

#[test]
fn a_request_forwarded_in_plaintext_is_not_offered_to_tls_legs() {
    let mut lab = lab();
    // reviews-v1 (no sidecar) got request 1 in plaintext, while B carried bytes anyway.
    let plain = conn("10.244.1.5:50004", "10.244.1.6:9080", AppInfo::Unknown);
    let p = lab.add(
        0,
        LegClass::SidecarToUpstream,
        plain,
        exchanges(&[("/reviews/1", 1100, 4900)]),
    );
    let js = lab.run(REVIEWS);
    let j1 = journey_of(&js, (A, 0));
    assert!(j1.members.contains(&(p, 0)));
    assert!(j1.links.contains(&Link::RequestLineTiming));
    assert!(j1.tls.iter().all(|m| m.with != Some((A, 0))), "{j1:#?}");
    assert!(j1.unlinked.is_empty());
}

#[test]
fn a_tls_leg_to_another_cluster_does_not_fit() {
    let js = lab().run("outbound|9080||ratings.default.svc.cluster.local");
    let j1 = journey_of(&js, (A, 0));
    assert_eq!(j1.members, vec![(A, 0)]);
    assert!(j1.tls.is_empty() && j1.unlinked.is_empty());
    // The receiving side links by timing alone, so its journey stands apart.
    assert!(journey_of(&js, (D, 0))
        .tls
        .iter()
        .any(|m| m.link == Link::Timing));
}

#[test]
fn one_burst_two_requests_claim_links_neither() {
    let mut lab = lab();
    let mut a2 = conn("10.244.1.5:40002", "127.0.0.1:15001", AppInfo::Unknown);
    a2.original_dst = Some("10.96.100.10:9080".parse().unwrap());
    let a2 = lab.add(
        0,
        LegClass::AppToSidecar,
        a2,
        exchanges(&[("/reviews/7", 1050, 5100)]),
    );
    let js = lab.run(REVIEWS);
    for ex in [(A, 0), (a2, 0)] {
        let j = journey_of(&js, ex);
        assert!(j.tls.iter().all(|m| m.link != Link::SniTiming), "{j:#?}");
        assert_eq!(j.unlinked.len(), 1);
        assert_eq!(j.unlinked[0].why, Ambiguity::SharedBurst);
        assert_eq!(j.unlinked[0].candidates, vec![(B, Some(1))]);
    }
}

#[test]
fn a_leg_whose_bursts_were_not_kept_is_a_candidate_not_a_fact() {
    let mut lab = lab();
    // B's kept bursts end before request 2, more were dropped: request 2 may have ridden it.
    if let AppInfo::Tls { bursts, .. } = &mut lab.legs[B].2.app {
        bursts.list.truncate(4);
        bursts.dropped = 2;
    }
    let js = lab.run(REVIEWS);
    let j2 = journey_of(&js, (A, 1));
    assert_eq!(j2.unlinked.len(), 1);
    assert_eq!(j2.unlinked[0].why, Ambiguity::BurstsNotKept);
    assert_eq!(j2.unlinked[0].candidates, vec![(B, None)]);
    // Request 1 is inside the kept bursts.
    assert!(journey_of(&js, (A, 0))
        .tls
        .iter()
        .any(|m| m.leg == B && m.link == Link::SniTiming));
}

#[test]
fn twin_bursts_match_by_stream_offset_whatever_the_clocks() {
    let lab = lab();
    // C's clock 5 s ahead, and its first request seen in two pieces around a server record.
    let skewed = [
        (S, 5_000_900, 133),
        (Cl, 5_001_250, 397),
        (S, 5_001_300, 1411),
        (Cl, 5_001_320, 550),
        (S, 5_004_800, 1911),
        (Cl, 5_010_250, 697),
    ];
    let c = conn("10.244.1.5:50000", "10.244.1.7:9080", tls(&skewed, 0));
    let views: Vec<LegView<'_>> = [
        (0, LegClass::SidecarToUpstream, &lab.legs[B].2),
        (1, LegClass::DownstreamToSidecar, &c),
    ]
    .into_iter()
    .map(|(point, class, conn)| LegView {
        point,
        class,
        conn,
        exchanges: &[],
    })
    .collect();
    let pairs = twin_bursts(&views, &[vec![1], vec![0]]);
    assert_eq!(
        pairs,
        vec![((0, 1), (1, 1)), ((0, 1), (1, 3)), ((0, 4), (1, 5))]
    );
}

#[test]
fn two_tls_legs_into_the_port_leave_the_forwarded_request_unlinked() {
    let mut lab = lab();
    // Another sidecar's TLS connection into reviews-v2:9080, with a request in flight too.
    let other = conn(
        "10.244.1.9:41000",
        "10.244.1.7:9080",
        tls(&[(Cl, 1400, 397), (S, 4500, 1411)], 0),
    );
    let c2 = lab.add(1, LegClass::DownstreamToSidecar, other, Vec::new());
    let js = lab.run(REVIEWS);
    let d1 = journey_of(&js, (D, 0));
    assert!(d1.tls.iter().all(|m| m.link != Link::Timing), "{d1:#?}");
    let u = &d1.unlinked[0];
    assert_eq!(
        (u.link, u.why, u.candidates.clone()),
        (
            Link::Timing,
            Ambiguity::SeveralLegs,
            vec![(C, Some(1)), (c2, Some(0))]
        )
    );
    // The outbound side still links request 1 to B, whose twin C carries it to reviews-v2:
    // the journey reaches C, not the app leg it could not prove.
    let j1 = journey_of(&js, (A, 0));
    assert!(!j1.members.contains(&(D, 0)));
    assert!(j1
        .tls
        .iter()
        .any(|m| m.leg == C && m.link == Link::SameConnection));
}
