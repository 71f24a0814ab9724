//! The form that posts and edits an offer or a request.
//!
//! The page turns what the browser sends into the same `ItemInput` /
//! `ItemPatch` the command line builds, and lets the `Household` operation
//! decide: a field the `crdt/` rules refuse comes back next to its input,
//! with everything the villager typed, and status 422. Only what the rules
//! cannot see — a price, a date or a number that does not parse — is checked
//! here first. The edit form is prefilled with the current values, so a
//! price or an expiry the villager empties is removed, not left as it was.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maillage_crdt::items::{GroupBuy, OfferKind, Ride, limits};
use maillage_crdt::money::AmountError;
use maillage_crdt::time::{TimeError, parse_datetime, parse_deadline};
use maillage_crdt::{Amount, DocId};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Item, Side, amount_text, current_unit, date_input_value, load_item, no_community, parse_id};
use crate::household::{FieldEdit, HouseholdError, ItemInput, ItemPatch};
use crate::web::WebState;
use crate::web::page::{
    FieldErrors, FieldOptions, Page, WebError, document, error_summary, select_field, text_area, text_field,
};

/// What the form posts. Every field is text, as typed: parsing happens in
/// [`parse`], so a bad value comes back to the villager instead of a bare
/// 400 from the extractor.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Fields {
    pub title: String,
    pub description: String,
    pub category: String,
    pub kind: String,
    pub place: String,
    pub price: String,
    pub until: String,
    /// The edit form's `until` as it was shown: an unchanged date is left
    /// alone (re-reading it would move the deadline to the end of that day,
    /// or refuse it once it has passed).
    pub until_was: String,
    pub ride_from: String,
    pub ride_to: String,
    pub ride_departs: String,
    pub ride_seats: String,
    pub group_unit: String,
    pub group_target: String,
    pub group_deadline: String,
}

impl Fields {
    fn of_item(page: &Page, item: &Item) -> Fields {
        let until = item.until.map(date_input_value).unwrap_or_default();
        Fields {
            title: item.title.clone(),
            description: item.description.clone(),
            category: item.category.clone(),
            kind: item.kind.map(|kind| kind.as_str().to_owned()).unwrap_or_default(),
            place: item.place.clone().unwrap_or_default(),
            price: item.price.map(|price| amount_text(page, price)).unwrap_or_default(),
            until_was: until.clone(),
            until,
            ..Fields::default()
        }
    }
}

/// Whether the form creates an item or edits one.
#[derive(Clone, Copy, Debug)]
enum Mode<'a> {
    New,
    /// Editing the item; its kind limits the kinds offered (see [`kind_choices`]).
    Edit(&'a DocId, Option<OfferKind>),
}

/// The input a `crdt` validation error is about. Ride and group-purchase
/// details only exist on the new-offer form; on the edit form their errors
/// go above the form.
fn input_of(field: &str, mode: Mode<'_>) -> Option<&'static str> {
    let details = matches!(mode, Mode::New);
    match field {
        "title" => Some("title"),
        "description" => Some("description"),
        "category" => Some("category"),
        "place" => Some("place"),
        "price" => Some("price"),
        "until" => Some("until"),
        "OfferKind" => Some("kind"),
        "ride" | "from" if details => Some("ride_from"),
        "to" if details => Some("ride_to"),
        "seats" if details => Some("ride_seats"),
        "group_buy" | "unit" if details => Some("group_unit"),
        "target" if details => Some("group_target"),
        _ => None,
    }
}

/// What the form's text says, before the household checks it.
struct Parsed {
    kind: Option<OfferKind>,
    price: Option<Amount>,
    until: Option<i64>,
    ride: Option<Ride>,
    group_buy: Option<GroupBuy>,
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// Parses what the `crdt` rules take already parsed. Ride and group details
/// are built as soon as one of their inputs is filled, as the CLI does with
/// its flags, so the rules can say what is missing or out of place.
fn parse(page: &Page, side: Side, mode: Mode<'_>, fields: &Fields) -> Result<Parsed, FieldErrors> {
    let mut errors = FieldErrors::default();
    let zone = TimeZone::system();
    let now = Timestamp::now();
    let kind = match optional(&fields.kind) {
        None => None,
        Some(text) => match text.parse::<OfferKind>() {
            Ok(kind) => Some(kind),
            Err(invalid) => {
                errors.set("kind", crate::messages::problem(&invalid.problem, page.catalog()));
                None
            }
        },
    };
    let mut price = None;
    if side == Side::Offers
        && let Some(text) = optional(&fields.price)
    {
        match text.parse::<Amount>() {
            Ok(amount) => price = Some(amount),
            Err(error) => errors.set("price", price_problem(page, &text, &error)),
        }
    }
    let mut until = None;
    let unchanged = matches!(mode, Mode::Edit(..)) && fields.until.trim() == fields.until_was.trim();
    if let Some(text) = optional(&fields.until).filter(|_| !unchanged) {
        match parse_deadline(&text, &zone, now) {
            Ok(deadline) => until = Some(deadline.timestamp().as_millisecond()),
            Err(error) => errors.set("until", time_problem(page, &error)),
        }
    }
    let mut ride = None;
    let mut group_buy = None;
    if side == Side::Offers && matches!(mode, Mode::New) {
        let ride_inputs = [
            &fields.ride_from,
            &fields.ride_to,
            &fields.ride_departs,
            &fields.ride_seats,
        ];
        if ride_inputs.iter().any(|value| !value.trim().is_empty()) {
            let departs_at = match optional(&fields.ride_departs) {
                None => 0,
                Some(text) => match parse_datetime(&text, &zone) {
                    Ok(departs) => departs.timestamp().as_millisecond(),
                    Err(error) => {
                        errors.set("ride_departs", time_problem(page, &error));
                        0
                    }
                },
            };
            let seats = whole_number(page, &mut errors, "ride_seats", &fields.ride_seats).unwrap_or(1);
            ride = Some(Ride {
                from: fields.ride_from.trim().to_owned(),
                to: fields.ride_to.trim().to_owned(),
                departs_at,
                seats,
            });
        }
        let group_inputs = [&fields.group_unit, &fields.group_target, &fields.group_deadline];
        if group_inputs.iter().any(|value| !value.trim().is_empty()) {
            let target = whole_number(page, &mut errors, "group_target", &fields.group_target).unwrap_or(0);
            let deadline = match optional(&fields.group_deadline) {
                None => 0,
                Some(text) => match parse_deadline(&text, &zone, now) {
                    Ok(deadline) => deadline.timestamp().as_millisecond(),
                    Err(error) => {
                        errors.set("group_deadline", time_problem(page, &error));
                        0
                    }
                },
            };
            group_buy = Some(GroupBuy {
                unit: fields.group_unit.trim().to_owned(),
                target,
                deadline,
            });
        }
    }
    if errors.is_empty() {
        Ok(Parsed {
            kind,
            price,
            until,
            ride,
            group_buy,
        })
    } else {
        Err(errors)
    }
}

/// What a saved edit does to the price and the expiry. Both fields show the
/// current value, so one left as shown is kept and one emptied is removed
/// (a sale left without a price is then refused by the `crdt` rule, next to
/// the field). A request has no price field: its price is not touched.
fn clearable_edits(side: Side, fields: &Fields, parsed: &Parsed) -> (FieldEdit<Amount>, FieldEdit<i64>) {
    let price = match (side, parsed.price) {
        (Side::Requests, _) => FieldEdit::Keep,
        (Side::Offers, Some(price)) => FieldEdit::Set(price),
        (Side::Offers, None) => FieldEdit::Clear,
    };
    // `parse` leaves `until` unread when it is the date shown (see `until_was`).
    let until = match parsed.until {
        Some(until) => FieldEdit::Set(until),
        None if fields.until.trim() == fields.until_was.trim() => FieldEdit::Keep,
        None => FieldEdit::Clear,
    };
    (price, until)
}

fn whole_number(page: &Page, errors: &mut FieldErrors, field: &str, text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<i64>() {
        Ok(number) => Some(number),
        Err(_) => {
            errors.set(field, page.ta("offers-error-number", &[("text", text)]));
            None
        }
    }
}

fn price_problem(page: &Page, text: &str, error: &AmountError) -> String {
    match error {
        AmountError::TooPrecise => page.t("offers-error-price-precise"),
        AmountError::OutOfRange => page.t("offers-error-price-range"),
        _ => page.ta("offers-error-price", &[("text", text)]),
    }
}

/// The same sentence the command line prints for a date it cannot read.
fn time_problem(page: &Page, error: &TimeError) -> String {
    let text = page.ta(error.code(), &[("text", error.input())]);
    if text == error.code() { error.to_string() } else { text }
}

// ---------------------------------------------------------------------------
// Handlers

/// `GET /offres/nouvelle`
pub async fn new(side: Side, State(state): State<WebState>, page: Page) -> Result<Markup, WebError> {
    let unit = state.read(current_unit).await.map_err(|error| page.fail(error))?;
    let fields = Fields {
        kind: match side {
            Side::Offers => OfferKind::Give.as_str().to_owned(),
            Side::Requests => String::new(),
        },
        ..Fields::default()
    };
    Ok(render(
        &page,
        side,
        Mode::New,
        &fields,
        &FieldErrors::default(),
        unit.as_deref(),
    ))
}

/// `POST /offres`
pub async fn create(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Form(fields): Form<Fields>,
) -> Result<Response, WebError> {
    let unit = state.read(current_unit).await.map_err(|error| page.fail(error))?;
    let parsed = match parse(&page, side, Mode::New, &fields) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(refused(&page, side, Mode::New, &fields, &errors, unit.as_deref())),
    };
    let input = ItemInput {
        title: fields.title.clone(),
        description: Some(fields.description.clone()),
        category: optional(&fields.category),
        kind: parsed.kind,
        price: parsed.price,
        place: optional(&fields.place),
        until: parsed.until,
        ride: parsed.ride,
        group_buy: parsed.group_buy,
    };
    let created = state
        .write(move |household| match side {
            Side::Offers => household.add_offer(input),
            Side::Requests => household.add_request(input),
        })
        .await;
    match created {
        Ok(id) => Ok(Redirect::to(&side.item_path(&id)).into_response()),
        Err(error @ HouseholdError::Invalid(_)) => {
            let errors = FieldErrors::from_error(&page, &error, |field| input_of(field, Mode::New));
            Ok(refused(&page, side, Mode::New, &fields, &errors, unit.as_deref()))
        }
        // Not the input's fault (no community yet, a full disk): the form
        // comes back with what was typed and the reason above it.
        Err(error) => {
            let errors = FieldErrors::from_error(&page, &error, |_| None);
            let status = page.fail(error).status;
            let form = render(&page, side, Mode::New, &fields, &errors, unit.as_deref());
            Ok((status, form).into_response())
        }
    }
}

/// `GET /offres/{id}/modifier`
pub async fn edit(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Markup, WebError> {
    let id = parse_id(&page, side, &id)?;
    let item = state
        .read(move |household| own_item(household, side, &id))
        .await
        .map_err(|error| page.fail(error))?;
    let fields = Fields::of_item(&page, &item);
    let mode = Mode::Edit(&item.id, item.kind);
    Ok(render(
        &page,
        side,
        mode,
        &fields,
        &FieldErrors::default(),
        Some(&item.unit),
    ))
}

/// The item, if it exists and this household posted it: another
/// household's item cannot even be opened for editing.
fn own_item(household: &crate::household::Household, side: Side, id: &DocId) -> Result<Item, HouseholdError> {
    let item = load_item(household, side, id)?;
    if item.deleted {
        return Err(HouseholdError::UnknownId {
            kind: side.kind().as_str(),
            text: id.short(),
        });
    }
    if !item.mine {
        return Err(HouseholdError::NotYours(side.kind().as_str()));
    }
    Ok(item)
}

/// `POST /offres/{id}`
pub async fn save(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, WebError> {
    let id = parse_id(&page, side, &id)?;
    // The item is read first: its kind decides the choices the form offers
    // again, and a stranger's item is refused before anything is parsed.
    let item = state
        .read(move |household| own_item(household, side, &id))
        .await
        .map_err(|error| page.fail(error))?;
    let mode = Mode::Edit(&id, item.kind);
    let parsed = match parse(&page, side, mode, &fields) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(refused(&page, side, mode, &fields, &errors, Some(&item.unit))),
    };
    let (price, until) = clearable_edits(side, &fields, &parsed);
    let patch = ItemPatch {
        title: Some(fields.title.clone()),
        description: Some(fields.description.clone()),
        // As on the new form, an empty category is the default one.
        category: Some(optional(&fields.category).unwrap_or_else(|| "divers".to_owned())),
        kind: parsed.kind,
        price,
        place: Some(fields.place.clone()),
        until,
        state: None,
    };
    let saved = state
        .write(move |household| match side {
            Side::Offers => household.edit_offer(&id, patch),
            Side::Requests => household.edit_request(&id, patch),
        })
        .await;
    match saved {
        Ok(()) => Ok(Redirect::to(&side.item_path(&id)).into_response()),
        Err(error @ HouseholdError::Invalid(_)) => {
            let errors = FieldErrors::from_error(&page, &error, |field| input_of(field, mode));
            Ok(refused(&page, side, mode, &fields, &errors, Some(&item.unit)))
        }
        Err(error) => Err(page.fail(error)),
    }
}

/// The form again, with what was typed and what is wrong.
fn refused(
    page: &Page,
    side: Side,
    mode: Mode<'_>,
    fields: &Fields,
    errors: &FieldErrors,
    unit: Option<&str>,
) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        render(page, side, mode, fields, errors, unit),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Rendering

/// The kinds the menu offers. A ride or a group purchase needs details only
/// the new-offer form asks for, so an edit keeps such an offer's kind and
/// does not turn another offer into one.
fn kind_choices(page: &Page, side: Side, mode: Mode<'_>) -> Vec<(String, String)> {
    let needs_details = |kind: &OfferKind| matches!(kind, OfferKind::Ride | OfferKind::GroupBuy);
    let kinds: Vec<OfferKind> = match mode {
        Mode::New => OfferKind::ALL.to_vec(),
        Mode::Edit(_, Some(current)) if needs_details(&current) => vec![current],
        Mode::Edit(..) => OfferKind::ALL
            .iter()
            .copied()
            .filter(|kind| !needs_details(kind))
            .collect(),
    };
    let mut choices = Vec::new();
    if side == Side::Requests {
        choices.push((String::new(), page.t("offers-kind-any")));
    }
    choices.extend(
        kinds
            .into_iter()
            .map(|kind| (kind.as_str().to_owned(), page.catalog().word("kind", kind.as_str()))),
    );
    choices
}

/// The form; `unit` is the community's (for prices), `None` when the
/// household is in no community yet, which the form says first.
fn render(
    page: &Page,
    side: Side,
    mode: Mode<'_>,
    fields: &Fields,
    errors: &FieldErrors,
    unit: Option<&str>,
) -> Markup {
    let (title, action, back) = match mode {
        Mode::New => (side.t(page, "new"), side.base().to_owned(), side.base().to_owned()),
        Mode::Edit(id, _) => (side.t(page, "edit-title"), side.item_path(id), side.item_path(id)),
    };
    let submit = match mode {
        Mode::New => page.t("offers-publish"),
        Mode::Edit(..) => page.t("offers-save"),
    };
    // On the edit form the hints also say that emptying a field removes it.
    let (price_hint, until_hint) = match mode {
        Mode::New => ("offers-hint-price", side.t(page, "hint-until")),
        Mode::Edit(..) => ("offers-hint-price-edit", side.t(page, "hint-until-edit")),
    };
    let price_hint = page.ta(price_hint, &[("unit", unit.unwrap_or_default())]);
    let place_hint = page.t("offers-hint-place");
    let category_hint = page.t("offers-hint-category");
    let kind_hint = side.t(page, "hint-kind");
    let required = FieldOptions {
        required: true,
        max_length: Some(limits::TITLE),
        ..FieldOptions::default()
    };
    let main = html! {
        h1 { (title) }
        @if unit.is_none() { (no_community(page)) }
        (error_summary(page, errors))
        form method="post" action=(action) class="item-form" {
            (page.csrf_field())
            (text_field(page, "title", &page.t("offers-field-title"), &fields.title, errors, required))
            (text_area(page, "description", &page.t("field-description"), &fields.description, errors,
                FieldOptions { max_length: Some(limits::DESCRIPTION), ..FieldOptions::default() }))
            (text_field(page, "category", &page.t("field-category"), &fields.category, errors,
                FieldOptions { hint: Some(&category_hint), max_length: Some(limits::CATEGORY), ..FieldOptions::default() }))
            (select_field(page, "kind", &page.t("field-kind"), &kind_choices(page, side, mode), fields.kind.trim(), errors,
                FieldOptions { hint: Some(&kind_hint), ..FieldOptions::default() }))
            (text_field(page, "place", &page.t("field-place"), &fields.place, errors,
                FieldOptions { hint: Some(&place_hint), max_length: Some(limits::PLACE), ..FieldOptions::default() }))
            @if side == Side::Offers {
                (text_field(page, "price", &page.t("field-price"), &fields.price, errors,
                    FieldOptions { hint: Some(&price_hint), max_length: Some(20), ..FieldOptions::default() }))
            }
            (text_field(page, "until", &page.t("field-until"), &fields.until, errors,
                FieldOptions { hint: Some(&until_hint), input_type: Some("date"), ..FieldOptions::default() }))
            @if let Mode::Edit(..) = mode {
                input type="hidden" name="until_was" value=(fields.until_was);
            }
            @if side == Side::Offers && matches!(mode, Mode::New) {
                (ride_fieldset(page, fields, errors))
                (group_fieldset(page, fields, errors))
            }
            p class="item-actions" {
                button type="submit" { (submit) }
                " "
                a class="button secondary" href=(back) { (page.t("offers-cancel")) }
            }
        }
    };
    document(page, &title, side.section(), main)
}

fn ride_fieldset(page: &Page, fields: &Fields, errors: &FieldErrors) -> Markup {
    let place = FieldOptions {
        max_length: Some(limits::PLACE),
        ..FieldOptions::default()
    };
    html! {
        fieldset class="item-extra" {
            legend { (page.t("offers-ride-legend")) }
            p class="hint" { (page.t("offers-ride-hint")) }
            (text_field(page, "ride_from", &page.t("offers-field-ride-from"), &fields.ride_from, errors, place))
            (text_field(page, "ride_to", &page.t("offers-field-ride-to"), &fields.ride_to, errors, place))
            (text_field(page, "ride_departs", &page.t("offers-field-ride-departs"), &fields.ride_departs, errors,
                FieldOptions { input_type: Some("datetime-local"), ..FieldOptions::default() }))
            (text_field(page, "ride_seats", &page.t("offers-field-ride-seats"), &fields.ride_seats, errors,
                FieldOptions { input_type: Some("number"), ..FieldOptions::default() }))
        }
    }
}

fn group_fieldset(page: &Page, fields: &Fields, errors: &FieldErrors) -> Markup {
    html! {
        fieldset class="item-extra" {
            legend { (page.t("offers-group-legend")) }
            p class="hint" { (page.t("offers-group-hint")) }
            (text_field(page, "group_unit", &page.t("offers-field-group-unit"), &fields.group_unit, errors,
                FieldOptions { max_length: Some(limits::CATEGORY), ..FieldOptions::default() }))
            (text_field(page, "group_target", &page.t("offers-field-group-target"), &fields.group_target, errors,
                FieldOptions { input_type: Some("number"), ..FieldOptions::default() }))
            (text_field(page, "group_deadline", &page.t("offers-field-group-deadline"), &fields.group_deadline, errors,
                FieldOptions { input_type: Some("date"), ..FieldOptions::default() }))
        }
    }
}
