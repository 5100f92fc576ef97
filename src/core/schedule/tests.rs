//! The rules of the schedule, by name: wall-clock hours, the daylight-saving changes in Berlin,
//! closures, and every bad input naming its field.

use super::*;
use chrono::NaiveDate;

fn berlin() -> Tz {
    parse_time_zone("Europe/Berlin").unwrap()
}

fn at(zone: Tz, date: (i32, u32, u32), time: (u32, u32)) -> i64 {
    let local = NaiveDate::from_ymd_opt(date.0, date.1, date.2)
        .unwrap()
        .and_hms_opt(time.0, time.1, 0)
        .unwrap();
    local_to_utc_ms(zone, local).expect("the local time exists")
}

fn week(days: &[(&str, &[(&str, &str)])]) -> WeeklyHours {
    WeeklyHours::new(days.iter().map(|(day, intervals)| {
        (
            day.to_string(),
            intervals
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }))
    .unwrap()
}

fn with_hours(hours: WeeklyHours) -> ResourceConfig {
    ResourceConfig::new(None, 1, Some(hours), Vec::new()).unwrap()
}

fn field_of(error: BookError) -> String {
    match error {
        BookError::InvalidRequest { field, .. } => field,
        other => panic!("not a 400: {other:?}"),
    }
}

/// Goal: an interval inside opening hours on the wall clock is admitted; one touching the
/// edges is too; one crossing a break or the closing time is not; a weekday left out is
/// closed.
#[test]
fn hours_on_the_wall_clock() {
    let zone = berlin();
    // 2026-12-01 is a Tuesday.
    let config = with_hours(week(&[
        ("tue", &[("09:00", "12:00"), ("13:00", "17:00")]),
        ("wed", &[("00:00", "24:00")]),
    ]));
    let tue = (2026, 12, 1);
    assert!(config.admits(zone, at(zone, tue, (9, 0)), at(zone, tue, (9, 30))));
    assert!(config.admits(zone, at(zone, tue, (11, 30)), at(zone, tue, (12, 0))));
    assert!(!config.admits(zone, at(zone, tue, (11, 30)), at(zone, tue, (13, 30))));
    assert!(!config.admits(zone, at(zone, tue, (16, 45)), at(zone, tue, (17, 15))));
    assert!(!config.admits(zone, at(zone, tue, (8, 45)), at(zone, tue, (9, 15))));
    // 08:30 UTC is 09:30 in Berlin: the zone, not UTC, decides.
    let utc_nine_thirty = at(Tz::UTC, tue, (8, 30));
    assert!(config.admits(zone, utc_nine_thirty, utc_nine_thirty + 30 * MINUTE_MS));
    assert!(!config.admits(Tz::UTC, at(Tz::UTC, tue, (8, 30)), at(Tz::UTC, tue, (9, 0))));
    // A whole day, up to midnight.
    let wed = (2026, 12, 2);
    assert!(config.admits(
        zone,
        at(zone, wed, (23, 0)),
        at(zone, (2026, 12, 3), (0, 0))
    ));
    // Across midnight into a closed Thursday.
    assert!(!config.admits(
        zone,
        at(zone, wed, (23, 30)),
        at(zone, (2026, 12, 3), (0, 30))
    ));
    // Monday is left out: closed.
    assert!(!config.admits(
        zone,
        at(zone, (2026, 11, 30), (10, 0)),
        at(zone, (2026, 11, 30), (10, 30))
    ));
}

/// Goal: on 2026-03-29 in Berlin the wall clock jumps from 02:00 to 03:00: 02:30 does not
/// exist, an hour from 01:30 ends at 03:30 on the wall, and a reservation across the jump
/// needs one interval covering both sides.
#[test]
fn the_spring_change_in_berlin() {
    let zone = berlin();
    let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
    assert_eq!(
        local_to_utc_ms(zone, day.and_hms_opt(2, 30, 0).unwrap()),
        None,
        "02:30 does not exist"
    );
    let one_thirty = at(zone, (2026, 3, 29), (1, 30));
    let hour = 60 * MINUTE_MS;
    // Sunday 01:00-04:00: the hour from 01:30 (to 03:30 on the wall) fits.
    let long = with_hours(week(&[("sun", &[("01:00", "04:00")])]));
    assert!(long.admits(zone, one_thirty, one_thirty + hour));
    // Two intervals around the skipped hour: the same hour lies in neither alone.
    let split = with_hours(week(&[("sun", &[("01:00", "02:00"), ("03:00", "04:00")])]));
    assert!(!split.admits(zone, one_thirty, one_thirty + hour));
    assert!(split.admits(zone, one_thirty, one_thirty + 30 * MINUTE_MS));
    // 03:00 to 03:30 CEST is the second interval.
    let three = at(zone, (2026, 3, 29), (3, 0));
    assert!(split.admits(zone, three, three + 30 * MINUTE_MS));
    // Hours of 02:00-03:00 never open that day: no instant reads 02:xx.
    let skipped = with_hours(week(&[("sun", &[("02:00", "03:00")])]));
    let two_utc = at(zone, (2026, 3, 29), (1, 0)) + hour; // 01:00 UTC = 03:00 CEST
    assert!(!skipped.admits(zone, two_utc, two_utc + 30 * MINUTE_MS));
}

/// Goal: on 2026-10-25 in Berlin the wall clock goes back from 03:00 to 02:00: 02:30
/// exists twice and is open at either instance; a reservation across the change covers the
/// repeated hour on the wall, both times.
#[test]
fn the_autumn_change_in_berlin() {
    let zone = berlin();
    let day = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
    let first = local_to_utc_ms(zone, day.and_hms_opt(2, 30, 0).unwrap()).unwrap();
    let hour = 60 * MINUTE_MS;
    let second = first + hour;
    assert_eq!(
        wall(zone, second).unwrap(),
        day.and_hms_opt(2, 30, 0).unwrap()
    );
    let config = with_hours(week(&[("sun", &[("02:00", "03:00")])]));
    let half = 30 * MINUTE_MS;
    assert!(config.admits(zone, first, first + half), "the first 02:30");
    assert!(
        config.admits(zone, second, second + half),
        "the second 02:30"
    );
    // From the first 02:30 to the second: 02:30-03:00 CEST and 02:00-02:30 CET, all inside.
    assert!(config.admits(zone, first, second));
    // From the first 02:15 (CEST) to 02:15 CET: it passes 02:15-03:00 and 02:00-02:15.
    let narrow = with_hours(week(&[("sun", &[("01:00", "02:30")])]));
    let quarter_past = first - 15 * MINUTE_MS;
    assert!(narrow.admits(zone, quarter_past, quarter_past + 10 * MINUTE_MS));
    assert!(
        !narrow.admits(zone, quarter_past, quarter_past + hour),
        "the wall passes 02:30-03:00 CEST, outside the interval"
    );
}

/// Goal: a closure refuses every interval overlapping it and nothing else.
#[test]
fn closures() {
    let zone = berlin();
    let start = at(zone, (2026, 12, 24), (0, 0));
    let end = at(zone, (2026, 12, 27), (0, 0));
    let config = ResourceConfig::new(
        Some("Dr. Meier".into()),
        1,
        None,
        vec![Closure::new(start, end, "closed[0]").unwrap()],
    )
    .unwrap();
    let hour = 60 * MINUTE_MS;
    assert!(config.admits(zone, start - hour, start));
    assert!(!config.admits(zone, start - hour, start + 1));
    assert!(!config.admits(zone, start + 5 * hour, start + 6 * hour));
    assert!(config.admits(zone, end, end + hour));
}

/// Goal: every bad input is refused with the field it is in.
#[test]
fn bad_input_names_its_field() {
    assert_eq!(
        field_of(parse_time_zone("Mars/Olympus").unwrap_err()),
        "time_zone"
    );
    assert_eq!(
        field_of(CompanySettings::new("UTC", "fr", 30, 300).unwrap_err()),
        "locale"
    );
    assert_eq!(
        field_of(CompanySettings::new("UTC", "en", 0, 300).unwrap_err()),
        "default_duration_minutes"
    );
    assert_eq!(
        field_of(CompanySettings::new("UTC", "en", 30, 3_601).unwrap_err()),
        "default_ttl_seconds"
    );
    let day = |intervals: &[(&str, &str)]| {
        WeeklyHours::new([(
            "mon".to_string(),
            intervals
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )])
    };
    assert_eq!(
        field_of(day(&[("25:00", "26:00")]).unwrap_err()),
        "hours.mon[0]"
    );
    assert_eq!(
        field_of(day(&[("09:00", "24:01")]).unwrap_err()),
        "hours.mon[0]"
    );
    assert_eq!(
        field_of(day(&[("24:00", "24:00")]).unwrap_err()),
        "hours.mon[0]"
    );
    assert_eq!(
        field_of(day(&[("9:00", "10:00")]).unwrap_err()),
        "hours.mon[0]"
    );
    assert_eq!(
        field_of(day(&[("10:00", "09:00")]).unwrap_err()),
        "hours.mon[0]"
    );
    assert_eq!(
        field_of(day(&[("09:00", "12:00"), ("11:00", "13:00")]).unwrap_err()),
        "hours.mon[1]"
    );
    assert!(
        day(&[("09:00", "12:00"), ("12:00", "24:00")]).is_ok(),
        "touching is fine"
    );
    assert_eq!(
        field_of(WeeklyHours::new([("monday".to_string(), vec![])]).unwrap_err()),
        "hours.monday"
    );
    assert_eq!(
        field_of(ResourceConfig::new(None, 0, None, vec![]).unwrap_err()),
        "capacity"
    );
    assert_eq!(
        field_of(ResourceConfig::new(None, 1_001, None, vec![]).unwrap_err()),
        "capacity"
    );
    assert!(ResourceConfig::new(None, 1_000, None, vec![]).is_ok());
    assert_eq!(
        field_of(Closure::new(10, 10, "closed[2]").unwrap_err()),
        "closed[2].end"
    );
}

/// Goal: hours read back as they were written.
#[test]
fn hours_round_trip() {
    let hours = week(&[
        ("mon", &[("09:00", "12:00"), ("13:00", "24:00")]),
        ("sun", &[("00:00", "24:00")]),
    ]);
    let written: Vec<(&str, Vec<(String, String)>)> = hours
        .open_days()
        .map(|(day, intervals)| (day, intervals.iter().map(|i| i.to_strings()).collect()))
        .collect();
    assert_eq!(
        written,
        vec![
            (
                "mon",
                vec![
                    ("09:00".into(), "12:00".into()),
                    ("13:00".into(), "24:00".into())
                ]
            ),
            ("sun", vec![("00:00".into(), "24:00".into())]),
        ]
    );
}
