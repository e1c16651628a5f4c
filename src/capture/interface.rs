//! pcapng Interface Description Block contents (draft-ietf-opsawg-pcapng section 4.2): link
//! type, snaplen and the options hopscope reports, and the timestamp unit from `if_tsresol`.
//!
//! Options are read leniently: a malformed option ends the list but keeps the interface, since
//! its packets are still readable (Wireshark does the same for unknown options).

use super::endian::Endian;
use super::info::InterfaceInfo;

const IDB_OFF_LINKTYPE: usize = 0;
const IDB_OFF_SNAPLEN: usize = 4;
/// Fixed part of the IDB body: linktype u16, reserved u16, snaplen u32.
pub const IDB_FIXED: usize = 8;

/// IDB option codes (section 4.2).
const OPT_ENDOFOPT: u16 = 0;
const IF_NAME: u16 = 2;
const IF_DESCRIPTION: u16 = 3;
const IF_TSRESOL: u16 = 9;
const IF_FCSLEN: u16 = 13;
const IF_TSOFFSET: u16 = 14;
/// Default if_tsresol: microseconds.
const DEFAULT_TSRESOL: u8 = 6;

/// How to turn a raw timestamp into nanoseconds: precomputed from if_tsresol.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Units {
    /// 10^-n, n <= 9: multiply.
    Mul(u64),
    /// 10^-n, n > 9: divide (rounds down, as model::Timestamp documents).
    Div(u128),
    /// 2^-n: `raw * 1e9 >> n`.
    Pow2(u32),
}

impl Units {
    pub fn from_tsresol(resol: u8) -> Units {
        let n = u32::from(resol & 0x7f);
        if resol & 0x80 != 0 {
            Units::Pow2(n)
        } else if n <= 9 {
            Units::Mul(10u64.pow(9 - n))
        } else {
            // Beyond 10^38 (u128) every u64 timestamp is 0 ns anyway.
            Units::Div(10u128.checked_pow(n - 9).unwrap_or(u128::MAX))
        }
    }

    #[inline]
    pub fn nanos(self, raw: u64) -> i64 {
        let ns: u128 = match self {
            Units::Mul(m) => u128::from(raw) * u128::from(m),
            Units::Div(d) => u128::from(raw) / d,
            Units::Pow2(n) => (u128::from(raw) * 1_000_000_000) >> n.min(127),
        };
        i64::try_from(ns).unwrap_or(i64::MAX)
    }
}

/// Parses an IDB body (at least [`IDB_FIXED`] bytes). Malformed options end the option list
/// (the interface is still usable).
pub(crate) fn parse_idb(
    body: &[u8],
    e: Endian,
    file: usize,
    section: u32,
) -> (InterfaceInfo, Units) {
    let mut info = InterfaceInfo {
        file,
        name: None,
        description: None,
        link_type: u32::from(e.u16(body, IDB_OFF_LINKTYPE)),
        snaplen: e.u32(body, IDB_OFF_SNAPLEN),
        tsresol: DEFAULT_TSRESOL,
        tsoffset: 0,
        fcs_bits: None,
        section,
    };
    for (code, value) in Options::new(body.get(IDB_FIXED..).unwrap_or_default(), e) {
        match code {
            IF_NAME => info.name = Some(text(value)),
            IF_DESCRIPTION => info.description = Some(text(value)),
            IF_TSRESOL => info.tsresol = value.first().copied().unwrap_or(DEFAULT_TSRESOL),
            IF_TSOFFSET if value.len() == 8 => info.tsoffset = e.u64(value, 0) as i64,
            IF_FCSLEN => info.fcs_bits = value.first().copied(),
            _ => {}
        }
    }
    let units = Units::from_tsresol(info.tsresol);
    (info, units)
}

/// An option string: UTF-8 per the draft, trailing NULs (some writers add them) dropped.
fn text(value: &[u8]) -> String {
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(value.get(..end).unwrap_or_default()).into_owned()
}

/// Options (section 3.5): code u16, length u16, value padded to 32 bits; ends at opt_endofopt
/// or at the first option that does not fit.
struct Options<'a> {
    rest: &'a [u8],
    e: Endian,
}

impl<'a> Options<'a> {
    fn new(rest: &'a [u8], e: Endian) -> Self {
        Options { rest, e }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let code = self.e.u16(self.rest, 0);
        let len = usize::from(self.e.u16(self.rest, 2));
        if self.rest.len() < 4 || code == OPT_ENDOFOPT {
            return None;
        }
        let value = self.rest.get(4..4 + len)?;
        let padded = 4 + len.div_ceil(4) * 4;
        self.rest = self.rest.get(padded..).unwrap_or_default();
        Some((code, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_conversions() {
        assert_eq!(Units::from_tsresol(6).nanos(1_500_000), 1_500_000_000);
        assert_eq!(Units::from_tsresol(9).nanos(42), 42);
        // Picoseconds round down.
        assert_eq!(Units::from_tsresol(12).nanos(1_999), 1);
        // 2^-10 seconds: 1024 units = 1 s.
        assert_eq!(Units::from_tsresol(0x80 | 10).nanos(1024), 1_000_000_000);
        assert_eq!(Units::from_tsresol(0x80 | 30).nanos(1), 0);
        // Absurd resolutions never panic.
        assert_eq!(Units::from_tsresol(127).nanos(u64::MAX), 0);
        assert_eq!(Units::from_tsresol(0xff).nanos(u64::MAX), 0);
        assert_eq!(Units::from_tsresol(0).nanos(u64::MAX), i64::MAX);
    }

    #[test]
    fn options_stop_at_end_or_overrun() {
        let e = Endian::Little;
        let b = [
            2, 0, 3, 0, b'e', b't', b'h', 0, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0,
        ];
        let got: Vec<_> = Options::new(&b, e).collect();
        assert_eq!(got, vec![(2, &b"eth"[..]), (9, &[9u8][..])]);
        let overrun = [2, 0, 200, 0, b'x'];
        assert_eq!(Options::new(&overrun, e).count(), 0);
    }
}
