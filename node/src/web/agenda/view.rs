//! The agenda's markup: the list, the month view, the calendar feed's
//! address, the new-event form and an event's own page. Plain values in,
//! maud out; nothing here touches the household.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use maillage_crdt::items::{RsvpAnswer, limits};
use maillage_crdt::time::{Freq, Recurrence};
use maud::{Markup, html};

use super::form::{NewEventForm, REPEAT_CHOICES};
use super::schedule::{AgendaEvent, DayEntries, Month};
use crate::web::page::{
    FieldErrors, FieldOptions, Page, Section, document, error_summary, select_field, text_area, text_field,
};

/// Everything the agenda's main page needs.
pub struct AgendaPage<'a> {
    pub view: AgendaView<'a>,
    /// `http://HOST/agenda.ics?cle=KEY`
    pub feed_url: String,
    /// Whether the page is served on loopback only, so a phone cannot reach
    /// the feed yet.
    pub loopback: bool,
}

pub enum AgendaView<'a> {
    List(&'a [(AgendaEvent, Vec<Zoned>)]),
    Month {
        month: Month,
        events: &'a [AgendaEvent],
        days: &'a BTreeMap<Date, DayEntries>,
        today: Date,
    },
}

pub fn agenda(page: &Page, agenda: &AgendaPage<'_>) -> Markup {
    let title = page.t("agenda-title");
    let is_month = matches!(agenda.view, AgendaView::Month { .. });
    let main = html! {
        h1 { (title) }
        div class="toolbar agenda-toolbar" {
            a class="button" href="/agenda/nouveau" { (page.t("agenda-new-event")) }
            nav class="agenda-views" aria-label=(page.t("agenda-view-label")) {
                ul {
                    li { a href="/agenda" aria-current=[(!is_month).then_some("page")] { (page.t("agenda-view-list")) } }
                    li { a href="/agenda?vue=mois" aria-current=[is_month.then_some("page")] { (page.t("agenda-view-month")) } }
                }
            }
        }
        @match &agenda.view {
            AgendaView::List(listed) => (list(page, listed)),
            AgendaView::Month { month, events, days, today } => (month_view(page, *month, events, days, *today)),
        }
        (feed(page, &agenda.feed_url, agenda.loopback))
    };
    document(page, &title, Section::Agenda, main)
}

fn list(page: &Page, listed: &[(AgendaEvent, Vec<Zoned>)]) -> Markup {
    html! {
        @if listed.is_empty() {
            p class="agenda-empty" { (page.t("agenda-empty")) }
        } @else {
            ul class="cards" {
                @for (event, dates) in listed {
                    (card(page, event, dates))
                }
            }
        }
    }
}

fn card(page: &Page, event: &AgendaEvent, dates: &[Zoned]) -> Markup {
    let id = event.id.to_text();
    let duration = event.duration();
    html! {
        li class={ "card event" @if event.body.cancelled { " cancelled" } } data-id=(id) {
            h2 { a href={ "/agenda/" (id) } { (event.body.title) } }
            @if event.body.cancelled {
                p { span class="badge badge-cancelled" { (page.t("agenda-cancelled")) } }
            }
            @if let Some(first) = dates.first() {
                p class="when" { (when(page, first, duration)) }
            }
            @if let Some(place) = &event.body.place {
                p class="meta" { (page.ta("agenda-place-is", &[("place", place)])) }
            }
            @if let Some(rule) = &event.rule {
                p class="meta" { (repeat_text(page, rule)) }
                @if dates.len() > 1 {
                    p class="meta" {
                        (page.t("agenda-then"))
                        " "
                        @for (index, date) in dates[1..].iter().enumerate() {
                            @if index > 0 { ", " }
                            time datetime=(date.timestamp()) { (page.time(ms(date))) }
                        }
                    }
                }
            }
            p class="meta" { (page.ta("agenda-organised-by-name", &[("name", &event.organiser)])) }
        }
    }
}

/// "05/12/2026 18:00 – 22:00", or with the end's date when it ends another day.
fn when(page: &Page, start: &Zoned, duration: jiff::SignedDuration) -> Markup {
    let end = (!duration.is_zero())
        .then(|| start.timestamp().checked_add(duration).ok())
        .flatten();
    let tz = TimeZone::system();
    html! {
        time datetime=(start.timestamp()) { (page.time(ms(start))) }
        @if let Some(end) = end {
            " – "
            @let same_day = start.timestamp().to_zoned(tz.clone()).date() == end.to_zoned(tz.clone()).date();
            time datetime=(end) {
                @if same_day {
                    (end.to_zoned(tz.clone()).strftime("%H:%M").to_string())
                } @else {
                    (page.time(end.as_millisecond()))
                }
            }
        }
    }
}

fn ms(zoned: &Zoned) -> i64 {
    zoned.timestamp().as_millisecond()
}

fn month_view(
    page: &Page,
    month: Month,
    events: &[AgendaEvent],
    days: &BTreeMap<Date, DayEntries>,
    today: Date,
) -> Markup {
    let month_name = page.t(&format!("agenda-month-{}", month.number()));
    let caption = page.ta(
        "agenda-month-caption",
        &[("month", &month_name), ("year", &month.year().to_string())],
    );
    html! {
        nav class="pager" aria-label=(page.t("agenda-month-pager")) {
            a href={ "/agenda?vue=mois&mois=" (month.previous().param()) } rel="prev" { "← " (page.t("agenda-month-previous")) }
            a href="/agenda?vue=mois" { (page.t("agenda-month-current")) }
            a href={ "/agenda?vue=mois&mois=" (month.next().param()) } rel="next" { (page.t("agenda-month-next")) " →" }
        }
        div class="month-scroll" {
            table class="month" {
                caption { (caption) }
                thead {
                    tr {
                        @for weekday in 1..=7 {
                            th scope="col" {
                                span aria-hidden="true" { (page.t(&format!("agenda-weekday-short-{weekday}"))) }
                                span class="visually-hidden" { (page.t(&format!("agenda-weekday-{weekday}"))) }
                            }
                        }
                    }
                }
                tbody {
                    @for week in month.weeks() {
                        tr {
                            @for day in week {
                                @match day {
                                    None => td class="outside" {},
                                    Some(day) => (day_cell(page, day, days.get(&day), events, day == today)),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn day_cell(page: &Page, day: Date, entries: Option<&DayEntries>, events: &[AgendaEvent], today: bool) -> Markup {
    html! {
        td class=[today.then_some("today")] aria-current=[today.then_some("date")] {
            p class="day" {
                time datetime=(day) { (day.day()) }
                @if today { " " span class="today-label" { (page.t("agenda-today")) } }
            }
            @if let Some(entries) = entries {
                ul {
                    @for entry in entries {
                        @if let Some(event) = events.get(entry.index) {
                            li class=[event.body.cancelled.then_some("cancelled")] {
                                a href={ "/agenda/" (event.id.to_text()) } {
                                    // A day after the first has no start time
                                    // to show; the link says the event goes
                                    // on, so it reads right on its own too.
                                    @if entry.continued {
                                        (page.ta("agenda-month-continued", &[("title", &event.body.title)]))
                                    } @else {
                                        time datetime=(entry.start.timestamp()) { (entry.start.strftime("%H:%M").to_string()) }
                                        " " (event.body.title)
                                    }
                                }
                                @if event.body.cancelled {
                                    " (" (page.t("agenda-cancelled")) ")"
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn feed(page: &Page, url: &str, loopback: bool) -> Markup {
    html! {
        section class="feed" aria-labelledby="feed-title" {
            h2 id="feed-title" { (page.t("agenda-feed-title")) }
            p { (page.t("agenda-feed-explain")) }
            p id="feed-url" { code class="code" { (url) } }
            p class="meta" { (page.t("agenda-feed-secret")) }
            @if loopback {
                p class="meta" {
                    (page.t("agenda-feed-loopback")) " "
                    code { "maillage node --web 0.0.0.0:7878" }
                }
            }
        }
    }
}

/// How an event repeats, in words: "Every week on Tuesday, 10 times in all".
pub fn repeat_text(page: &Page, rule: &Recurrence) -> String {
    let unit = match rule.freq() {
        Freq::Daily => "daily",
        Freq::Weekly => "weekly",
        Freq::Monthly => "monthly",
        Freq::Yearly => "yearly",
    };
    let mut text = if rule.interval() == 1 {
        page.t(&format!("agenda-repeat-{unit}"))
    } else {
        page.ta(
            &format!("agenda-repeat-{unit}-n"),
            &[("n", &rule.interval().to_string())],
        )
    };
    if !rule.by_day().is_empty() {
        let days: Vec<String> = rule
            .by_day()
            .iter()
            .map(|day| page.t(&format!("agenda-weekday-{}", day.to_monday_one_offset())))
            .collect();
        text.push_str(&page.ta("agenda-repeat-on", &[("days", &days.join(", "))]));
    }
    if let Some(count) = rule.count() {
        text.push_str(&page.ta("agenda-repeat-times", &[("count", &count.to_string())]));
    }
    if let Some(until) = rule.until() {
        text.push_str(&page.ta(
            "agenda-repeat-until-date",
            &[("date", &page.date(until.as_millisecond()))],
        ));
    }
    text
}

// ---------------------------------------------------------------------------
// New event

pub fn new_event(page: &Page, form: &NewEventForm, errors: &FieldErrors) -> Markup {
    let title = page.t("agenda-new-title");
    let repeat_choices: Vec<(String, String)> = REPEAT_CHOICES
        .iter()
        .map(|(value, label)| ((*value).to_owned(), page.t(label)))
        .collect();
    let start_hint = page.t("agenda-field-start-hint");
    let end_hint = page.t("agenda-field-end-hint");
    let count_hint = page.t("agenda-field-repeat-count-hint");
    let until_hint = page.t("agenda-field-repeat-until-hint");
    let selected = if form.repeat.is_empty() {
        "none"
    } else {
        form.repeat.as_str()
    };
    let main = html! {
        h1 { (title) }
        (error_summary(page, errors))
        form method="post" action="/agenda" class="event-form" novalidate {
            (page.csrf_field())
            (text_field(page, "title", &page.t("agenda-field-title"), &form.title, errors, FieldOptions {
                required: true,
                max_length: Some(limits::TITLE),
                ..FieldOptions::default()
            }))
            (text_area(page, "description", &page.t("agenda-field-description"), &form.description, errors, FieldOptions {
                max_length: Some(limits::DESCRIPTION),
                ..FieldOptions::default()
            }))
            (text_field(page, "place", &page.t("agenda-field-place"), &form.place, errors, FieldOptions {
                max_length: Some(limits::PLACE),
                ..FieldOptions::default()
            }))
            div class="agenda-dates" {
                (text_field(page, "start", &page.t("agenda-field-start"), &form.start, errors, FieldOptions {
                    required: true,
                    input_type: Some("datetime-local"),
                    hint: Some(&start_hint),
                    ..FieldOptions::default()
                }))
                (text_field(page, "end", &page.t("agenda-field-end"), &form.end, errors, FieldOptions {
                    input_type: Some("datetime-local"),
                    hint: Some(&end_hint),
                    ..FieldOptions::default()
                }))
            }
            fieldset class="agenda-repeat" {
                legend { (page.t("agenda-repeat-legend")) }
                (select_field(page, "repeat", &page.t("agenda-field-repeat"), &repeat_choices, selected, errors, FieldOptions::default()))
                (text_field(page, "repeat_count", &page.t("agenda-field-repeat-count"), &form.repeat_count, errors, FieldOptions {
                    input_type: Some("number"),
                    hint: Some(&count_hint),
                    ..FieldOptions::default()
                }))
                (text_field(page, "repeat_until", &page.t("agenda-field-repeat-until"), &form.repeat_until, errors, FieldOptions {
                    input_type: Some("date"),
                    hint: Some(&until_hint),
                    ..FieldOptions::default()
                }))
            }
            p {
                button type="submit" { (page.t("agenda-create")) }
                " "
                a href="/agenda" class="button secondary" { (page.t("agenda-back")) }
            }
        }
    };
    document(page, &title, Section::Agenda, main)
}

// ---------------------------------------------------------------------------
// One event

/// One household's answer, for the event's page.
pub struct AnswerRow {
    pub who: String,
    pub answer: RsvpAnswer,
    pub people: i64,
    pub mine: bool,
}

/// What the RSVP form shows: the villager's last answer, or what they just
/// typed with its errors.
pub struct RsvpDraft {
    pub answer: String,
    pub people: String,
    pub errors: FieldErrors,
}

pub fn event_page(
    page: &Page,
    event: &AgendaEvent,
    answers: &[AnswerRow],
    draft: &RsvpDraft,
    now: Timestamp,
) -> Markup {
    let id = event.id.to_text();
    let body = &event.body;
    let dates = event.next_dates(now);
    let duration = event.duration();
    let main = html! {
        h1 { (body.title) }
        @if body.cancelled {
            p class="cancelled-notice" role="note" { strong { (page.t("agenda-cancelled-notice")) } }
        }
        dl class="event-facts" {
            dt { (page.t("agenda-when")) }
            dd { (when(page, &event.start, duration)) }
            @if let Some(place) = &body.place {
                dt { (page.t("agenda-where")) }
                dd { (place) }
            }
            @if let Some(rule) = &event.rule {
                dt { (page.t("agenda-repeat")) }
                dd { (repeat_text(page, rule)) }
            }
            dt { (page.t("agenda-organised-by")) }
            dd { (event.organiser) }
        }
        @if !body.description.is_empty() {
            div class="description" { (body.description) }
        }
        p class="agenda-actions" {
            a class="button secondary" href={ "/agenda/" (id) ".ics" } download { (page.t("agenda-download")) }
        }
        @if event.mine && !body.cancelled {
            form method="post" action={ "/agenda/" (id) "/annuler" } class="inline" data-confirm=(page.t("agenda-cancel-confirm")) {
                (page.csrf_field())
                button type="submit" class="danger" { (page.t("agenda-cancel-event")) }
            }
        }

        h2 { (page.t("agenda-dates-title")) }
        @if dates.is_empty() {
            p { (page.t("agenda-dates-none")) }
        } @else {
            ol class="dates" {
                @for date in &dates {
                    li { (when(page, date, duration)) }
                }
            }
        }

        h2 { (page.t("agenda-answers-title")) }
        (answer_counts(page, answers))
        @if !answers.is_empty() {
            (answer_list(page, answers))
        }

        @if !body.cancelled {
            h2 { (page.t("agenda-your-answer")) }
            (rsvp_form(page, &id, draft))
        }
        p { a href="/agenda" { (page.t("agenda-back")) } }
    };
    document(page, &body.title, Section::Agenda, main)
}

fn answer_counts(page: &Page, answers: &[AnswerRow]) -> Markup {
    let tally = |answer: RsvpAnswer| {
        let rows = answers.iter().filter(|row| row.answer == answer);
        (rows.clone().count(), rows.map(|row| row.people).sum::<i64>())
    };
    html! {
        table class="answer-counts" {
            caption { (page.t("agenda-counts-caption")) }
            thead {
                tr {
                    th scope="col" { (page.t("agenda-col-answer")) }
                    th scope="col" class="number" { (page.t("agenda-col-households")) }
                    th scope="col" class="number" { (page.t("agenda-col-people")) }
                }
            }
            tbody {
                @for answer in [RsvpAnswer::Yes, RsvpAnswer::Maybe, RsvpAnswer::No] {
                    @let (households, people) = tally(answer);
                    tr data-answer=(answer.as_str()) {
                        th scope="row" { (answer_label(page, answer)) }
                        td class="number households" { (households) }
                        td class="number people" {
                            // Those who do not come bring nobody, whatever number they left.
                            @if answer == RsvpAnswer::No { "0" } @else { (people) }
                        }
                    }
                }
            }
        }
    }
}

fn answer_list(page: &Page, answers: &[AnswerRow]) -> Markup {
    html! {
        table class="answers" {
            caption { (page.t("agenda-answers-caption")) }
            thead {
                tr {
                    th scope="col" { (page.t("agenda-col-household")) }
                    th scope="col" { (page.t("agenda-col-answer")) }
                    th scope="col" class="number" { (page.t("agenda-col-people")) }
                }
            }
            tbody {
                @for row in answers {
                    tr {
                        th scope="row" {
                            (row.who)
                            @if row.mine { " " (page.t("agenda-you")) }
                        }
                        td { (answer_label(page, row.answer)) }
                        td class="number" { (row.people) }
                    }
                }
            }
        }
    }
}

fn answer_label(page: &Page, answer: RsvpAnswer) -> String {
    page.t(&format!("agenda-answer-{}", answer.as_str()))
}

fn rsvp_form(page: &Page, id: &str, draft: &RsvpDraft) -> Markup {
    let answer_error = draft.errors.get("answer");
    html! {
        (error_summary(page, &draft.errors))
        form method="post" action={ "/agenda/" (id) "/reponse" } class="rsvp" novalidate {
            (page.csrf_field())
            fieldset class={ "field answer" @if answer_error.is_some() { " invalid" } }
                aria-describedby=[answer_error.map(|_| "answer-error")] {
                legend { (page.t("agenda-answer-legend")) }
                @if let Some(error) = answer_error {
                    p class="field-error" id="answer-error" {
                        span class="visually-hidden" { (page.t("web-error-prefix")) " " }
                        (error)
                    }
                }
                @for answer in [RsvpAnswer::Yes, RsvpAnswer::Maybe, RsvpAnswer::No] {
                    @let input_id = format!("answer-{}", answer.as_str());
                    div class="choice" {
                        input type="radio" name="answer" id=(input_id) value=(answer.as_str())
                            checked[draft.answer == answer.as_str()];
                        label for=(input_id) { (answer_label(page, answer)) }
                    }
                }
            }
            (text_field(page, "people", &page.t("agenda-field-people"), &draft.people, &draft.errors, FieldOptions {
                input_type: Some("number"),
                hint: Some(&page.t("agenda-field-people-hint")),
                ..FieldOptions::default()
            }))
            button type="submit" { (page.t("agenda-answer-send")) }
        }
    }
}
