//! Durations as written in the configuration: `500ms`, `30s`, `10m`, `1h`, `1h30m`, or a bare integer of
//! seconds. Units are `ms`, `s`, `m` and `h`, each used at most once, largest first; no spaces or fractions.

use std::time::Duration;

/// Examples shown in messages about a malformed duration.
pub const EXAMPLES: &str = "`30s`, `10m`, `1h30m` or `500ms` (a bare number means seconds)";

/// Parses a duration; the error says what is wrong (without repeating the input).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    if text.contains(char::is_whitespace) {
        return Err("contains a space".into());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| "is too large".into());
    }

    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];
    let mut total_ms: u64 = 0;
    // Index into UNITS of the last unit used: units must come largest first, each at most once.
    let mut last: Option<usize> = None;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("is not a duration".into());
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| "is too large".to_string())?;
        rest = &rest[digits..];
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..letters];
        rest = &rest[letters..];
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(if unit.is_empty() {
                "is not a duration (a number in a combination needs a unit)".into()
            } else {
                format!("has an unknown unit `{unit}` (use h, m, s or ms)")
            });
        };
        if last.is_some_and(|l| l >= index) {
            return Err("repeats a unit or lists a smaller unit before a larger one".into());
        }
        last = Some(index);
        total_ms = number
            .checked_mul(UNITS[index].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| "is too large".to_string())?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration the way the configuration writes it (`1h30m`, `500ms`, `0s`), for messages.
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn single_units_are_understood() {
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("10m"), Duration::from_secs(600));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
    }

    #[test]
    fn a_bare_integer_means_seconds() {
        assert_eq!(ok("45"), Duration::from_secs(45));
        assert_eq!(ok("0"), Duration::ZERO);
    }

    #[test]
    fn units_combine_largest_first() {
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("2m30s"), Duration::from_secs(150));
        assert_eq!(ok("1s500ms"), Duration::from_millis(1500));
        assert_eq!(ok("1h2m3s4ms"), Duration::from_millis(3_723_004));
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(ok(" 10s "), Duration::from_secs(10));
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for bad in [
            "",
            "s",
            "ten seconds",
            "1.5h",
            "-5s",
            "10 s",
            "1h 30m",
            "10sec",
            "5d",
            "10min",
            "30m1h",
            "1m1m",
            "1h30",
            "ms500",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_space_inside_is_named_in_the_error() {
        assert_eq!(parse("1h 30m").unwrap_err(), "contains a space");
        assert_eq!(parse("1 minute").unwrap_err(), "contains a space");
    }

    #[test]
    fn an_unknown_unit_is_named_in_the_error() {
        assert!(parse("5d").unwrap_err().contains("`d`"));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert!(parse("99999999999999999999").is_err());
        assert!(parse("18446744073709551615h").is_err());
        assert!(parse("18446744073709551615").is_ok());
    }

    #[test]
    fn format_writes_the_same_notation() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_secs(600)), "10m");
    }
}
