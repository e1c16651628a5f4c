//! ClientHello parsing (RFC 8446 section 4.1.2) over the client's first bytes, which may span
//! several TLS records: the handshake message is reassembled from consecutive handshake
//! records (section 5.1 allows a message to be split across records), bounded by
//! [`MAX_HELLO`]. Only the fields named in [`Hello`] are kept.

use super::{CONTENT_HANDSHAKE, HANDSHAKE_CLIENT_HELLO, MAX_RECORD, RECORD_HEADER};
use std::borrow::Cow;

/// Largest ClientHello accepted (handshake header included). Post-quantum key shares make
/// hellos of 2 KB common; 64 KiB is the pipeline's hello buffer as well.
pub const MAX_HELLO: usize = 64 * 1024;
/// Handshake header: msg_type(1) length(3).
const HANDSHAKE_HEADER: usize = 4;
/// ALPN protocol names kept at most.
const MAX_ALPN: usize = 32;
/// supported_versions entries kept at most (the list is at most 127 by its length byte).
const MAX_VERSIONS: usize = 32;
/// random(32) after legacy_version.
const RANDOM: usize = 32;

/// Extension types (IANA TLS ExtensionType registry).
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// NameType host_name(0) (RFC 6066 section 3).
const NAME_TYPE_HOST: u8 = 0;

/// What the client's first bytes hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hello {
    /// A ClientHello may be starting but is not complete yet.
    NeedMore,
    ClientHello {
        /// The first host_name of server_name, lossy UTF-8 (RFC 6066 says ASCII).
        sni: Option<String>,
        /// ALPN protocol names in the client's order (RFC 7301 section 3.1).
        alpn: Vec<String>,
        /// `legacy_version` (0x0303 for TLS 1.2 and 1.3).
        legacy_version: u16,
        /// supported_versions (RFC 8446 section 4.2.1), GREASE values (RFC 8701) left out.
        supported_versions: Vec<u16>,
    },
    /// Not a ClientHello, malformed, or larger than [`MAX_HELLO`].
    NotHello,
}

/// Parses the ClientHello at the start of `buf` (the client's bytes, possibly several records).
pub fn parse_client_hello(buf: &[u8]) -> Hello {
    match handshake_message(buf) {
        Gathered::NeedMore => Hello::NeedMore,
        Gathered::Bad => Hello::NotHello,
        Gathered::Message(msg) => {
            body(msg.get(HANDSHAKE_HEADER..).unwrap_or(&[])).unwrap_or(Hello::NotHello)
        }
    }
}

enum Gathered<'a> {
    NeedMore,
    Bad,
    /// The whole handshake message, header included; borrowed when it sits in one record.
    Message(Cow<'a, [u8]>),
}

/// Collects the first handshake message from consecutive handshake records.
fn handshake_message(buf: &[u8]) -> Gathered<'_> {
    let mut gathered: Cow<'_, [u8]> = Cow::Borrowed(&[]);
    let mut at = 0;
    loop {
        let Some(header) = buf.get(at..at + RECORD_HEADER) else {
            return Gathered::NeedMore;
        };
        let &[kind, major, _, hi, lo] = header else {
            return Gathered::NeedMore;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if kind != CONTENT_HANDSHAKE || major != 3 || len == 0 || len > MAX_RECORD {
            return Gathered::Bad;
        }
        let start = at + RECORD_HEADER;
        // A partial last record still tells us the message type and length early.
        let fragment = buf.get(start..(start + len).min(buf.len())).unwrap_or(&[]);
        gathered = match gathered {
            Cow::Borrowed([]) => Cow::Borrowed(fragment),
            mut g => {
                g.to_mut().extend_from_slice(fragment);
                g
            }
        };
        if let Some(&[msg_type, a, b, c]) = gathered.get(..HANDSHAKE_HEADER) {
            if msg_type != HANDSHAKE_CLIENT_HELLO {
                return Gathered::Bad;
            }
            let total =
                HANDSHAKE_HEADER + (usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c));
            if total > MAX_HELLO {
                return Gathered::Bad;
            }
            if gathered.len() >= total {
                return Gathered::Message(match gathered {
                    Cow::Borrowed(b) => Cow::Borrowed(b.get(..total).unwrap_or(b)),
                    Cow::Owned(mut v) => {
                        v.truncate(total);
                        Cow::Owned(v)
                    }
                });
            }
        } else if gathered
            .first()
            .is_some_and(|&t| t != HANDSHAKE_CLIENT_HELLO)
        {
            return Gathered::Bad;
        }
        if fragment.len() < len {
            return Gathered::NeedMore;
        }
        at = start + len;
        if gathered.len() > MAX_HELLO {
            return Gathered::Bad;
        }
    }
}

/// A bounds-checked reader over one structure.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.buf.get(..n)?, self.buf.get(n..)?);
        self.buf = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    /// `opaque x<0..2^8-1>`: a u8 length then that many bytes.
    fn vec8(&mut self) -> Option<Reader<'a>> {
        let n = self.u8()?;
        Some(Reader {
            buf: self.bytes(usize::from(n))?,
        })
    }
    /// `opaque x<0..2^16-1>`.
    fn vec16(&mut self) -> Option<Reader<'a>> {
        let n = self.u16()?;
        Some(Reader {
            buf: self.bytes(usize::from(n))?,
        })
    }
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// The ClientHello body (section 4.1.2): legacy_version, random, legacy_session_id,
/// cipher_suites, legacy_compression_methods, extensions (absent in some old hellos).
fn body(msg: &[u8]) -> Option<Hello> {
    let mut r = Reader { buf: msg };
    let legacy_version = r.u16()?;
    r.bytes(RANDOM)?;
    r.vec8()?; // legacy_session_id
    r.vec16()?; // cipher_suites
    r.vec8()?; // legacy_compression_methods
    let mut sni = None;
    let mut alpn = Vec::new();
    let mut supported_versions = Vec::new();
    if !r.is_empty() {
        let mut exts = r.vec16()?;
        while !exts.is_empty() {
            let kind = exts.u16()?;
            let mut data = exts.vec16()?;
            match kind {
                EXT_SERVER_NAME if sni.is_none() => sni = server_name(&mut data)?,
                EXT_ALPN if alpn.is_empty() => alpn = protocols(&mut data)?,
                EXT_SUPPORTED_VERSIONS if supported_versions.is_empty() => {
                    supported_versions = versions(&mut data)?;
                }
                _ => {}
            }
        }
    }
    Some(Hello::ClientHello {
        sni,
        alpn,
        legacy_version,
        supported_versions,
    })
}

/// ServerNameList (RFC 6066 section 3): the first host_name.
fn server_name(data: &mut Reader<'_>) -> Option<Option<String>> {
    let mut list = data.vec16()?;
    while !list.is_empty() {
        let name_type = list.u8()?;
        let name = list.vec16()?;
        if name_type == NAME_TYPE_HOST && !name.buf.is_empty() {
            return Some(Some(String::from_utf8_lossy(name.buf).into_owned()));
        }
    }
    Some(None)
}

/// ProtocolNameList (RFC 7301 section 3.1).
fn protocols(data: &mut Reader<'_>) -> Option<Vec<String>> {
    let mut list = data.vec16()?;
    let mut names = Vec::new();
    while !list.is_empty() {
        let name = list.vec8()?;
        if names.len() < MAX_ALPN {
            names.push(String::from_utf8_lossy(name.buf).into_owned());
        }
    }
    Some(names)
}

/// supported_versions in a ClientHello: `ProtocolVersion versions<2..254>`.
fn versions(data: &mut Reader<'_>) -> Option<Vec<u16>> {
    let mut list = data.vec8()?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let v = list.u16()?;
        // GREASE (RFC 8701 section 2): 0x0A0A, 0x1A1A, ... 0xFAFA.
        let grease = v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff;
        if !grease && out.len() < MAX_VERSIONS {
            out.push(v);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
