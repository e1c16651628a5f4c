//! HTTP/0.9 (RFC 1945 section 4.1): a simple request, and a response with no head that runs
//! until the server closes. Seen in real captures (zeek's ipv6-atomic-fragment and
//! mixed-vlan-mpls); never inferred from garbage.

use super::*;

const PAGE: &[u8] = b"<html>\n<body>Bad!</body>\n</html>\n";

#[test]
fn simple_request_and_response() {
    let out = run(&[
        c(b"GET /bad.html\r\n"),
        s(&PAGE[..10]),
        s(&PAGE[10..]),
        Ev::End(Dir::ToClient),
    ]);
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert_eq!(e.notes, ["http/0.9"]);
    assert!(!e.incomplete());
    let (q, r) = (req(e), resp(e));
    assert_eq!(
        (&*q.method, q.target.as_str(), q.msg.version),
        ("GET", "/bad.html", HttpVersion::Http09)
    );
    assert_eq!((q.msg.head_len, q.msg.complete), (15, Some(Timestamp(0))));
    assert!(q.msg.headers.is_empty());
    assert_eq!(
        (r.status, &*r.reason, r.msg.version, r.msg.head_len),
        (0, "", HttpVersion::Http09, 0)
    );
    assert_eq!(r.msg.body_len, PAGE.len() as u64);
    assert_eq!(r.msg.body_preview, PAGE);
    assert_eq!(
        (r.msg.first_byte, r.msg.complete),
        (Timestamp(1), Some(Timestamp(3)))
    );
    assert_eq!(e.latency(), Some(3));
}

/// zeek-http-mixed-vlan-mpls: `GET /\r\n\r\n`, a bare LF line end works too, and the request
/// may come in pieces.
#[test]
fn split_request_with_blank_line() {
    for evs in [
        vec![c(b"GET /\r\n\r\n"), s(PAGE), Ev::End(Dir::ToClient)],
        vec![
            c(b"GE"),
            c(b"T /"),
            c(b"\n"),
            s(PAGE),
            Ev::End(Dir::ToClient),
        ],
    ] {
        let out = run(&evs);
        assert_eq!(shape(&out), [("GET".into(), "/".into(), 0)], "{evs:?}");
        assert_eq!(out[0].notes, ["http/0.9"]);
        assert!(!out[0].incomplete());
        assert_eq!(resp(&out[0]).msg.body_len, PAGE.len() as u64);
    }
}

#[test]
fn no_response_and_capture_end() {
    let out = run(&[c(b"GET /x\r\n"), Ev::End(Dir::ToClient)]);
    assert_eq!(out[0].notes, ["http/0.9", "no-response"]);
    assert!(out[0].response.is_none());
    // The server never closed: the body is cut at capture end.
    let out = run(&[c(b"GET /x\r\n"), s(PAGE)]);
    let r = resp(&out[0]);
    assert_eq!((r.status, r.msg.complete), (0, None));
    assert_eq!(out[0].notes, ["http/0.9", "capture-end"]);
}

/// A server may answer a 0.9 request with a full 1.x response: it is parsed as one.
#[test]
fn answered_with_status_line() {
    let out = run(&[c(b"GET /x\r\n"), s(OK)]);
    assert_eq!(shape(&out), [("GET".into(), "/x".into(), 200)]);
    assert_eq!(out[0].notes, ["http/0.9"]);
    assert_eq!(resp(&out[0]).msg.version, HttpVersion::Http11);
}

/// Never 0.9: garbage, other methods, a version-less line followed by header fields, a line
/// cut at capture end (the version may have followed), or a second request on a connection.
#[test]
fn never_from_garbage() {
    for client in [
        &b"GET /x\r\nHost: a\r\n\r\n"[..],
        b"POST /x\r\n",
        b"GET  /x\r\n",
        b"GET /x y\r\n",
    ] {
        let out = run(&[c(client), s(PAGE), Ev::End(Dir::ToClient)]);
        assert!(
            out.iter().all(|e| !e.notes.contains(&"http/0.9")),
            "{:?}: {out:#?}",
            String::from_utf8_lossy(client)
        );
        assert!(out[0].notes.contains(&"bad-head"), "{out:#?}");
    }
    let out = run(&[c(b"GET /x")]);
    assert_eq!(out[0].notes, ["capture-end", "no-response"]);
    assert_eq!(req(&out[0]).msg.version, HttpVersion::Http11);
    // After a 1.x exchange a version-less line is a bad head, not 0.9.
    let mut second = GET.to_vec();
    second.extend_from_slice(b"GET /x\r\n");
    let out = run(&[c(&second), s(OK)]);
    assert!(out.iter().all(|e| !e.notes.contains(&"http/0.9")));
    // The server spoke first: not 0.9.
    let out = run(&[s(PAGE), c(b"GET /x\r\n")]);
    assert!(out.iter().all(|e| !e.notes.contains(&"http/0.9")));
}
