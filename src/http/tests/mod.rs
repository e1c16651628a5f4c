//! Exchange-level tests of [`super::HttpConn`] over hand-written byte streams.

#[cfg(test)]
mod bench;
mod edge;
mod http09;
mod skim;

use super::*;
use crate::model::{Dir, Exchange, HttpVersion, Timestamp};
use proptest::prelude::*;

/// One stream event; its timestamp is its position in the script.
#[derive(Clone, Debug)]
pub(super) enum Ev {
    C(Vec<u8>),
    S(Vec<u8>),
    Gap(Dir, u64),
    End(Dir),
}

pub(super) fn c(b: &[u8]) -> Ev {
    Ev::C(b.to_vec())
}
pub(super) fn s(b: &[u8]) -> Ev {
    Ev::S(b.to_vec())
}

pub(super) fn run_with(limits: HttpLimits, events: &[Ev]) -> (Vec<Exchange>, HttpSummary) {
    let mut h = HttpConn::new(7, limits);
    let mut out = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let ts = Timestamp(i as i64);
        match ev {
            Ev::C(b) => h.data(Dir::ToServer, ts, b, &mut out),
            Ev::S(b) => h.data(Dir::ToClient, ts, b, &mut out),
            Ev::Gap(d, n) => h.gap(*d, ts, *n, &mut out),
            Ev::End(d) => h.end(*d, ts, &mut out),
        }
    }
    let summary = h.finish(&mut out);
    for (i, ex) in out.iter().enumerate() {
        assert_eq!(ex.index as usize, i, "exchanges in index order");
        assert_eq!(ex.conn, 7);
    }
    assert_eq!(summary.exchanges as usize, out.len());
    (out, summary)
}

pub(super) fn run(events: &[Ev]) -> Vec<Exchange> {
    run_with(HttpLimits::default(), events).0
}

/// (method, target, status) of each exchange; "-" / 0 when a side is missing.
pub(super) fn shape(out: &[Exchange]) -> Vec<(String, String, u16)> {
    out.iter()
        .map(|e| {
            let (m, t) = e.request.as_ref().map_or(("-".into(), "-".into()), |q| {
                (q.method.to_string(), q.target.clone())
            });
            (m, t, e.response.as_ref().map_or(0, |r| r.status))
        })
        .collect()
}

pub(super) fn req(out: &Exchange) -> &crate::model::Request {
    out.request.as_ref().expect("request")
}
pub(super) fn resp(out: &Exchange) -> &crate::model::Response {
    out.response.as_ref().expect("response")
}

pub(super) const GET: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
pub(super) const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";

#[test]
fn simple_get() {
    let out = run(&[c(GET), s(OK)]);
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert!(e.notes.is_empty(), "{:?}", e.notes);
    assert!(!e.incomplete());
    let (q, r) = (req(e), resp(e));
    assert_eq!(
        (&*q.method, q.target.as_str(), q.msg.version),
        ("GET", "/index.html", HttpVersion::Http11)
    );
    assert_eq!(q.msg.header("host"), Some("example.com"));
    assert_eq!(
        (q.msg.head_len as usize, q.msg.first_byte, q.msg.complete),
        (GET.len(), Timestamp(0), Some(Timestamp(0)))
    );
    assert_eq!((r.status, &*r.reason, r.msg.body_len), (200, "OK", 5));
    assert_eq!(r.msg.body_preview, b"hello");
    assert_eq!(
        (r.msg.head_len as usize, r.msg.complete),
        (OK.len() - 5, Some(Timestamp(1)))
    );
    assert_eq!(e.latency(), Some(1));
}

#[test]
fn timing_across_calls() {
    let out = run(&[
        c(&GET[..10]),
        c(&GET[10..]),
        s(&OK[..20]),
        s(&OK[20..OK.len() - 2]),
        s(&OK[OK.len() - 2..]),
    ]);
    let (q, r) = (req(&out[0]), resp(&out[0]));
    assert_eq!(
        (q.msg.first_byte, q.msg.complete, q.msg.head_len as usize),
        (Timestamp(0), Some(Timestamp(1)), GET.len())
    );
    assert_eq!(
        (r.msg.first_byte, r.msg.complete),
        (Timestamp(2), Some(Timestamp(4)))
    );
}

#[test]
fn keep_alive_and_pipelining() {
    let two = [GET, b"POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"].concat();
    let out = run(&[
        c(GET),
        s(OK),
        c(&two),
        s(&[OK, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"].concat()),
    ]);
    assert_eq!(
        shape(&out),
        vec![
            ("GET".into(), "/index.html".into(), 200),
            ("GET".into(), "/index.html".into(), 200),
            ("POST".into(), "/p".into(), 201)
        ]
    );
    assert_eq!(req(&out[2]).msg.body_len, 3);
    assert!(out.iter().all(|e| !e.incomplete() && e.notes.is_empty()));
}

pub(super) const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n";

#[test]
fn chunked_with_extensions_and_trailers() {
    let out = run(&[c(GET), s(CHUNKED), c(GET), s(OK)]);
    assert_eq!(shape(&out).len(), 2);
    let r = resp(&out[0]);
    assert_eq!(
        (
            r.msg.body_len,
            r.msg.body_preview.as_slice(),
            r.msg.complete
        ),
        (9, &b"Wikipedia"[..], Some(Timestamp(1)))
    );
    assert!(!out[1].incomplete());
}

/// Any split of a valid stream into data calls yields the same exchanges (up to timing).
#[test]
fn chunked_every_split() {
    let client = [
        GET,
        b"PUT /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    ]
    .concat();
    let server = [CHUNKED, OK].concat();
    let whole = strip_time(run(&[Ev::C(client.clone()), Ev::S(server.clone())]));
    for cut in 0..=server.len() {
        let got = strip_time(run(&[
            Ev::C(client.clone()),
            s(&server[..cut]),
            s(&server[cut..]),
        ]));
        assert_eq!(got, whole, "server split at {cut}");
    }
    for cut in 0..=client.len() {
        let got = strip_time(run(&[
            c(&client[..cut]),
            c(&client[cut..]),
            Ev::S(server.clone()),
        ]));
        assert_eq!(got, whole, "client split at {cut}");
    }
}

fn strip_time(mut out: Vec<Exchange>) -> Vec<Exchange> {
    for e in &mut out {
        for m in e
            .request
            .iter_mut()
            .map(|q| &mut q.msg)
            .chain(e.response.iter_mut().map(|r| &mut r.msg))
        {
            m.first_byte = Timestamp(0);
            m.complete = m.complete.map(|_| Timestamp(0));
        }
    }
    out
}

proptest! {
    #[test]
    fn any_split_same_exchanges(cuts in proptest::collection::vec(0usize..400, 0..12)) {
        let client = [GET, b"POST /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", b"PUT /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"].concat();
        let server = [OK, CHUNKED, b"HTTP/1.1 204 No Content\r\n\r\n"].concat();
        let whole = strip_time(run(&[Ev::C(client.clone()), Ev::S(server.clone())]));
        let split = |data: &[u8], dir: Dir| {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            points.sort_unstable();
            let mut evs = Vec::new();
            let mut last = 0;
            for p in points.into_iter().chain([data.len()]) {
                let piece = data[last..p].to_vec();
                evs.push(if dir == Dir::ToServer { Ev::C(piece) } else { Ev::S(piece) });
                last = p;
            }
            evs
        };
        let mut evs = split(&client, Dir::ToServer);
        evs.extend(split(&server, Dir::ToClient));
        prop_assert_eq!(strip_time(run(&evs)), whole.clone());
        // Deferred fields split to the same exchanges.
        let deferred = HttpLimits { defer_fields: true, ..HttpLimits::default() };
        prop_assert_eq!(strip_time(run_with(deferred, &evs).0), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(events in proptest::collection::vec((0u8..6, proptest::collection::vec(any::<u8>(), 0..200)), 0..20), defer_fields in any::<bool>()) {
        let evs: Vec<Ev> = events.into_iter().map(|(k, b)| match k {
            0 | 1 => Ev::C([&b"GET / HTTP/1.1\r\n"[..], &b].concat()),
            2 | 3 => Ev::S([&b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"[..], &b].concat()),
            4 => Ev::Gap(if b.len() % 2 == 0 { Dir::ToServer } else { Dir::ToClient }, b.len() as u64),
            _ => Ev::C(b),
        }).collect();
        let (out, _) = run_with(HttpLimits { max_head: 256, preview: 16, max_pending: 4, resync_scan: 64, defer_fields }, &evs);
        for e in &out {
            for m in e.request.iter().map(|q| &q.msg).chain(e.response.iter().map(|r| &r.msg)) {
                prop_assert!(m.body_preview.len() <= 16);
                prop_assert!(m.gap_bytes <= m.body_len || m.body_len == 0 || m.complete.is_none());
            }
        }
    }

    #[test]
    fn body_len_accounting(len in 0usize..5000, gap_at in 0usize..5000, gap in 0usize..5000, split in 0usize..5000) {
        // A CL body with one gap fully inside: body_len = CL, gap_bytes = gap, sync kept.
        let gap_at = gap_at.min(len);
        let gap = gap.min(len - gap_at);
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
        let body = vec![b'x'; len];
        let before = &body[..gap_at];
        let after = &body[gap_at + gap..];
        let split = split.min(after.len());
        let out = run(&[c(GET), c(GET), s(&[head.as_bytes(), before].concat()), Ev::Gap(Dir::ToClient, gap as u64), s(&after[..split]), s(&after[split..]), s(OK)]);
        prop_assert_eq!(out.len(), 2);
        let r = resp(&out[0]);
        prop_assert_eq!((r.msg.body_len, r.msg.gap_bytes), (len as u64, gap as u64));
        prop_assert!(r.msg.complete.is_some());
        prop_assert_eq!(resp(&out[1]).msg.body_preview.as_slice(), b"hello");
    }
}
