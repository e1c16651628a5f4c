//! ClientHello tests: a real hello captured from OpenSSL (see `testdata/README.md`), hand-built
//! hellos split across records, truncation and garbage.

use super::*;
use proptest::prelude::*;

const REAL: &[u8] = include_bytes!("../testdata/client_hello_istio.bin");
const ISTIO_SNI: &str = "outbound_.9080_.v1_.reviews.default.svc.cluster.local";

fn vec16(body: &[u8]) -> Vec<u8> {
    [&(body.len() as u16).to_be_bytes()[..], body].concat()
}

/// A ClientHello handshake message (header included), built field by field.
fn hello_message(sni: &str, alpn: &[&str]) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0xab; RANDOM]);
    body.extend_from_slice(&[32]);
    body.extend_from_slice(&[0x11; 32]); // legacy_session_id
    body.extend_from_slice(&vec16(&[0x13, 0x01, 0x13, 0x02])); // cipher_suites
    body.extend_from_slice(&[1, 0]); // compression: null
    let mut exts = Vec::new();
    // GREASE extension first, as browsers do.
    exts.extend_from_slice(&[0x0a, 0x0a, 0, 0]);
    let name = [&[NAME_TYPE_HOST][..], &vec16(sni.as_bytes())].concat();
    exts.extend_from_slice(&EXT_SERVER_NAME.to_be_bytes());
    exts.extend_from_slice(&vec16(&vec16(&name)));
    let mut list = Vec::new();
    for p in alpn {
        list.push(p.len() as u8);
        list.extend_from_slice(p.as_bytes());
    }
    exts.extend_from_slice(&EXT_ALPN.to_be_bytes());
    exts.extend_from_slice(&vec16(&vec16(&list)));
    exts.extend_from_slice(&EXT_SUPPORTED_VERSIONS.to_be_bytes());
    exts.extend_from_slice(&vec16(&[6, 0x7a, 0x7a, 0x03, 0x04, 0x03, 0x03]));
    body.extend_from_slice(&vec16(&exts));
    let len = (body.len() as u32).to_be_bytes();
    [&[HANDSHAKE_CLIENT_HELLO, len[1], len[2], len[3]][..], &body].concat()
}

/// Wraps a handshake message in records, cutting it at `cuts`.
fn records(msg: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last = 0;
    for &c in cuts.iter().chain([&msg.len()]) {
        let frag = &msg[last..c];
        out.extend_from_slice(&[CONTENT_HANDSHAKE, 3, 1]);
        out.extend_from_slice(&vec16(frag));
        last = c;
    }
    out
}

fn expected() -> Hello {
    Hello::ClientHello {
        sni: Some(ISTIO_SNI.into()),
        alpn: vec![
            "istio-peer-exchange".into(),
            "istio".into(),
            "h2".into(),
            "http/1.1".into(),
        ],
        legacy_version: 0x0303,
        supported_versions: vec![0x0304, 0x0303],
    }
}

#[test]
fn real_openssl_hello() {
    assert_eq!(super::super::sniff(REAL), crate::http::Sniff::Request);
    match parse_client_hello(REAL) {
        Hello::ClientHello {
            sni,
            alpn,
            legacy_version,
            supported_versions,
        } => {
            assert_eq!(sni.as_deref(), Some(ISTIO_SNI));
            assert_eq!(alpn, ["istio-peer-exchange", "istio", "h2", "http/1.1"]);
            assert_eq!(legacy_version, 0x0303);
            assert!(supported_versions.contains(&0x0304));
        }
        other => panic!("{other:?}"),
    }
    for n in 0..REAL.len() {
        assert_eq!(
            parse_client_hello(&REAL[..n]),
            Hello::NeedMore,
            "prefix {n}"
        );
    }
}

#[test]
fn hand_built_one_and_two_records() {
    let msg = hello_message(
        ISTIO_SNI,
        &["istio-peer-exchange", "istio", "h2", "http/1.1"],
    );
    assert_eq!(parse_client_hello(&records(&msg, &[])), expected());
    for cut in [1, 2, 3, 4, 40, msg.len() - 1] {
        let two = records(&msg, &[cut]);
        assert_eq!(parse_client_hello(&two), expected(), "cut {cut}");
        for n in 0..two.len() {
            assert_eq!(
                parse_client_hello(&two[..n]),
                Hello::NeedMore,
                "cut {cut} prefix {n}"
            );
        }
    }
    assert_eq!(
        parse_client_hello(&records(&msg, &[10, 20, 30, 100])),
        expected()
    );
}

#[test]
fn not_hellos() {
    assert_eq!(
        parse_client_hello(b"GET / HTTP/1.1\r\n\r\n"),
        Hello::NotHello
    );
    assert_eq!(
        parse_client_hello(b"\x16\x03\x03\x00\x04\x02\x00\x00\x00"),
        Hello::NotHello
    ); // ServerHello
    assert_eq!(parse_client_hello(b"\x16\x03\x01\x00\x00"), Hello::NotHello); // empty record
    assert_eq!(
        parse_client_hello(b"\x16\x03\x01\x00\x04\x01\xff\xff\xff"),
        Hello::NotHello
    ); // too large
       // Lengths inside that overrun the message.
    let mut msg = hello_message("a", &["h2"]);
    let at = HANDSHAKE_HEADER + 2 + RANDOM;
    msg[at] = 200; // session id longer than the message
    assert_eq!(parse_client_hello(&records(&msg, &[])), Hello::NotHello);
    // A non-handshake record before the hello is complete.
    let msg = hello_message("a", &["h2"]);
    let mut two = records(&msg, &[10]);
    two[15] = 0x17;
    assert_eq!(parse_client_hello(&two), Hello::NotHello);
}

#[test]
fn old_hello_without_extensions() {
    let mut body = vec![0x03, 0x01];
    body.extend_from_slice(&[0; RANDOM]);
    body.extend_from_slice(&[0, 0, 2, 0, 0x2f, 1, 0]);
    let msg = [&[HANDSHAKE_CLIENT_HELLO, 0, 0, body.len() as u8][..], &body].concat();
    assert_eq!(
        parse_client_hello(&records(&msg, &[])),
        Hello::ClientHello {
            sni: None,
            alpn: vec![],
            legacy_version: 0x0301,
            supported_versions: vec![]
        }
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), head in 0u8..3) {
        let input = match head {
            0 => bytes.clone(),
            1 => [&[0x16, 3, 1][..], &bytes].concat(),
            _ => [&[0x16, 3, 1, 1, 0, 1, 0, 0, 0xfc, 3, 3][..], &bytes].concat(),
        };
        let _ = parse_client_hello(&input);
        let _ = super::super::sniff(&input);
    }

    #[test]
    fn any_record_split_same_hello(cuts in proptest::collection::vec(1usize..200, 0..6)) {
        let msg = hello_message(ISTIO_SNI, &["istio-peer-exchange", "istio", "h2", "http/1.1"]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % msg.len()).filter(|&c| c > 0).collect();
        cuts.sort_unstable();
        cuts.dedup();
        prop_assert_eq!(parse_client_hello(&records(&msg, &cuts)), expected());
    }
}
