//! Sizes as people write them, for settings and rules alike.

/// `10MB`, `512 KB`, `1.5MB` or plain bytes; units are binary (1 KB =
/// 1024 bytes), as in Exchange.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase().replace(' ', "");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit {
        "" | "B" => 1,
        "KB" | "K" => 1 << 10,
        "MB" | "M" => 1 << 20,
        "GB" | "G" => 1 << 30,
        _ => {
            return Err(format!(
                "'{text}' is not a size: use bytes or KB, MB, GB (e.g. 10MB)"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size: use bytes or KB, MB, GB (e.g. 10MB)"))?;
    if !(value.is_finite() && value >= 0.0) || value * factor as f64 > (1u64 << 50) as f64 {
        return Err(format!("'{text}' is not a size this gateway can handle"));
    }
    Ok((value * factor as f64).round() as u64)
}

/// The largest whole unit: `10MB`, `1536KB`, `100B`.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in [("GB", 1u64 << 30), ("MB", 1 << 20), ("KB", 1 << 10)] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("26214400"), Ok(26_214_400));
        assert_eq!(parse_size("512 kb"), Ok(512 * 1024));
        assert_eq!(parse_size("1.5MB"), Ok(1_572_864));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10TB").is_err());
        assert_eq!(format_size(10 * 1024 * 1024), "10MB");
        assert_eq!(format_size(1536 * 1024), "1536KB");
        assert_eq!(format_size(100), "100B");
    }
}
