//! `GET /offres` and `GET /demandes`: search, filters and pages of 50.
//!
//! A page reads the store's summaries only, never an automerge document,
//! with every filter applied inside the store's index walk. Counting the
//! matches needs a walk to the end; the count is remembered (see
//! [`super::remembered`]), and while it is known the walk stops at the end
//! of the page shown. The category and place menus' choices are remembered
//! the same way.

use std::cell::Cell;
use std::collections::BTreeMap;

use axum::extract::{Query, State};
use maillage_crdt::HouseholdId;
use maillage_crdt::items::{OfferKind, normalize_category, search_fold};
use maud::{Markup, html};
use serde::Deserialize;

use super::facets::{self, Facets};
use super::remembered::{self, StoreState};
use super::{Side, no_community};
use crate::household::{Household, HouseholdError, now_ms};
use crate::store::Query as StoreQuery;
use crate::summary::Summary;
use crate::web::WebState;
use crate::web::page::{FieldErrors, FieldOptions, Page, WebError, document, select_field, url_encode};

/// Items on one page of the list.
pub const PAGE_SIZE: usize = 50;

/// The list's GET parameters, as the search form sends them. Anything the
/// page does not understand is ignored rather than refused: a bookmarked
/// URL keeps working.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub q: String,
    pub category: String,
    pub kind: String,
    pub place: String,
    pub state: String,
    pub page: String,
}

impl Filters {
    fn page_number(&self) -> usize {
        self.page.trim().parse::<usize>().unwrap_or(1).max(1)
    }

    fn is_filtered(&self) -> bool {
        [&self.q, &self.category, &self.kind, &self.place, &self.state]
            .iter()
            .any(|value| !value.trim().is_empty())
    }

    /// The list's URL with these filters on page `page`.
    fn url(&self, side: Side, page: usize) -> String {
        let mut url = side.base().to_owned();
        let mut separator = '?';
        let pairs = [
            ("q", self.q.trim()),
            ("category", self.category.trim()),
            ("kind", self.kind.trim()),
            ("place", self.place.trim()),
            ("state", self.state.trim()),
        ];
        for (name, value) in pairs.into_iter().filter(|(_, value)| !value.is_empty()) {
            url.push_str(&format!("{separator}{name}={}", url_encode(value)));
            separator = '&';
        }
        if page > 1 {
            url.push_str(&format!("{separator}page={page}"));
        }
        url
    }
}

/// The state menu. The default shows what is still current, like the CLI's
/// list without `--all`; `expired` is not a stored state but derived from
/// `until`, so it and the states it hides are filtered here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StateFilter {
    Current,
    All,
    Expired,
    /// A stored state that an item leaves when it expires (open, promised,
    /// matched): expired items are not shown under it.
    Live(&'static str),
    /// A final stored state (done, fulfilled, withdrawn).
    Final(&'static str),
}

impl StateFilter {
    fn choices(side: Side) -> &'static [&'static str] {
        match side {
            Side::Offers => &["open", "promised", "done", "withdrawn", "expired"],
            Side::Requests => &["open", "matched", "fulfilled", "withdrawn", "expired"],
        }
    }

    fn parse(side: Side, text: &str) -> StateFilter {
        match text.trim() {
            "all" => StateFilter::All,
            "expired" => StateFilter::Expired,
            wanted => match StateFilter::choices(side).iter().find(|state| **state == wanted) {
                Some(&state @ ("open" | "promised" | "matched")) => StateFilter::Live(state),
                Some(&state) => StateFilter::Final(state),
                None => StateFilter::Current,
            },
        }
    }

    /// The store query's state and whether closed items are included.
    fn query(self) -> (Option<String>, bool) {
        match self {
            StateFilter::Current => (None, false),
            StateFilter::All | StateFilter::Expired => (None, true),
            StateFilter::Live(state) | StateFilter::Final(state) => (Some(state.to_owned()), true),
        }
    }

    fn accepts(self, summary: &Summary, now: i64) -> bool {
        let past = summary.until.is_some_and(|until| until < now);
        match self {
            StateFilter::Expired => past && matches!(summary.state.as_str(), "open" | "promised" | "matched"),
            StateFilter::Live(_) => !past,
            StateFilter::Current | StateFilter::All | StateFilter::Final(_) => true,
        }
    }
}

/// One item of the list, with what its card shows besides the summary.
struct Card {
    summary: Summary,
    owner_name: String,
    mine: bool,
}

/// What one page of the list shows.
struct Listing {
    /// How many items match, on every page.
    total: usize,
    cards: Vec<Card>,
    facets: Facets,
}

pub async fn show(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Query(filters): Query<Filters>,
) -> Result<Markup, WebError> {
    let number = filters.page_number();
    let wanted = filters.clone();
    let listing = match state
        .read(move |household| listing(household, side, &wanted, number))
        .await
    {
        Ok(listing) => listing,
        // The first page a new household opens: say where to begin.
        Err(HouseholdError::NoCommunity) => {
            let title = side.t(&page, "list-title");
            let main = html! { h1 { (title) } (no_community(&page)) };
            return Ok(document(&page, &title, side.section(), main));
        }
        Err(error) => return Err(page.fail(error)),
    };
    Ok(render(&page, side, &filters, number, &listing))
}

fn listing(household: &Household, side: Side, filters: &Filters, number: usize) -> Result<Listing, HouseholdError> {
    let store_state = StoreState::of(household)?;
    let facets = facets::of(household, store_state, side)?;
    let state = StateFilter::parse(side, &filters.state);
    let (stored_state, include_closed) = state.query();
    let category = normalize_category(&filters.category);
    let offer_kind = filters.kind.parse::<OfferKind>().ok();
    let place = search_fold(filters.place.trim());
    let search = Some(filters.q.trim()).filter(|q| !q.is_empty());
    // Everything that decides which items match, and nothing else.
    let count_key = format!(
        "{side:?}\u{1f}{}\u{1f}{category}\u{1f}{offer_kind:?}\u{1f}{place}\u{1f}{state:?}",
        search.map(search_fold).unwrap_or_default()
    );
    let known_total = remembered::count(store_state, &count_key);
    let query = StoreQuery {
        kind: Some(side.kind()),
        category: Some(category.clone()).filter(|category| !category.is_empty()),
        state: stored_state,
        offer_kind: offer_kind.map(|kind| kind.as_str().to_owned()),
        // Knowing the count, the walk stops at the end of the page asked for.
        limit: known_total.map(|_| PAGE_SIZE),
        ..StoreQuery::default()
    };
    let now = now_ms();
    // Matches are numbered in listing order; only the page's are kept.
    let seen = Cell::new(0usize);
    let first = (number - 1).saturating_mul(PAGE_SIZE);
    let window = first..first.saturating_add(PAGE_SIZE);
    let found = household.list_where(query, search, include_closed, |summary| {
        let place_matches = place.is_empty()
            || summary
                .place
                .as_deref()
                .is_some_and(|candidate| search_fold(candidate) == place);
        if !place_matches || !state.accepts(summary, now) {
            return false;
        }
        let index = seen.get();
        seen.set(index + 1);
        window.contains(&index)
    })?;
    let total = known_total.unwrap_or_else(|| {
        // The walk went to the end: it counted every match.
        remembered::remember_count(store_state, count_key, seen.get());
        seen.get()
    });
    let me = household.id();
    let mut names: BTreeMap<HouseholdId, String> = BTreeMap::new();
    let cards = found
        .into_iter()
        .map(|summary| {
            let owner_name = names
                .entry(summary.owner)
                .or_insert_with(|| household.name_of(&summary.owner))
                .clone();
            Card {
                mine: summary.owner == me,
                owner_name,
                summary,
            }
        })
        .collect();
    Ok(Listing { total, cards, facets })
}

fn render(page: &Page, side: Side, filters: &Filters, number: usize, listing: &Listing) -> Markup {
    let title = side.t(page, "list-title");
    let pages = listing.total.div_ceil(PAGE_SIZE).max(1);
    let main = html! {
        h1 { (title) }
        p { a class="button" href=(format!("{}/nouvelle", side.base())) { (side.t(page, "new")) } }
        (search_form(page, side, filters, &listing.facets))
        @if listing.total == 0 {
            p class="item-nothing" {
                @if filters.is_filtered() { (side.t(page, "list-no-match")) } @else { (side.t(page, "list-empty")) }
            }
        } @else {
            p class="item-count" { (count_text(page, side, listing.total)) }
            @if listing.cards.is_empty() {
                p class="item-nothing" { (page.t("offers-list-page-empty")) }
            } @else {
                ul class="cards" {
                    @for card in &listing.cards {
                        (card_markup(page, side, card))
                    }
                }
            }
            @if pages > 1 {
                (pager(page, side, filters, number, pages))
            }
        }
    };
    document(page, &title, side.section(), main)
}

/// "1 offre", "60 offres".
fn count_text(page: &Page, side: Side, total: usize) -> String {
    let count = total.to_string();
    let stem = if total == 1 { "count-one" } else { "count-many" };
    side.ta(page, stem, &[("count", &count)])
}

fn search_form(page: &Page, side: Side, filters: &Filters, facets: &Facets) -> Markup {
    let no_errors = FieldErrors::default();
    let with_any = |any: String, values: &mut dyn Iterator<Item = (String, String)>| {
        let mut choices = vec![(String::new(), any)];
        choices.extend(values);
        choices
    };
    let categories = with_any(
        page.t("offers-any-category"),
        &mut facets.categories.iter().map(|c| (c.clone(), c.clone())),
    );
    let kinds = with_any(
        page.t("offers-any-kind"),
        &mut OfferKind::ALL
            .iter()
            .map(|kind| (kind.as_str().to_owned(), page.catalog().word("kind", kind.as_str()))),
    );
    let places = with_any(
        page.t("offers-any-place"),
        &mut facets.places.iter().map(|p| (p.clone(), p.clone())),
    );
    let mut states = vec![(String::new(), page.t("offers-state-current"))];
    states.extend(
        StateFilter::choices(side)
            .iter()
            .map(|state| ((*state).to_owned(), page.catalog().word("state", state))),
    );
    states.push(("all".to_owned(), page.t("offers-state-all")));
    let category = normalize_category(&filters.category);
    html! {
        form class="toolbar item-search" role="search" method="get" action=(side.base())
            aria-label=(side.t(page, "search-label")) {
            div class="field grow" {
                label for="q" { (page.t("offers-search")) }
                input id="q" name="q" type="search" value=(filters.q) maxlength="120";
            }
            (select_field(page, "category", &page.t("field-category"), &categories, &category, &no_errors, FieldOptions::default()))
            (select_field(page, "kind", &page.t("field-kind"), &kinds, filters.kind.trim(), &no_errors, FieldOptions::default()))
            (select_field(page, "place", &page.t("field-place"), &places, filters.place.trim(), &no_errors, FieldOptions::default()))
            (select_field(page, "state", &page.t("field-state"), &states, filters.state.trim(), &no_errors, FieldOptions::default()))
            div class="field" {
                button type="submit" { (page.t("offers-search-submit")) }
                @if filters.is_filtered() {
                    " " a href=(side.base()) { (page.t("offers-clear-filters")) }
                }
            }
        }
    }
}

fn card_markup(page: &Page, side: Side, card: &Card) -> Markup {
    let summary = &card.summary;
    let id = summary.id.to_text();
    let kind = summary
        .offer_kind
        .as_deref()
        .map(|kind| page.catalog().word("kind", kind));
    let current = matches!(summary.state.as_str(), "open");
    html! {
        li class="card item" data-id=(id) {
            h2 { a href=(side.item_path(&summary.id)) { (summary.title) } }
            p class="meta" {
                @if let Some(kind) = kind { span class="badge" { (kind) } " " }
                @if !current {
                    span class="badge state" { (page.catalog().word("state", &summary.state)) } " "
                }
                span class="category" { (summary.category) }
                @if let Some(place) = &summary.place { " · " span class="place" { (place) } }
            }
            p class="meta" {
                @if card.mine {
                    (page.t("offers-card-yours"))
                } @else {
                    (side.ta(page, "card-by", &[("name", &card.owner_name)]))
                }
                " · " (page.ta("offers-card-updated", &[("date", &page.date(summary.updated_at))]))
                @if let Some(until) = summary.until {
                    " · " (page.ta("offers-card-until", &[("date", &page.date(until))]))
                }
            }
        }
    }
}

fn pager(page: &Page, side: Side, filters: &Filters, number: usize, pages: usize) -> Markup {
    let position = page.ta(
        "offers-pager-position",
        &[("page", &number.to_string()), ("pages", &pages.to_string())],
    );
    html! {
        nav class="pager" aria-label=(page.t("offers-pager-label")) {
            @if number > 1 {
                a href=(filters.url(side, number - 1)) rel="prev" { (page.t("offers-pager-previous")) }
            }
            span aria-current="page" { (position) }
            @if number < pages {
                a href=(filters.url(side, number + 1)) rel="next" { (page.t("offers-pager-next")) }
            }
        }
    }
}
