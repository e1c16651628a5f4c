//! Arbitrary bytes under every link type: no panic, and a segment never claims more payload
//! than its IP header announced.

use super::build::decoder;
use crate::model::{Frame, Timestamp};
use proptest::prelude::*;

const LINK_TYPES: [u32; 12] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 239, 276, 147];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_frames(frames in prop::collection::vec(
        (0usize..LINK_TYPES.len(), prop::collection::vec(any::<u8>(), 0..200), 0u32..2000, 0i64..100),
        1..8,
    )) {
        let mut d = decoder();
        for (i, (lt, data, extra, secs)) in frames.iter().enumerate() {
            let frame = Frame {
                ts: Timestamp::from_secs_nanos(*secs, 0),
                link_type: LINK_TYPES[*lt],
                interface: 0,
                data,
                orig_len: data.len() as u32 + extra,
            };
            if let Some(s) = d.decode(&frame, i as u64 + 1) {
                prop_assert!(s.payload.len() as u64 + u64::from(s.missing) <= u64::from(s.ip_len));
            }
        }
    }

    /// Valid-looking headers with arbitrary tails, so the deeper layers get exercised.
    #[test]
    fn arbitrary_ip_tails(v6 in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..120)) {
        let mut d = decoder();
        let mut data = if v6 { vec![0x60, 0, 0, 0, 0, 0, 0, 64] } else { vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 6, 0, 0] };
        data.extend_from_slice(&tail);
        if data.len() >= 6 {
            let len = (tail.len() as u16).to_be_bytes();
            let at = if v6 { 4 } else { 2 };
            data[at..at + 2].copy_from_slice(&len);
        }
        let frame = Frame { ts: Timestamp(0), link_type: 101, interface: 0, data: &data, orig_len: data.len() as u32 };
        if let Some(s) = d.decode(&frame, 1) {
            prop_assert!(s.payload.len() as u64 + u64::from(s.missing) <= u64::from(s.ip_len));
        }
    }
}
