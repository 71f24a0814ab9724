//! The typed resources of the local API (`/v1/…`): what other programs
//! read and do with a household's node. Every handler is a thin shell over
//! the household service: reads run beside any write, writes are queued on
//! the household's writer, and the answers are plain JSON values.
//!
//! Ids in paths are the ids the API returns, or any unique prefix of one
//! (like the command line). Amounts travel as decimal strings ("2.50"),
//! never as floats; times as Unix milliseconds.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maillage_crdt::exchange::ExchangeAction;
use maillage_crdt::items::{GroupBuy, Offer, OfferKind, Request as RequestBody, Ride, RsvpAnswer};
use maillage_crdt::{Amount, DocId, DocKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::ApiState;
use super::failure::{Failure, language};
use crate::household::{EventInput, FieldEdit, Household, HouseholdError, ItemInput, ItemPatch, now_ms};
use crate::i18n::Catalog;
use crate::store::Query as StoreQuery;
use crate::summary::Summary;

/// The most items one page of a listing holds.
pub const MAX_PER_PAGE: usize = 500;
const DEFAULT_PER_PAGE: usize = 50;

type Shared = State<Arc<ApiState>>;
type Answer<T> = Result<T, Failure>;

/// Who asks, as far as the answer's wording goes: the language of its
/// request. (What it may do was settled by the authorisation layer.)
pub struct Asker {
    pub catalog: &'static Catalog,
}

impl<S: Send + Sync> FromRequestParts<S> for Asker {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Asker, Failure> {
        Ok(Asker {
            catalog: Catalog::shared(language(&parts.headers)),
        })
    }
}

impl Asker {
    fn fail(&self, error: HouseholdError) -> Failure {
        Failure::household(&error, self.catalog)
    }
}

/// A JSON body, refused with a coded 400 when it does not parse or names a
/// field the resource does not have (bodies deny unknown fields: a typo in
/// a field name must not be silently ignored).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &S) -> Result<Body<T>, Failure> {
        let catalog = Catalog::shared(language(request.headers()));
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(bad_json(&rejection, catalog)),
        }
    }
}

fn bad_json(rejection: &JsonRejection, catalog: &Catalog) -> Failure {
    let detail = rejection.body_text();
    let code = if detail.contains("unknown field") {
        "unknown-field"
    } else if matches!(rejection, JsonRejection::MissingJsonContentType(_)) {
        "not-json"
    } else {
        "bad-json"
    };
    // 413 for a body over the limit and 415 without a JSON content type, as
    // axum says; 400 for any body that does not parse as the resource
    // (axum would answer 422 for a well-formed one with wrong fields).
    let status = match rejection {
        JsonRejection::MissingJsonContentType(_) | JsonRejection::BytesRejection(_) => rejection.status(),
        _ => StatusCode::BAD_REQUEST,
    };
    Failure::said(status, code, catalog, "api-bad-json", &[("detail", &detail)])
}

/// Query parameters, refused with a coded 400 like [`Body`].
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params<T>, Failure> {
        let catalog = Catalog::shared(language(&parts.headers));
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(bad_query(&rejection, catalog)),
        }
    }
}

fn bad_query(rejection: &QueryRejection, catalog: &Catalog) -> Failure {
    let detail = rejection.body_text();
    let code = if detail.contains("unknown field") {
        "unknown-parameter"
    } else {
        "bad-parameter"
    };
    Failure::said(
        StatusCode::BAD_REQUEST,
        code,
        catalog,
        "api-bad-query",
        &[("detail", &detail)],
    )
}

/// `Some(None)` for an explicit `null`, `None` for an absent field: what an
/// edit needs to tell "remove it" from "leave it".
fn explicit<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn amount(text: &str, field: &'static str, asker: &Asker) -> Answer<Amount> {
    text.parse::<Amount>().map_err(|_| {
        Failure::said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            asker.catalog,
            "api-bad-amount",
            &[("text", text)],
        )
        .with_field(field)
    })
}

/// Runs a read on a blocking thread beside any write.
async fn read<T: Send + 'static>(
    state: &ApiState,
    asker: &Asker,
    read: impl FnOnce(&Household) -> Result<T, HouseholdError> + Send + 'static,
) -> Answer<T> {
    state
        .context
        .household
        .read(read)
        .await
        .map_err(|error| asker.fail(error))
}

/// Queues a write on the household's writer, and tells the peers after.
/// (Only the household's token gets here: the authorisation layer refuses
/// every write to a read-only one.)
async fn write<T: Send + 'static>(
    state: &ApiState,
    asker: &Asker,
    write: impl FnOnce(&mut crate::household::HouseholdWriter) -> Result<T, HouseholdError> + Send + 'static,
) -> Answer<T> {
    let result = state.context.household.write(write).await;
    if result.is_ok() {
        state.context.net.announce();
    }
    result.map_err(|error| asker.fail(error))
}

// ----- listings ----------------------------------------------------------------

/// One page of a listing.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: usize,
    pub per_page: usize,
    /// Another page follows.
    pub more: bool,
}

/// The deepest page a listing serves: each page walks the index from the
/// start, so a page number is bounded like everything else a caller sends.
pub const MAX_PAGE: usize = 10_000;

fn paging(page: Option<usize>, per_page: Option<usize>) -> (usize, usize) {
    (
        page.unwrap_or(1).clamp(1, MAX_PAGE),
        per_page.unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE),
    )
}

/// Cuts page `page` out of `found`, which holds at least one item past it
/// when there is a next page.
fn page_of<T>(mut found: Vec<T>, page: usize, per_page: usize) -> Page<T> {
    let start = (page - 1) * per_page;
    let more = found.len() > start + per_page;
    let items = if start < found.len() {
        found.truncate(start + per_page);
        found.split_off(start)
    } else {
        Vec::new()
    };
    Page {
        items,
        page,
        per_page,
        more,
    }
}

/// An offer, request or event as listings show it.
#[derive(Debug, Serialize)]
pub struct ItemView {
    pub id: DocId,
    pub kind: DocKind,
    pub title: String,
    pub category: String,
    /// `expired` when its date is past.
    pub state: String,
    pub offer_kind: Option<String>,
    pub place: Option<String>,
    pub owner: String,
    pub owner_name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub until: Option<i64>,
    pub start: Option<i64>,
}

fn item_view(household: &Household, summary: Summary) -> ItemView {
    ItemView {
        owner_name: household.name_of(&summary.owner),
        owner: summary.owner.to_text(),
        id: summary.id,
        kind: summary.kind,
        title: summary.title,
        category: summary.category,
        state: summary.state,
        offer_kind: summary.offer_kind,
        place: summary.place,
        created_at: summary.created_at,
        updated_at: summary.updated_at,
        until: summary.until,
        start: summary.start,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFilter {
    category: Option<String>,
    /// The offer kind (`give`, `lend`, …).
    kind: Option<OfferKind>,
    state: Option<String>,
    /// Without case or accents, in title, description, category and place.
    search: Option<String>,
    /// Only this household's own.
    #[serde(default)]
    mine: bool,
    /// Closed and expired ones too.
    #[serde(default)]
    closed: bool,
    page: Option<usize>,
    per_page: Option<usize>,
}

async fn list_items(
    state: &ApiState,
    asker: &Asker,
    kind: DocKind,
    filter: ItemFilter,
) -> Answer<Json<Page<ItemView>>> {
    let (page, per_page) = paging(filter.page, filter.per_page);
    let page_of_items = read(state, asker, move |household| {
        let query = StoreQuery {
            kind: Some(kind),
            category: filter.category.map(|c| maillage_crdt::items::normalize_category(&c)),
            state: filter.state,
            owner: filter.mine.then(|| household.id()),
            offer_kind: filter.kind.map(|k| k.as_str().to_owned()),
            // One past the page: whether another page follows.
            limit: Some(page * per_page + 1),
            ..StoreQuery::default()
        };
        let found = household.list(query, filter.search.as_deref(), filter.closed)?;
        let page = page_of(found, page, per_page);
        Ok(Page {
            items: page.items.into_iter().map(|s| item_view(household, s)).collect(),
            page: page.page,
            per_page: page.per_page,
            more: page.more,
        })
    })
    .await?;
    Ok(Json(page_of_items))
}

pub async fn list_offers(
    State(state): Shared,
    asker: Asker,
    Params(filter): Params<ItemFilter>,
) -> Answer<Json<Page<ItemView>>> {
    list_items(&state, &asker, DocKind::Offer, filter).await
}

pub async fn list_requests(
    State(state): Shared,
    asker: Asker,
    Params(filter): Params<ItemFilter>,
) -> Answer<Json<Page<ItemView>>> {
    list_items(&state, &asker, DocKind::Request, filter).await
}

// ----- one offer or request ------------------------------------------------------

/// An offer or request with everything it says.
#[derive(Debug, Serialize)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub item: ItemView,
    pub description: String,
    /// The price, in the community unit, as a decimal string.
    pub price: Option<String>,
    pub ride: Option<Ride>,
    pub group_buy: Option<GroupBuy>,
}

async fn show_item(state: &ApiState, asker: &Asker, kind: DocKind, id: String) -> Answer<Json<ItemDetail>> {
    let detail = read(state, asker, move |household| {
        let id = household.resolve(&id, kind)?;
        let summary = household.store().summary(&id)?.ok_or(HouseholdError::UnknownId {
            kind: kind.as_str(),
            text: id.short(),
        })?;
        let (description, price, ride, group_buy) = match kind {
            DocKind::Offer => {
                let (_, offer): (_, Offer) = household.offer(&id)?;
                (
                    offer.description,
                    offer.price.map(|p| Amount(p).to_string()),
                    offer.ride,
                    offer.group_buy,
                )
            }
            _ => {
                let (_, request): (_, RequestBody) = household.request(&id)?;
                (request.description, None, None, None)
            }
        };
        let mut item = item_view(household, summary);
        if item.until.is_some_and(|until| until < now_ms())
            && matches!(item.state.as_str(), "open" | "promised" | "matched")
        {
            item.state = "expired".into();
        }
        Ok(ItemDetail {
            item,
            description,
            price,
            ride,
            group_buy,
        })
    })
    .await?;
    Ok(Json(detail))
}

pub async fn show_offer(State(state): Shared, asker: Asker, Path(id): Path<String>) -> Answer<Json<ItemDetail>> {
    show_item(&state, &asker, DocKind::Offer, id).await
}

pub async fn show_request(State(state): Shared, asker: Asker, Path(id): Path<String>) -> Answer<Json<ItemDetail>> {
    show_item(&state, &asker, DocKind::Request, id).await
}

/// A new offer or request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    title: String,
    description: Option<String>,
    category: Option<String>,
    kind: Option<OfferKind>,
    /// Offers: a decimal string in the community unit.
    price: Option<String>,
    place: Option<String>,
    /// Unix ms.
    until: Option<i64>,
    ride: Option<Ride>,
    group_buy: Option<GroupBuy>,
}

fn request_price(asker: &Asker) -> Failure {
    Failure::said(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-field",
        asker.catalog,
        "api-request-price",
        &[],
    )
    .with_field("price")
}

/// What a creation answers: the new document's id.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: DocId,
}

async fn create_item(state: &ApiState, asker: &Asker, kind: DocKind, new: NewItem) -> Answer<Response> {
    let price = new.price.as_deref().map(|p| amount(p, "price", asker)).transpose()?;
    if kind == DocKind::Request && price.is_some() {
        return Err(request_price(asker));
    }
    let input = ItemInput {
        title: new.title,
        description: new.description,
        category: new.category,
        kind: new.kind,
        price,
        place: new.place,
        until: new.until,
        ride: new.ride,
        group_buy: new.group_buy,
    };
    let id = write(state, asker, move |writer| match kind {
        DocKind::Offer => writer.add_offer(input),
        _ => writer.add_request(input),
    })
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

pub async fn create_offer(State(state): Shared, asker: Asker, Body(new): Body<NewItem>) -> Answer<Response> {
    create_item(&state, &asker, DocKind::Offer, new).await
}

pub async fn create_request(State(state): Shared, asker: Asker, Body(new): Body<NewItem>) -> Answer<Response> {
    create_item(&state, &asker, DocKind::Request, new).await
}

/// Changes to an offer or request. An absent field is left as it is; a
/// `null` price or expiry removes it. `state` moves it along its lifecycle
/// (`done` or `fulfilled` closes it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemChanges {
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    kind: Option<OfferKind>,
    #[serde(default, deserialize_with = "explicit")]
    price: Option<Option<String>>,
    place: Option<String>,
    #[serde(default, deserialize_with = "explicit")]
    until: Option<Option<i64>>,
    state: Option<String>,
}

fn edit<T>(value: Option<Option<T>>) -> FieldEdit<T> {
    match value {
        None => FieldEdit::Keep,
        Some(None) => FieldEdit::Clear,
        Some(Some(value)) => FieldEdit::Set(value),
    }
}

async fn edit_item(
    state: &ApiState,
    asker: &Asker,
    kind: DocKind,
    id: String,
    changes: ItemChanges,
) -> Answer<Json<Created>> {
    if kind == DocKind::Request && changes.price.is_some() {
        return Err(request_price(asker));
    }
    let price = match changes.price {
        Some(Some(text)) => Some(Some(amount(&text, "price", asker)?)),
        Some(None) => Some(None),
        None => None,
    };
    let patch = ItemPatch {
        title: changes.title,
        description: changes.description,
        category: changes.category,
        kind: changes.kind,
        price: edit(price),
        place: changes.place,
        until: edit(changes.until),
        state: changes.state,
    };
    let id = write(state, asker, move |writer| {
        let id = writer.resolve(&id, kind)?;
        match kind {
            DocKind::Offer => writer.edit_offer(&id, patch)?,
            _ => writer.edit_request(&id, patch)?,
        }
        Ok(id)
    })
    .await?;
    Ok(Json(Created { id }))
}

pub async fn edit_offer(
    State(state): Shared,
    asker: Asker,
    Path(id): Path<String>,
    Body(changes): Body<ItemChanges>,
) -> Answer<Json<Created>> {
    edit_item(&state, &asker, DocKind::Offer, id, changes).await
}

pub async fn edit_request(
    State(state): Shared,
    asker: Asker,
    Path(id): Path<String>,
    Body(changes): Body<ItemChanges>,
) -> Answer<Json<Created>> {
    edit_item(&state, &asker, DocKind::Request, id, changes).await
}

async fn delete_item(state: &ApiState, asker: &Asker, kind: DocKind, id: String) -> Answer<StatusCode> {
    write(state, asker, move |writer| {
        let id = writer.resolve(&id, kind)?;
        writer.delete_item(&id, kind)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_offer(State(state): Shared, asker: Asker, Path(id): Path<String>) -> Answer<StatusCode> {
    delete_item(&state, &asker, DocKind::Offer, id).await
}

pub async fn delete_request(State(state): Shared, asker: Asker, Path(id): Path<String>) -> Answer<StatusCode> {
    delete_item(&state, &asker, DocKind::Request, id).await
}

// ----- the agenda ---------------------------------------------------------------------

/// An event of the agenda.
#[derive(Debug, Serialize)]
pub struct EventView {
    pub id: DocId,
    pub title: String,
    pub description: String,
    pub category: String,
    pub place: Option<String>,
    /// RFC 9557 text with its time zone.
    pub start: String,
    pub end: Option<String>,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub repeat: Option<String>,
    pub cancelled: bool,
    pub owner: String,
    pub owner_name: String,
}

fn event_view(
    household: &Household,
    id: DocId,
    owner: maillage_crdt::HouseholdId,
    event: maillage_crdt::items::Event,
) -> EventView {
    EventView {
        id,
        title: event.title,
        description: event.description,
        category: event.category,
        place: event.place,
        start: event.start,
        end: event.end,
        start_ms: event.start_ms,
        end_ms: event.end_ms,
        repeat: event.repeat,
        cancelled: event.cancelled,
        owner: owner.to_text(),
        owner_name: household.name_of(&owner),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaFilter {
    /// Events ending at or after this time (Unix ms).
    from: Option<i64>,
    /// Events starting before this time (Unix ms).
    to: Option<i64>,
    page: Option<usize>,
    per_page: Option<usize>,
}

pub async fn list_agenda(
    State(state): Shared,
    asker: Asker,
    Params(filter): Params<AgendaFilter>,
) -> Answer<Json<Page<EventView>>> {
    let (page, per_page) = paging(filter.page, filter.per_page);
    let events = read(&state, &asker, move |household| {
        let events: Vec<EventView> = household
            .events()?
            .into_iter()
            .filter(|(_, event)| !event.deleted)
            .filter(|(_, event)| {
                filter
                    .from
                    .is_none_or(|from| event.end_ms.unwrap_or(event.start_ms) >= from)
            })
            .filter(|(_, event)| filter.to.is_none_or(|to| event.start_ms < to))
            .map(|(header, event)| event_view(household, header.id(), header.owner, event))
            .collect();
        Ok(page_of(events, page, per_page))
    })
    .await?;
    Ok(Json(events))
}

/// An event with who answered it.
#[derive(Debug, Serialize)]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: EventView,
    pub rsvps: Vec<RsvpView>,
}

#[derive(Debug, Serialize)]
pub struct RsvpView {
    pub household: String,
    pub name: String,
    pub answer: RsvpAnswer,
    pub people: i64,
}

pub async fn show_event(State(state): Shared, asker: Asker, Path(id): Path<String>) -> Answer<Json<EventDetail>> {
    let detail = read(&state, &asker, move |household| {
        let id = household.resolve(&id, DocKind::Event)?;
        let (header, event) = household.event(&id)?;
        let rsvps = household
            .rsvps(&id)?
            .into_iter()
            .map(|(member, rsvp)| RsvpView {
                household: member.to_text(),
                name: household.name_of(&member),
                answer: rsvp.answer,
                people: rsvp.people,
            })
            .collect();
        Ok(EventDetail {
            event: event_view(household, id, header.owner, event),
            rsvps,
        })
    })
    .await?;
    Ok(Json(detail))
}

/// A new event. `start` and `end` are dates and times as the command line
/// takes them ("2026-12-05 18:00", RFC 3339, RFC 9557 with a zone); without
/// a zone they are in the node's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    title: String,
    start: String,
    end: Option<String>,
    description: Option<String>,
    category: Option<String>,
    place: Option<String>,
    /// An RRULE (`FREQ=WEEKLY;BYDAY=TU`).
    repeat: Option<String>,
}

fn datetime(text: &str, field: &'static str, asker: &Asker) -> Answer<jiff::Zoned> {
    maillage_crdt::time::parse_datetime(text, &jiff::tz::TimeZone::system()).map_err(|_| {
        Failure::said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            asker.catalog,
            "api-bad-datetime",
            &[("text", text)],
        )
        .with_field(field)
    })
}

pub async fn create_event(State(state): Shared, asker: Asker, Body(new): Body<NewEvent>) -> Answer<Response> {
    let start = datetime(&new.start, "start", &asker)?;
    let end = new.end.as_deref().map(|end| datetime(end, "end", &asker)).transpose()?;
    let repeat = match new.repeat {
        Some(rule) => Some(
            rule.parse::<maillage_crdt::time::Recurrence>()
                .map_err(|_| {
                    Failure::said(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid-field",
                        asker.catalog,
                        "api-bad-rrule",
                        &[("text", &rule)],
                    )
                    .with_field("repeat")
                })?
                .to_string(),
        ),
        None => None,
    };
    let input = EventInput {
        title: new.title,
        description: new.description,
        category: new.category,
        place: new.place,
        start,
        end,
        repeat,
    };
    let id = write(&state, &asker, move |writer| writer.add_event(input)).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRsvp {
    answer: RsvpAnswer,
    #[serde(default = "one")]
    people: i64,
}

fn one() -> i64 {
    1
}

pub async fn rsvp(
    State(state): Shared,
    asker: Asker,
    Path(id): Path<String>,
    Body(answer): Body<NewRsvp>,
) -> Answer<StatusCode> {
    write(&state, &asker, move |writer| {
        let id = writer.resolve(&id, DocKind::Event)?;
        writer.rsvp(&id, answer.answer, answer.people)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn cancel_event(State(state): Shared, asker: Asker, Path(id): Path<String>) -> Answer<StatusCode> {
    write(&state, &asker, move |writer| {
        let id = writer.resolve(&id, DocKind::Event)?;
        writer.cancel_event(&id)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- exchanges and balances -------------------------------------------------------

/// An exchange as the API shows it: its amount as a decimal string, like
/// every amount the API takes or gives.
#[derive(Debug, Serialize)]
pub struct ExchangeView {
    pub id: String,
    pub proposer: String,
    pub counterparty: String,
    pub provider: String,
    pub receiver: String,
    pub amount: String,
    pub note: String,
    pub about: Option<String>,
    pub state: maillage_crdt::exchange::ExchangeState,
    pub created_at: i64,
}

pub async fn list_exchanges(State(state): Shared, asker: Asker) -> Answer<Json<Vec<ExchangeView>>> {
    let exchanges = read(&state, &asker, |household| household.exchanges()).await?;
    Ok(Json(
        exchanges
            .into_iter()
            .map(|exchange| ExchangeView {
                id: exchange.id,
                proposer: exchange.proposer,
                counterparty: exchange.counterparty,
                provider: exchange.provider,
                receiver: exchange.receiver,
                amount: exchange.amount.to_string(),
                note: exchange.note,
                about: exchange.about,
                state: exchange.state,
                created_at: exchange.created_at,
            })
            .collect(),
    ))
}

/// A new exchange with another member, named by household name or id prefix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExchange {
    with: String,
    /// A decimal string in the community unit.
    amount: String,
    #[serde(default)]
    note: String,
    /// The offer or request it is about (id or prefix); it says who gives.
    offer: Option<String>,
    request: Option<String>,
    /// Without an offer or request: this household received (else it gave).
    #[serde(default)]
    received: bool,
}

#[derive(Debug, Serialize)]
pub struct ExchangeAnswer {
    pub id: DocId,
    pub state: maillage_crdt::exchange::ExchangeState,
}

pub async fn propose_exchange(State(state): Shared, asker: Asker, Body(new): Body<NewExchange>) -> Answer<Response> {
    let amount = amount(&new.amount, "amount", &asker)?;
    let id = write(&state, &asker, move |writer| {
        let with = writer.resolve_member(&new.with)?;
        let about = match (&new.offer, &new.request) {
            (Some(offer), _) => Some(writer.resolve(offer, DocKind::Offer)?),
            (_, Some(request)) => Some(writer.resolve(request, DocKind::Request)?),
            _ => None,
        };
        writer.propose_exchange(with, new.received, amount, &new.note, about)
    })
    .await?;
    let answer = ExchangeAnswer {
        id,
        state: maillage_crdt::exchange::ExchangeState::Proposed,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub async fn act_on_exchange(
    State(state): Shared,
    asker: Asker,
    Path((id, action)): Path<(String, String)>,
) -> Answer<Json<ExchangeAnswer>> {
    let action = match action.as_str() {
        "accept" => ExchangeAction::Accept,
        "decline" => ExchangeAction::Decline,
        "cancel" => ExchangeAction::Cancel,
        "confirm" => ExchangeAction::Confirm,
        _ => return Err(not_found(&asker)),
    };
    let (id, state) = write(&state, &asker, move |writer| {
        let id = writer.resolve(&id, DocKind::Exchange)?;
        Ok((id, writer.act_on_exchange(&id, action)?))
    })
    .await?;
    Ok(Json(ExchangeAnswer { id, state }))
}

#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub household: String,
    pub name: String,
    /// A decimal string in the community unit; all balances sum to zero.
    pub balance: String,
}

pub async fn balances(State(state): Shared, asker: Asker) -> Answer<Json<Vec<BalanceView>>> {
    let sheet = read(&state, &asker, |household| household.balance_sheet()).await?;
    Ok(Json(
        sheet
            .into_iter()
            .map(|(household, name, balance)| BalanceView {
                household,
                name,
                balance: balance.to_string(),
            })
            .collect(),
    ))
}

// ----- the household, its communities and devices --------------------------------------

pub async fn whoami(State(state): Shared, asker: Asker) -> Answer<Response> {
    let me = read(&state, &asker, |household| household.whoami()).await?;
    Ok(Json(me).into_response())
}

pub async fn communities(State(state): Shared, asker: Asker) -> Answer<Response> {
    let communities = read(&state, &asker, |household| household.communities()).await?;
    Ok(Json(communities).into_response())
}

pub async fn members(State(state): Shared, asker: Asker) -> Answer<Response> {
    let members = read(&state, &asker, |household| household.members()).await?;
    Ok(Json(members).into_response())
}

pub async fn remove_member(State(state): Shared, asker: Asker, Path(member): Path<String>) -> Answer<StatusCode> {
    write(&state, &asker, move |writer| {
        let member = writer.resolve_member(&member)?;
        writer.remove_member(&member)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    #[serde(default = "one_use")]
    uses: u32,
    /// Unix ms; a week from now by default.
    expires_at: Option<i64>,
}

fn one_use() -> u32 {
    1
}

#[derive(Debug, Serialize)]
pub struct InvitationView {
    pub code: String,
    pub uses: u32,
    pub expires_at: i64,
}

pub async fn invite(State(state): Shared, asker: Asker, Body(new): Body<NewInvitation>) -> Answer<Response> {
    const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;
    let expires_at = new.expires_at.unwrap_or_else(|| now_ms() + WEEK_MS);
    let uses = new.uses;
    let code = write(&state, &asker, move |writer| writer.invite(uses, expires_at)).await?;
    let view = InvitationView {
        code: code.to_text(),
        uses,
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn devices(State(state): Shared, asker: Asker) -> Answer<Response> {
    let devices = read(&state, &asker, |household| Ok(household.devices())).await?;
    Ok(Json(devices).into_response())
}

pub async fn indicators(State(state): Shared, asker: Asker) -> Answer<Response> {
    let indicators = read(&state, &asker, |household| household.indicators()).await?;
    Ok(Json(indicators).into_response())
}

// ----- the node ---------------------------------------------------------------------------

/// `GET /v1/status`: the household and its node on the mesh.
#[derive(Debug, Serialize)]
pub struct StatusView {
    pub household: String,
    pub name: String,
    /// Grows with every change the store takes in (see `/v1/events`).
    pub revision: u64,
    pub mesh: Option<crate::net::NetStatus>,
}

pub async fn status(State(state): Shared, asker: Asker) -> Answer<Json<StatusView>> {
    let mesh = tokio::time::timeout(std::time::Duration::from_secs(5), state.context.net.status())
        .await
        .ok()
        .flatten();
    let household = &state.context.household;
    Ok(Json(StatusView {
        household: household.id().to_text(),
        name: read(&state, &asker, |household| Ok(household.name())).await?,
        revision: household.store().revision().load(std::sync::atomic::Ordering::Acquire),
        mesh,
    }))
}

pub async fn peers(State(state): Shared, asker: Asker) -> Answer<Response> {
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), state.context.net.status())
        .await
        .ok()
        .flatten()
        .ok_or_else(|| {
            Failure::said(
                StatusCode::SERVICE_UNAVAILABLE,
                "mesh-silent",
                asker.catalog,
                "err-mesh-silent",
                &[],
            )
        })?;
    Ok(Json(status.peers).into_response())
}

/// `GET /v1/export`: the household's signed bundle (a backup, or a USB
/// stick's worth), streamed back: the node writes no file on the caller's
/// behalf.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFilter {
    community: Option<String>,
}

pub async fn export(State(state): Shared, asker: Asker, Params(filter): Params<ExportFilter>) -> Answer<Response> {
    let (bytes, count) = read(&state, &asker, move |household| {
        let only = filter
            .community
            .as_deref()
            .map(|text| household.find_community(text))
            .transpose()?;
        household.export_bytes(only)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"maillage.bundle\"".to_owned(),
            ),
            (
                header::HeaderName::from_static(super::DOCUMENTS_HEADER),
                count.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub fn not_found(asker: &Asker) -> Failure {
    Failure::said(StatusCode::NOT_FOUND, "no-route", asker.catalog, "api-no-route", &[])
}
