//! Export of village events as an RFC 5545 iCalendar file.
//!
//! The output is meant to be opened or subscribed to by any calendar app
//! (Google, Apple, Thunderbird, phones), so it sticks to the most widely
//! understood part of the standard:
//!
//! * lines end with CRLF and are folded at 75 octets, never inside a UTF-8
//!   character (French accents are two octets, and a split one shows up as
//!   garbage in strict readers);
//! * local times carry `TZID=<IANA name>` and the file embeds a `VTIMEZONE`
//!   for each zone, built from jiff's rules, because RFC 5545 requires one for
//!   every `TZID` used and some apps (Outlook, older phones) rely on it rather
//!   than on their own zone database;
//! * no `METHOD` and no `ORGANIZER`: this is a published calendar, not an
//!   invitation. RFC 5545 wants `ORGANIZER` to be a calendar address, and apps
//!   treat an event with an organiser as a meeting to accept or decline,
//!   offering to email a fake address. The organiser's name goes into
//!   `DESCRIPTION` (where every app shows it) and into `CONTACT`.
//!
//! The module is pure: the same events always give the same bytes.

use std::collections::BTreeMap;

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp, Zoned};

use crate::time::{MAX_OCCURRENCES, Recurrence, format_utc_basic, weekday_code};

/// Longest line allowed by RFC 5545, in octets, excluding the CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// Upper bound on the explicit daylight-saving transitions written for one
/// zone (about a century of twice-yearly changes), so that an event lasting
/// millennia cannot blow up the file. Apps use their own zone database for
/// IANA names anyway; the `VTIMEZONE` is a fallback.
const MAX_TRANSITIONS: usize = 200;

/// How many years of explicit transitions to write after the last event when
/// a recurring event never ends and the zone's rule cannot be summarised as
/// a yearly `RRULE` (very rare: zones whose rules are not "nth weekday").
const FALLBACK_YEARS: i16 = 10;

/// Label put before the organiser's name in `DESCRIPTION`. French because the
/// calendar is for French villages (see `PRODID`'s `//FR`).
const ORGANISER_LABEL: &str = "Organisé par : ";

/// One event to export.
#[derive(Debug, Clone, PartialEq)]
pub struct IcsEvent {
    /// Stable identifier of the event in maillage; `@maillage` is appended to
    /// form the globally unique `UID`, so re-exports update rather than
    /// duplicate the event in subscribed calendars.
    pub uid: String,
    /// Short title (`SUMMARY`).
    pub title: String,
    /// Free text (`DESCRIPTION`), may be empty.
    pub description: String,
    /// Where it happens (`LOCATION`).
    pub place: Option<String>,
    /// When the (first occurrence of the) event starts.
    pub start: Zoned,
    /// When the (first occurrence of the) event ends; `None` means one hour
    /// after the start (see [`calendar`]).
    pub end: Option<Zoned>,
    /// How the event repeats, if it does.
    pub recurrence: Option<Recurrence>,
    /// Display name of the person or household organising it; may be empty.
    pub organiser: String,
    /// When the event was last changed (`DTSTAMP` and `LAST-MODIFIED`).
    pub updated: Timestamp,
    /// True when the event was called off (`STATUS:CANCELLED`); cancelled
    /// events are still exported so subscribed calendars show the change
    /// instead of silently dropping the event.
    pub cancelled: bool,
}

/// Writes a complete `VCALENDAR` named `name` holding `events`.
///
/// Choices worth knowing:
///
/// * An event without `end` gets `DTEND` one hour after its start (as an
///   elapsed hour), and so does an event whose end is not after its start,
///   which RFC 5545 forbids. `DTEND` is used rather than `DURATION` because
///   every app reads it; without either, RFC 5545 would make the event last
///   zero seconds and many apps would hide it.
/// * Times in a zone with an IANA name are written as local time with
///   `TZID`, so a recurring event keeps its wall-clock time across DST in
///   the reader's app too. Times in UTC or in a zone without an IANA name
///   (a bare offset) are written in UTC with `Z`.
/// * Sub-second precision is dropped: iCalendar has none.
/// * `DTSTAMP` and `LAST-MODIFIED` are both `updated`, in UTC.
/// * The organiser appears in `DESCRIPTION` ("Organisé par : …") and in
///   `CONTACT`, not in `ORGANIZER` (see the module documentation).
/// * Events are written in the order given; time zones sorted by name.
pub fn calendar(name: &str, events: &[IcsEvent]) -> String {
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCALENDAR");
    push_line(&mut out, "VERSION:2.0");
    push_line(&mut out, "PRODID:-//maillage//maillage//FR");
    push_line(&mut out, "CALSCALE:GREGORIAN");
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));

    for (tzid, usage) in zone_usage(events) {
        write_vtimezone(&mut out, &tzid, &usage);
    }
    for event in events {
        write_vevent(&mut out, event);
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

// ---------------------------------------------------------------------------
// VEVENT
// ---------------------------------------------------------------------------

fn write_vevent(out: &mut String, event: &IcsEvent) {
    push_line(out, "BEGIN:VEVENT");
    push_line(out, &format!("UID:{}", escape_text(&format!("{}@maillage", event.uid))));
    let updated = format_utc_basic(event.updated);
    push_line(out, &format!("DTSTAMP:{updated}"));
    push_line(out, &format!("LAST-MODIFIED:{updated}"));
    push_line(out, &date_time_property("DTSTART", &event.start));
    if let Some(end) = effective_end(event) {
        push_line(out, &date_time_property("DTEND", &end));
    }
    if let Some(rule) = &event.recurrence {
        push_line(out, &format!("RRULE:{rule}"));
    }
    push_line(out, &format!("SUMMARY:{}", escape_text(&event.title)));
    let description = description_with_organiser(event);
    if !description.is_empty() {
        push_line(out, &format!("DESCRIPTION:{}", escape_text(&description)));
    }
    if let Some(place) = event.place.as_deref().filter(|p| !p.trim().is_empty()) {
        push_line(out, &format!("LOCATION:{}", escape_text(place)));
    }
    if !event.organiser.trim().is_empty() {
        push_line(out, &format!("CONTACT:{}", escape_text(event.organiser.trim())));
    }
    let status = if event.cancelled { "CANCELLED" } else { "CONFIRMED" };
    push_line(out, &format!("STATUS:{status}"));
    push_line(out, "END:VEVENT");
}

/// The description followed by who organises the event.
fn description_with_organiser(event: &IcsEvent) -> String {
    let description = event.description.trim_end();
    let organiser = event.organiser.trim();
    match (description.is_empty(), organiser.is_empty()) {
        (_, true) => description.to_owned(),
        (true, false) => format!("{ORGANISER_LABEL}{organiser}"),
        (false, false) => format!("{description}\n\n{ORGANISER_LABEL}{organiser}"),
    }
}

/// The end to write: the given one if it is after the start (to the second),
/// else one hour after the start. `None` only at the very end of jiff's
/// range, where the event is then written without `DTEND`.
fn effective_end(event: &IcsEvent) -> Option<Zoned> {
    let start = event.start.timestamp().as_second();
    match &event.end {
        Some(end) if end.timestamp().as_second() > start => Some(end.clone()),
        _ => event.start.checked_add(Span::new().hours(1)).ok(),
    }
}

/// The `TZID` to use for `tz`, or `None` to write UTC with `Z`.
///
/// UTC itself needs no `VTIMEZONE`; a zone without an IANA name cannot be
/// named portably; a name with characters that would need quoting in a
/// parameter is not a real IANA name.
fn tzid(tz: &TimeZone) -> Option<&str> {
    let name = tz.iana_name()?;
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
    let utc = matches!(name, "UTC" | "Etc/UTC");
    (plain && !utc).then_some(name)
}

/// `NAME;TZID=Europe/Paris:20261205T180000` or `NAME:20261205T170000Z`.
fn date_time_property(name: &str, at: &Zoned) -> String {
    match tzid(at.time_zone()) {
        Some(zone) => format!("{name};TZID={zone}:{}", format_local(at.datetime())),
        None => format!("{name}:{}", format_utc_basic(at.timestamp())),
    }
}

/// An RFC 5545 local date-time, `20261205T180000`.
fn format_local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

// ---------------------------------------------------------------------------
// VTIMEZONE
// ---------------------------------------------------------------------------

/// The instants a zone must describe in the file.
struct ZoneUsage {
    tz: TimeZone,
    first: Timestamp,
    last: Timestamp,
    /// A recurring event in this zone never ends.
    open_ended: bool,
}

/// Every zone referenced by a `TZID`, with the span of time it must cover:
/// from the earliest start to the latest end of the last occurrence.
fn zone_usage(events: &[IcsEvent]) -> BTreeMap<String, ZoneUsage> {
    let mut zones: BTreeMap<String, ZoneUsage> = BTreeMap::new();
    for event in events {
        let end = effective_end(event).unwrap_or_else(|| event.start.clone());
        let length = end.timestamp().duration_since(event.start.timestamp());
        let (last, open_ended) = match &event.recurrence {
            None => (end.timestamp(), false),
            Some(rule) => last_occurrence_end(rule, &event.start, length),
        };
        for zoned in [&event.start, &end] {
            let Some(name) = tzid(zoned.time_zone()) else {
                continue;
            };
            let usage = zones.entry(name.to_owned()).or_insert_with(|| ZoneUsage {
                tz: zoned.time_zone().clone(),
                first: event.start.timestamp(),
                last,
                open_ended,
            });
            usage.first = usage.first.min(event.start.timestamp()).min(zoned.timestamp());
            usage.last = usage.last.max(last);
            usage.open_ended |= open_ended;
        }
    }
    zones
}

/// When the last occurrence of a recurring event ends, and whether the rule
/// never ends (or has more occurrences than we are willing to expand).
fn last_occurrence_end(rule: &Recurrence, start: &Zoned, length: SignedDuration) -> (Timestamp, bool) {
    let plus_length = |ts: Timestamp| ts.checked_add(length).unwrap_or(ts);
    if let Some(until) = rule.until() {
        return (plus_length(until.max(start.timestamp())), false);
    }
    match rule.count() {
        Some(count) if (count as usize) <= MAX_OCCURRENCES => {
            let all = rule.occurrences(start, start.timestamp(), Timestamp::MAX, count as usize);
            let last = all.last().map_or(start.timestamp(), Zoned::timestamp);
            (plus_length(last), false)
        }
        _ => (plus_length(start.timestamp()), true),
    }
}

/// One `STANDARD` or `DAYLIGHT` sub-component.
struct Observance {
    daylight: bool,
    /// Local time of the change, read with the offset in force before it.
    onset: DateTime,
    from: Offset,
    to: Offset,
    name: String,
    /// A yearly rule continuing the observance, for open-ended calendars.
    rule: Option<String>,
}

/// A zone transition with what RFC 5545 needs to know about it.
struct Change {
    at: Timestamp,
    from: Offset,
    to: Offset,
    daylight: bool,
    name: String,
}

impl Change {
    fn onset(&self) -> DateTime {
        self.from.to_datetime(self.at)
    }

    fn observance(&self, rule: Option<String>) -> Observance {
        Observance {
            daylight: self.daylight,
            onset: self.onset(),
            from: self.from,
            to: self.to,
            name: self.name.clone(),
            rule,
        }
    }
}

/// Transitions of `tz` strictly after `after`, in order.
fn changes_after(tz: &TimeZone, after: Timestamp) -> impl Iterator<Item = Change> + '_ {
    tz.following(after)
        .filter(move |t| t.timestamp() > after)
        .map(move |t| {
            let before = t
                .timestamp()
                .checked_sub(SignedDuration::from_nanos(1))
                .unwrap_or(t.timestamp());
            Change {
                at: t.timestamp(),
                from: tz.to_offset(before),
                to: t.offset(),
                daylight: t.dst().is_dst(),
                name: t.abbreviation().to_owned(),
            }
        })
}

fn write_vtimezone(out: &mut String, tzid: &str, usage: &ZoneUsage) {
    push_line(out, "BEGIN:VTIMEZONE");
    push_line(out, &format!("TZID:{tzid}"));
    for observance in observances(usage) {
        let kind = if observance.daylight { "DAYLIGHT" } else { "STANDARD" };
        push_line(out, &format!("BEGIN:{kind}"));
        push_line(out, &format!("DTSTART:{}", format_local(observance.onset)));
        if let Some(rule) = &observance.rule {
            push_line(out, &format!("RRULE:{rule}"));
        }
        push_line(out, &format!("TZOFFSETFROM:{}", format_offset(observance.from)));
        push_line(out, &format!("TZOFFSETTO:{}", format_offset(observance.to)));
        if !observance.name.is_empty() {
            push_line(out, &format!("TZNAME:{}", escape_text(&observance.name)));
        }
        push_line(out, &format!("END:{kind}"));
    }
    push_line(out, "END:VTIMEZONE");
}

/// The observances needed to interpret every local time in `usage`.
///
/// 1. The observance already in force at the first event (the latest
///    transition before it), or, for a zone that never changed, one
///    `STANDARD` observance with its only offset.
/// 2. Every transition up to the end of the last event, explicitly.
/// 3. For calendars with a never-ending recurrence, the zone's current rule
///    as two yearly observances (`FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU`), when
///    the next years' transitions follow such a rule; otherwise ten more
///    years of explicit transitions.
fn observances(usage: &ZoneUsage) -> Vec<Observance> {
    let tz = &usage.tz;
    let mut result = Vec::new();
    let probe = usage
        .first
        .checked_add(SignedDuration::from_nanos(1))
        .unwrap_or(usage.first);
    let Some(initial) = tz.preceding(probe).next() else {
        let offset = tz.to_offset(usage.first);
        let info = tz.to_offset_info(usage.first);
        let epoch = Date::constant(1970, 1, 1).to_datetime(jiff::civil::Time::midnight());
        result.push(Observance {
            daylight: false,
            onset: offset.to_datetime(usage.first).min(epoch),
            from: offset,
            to: offset,
            name: info.abbreviation().to_owned(),
            rule: None,
        });
        return result;
    };
    let mut last_written = initial.timestamp();
    let before = last_written
        .checked_sub(SignedDuration::from_nanos(1))
        .unwrap_or(last_written);
    result.push(
        Change {
            at: last_written,
            from: tz.to_offset(before),
            to: initial.offset(),
            daylight: initial.dst().is_dst(),
            name: initial.abbreviation().to_owned(),
        }
        .observance(None),
    );
    for change in changes_after(tz, last_written)
        .take_while(|c| c.at <= usage.last)
        .take(MAX_TRANSITIONS)
    {
        last_written = change.at;
        result.push(change.observance(None));
    }
    let capped = result.len() > MAX_TRANSITIONS;
    if !usage.open_ended && !capped {
        return result;
    }

    // The zone's future: if it settles into a yearly pattern, two rule
    // observances describe it forever.
    let future: Vec<Change> = changes_after(tz, last_written).take(8).collect();
    if future.len() == 8
        && let (Some(first_rule), Some(second_rule)) = (yearly_rule(&future, 0), yearly_rule(&future, 1))
    {
        let mut future = future.into_iter();
        for rule in [first_rule, second_rule] {
            if let Some(change) = future.next() {
                result.push(change.observance(Some(rule)));
            }
        }
        return result;
    }
    // Few future changes (the zone stopped changing) or no simple rule: write
    // them out explicitly for a bounded number of years.
    let horizon_year = last_written
        .to_zoned(TimeZone::UTC)
        .year()
        .saturating_add(FALLBACK_YEARS)
        .min(9999);
    let horizon = Date::new(horizon_year, 1, 1)
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .map_or(Timestamp::MAX, |z| z.timestamp());
    result.extend(
        changes_after(tz, last_written)
            .take_while(|c| c.at <= horizon)
            .take(MAX_TRANSITIONS)
            .map(|c| c.observance(None)),
    );
    result
}

/// If `changes[first]`, `changes[first + 2]`, `changes[first + 4]`, …
/// happen on the same nth (or last) weekday of the same month, at the same
/// local time with the same offsets, in consecutive years, the `RRULE`
/// describing them.
fn yearly_rule(changes: &[Change], first: usize) -> Option<String> {
    let base = changes.get(first)?;
    let onset = base.onset();
    let date = onset.date();
    let weekday = date.weekday();
    let day = date.day();
    let mut candidates = Vec::with_capacity(2);
    if day + 7 > date.days_in_month() {
        candidates.push(-1);
    }
    let nth = (day - 1) / 7 + 1;
    if nth <= 4 {
        candidates.push(nth);
    }
    let same_change = |other: &Change| {
        other.from == base.from && other.to == base.to && other.daylight == base.daylight && other.name == base.name
    };
    candidates.into_iter().find_map(|nth| {
        let holds = changes
            .iter()
            .skip(first)
            .step_by(2)
            .enumerate()
            .all(|(years_later, other)| {
                let other_onset = other.onset();
                let expected = i16::try_from(years_later)
                    .ok()
                    .and_then(|n| date.year().checked_add(n))
                    .and_then(|year| Date::new(year, date.month(), 1).ok())
                    .and_then(|month| month.nth_weekday_of_month(nth, weekday).ok());
                same_change(other) && other_onset.time() == onset.time() && expected == Some(other_onset.date())
            });
        holds.then(|| {
            format!(
                "FREQ=YEARLY;BYMONTH={};BYDAY={nth}{}",
                date.month(),
                weekday_code(weekday)
            )
        })
    })
}

/// An RFC 5545 UTC offset: `+0100`, `-0330`, or `+000921` with seconds.
fn format_offset(offset: Offset) -> String {
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let total = total.unsigned_abs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if seconds == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{seconds:02}")
    }
}

// ---------------------------------------------------------------------------
// Text encoding
// ---------------------------------------------------------------------------

/// Escapes a TEXT value (RFC 5545 section 3.3.11): backslash, semicolon and
/// comma get a backslash, any line break becomes `\n`. Other control
/// characters are not allowed in TEXT and are dropped (tab is kept).
fn escape_text(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                escaped.push_str("\\n");
            }
            '\t' => escaped.push('\t'),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends `line` with CRLF, folded so that no physical line exceeds 75
/// octets (RFC 5545 section 3.1): continuation lines start with one space,
/// which counts towards their 75. Cuts fall on UTF-8 character boundaries.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut budget = MAX_LINE_OCTETS;
    loop {
        if rest.len() <= budget {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = budget;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        budget = MAX_LINE_OCTETS - 1;
    }
}

/// Folds a single `line` into a new string (with the final CRLF), for tests.
#[cfg(test)]
fn folded(line: &str) -> String {
    let mut out = String::new();
    push_line(&mut out, line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::Weekday;

    fn zoned(text: &str) -> Zoned {
        text.parse().expect("valid RFC 9557 test input")
    }

    fn event(start: &str) -> IcsEvent {
        IcsEvent {
            uid: "evt-1".into(),
            title: "Atelier poterie".into(),
            description: "Apportez un tablier.".into(),
            place: Some("Salle des fêtes".into()),
            start: zoned(start),
            end: None,
            recurrence: None,
            organiser: "Élodie Durand".into(),
            updated: "2026-11-20T09:30:00Z".parse().expect("valid"),
            cancelled: false,
        }
    }

    /// Undoes folding, checking CRLF endings and line lengths on the way.
    fn unfold(ics: &str) -> Vec<String> {
        assert!(ics.ends_with("\r\n"), "output ends with CRLF");
        let mut lines: Vec<String> = Vec::new();
        for physical in ics[..ics.len() - 2].split("\r\n") {
            assert!(!physical.contains(['\r', '\n']), "bare CR or LF in {physical:?}");
            assert!(
                physical.len() <= MAX_LINE_OCTETS,
                "{} octets: {physical:?}",
                physical.len()
            );
            match physical.strip_prefix(' ') {
                Some(continuation) => lines
                    .last_mut()
                    .expect("continuation after a line")
                    .push_str(continuation),
                None => lines.push(physical.to_owned()),
            }
        }
        lines
    }

    /// Checks that components nest properly and returns the unfolded lines.
    fn check_structure(ics: &str) -> Vec<String> {
        let lines = unfold(ics);
        let mut stack: Vec<&str> = Vec::new();
        for line in &lines {
            if let Some(name) = line.strip_prefix("BEGIN:") {
                stack.push(name);
            } else if let Some(name) = line.strip_prefix("END:") {
                assert_eq!(stack.pop(), Some(name), "END:{name} without matching BEGIN");
            } else {
                assert!(!stack.is_empty(), "property outside any component: {line}");
                assert!(line.contains(':'), "property without value: {line}");
            }
        }
        assert!(stack.is_empty(), "unclosed components: {stack:?}");
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        lines
    }

    fn has(lines: &[String], wanted: &str) -> bool {
        lines.iter().any(|line| line == wanted)
    }

    #[test]
    fn folding_never_splits_utf8_and_respects_75_octets() {
        for width in 60..90 {
            for filler in ["é", "€", "🎨", "a"] {
                let line = format!("DESCRIPTION:{}{}", "x".repeat(width % 7), filler.repeat(width));
                let out = folded(&line);
                // `out` is a String, so every piece is valid UTF-8; the
                // pieces must also each be valid on their own.
                for physical in out.trim_end_matches("\r\n").split("\r\n") {
                    assert!(physical.len() <= MAX_LINE_OCTETS, "{physical:?}");
                    assert!(std::str::from_utf8(physical.as_bytes()).is_ok());
                }
                let unfolded: String = out
                    .trim_end_matches("\r\n")
                    .split("\r\n")
                    .enumerate()
                    .map(|(i, p)| if i == 0 { p } else { &p[1..] })
                    .collect();
                assert_eq!(unfolded, line);
            }
        }
        assert_eq!(folded("SUMMARY:court"), "SUMMARY:court\r\n");
        let exact = format!("SUMMARY:{}", "a".repeat(75 - 8));
        assert_eq!(folded(&exact), format!("{exact}\r\n"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_text("Pain, fromage; vin\\eau\nligne 2\r\nligne 3\rfin"),
            "Pain\\, fromage\\; vin\\\\eau\\nligne 2\\nligne 3\\nfin"
        );
        assert_eq!(escape_text("bip\u{7}\tok"), "bip\tok");
        let mut e = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        e.title = "Soupe, pain; fête".into();
        let lines = check_structure(&calendar("Villars, agenda", &[e]));
        assert!(has(&lines, "SUMMARY:Soupe\\, pain\\; fête"), "{lines:#?}");
        assert!(has(&lines, "X-WR-CALNAME:Villars\\, agenda"), "{lines:#?}");
    }

    #[test]
    fn single_event_has_the_expected_properties() {
        let ics = calendar("Villars", &[event("2026-12-05T18:00:00+01:00[Europe/Paris]")]);
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//maillage//maillage//FR\r\n"));
        let lines = check_structure(&ics);
        for wanted in [
            "CALSCALE:GREGORIAN",
            "X-WR-CALNAME:Villars",
            "UID:evt-1@maillage",
            "DTSTAMP:20261120T093000Z",
            "LAST-MODIFIED:20261120T093000Z",
            "DTSTART;TZID=Europe/Paris:20261205T180000",
            "DTEND;TZID=Europe/Paris:20261205T190000",
            "SUMMARY:Atelier poterie",
            "DESCRIPTION:Apportez un tablier.\\n\\nOrganisé par : Élodie Durand",
            "LOCATION:Salle des fêtes",
            "CONTACT:Élodie Durand",
            "STATUS:CONFIRMED",
            // The observance in force in December: winter time since October.
            "TZID:Europe/Paris",
            "BEGIN:STANDARD",
            "DTSTART:20261025T030000",
            "TZOFFSETFROM:+0200",
            "TZOFFSETTO:+0100",
            "TZNAME:CET",
        ] {
            assert!(has(&lines, wanted), "missing {wanted:?} in {lines:#?}");
        }
        assert!(
            !lines
                .iter()
                .any(|l| l.starts_with("ORGANIZER") || l.starts_with("RRULE"))
        );
    }

    #[test]
    fn explicit_end_is_used_and_a_bad_end_replaced() {
        let mut e = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        e.end = Some(zoned("2026-12-05T20:30:00+01:00[Europe/Paris]"));
        let lines = check_structure(&calendar("c", std::slice::from_ref(&e)));
        assert!(has(&lines, "DTEND;TZID=Europe/Paris:20261205T203000"));
        e.end = Some(e.start.clone());
        let lines = check_structure(&calendar("c", &[e]));
        assert!(has(&lines, "DTEND;TZID=Europe/Paris:20261205T190000"));
    }

    #[test]
    fn recurring_event_has_rrule_and_paris_timezone_rules() {
        let mut e = event("2026-12-01T18:00:00+01:00[Europe/Paris]");
        e.recurrence = Some(
            Recurrence::new(crate::time::Freq::Weekly)
                .with_by_day([Weekday::Tuesday, Weekday::Thursday])
                .expect("weekly"),
        );
        let lines = check_structure(&calendar("Villars", &[e]));
        for wanted in [
            "RRULE:FREQ=WEEKLY;BYDAY=TU,TH",
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Paris",
            "BEGIN:DAYLIGHT",
            "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
            "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
            "TZNAME:CEST",
            "TZOFFSETFROM:+0100",
            "TZOFFSETTO:+0200",
        ] {
            assert!(has(&lines, wanted), "missing {wanted:?} in {lines:#?}");
        }
        // The VTIMEZONE comes before the event that uses it.
        let tz_at = lines.iter().position(|l| l == "BEGIN:VTIMEZONE");
        let event_at = lines.iter().position(|l| l == "BEGIN:VEVENT");
        assert!(tz_at < event_at);
    }

    #[test]
    fn bounded_recurrence_lists_each_transition() {
        let mut e = event("2026-12-01T18:00:00+01:00[Europe/Paris]");
        e.recurrence = Some("FREQ=MONTHLY;COUNT=12".parse().expect("valid"));
        let lines = check_structure(&calendar("c", &[e]));
        // October 2026 (in force), March 2027, October 2027 (after the last
        // occurrence in November 2027, so not needed)...
        assert!(has(&lines, "DTSTART:20261025T030000"));
        assert!(has(&lines, "DTSTART:20270328T020000"));
        assert!(has(&lines, "DTSTART:20271031T030000"));
        assert!(!has(&lines, "DTSTART:20280326T020000"));
        assert!(!lines.iter().any(|l| l.starts_with("RRULE:FREQ=YEARLY")));
    }

    #[test]
    fn cancelled_event_is_marked() {
        let mut e = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        e.cancelled = true;
        let lines = check_structure(&calendar("c", &[e]));
        assert!(has(&lines, "STATUS:CANCELLED"));
        assert!(!has(&lines, "STATUS:CONFIRMED"));
    }

    #[test]
    fn zones_without_iana_name_are_written_in_utc() {
        let mut e = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        e.start = e.start.with_time_zone(TimeZone::fixed(jiff::tz::offset(1)));
        let lines = check_structure(&calendar("c", std::slice::from_ref(&e)));
        assert!(has(&lines, "DTSTART:20261205T170000Z"), "{lines:#?}");
        assert!(!has(&lines, "BEGIN:VTIMEZONE"));
        e.start = e.start.with_time_zone(TimeZone::UTC);
        let lines = check_structure(&calendar("c", &[e]));
        assert!(has(&lines, "DTSTART:20261205T170000Z"), "{lines:#?}");
    }

    #[test]
    fn each_zone_gets_one_vtimezone() {
        let paris = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        let mut reunion = event("2026-12-06T10:00:00+04:00[Indian/Reunion]");
        reunion.uid = "evt-2".into();
        let ics = calendar("c", &[paris.clone(), reunion, paris]);
        let lines = check_structure(&ics);
        assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VTIMEZONE").count(), 2);
        assert!(has(&lines, "TZID:Indian/Reunion"));
        assert!(has(&lines, "DTSTART;TZID=Indian/Reunion:20261206T100000"));
        assert!(has(&lines, "TZOFFSETTO:+0400"));
    }

    #[test]
    fn long_french_text_folds_cleanly() {
        let mut e = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        e.description = "Fête de l'été à côté de l'église : crêpes, café, pâtisseries, jeux d'été. ".repeat(6);
        let ics = calendar("c", std::slice::from_ref(&e));
        let lines = check_structure(&ics);
        let description = lines
            .iter()
            .find(|l| l.starts_with("DESCRIPTION:"))
            .expect("description present");
        assert!(description.contains(&escape_text(e.description.trim_end())));
    }

    #[test]
    fn output_is_deterministic() {
        let e = event("2026-12-05T18:00:00+01:00[Europe/Paris]");
        assert_eq!(calendar("c", std::slice::from_ref(&e)), calendar("c", &[e]));
    }

    #[test]
    fn offsets_are_formatted_per_rfc_5545() {
        let offset = |s: i32| Offset::from_seconds(s).expect("valid offset");
        assert_eq!(format_offset(offset(3600)), "+0100");
        assert_eq!(format_offset(offset(-12_600)), "-0330");
        assert_eq!(format_offset(offset(0)), "+0000");
        assert_eq!(format_offset(offset(561)), "+000921");
    }
}
