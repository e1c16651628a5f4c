//! Byte order of one pcap file or pcapng section, and bounds-checked field reads.
//!
//! Both formats are written in the byte order of the host that wrote them and say which by a
//! magic number (pcap: the file magic; pcapng: the Section Header Block's byte-order magic).
//! Reads past the end return 0 instead of panicking; callers check lengths first, so this is
//! only a guard against their mistakes.

/// Byte order of a file or section.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline]
    pub fn u16(self, b: &[u8], at: usize) -> u16 {
        let Some(s) = b
            .get(at..at.wrapping_add(2))
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
        else {
            return 0;
        };
        match self {
            Endian::Little => u16::from_le_bytes(s),
            Endian::Big => u16::from_be_bytes(s),
        }
    }

    #[inline]
    pub fn u32(self, b: &[u8], at: usize) -> u32 {
        let Some(s) = b
            .get(at..at.wrapping_add(4))
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
        else {
            return 0;
        };
        match self {
            Endian::Little => u32::from_le_bytes(s),
            Endian::Big => u32::from_be_bytes(s),
        }
    }

    #[inline]
    pub fn u64(self, b: &[u8], at: usize) -> u64 {
        let Some(s) = b
            .get(at..at.wrapping_add(8))
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
        else {
            return 0;
        };
        match self {
            Endian::Little => u64::from_le_bytes(s),
            Endian::Big => u64::from_be_bytes(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_guards_bounds() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(Endian::Little.u16(&b, 0), 0x0201);
        assert_eq!(Endian::Big.u32(&b, 0), 0x0102_0304);
        assert_eq!(Endian::Little.u64(&b, 0), 0x0807_0605_0403_0201);
        assert_eq!(Endian::Big.u32(&b, 6), 0);
        assert_eq!(Endian::Big.u16(&b, usize::MAX), 0);
    }
}
