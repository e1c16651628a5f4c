//! Test helpers: hand-built pcap and pcapng byte buffers (the layouts of pcap-savefile(5) and
//! draft-ietf-opsawg-pcapng), so each edge case is a few explicit lines in a test.

use super::endian::Endian;
use super::{CaptureError, FileReader};

pub const USEC: u32 = 0xa1b2_c3d4;
pub const NSEC: u32 = 0xa1b2_3c4d;
pub const MODIFIED: u32 = 0xa1b2_cd34;

pub fn put16(v: &mut Vec<u8>, e: Endian, x: u16) {
    v.extend_from_slice(&match e {
        Endian::Little => x.to_le_bytes(),
        Endian::Big => x.to_be_bytes(),
    });
}

pub fn put32(v: &mut Vec<u8>, e: Endian, x: u32) {
    v.extend_from_slice(&match e {
        Endian::Little => x.to_le_bytes(),
        Endian::Big => x.to_be_bytes(),
    });
}

/// pcap file header, version 2.4.
pub fn pcap_header(e: Endian, magic: u32, snaplen: u32, network: u32) -> Vec<u8> {
    let mut v = Vec::new();
    put32(&mut v, e, magic);
    put16(&mut v, e, 2);
    put16(&mut v, e, 4);
    put32(&mut v, e, 0);
    put32(&mut v, e, 0);
    put32(&mut v, e, snaplen);
    put32(&mut v, e, network);
    v
}

/// Appends a record: standard 16 bytes, `extra` (variant fields), then `data`.
pub fn pcap_record(
    v: &mut Vec<u8>,
    e: Endian,
    sec: u32,
    frac: u32,
    orig: u32,
    extra: &[u8],
    data: &[u8],
) {
    put32(v, e, sec);
    put32(v, e, frac);
    put32(v, e, data.len() as u32);
    put32(v, e, orig);
    v.extend_from_slice(extra);
    v.extend_from_slice(data);
}

/// A pcapng block with its body padded to 4 bytes.
pub fn block(e: Endian, block_type: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = 12 + body.len() as u32;
    let mut v = Vec::new();
    put32(&mut v, e, block_type);
    put32(&mut v, e, len);
    v.extend_from_slice(&body);
    put32(&mut v, e, len);
    v
}

/// Options list with opt_endofopt.
pub fn options(e: Endian, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, value) in opts {
        put16(&mut v, e, *code);
        put16(&mut v, e, value.len() as u16);
        v.extend_from_slice(value);
        while v.len() % 4 != 0 {
            v.push(0);
        }
    }
    if !opts.is_empty() {
        v.extend_from_slice(&[0; 4]);
    }
    v
}

pub fn shb(e: Endian) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, e, 0x1A2B_3C4D);
    put16(&mut body, e, 1);
    put16(&mut body, e, 0);
    body.extend_from_slice(&[0xff; 8]); // section length -1: unknown
    block(e, 0x0A0D_0D0A, &body)
}

pub fn idb(e: Endian, link_type: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, e, link_type);
    put16(&mut body, e, 0);
    put32(&mut body, e, snaplen);
    body.extend_from_slice(&options(e, opts));
    block(e, 1, &body)
}

pub fn epb(e: Endian, iface: u32, ts: u64, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, e, iface);
    put32(&mut body, e, (ts >> 32) as u32);
    put32(&mut body, e, ts as u32);
    put32(&mut body, e, data.len() as u32);
    put32(&mut body, e, orig);
    body.extend_from_slice(data);
    block(e, 6, &body)
}

/// Obsolete Packet Block (type 2).
pub fn pb(e: Endian, iface: u16, ts: u64, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, e, iface);
    put16(&mut body, e, 0);
    put32(&mut body, e, (ts >> 32) as u32);
    put32(&mut body, e, ts as u32);
    put32(&mut body, e, data.len() as u32);
    put32(&mut body, e, orig);
    body.extend_from_slice(data);
    block(e, 2, &body)
}

pub fn spb(e: Endian, orig: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, e, orig);
    body.extend_from_slice(data);
    block(e, 3, &body)
}

pub fn open(bytes: Vec<u8>) -> Result<FileReader, CaptureError> {
    open_as("test", 0, bytes)
}

pub fn open_as(name: &str, index: usize, bytes: Vec<u8>) -> Result<FileReader, CaptureError> {
    let total = Some(bytes.len() as u64);
    FileReader::from_reader(
        name.to_string(),
        index,
        Box::new(std::io::Cursor::new(bytes)),
        total,
    )
}

/// A frame's fields, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Got {
    pub ts: i64,
    pub link_type: u32,
    pub interface: u32,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// Reads a whole input: the frames, then the error that ended it, if any.
pub fn read_all(mut r: FileReader) -> (Vec<Got>, Option<CaptureError>) {
    drain(&mut r)
}

/// Like [`read_all`], keeping the reader (for its interfaces and summary).
pub fn drain(r: &mut FileReader) -> (Vec<Got>, Option<CaptureError>) {
    let mut got = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(f)) => got.push(Got {
                ts: f.ts.nanos(),
                link_type: f.link_type,
                interface: f.interface,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
            }),
            Ok(None) => return (got, None),
            Err(e) => return (got, Some(e)),
        }
    }
}
