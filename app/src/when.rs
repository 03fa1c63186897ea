//! Times as people read them on a page: `3 Dec 2026, 12:40 UTC`. The
//! server sends RFC 3339 (`2026-12-03T12:40:05Z`, the command line's and
//! the API's form); pages show it this way, inside `<time datetime=...>`.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2026-12-03T12:40:05Z` → `3 Dec 2026, 12:40 UTC`; anything else as it is.
pub fn readable(rfc3339: &str) -> String {
    let parse = || -> Option<String> {
        let (date, time) = rfc3339.strip_suffix('Z')?.split_once('T')?;
        let mut parts = date.splitn(3, '-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        let month = MONTHS.get(month.parse::<usize>().ok()?.checked_sub(1)?)?;
        let day: u32 = day.parse().ok()?;
        let hour_minute = time.get(..5)?;
        Some(format!("{day} {month} {year}, {hour_minute} UTC"))
    };
    parse().unwrap_or_else(|| rfc3339.to_string())
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn times_read_as_day_month_year_and_minutes() {
        assert_eq!(readable("2026-12-03T12:40:05Z"), "3 Dec 2026, 12:40 UTC");
        assert_eq!(readable("2026-11-23T09:15:02Z"), "23 Nov 2026, 09:15 UTC");
        assert_eq!(readable("not a time"), "not a time");
        assert_eq!(readable("2026-13-03T12:40:05Z"), "2026-13-03T12:40:05Z");
    }
}
