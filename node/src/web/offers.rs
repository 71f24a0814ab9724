//! Offers and requests: what villagers share and what they need.
//!
//! ```text
//! GET  /offres                 the list: search, filters, pages of 50
//! GET  /offres/nouvelle        the form for a new offer
//! POST /offres                 creates it, 303 to its page
//! GET  /offres/{id}            one offer, with the requests it may answer
//! GET  /offres/{id}/modifier   the edit form (owner only)
//! POST /offres/{id}            saves an edit
//! POST /offres/{id}/fermer     closes it (done)
//! POST /offres/{id}/supprimer  deletes it (a tombstone that propagates)
//! ```
//!
//! `/demandes` is the same for requests. Every write goes through the same
//! [`Household`](crate::household::Household) operation as the command line,
//! so the same `crdt/` rules refuse the same input; a refused field is shown
//! next to its input.

mod detail;
mod facets;
mod form;
mod list;
mod remembered;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::routing::{get, post};
use maillage_crdt::items::{GroupBuy, OfferKind, Ride};
use maillage_crdt::{Amount, DocId, DocKind, HouseholdId};

use super::WebState;
use super::page::{Page, Section, WebError};
use crate::household::{Household, HouseholdError, now_ms};
use crate::i18n::Lang;

/// Which half of the page a request is about. Both halves share every
/// handler; only words, paths and a few fields differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Offers,
    Requests,
}

impl Side {
    fn kind(self) -> DocKind {
        match self {
            Side::Offers => DocKind::Offer,
            Side::Requests => DocKind::Request,
        }
    }

    /// The list's path, which every other path of this side starts with.
    fn base(self) -> &'static str {
        match self {
            Side::Offers => "/offres",
            Side::Requests => "/demandes",
        }
    }

    fn section(self) -> Section {
        match self {
            Side::Offers => Section::Offers,
            Side::Requests => Section::Requests,
        }
    }

    /// The word that picks this side's variant of a message:
    /// `offers-new-offer` / `offers-new-request`.
    fn word(self) -> &'static str {
        match self {
            Side::Offers => "offer",
            Side::Requests => "request",
        }
    }

    /// The message `offers-{stem}-{offer|request}`.
    fn t(self, page: &Page, stem: &str) -> String {
        page.t(&format!("offers-{stem}-{}", self.word()))
    }

    fn ta(self, page: &Page, stem: &str, args: &[(&str, &str)]) -> String {
        page.ta(&format!("offers-{stem}-{}", self.word()), args)
    }

    /// The state "close" moves an item to, as the CLI's `close` does.
    fn closed_state(self) -> &'static str {
        match self {
            Side::Offers => "done",
            Side::Requests => "fulfilled",
        }
    }

    /// The query parameter the exchanges page reads to know what an exchange
    /// is about.
    fn exchange_parameter(self) -> &'static str {
        match self {
            Side::Offers => "offre",
            Side::Requests => "demande",
        }
    }

    fn item_path(self, id: &DocId) -> String {
        format!("{}/{}", self.base(), id.to_text())
    }
}

pub fn routes() -> Router<WebState> {
    let mut router = Router::new();
    for side in [Side::Offers, Side::Requests] {
        let base = side.base();
        router = router
            .route(
                base,
                get(move |state: State<WebState>, page: Page, query: Query<list::Filters>| {
                    list::show(side, state, page, query)
                })
                .post(move |state: State<WebState>, page: Page, fields: Form<form::Fields>| {
                    form::create(side, state, page, fields)
                }),
            )
            .route(
                &format!("{base}/nouvelle"),
                get(move |state: State<WebState>, page: Page| form::new(side, state, page)),
            )
            .route(
                &format!("{base}/{{id}}"),
                get(move |state: State<WebState>, page: Page, id: Path<String>| detail::show(side, state, page, id))
                    .post(
                        move |state: State<WebState>, page: Page, id: Path<String>, fields: Form<form::Fields>| {
                            form::save(side, state, page, id, fields)
                        },
                    ),
            )
            .route(
                &format!("{base}/{{id}}/modifier"),
                get(move |state: State<WebState>, page: Page, id: Path<String>| form::edit(side, state, page, id)),
            )
            .route(
                &format!("{base}/{{id}}/fermer"),
                post(move |state: State<WebState>, page: Page, id: Path<String>| detail::close(side, state, page, id)),
            )
            .route(
                &format!("{base}/{{id}}/supprimer"),
                post(move |state: State<WebState>, page: Page, id: Path<String>| detail::delete(side, state, page, id)),
            );
    }
    router
}

/// The document an item's path names. Only a whole id is accepted: a page's
/// links always carry one, and resolving a prefix reads every header.
fn parse_id(page: &Page, side: Side, text: &str) -> Result<DocId, WebError> {
    text.parse().map_err(|_| {
        page.fail(HouseholdError::UnknownId {
            kind: side.kind().as_str(),
            text: text.to_owned(),
        })
    })
}

/// An amount as villagers write it: a decimal comma in French.
fn amount_text(page: &Page, amount: Amount) -> String {
    let text = amount.to_string();
    match page.lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

/// One offer or request as its page and its edit form show it.
#[derive(Clone, Debug)]
struct Item {
    id: DocId,
    owner: HouseholdId,
    owner_name: String,
    /// Posted by this household: the page offers edit, close and delete.
    mine: bool,
    title: String,
    description: String,
    category: String,
    kind: Option<OfferKind>,
    place: Option<String>,
    price: Option<Amount>,
    /// The community's unit, for prices.
    unit: String,
    until: Option<i64>,
    /// The state people see (`expired` derived from `until`).
    state: String,
    ride: Option<Ride>,
    group_buy: Option<GroupBuy>,
    created_at: i64,
    updated_at: i64,
    /// Deleted by its owner: only a tombstone is left.
    deleted: bool,
    /// What listings show of it, for finding what may answer it.
    summary: crate::summary::Summary,
}

/// Loads the item `id` of `side`. An id of another kind, or whose content is
/// invalid (a buggy or hostile writer), is unknown here as it is in lists.
fn load_item(household: &Household, side: Side, id: &DocId) -> Result<Item, HouseholdError> {
    let unknown = || HouseholdError::UnknownId {
        kind: side.kind().as_str(),
        text: id.short(),
    };
    let summary = household.store().summary(id)?.ok_or_else(unknown)?;
    if summary.kind != side.kind() || !summary.valid {
        return Err(unknown());
    }
    let now = now_ms();
    let mut item = match side {
        Side::Offers => {
            let (header, offer) = household.offer(id)?;
            Item {
                id: *id,
                owner: header.owner,
                owner_name: String::new(),
                mine: false,
                state: offer.visible_state(now).to_owned(),
                title: offer.title,
                description: offer.description,
                category: offer.category,
                kind: Some(offer.kind),
                place: offer.place,
                price: offer.price.map(Amount),
                unit: String::new(),
                until: offer.until,
                ride: offer.ride,
                group_buy: offer.group_buy,
                created_at: offer.created_at,
                updated_at: offer.updated_at,
                deleted: offer.deleted,
                summary,
            }
        }
        Side::Requests => {
            let (header, request) = household.request(id)?;
            Item {
                id: *id,
                owner: header.owner,
                owner_name: String::new(),
                mine: false,
                state: request.visible_state(now).to_owned(),
                title: request.title,
                description: request.description,
                category: request.category,
                kind: request.kind,
                place: request.place,
                price: None,
                unit: String::new(),
                until: request.until,
                ride: None,
                group_buy: None,
                created_at: request.created_at,
                updated_at: request.updated_at,
                deleted: request.deleted,
                summary,
            }
        }
    };
    item.owner_name = household.name_of(&item.owner);
    item.mine = item.owner == household.id();
    item.unit = item
        .summary
        .community
        .and_then(|community| {
            household
                .store()
                .registry()
                .community(&community)
                .map(|c| c.genesis.unit.clone())
        })
        .unwrap_or_default();
    Ok(item)
}

/// The community's unit, for the price field's hint; `None` when the
/// household is in no community yet.
fn current_unit(household: &Household) -> Result<Option<String>, HouseholdError> {
    match household.community() {
        Ok(community) => Ok(Some(community.genesis.unit.clone())),
        Err(HouseholdError::NoCommunity) => Ok(None),
        Err(error) => Err(error),
    }
}

/// What the page says instead of a list or a form to a household in no
/// community yet: where to create or join one.
fn no_community(page: &Page) -> maud::Markup {
    maud::html! {
        p class="item-notice" {
            (page.t("offers-no-community")) " "
            a href="/communaute" { (page.t("offers-no-community-link")) }
        }
    }
}

/// A Unix ms time as the value of an `<input type="date">` (the machine's
/// zone, where the deadline was read).
fn date_input_value(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default()
}
