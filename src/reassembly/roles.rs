//! Who is the client of a connection picked up mid-stream (no SYN or SYN-ACK seen).
//!
//! Decided once, from the first segment of the connection, in this order:
//! 1. its payload: an HTTP/1.x request line (`METHOD SP`, RFC 9112 section 3) or an HTTP/2
//!    preface (`PRI * HTTP/2.0`) is sent by the client; a status line (`HTTP/1.`, RFC 9112
//!    section 4) by the server; a TLS handshake record holding a ClientHello (content type 22,
//!    legacy version 3.x, handshake type 1: RFC 8446 sections 5.1 and 4) by the client, a
//!    ServerHello (type 2) by the server;
//! 2. the ports: a well-known port (< 1024, IANA system ports) or a port in [`SERVER_PORTS`]
//!    (Istio/Envoy and common service ports) marks the server when only one side has one;
//! 3. otherwise the lower port is the server (ephemeral ports are high: Linux
//!    `ip_local_port_range` defaults to 32768-60999); equal ports make the destination the
//!    server.
//!
//! It does not look at more than one segment: a wrong guess only swaps the labels of the two
//! directions, which the application layer tolerates (it sniffs each direction).

use crate::model::Segment;

/// Ports that are servers in a Kubernetes/Istio cluster even though they are above 1023.
/// 15000 Envoy admin, 15001 outbound capture, 15006 inbound capture, 15008 HBONE, 15010/15012
/// istiod, 15014 control-plane monitoring, 15020/15021 agent/health, 15090 Envoy Prometheus,
/// 9080 Bookinfo, and everyday service ports.
pub(crate) const SERVER_PORTS: &[u16] = &[
    1433, 1521, 2379, 2380, 3000, 3306, 4317, 4318, 5000, 5432, 5672, 6379, 6443, 8000, 8008, 8080,
    8081, 8443, 8888, 9000, 9042, 9080, 9090, 9091, 9092, 9200, 9411, 10250, 11211, 15000, 15001,
    15006, 15008, 15010, 15012, 15014, 15017, 15020, 15021, 15090, 27017,
];

/// HTTP methods (RFC 9110 section 9, plus PATCH, RFC 5789) and the HTTP/2 preface's `PRI`.
const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"HEAD ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PRI ",
];

/// TLS record header: content type 22 (handshake), then legacy version major 3 (RFC 8446 5.1).
const TLS_HANDSHAKE: u8 = 0x16;
const TLS_MAJOR: u8 = 0x03;
/// Offset of the handshake type: after the 5-byte record header.
const TLS_HANDSHAKE_TYPE: usize = 5;
const CLIENT_HELLO: u8 = 0x01;
const SERVER_HELLO: u8 = 0x02;

/// True when the segment's sender is the client, by the rules above.
pub(crate) fn sender_is_client(seg: &Segment<'_>) -> bool {
    if let Some(client) = by_payload(seg.payload) {
        return client;
    }
    let (src, dst) = (seg.src.port(), seg.dst.port());
    match (is_server_port(src), is_server_port(dst)) {
        (true, false) => false,
        (false, true) => true,
        _ => src > dst,
    }
}

/// Some(true) when the payload is what a client sends first, Some(false) for a server.
fn by_payload(p: &[u8]) -> Option<bool> {
    if METHODS.iter().any(|m| p.starts_with(m)) {
        return Some(true);
    }
    if p.starts_with(b"HTTP/1.") {
        return Some(false);
    }
    if p.first() == Some(&TLS_HANDSHAKE) && p.get(1) == Some(&TLS_MAJOR) {
        match p.get(TLS_HANDSHAKE_TYPE) {
            Some(&CLIENT_HELLO) => return Some(true),
            Some(&SERVER_HELLO) => return Some(false),
            _ => {}
        }
    }
    None
}

pub(crate) fn is_server_port(port: u16) -> bool {
    port < 1024 || SERVER_PORTS.contains(&port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_decides_before_ports() {
        assert_eq!(by_payload(b"GET / HTTP/1.1\r\n"), Some(true));
        assert_eq!(by_payload(b"HTTP/1.1 200 OK\r\n"), Some(false));
        assert_eq!(
            by_payload(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]),
            Some(true)
        );
        assert_eq!(
            by_payload(&[0x16, 0x03, 0x03, 0x00, 0x5a, 0x02]),
            Some(false)
        );
        assert_eq!(by_payload(b"GETX"), None);
        assert_eq!(by_payload(&[0x16]), None);
    }

    #[test]
    fn ports() {
        assert!(is_server_port(80));
        assert!(is_server_port(15006));
        assert!(!is_server_port(43210));
    }
}
