//! When events happen: upcoming occurrences for the list, one month's days
//! for the month view. Pure: the caller passes "now" and the zone, so the
//! tests below need no clock.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};
use maillage_crdt::ids::DocId;
use maillage_crdt::items::Event;
use maillage_crdt::time::Recurrence;

/// How far ahead the list looks (the command line's `event list` too).
pub const LIST_HORIZON: SignedDuration = SignedDuration::from_hours(24 * 366);

/// How many dates a recurring event's card shows.
pub const DATES_ON_CARD: usize = 4;

/// How many dates an event's own page shows.
pub const DATES_ON_PAGE: usize = 10;

/// How far ahead an event's own page looks for its next dates.
const PAGE_HORIZON: SignedDuration = SignedDuration::from_hours(24 * 366 * 5);

/// The most occurrences of one event in one month (a daily event: 31).
const MONTH_LIMIT: usize = 62;

/// One event as the agenda shows it.
#[derive(Clone, Debug)]
pub struct AgendaEvent {
    pub id: DocId,
    pub body: Event,
    /// The first occurrence, in the zone its author chose.
    pub start: Zoned,
    pub end: Option<Zoned>,
    /// `None` for a one-off, or when a peer sent a rule we cannot read (the
    /// event then shows once, at its start, rather than not at all).
    pub rule: Option<Recurrence>,
    pub organiser: String,
    /// Whether this household posted it (and so may cancel it).
    pub mine: bool,
}

impl AgendaEvent {
    pub fn new(id: DocId, body: Event, organiser: String, mine: bool) -> AgendaEvent {
        // The stored text keeps the author's zone; the milliseconds are the
        // fallback if a peer's text does not parse.
        let start = body
            .start
            .parse::<Zoned>()
            .unwrap_or_else(|_| zoned_from_ms(body.start_ms, &TimeZone::system()));
        let end = body
            .end
            .as_deref()
            .and_then(|text| text.parse::<Zoned>().ok())
            .or_else(|| body.end_ms.map(|ms| zoned_from_ms(ms, start.time_zone())));
        let rule = body.repeat.as_deref().and_then(|text| text.parse::<Recurrence>().ok());
        AgendaEvent {
            id,
            body,
            start,
            end,
            rule,
            organiser,
            mine,
        }
    }

    /// How long each occurrence lasts (zero when no end was given).
    pub fn duration(&self) -> SignedDuration {
        // Saturating: times come from other households and may be extreme.
        let ms = self
            .body
            .end_ms
            .map(|end| end.saturating_sub(self.body.start_ms).max(0))
            .unwrap_or(0);
        SignedDuration::from_millis(ms)
    }

    /// Starts of the occurrences still going on or starting in
    /// `[from, to)`, at most `limit` of them.
    pub fn occurrences(&self, from: Timestamp, to: Timestamp, limit: usize) -> Vec<Zoned> {
        // An occurrence that started before `from` but has not ended yet is
        // still worth showing: move the window back by one duration.
        let from_start = from.checked_sub(self.duration()).unwrap_or(from);
        match &self.rule {
            Some(rule) => rule.occurrences(&self.start, from_start, to, limit),
            None => {
                let start = self.start.timestamp();
                if limit > 0 && start >= from_start && start < to {
                    vec![self.start.clone()]
                } else {
                    vec![]
                }
            }
        }
    }

    /// The next dates shown on the event's own page.
    pub fn next_dates(&self, now: Timestamp) -> Vec<Zoned> {
        self.occurrences(now, now.checked_add(PAGE_HORIZON).unwrap_or(now), DATES_ON_PAGE)
    }
}

fn zoned_from_ms(ms: i64, tz: &TimeZone) -> Zoned {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
}

/// Events with an occurrence between `now` and the list's horizon, each with
/// its next few dates, soonest first.
pub fn upcoming(events: Vec<AgendaEvent>, now: Timestamp) -> Vec<(AgendaEvent, Vec<Zoned>)> {
    let until = now.checked_add(LIST_HORIZON).unwrap_or(now);
    let mut listed: Vec<(AgendaEvent, Vec<Zoned>)> = events
        .into_iter()
        .filter_map(|event| {
            let dates = event.occurrences(now, until, DATES_ON_CARD);
            (!dates.is_empty()).then_some((event, dates))
        })
        .collect();
    listed.sort_by_key(|(event, dates)| (dates[0].timestamp(), event.id));
    listed
}

/// A calendar month, as in `?mois=2026-12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    first: Date,
}

impl Month {
    /// `YYYY-MM`; `None` for anything else or a year out of range.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let year: i16 = year.parse().ok()?;
        let month: i8 = month.parse().ok()?;
        // One year of margin on each side keeps previous()/next() in range.
        if !(2..=9998).contains(&year) {
            return None;
        }
        Date::new(year, month, 1).ok().map(|first| Month { first })
    }

    pub fn containing(date: Date) -> Month {
        Month {
            first: date.first_of_month(),
        }
    }

    pub fn year(self) -> i16 {
        self.first.year()
    }

    /// 1 to 12.
    pub fn number(self) -> i8 {
        self.first.month()
    }

    /// `YYYY-MM`, for links.
    pub fn param(self) -> String {
        format!("{:04}-{:02}", self.first.year(), self.first.month())
    }

    pub fn previous(self) -> Month {
        Month {
            first: self
                .first
                .checked_sub(jiff::Span::new().months(1))
                .unwrap_or(self.first),
        }
    }

    pub fn next(self) -> Month {
        Month {
            first: self
                .first
                .checked_add(jiff::Span::new().months(1))
                .unwrap_or(self.first),
        }
    }

    /// The month's weeks, Monday first; days of other months are `None`.
    pub fn weeks(self) -> Vec<[Option<Date>; 7]> {
        let mut weeks = Vec::new();
        let mut week = [None; 7];
        let mut day = self.first;
        while day.month() == self.first.month() {
            let column = day.weekday().to_monday_zero_offset() as usize;
            week[column] = Some(day);
            if column == 6 {
                weeks.push(week);
                week = [None; 7];
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        if week.iter().any(Option::is_some) {
            weeks.push(week);
        }
        weeks
    }

    /// From the first midnight of the month to the first of the next, in `tz`.
    fn window(self, tz: &TimeZone) -> (Timestamp, Timestamp) {
        let start = |date: Date| {
            date.to_zoned(tz.clone())
                .map(|zoned| zoned.timestamp())
                .unwrap_or(Timestamp::UNIX_EPOCH)
        };
        (start(self.first), start(self.next().first))
    }
}

/// One line of a day in the month view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayEntry {
    /// When the occurrence starts, in the zone the page is shown in.
    pub start: Zoned,
    /// The event's index in the slice given to [`month_days`].
    pub index: usize,
    /// The occurrence started on an earlier day and goes on this one.
    pub continued: bool,
}

/// What one day of the month view lists, in time order (occurrences going
/// on from earlier days first).
pub type DayEntries = Vec<DayEntry>;

/// Every day of `month` each occurrence covers, in `tz`: its first day, and
/// for an occurrence that ends on a later date every day up to that one.
pub fn month_days(events: &[AgendaEvent], month: Month, tz: &TimeZone) -> BTreeMap<Date, DayEntries> {
    let (from, to) = month.window(tz);
    let month_days = month.first..month.next().first;
    let mut days: BTreeMap<Date, DayEntries> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        let duration = event.duration();
        // Occurrences that started in an earlier month and are still going
        // on when this one begins are included.
        for start in event.occurrences(from, to, MONTH_LIMIT) {
            let local = start.timestamp().to_zoned(tz.clone());
            let (first, last) = covered_days(&local, duration);
            // Only the month's own days are walked, however long an
            // occurrence claims to last: times come from other households.
            let mut day = first.max(month_days.start);
            while day <= last && month_days.contains(&day) {
                days.entry(day).or_default().push(DayEntry {
                    start: local.clone(),
                    index,
                    continued: day != first,
                });
                match day.tomorrow() {
                    Ok(next) => day = next,
                    Err(_) => break,
                }
            }
        }
    }
    for entries in days.values_mut() {
        // One line per event and day. A repeating event whose occurrences
        // last longer than its period (an end typed as the series' last
        // date) would otherwise list several overlapping ones: the one
        // starting that day wins, else the latest one still going on.
        entries.sort_by_key(|entry| (entry.index, entry.continued, std::cmp::Reverse(entry.start.timestamp())));
        entries.dedup_by_key(|entry| entry.index);
        entries.sort_by_key(|entry| (entry.start.timestamp(), entry.index));
    }
    days
}

/// The first and last dates an occurrence starting at `start` and lasting
/// `duration` covers, in `start`'s zone. The end is exclusive: an occurrence
/// ending at midnight does not cover the day that midnight begins.
fn covered_days(start: &Zoned, duration: SignedDuration) -> (Date, Date) {
    let first = start.date();
    if !duration.is_positive() {
        return (first, first);
    }
    let last = start
        .timestamp()
        .checked_add(duration)
        .and_then(|end| end.checked_sub(SignedDuration::from_nanos(1)))
        .map_or(first, |last_instant| {
            last_instant.to_zoned(start.time_zone().clone()).date()
        });
    (first, last.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillage_crdt::time::parse_datetime;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    fn event(title: &str, start: &str, end: Option<&str>, repeat: Option<&str>) -> AgendaEvent {
        let start = parse_datetime(start, &paris()).unwrap();
        let end = end.map(|end| parse_datetime(end, &paris()).unwrap());
        let body = Event {
            title: title.into(),
            description: String::new(),
            category: String::new(),
            place: None,
            start: start.to_string(),
            end: end.as_ref().map(ToString::to_string),
            start_ms: start.timestamp().as_millisecond(),
            end_ms: end.as_ref().map(|end| end.timestamp().as_millisecond()),
            repeat: repeat.map(str::to_owned),
            cancelled: false,
            created_at: 0,
            updated_at: 0,
            deleted: false,
        };
        AgendaEvent::new(DocId([title.len() as u8; 32]), body, "Ferme".into(), true)
    }

    fn at(text: &str) -> Timestamp {
        parse_datetime(text, &paris()).unwrap().timestamp()
    }

    #[test]
    fn the_list_keeps_what_is_still_going_on_and_drops_what_is_over() {
        let over = event("Loto", "2026-12-01 18:00", Some("2026-12-01 20:00"), None);
        let going_on = event("Marché de Noël", "2026-12-05 09:00", Some("2026-12-05 18:00"), None);
        let later = event("Veillée", "2026-12-20 20:00", None, None);
        let listed = upcoming(vec![later, over, going_on], at("2026-12-05 12:00"));
        let titles: Vec<&str> = listed.iter().map(|(e, _)| e.body.title.as_str()).collect();
        assert_eq!(titles, ["Marché de Noël", "Veillée"]);
    }

    #[test]
    fn a_weekly_event_lists_its_next_dates() {
        let workshop = event("Atelier", "2026-11-03 18:00", None, Some("FREQ=WEEKLY"));
        let listed = upcoming(vec![workshop], at("2026-11-20 12:00"));
        let dates: Vec<String> = listed[0].1.iter().map(|z| z.date().to_string()).collect();
        assert_eq!(dates, ["2026-11-24", "2026-12-01", "2026-12-08", "2026-12-15"]);
    }

    #[test]
    fn a_month_has_whole_weeks_starting_on_monday() {
        let december = Month::parse("2026-12").unwrap();
        let weeks = december.weeks();
        // 1 December 2026 is a Tuesday; the 31st a Thursday.
        assert_eq!(weeks.len(), 5);
        assert_eq!(weeks[0][0], None);
        assert_eq!(weeks[0][1].unwrap().day(), 1);
        assert_eq!(weeks[4][3].unwrap().day(), 31);
        assert_eq!(weeks[4][4], None);
        assert_eq!(december.previous().param(), "2026-11");
        assert_eq!(december.next().param(), "2027-01");
    }

    #[test]
    fn month_parameters_outside_the_calendar_are_refused() {
        for bad in ["2026-13", "2026-1", "26-12", "", "abcd-ef", "0000-01", "9999-12"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_monthly_event_appears_on_its_day_in_each_month() {
        let events = vec![
            event("Conseil", "2026-10-15 20:00", None, Some("FREQ=MONTHLY;COUNT=3")),
            event("Bal", "2026-11-15 21:00", None, None),
        ];
        let november = month_days(&events, Month::parse("2026-11").unwrap(), &paris());
        let day = &november[&Date::new(2026, 11, 15).unwrap()];
        let order: Vec<usize> = day.iter().map(|entry| entry.index).collect();
        assert_eq!(order, [0, 1], "in time order");
        let january = month_days(&events, Month::parse("2027-01").unwrap(), &paris());
        assert!(january.is_empty(), "three times only: {january:?}");
    }

    /// The days of `month` listing event `index`, with whether it goes on
    /// from an earlier day.
    fn days_of(days: &BTreeMap<Date, DayEntries>, index: usize) -> Vec<(i8, bool)> {
        days.iter()
            .flat_map(|(date, entries)| {
                entries
                    .iter()
                    .filter(move |entry| entry.index == index)
                    .map(move |entry| (date.day(), entry.continued))
            })
            .collect()
    }

    #[test]
    fn an_event_over_several_days_shows_on_each_of_them() {
        let fair = event("Foire aux plants", "2026-05-08 10:00", Some("2026-05-10 18:00"), None);
        let may = month_days(&[fair], Month::parse("2026-05").unwrap(), &paris());
        assert_eq!(days_of(&may, 0), [(8, false), (9, true), (10, true)]);
        let entry = &may[&Date::new(2026, 5, 9).unwrap()][0];
        assert_eq!(
            entry.start.date(),
            Date::new(2026, 5, 8).unwrap(),
            "its start stays the first day's"
        );
    }

    #[test]
    fn an_event_ending_at_midnight_does_not_cover_the_next_day() {
        let ball = event("Bal du samedi", "2026-05-09 10:00", Some("2026-05-10 00:00"), None);
        let night = event("Nuit des étoiles", "2026-05-09 21:00", Some("2026-05-10 00:01"), None);
        let may = month_days(&[ball, night], Month::parse("2026-05").unwrap(), &paris());
        assert_eq!(days_of(&may, 0), [(9, false)]);
        assert_eq!(days_of(&may, 1), [(9, false), (10, true)]);
    }

    #[test]
    fn an_event_crossing_into_the_next_month_shows_in_both() {
        let camp = event("Camp scout", "2026-06-29 09:00", Some("2026-07-02 17:00"), None);
        let events = [camp];
        let june = month_days(&events, Month::parse("2026-06").unwrap(), &paris());
        let july = month_days(&events, Month::parse("2026-07").unwrap(), &paris());
        assert_eq!(days_of(&june, 0), [(29, false), (30, true)]);
        assert_eq!(days_of(&july, 0), [(1, true), (2, true)]);
    }

    #[test]
    fn each_occurrence_of_a_recurring_event_covers_its_own_days() {
        // Every Saturday 14:00 to Sunday 12:00, three times.
        let market = event(
            "Marché du week-end",
            "2026-05-02 14:00",
            Some("2026-05-03 12:00"),
            Some("FREQ=WEEKLY;COUNT=3"),
        );
        let may = month_days(&[market], Month::parse("2026-05").unwrap(), &paris());
        assert_eq!(
            days_of(&may, 0),
            [(2, false), (3, true), (9, false), (10, true), (16, false), (17, true)]
        );
    }

    #[test]
    fn a_day_lists_what_goes_on_from_before_ahead_of_what_starts() {
        let fair = event("Foire", "2026-05-08 10:00", Some("2026-05-10 18:00"), None);
        let concert = event("Concert", "2026-05-09 09:00", None, None);
        let may = month_days(&[concert, fair], Month::parse("2026-05").unwrap(), &paris());
        let ninth: Vec<(usize, bool)> = may[&Date::new(2026, 5, 9).unwrap()]
            .iter()
            .map(|entry| (entry.index, entry.continued))
            .collect();
        assert_eq!(ninth, [(1, true), (0, false)]);
    }

    #[test]
    fn a_repeating_event_longer_than_its_period_shows_once_a_day() {
        // A weekly market whose end was typed as the series' last date:
        // each occurrence "lasts" two months and they all overlap.
        let market = event(
            "Marché",
            "2026-04-04 08:00",
            Some("2026-06-04 12:00"),
            Some("FREQ=WEEKLY;COUNT=10"),
        );
        let may = month_days(&[market], Month::parse("2026-05").unwrap(), &paris());
        assert_eq!(may.len(), 31, "every day of May is covered");
        assert!(may.values().all(|entries| entries.len() == 1), "one line per day");
        let starts: Vec<i8> = may
            .iter()
            .filter(|(_, entries)| !entries[0].continued)
            .map(|(day, _)| day.day())
            .collect();
        assert_eq!(starts, [2, 9, 16, 23, 30], "the days an occurrence starts say so");
    }

    #[test]
    fn an_endless_event_fills_only_the_month_shown() {
        let forever = event("Exposition", "2000-01-01 10:00", Some("2999-01-01 10:00"), None);
        let may = month_days(&[forever], Month::parse("2026-05").unwrap(), &paris());
        assert_eq!(may.len(), 31);
        assert!(may.values().all(|entries| entries.len() == 1 && entries[0].continued));
    }
}
