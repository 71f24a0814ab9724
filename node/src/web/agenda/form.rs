//! The new-event form: what the villager typed, turned into the same
//! [`EventInput`] the command line's `event add` builds. Dates and the
//! repetition are read here (as `event add` reads its options); everything
//! else is checked by `Household::add_event`, i.e. by `crdt/`.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use maillage_crdt::items::Problem;
use maillage_crdt::time::{Freq, Recurrence, TimeError, parse_datetime};
use serde::Deserialize;

use crate::household::EventInput;
use crate::i18n::Catalog;
use crate::messages;
use crate::web::page::FieldErrors;

/// The choices of the `repeat` select, as (value, message id). The crdt's
/// rule subset has daily and yearly too; a village needs them rarely but
/// they cost nothing.
pub const REPEAT_CHOICES: [(&str, &str); 5] = [
    ("none", "agenda-repeat-none"),
    ("weekly", "agenda-repeat-every-week"),
    ("monthly", "agenda-repeat-every-month"),
    ("daily", "agenda-repeat-every-day"),
    ("yearly", "agenda-repeat-every-year"),
];

/// The fields of `POST /agenda`, as typed (re-shown as typed on an error).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewEventForm {
    pub title: String,
    pub description: String,
    pub place: String,
    /// `datetime-local` sends `2026-12-05T18:00`; a browser without a
    /// picker lets villagers type `05/12/2026 18h00`, which is read too.
    pub start: String,
    pub end: String,
    pub repeat: String,
    /// How many times in all (the first included).
    pub repeat_count: String,
    /// The last day it may happen (`YYYY-MM-DD`).
    pub repeat_until: String,
}

impl NewEventForm {
    /// The event to add, or the errors of the fields that could not be read.
    pub fn to_input(&self, catalog: &Catalog, tz: &TimeZone) -> Result<EventInput, FieldErrors> {
        let mut errors = FieldErrors::default();
        let start = if self.start.trim().is_empty() {
            errors.set("start", messages::problem(&Problem::Required, catalog));
            None
        } else {
            parse_datetime(&self.start, tz)
                .map_err(|error| errors.set("start", time_error(&error, catalog)))
                .ok()
        };
        let end = optional(&self.end).and_then(|text| {
            parse_datetime(text, tz)
                .map_err(|error| errors.set("end", time_error(&error, catalog)))
                .ok()
        });
        let repeat = self.recurrence(catalog, tz, &mut errors);
        match start {
            Some(start) if errors.is_empty() => Ok(EventInput {
                title: self.title.clone(),
                description: optional(&self.description).map(str::to_owned),
                category: None,
                place: optional(&self.place).map(str::to_owned),
                start,
                end,
                // Canonical text, so other calendars read it the same way.
                repeat: repeat.map(|rule| rule.to_string()),
            }),
            _ => Err(errors),
        }
    }

    fn recurrence(&self, catalog: &Catalog, tz: &TimeZone, errors: &mut FieldErrors) -> Option<Recurrence> {
        let freq = match self.repeat.trim() {
            "" | "none" => None,
            "daily" => Some(Freq::Daily),
            "weekly" => Some(Freq::Weekly),
            "monthly" => Some(Freq::Monthly),
            "yearly" => Some(Freq::Yearly),
            other => {
                let expected = REPEAT_CHOICES.map(|(value, _)| value).join(", ");
                let problem = Problem::NotOneOf {
                    found: other.to_owned(),
                    expected,
                };
                errors.set("repeat", messages::problem(&problem, catalog));
                return None;
            }
        };
        let count = optional(&self.repeat_count);
        let until = optional(&self.repeat_until);
        let Some(freq) = freq else {
            // A bound without a frequency means the villager forgot to
            // choose one: say so rather than drop what they typed.
            if count.is_some() || until.is_some() {
                errors.set("repeat", catalog.t("agenda-repeat-needs-frequency", &[]));
            }
            return None;
        };
        let mut rule = Recurrence::new(freq);
        match (count, until) {
            (Some(_), Some(_)) => {
                // The rule's own wording speaks of COUNT and UNTIL; the
                // villager filled in two fields.
                errors.set("repeat_until", catalog.t("agenda-repeat-count-and-until", &[]));
                return None;
            }
            (Some(count), None) => {
                let bounded = count
                    .parse::<u32>()
                    .ok()
                    .and_then(|count| rule.clone().with_count(count).ok());
                match bounded {
                    Some(bounded) => rule = bounded,
                    None => {
                        errors.set("repeat_count", catalog.t("agenda-repeat-count-invalid", &[]));
                        return None;
                    }
                }
            }
            (None, Some(until)) => {
                // The whole last day counts: "until 20 December" includes
                // an evening meeting on the 20th.
                let last = Date::strptime("%Y-%m-%d", until)
                    .ok()
                    .and_then(|date| date.at(23, 59, 59, 0).to_zoned(tz.clone()).ok());
                let bounded = last.and_then(|last| rule.clone().with_until(last.timestamp()).ok());
                match bounded {
                    Some(bounded) => rule = bounded,
                    None => {
                        let error = TimeError::InvalidDate(until.to_owned());
                        errors.set("repeat_until", time_error(&error, catalog));
                        return None;
                    }
                }
            }
            (None, None) => {}
        }
        Some(rule)
    }
}

/// The field's text, or `None` when left blank.
fn optional(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

/// A date or rule error in the page's language (the command line's words).
fn time_error(error: &TimeError, catalog: &Catalog) -> String {
    let text = catalog.t(error.code(), &[("text", error.input())]);
    if text == error.code() { error.to_string() } else { text }
}

/// Which input a refused event field belongs to: the crdt names the
/// event's fields as the form names its inputs.
pub fn input_of(field: &str) -> Option<&'static str> {
    match field {
        "title" => Some("title"),
        "description" => Some("description"),
        "place" => Some("place"),
        "end" => Some("end"),
        "start" => Some("start"),
        "repeat" => Some("repeat"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    fn form(start: &str) -> NewEventForm {
        NewEventForm {
            title: "Atelier vélo".into(),
            start: start.into(),
            ..NewEventForm::default()
        }
    }

    fn errors_of(form: &NewEventForm) -> FieldErrors {
        form.to_input(Catalog::shared(Lang::En), &paris()).unwrap_err()
    }

    #[test]
    fn the_browser_picker_and_typed_french_dates_are_both_read() {
        let catalog = Catalog::shared(Lang::Fr);
        let picked = form("2026-12-05T18:00").to_input(catalog, &paris()).unwrap();
        let typed = form("05/12/2026 18h00").to_input(catalog, &paris()).unwrap();
        assert_eq!(picked.start, typed.start);
        assert_eq!(picked.repeat, None);
        assert_eq!(picked.place, None, "a blank place is no place");
    }

    #[test]
    fn a_weekly_repetition_becomes_a_bounded_rule() {
        let catalog = Catalog::shared(Lang::Fr);
        let mut weekly = form("2026-12-01T18:00");
        weekly.repeat = "weekly".into();
        weekly.repeat_count = "6".into();
        let input = weekly.to_input(catalog, &paris()).unwrap();
        assert_eq!(input.repeat.as_deref(), Some("FREQ=WEEKLY;COUNT=6"));

        weekly.repeat_count.clear();
        weekly.repeat_until = "2026-12-22".into();
        let input = weekly.to_input(catalog, &paris()).unwrap();
        let rule: Recurrence = input.repeat.unwrap().parse().unwrap();
        let last = rule.until().unwrap().to_zoned(paris());
        assert_eq!((last.day(), last.hour()), (22, 23), "the whole last day counts");
    }

    #[test]
    fn unreadable_fields_are_refused_next_to_their_input() {
        assert!(errors_of(&form("")).get("start").is_some());
        assert!(errors_of(&form("tomorrow-ish")).get("start").is_some());

        let mut bad_end = form("2026-12-05T18:00");
        bad_end.end = "32/12/2026".into();
        assert!(errors_of(&bad_end).get("end").is_some());

        let mut both = form("2026-12-05T18:00");
        both.repeat = "weekly".into();
        both.repeat_count = "3".into();
        both.repeat_until = "2026-12-31".into();
        assert!(errors_of(&both).get("repeat_until").is_some());

        let mut zero = form("2026-12-05T18:00");
        zero.repeat = "monthly".into();
        zero.repeat_count = "0".into();
        assert!(errors_of(&zero).get("repeat_count").is_some());

        let mut no_frequency = form("2026-12-05T18:00");
        no_frequency.repeat_count = "4".into();
        assert!(errors_of(&no_frequency).get("repeat").is_some());

        let mut hourly = form("2026-12-05T18:00");
        hourly.repeat = "hourly".into();
        assert!(errors_of(&hourly).get("repeat").is_some());
    }
}
