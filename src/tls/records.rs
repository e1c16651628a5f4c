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
}

impl Framer {
    /// Takes the direction's next in-order bytes and returns how many of them belong to
    /// application_data records (their headers included; a header split over two calls counts
    /// in the call that completes it).
    pub fn feed(&mut self, mut bytes: &[u8]) -> usize {
        let mut app = 0;
        while !bytes.is_empty() {
            if self.lost {
                return app + bytes.len();
            }
            if self.left > 0 {
                let n = self.left.min(bytes.len());
                if self.content == CONTENT_APPLICATION_DATA {
                    app += n;
                }
                self.left -= n;
                bytes = bytes.get(n..).unwrap_or_default();
                continue;
            }
            let n = (RECORD_HEADER - self.have).min(bytes.len());
            if let (Some(dst), Some(src)) = (
                self.header.get_mut(self.have..self.have + n),
                bytes.get(..n),
            ) {
                dst.copy_from_slice(src);
            }
            self.have += n;
            bytes = bytes.get(n..).unwrap_or_default();
            if self.have < RECORD_HEADER {
                break;
            }
            self.have = 0;
            let [content, major, _minor, hi, lo] = self.header;
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if !CONTENT_TYPES.contains(&content) || major != 3 || len > MAX_RECORD {
                self.lost = true;
                app += RECORD_HEADER;
                continue;
            }
            self.content = content;
            self.left = len;
            if content == CONTENT_APPLICATION_DATA {
                app += RECORD_HEADER;
            }
        }
        app
    }

    /// Bytes went missing (a capture gap): record boundaries are unknown from here.
    pub fn lose(&mut self) {
        self.lost = true;
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
        v.extend(std::iter::repeat(0xAA).take(len));
        v
    }

    #[test]
    fn counts_only_application_data_records() {
        let mut f = Framer::default();
        let mut bytes = record(22, 100); // handshake
        bytes.extend(record(20, 1)); // change_cipher_spec
        bytes.extend(record(23, 40));
        bytes.extend(record(21, 2)); // a plaintext alert
        assert_eq!(f.feed(&bytes), 45);
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
            assert_eq!(f.feed(a) + f.feed(b), 310, "cut at {cut}");
        }
        // One byte at a time.
        let mut f = Framer::default();
        let total: usize = bytes.iter().map(|b| f.feed(std::slice::from_ref(b))).sum();
        assert_eq!(total, 310);
    }

    #[test]
    fn garbage_or_a_gap_loses_the_framing_and_counts_everything() {
        let mut f = Framer::default();
        assert_eq!(f.feed(b"GET / HTTP/1.1\r\n"), 16);
        assert!(f.is_lost());
        assert_eq!(f.feed(&record(22, 3)), 8);
        let mut f = Framer::default();
        let mut big = vec![23, 3, 3];
        big.extend_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(f.feed(&big), 5, "an oversized length is not a record");
        let mut f = Framer::default();
        assert_eq!(f.feed(&record(22, 4)), 0);
        f.lose();
        assert_eq!(f.feed(&[1, 2, 3]), 3);
    }
}
