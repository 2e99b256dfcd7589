//! Business hours: parsing the settings and answering "is the business open now?".

use chrono::{DateTime, Datelike, FixedOffset, NaiveTime, Utc};

use crate::bots::behaviour::BusinessHours;

/// `+HH:MM` / `-HH:MM` as an offset, or a message.
pub fn parse_offset(raw: &str) -> Result<FixedOffset, String> {
    let bad = || "Use an offset from UTC like +01:00 or -05:00.".to_owned();
    let (sign, rest) = match raw.trim().split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

/// `HH:MM` as a time of day, or a message.
pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map_err(|_| "Use a 24-hour time like 09:00.".to_owned())
}

/// Whether the business is open at `now`. Hours that do not parse count as always open, so a
/// bad setting never silences a bot (the settings form refuses them anyway).
pub fn is_open(hours: &BusinessHours, now: DateTime<Utc>) -> bool {
    if !hours.enabled {
        return true;
    }
    let (Ok(offset), Ok(open), Ok(close)) = (
        parse_offset(&hours.utc_offset),
        parse_time(&hours.open),
        parse_time(&hours.close),
    ) else {
        return true;
    };
    let local = now.with_timezone(&offset);
    let day = u8::try_from(local.weekday().number_from_monday()).unwrap_or(0);
    let time = local.time();
    hours.days.contains(&day) && time >= open && time < close
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hours(offset: &str) -> BusinessHours {
        BusinessHours {
            enabled: true,
            utc_offset: offset.into(),
            days: vec![1, 2, 3, 4, 5],
            open: "09:00".into(),
            close: "17:00".into(),
        }
    }

    #[test]
    fn open_on_weekdays_in_the_business_time_zone() {
        // Monday 2026-11-23.
        let monday_noon = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert!(is_open(&hours("+00:00"), monday_noon));
        // 12:00 UTC is 19:00 at +07:00: closed.
        assert!(!is_open(&hours("+07:00"), monday_noon));
        // 08:30 UTC is 09:30 at +01:00: open.
        let early = Utc.with_ymd_and_hms(2026, 11, 23, 8, 30, 0).unwrap();
        assert!(is_open(&hours("+01:00"), early));
        assert!(!is_open(&hours("+00:00"), early));
        // Saturday.
        let saturday = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        assert!(!is_open(&hours("+00:00"), saturday));
        // Disabled: always open.
        let mut off = hours("+00:00");
        off.enabled = false;
        assert!(is_open(&off, saturday));
    }

    #[test]
    fn settings_are_parsed_or_refused() {
        assert_eq!(
            parse_offset("-05:30").unwrap().local_minus_utc(),
            -(5 * 3600 + 1800)
        );
        assert!(parse_offset("5").is_err());
        assert!(parse_offset("+25:00").is_err());
        assert!(parse_time("9am").is_err());
        assert!(parse_time("21:15").is_ok());
    }
}
