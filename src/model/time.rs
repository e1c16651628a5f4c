//! Capture time. Every timeout and duration in the core is computed from these values, never
//! from the wall clock, so a replay of the same capture gives the same result.

use std::fmt;

/// Nanoseconds since the Unix epoch, as written in the capture.
///
/// pcapng allows resolutions finer than a nanosecond; readers round those down to nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    pub const fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(nanos as i64),
        )
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// `self - earlier` in nanoseconds, saturating (captures are not always in order).
    pub const fn since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl fmt::Display for Timestamp {
    /// `seconds.nanoseconds` since the epoch, the form `tcpdump -tt --nano` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        write!(f, "{secs}.{nanos:09}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_difference() {
        let a = Timestamp::from_secs_nanos(1_700_000_000, 5);
        let b = Timestamp::from_secs_nanos(1_700_000_001, 0);
        assert_eq!(a.to_string(), "1700000000.000000005");
        assert_eq!(b.since(a), 999_999_995);
        assert_eq!(a.since(b), -999_999_995);
        assert_eq!(Timestamp(-1).to_string(), "-1.999999999");
    }
}
