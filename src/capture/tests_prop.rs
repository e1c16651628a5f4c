//! Property tests: no input bytes make the reader panic, and no frame exceeds the limits.

use super::build::*;
use super::endian::Endian::{Big, Little};
use super::pcap::caplen_limit;
use super::{Capture, Container, MAX_RECORD};
use proptest::prelude::*;

/// Reads everything `bytes` yields and checks each frame against the limits.
fn check(bytes: Vec<u8>) {
    let Ok(mut r) = open(bytes) else { return };
    let pcap_limit = match r.format().container {
        Container::Pcap(v) => {
            let snaplen = r.interfaces().first().map_or(0, |i| i.snaplen);
            Some(caplen_limit(snaplen, v.record_header_len()) as usize)
        }
        Container::Pcapng => None,
    };
    let mut n = 0;
    while let Ok(Some(f)) = r.next_frame() {
        assert!(f.data.len() <= MAX_RECORD);
        if let Some(limit) = pcap_limit {
            assert!(f.data.len() <= limit);
        }
        assert!(f.orig_len as usize >= f.data.len());
        n += 1;
    }
    assert!(r.summary().packets >= n);
    // Reading past the end stays at the end.
    assert!(matches!(r.next_frame(), Ok(None)));
}

fn valid_pcap() -> Vec<u8> {
    let mut v = pcap_header(Little, USEC, 96, 1);
    for i in 0..6u32 {
        pcap_record(
            &mut v,
            Little,
            i,
            i * 7,
            90,
            &[],
            &vec![i as u8; 10 + i as usize * 9],
        );
    }
    v
}

fn valid_pcapng() -> Vec<u8> {
    let mut v = shb(Big);
    v.extend(idb(Big, 1, 64, &[(2, b"eth0"), (9, &[9])]));
    v.extend(epb(Big, 0, 1, 30, &[1; 30]));
    v.extend(spb(Big, 100, &[2; 100]));
    v.extend(shb(Little));
    v.extend(idb(Little, 113, 0, &[(9, &[0x83])]));
    v.extend(pb(Little, 0, 9, 5, b"hello"));
    v.extend(epb(Little, 0, 10, 3, b"abc"));
    v
}

#[test]
fn the_files_mutated_below_are_valid() {
    let (got, err) = read_all(open(valid_pcap()).unwrap());
    assert!(err.is_none() && got.len() == 6);
    let (got, err) = read_all(open(valid_pcapng()).unwrap());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 4);
    assert_eq!(got[1].data.len(), 64); // SPB cut to the snaplen
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(bytes);
    }

    #[test]
    fn arbitrary_bytes_after_each_magic(
        which in 0usize..6,
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut v = match which {
            0 => pcap_header(Little, USEC, 65535, 1),
            1 => pcap_header(Big, NSEC, 0, 276),
            2 => pcap_header(Little, MODIFIED, 100, 1),
            3 => shb(Little),
            4 => shb(Big),
            _ => vec![0x1f, 0x8b, 8, 0],
        };
        v.extend(bytes);
        check(v);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        ng in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut v = if ng { valid_pcapng() } else { valid_pcap() };
        for (i, b) in edits {
            let at = i.index(v.len());
            v[at] = b;
        }
        if do_cut {
            let at = cut.index(v.len());
            v.truncate(at);
        }
        check(v.clone());
        // The merger over the damaged input and a good one never panics either.
        let inputs = [open_as("x", 0, v), open_as("y", 1, valid_pcap())];
        let mut c = Capture::new(inputs.into_iter().flatten().collect());
        while let Some(f) = c.next_frame() {
            prop_assert!(f.data.len() <= MAX_RECORD);
        }
    }
}

/// A pipe that hands out at most `chunk` bytes per read, to hit every refill boundary.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

proptest! {
    #[test]
    fn short_reads_give_the_same_frames(chunk in 1usize..64, ng in any::<bool>()) {
        let bytes = if ng { valid_pcapng() } else { valid_pcap() };
        let want = read_all(open(bytes.clone()).unwrap());
        let pipe = Trickle { data: bytes, at: 0, chunk };
        let r = super::FileReader::from_reader("-".into(), 0, Box::new(pipe), None).unwrap();
        let got = read_all(r);
        prop_assert_eq!(got.0, want.0);
        prop_assert!(got.1.is_none());
    }
}
