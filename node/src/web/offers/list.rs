//! `GET /offres` and `GET /demandes`: search, filters and pages of 50.
//!
//! A page reads the store's summaries only, never an automerge document,
//! with every filter applied inside the store's index walk. Counting the
//! matches needs a walk to the end; the count is remembered (see
//! [`super::remembered`]), and while it is known the walk stops at the end
//! of the page shown. The category and place menus' choices are remembered
//! the same way. They need every item of the kind, so the first view after
//! a change finds them, the count and the page in one walk of the kind's
//! recency index (the list's slowest case: every summary read once).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Range;

use axum::extract::{Query, State};
use maillage_crdt::HouseholdId;
use maillage_crdt::items::{OfferKind, normalize_category, search_fold};
use maud::{Markup, html};
use serde::Deserialize;

use super::facets::{Facets, Tally};
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

    /// The store query's state.
    fn stored(self) -> Option<&'static str> {
        match self {
            StateFilter::Live(state) | StateFilter::Final(state) => Some(state),
            StateFilter::Current | StateFilter::All | StateFilter::Expired => None,
        }
    }

    /// Whether the household's listing is asked for closed items too.
    fn includes_closed(self) -> bool {
        self != StateFilter::Current
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
    let wanted = Wanted::of(side, filters);
    let count_key = wanted.count_key();
    let first = (number - 1).saturating_mul(PAGE_SIZE);
    let window = first..first.saturating_add(PAGE_SIZE);
    let (facets, total, found) = match remembered::facets(store_state, side.kind()) {
        Some(facets) => {
            let known_total = remembered::count(store_state, &count_key);
            let (found, counted) = walk_matches(household, &wanted, window, known_total.is_some())?;
            let total = known_total.unwrap_or_else(|| {
                // The walk went to the end: it counted every match.
                remembered::remember_count(store_state, count_key, counted);
                counted
            });
            (facets, total, found)
        }
        None => {
            let (found, counted, facets) = walk_kind(household, &wanted, window)?;
            remembered::remember_facets(store_state, side.kind(), facets.clone());
            remembered::remember_count(store_state, count_key, counted);
            (facets, counted, found)
        }
    };
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

/// The items of `window` (positions among the matches, in listing order)
/// and the number of matches, through the narrowest index the filters
/// allow. Knowing the count already, the walk stops at the end of the
/// window; the count it returns is then only the matches up to there.
fn walk_matches(
    household: &Household,
    wanted: &Wanted,
    window: Range<usize>,
    count_known: bool,
) -> Result<(Vec<Summary>, usize), HouseholdError> {
    let now = now_ms();
    let seen = Cell::new(0usize);
    let query = StoreQuery {
        limit: count_known.then_some(PAGE_SIZE),
        ..wanted.store_query()
    };
    let search = wanted.search.as_deref();
    let found = household.list_where(query, search, wanted.state.includes_closed(), |summary| {
        if !wanted.shows(summary, now) {
            return false;
        }
        let index = seen.get();
        seen.set(index + 1);
        window.contains(&index)
    })?;
    Ok((found, seen.get()))
}

/// The first view since the store changed, when neither the menus' choices
/// nor the count are known: both need every item of the kind, so one walk
/// over the kind's recency index counts the menus' values and, checking the
/// page's filters itself, its matches and the items of `window`. Returns
/// what [`walk_matches`] does, and the menus' choices.
fn walk_kind(
    household: &Household,
    wanted: &Wanted,
    window: Range<usize>,
) -> Result<(Vec<Summary>, usize, Facets), HouseholdError> {
    let now = now_ms();
    let seen = Cell::new(0usize);
    let tally = RefCell::new(Tally::default());
    let every_item = StoreQuery {
        kind: Some(wanted.side.kind()),
        ..StoreQuery::default()
    };
    // The household keeps what is valid, not deleted and by a member, and
    // nothing else here: no search, closed items included, as the menus
    // need.
    let found = household.list_where(every_item, None, true, |summary| {
        tally.borrow_mut().add(summary);
        if !wanted.matches(summary, now) {
            return false;
        }
        let index = seen.get();
        seen.set(index + 1);
        window.contains(&index)
    })?;
    Ok((found, seen.get(), tally.into_inner().facets()))
}

/// Which items a page shows, read from its filters.
struct Wanted {
    side: Side,
    /// Normalised as categories are stored; empty for any.
    category: String,
    offer_kind: Option<OfferKind>,
    /// Folded for comparing; empty for any.
    place: String,
    /// As typed, trimmed; `None` when empty.
    search: Option<String>,
    /// `search` folded, as the household compares it.
    needle: Option<String>,
    state: StateFilter,
}

impl Wanted {
    fn of(side: Side, filters: &Filters) -> Wanted {
        let search = Some(filters.q.trim()).filter(|q| !q.is_empty()).map(str::to_owned);
        Wanted {
            side,
            category: normalize_category(&filters.category),
            offer_kind: filters.kind.parse::<OfferKind>().ok(),
            place: search_fold(filters.place.trim()),
            needle: search.as_deref().map(search_fold),
            search,
            state: StateFilter::parse(side, &filters.state),
        }
    }

    /// Everything that decides which items match, and nothing else.
    fn count_key(&self) -> String {
        let Wanted {
            side,
            category,
            offer_kind,
            place,
            needle,
            state,
            ..
        } = self;
        format!(
            "{side:?}\u{1f}{}\u{1f}{category}\u{1f}{offer_kind:?}\u{1f}{place}\u{1f}{state:?}",
            needle.as_deref().unwrap_or_default()
        )
    }

    /// The filters the store's indexes serve: kind, category, stored state,
    /// offer kind.
    fn store_query(&self) -> StoreQuery {
        StoreQuery {
            kind: Some(self.side.kind()),
            category: Some(self.category.clone()).filter(|category| !category.is_empty()),
            state: self.state.stored().map(str::to_owned),
            offer_kind: self.offer_kind.map(|kind| kind.as_str().to_owned()),
            ..StoreQuery::default()
        }
    }

    /// The filters neither the store nor the household apply: place, and
    /// the states derived from the clock.
    fn shows(&self, summary: &Summary, now: i64) -> bool {
        let place_matches = self.place.is_empty()
            || summary
                .place
                .as_deref()
                .is_some_and(|candidate| search_fold(candidate) == self.place);
        place_matches && self.state.accepts(summary, now)
    }

    /// Whether a shown item of the kind (valid, not deleted, by a member)
    /// matches every filter: what [`Wanted::store_query`] and the
    /// household's search and current-only rule select, then
    /// [`Wanted::shows`]. Kept equal to [`walk_matches`]' choice by the
    /// tests below.
    fn matches(&self, summary: &Summary, now: i64) -> bool {
        let stored_state = self.state.stored();
        (self.category.is_empty() || summary.category == self.category)
            && stored_state.is_none_or(|state| summary.state == state)
            && self
                .offer_kind
                .is_none_or(|kind| summary.offer_kind.as_deref() == Some(kind.as_str()))
            && self
                .needle
                .as_deref()
                .is_none_or(|needle| summary.search.contains(needle))
            && (self.state.includes_closed() || stored_state.is_some() || is_current(self.side, summary, now))
            && self.shows(summary, now)
    }
}

/// What the list shows by default, as the household's listing decides it
/// when it is not asked for closed items: a live state, not expired.
fn is_current(side: Side, summary: &Summary, now: i64) -> bool {
    let live = match side {
        Side::Offers => ["open", "promised"],
        Side::Requests => ["open", "matched"],
    };
    live.contains(&summary.state.as_str()) && summary.until.is_none_or(|until| until >= now)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use maillage_crdt::DocId;

    use super::*;
    use crate::Home;
    use crate::household::{ItemInput, ItemPatch};

    const DAY_MS: i64 = 86_400_000;

    /// A household whose community holds offers and requests in every
    /// category, kind, place spelling, state and expiry the filters tell
    /// apart, some deleted.
    fn village(dir: &std::path::Path) -> crate::household::HouseholdWriter {
        let mut household = Household::init(Home::at(dir.join("ferme")), "Ferme des Tilleuls", None).unwrap();
        household.create_community("Saint-Martin", "heure", None).unwrap();
        let now = now_ms();
        let categories = ["jardin", "outils", "cuisine"];
        let kinds = [OfferKind::Give, OfferKind::Lend, OfferKind::Service];
        let places = [Some("La Combe"), Some("la combe"), Some("Le Bourg"), None];
        let untils = [None, Some(now - DAY_MS), Some(now + DAY_MS)];
        for i in 0..36 {
            let input = ItemInput {
                title: format!("{} numéro {i}", ["Confiture", "Pêches", "Scie"][i % 3]),
                description: Some(["Des prunes du verger", "À prêter le week-end", ""][i / 3 % 3].to_owned()),
                category: Some(categories[i % categories.len()].to_owned()),
                kind: Some(kinds[i / 2 % kinds.len()]),
                place: places[i % places.len()].map(str::to_owned),
                until: untils[i / 4 % untils.len()],
                ..ItemInput::default()
            };
            let side = if i % 5 == 4 { Side::Requests } else { Side::Offers };
            let id = match side {
                Side::Offers => household.add_offer(input).unwrap(),
                Side::Requests => household.add_request(input).unwrap(),
            };
            let state = match (side, i % 7) {
                (_, 1) => "withdrawn",
                (Side::Offers, 2) => "promised",
                (Side::Offers, 3) => "done",
                (Side::Requests, 2) => "matched",
                (Side::Requests, 3) => "fulfilled",
                (_, 5) => {
                    household.delete_item(&id, side.kind()).unwrap();
                    continue;
                }
                _ => continue,
            };
            let patch = ItemPatch {
                state: Some(state.to_owned()),
                ..ItemPatch::default()
            };
            match side {
                Side::Offers => household.edit_offer(&id, patch).unwrap(),
                Side::Requests => household.edit_request(&id, patch).unwrap(),
            }
        }
        household
    }

    fn ids(found: &[Summary]) -> Vec<DocId> {
        found.iter().map(|summary| summary.id).collect()
    }

    #[test]
    fn the_first_view_after_a_change_shows_what_the_index_walk_shows() {
        let dir = tempfile::tempdir().unwrap();
        let household = village(dir.path());
        let mut compared = 0;
        for side in [Side::Offers, Side::Requests] {
            for q in ["", "confiture", "PECHES", "preter"] {
                for category in ["", "jardin", " Outils ", "inconnue"] {
                    for kind in ["", "lend", "service", "nimporte"] {
                        for place in ["", "la combe", "LE BOURG"] {
                            for state in [
                                "",
                                "all",
                                "expired",
                                "open",
                                "promised",
                                "matched",
                                "done",
                                "fulfilled",
                                "withdrawn",
                            ] {
                                let filters = Filters {
                                    q: q.into(),
                                    category: category.into(),
                                    kind: kind.into(),
                                    place: place.into(),
                                    state: state.into(),
                                    page: String::new(),
                                };
                                let wanted = Wanted::of(side, &filters);
                                // Pages of 3, to compare pages past the first.
                                for window in [0..3, 3..6] {
                                    let (by_index, count) =
                                        walk_matches(&household, &wanted, window.clone(), false).unwrap();
                                    let (by_kind, counted, _) = walk_kind(&household, &wanted, window.clone()).unwrap();
                                    assert_eq!(
                                        (ids(&by_kind), counted),
                                        (ids(&by_index), count),
                                        "{side:?} {filters:?} {window:?}"
                                    );
                                    assert_eq!(by_kind, by_index, "the cards show the same states");
                                    compared += usize::from(count > 0);
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(
            compared > 100,
            "the village matches most filters somewhere ({compared})"
        );
    }

    #[test]
    fn the_menus_offer_the_values_of_every_shown_item_closed_ones_included() {
        let dir = tempfile::tempdir().unwrap();
        let household = village(dir.path());
        let wanted = Wanted::of(Side::Offers, &Filters::default());
        let (_, _, facets) = walk_kind(&household, &wanted, 0..PAGE_SIZE).unwrap();
        assert_eq!(facets.categories, ["cuisine", "jardin", "outils"]);
        assert_eq!(
            facets.places,
            ["La Combe", "Le Bourg"],
            "one choice per place, as first listed"
        );
    }
}
