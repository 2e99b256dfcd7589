//! Business hours: parsing the settings, answering "is the business open now?" and "since
//! when has it been closed?", and writing the hours out for customers.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveTime, TimeZone, Utc};

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

/// Where a reply says `{hours}`, the hours are written out ([`describe`]), so a reply always
/// names the hours as they are set now.
pub const PLACEHOLDER: &str = "{hours}";

/// `text` with [`PLACEHOLDER`] replaced by the current hours.
pub fn fill(text: &str, hours: &BusinessHours) -> String {
    if text.contains(PLACEHOLDER) {
        text.replace(PLACEHOLDER, &describe(hours))
    } else {
        text.to_owned()
    }
}

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The hours for customers: "every day, 11:00 to 22:00", "Monday to Friday, 09:00 to 17:00",
/// "Monday, Wednesday and Friday, 09:00 to 13:00".
pub fn describe(hours: &BusinessHours) -> String {
    let mut days: Vec<u8> = hours
        .days
        .iter()
        .copied()
        .filter(|d| (1..=7).contains(d))
        .collect();
    days.sort_unstable();
    days.dedup();
    let name = |d: u8| DAY_NAMES[usize::from(d - 1)];
    let consecutive = days.windows(2).all(|w| w[1] == w[0] + 1);
    let which = match days.as_slice() {
        [] => "no day".to_owned(),
        [1, 2, 3, 4, 5, 6, 7] => "every day".to_owned(),
        [only] => name(*only).to_owned(),
        [first, .., last] if consecutive && days.len() > 2 => {
            format!("{} to {}", name(*first), name(*last))
        }
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(|d| name(*d)).collect();
            format!("{} and {}", init.join(", "), name(*last))
        }
    };
    format!("{which}, {} to {}", hours.open.trim(), hours.close.trim())
}

/// When the closed period `now` falls in began (the last closing time), or `None` while
/// open. Hours that never open count as closed since the epoch. Two messages in the same
/// closed period get the same answer, so the away message can be sent once per period.
pub fn closed_since(hours: &BusinessHours, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if is_open(hours, now) {
        return None;
    }
    let (Ok(offset), Ok(close)) = (parse_offset(&hours.utc_offset), parse_time(&hours.close))
    else {
        return None;
    };
    let today = now.with_timezone(&offset).date_naive();
    (0..=7)
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .filter(|day| {
            let number = u8::try_from(day.weekday().number_from_monday()).unwrap_or(0);
            hours.days.contains(&number)
        })
        .filter_map(|day| offset.from_local_datetime(&day.and_time(close)).single())
        .map(|closed| closed.with_timezone(&Utc))
        .find(|closed| *closed <= now)
        .or(Some(DateTime::UNIX_EPOCH))
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
    fn a_closed_period_starts_at_the_last_closing_time() {
        let weekdays = hours("+01:00");
        let closed_at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        // Friday 2026-11-27 17:00 at +01:00 is 16:00 UTC; the weekend and Monday morning
        // are one closed period.
        let friday_close = closed_at(2026, 11, 27, 16);
        for now in [
            closed_at(2026, 11, 27, 20),
            closed_at(2026, 11, 28, 12),
            closed_at(2026, 11, 30, 7),
        ] {
            assert_eq!(closed_since(&weekdays, now), Some(friday_close), "{now}");
        }
        // Open on Monday at 10:00 local: no closed period.
        assert_eq!(closed_since(&weekdays, closed_at(2026, 11, 30, 9)), None);
        // Monday evening is the next period.
        assert_eq!(
            closed_since(&weekdays, closed_at(2026, 11, 30, 18)),
            Some(closed_at(2026, 11, 30, 16))
        );
        let mut never = weekdays;
        never.days.clear();
        assert_eq!(
            closed_since(&never, friday_close),
            Some(DateTime::UNIX_EPOCH)
        );
    }

    #[test]
    fn hours_are_written_for_customers() {
        let mut h = hours("+00:00");
        assert_eq!(describe(&h), "Monday to Friday, 09:00 to 17:00");
        h.days = vec![1, 2, 3, 4, 5, 6, 7];
        assert_eq!(describe(&h), "every day, 09:00 to 17:00");
        h.days = vec![5, 1, 3];
        assert_eq!(describe(&h), "Monday, Wednesday and Friday, 09:00 to 17:00");
        h.days = vec![6, 7];
        assert_eq!(describe(&h), "Saturday and Sunday, 09:00 to 17:00");
        h.days = vec![2];
        assert_eq!(
            fill("We open {hours}.", &h),
            "We open Tuesday, 09:00 to 17:00."
        );
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
