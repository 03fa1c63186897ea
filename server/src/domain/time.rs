//! How times are written wherever a person or a script reads them.

/// `2026-11-23T09:15:02Z` from Unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// A time as people read it on a page: `3 Dec 2026, 12:40 UTC`.
pub fn display(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_is_utc_to_the_second() {
        assert_eq!(super::rfc3339(1_795_425_302_000), "2026-11-23T09:15:02Z");
        assert_eq!(super::rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn pages_show_day_month_year_and_minutes() {
        assert_eq!(super::display(1_795_425_302_000), "23 Nov 2026, 09:15 UTC");
        assert_eq!(super::display(1_796_301_600_000), "3 Dec 2026, 12:40 UTC");
    }
}
