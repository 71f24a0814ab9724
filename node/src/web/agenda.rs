//! The agenda: the village's events as a list and as a month, a form to
//! add one, an event's page with who comes and an RSVP form, and the
//! events as iCalendar — one event to download, or the whole community's
//! as a feed a phone's calendar subscribes to.
//!
//! ```text
//! GET  /agenda                 upcoming events (?vue=mois&mois=YYYY-MM: one month)
//! GET  /agenda/nouveau         the new-event form
//! POST /agenda                 adds the event → 303 /agenda/ID (422 with the errors)
//! GET  /agenda/ID              the event, its next dates, who comes, the RSVP form
//! GET  /agenda/ID.ics          the event as a calendar file
//! POST /agenda/ID/reponse      answers it → 303 /agenda/ID
//! POST /agenda/ID/annuler      cancels one of ours → 303 /agenda/ID
//! GET  /agenda.ics?cle=KEY     every event of the community (no session: the key)
//! ```
//!
//! Every write goes through the same `Household` operations as the command
//! line's `event add|rsvp|cancel`, and so through the same crdt rules.

mod form;
mod schedule;
mod view;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maillage_crdt::header::DocKind;
use maillage_crdt::ics::{IcsEvent, calendar};
use maillage_crdt::items::{Problem, RsvpAnswer};
use serde::Deserialize;

use self::form::{NewEventForm, input_of};
use self::schedule::{AgendaEvent, Month};
use self::view::{AgendaPage, AgendaView, AnswerRow, RsvpDraft};
use super::WebState;
use super::page::{FieldErrors, Page, WebError};
use crate::household::{Household, HouseholdError};
use crate::messages;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/agenda", get(agenda).post(create))
        .route("/agenda.ics", get(feed))
        .route("/agenda/nouveau", get(new_event))
        .route("/agenda/{id}", get(event_or_ics))
        .route("/agenda/{id}/reponse", post(answer))
        .route("/agenda/{id}/annuler", post(cancel))
}

// ---------------------------------------------------------------------------
// Reading the household

/// The current community's events (deleted ones left out), as the agenda
/// shows them.
fn agenda_events(household: &Household) -> Result<Vec<AgendaEvent>, HouseholdError> {
    let me = household.id();
    Ok(household
        .events()?
        .into_iter()
        .filter(|(_, event)| !event.deleted)
        .map(|(header, event)| {
            AgendaEvent::new(header.id(), event, household.name_of(&header.owner), header.owner == me)
        })
        .collect())
}

/// One event (by full id or prefix, as the command line takes it) with the
/// answers it received.
fn event_with_answers(household: &Household, text: &str) -> Result<(AgendaEvent, Vec<AnswerRow>), HouseholdError> {
    let id = household.resolve(text, DocKind::Event)?;
    let (header, body) = household.event(&id)?;
    let me = household.id();
    let event = AgendaEvent::new(id, body, household.name_of(&header.owner), header.owner == me);
    let mut answers: Vec<AnswerRow> = household
        .rsvps(&id)?
        .into_iter()
        .map(|(who, rsvp)| AnswerRow {
            who: household.name_of(&who),
            answer: rsvp.answer,
            people: rsvp.people,
            mine: who == me,
        })
        .collect();
    answers.sort_by(|a, b| a.who.cmp(&b.who));
    Ok((event, answers))
}

// ---------------------------------------------------------------------------
// The list and the month

async fn agenda(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    // A map rather than a struct: a repeated parameter takes the last value
    // instead of failing the page.
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let events = state.read(agenda_events).await.map_err(|error| page.fail(error))?;
    let tz = TimeZone::system();
    let now = Timestamp::now();
    let (feed_url, loopback) = feed_address(&headers, state.secrets().feed_key());
    // `?vue=mois` is the month view (`&mois=YYYY-MM`, this month when absent
    // or unreadable); anything else is the list.
    let markup = if query.get("vue").map(String::as_str) == Some("mois") {
        let today = now.to_zoned(tz.clone()).date();
        let month = query
            .get("mois")
            .and_then(|text| Month::parse(text))
            .unwrap_or_else(|| Month::containing(today));
        let days = schedule::month_days(&events, month, &tz);
        view::agenda(
            &page,
            &AgendaPage {
                view: AgendaView::Month {
                    month,
                    events: &events,
                    days: &days,
                    today,
                },
                feed_url,
                loopback,
            },
        )
    } else {
        let listed = schedule::upcoming(events, now);
        view::agenda(
            &page,
            &AgendaPage {
                view: AgendaView::List(&listed),
                feed_url,
                loopback,
            },
        )
    };
    Ok(markup.into_response())
}

/// The feed's address as the villager's browser reaches this page (the
/// Host header was checked against this server's names before any page).
fn feed_address(headers: &HeaderMap, key: &str) -> (String, bool) {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(super::DEFAULT_ADDRESS);
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let loopback = name == "localhost"
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (format!("http://{host}/agenda.ics?cle={key}"), loopback)
}

// ---------------------------------------------------------------------------
// Adding an event

async fn new_event(page: Page) -> Response {
    view::new_event(&page, &NewEventForm::default(), &FieldErrors::default()).into_response()
}

async fn create(
    State(state): State<WebState>,
    page: Page,
    Form(form): Form<NewEventForm>,
) -> Result<Response, WebError> {
    let refused = |errors: FieldErrors| {
        (StatusCode::UNPROCESSABLE_ENTITY, view::new_event(&page, &form, &errors)).into_response()
    };
    let input = match form.to_input(page.catalog(), &TimeZone::system()) {
        Ok(input) => input,
        Err(errors) => return Ok(refused(errors)),
    };
    match state.write(move |household| household.add_event(input)).await {
        Ok(id) => Ok(Redirect::to(&format!("/agenda/{}", id.to_text())).into_response()),
        Err(error @ HouseholdError::Invalid(_)) => Ok(refused(FieldErrors::from_error(&page, &error, input_of))),
        Err(error) => Err(page.fail(error)),
    }
}

// ---------------------------------------------------------------------------
// One event

async fn event_or_ics(State(state): State<WebState>, page: Page, Path(id): Path<String>) -> Result<Response, WebError> {
    // `{id}.ics` cannot be its own route: the router matches whole segments.
    if let Some(id) = id.strip_suffix(".ics") {
        return event_ics(&state, &page, id.to_owned()).await;
    }
    let (event, answers) = state
        .read(move |household| event_with_answers(household, &id))
        .await
        .map_err(|error| page.fail(error))?;
    let draft = match answers.iter().find(|row| row.mine) {
        Some(mine) => RsvpDraft {
            answer: mine.answer.as_str().to_owned(),
            people: mine.people.to_string(),
            errors: FieldErrors::default(),
        },
        // Nothing chosen until the villager answers: a pre-checked "yes"
        // would read as an answer already given.
        None => RsvpDraft {
            answer: String::new(),
            people: "1".to_owned(),
            errors: FieldErrors::default(),
        },
    };
    Ok(view::event_page(&page, &event, &answers, &draft, Timestamp::now()).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RsvpForm {
    answer: String,
    people: String,
}

async fn answer(
    State(state): State<WebState>,
    page: Page,
    Path(id): Path<String>,
    Form(form): Form<RsvpForm>,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    let answer = match form.answer.trim() {
        "" => {
            errors.set("answer", messages::problem(&Problem::Required, page.catalog()));
            None
        }
        text => text
            .parse::<RsvpAnswer>()
            .map_err(|invalid| errors.set("answer", messages::problem(&invalid.problem, page.catalog())))
            .ok(),
    };
    let people = form
        .people
        .trim()
        .parse::<i64>()
        .map_err(|_| errors.set("people", page.t("agenda-people-invalid")))
        .ok();
    if let (Some(answer), Some(people)) = (answer, people) {
        let text = id.clone();
        let result = state
            .write(move |household| {
                let id = household.resolve(&text, DocKind::Event)?;
                household.rsvp(&id, answer, people).map(|()| id)
            })
            .await;
        match result {
            Ok(id) => return Ok(Redirect::to(&format!("/agenda/{}", id.to_text())).into_response()),
            Err(error @ HouseholdError::Invalid(_)) => {
                errors = FieldErrors::from_error(&page, &error, |field| (field == "people").then_some("people"));
            }
            Err(error) => return Err(page.fail(error)),
        }
    }
    // Shown again with what the villager chose and why it was refused.
    let (event, answers) = state
        .read(move |household| event_with_answers(household, &id))
        .await
        .map_err(|error| page.fail(error))?;
    let draft = RsvpDraft {
        answer: form.answer,
        people: form.people,
        errors,
    };
    let markup = view::event_page(&page, &event, &answers, &draft, Timestamp::now());
    Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
}

async fn cancel(State(state): State<WebState>, page: Page, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = state
        .write(move |household| {
            let id = household.resolve(&id, DocKind::Event)?;
            household.cancel_event(&id).map(|()| id)
        })
        .await
        .map_err(|error| page.fail(error))?;
    Ok(Redirect::to(&format!("/agenda/{}", id.to_text())).into_response())
}

// ---------------------------------------------------------------------------
// iCalendar

fn ics_event(event: &AgendaEvent) -> IcsEvent {
    IcsEvent {
        uid: event.id.to_text(),
        title: event.body.title.clone(),
        description: event.body.description.clone(),
        place: event.body.place.clone(),
        start: event.start.clone(),
        end: event.end.clone(),
        recurrence: event.rule.clone(),
        organiser: event.organiser.clone(),
        updated: Timestamp::from_millisecond(event.body.updated_at).unwrap_or(Timestamp::UNIX_EPOCH),
        cancelled: event.body.cancelled,
    }
}

fn ics_response(body: String, download_as: Option<&str>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    // Calendar apps poll the feed; they must see a cancellation at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(name) = download_as
        && let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /agenda/ID.ics`: one event, to open in a calendar app.
async fn event_ics(state: &WebState, page: &Page, id: String) -> Result<Response, WebError> {
    let event = state
        .read(move |household| {
            let id = household.resolve(&id, DocKind::Event)?;
            let (header, body) = household.event(&id)?;
            let me = household.id();
            Ok(AgendaEvent::new(
                id,
                body,
                household.name_of(&header.owner),
                header.owner == me,
            ))
        })
        .await
        .map_err(|error| page.fail(error))?;
    let body = calendar(&event.body.title, &[ics_event(&event)]);
    // The id is base32: safe in a header and a file name.
    let file = format!("maillage-{}.ics", event.id.short());
    Ok(ics_response(body, Some(&file)))
}

/// `GET /agenda.ics?cle=KEY`: the community's whole agenda for a phone's
/// calendar app. The session layer lets this path through without a cookie
/// (a phone has none), so the key is the only check: without it the feed
/// does not exist, with a wrong one it is refused.
async fn feed(
    State(state): State<WebState>,
    page: Page,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let Some(presented) = query.get("cle") else {
        return Ok((StatusCode::NOT_FOUND, page.t("agenda-feed-no-key")).into_response());
    };
    if !state.secrets().is_feed_key(presented) {
        return Ok((StatusCode::FORBIDDEN, page.t("agenda-feed-refused")).into_response());
    }
    let (name, events) = state
        .read(|household| {
            let name = household.community()?.genesis.name.clone();
            Ok((name, agenda_events(household)?))
        })
        .await
        .map_err(|error| page.fail(error))?;
    let events: Vec<IcsEvent> = events.iter().map(ics_event).collect();
    Ok(ics_response(calendar(&name, &events), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address_for(host: &str) -> (String, bool) {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        feed_address(&headers, "k3y")
    }

    #[test]
    fn the_feed_address_is_the_one_the_browser_used() {
        assert_eq!(
            address_for("192.168.1.20:7878"),
            ("http://192.168.1.20:7878/agenda.ics?cle=k3y".to_owned(), false)
        );
        assert!(address_for("127.0.0.1:7878").1, "a phone cannot reach loopback");
        assert!(address_for("localhost:7878").1);
        assert!(address_for("[::1]:7878").1);
    }
}
