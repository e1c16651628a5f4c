//! Timestamps as people read them: UTC calendar time with microseconds (text) or nanoseconds
//! (JSON, RFC 3339). UTC always, so a report reads the same on every machine.

use crate::model::Timestamp;
use std::cell::Cell;
use std::io::Write;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct Parts {
    date: (i64, u32, u32),
    hms: (i64, i64, i64),
    nanos: i64,
}

fn parts(ts: Timestamp) -> Parts {
    let secs = ts.nanos().div_euclid(1_000_000_000);
    let nanos = ts.nanos().rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    Parts {
        date: civil_from_days(days),
        hms: (sod / 3600, sod / 60 % 60, sod % 60),
        nanos,
    }
}

/// Length of an RFC 3339 timestamp: an i64 of nanoseconds spans the years 1677..=2262, so the
/// year always has four digits.
pub const RFC3339_LEN: usize = 30;

/// `2026-11-22T15:40:37.123456789Z`
pub fn rfc3339(ts: Timestamp) -> String {
    let buf = rfc3339_bytes(ts);
    String::from_utf8_lossy(&buf).into_owned()
}

/// [`rfc3339`] into a stack buffer: no allocation and no `fmt` machinery (the JSON report
/// writes several per exchange).
pub fn rfc3339_bytes(ts: Timestamp) -> [u8; RFC3339_LEN] {
    let secs = ts.nanos().div_euclid(1_000_000_000);
    let nanos = ts.nanos().rem_euclid(1_000_000_000);
    let mut b = *b"0000-00-00T00:00:00.000000000Z";
    let (last, head) = LAST_SECOND.get();
    match b.get_mut(..SECOND_LEN) {
        Some(h) if last == Some(secs) => h.copy_from_slice(&head),
        Some(h) => {
            let p = parts(ts);
            digits(&mut h[0..4], p.date.0.unsigned_abs());
            digits(&mut h[5..7], u64::from(p.date.1));
            digits(&mut h[8..10], u64::from(p.date.2));
            digits(&mut h[11..13], p.hms.0 as u64);
            digits(&mut h[14..16], p.hms.1 as u64);
            digits(&mut h[17..19], p.hms.2 as u64);
            let mut keep = [0u8; SECOND_LEN];
            keep.copy_from_slice(h);
            LAST_SECOND.set((Some(secs), keep));
        }
        None => {}
    }
    digits(&mut b[20..29], nanos as u64);
    b
}

/// `2026-11-22T15:40:37.`: the part of an RFC 3339 timestamp fixed by its second.
const SECOND_LEN: usize = 20;

thread_local! {
    /// The second of the last RFC 3339 timestamp written and its text: the timestamps of one
    /// exchange (and of its neighbours) mostly share a second, and the calendar arithmetic
    /// was most of the ~370 instructions each cost. A memo only: the text is the same.
    static LAST_SECOND: Cell<(Option<i64>, [u8; SECOND_LEN])> =
        const { Cell::new((None, [0; SECOND_LEN])) };
}

/// Writes the low `out.len()` decimal digits of `n`, zero-padded.
fn digits(out: &mut [u8], mut n: u64) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `15:40:37.123456` (time of day, microseconds), as tcpdump prints.
pub fn clock(ts: Timestamp) -> String {
    string_of(|out| write_clock(out, ts))
}

/// [`clock`] appended to `out`: the text report writes one per line, so no `String` and no
/// `fmt` machinery.
pub fn write_clock(out: &mut Vec<u8>, ts: Timestamp) {
    let p = parts(ts);
    let mut b = *b"00:00:00.000000";
    digits(&mut b[0..2], p.hms.0 as u64);
    digits(&mut b[3..5], p.hms.1 as u64);
    digits(&mut b[6..8], p.hms.2 as u64);
    digits(&mut b[9..15], (p.nanos / 1000) as u64);
    out.extend_from_slice(&b);
}

/// `2026-11-22 15:40:37.123456 UTC`
pub fn date_clock(ts: Timestamp) -> String {
    let p = parts(ts);
    format!(
        "{:04}-{:02}-{:02} {} UTC",
        p.date.0,
        p.date.1,
        p.date.2,
        clock(ts)
    )
}

/// A duration in nanoseconds, short and readable: `850ns`, `12.3µs`, `4.56ms`, `1.234s`, `2m03s`.
pub fn duration(nanos: i64) -> String {
    string_of(|out| write_duration(out, nanos))
}

/// [`duration`] appended to `out`.
pub fn write_duration(out: &mut Vec<u8>, nanos: i64) {
    if nanos < 0 {
        out.push(b'-');
    }
    let n = nanos.unsigned_abs();
    if n < 1_000 {
        write_decimal(out, n);
        out.extend_from_slice(b"ns");
    } else if n < 1_000_000 {
        write_fixed(out, n, 1_000, 1, "µs");
    } else if n < 1_000_000_000 {
        write_fixed(out, n, 1_000_000, 2, "ms");
    } else if n < 60_000_000_000 {
        write_fixed(out, n, 1_000_000_000, 3, "s");
    } else {
        let secs = n / 1_000_000_000;
        write_decimal(out, secs / 60);
        out.push(b'm');
        let mut ss = [0u8; 2];
        digits(&mut ss, secs % 60);
        out.extend_from_slice(&ss);
        out.push(b's');
    }
}

/// `n / per` with `places` decimals (at most 3) and `unit`: the digits `{:.places$}` prints
/// for `n as f64 / per as f64`, in integers (float formatting was a quarter of the text
/// writer). `n` is below 2^53 and the quotient below 1000, so the float is within 10^-13 of
/// `n / per` while a value that is not exactly halfway between two outputs is at least
/// `1 / per` from that midpoint: both round to the same digits. An exact half depends on how
/// the float itself rounded, so it keeps `fmt`.
fn write_fixed(out: &mut Vec<u8>, n: u64, per: u64, places: u32, unit: &str) {
    let scale = 10u64.pow(places);
    let step = per / scale;
    let (mut q, r) = (n / step, n % step);
    if r * 2 == step {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{:.*}{unit}", places as usize, n as f64 / per as f64);
        return;
    }
    if r * 2 > step {
        q += 1;
    }
    write_point(out, q, scale, places);
    out.extend_from_slice(unit.as_bytes());
}

/// `q / scale` with `places` decimals (`scale` = 10^places, `places` at most 3).
fn write_point(out: &mut Vec<u8>, q: u64, scale: u64, places: u32) {
    write_decimal(out, q / scale);
    out.push(b'.');
    let mut frac = [0u8; 3];
    if let Some(f) = frac.get_mut(..places as usize) {
        digits(f, q % scale);
        out.extend_from_slice(f);
    }
}

/// Bytes with a binary unit: `512 B`, `1.5 KiB`, `2.00 MiB`.
pub fn bytes(n: u64) -> String {
    string_of(|out| write_bytes(out, n))
}

/// [`bytes`] appended to `out`.
pub fn write_bytes(out: &mut Vec<u8>, n: u64) {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        write_decimal(out, n);
        out.extend_from_slice(b" B");
        return;
    }
    let mut unit = 0;
    while unit + 1 < UNITS.len() && n >> (10 * (unit + 2)) > 0 {
        unit += 1;
    }
    // In integers, tenths of the unit rounded to nearest: `n / 1024^k` is exact as a float
    // (below 2^53), so `{:.1}` rounds the true value; an exact half (and a larger `n`) keeps
    // `fmt`, whose tie rule then decides.
    let shift = 10 * (unit as u32 + 1);
    let tenths = u128::from(n) * 10;
    let (q, r) = (tenths >> shift, tenths & ((1u128 << shift) - 1));
    let half = 1u128 << (shift - 1);
    match u64::try_from(q + u128::from(r > half)) {
        Ok(q) if r != half && n < 1 << 53 => write_point(out, q, 10, 1),
        _ => {
            let v = n as f64 / (1u64 << shift) as f64;
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v:.1}");
        }
    }
    out.push(b' ');
    out.extend_from_slice(UNITS[unit].as_bytes());
}

/// `n` in decimal, appended to `out` (what `{n}` prints, without `fmt`).
pub fn write_decimal(out: &mut Vec<u8>, n: u64) {
    let mut b = [0u8; 20];
    let len = if n == 0 { 1 } else { (n.ilog10() + 1) as usize };
    let Some(d) = b.get_mut(..len) else {
        return;
    };
    digits(d, n);
    out.extend_from_slice(d);
}

/// What a byte writer wrote, as a `String` (the writers only write UTF-8).
fn string_of(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(rfc3339(Timestamp(0)), "1970-01-01T00:00:00.000000000Z");
        // `date -u -d @1795361437` → Sun Nov 22 15:30:37 UTC 2026
        let ts = Timestamp::from_secs_nanos(1_795_361_437, 123_456_789);
        assert_eq!(rfc3339(ts), "2026-11-22T15:30:37.123456789Z");
        assert_eq!(clock(ts), "15:30:37.123456");
        assert_eq!(date_clock(ts), "2026-11-22 15:30:37.123456 UTC");
        // Leap day and before the epoch.
        assert_eq!(
            rfc3339(Timestamp::from_secs_nanos(951_782_400, 0)),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(rfc3339(Timestamp(-1)), "1969-12-31T23:59:59.999999999Z");
        // The ends of the range keep four-digit years.
        assert_eq!(
            rfc3339(Timestamp(i64::MIN)),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert_eq!(
            rfc3339(Timestamp(i64::MAX)),
            "2262-04-11T23:47:16.854775807Z"
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(duration(850), "850ns");
        assert_eq!(duration(12_345), "12.3µs");
        assert_eq!(duration(4_560_000), "4.56ms");
        assert_eq!(duration(1_234_000_000), "1.234s");
        assert_eq!(duration(123_000_000_000), "2m03s");
        assert_eq!(duration(-2_000), "-2.0µs");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        for n in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut out = Vec::new();
            write_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        assert_eq!(
            clock(Timestamp::from_secs_nanos(59, 999)),
            "00:00:59.000000"
        );
    }

    /// The float formatting the integer paths replace.
    fn by_float(n: u64) -> (String, String) {
        let d = if n < 1_000 {
            format!("{n}ns")
        } else if n < 1_000_000 {
            format!("{:.1}µs", n as f64 / 1e3)
        } else if n < 1_000_000_000 {
            format!("{:.2}ms", n as f64 / 1e6)
        } else if n < 60_000_000_000 {
            format!("{:.3}s", n as f64 / 1e9)
        } else {
            let secs = n / 1_000_000_000;
            format!("{}m{:02}s", secs / 60, secs % 60)
        };
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        let b = if n < 1024 {
            format!("{n} B")
        } else {
            let mut v = n as f64 / 1024.0;
            let mut unit = 0;
            while v >= 1024.0 && unit + 1 < UNITS.len() {
                v /= 1024.0;
                unit += 1;
            }
            format!("{v:.1} {}", UNITS[unit])
        };
        (d, b)
    }

    #[test]
    fn integer_units_match_float_formatting() {
        let edges = [
            0,
            999,
            1_000,
            1_050,
            1_150,
            12_350,
            999_949,
            999_950,
            999_999,
            1_005_000,
            59_999_999_999,
            60_000_000_000,
            1536,
            1587,
            1_048_575,
            (1 << 53) - 1,
            1 << 53,
            u64::MAX / 3,
            u64::MAX,
        ];
        for n in edges.into_iter().chain((0..200_000).map(|i| i * 7_919)) {
            let d = if n < 1 << 62 {
                duration(n as i64)
            } else {
                by_float(n).0
            };
            assert_eq!((d, bytes(n)), by_float(n), "{n}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_count_formats_like_float(n in 0u64..1 << 40, shift in 0u32..24) {
            let n = n << shift;
            let d = if n < 1 << 62 { duration(n as i64) } else { by_float(n).0 };
            proptest::prop_assert_eq!((d, bytes(n)), by_float(n));
        }
    }
}
