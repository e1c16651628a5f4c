//! One TLS connection as the pipeline sees it: the client's first flight until its ClientHello
//! is read (SNI, ALPN), and both directions' records framed to time the application data in
//! bursts ([`Bursts`]): what lets the join tell which request rode an encrypted leg.
//!
//! Bounded: the hello buffer is [`HELLO_MAX`] bytes and dropped once read; at most
//! [`MAX_BURSTS`] bursts are kept (16 KiB), later ones only counted. Pure: the caller gives
//! each chunk its capture time.

use super::records::Framer;
use super::{parse_client_hello, Hello};
use crate::model::{AppInfo, Burst, Bursts, Dir, Timestamp, MAX_BURSTS};

/// Bytes of the client's first flight kept to find a ClientHello that spans segments.
pub const HELLO_MAX: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct TlsFlow {
    hello: Vec<u8>,
    info: Option<(Option<String>, Vec<String>)>,
    framers: [Framer; 2],
    bursts: Bursts,
    /// The direction of the burst going on (kept or not).
    current: Option<Dir>,
}

impl TlsFlow {
    /// The next in-order bytes of `dir`, delivered by the segment captured at `ts`.
    pub fn data(&mut self, dir: Dir, ts: Timestamp, bytes: &[u8]) {
        if dir == Dir::ToServer && self.info.is_none() {
            self.hello_data(bytes);
        }
        let fed = self.framers[dir.index()].feed(bytes);
        if let Some(offset) = fed.first {
            self.burst(dir, ts, offset, fed.app as u64);
        }
    }

    /// `len` bytes of `dir` went missing.
    pub fn gap(&mut self, dir: Dir, len: u64) {
        self.framers[dir.index()].lose(len);
        if dir == Dir::ToServer && self.info.is_none() {
            self.hello = Vec::new();
            self.info = Some((None, Vec::new()));
        }
    }

    /// What the connection showed.
    pub fn finish(self) -> AppInfo {
        let (sni, alpn) = self.info.unwrap_or_default();
        AppInfo::Tls {
            sni,
            alpn,
            bursts: self.bursts,
        }
    }

    fn hello_data(&mut self, bytes: &[u8]) {
        let room = HELLO_MAX.saturating_sub(self.hello.len());
        self.hello
            .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
        match parse_client_hello(&self.hello) {
            Hello::NeedMore if self.hello.len() < HELLO_MAX => return,
            Hello::ClientHello { sni, alpn, .. } => self.info = Some((sni, alpn)),
            _ => self.info = Some((None, Vec::new())),
        }
        self.hello = Vec::new();
    }

    fn burst(&mut self, dir: Dir, ts: Timestamp, offset: u64, bytes: u64) {
        let list = &mut self.bursts.list;
        if self.current == Some(dir) {
            if self.bursts.dropped == 0 {
                if let Some(b) = list.last_mut() {
                    b.last = b.last.max(ts);
                    b.bytes += bytes;
                }
            }
            return;
        }
        self.current = Some(dir);
        if list.len() < MAX_BURSTS {
            list.push(Burst {
                dir,
                first: ts,
                last: ts,
                offset,
                bytes,
            });
        } else {
            self.bursts.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(us: i64) -> Timestamp {
        Timestamp::from_nanos(us * 1000)
    }

    fn app(len: usize) -> Vec<u8> {
        let mut v = vec![23, 3, 3];
        v.extend_from_slice(&(len as u16).to_be_bytes());
        v.resize(5 + len, 0);
        v
    }

    #[test]
    fn bursts_alternate_and_skip_the_handshake() {
        let mut f = TlsFlow::default();
        // A handshake record from the client (not a hello we can read), then the server's.
        f.data(Dir::ToServer, t(0), &[22, 3, 1, 0, 2, 1, 0]);
        f.data(Dir::ToClient, t(10), &[22, 3, 3, 0, 1, 2]);
        // Request in two segments, response, a second request on the pooled connection.
        f.data(Dir::ToServer, t(20), &app(100));
        f.data(Dir::ToServer, t(21), &app(50));
        f.data(Dir::ToClient, t(900), &app(300));
        f.data(Dir::ToServer, t(5000), &app(80));
        let AppInfo::Tls { bursts, .. } = f.finish() else {
            panic!("not tls")
        };
        let got: Vec<(Dir, i64, i64, u64, u64)> = bursts
            .list
            .iter()
            .map(|b| {
                let us = |t: Timestamp| t.nanos() / 1000;
                (b.dir, us(b.first), us(b.last), b.offset, b.bytes)
            })
            .collect();
        // Offsets: after the client's 7-byte handshake record, the server's 6-byte one, and
        // the first request's 160 bytes.
        assert_eq!(
            got,
            vec![
                (Dir::ToServer, 20, 21, 7, 160),
                (Dir::ToClient, 900, 900, 6, 305),
                (Dir::ToServer, 5000, 5000, 167, 85),
            ]
        );
        assert_eq!(bursts.reply_to(0).map(|b| b.first), Some(t(900)));
        assert_eq!(bursts.reply_to(2), None);
        assert_eq!(bursts.client().map(|(i, _)| i).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn bursts_are_bounded() {
        let mut f = TlsFlow::default();
        for i in 0..(MAX_BURSTS as i64 + 10) {
            let dir = if i % 2 == 0 {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            f.data(dir, t(i), &app(1));
            f.data(dir, t(i), &app(1));
        }
        let AppInfo::Tls { bursts, .. } = f.finish() else {
            panic!("not tls")
        };
        assert_eq!(bursts.list.len(), MAX_BURSTS);
        assert_eq!(bursts.dropped, 10);
        assert!(bursts.list.iter().all(|b| b.bytes == 12));
    }
}
