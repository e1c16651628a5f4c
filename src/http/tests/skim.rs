//! Deferring a head's fields (the skim, `super::super::skim`) never changes what is parsed:
//! the same start line, length, framing and, once split, the same fields as the full parse,
//! on generated and mutated heads; and the skim does take the plain heads of real clients
//! and servers.

use crate::http::head::{self, Parsed};
use crate::model::Dir;
use proptest::prelude::*;

/// Both parses of `buf`, as comparable text (`Head` holds no raw pointers; its `Debug` shows
/// every part, and fields are compared through their iterator, which splits a deferred head).
fn both(buf: &[u8], dir: Dir) -> (String, String) {
    let show = |p: Parsed| match p {
        Parsed::Complete(h) => format!(
            "complete {:?} {:?} len={} {:?} {:?} upgrade={} fields={:?}",
            h.start,
            h.version,
            h.len,
            h.length,
            h.coding,
            h.upgrade,
            h.headers.iter().collect::<Vec<_>>()
        ),
        other => format!("{other:?}"),
    };
    (
        show(head::parse(buf, dir, false)),
        show(head::parse(buf, dir, true)),
    )
}

/// Whether the skim (not the full parser) took `buf`.
fn skimmed(buf: &[u8], dir: Dir) -> bool {
    match head::parse(buf, dir, true) {
        Parsed::Complete(h) => h.headers.is_deferred(),
        _ => false,
    }
}

#[test]
fn real_heads_are_skimmed() {
    // The first request and response heads of tests/data/nginx-gzip-chunked.pcap (curl 7.88
    // and nginx 1.22 on this machine), byte for byte.
    let req = b"GET /big.txt HTTP/1.1\r\nHost: 127.0.0.1:18081\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nAccept-Encoding: deflate, gzip, br, zstd\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 18:17:09 GMT\r\nContent-Type: text/plain\r\nLast-Modified: Tue, 14 May 2024 09:00:00 GMT\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nETag: W/\"66432810-5e244\"\r\nContent-Encoding: gzip\r\n\r\n3e8\r\n";
    assert!(skimmed(req, Dir::ToServer));
    assert!(skimmed(resp, Dir::ToClient));
    for (buf, dir) in [(&req[..], Dir::ToServer), (&resp[..], Dir::ToClient)] {
        let (full, fast) = both(buf, dir);
        assert_eq!(full, fast);
    }
    // Not plain: left to httparse, with the same answers.
    for (buf, dir) in [
        (&b"GET / HTTP/1.1\nHost: a\n\n"[..], Dir::ToServer),
        (b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", Dir::ToClient),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n",
            Dir::ToClient,
        ),
        (b"GET / HTTP/1.1\r\nX:\ta\r\n\r\n", Dir::ToServer),
        (b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", Dir::ToServer),
    ] {
        assert!(!skimmed(buf, dir), "{:?}", String::from_utf8_lossy(buf));
        let (full, fast) = both(buf, dir);
        assert_eq!(full, fast);
    }
}

/// Pieces heads are made of: mostly plain ones (so many heads are skimmed), and the cases
/// the skim must leave alone or get right.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![16 => plain(), 1 => odd()]
}

fn plain() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"Host: example.com\r\n".to_vec()),
        Just(b"host:  spaced  value  \r\n".to_vec()),
        Just(b"Host : before-colon\r\n".to_vec()),
        Just(b"HOST:\r\n".to_vec()),
        Just(b"content-length: 12\r\n".to_vec()),
        Just(b"Content-Length:7 \r\n".to_vec()),
        Just(b"Content-Length: 1, 1\r\n".to_vec()),
        Just(b"Content-Length: 1, 2\r\n".to_vec()),
        Just(b"Content-Length: x\r\n".to_vec()),
        Just(b"Content-Length-X: 5\r\n".to_vec()),
        Just(b"Content-Length\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"TRANSFER-ENCODING: gzip\r\n".to_vec()),
        Just(b"Content-Encoding: gzip\r\n".to_vec()),
        Just(b"content-encoding: br\r\n".to_vec()),
        Just(b"Upgrade: websocket\r\n".to_vec()),
        Just(b"Expect: 100-continue\r\n".to_vec()),
        Just(b"X-Empty:\r\n".to_vec()),
        Just(b"X-Spaces:    \r\n".to_vec()),
        Just(b"No colon here\r\n".to_vec()),
        Just(b"Bad(name): v\r\n".to_vec()),
        Just(b"Bad name: v\r\n".to_vec()),
        Just(b":empty-name\r\n".to_vec()),
        "[ -~]{0,40}".prop_map(|s| format!("{s}\r\n").into_bytes()),
        "[a-zA-Z-]{1,12}: [ -~]{0,30}\r\n".prop_map(String::into_bytes),
    ]
}

fn odd() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"Content-Length : 5\r\n".to_vec()),
        Just(b" folded continuation\r\n".to_vec()),
        Just(b"\tfolded: tab\r\n".to_vec()),
        Just(b"X-Tab:\tv\r\n".to_vec()),
        Just(b"X-Bare-LF: v\n".to_vec()),
        Just(b"X-Bare-CR: v\rw\r\n".to_vec()),
        Just(b"X-Nul: v\0w\r\n".to_vec()),
        Just(b"X-High: caf\xc3\xa9\r\n".to_vec()),
        Just(b"X-Bad-Utf8: \xff\r\n".to_vec()),
    ]
}

fn start(dir: Dir) -> impl Strategy<Value = Vec<u8>> {
    let (plain, odd): (Vec<&'static [u8]>, Vec<&'static [u8]>) = match dir {
        Dir::ToServer => (
            vec![
                b"GET /a?b=c HTTP/1.1\r\n",
                b"POST /x HTTP/1.0\r\n",
                b"M-SEARCH * HTTP/1.1\r\n",
            ],
            vec![
                b"GET  /double-space HTTP/1.1\r\n",
                b"GET /x  HTTP/1.1\r\n",
                b"GET /x HTTP/2.0\r\n",
                b"G(T /x HTTP/1.1\r\n",
                b"GET /x HTTP/1.1\n",
                b"\r\nGET /after-blank HTTP/1.1\r\n",
            ],
        ),
        Dir::ToClient => (
            vec![
                b"HTTP/1.1 200 OK\r\n",
                b"HTTP/1.0 404 Not Found\r\n",
                b"HTTP/1.1 204\r\n",
                b"HTTP/1.1 200 \r\n",
            ],
            vec![
                b"HTTP/1.1 200  two spaces\r\n",
                b"HTTP/1.1  200 OK\r\n",
                b"HTTP/1.1 20 OK\r\n",
                b"HTTP/1.1 200OK\r\n",
                b"HTTP/1.1 200 tab\tin reason\r\n",
                b"HTTP/2 200\r\n",
            ],
        ),
    };
    prop_oneof![
        3 => proptest::sample::select(plain),
        1 => proptest::sample::select(odd)
    ]
    .prop_map(<[u8]>::to_vec)
}

fn head_for(dir: Dir) -> impl Strategy<Value = Vec<u8>> {
    (
        start(dir),
        // Mostly short heads; some past the skim's 64 lines.
        prop_oneof![
            4 => proptest::collection::vec(piece(), 0..16),
            1 => proptest::collection::vec(piece(), 50..70)
        ],
        prop_oneof![
            3 => Just(&b"\r\n"[..]),
            1 => Just(&b"\n"[..]),
            1 => Just(&b""[..]),
            3 => Just(&b"\r\nbody"[..])
        ],
        proptest::option::weighted(0.3, (0usize..4096, any::<u8>())),
    )
        .prop_map(|(start, lines, end, flip)| {
            let mut b = start;
            for l in lines {
                b.extend_from_slice(&l);
            }
            b.extend_from_slice(end);
            // One byte changed anywhere: mutations the pieces do not cover.
            if let Some((at, byte)) = flip {
                if !b.is_empty() {
                    let i = at % b.len();
                    b[i] = byte;
                }
            }
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn deferred_requests_parse_the_same(buf in head_for(Dir::ToServer)) {
        let (full, fast) = both(&buf, Dir::ToServer);
        prop_assert_eq!(full, fast, "{:?}", String::from_utf8_lossy(&buf));
    }

    #[test]
    fn deferred_responses_parse_the_same(buf in head_for(Dir::ToClient)) {
        let (full, fast) = both(&buf, Dir::ToClient);
        prop_assert_eq!(full, fast, "{:?}", String::from_utf8_lossy(&buf));
    }

    #[test]
    fn unsplit_requests_find_the_fields_a_split_finds(buf in head_for(Dir::ToServer)) {
        finds_agree(&buf)?;
    }

    #[test]
    fn skim_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..300), resp in any::<bool>()) {
        let dir = if resp { Dir::ToClient } else { Dir::ToServer };
        let (full, fast) = both(&buf, dir);
        prop_assert_eq!(full, fast);
    }
}

/// `Fields::get` on an unsplit deferred request head (its line scan) answers as the full
/// parse's fields do, for Host, every name in the head and some near misses.
fn finds_agree(buf: &[u8]) -> Result<(), TestCaseError> {
    let Parsed::Complete(full) = head::parse(buf, Dir::ToServer, false) else {
        return Ok(());
    };
    let mut names: Vec<String> = full.headers.iter().map(|(n, _)| n.to_string()).collect();
    for n in [
        "host",
        "HOST",
        "content-length",
        "x",
        "",
        "bad name",
        "Bad(name)",
        "Host ",
    ] {
        names.push(n.to_string());
    }
    for name in &names {
        // A fresh parse for each name, so `get` runs on a head not split yet.
        let Parsed::Complete(fast) = head::parse(buf, Dir::ToServer, true) else {
            return Err(TestCaseError::fail("the deferred parse disagrees"));
        };
        prop_assert_eq!(
            fast.headers.get(name),
            full.headers.get(name),
            "{:?} in {:?}",
            name,
            String::from_utf8_lossy(buf)
        );
    }
    Ok(())
}

#[test]
fn real_request_finds_its_host_unsplit() {
    let req = b"GET /big.txt HTTP/1.1\r\nHost: 127.0.0.1:18081\r\nUser-Agent: curl/7.88.1\r\n\r\n";
    let Parsed::Complete(h) = head::parse(req, Dir::ToServer, true) else {
        panic!("not parsed");
    };
    assert!(h.headers.is_deferred());
    assert_eq!(h.headers.get("host"), Some("127.0.0.1:18081"));
    assert_eq!(h.headers.get("accept"), None);
    finds_agree(req).unwrap();
}

/// The generator reaches the skim often enough for the properties above to test it.
#[test]
fn generated_heads_are_often_skimmed() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for dir in [Dir::ToServer, Dir::ToClient] {
        let strategy = head_for(dir);
        let taken = (0..500)
            .filter(|_| {
                let head = strategy.new_tree(&mut runner).expect("a value").current();
                skimmed(&head, dir)
            })
            .count();
        assert!(
            taken >= 50,
            "{dir:?}: only {taken} of 500 generated heads skimmed"
        );
    }
}
