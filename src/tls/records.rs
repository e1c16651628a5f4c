//! TLS record framing without decryption (RFC 8446 section 5.1, RFC 5246 section 6.2): which
//! bytes of one direction belong to application_data records. The handshake, change_cipher_spec
//! and plaintext alerts are not a request's bytes, so a leg's traffic can be timed by what it
//! carried for the application.
//!
//! TLS 1.3 encrypts the handshake's last flight and every alert under the outer type
//! application_data (RFC 8446 section 5.2): the client's Finished and a close_notify count as
//! application data here, which only adds bursts next to the real ones (the Finished goes out
//! just before the first request on a new connection).
//!
//! A header that is not a record (unknown content type, version major not 3, a length over the
//! limit) or a gap in the stream loses the framing: from then on every byte counts, so the
//! direction's timing stays known even when its record types are not.

use super::{MAX_RECORD, RECORD_HEADER};

/// ContentType application_data(23).
pub const CONTENT_APPLICATION_DATA: u8 = 23;
/// The content types RFC 8446 and RFC 6520 define: change_cipher_spec(20) to heartbeat(24).
const CONTENT_TYPES: std::ops::RangeInclusive<u8> = 20..=24;

/// One direction's record framing state.
#[derive(Clone, Debug, Default)]
pub struct Framer {
    header: [u8; RECORD_HEADER],
    /// Header bytes collected of the next record.
    have: usize,
    /// Body bytes left of the current record.
    left: usize,
    content: u8,
    /// Framing lost: every byte counts as data.
    lost: bool,
    /// Stream position (bytes since the direction's first, gaps included) of the next byte,
    /// and of the first byte of the header being collected.
    pos: u64,
    header_at: u64,
}

/// What one chunk held of application data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fed {
    /// Bytes of application_data records (headers included; a header split over two chunks
    /// counts in the chunk that completes it).
    pub app: usize,
    /// Stream position of the first of them: the same at every capture point of one
    /// connection (TCP sequence space, which NAT does not rewrite).
    pub first: Option<u64>,
}

impl Framer {
    /// Takes the direction's next in-order bytes.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Fed {
        let mut fed = Fed::default();
        let at = |fed: &mut Fed, n: usize, pos: u64| {
            if n > 0 {
                fed.app += n;
                fed.first.get_or_insert(pos);
            }
        };
        while !bytes.is_empty() {
            if self.lost {
                at(&mut fed, bytes.len(), self.pos);
                self.pos += bytes.len() as u64;
                return fed;
            }
            if self.left > 0 {
                let n = self.left.min(bytes.len());
                if self.content == CONTENT_APPLICATION_DATA {
                    at(&mut fed, n, self.pos);
                }
                self.left -= n;
                self.pos += n as u64;
                bytes = bytes.get(n..).unwrap_or_default();
                continue;
            }
            if self.have == 0 {
                self.header_at = self.pos;
            }
            let header = match (self.have, bytes.first_chunk::<RECORD_HEADER>()) {
                // The common case: a whole header in this chunk.
                (0, Some(h)) => {
                    bytes = bytes.get(RECORD_HEADER..).unwrap_or_default();
                    self.pos += RECORD_HEADER as u64;
                    *h
                }
                _ => {
                    let n = (RECORD_HEADER - self.have).min(bytes.len());
                    if let (Some(dst), Some(src)) = (
                        self.header.get_mut(self.have..self.have + n),
                        bytes.get(..n),
                    ) {
                        dst.copy_from_slice(src);
                    }
                    self.have += n;
                    self.pos += n as u64;
                    bytes = bytes.get(n..).unwrap_or_default();
                    if self.have < RECORD_HEADER {
                        break;
                    }
                    self.have = 0;
                    self.header
                }
            };
            let [content, major, _minor, hi, lo] = header;
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if !CONTENT_TYPES.contains(&content) || major != 3 || len > MAX_RECORD {
                self.lost = true;
                at(&mut fed, RECORD_HEADER, self.header_at);
                continue;
            }
            self.content = content;
            self.left = len;
            if content == CONTENT_APPLICATION_DATA {
                at(&mut fed, RECORD_HEADER, self.header_at);
            }
        }
        fed
    }

    /// `len` bytes went missing (a capture gap): record boundaries are unknown from here.
    pub fn lose(&mut self, len: u64) {
        self.lost = true;
        self.pos = self.pos.saturating_add(len);
    }

    /// Whether the framing was lost (every byte counted since).
    pub fn is_lost(&self) -> bool {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content: u8, len: usize) -> Vec<u8> {
        let mut v = vec![content, 3, 3];
        v.extend_from_slice(&(len as u16).to_be_bytes());
        v.extend(std::iter::repeat_n(0xAA, len));
        v
    }

    #[test]
    fn counts_only_application_data_records() {
        let mut f = Framer::default();
        let mut bytes = record(22, 100); // handshake
        bytes.extend(record(20, 1)); // change_cipher_spec
        bytes.extend(record(23, 40));
        bytes.extend(record(21, 2)); // a plaintext alert
        assert_eq!(
            f.feed(&bytes),
            Fed {
                app: 45,
                first: Some(111)
            }
        );
        assert!(!f.is_lost());
    }

    #[test]
    fn records_split_anywhere_count_the_same() {
        let mut bytes = record(22, 10);
        bytes.extend(record(23, 300));
        bytes.extend(record(23, 0));
        bytes.extend(record(22, 7));
        for cut in 0..bytes.len() {
            let mut f = Framer::default();
            let (a, b) = bytes.split_at(cut);
            let (x, y) = (f.feed(a), f.feed(b));
            assert_eq!(x.app + y.app, 310, "cut at {cut}");
            assert_eq!(x.first.or(y.first), Some(15), "cut at {cut}");
        }
        // One byte at a time.
        let mut f = Framer::default();
        let fed: Vec<Fed> = bytes
            .iter()
            .map(|b| f.feed(std::slice::from_ref(b)))
            .collect();
        assert_eq!(fed.iter().map(|x| x.app).sum::<usize>(), 310);
        assert_eq!(fed.iter().find_map(|x| x.first), Some(15));
    }

    #[test]
    fn garbage_or_a_gap_loses_the_framing_and_counts_everything() {
        let mut f = Framer::default();
        assert_eq!(f.feed(b"GET / HTTP/1.1\r\n").app, 16);
        assert!(f.is_lost());
        assert_eq!(
            f.feed(&record(22, 3)),
            Fed {
                app: 8,
                first: Some(16)
            }
        );
        let mut f = Framer::default();
        let mut big = vec![23, 3, 3];
        big.extend_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(f.feed(&big).app, 5, "an oversized length is not a record");
        let mut f = Framer::default();
        assert_eq!(f.feed(&record(22, 4)), Fed::default());
        f.lose(100);
        assert_eq!(
            f.feed(&[1, 2, 3]),
            Fed {
                app: 3,
                first: Some(109)
            }
        );
    }
}
