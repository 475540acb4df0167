//! Dates and quarters: parsing the dates of partner extracts and query parameters, quarter
//! indices and their labels (`2025-Q3`). Shared by the ingest, the index, the API and the demo.

/// Days since 1970-01-01 for a valid civil date.
#[must_use]
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
#[must_use]
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    #[expect(clippy::cast_possible_truncation, reason = "years fit in i32")]
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `jjjj-mm-dd` or `dd-mm-jjjj` (also with `/`) to (year, month, day).
#[must_use]
pub fn parse_date(raw: &[u8]) -> Option<(i32, u32, u32)> {
    let raw = trim(raw);
    // Fast path for the two fixed-width forms.
    if let [r0, r1, r2, r3, r4, r5, r6, r7, r8, r9] = *raw {
        let dig = |x: u8| -> Option<u32> { x.is_ascii_digit().then(|| u32::from(x - b'0')) };
        let two = |x: u8, y: u8| Some(dig(x)? * 10 + dig(y)?);
        let sep = |x: u8, y: u8| x == y && (x == b'-' || x == b'/');
        let (y, m, d) = if sep(r4, r7) {
            // jjjj-mm-dd
            (
                two(r0, r1)? * 100 + two(r2, r3)?,
                two(r5, r6)?,
                two(r8, r9)?,
            )
        } else if sep(r2, r5) {
            // dd-mm-jjjj
            (
                two(r6, r7)? * 100 + two(r8, r9)?,
                two(r3, r4)?,
                two(r0, r1)?,
            )
        } else {
            return parse_date_general(raw);
        };
        let y = i32::try_from(y).ok()?;
        return ((2000..=2100).contains(&y)
            && (1..=12).contains(&m)
            && d >= 1
            && d <= days_in_month(y, m))
        .then_some((y, m, d));
    }
    parse_date_general(raw)
}

fn parse_date_general(raw: &[u8]) -> Option<(i32, u32, u32)> {
    let num = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        s.iter().try_fold(0u32, |a, &b| {
            a.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        })
    };
    let mut parts = raw.split(|&b| b == b'-' || b == b'/');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (y, m, d) = if a.len() == 4 {
        (num(a)?, num(b)?, num(c)?)
    } else if c.len() == 4 {
        (num(c)?, num(b)?, num(a)?)
    } else {
        return None;
    };
    let y = i32::try_from(y).ok()?;
    ((2000..=2100).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        .then_some((y, m, d))
}

/// Quarter index of a date.
#[must_use]
pub fn quarter_index(y: i32, m: u32) -> u16 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "years 2000–2100"
    )]
    let q = (y * 4 + ((m - 1) / 3) as i32) as u16;
    q
}

/// `2025-Q3` for a quarter index.
#[must_use]
pub fn period_label(q: u16) -> String {
    format!("{}-Q{}", q / 4, q % 4 + 1)
}

/// Parses `2025-Q3` (also `2025Q3`).
#[must_use]
pub fn parse_period(s: &str) -> Option<u16> {
    let (y, q) = s.split_once('Q').or_else(|| s.split_once('q'))?;
    let y: u16 = y.trim_end_matches('-').parse().ok()?;
    let q: u16 = q.parse().ok()?;
    ((2000..=2100).contains(&y) && (1..=4).contains(&q)).then(|| y * 4 + q - 1)
}

/// The first instant of a quarter label, as RFC 3339 (`2025-07-01T00:00:00Z`).
#[must_use]
pub fn quarter_start(p: &str) -> String {
    parse_period(p).map_or_else(String::new, |q| {
        format!("{}-{:02}-01T00:00:00Z", q / 4, (q % 4) * 3 + 1)
    })
}

/// The last second of a quarter label, as RFC 3339 (`2025-09-30T23:59:59Z`).
#[must_use]
pub fn quarter_end(p: &str) -> String {
    parse_period(p).map_or_else(String::new, |q| {
        let (y, m) = (q / 4, (q % 4) * 3 + 3);
        let d = if m == 6 || m == 9 { 30 } else { 31 };
        format!("{y}-{m:02}-{d}T23:59:59Z")
    })
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Seconds since 1970 (UTC).
#[must_use]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A time in unix seconds as RFC 3339 (UTC, seconds): `2026-12-02T04:05:06Z`.
#[must_use]
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rest = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The time now as RFC 3339 (UTC, seconds).
#[must_use]
pub fn now_rfc3339() -> String {
    rfc3339(unix_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_iso_and_dutch() {
        assert_eq!(parse_date(b"2025-03-31"), Some((2025, 3, 31)));
        assert_eq!(parse_date(b"31-03-2025"), Some((2025, 3, 31)));
        assert_eq!(parse_date(b"29-02-2024"), Some((2024, 2, 29)));
        assert_eq!(parse_date(b"29-02-2025"), None);
        assert_eq!(parse_date(b"2025-13-01"), None);
        assert_eq!(parse_date(b"1999-01-01"), None);
        assert_eq!(parse_date(b"2025/03/31"), Some((2025, 3, 31)));
        assert_eq!(parse_date(b"31/03/2025"), Some((2025, 3, 31)));
        assert_eq!(parse_date(b"1-3-2025"), Some((2025, 3, 1)));
        assert_eq!(parse_date(b"2025-3-1"), Some((2025, 3, 1)));
        for bad in [
            &b"2025-0a-31"[..],
            b"31-03-20x5",
            b"2025-00-10",
            b"2025-02-29",
        ] {
            assert_eq!(parse_date(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let d = days_from_civil(2025, 3, 31);
        assert_eq!(civil_from_days(d), (2025, 3, 31));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn periods() {
        let q = quarter_index(2025, 8);
        assert_eq!(period_label(q), "2025-Q3");
        assert_eq!(parse_period("2025-Q3"), Some(q));
        assert_eq!(parse_period("2025-Q5"), None);
    }

    #[test]
    fn quarter_bounds() {
        assert_eq!(quarter_start("2025-Q3"), "2025-07-01T00:00:00Z");
        assert_eq!(quarter_end("2025-Q3"), "2025-09-30T23:59:59Z");
        assert_eq!(quarter_end("2025-Q4"), "2025-12-31T23:59:59Z");
        assert_eq!(quarter_start("nonsense"), "");
    }
}
