//! Dates, deadlines, durations and recurrence rules as villagers type them.
//!
//! Everything here is pure: no clock, no I/O, no randomness. The caller always
//! passes "now" and the village time zone, so the same input gives the same
//! answer on every device, which a local-first app that merges replicas needs
//! (two peers must agree on when an offer expires).
//!
//! Three families of input are handled:
//!
//! * absolute dates and times ([`parse_datetime`]), in the shapes people
//!   actually type in France (`05/12/2026 18h00`) as well as the machine forms
//!   (RFC 3339, RFC 9557);
//! * deadlines for `--until` / `--expires` ([`parse_deadline`]), which are
//!   either an absolute date or a duration from now ([`parse_duration`]);
//! * a small, safe subset of RFC 5545 recurrence rules ([`Recurrence`]), so a
//!   weekly workshop can be written once and exported to any calendar app.
//!
//! Every error is a [`TimeError`] whose message says what form was expected and
//! whose [`TimeError::code`] is stable, so the app can translate messages.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{RoundMode, Span, Timestamp, TimestampRound, Unit, Zoned};

/// Largest `INTERVAL` accepted in a recurrence rule.
///
/// Nothing in village life repeats every thousand periods; a bound keeps the
/// period arithmetic far away from overflow.
pub const MAX_INTERVAL: u32 = 1000;

/// Hard cap on the number of occurrences [`Recurrence::occurrences`] returns,
/// whatever `limit` the caller asks for, so a rule received from a peer can
/// never make us allocate without bound.
pub const MAX_OCCURRENCES: usize = 10_000;

/// Hard cap on the number of recurrence periods (days, weeks, months or years)
/// that [`Recurrence::occurrences`] walks through in one call.
///
/// Together with [`MAX_OCCURRENCES`] this bounds the work done for any rule and
/// any window: a malicious or mistaken rule can make the answer short, never
/// make the call slow. Half a million periods covers a monthly rule across
/// jiff's whole supported range (years -9999 to 9999).
const MAX_PERIODS: u64 = 500_000;

/// Why a date, deadline, duration or recurrence rule was refused.
///
/// Messages are lowercase, without a trailing dot, and each one says what was
/// expected, so they can be shown to a villager as they are. For translation,
/// match on [`TimeError::code`], which never changes once published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// Nothing (or only spaces) was given.
    #[error("no date or time given (expected e.g. 2026-12-05 18:00)")]
    Empty,

    /// The text does not have the shape of any accepted date and time.
    #[error("{0:?} is not a date and time (expected e.g. 2026-12-05 18:00 or 05/12/2026 18h00)")]
    NotADateTime(String),

    /// The text has the shape of a date, but no such day exists.
    #[error("{0:?} is not a real calendar day (expected year-month-day such as 2026-12-05, or day/month/year)")]
    InvalidDate(String),

    /// The text has the shape of a time, but no such time of day exists.
    #[error("{0:?} is not a valid time of day (expected hours 0-23 and minutes 0-59, e.g. 18:00 or 18h00)")]
    InvalidTime(String),

    /// The local time falls in a daylight-saving gap: clocks jump over it.
    #[error("{text:?} does not exist in {zone} because clocks jump forward then (expected a time outside that gap)")]
    NonExistentLocalTime {
        /// What the user typed.
        text: String,
        /// The time zone the local time was read in.
        zone: String,
    },

    /// The date is outside the range jiff can represent (years -9999..=9999),
    /// or a duration added to now leaves that range.
    #[error("{0:?} is too far in the past or future (expected a year between 1 and 9999)")]
    OutOfRange(String),

    /// Neither a date nor a duration (used by [`parse_deadline`]).
    #[error("{0:?} is not a date or a duration (expected e.g. 2026-12-05, 2026-12-05 18:00, 7d or 2 semaines)")]
    NotADeadline(String),

    /// A deadline that is not strictly after now.
    #[error("{0:?} is not in the future (expected a later date, or a duration such as 7d)")]
    InPast(String),

    /// The text does not have the shape of a duration.
    #[error("{0:?} is not a duration (expected e.g. 30min, 12h, 3d, 2w, 1mo, 3 jours or 2 semaines)")]
    InvalidDuration(String),

    /// A bare `m` unit, which could mean minutes or months.
    #[error("{0:?} is ambiguous: m could mean minutes or months (expected min for minutes or mo/mois for months)")]
    AmbiguousUnit(String),

    /// A duration of zero.
    #[error("{0:?} is zero (expected a duration longer than zero, e.g. 7d)")]
    ZeroDuration(String),

    /// A duration too large to be represented.
    #[error("{0:?} is too long (expected a duration of less than a few thousand years)")]
    DurationTooLarge(String),

    /// A recurrence rule without `FREQ`.
    #[error("{0:?} has no FREQ (expected a recurrence rule such as FREQ=WEEKLY;BYDAY=TU)")]
    RruleMissingFreq(String),

    /// A recurrence rule part outside the supported subset.
    #[error(
        "recurrence rule part {0:?} is not supported (expected only FREQ=DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL, \
         COUNT, UNTIL, WKST, and BYDAY with FREQ=WEEKLY)"
    )]
    RruleUnsupported(String),

    /// A recurrence rule part with a value that cannot be used.
    #[error("recurrence rule part {part:?} is invalid (expected {expected})")]
    RruleInvalid {
        /// The offending `NAME=VALUE` part.
        part: String,
        /// What a valid value looks like.
        expected: &'static str,
    },

    /// The same recurrence rule part given twice.
    #[error("recurrence rule part {0} appears more than once (expected each part at most once)")]
    RruleDuplicate(String),

    /// Both `COUNT` and `UNTIL`, which RFC 5545 forbids.
    #[error("recurrence rule has both COUNT and UNTIL (expected at most one of them)")]
    RruleCountAndUntil,
}

impl TimeError {
    /// The piece of input the error is about ("" when there is none), for
    /// translated messages.
    pub fn input(&self) -> &str {
        match self {
            Self::NotADateTime(text)
            | Self::InvalidDate(text)
            | Self::InvalidTime(text)
            | Self::OutOfRange(text)
            | Self::NotADeadline(text)
            | Self::InPast(text)
            | Self::InvalidDuration(text)
            | Self::AmbiguousUnit(text)
            | Self::ZeroDuration(text)
            | Self::DurationTooLarge(text)
            | Self::RruleMissingFreq(text)
            | Self::RruleUnsupported(text)
            | Self::RruleDuplicate(text) => text,
            Self::NonExistentLocalTime { text, .. } => text,
            Self::RruleInvalid { part, .. } => part,
            Self::Empty | Self::RruleCountAndUntil => "",
        }
    }

    /// A stable identifier for this kind of error, for translation tables and
    /// for tests that must not depend on English wording.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "time-empty",
            Self::NotADateTime(_) => "time-invalid",
            Self::InvalidDate(_) => "time-invalid-date",
            Self::InvalidTime(_) => "time-invalid-time",
            Self::NonExistentLocalTime { .. } => "time-nonexistent",
            Self::OutOfRange(_) => "time-out-of-range",
            Self::NotADeadline(_) => "time-invalid-deadline",
            Self::InPast(_) => "time-in-past",
            Self::InvalidDuration(_) => "time-invalid-duration",
            Self::AmbiguousUnit(_) => "time-ambiguous-unit",
            Self::ZeroDuration(_) => "time-zero-duration",
            Self::DurationTooLarge(_) => "time-duration-too-large",
            Self::RruleMissingFreq(_) => "time-rrule-missing-freq",
            Self::RruleUnsupported(_) => "time-rrule-unsupported",
            Self::RruleInvalid { .. } => "time-rrule-invalid",
            Self::RruleDuplicate(_) => "time-rrule-duplicate",
            Self::RruleCountAndUntil => "time-rrule-count-and-until",
        }
    }
}

// ---------------------------------------------------------------------------
// Dates and times
// ---------------------------------------------------------------------------

/// What the text named, before the time zone is applied. Deadlines need to
/// know whether a time of day was given (a bare date means the end of the day).
enum Input {
    /// An exact instant in a named zone (RFC 9557).
    Zoned(Zoned),
    /// An exact instant given with a UTC offset (RFC 3339).
    Instant(Timestamp),
    /// A local date and time of day, to be read in the village time zone.
    Local(DateTime),
    /// A local date without time of day.
    Date(Date),
}

/// Parses a date and time as a villager types it.
///
/// Accepted forms:
///
/// * `2026-12-05 18:00`, `2026-12-05T18:00`, `2026-12-05 18:00:30`;
/// * French hours: `2026-12-05 18h00`, `2026-12-05 18h`;
/// * French day/month/year: `05/12/2026 18:00`, `5/12/2026 18h30`,
///   `05/12/2026`, optionally with `à` before the time (`05/12/2026 à 18h`);
/// * a bare date `2026-12-05`, meaning midnight (the start of that day);
/// * RFC 9557: `2026-12-05T18:00:00+01:00[Europe/Paris]`; the result keeps the
///   zone named in brackets, because the author chose it explicitly;
/// * RFC 3339: `2026-12-05T18:00:00+01:00` or `2026-12-05T17:00:00Z`; the
///   instant is kept and shown in `tz`.
///
/// Local forms are read in `tz`. A time that falls in a daylight-saving gap
/// (e.g. 02:30 on the last Sunday of March in Paris) does not exist and is an
/// error, since guessing could move a meeting by an hour. A time that occurs
/// twice (the autumn fold) takes the earlier of the two instants (jiff's
/// "compatible" rule, also what RFC 5545 prescribes), which is deterministic
/// and matches what a villager usually means: the first 02:30. A bare date
/// uses the same compatible rule, so in zones where midnight is skipped it
/// means the first instant of the day.
pub fn parse_datetime(text: &str, tz: &TimeZone) -> Result<Zoned, TimeError> {
    match parse_input(text)? {
        Input::Zoned(zoned) => Ok(zoned),
        Input::Instant(ts) => Ok(ts.to_zoned(tz.clone())),
        Input::Local(dt) => local_to_zoned(text, dt, tz),
        Input::Date(date) => compatible(text, date.to_datetime(Time::midnight()), tz),
    }
}

/// Parses an `--until` / `--expires` value: an absolute date or a duration
/// from `now`, which must lie strictly in the future.
///
/// * Everything [`parse_datetime`] accepts is accepted, except that a bare
///   date means the *end* of that day (23:59:59 local): "until 5 December"
///   includes the 5th.
/// * A duration as accepted by [`parse_duration`] (`3d`, `2 semaines`, `12h`)
///   is added to `now` in `tz`, so `1d` keeps the same wall-clock time across
///   a daylight-saving change.
///
/// A deadline at or before `now` is refused ([`TimeError::InPast`]) rather
/// than silently creating something that is already expired.
pub fn parse_deadline(text: &str, tz: &TimeZone, now: Timestamp) -> Result<Zoned, TimeError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TimeError::Empty);
    }
    let deadline = if looks_like_duration(trimmed) {
        let span = parse_duration(trimmed)?;
        now.to_zoned(tz.clone())
            .checked_add(span)
            .map_err(|_| TimeError::OutOfRange(trimmed.to_owned()))?
    } else {
        let input = parse_input(trimmed).map_err(|err| match err {
            // Say "date or duration" when nothing in the text looked like a
            // date: the user may have mistyped a duration.
            TimeError::NotADateTime(t) if !t.contains(['-', '/', ':']) => TimeError::NotADeadline(t),
            other => other,
        })?;
        match input {
            Input::Zoned(zoned) => zoned,
            Input::Instant(ts) => ts.to_zoned(tz.clone()),
            Input::Local(dt) => local_to_zoned(trimmed, dt, tz)?,
            Input::Date(date) => compatible(trimmed, date.to_datetime(Time::constant(23, 59, 59, 0)), tz)?,
        }
    };
    if deadline.timestamp() <= now {
        return Err(TimeError::InPast(trimmed.to_owned()));
    }
    Ok(deadline)
}

/// Reads `text` into one of the [`Input`] shapes without applying a zone.
fn parse_input(text: &str) -> Result<Input, TimeError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TimeError::Empty);
    }
    let invalid = || TimeError::NotADateTime(text.to_owned());
    if text.contains('[') {
        return text.parse::<Zoned>().map(Input::Zoned).map_err(|_| invalid());
    }
    // RFC 3339 needs an offset; jiff refuses a timestamp without one, so a
    // successful parse here is never a local time misread.
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(Input::Instant(ts));
    }

    let (date_part, time_part) = split_date_time(text);
    let date = parse_date(date_part, text)?;
    match time_part {
        None => Ok(Input::Date(date)),
        Some(time_text) => {
            let time = parse_time(time_text, text)?;
            Ok(Input::Local(date.to_datetime(time)))
        }
    }
}

/// Splits `2026-12-05T18:00`, `2026-12-05 18:00` and `05/12/2026 à 18h` into
/// their date and time halves.
fn split_date_time(text: &str) -> (&str, Option<&str>) {
    if let Some((date, time)) = text.split_once(['T', 't']) {
        return (date, Some(time));
    }
    match text.split_once(char::is_whitespace) {
        None => (text, None),
        Some((date, rest)) => {
            let rest = rest.trim_start();
            let rest = rest
                .strip_prefix('à')
                .or_else(|| rest.strip_prefix('a'))
                .filter(|after| after.starts_with(char::is_whitespace))
                .map_or(rest, str::trim_start);
            (date, Some(rest))
        }
    }
}

/// Parses `2026-12-05` or French `05/12/2026` (day first, four-digit year).
fn parse_date(part: &str, whole: &str) -> Result<Date, TimeError> {
    let invalid = || TimeError::NotADateTime(whole.to_owned());
    let (year, month, day) = if let Some((y, rest)) = part.split_once('-') {
        let (m, d) = rest.split_once('-').ok_or_else(invalid)?;
        (y, m, d)
    } else if let Some((d, rest)) = part.split_once('/') {
        let (m, y) = rest.split_once('/').ok_or_else(invalid)?;
        (y, m, d)
    } else {
        return Err(invalid());
    };
    // A two-digit year would be a guess about the century: refuse it.
    if year.len() != 4 || !(1..=2).contains(&month.len()) || !(1..=2).contains(&day.len()) {
        return Err(invalid());
    }
    let year: i16 = digits(year).ok_or_else(invalid)?;
    let month: i8 = digits(month).ok_or_else(invalid)?;
    let day: i8 = digits(day).ok_or_else(invalid)?;
    Date::new(year, month, day).map_err(|_| TimeError::InvalidDate(whole.to_owned()))
}

/// Parses `18:00`, `18:00:30`, `18h00`, `18h` and `8h30`.
fn parse_time(part: &str, whole: &str) -> Result<Time, TimeError> {
    let invalid = || TimeError::NotADateTime(whole.to_owned());
    let (hour, minute, second) = if let Some((h, m)) = part.split_once(['h', 'H']) {
        (h, if m.is_empty() { "00" } else { m }, "00")
    } else {
        let mut fields = part.split(':');
        let h = fields.next().ok_or_else(invalid)?;
        let m = fields.next().ok_or_else(invalid)?;
        let s = fields.next().unwrap_or("00");
        if fields.next().is_some() {
            return Err(invalid());
        }
        (h, m, s)
    };
    if !(1..=2).contains(&hour.len()) || minute.len() != 2 || second.len() != 2 {
        return Err(invalid());
    }
    let hour: i8 = digits(hour).ok_or_else(invalid)?;
    let minute: i8 = digits(minute).ok_or_else(invalid)?;
    let second: i8 = digits(second).ok_or_else(invalid)?;
    Time::new(hour, minute, second, 0).map_err(|_| TimeError::InvalidTime(whole.to_owned()))
}

/// Parses a run of ASCII digits (no sign, no spaces), unlike `str::parse`
/// which would accept `+5`.
fn digits<T: FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads a local date-time in `tz`, refusing a time inside a DST gap and
/// taking the earlier instant in a fold (see [`parse_datetime`]).
fn local_to_zoned(text: &str, dt: DateTime, tz: &TimeZone) -> Result<Zoned, TimeError> {
    let ambiguous = tz.to_ambiguous_zoned(dt);
    if let AmbiguousOffset::Gap { .. } = ambiguous.offset() {
        return Err(TimeError::NonExistentLocalTime {
            text: text.trim().to_owned(),
            zone: zone_name(tz),
        });
    }
    ambiguous
        .compatible()
        .map_err(|_| TimeError::OutOfRange(text.trim().to_owned()))
}

/// Reads a local date-time in `tz` with jiff's compatible rule (gap: shift
/// forward by the gap's length; fold: earlier instant).
fn compatible(text: &str, dt: DateTime, tz: &TimeZone) -> Result<Zoned, TimeError> {
    tz.to_ambiguous_zoned(dt)
        .compatible()
        .map_err(|_| TimeError::OutOfRange(text.trim().to_owned()))
}

/// A name for `tz` fit for an error message.
fn zone_name(tz: &TimeZone) -> String {
    tz.iana_name()
        .map_or_else(|| "the local time zone".to_owned(), str::to_owned)
}

// ---------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------

/// True when `text` is meant as a duration rather than a date: it starts with
/// a digit and contains none of the separators dates use. ISO 8601 durations
/// (`P7D`) count too.
fn looks_like_duration(text: &str) -> bool {
    let iso = text.starts_with(['P', 'p']) && text.len() > 1;
    let friendly = text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', '/', ':', '[']);
    iso || friendly
}

/// The units a villager may write after a number, in French or English.
///
/// `m` alone is deliberately absent: in `1m` nobody can tell minutes from
/// months, and an offer expiring 43,000 minutes too late is a real bug.
fn unit_of(word: &str) -> Option<Unit> {
    let unit = match word {
        "min" | "mins" | "mn" | "minute" | "minutes" => Unit::Minute,
        "h" | "hr" | "hrs" | "hour" | "hours" | "heure" | "heures" => Unit::Hour,
        "d" | "day" | "days" | "j" | "jour" | "jours" => Unit::Day,
        "w" | "wk" | "wks" | "week" | "weeks" | "sem" | "semaine" | "semaines" => Unit::Week,
        "mo" | "mos" | "month" | "months" | "mois" => Unit::Month,
        "y" | "yr" | "yrs" | "year" | "years" | "an" | "ans" | "année" | "années" | "annee" | "annees" => Unit::Year,
        _ => return None,
    };
    Some(unit)
}

/// Parses a duration such as `30min`, `12h`, `3d`, `2w`, `1mo`, `1y`,
/// `3 jours`, `2 semaines`, `1 mois`, or a combination (`1d 12h`,
/// `1 jour 12 heures`). An ISO 8601 duration (`P7D`, `PT1H30M`) is accepted
/// too, since that is what other programs write.
///
/// The result is a calendar-aware [`Span`] rather than a fixed number of
/// seconds: added to a zoned time, `1d` means "same time tomorrow" even across
/// a daylight-saving change, and `1mo` means the same day next month, which
/// is what "expires in a month" means to a person.
///
/// Units are case-insensitive; each unit may appear once; `m` alone is
/// refused as ambiguous (use `min` or `mo`); zero is refused.
pub fn parse_duration(text: &str) -> Result<Span, TimeError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TimeError::Empty);
    }
    let invalid = || TimeError::InvalidDuration(trimmed.to_owned());
    let span = if trimmed.starts_with(['P', 'p']) {
        trimmed.parse::<Span>().map_err(|_| invalid())?
    } else {
        parse_friendly_duration(trimmed)?
    };
    if span.is_negative() {
        return Err(invalid());
    }
    if span.is_zero() {
        return Err(TimeError::ZeroDuration(trimmed.to_owned()));
    }
    Ok(span)
}

/// The `3d`, `2 semaines`, `1d 12h` part of [`parse_duration`].
fn parse_friendly_duration(text: &str) -> Result<Span, TimeError> {
    let invalid = || TimeError::InvalidDuration(text.to_owned());
    let lower = text.to_lowercase();
    let mut rest = lower.as_str();
    let mut span = Span::new();
    let mut seen: Vec<Unit> = Vec::new();
    while !rest.is_empty() {
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(invalid());
        }
        let number: i64 = rest[..digits_end]
            .parse()
            .map_err(|_| TimeError::DurationTooLarge(text.to_owned()))?;
        rest = rest[digits_end..].trim_start();
        let word_end = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let word = &rest[..word_end];
        rest = rest[word_end..].trim_start_matches([' ', ',']);
        if word == "m" {
            return Err(TimeError::AmbiguousUnit(text.to_owned()));
        }
        let unit = unit_of(word).ok_or_else(invalid)?;
        if seen.contains(&unit) {
            return Err(invalid());
        }
        seen.push(unit);
        let too_large = |_| TimeError::DurationTooLarge(text.to_owned());
        span = match unit {
            Unit::Minute => span.try_minutes(number).map_err(too_large)?,
            Unit::Hour => span.try_hours(number).map_err(too_large)?,
            Unit::Day => span.try_days(number).map_err(too_large)?,
            Unit::Week => span.try_weeks(number).map_err(too_large)?,
            Unit::Month => span.try_months(number).map_err(too_large)?,
            _ => span.try_years(number).map_err(too_large)?,
        };
    }
    Ok(span)
}

// ---------------------------------------------------------------------------
// Recurrence rules (RFC 5545 subset)
// ---------------------------------------------------------------------------

/// How often a [`Recurrence`] repeats (the RFC 5545 `FREQ` part).
///
/// Sub-daily frequencies are left out on purpose: a village event repeating
/// every minute is either a mistake or an attack on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freq {
    /// Every `INTERVAL` days.
    Daily,
    /// Every `INTERVAL` weeks, on the `BYDAY` weekdays.
    Weekly,
    /// Every `INTERVAL` months, on the start's day of the month.
    Monthly,
    /// Every `INTERVAL` years, on the start's month and day.
    Yearly,
}

impl Freq {
    /// The RFC 5545 keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Yearly => "YEARLY",
        }
    }
}

impl fmt::Display for Freq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recurrence rule: the subset of RFC 5545 `RRULE` that village events need
/// and that every calendar app understands.
///
/// Supported parts: `FREQ` (DAILY, WEEKLY, MONTHLY, YEARLY), `INTERVAL`,
/// `COUNT`, `UNTIL` (UTC date-time, as RFC 5545 requires when the start has a
/// time zone), `BYDAY` (plain weekdays, with WEEKLY only) and `WKST`.
/// Anything else is refused with [`TimeError::RruleUnsupported`] rather than
/// ignored, because ignoring a part would show villagers wrong dates.
///
/// Fields are private so that every value is valid: [`fmt::Display`] then
/// always produces text that [`FromStr`] reads back to an equal value.
///
/// ```
/// use maillage_crdt::time::Recurrence;
/// let rule: Recurrence = "RRULE:FREQ=WEEKLY;BYDAY=TH,TU;COUNT=10".parse().unwrap();
/// assert_eq!(rule.to_string(), "FREQ=WEEKLY;COUNT=10;BYDAY=TU,TH");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recurrence {
    freq: Freq,
    interval: u32,
    count: Option<u32>,
    until: Option<Timestamp>,
    /// Sorted Monday first, without duplicates; empty unless weekly.
    by_day: Vec<Weekday>,
    week_start: Weekday,
}

impl Recurrence {
    /// A rule repeating every period forever, starting from the event start.
    pub fn new(freq: Freq) -> Self {
        Self {
            freq,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
            week_start: Weekday::Monday,
        }
    }

    /// Repeats every `interval` periods (1 to [`MAX_INTERVAL`]).
    pub fn with_interval(mut self, interval: u32) -> Result<Self, TimeError> {
        if !(1..=MAX_INTERVAL).contains(&interval) {
            return Err(TimeError::RruleInvalid {
                part: format!("INTERVAL={interval}"),
                expected: "a whole number from 1 to 1000",
            });
        }
        self.interval = interval;
        Ok(self)
    }

    /// Stops after `count` occurrences, the start included (at least 1).
    pub fn with_count(mut self, count: u32) -> Result<Self, TimeError> {
        if count == 0 {
            return Err(TimeError::RruleInvalid {
                part: "COUNT=0".to_owned(),
                expected: "a whole number of occurrences, at least 1",
            });
        }
        if self.until.is_some() {
            return Err(TimeError::RruleCountAndUntil);
        }
        self.count = Some(count);
        Ok(self)
    }

    /// Stops after `until` (inclusive). Sub-second precision is dropped
    /// (rounded down) because RFC 5545 date-times have none, so that the rule
    /// survives a round trip through text unchanged.
    pub fn with_until(mut self, until: Timestamp) -> Result<Self, TimeError> {
        let until = until
            .round(TimestampRound::new().smallest(Unit::Second).mode(RoundMode::Floor))
            .unwrap_or(until);
        let year = until.to_zoned(TimeZone::UTC).year();
        if !(0..=9999).contains(&year) {
            return Err(TimeError::RruleInvalid {
                part: format!("UNTIL={until}"),
                expected: "a UTC date-time between years 0000 and 9999",
            });
        }
        if self.count.is_some() {
            return Err(TimeError::RruleCountAndUntil);
        }
        self.until = Some(until);
        Ok(self)
    }

    /// Repeats on these weekdays (weekly rules only). An empty list means the
    /// start's own weekday, as in RFC 5545.
    pub fn with_by_day(mut self, days: impl IntoIterator<Item = Weekday>) -> Result<Self, TimeError> {
        let mut days: Vec<Weekday> = days.into_iter().collect();
        if !days.is_empty() && self.freq != Freq::Weekly {
            return Err(TimeError::RruleUnsupported(format!("BYDAY with FREQ={}", self.freq)));
        }
        days.sort_by_key(|day| day.to_monday_zero_offset());
        days.dedup();
        self.by_day = days;
        Ok(self)
    }

    /// Sets the first day of the week (RFC 5545 `WKST`, Monday by default).
    /// It only matters for weekly rules with an interval above 1 and several
    /// weekdays, where it decides which days share a "week".
    pub fn with_week_start(mut self, week_start: Weekday) -> Self {
        self.week_start = week_start;
        self
    }

    /// How often the rule repeats.
    pub fn freq(&self) -> Freq {
        self.freq
    }

    /// Repeat every this many periods (at least 1).
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// Total number of occurrences, the start included, if bounded by count.
    pub fn count(&self) -> Option<u32> {
        self.count
    }

    /// Last instant an occurrence may start at, if bounded by date.
    pub fn until(&self) -> Option<Timestamp> {
        self.until
    }

    /// The weekdays of a weekly rule, Monday first (empty: the start's day).
    pub fn by_day(&self) -> &[Weekday] {
        &self.by_day
    }

    /// The first day of the week (`WKST`).
    pub fn week_start(&self) -> Weekday {
        self.week_start
    }

    /// True when the rule has neither `COUNT` nor `UNTIL`.
    pub fn is_unbounded(&self) -> bool {
        self.count.is_none() && self.until.is_none()
    }

    /// Start times of the occurrences of an event that first happens at
    /// `start`, restricted to `window_start <= t < window_end`, in order, at
    /// most `limit` of them (and never more than [`MAX_OCCURRENCES`]).
    ///
    /// * `start` itself is always the first occurrence, and counts towards
    ///   `COUNT`, as RFC 5545 says of `DTSTART`, even if it is not on one of
    ///   the `BYDAY` days.
    /// * Occurrences keep the local wall-clock time of `start` in its time
    ///   zone: a workshop at 18:00 stays at 18:00 in winter and in summer.
    ///   If that time does not exist on some day (DST gap), it is moved
    ///   forward by the gap's length; if it happens twice, the earlier one
    ///   is used (RFC 5545 and jiff's "compatible" rule).
    /// * Monthly rules use the start's day of the month and skip months
    ///   without it (no 31 April); yearly rules starting on 29 February only
    ///   occur in leap years. That is RFC 5545's rule: invalid dates are
    ///   ignored, not moved.
    /// * `UNTIL` is inclusive.
    ///
    /// The walk is bounded by an internal cap on periods visited, so a rule
    /// such as "daily, counted to four billion" cannot make this call slow;
    /// for rules that would need more, the answer stops early.
    pub fn occurrences(
        &self,
        start: &Zoned,
        window_start: Timestamp,
        window_end: Timestamp,
        limit: usize,
    ) -> Vec<Zoned> {
        let limit = limit.min(MAX_OCCURRENCES);
        let mut out = Vec::new();
        if limit == 0 || window_start >= window_end {
            return out;
        }
        let mut walk = Walk {
            rule: self,
            window_start,
            window_end,
            limit,
            emitted: 0,
            last: start.timestamp(),
        };
        if walk.offer(start.clone(), &mut out) == Flow::Stop {
            return out;
        }

        let tz = start.time_zone();
        let time = start.time();
        let start_date = start.date();
        let (first_period, already) = self.skip_ahead(start, window_start);
        walk.emitted = already.saturating_add(1);
        let days = self.weekly_offsets(start_date);
        let mut candidates = Vec::with_capacity(7);
        for period in first_period..first_period.saturating_add(MAX_PERIODS) {
            candidates.clear();
            if !self.period_dates(start_date, period, &days, &mut candidates) {
                break;
            }
            for &date in &candidates {
                // The start's own date is covered by `start` itself.
                if date <= start_date {
                    continue;
                }
                let Ok(zoned) = tz.to_ambiguous_zoned(date.to_datetime(time)).compatible() else {
                    return out;
                };
                if walk.offer(zoned, &mut out) == Flow::Stop {
                    return out;
                }
            }
        }
        out
    }

    /// For daily and weekly rules, the first period worth visiting for a
    /// window far after the start, and how many occurrences after the start
    /// lie in the skipped periods (for `COUNT`). Monthly and yearly rules
    /// have few enough periods in jiff's range to be walked in full.
    fn skip_ahead(&self, start: &Zoned, window_start: Timestamp) -> (u64, u64) {
        let period_days = match self.freq {
            Freq::Daily => 1,
            Freq::Weekly => 7,
            Freq::Monthly | Freq::Yearly => return (0, 0),
        } * i64::from(self.interval);
        let window_date = window_start.to_zoned(start.time_zone().clone()).date();
        let Ok(span) = start.date().until((Unit::Day, window_date)) else {
            return (0, 0);
        };
        let days_between = i64::from(span.get_days());
        // Period k starts at most k * period_days after the start's date, so
        // every period before `skip` ends before the window's first day.
        let skip = days_between / period_days - 1;
        let Ok(skip) = u64::try_from(skip) else {
            return (0, 0);
        };
        if skip == 0 {
            return (0, 0);
        }
        let per_period = match self.freq {
            Freq::Daily => 1,
            _ => self.weekly_offsets(start.date()).len() as u64,
        };
        // Period 0 holds the start (counted separately) and, for weekly
        // rules, the chosen weekdays after it in its week.
        let in_first = match self.freq {
            Freq::Daily => 0,
            _ => {
                let start_offset = i64::from(start.date().weekday().since(self.week_start));
                self.weekly_offsets(start.date())
                    .iter()
                    .filter(|&&offset| offset > start_offset)
                    .count() as u64
            }
        };
        (skip, in_first + (skip - 1) * per_period)
    }

    /// Days after the week start on which a weekly rule occurs, ascending.
    fn weekly_offsets(&self, start_date: Date) -> Vec<i64> {
        let mut offsets: Vec<i64> = if self.by_day.is_empty() {
            vec![i64::from(start_date.weekday().since(self.week_start))]
        } else {
            self.by_day
                .iter()
                .map(|day| i64::from(day.since(self.week_start)))
                .collect()
        };
        offsets.sort_unstable();
        offsets
    }

    /// Pushes the candidate dates of period number `period` (in ascending
    /// order) into `out`. Returns false once the periods leave jiff's range.
    fn period_dates(&self, start_date: Date, period: u64, week_days: &[i64], out: &mut Vec<Date>) -> bool {
        let Some(steps) = i64::try_from(period)
            .ok()
            .and_then(|p| p.checked_mul(i64::from(self.interval)))
        else {
            return false;
        };
        match self.freq {
            Freq::Daily => match add_days(start_date, steps) {
                Some(date) => out.push(date),
                None => return false,
            },
            Freq::Weekly => {
                let since_week_start = i64::from(start_date.weekday().since(self.week_start));
                let Some(week) = steps
                    .checked_mul(7)
                    .and_then(|days| days.checked_sub(since_week_start))
                    .and_then(|days| add_days(start_date, days))
                else {
                    return false;
                };
                for &offset in week_days {
                    match add_days(week, offset) {
                        Some(date) => out.push(date),
                        None => return false,
                    }
                }
            }
            Freq::Monthly => {
                let first = i64::from(start_date.year()) * 12 + i64::from(start_date.month()) - 1;
                let Some(months) = first.checked_add(steps) else {
                    return false;
                };
                let (Ok(year), Ok(month)) = (
                    i16::try_from(months.div_euclid(12)),
                    i8::try_from(months.rem_euclid(12) + 1),
                ) else {
                    return false;
                };
                if !(-9999..=9999).contains(&year) {
                    return false;
                }
                // Err: this month has no such day (e.g. the 31st); skip it.
                if let Ok(date) = Date::new(year, month, start_date.day()) {
                    out.push(date);
                }
            }
            Freq::Yearly => {
                let Some(year) = i64::from(start_date.year())
                    .checked_add(steps)
                    .and_then(|y| i16::try_from(y).ok())
                    .filter(|y| (-9999..=9999).contains(y))
                else {
                    return false;
                };
                if let Ok(date) = Date::new(year, start_date.month(), start_date.day()) {
                    out.push(date);
                }
            }
        }
        true
    }
}

/// `date` plus `days` calendar days, or `None` outside jiff's range.
fn add_days(date: Date, days: i64) -> Option<Date> {
    Span::new()
        .try_days(days)
        .ok()
        .and_then(|span| date.checked_add(span).ok())
}

/// Whether [`Walk::offer`] wants more occurrences.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// The state of one [`Recurrence::occurrences`] call: applies COUNT, UNTIL,
/// the window and the limit to each occurrence in turn.
struct Walk<'a> {
    rule: &'a Recurrence,
    window_start: Timestamp,
    window_end: Timestamp,
    limit: usize,
    /// Occurrences generated so far, in or before the window (for COUNT).
    emitted: u64,
    /// The previous occurrence, to keep the output strictly increasing even
    /// around odd zone transitions.
    last: Timestamp,
}

impl Walk<'_> {
    fn offer(&mut self, occurrence: Zoned, out: &mut Vec<Zoned>) -> Flow {
        let at = occurrence.timestamp();
        let is_start = self.emitted == 0;
        if !is_start && at <= self.last {
            return Flow::Continue;
        }
        if let Some(count) = self.rule.count
            && self.emitted >= u64::from(count)
        {
            return Flow::Stop;
        }
        // The start is always an occurrence, even past UNTIL (RFC 5545).
        if !is_start && self.rule.until.is_some_and(|until| at > until) {
            return Flow::Stop;
        }
        if at >= self.window_end {
            return Flow::Stop;
        }
        self.emitted += 1;
        self.last = at;
        if at >= self.window_start {
            out.push(occurrence);
            if out.len() >= self.limit {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
}

impl fmt::Display for Recurrence {
    /// Canonical RRULE value (without the `RRULE:` prefix): parts in the
    /// order FREQ, INTERVAL, COUNT, UNTIL, BYDAY, WKST, defaults omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.freq)?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        if let Some(until) = self.until {
            write!(f, ";UNTIL={}", format_utc_basic(until))?;
        }
        if !self.by_day.is_empty() {
            f.write_str(";BYDAY=")?;
            for (i, day) in self.by_day.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                f.write_str(weekday_code(*day))?;
            }
        }
        if self.week_start != Weekday::Monday {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        Ok(())
    }
}

impl FromStr for Recurrence {
    type Err = TimeError;

    /// Parses an RFC 5545 RRULE value, with or without the `RRULE:` prefix.
    /// Names and values are case-insensitive (RFC 5545 section 2); an empty
    /// part (trailing `;`) is tolerated.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let body = match trimmed.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("RRULE:") => &trimmed[6..],
            _ => trimmed,
        };
        let mut freq = None;
        let mut interval = None;
        let mut count = None;
        let mut until = None;
        let mut by_day = None;
        let mut week_start = None;
        for part in body.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(TimeError::RruleInvalid {
                    part: part.to_owned(),
                    expected: "NAME=VALUE parts separated by semicolons",
                });
            };
            let name = name.trim().to_ascii_uppercase();
            let value = value.trim().to_ascii_uppercase();
            let invalid = |expected| TimeError::RruleInvalid {
                part: part.to_owned(),
                expected,
            };
            let slot_taken = match name.as_str() {
                "FREQ" => freq
                    .replace(match value.as_str() {
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        "MONTHLY" => Freq::Monthly,
                        "YEARLY" => Freq::Yearly,
                        "SECONDLY" | "MINUTELY" | "HOURLY" => return Err(TimeError::RruleUnsupported(part.to_owned())),
                        _ => return Err(invalid("DAILY, WEEKLY, MONTHLY or YEARLY")),
                    })
                    .is_some(),
                "INTERVAL" => interval
                    .replace(digits::<u32>(&value).ok_or_else(|| invalid("a whole number from 1 to 1000"))?)
                    .is_some(),
                "COUNT" => count
                    .replace(digits::<u32>(&value).ok_or_else(|| invalid("a whole number of occurrences, at least 1"))?)
                    .is_some(),
                "UNTIL" => until
                    .replace(
                        parse_utc_basic(&value).ok_or_else(|| invalid("a UTC date-time such as 20270601T000000Z"))?,
                    )
                    .is_some(),
                "BYDAY" => {
                    let days = value
                        .split(',')
                        .map(|code| weekday_from_code(code.trim()))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| invalid("weekdays such as MO,TU,WE,TH,FR,SA,SU, without numbers"))?;
                    by_day.replace(days).is_some()
                }
                "WKST" => week_start
                    .replace(weekday_from_code(&value).ok_or_else(|| invalid("a weekday such as MO or SU"))?)
                    .is_some(),
                _ => return Err(TimeError::RruleUnsupported(part.to_owned())),
            };
            if slot_taken {
                return Err(TimeError::RruleDuplicate(name));
            }
        }
        let freq = freq.ok_or_else(|| TimeError::RruleMissingFreq(trimmed.to_owned()))?;
        let mut rule = Self::new(freq);
        if let Some(interval) = interval {
            rule = rule.with_interval(interval)?;
        }
        if count.is_some() && until.is_some() {
            return Err(TimeError::RruleCountAndUntil);
        }
        if let Some(count) = count {
            rule = rule.with_count(count)?;
        }
        if let Some(until) = until {
            rule = rule.with_until(until)?;
        }
        if let Some(days) = by_day {
            rule = rule.with_by_day(days)?;
        }
        if let Some(week_start) = week_start {
            rule = rule.with_week_start(week_start);
        }
        Ok(rule)
    }
}

/// The RFC 5545 two-letter weekday code.
pub(crate) fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// Reads an RFC 5545 two-letter weekday code (upper case).
fn weekday_from_code(code: &str) -> Option<Weekday> {
    let day = match code {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    };
    Some(day)
}

/// Formats an instant as an RFC 5545 UTC date-time, `20270601T000000Z`.
pub(crate) fn format_utc_basic(ts: Timestamp) -> String {
    ts.to_zoned(TimeZone::UTC).strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Reads an RFC 5545 UTC date-time, `20270601T000000Z`. Floating and date-only
/// forms are refused: without a zone they do not name one instant.
fn parse_utc_basic(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let year: i16 = digits(&text[0..4])?;
    let month: i8 = digits(&text[4..6])?;
    let day: i8 = digits(&text[6..8])?;
    let hour: i8 = digits(&text[9..11])?;
    let minute: i8 = digits(&text[11..13])?;
    let second: i8 = digits(&text[13..15])?;
    let dt = DateTime::new(year, month, day, hour, minute, second, 0).ok()?;
    Offset::UTC.to_timestamp(dt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").expect("Europe/Paris in the system tz database")
    }

    fn zoned(text: &str) -> Zoned {
        text.parse().expect("valid RFC 9557 test input")
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("valid RFC 3339 test input")
    }

    fn local(text: &str) -> String {
        parse_datetime(text, &paris()).expect(text).to_string()
    }

    // --- parse_datetime ---------------------------------------------------

    #[test]
    fn accepts_every_documented_form() {
        let expected = "2026-12-05T18:00:00+01:00[Europe/Paris]";
        for text in [
            "2026-12-05 18:00",
            "2026-12-05T18:00",
            "2026-12-05t18:00",
            "2026-12-05 18h00",
            "2026-12-05 18h",
            "2026-12-05 18H00",
            "2026-12-05 18:00:00",
            "05/12/2026 18:00",
            "5/12/2026 18h00",
            "05/12/2026 à 18h",
            "  2026-12-05   18:00  ",
            "2026-12-05T18:00:00+01:00[Europe/Paris]",
            "2026-12-05T18:00:00+01:00",
            "2026-12-05T17:00:00Z",
        ] {
            assert_eq!(local(text), expected, "{text}");
        }
        assert_eq!(local("2026-12-05 8h30"), "2026-12-05T08:30:00+01:00[Europe/Paris]");
        assert_eq!(local("2026-12-05 18:00:30"), "2026-12-05T18:00:30+01:00[Europe/Paris]");
    }

    #[test]
    fn bare_date_is_midnight() {
        assert_eq!(local("2026-12-05"), "2026-12-05T00:00:00+01:00[Europe/Paris]");
        assert_eq!(local("05/12/2026"), "2026-12-05T00:00:00+01:00[Europe/Paris]");
    }

    #[test]
    fn summer_dates_get_the_summer_offset() {
        assert_eq!(local("2026-07-14 22:00"), "2026-07-14T22:00:00+02:00[Europe/Paris]");
    }

    #[test]
    fn explicit_zone_is_kept() {
        let z = parse_datetime("2026-12-05T18:00:00-05:00[America/New_York]", &paris()).expect("valid");
        assert_eq!(z.time_zone().iana_name(), Some("America/New_York"));
    }

    #[test]
    fn garbage_is_refused_with_a_helpful_message() {
        for text in [
            "demain",
            "18:00",
            "2026-12",
            "26-12-05 18:00",
            "2026-12-05 18",
            "2026-12-05 18:0",
            "+2026-12-05",
        ] {
            let err = parse_datetime(text, &paris()).expect_err(text);
            assert_eq!(err.code(), "time-invalid", "{text}");
            assert!(err.to_string().contains("expected e.g. 2026-12-05 18:00"), "{err}");
        }
        assert_eq!(parse_datetime("   ", &paris()), Err(TimeError::Empty));
    }

    #[test]
    fn impossible_dates_and_times_are_refused() {
        let err = parse_datetime("2026-13-40", &paris()).expect_err("month 13");
        assert_eq!(err, TimeError::InvalidDate("2026-13-40".into()));
        assert_eq!(err.code(), "time-invalid-date");
        assert_eq!(
            parse_datetime("31/04/2026", &paris()).map_err(|e| e.code()),
            Err("time-invalid-date")
        );
        assert_eq!(
            parse_datetime("2026-12-05 25:00", &paris()).map_err(|e| e.code()),
            Err("time-invalid-time")
        );
        assert_eq!(
            parse_datetime("2026-12-05 18h75", &paris()).map_err(|e| e.code()),
            Err("time-invalid-time")
        );
    }

    #[test]
    fn time_in_the_spring_gap_is_an_error() {
        let err = parse_datetime("2027-03-28 02:30", &paris()).expect_err("gap");
        assert_eq!(err.code(), "time-nonexistent");
        assert!(err.to_string().contains("Europe/Paris"), "{err}");
    }

    #[test]
    fn time_in_the_autumn_fold_takes_the_earlier_instant() {
        assert_eq!(local("2026-10-25 02:30"), "2026-10-25T02:30:00+02:00[Europe/Paris]");
    }

    #[test]
    fn error_messages_are_lowercase_without_trailing_dot() {
        let errors = [
            TimeError::Empty,
            TimeError::NotADateTime("x".into()),
            TimeError::InPast("x".into()),
            TimeError::AmbiguousUnit("1m".into()),
            TimeError::RruleCountAndUntil,
            TimeError::RruleUnsupported("BYMONTH=3".into()),
        ];
        for err in errors {
            let message = err.to_string();
            assert!(!message.ends_with('.'), "{message}");
            let first = message.chars().next().expect("non-empty message");
            assert!(!first.is_uppercase(), "{message}");
            assert!(message.contains("expected"), "{message}");
        }
    }

    // --- parse_duration / parse_deadline -----------------------------------

    #[test]
    fn durations_in_french_and_english() {
        let cases = [
            ("3d", Span::new().days(3)),
            ("3 jours", Span::new().days(3)),
            ("1 jour", Span::new().days(1)),
            ("3j", Span::new().days(3)),
            ("2w", Span::new().weeks(2)),
            ("2 semaines", Span::new().weeks(2)),
            ("12h", Span::new().hours(12)),
            ("12 heures", Span::new().hours(12)),
            ("30min", Span::new().minutes(30)),
            ("30 minutes", Span::new().minutes(30)),
            ("1mo", Span::new().months(1)),
            ("1 mois", Span::new().months(1)),
            ("1 an", Span::new().years(1)),
            ("2 Years", Span::new().years(2)),
            ("1d 12h", Span::new().days(1).hours(12)),
            ("1 jour, 12 heures", Span::new().days(1).hours(12)),
            ("P7D", Span::new().days(7)),
            ("PT1H30M", Span::new().hours(1).minutes(30)),
        ];
        for (text, expected) in cases {
            let span = parse_duration(text).expect(text);
            assert_eq!(span.fieldwise(), expected.fieldwise(), "{text}");
        }
    }

    fn duration_error(text: &str) -> Option<&'static str> {
        parse_duration(text).err().map(|e| e.code())
    }

    #[test]
    fn bad_durations_are_refused() {
        assert_eq!(duration_error("1m"), Some("time-ambiguous-unit"));
        assert_eq!(duration_error("5 m"), Some("time-ambiguous-unit"));
        assert_eq!(duration_error("0d"), Some("time-zero-duration"));
        for text in ["d", "3", "3 lunes", "3d3d", "-3d", "3.5d", "P"] {
            assert_eq!(duration_error(text), Some("time-invalid-duration"), "{text}");
        }
        assert_eq!(duration_error("99999999999999999999d"), Some("time-duration-too-large"));
        assert_eq!(duration_error("9999999999d"), Some("time-duration-too-large"));
    }

    #[test]
    fn deadline_from_duration_keeps_wall_clock_across_dst() {
        let now = ts("2027-03-27T17:00:00Z"); // 18:00 in Paris, winter time
        let deadline = parse_deadline("1d", &paris(), now).expect("valid");
        assert_eq!(deadline.to_string(), "2027-03-28T18:00:00+02:00[Europe/Paris]");
        let deadline = parse_deadline("2 semaines", &paris(), now).expect("valid");
        assert_eq!(deadline.date(), date(2027, 4, 10));
    }

    #[test]
    fn deadline_bare_date_means_end_of_day() {
        let now = ts("2026-12-01T10:00:00Z");
        let deadline = parse_deadline("2026-12-05", &paris(), now).expect("valid");
        assert_eq!(deadline.to_string(), "2026-12-05T23:59:59+01:00[Europe/Paris]");
        let deadline = parse_deadline("05/12/2026 18h", &paris(), now).expect("valid");
        assert_eq!(deadline.to_string(), "2026-12-05T18:00:00+01:00[Europe/Paris]");
        // Today is still in the future until the day ends.
        let deadline = parse_deadline("2026-12-01", &paris(), now).expect("valid");
        assert_eq!(deadline.date(), date(2026, 12, 1));
    }

    #[test]
    fn deadline_in_the_past_is_refused() {
        let now = ts("2026-12-10T10:00:00Z");
        let err = parse_deadline("2026-12-05 18:00", &paris(), now).expect_err("past");
        assert_eq!(err, TimeError::InPast("2026-12-05 18:00".into()));
        assert_eq!(err.code(), "time-in-past");
        assert_eq!(
            parse_deadline("2026-12-09", &paris(), now).map_err(|e| e.code()),
            Err("time-in-past")
        );
        // Exactly now is not in the future either.
        assert_eq!(
            parse_deadline("2026-12-10T10:00:00Z", &paris(), now).map_err(|e| e.code()),
            Err("time-in-past")
        );
    }

    #[test]
    fn deadline_errors_name_the_expected_forms() {
        let now = ts("2026-12-10T10:00:00Z");
        assert_eq!(
            parse_deadline("bientôt", &paris(), now).map_err(|e| e.code()),
            Err("time-invalid-deadline")
        );
        assert_eq!(
            parse_deadline("3 lunes", &paris(), now).map_err(|e| e.code()),
            Err("time-invalid-duration")
        );
        assert_eq!(
            parse_deadline("2026-13-40", &paris(), now).map_err(|e| e.code()),
            Err("time-invalid-date")
        );
        assert_eq!(
            parse_deadline("1m", &paris(), now).map_err(|e| e.code()),
            Err("time-ambiguous-unit")
        );
        assert_eq!(parse_deadline("", &paris(), now), Err(TimeError::Empty));
        assert_eq!(
            parse_deadline("9000y", &paris(), now).map_err(|e| e.code()),
            Err("time-out-of-range")
        );
    }

    // --- Recurrence: parsing and display ------------------------------------

    #[test]
    fn rrule_parses_the_supported_subset() {
        let rule: Recurrence = "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10".parse().expect("valid");
        assert_eq!(rule.freq(), Freq::Weekly);
        assert_eq!(rule.count(), Some(10));
        assert_eq!(rule.by_day(), &[Weekday::Tuesday, Weekday::Thursday]);

        let rule: Recurrence = "RRULE:FREQ=MONTHLY;INTERVAL=2;UNTIL=20270601T000000Z"
            .parse()
            .expect("valid");
        assert_eq!(rule.freq(), Freq::Monthly);
        assert_eq!(rule.interval(), 2);
        assert_eq!(rule.until(), Some(ts("2027-06-01T00:00:00Z")));

        let rule: Recurrence = "rrule:freq=daily;wkst=su;".parse().expect("case-insensitive");
        assert_eq!(rule.freq(), Freq::Daily);
        assert_eq!(rule.week_start(), Weekday::Sunday);
    }

    #[test]
    fn rrule_round_trips_through_display() {
        for text in [
            "FREQ=DAILY",
            "FREQ=WEEKLY;COUNT=10;BYDAY=TU,TH",
            "FREQ=MONTHLY;INTERVAL=2;UNTIL=20270601T000000Z",
            "FREQ=YEARLY;INTERVAL=3",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU",
        ] {
            let rule: Recurrence = text.parse().expect(text);
            assert_eq!(rule.to_string(), text);
            assert_eq!(rule.to_string().parse::<Recurrence>().as_ref(), Ok(&rule));
        }
        // Non-canonical input comes out canonical.
        let rule: Recurrence = "RRULE:BYDAY=TH,TU,TH;FREQ=weekly;INTERVAL=1".parse().expect("valid");
        assert_eq!(rule.to_string(), "FREQ=WEEKLY;BYDAY=TU,TH");
    }

    #[test]
    fn rrule_refuses_what_it_does_not_support() {
        let err = "FREQ=MONTHLY;BYMONTHDAY=-1"
            .parse::<Recurrence>()
            .expect_err("unsupported");
        assert_eq!(err, TimeError::RruleUnsupported("BYMONTHDAY=-1".into()));
        assert!(err.to_string().contains("BYMONTHDAY=-1"), "{err}");
        let cases = [
            ("FREQ=HOURLY", "time-rrule-unsupported"),
            ("FREQ=MONTHLY;BYDAY=1MO", "time-rrule-invalid"),
            ("FREQ=MONTHLY;BYDAY=MO", "time-rrule-unsupported"),
            ("FREQ=WEEKLY;BYDAY=1MO", "time-rrule-invalid"),
            ("FREQ=WEEKLY;BYSETPOS=1", "time-rrule-unsupported"),
            ("FREQ=FORTNIGHTLY", "time-rrule-invalid"),
            ("FREQ=DAILY;INTERVAL=0", "time-rrule-invalid"),
            ("FREQ=DAILY;INTERVAL=1001", "time-rrule-invalid"),
            ("FREQ=DAILY;INTERVAL=-1", "time-rrule-invalid"),
            ("FREQ=DAILY;COUNT=0", "time-rrule-invalid"),
            ("FREQ=DAILY;UNTIL=20270601", "time-rrule-invalid"),
            ("FREQ=DAILY;UNTIL=20270601T000000", "time-rrule-invalid"),
            ("FREQ=DAILY;UNTIL=20271301T000000Z", "time-rrule-invalid"),
            (
                "FREQ=DAILY;COUNT=3;UNTIL=20270601T000000Z",
                "time-rrule-count-and-until",
            ),
            ("FREQ=DAILY;FREQ=WEEKLY", "time-rrule-duplicate"),
            ("COUNT=3", "time-rrule-missing-freq"),
            ("", "time-rrule-missing-freq"),
            ("FREQ", "time-rrule-invalid"),
        ];
        for (text, code) in cases {
            assert_eq!(text.parse::<Recurrence>().map_err(|e| e.code()), Err(code), "{text}");
        }
    }

    #[test]
    fn builder_validates_like_the_parser() {
        assert!(Recurrence::new(Freq::Daily).with_by_day([Weekday::Monday]).is_err());
        assert!(Recurrence::new(Freq::Daily).with_interval(0).is_err());
        let until = ts("2027-01-01T00:00:00.5Z");
        let rule = Recurrence::new(Freq::Daily).with_until(until).expect("valid");
        assert_eq!(rule.until(), Some(ts("2027-01-01T00:00:00Z")));
        assert_eq!(rule.with_count(3), Err(TimeError::RruleCountAndUntil));
    }

    // --- Recurrence: occurrences --------------------------------------------

    fn all(rule: &str, start: &Zoned, limit: usize) -> Vec<String> {
        let rule: Recurrence = rule.parse().expect(rule);
        rule.occurrences(start, start.timestamp(), Timestamp::MAX, limit)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn weekly_event_keeps_local_time_across_spring_dst() {
        let start = zoned("2027-03-16T18:00:00+01:00[Europe/Paris]");
        let got = all("FREQ=WEEKLY", &start, 4);
        assert_eq!(
            got,
            [
                "2027-03-16T18:00:00+01:00[Europe/Paris]",
                "2027-03-23T18:00:00+01:00[Europe/Paris]",
                "2027-03-30T18:00:00+02:00[Europe/Paris]",
                "2027-04-06T18:00:00+02:00[Europe/Paris]",
            ]
        );
    }

    #[test]
    fn occurrence_in_a_dst_gap_moves_forward() {
        let start = zoned("2027-03-21T02:30:00+01:00[Europe/Paris]");
        let got = all("FREQ=WEEKLY", &start, 3);
        assert_eq!(got[1], "2027-03-28T03:30:00+02:00[Europe/Paris]");
        assert_eq!(got[2], "2027-04-04T02:30:00+02:00[Europe/Paris]");
    }

    #[test]
    fn monthly_on_the_31st_skips_short_months() {
        let start = zoned("2027-01-31T10:00:00+01:00[Europe/Paris]");
        let dates: Vec<Date> = "FREQ=MONTHLY"
            .parse::<Recurrence>()
            .expect("valid")
            .occurrences(&start, start.timestamp(), Timestamp::MAX, 5)
            .iter()
            .map(Zoned::date)
            .collect();
        assert_eq!(
            dates,
            [
                date(2027, 1, 31),
                date(2027, 3, 31),
                date(2027, 5, 31),
                date(2027, 7, 31),
                date(2027, 8, 31)
            ]
        );
    }

    #[test]
    fn yearly_on_29_february_only_in_leap_years() {
        let start = zoned("2028-02-29T12:00:00+01:00[Europe/Paris]");
        let got = all("FREQ=YEARLY;COUNT=3", &start, 10);
        assert_eq!(got.len(), 3);
        assert!(got[1].starts_with("2032-02-29"), "{got:?}");
        assert!(got[2].starts_with("2036-02-29"), "{got:?}");
    }

    #[test]
    fn count_includes_the_start() {
        let start = zoned("2026-12-01T18:00:00+01:00[Europe/Paris]");
        assert_eq!(all("FREQ=DAILY;COUNT=3", &start, 100).len(), 3);
        assert_eq!(all("FREQ=DAILY;COUNT=1", &start, 100).len(), 1);
    }

    #[test]
    fn until_is_inclusive() {
        let start = zoned("2026-12-01T18:00:00+01:00[Europe/Paris]");
        let got = all("FREQ=DAILY;UNTIL=20261203T170000Z", &start, 100);
        assert_eq!(got.len(), 3);
        assert!(got[2].starts_with("2026-12-03T18:00"), "{got:?}");
        let got = all("FREQ=DAILY;UNTIL=20261203T165959Z", &start, 100);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn by_day_tuesday_and_thursday() {
        // 2026-12-01 is a Tuesday.
        let start = zoned("2026-12-01T18:00:00+01:00[Europe/Paris]");
        let dates: Vec<String> = all("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=5", &start, 100)
            .iter()
            .map(|z| z[..10].to_owned())
            .collect();
        assert_eq!(
            dates,
            ["2026-12-01", "2026-12-03", "2026-12-08", "2026-12-10", "2026-12-15"]
        );
    }

    #[test]
    fn start_off_the_by_day_pattern_still_counts_first() {
        // 2026-12-02 is a Wednesday.
        let start = zoned("2026-12-02T18:00:00+01:00[Europe/Paris]");
        let dates: Vec<String> = all("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=3", &start, 100)
            .iter()
            .map(|z| z[..10].to_owned())
            .collect();
        assert_eq!(dates, ["2026-12-02", "2026-12-03", "2026-12-08"]);
    }

    #[test]
    fn interval_and_week_start() {
        // 2026-12-06 is a Sunday. Every other week, Sunday and Monday.
        let start = zoned("2026-12-06T10:00:00+01:00[Europe/Paris]");
        let dates = |rule: &str| -> Vec<String> { all(rule, &start, 4).iter().map(|z| z[..10].to_owned()).collect() };
        // Week starting Monday: Sunday 6th ends its week; next pair is 2 weeks on.
        assert_eq!(
            dates("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,MO"),
            ["2026-12-06", "2026-12-14", "2026-12-20", "2026-12-28"]
        );
        // Week starting Sunday: Sunday 6th and Monday 7th share a week.
        assert_eq!(
            dates("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,MO;WKST=SU"),
            ["2026-12-06", "2026-12-07", "2026-12-20", "2026-12-21"]
        );
    }

    #[test]
    fn window_and_limit_are_honoured() {
        let start = zoned("2026-01-06T18:00:00+01:00[Europe/Paris]");
        let rule: Recurrence = "FREQ=WEEKLY".parse().expect("valid");
        let got = rule.occurrences(&start, ts("2026-07-01T00:00:00Z"), ts("2026-08-01T00:00:00Z"), 100);
        let days: Vec<i8> = got.iter().map(Zoned::day).collect();
        assert_eq!(days, [7, 14, 21, 28]);
        assert!(got.iter().all(|z| z.hour() == 18));
        assert_eq!(
            rule.occurrences(&start, ts("2026-07-01T00:00:00Z"), ts("2026-08-01T00:00:00Z"), 2)
                .len(),
            2
        );
        assert!(
            rule.occurrences(&start, start.timestamp(), start.timestamp(), 10)
                .is_empty()
        );
        assert!(
            rule.occurrences(&start, start.timestamp(), Timestamp::MAX, 0)
                .is_empty()
        );
    }

    #[test]
    fn far_window_with_count_matches_a_full_walk() {
        let start = zoned("2026-12-01T18:00:00+01:00[Europe/Paris]");
        for text in [
            "FREQ=DAILY;COUNT=500",
            "FREQ=WEEKLY;BYDAY=MO,TU,FR;COUNT=300;INTERVAL=3",
        ] {
            let rule: Recurrence = text.parse().expect(text);
            let full = rule.occurrences(&start, start.timestamp(), Timestamp::MAX, MAX_OCCURRENCES);
            let window_start = full[full.len() - 7].timestamp();
            let skipped = rule.occurrences(&start, window_start, Timestamp::MAX, MAX_OCCURRENCES);
            assert_eq!(skipped, full[full.len() - 7..], "{text}");
        }
    }

    #[test]
    fn hostile_rules_stay_bounded() {
        let start = zoned("2026-12-01T18:00:00+01:00[Europe/Paris]");
        let rule: Recurrence = "FREQ=DAILY;COUNT=4294967295".parse().expect("valid");
        let got = rule.occurrences(&start, start.timestamp(), Timestamp::MAX, usize::MAX);
        assert_eq!(got.len(), MAX_OCCURRENCES);
        // A window thousands of years later is reached by skipping, not walking.
        let got = rule.occurrences(&start, ts("9000-01-01T00:00:00Z"), Timestamp::MAX, 3);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].year(), 9000);
        // A monthly rule on the 31st walks the whole range and ends (jiff's
        // last instant is 9999-12-30, so December 9999 is out of range).
        let start = zoned("2026-12-31T18:00:00+01:00[Europe/Paris]");
        let rule: Recurrence = "FREQ=MONTHLY".parse().expect("valid");
        let got = rule.occurrences(&start, ts("9999-01-01T00:00:00Z"), Timestamp::MAX, usize::MAX);
        assert_eq!(got.len(), 6);
    }
}
