//! One offer or request: its details, what may answer it, and for its owner
//! the buttons that edit, close and delete it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maillage_crdt::DocId;
use maud::{Markup, html};

use super::{Item, Side, amount_text, load_item, parse_id};
use crate::household::{HouseholdError, ItemPatch};
use crate::summary::Summary;
use crate::web::WebState;
use crate::web::page::{Page, WebError, action_button, document};

/// How many possible answers an item's page lists.
const MATCHES_SHOWN: usize = 20;

/// A possible answer, with who posted it.
struct Answer {
    summary: Summary,
    owner_name: String,
}

/// `GET /offres/{id}`
pub async fn show(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&page, side, &id)?;
    let (item, answers) = state
        .read(move |household| {
            let item = load_item(household, side, &id)?;
            if item.deleted {
                return Ok((item, Vec::new()));
            }
            let answers = household
                .matches_of(&item.summary, MATCHES_SHOWN)?
                .into_iter()
                .map(|summary| Answer {
                    owner_name: household.name_of(&summary.owner),
                    summary,
                })
                .collect();
            Ok((item, answers))
        })
        .await
        .map_err(|error| page.fail(error))?;
    if item.deleted {
        // The tombstone stays so the deletion reaches every neighbour; for
        // the villager the item is gone.
        return Err(WebError {
            message: side.t(&page, "deleted"),
            status: StatusCode::NOT_FOUND,
            page,
        });
    }
    Ok(render(&page, side, &item, &answers).into_response())
}

fn render(page: &Page, side: Side, item: &Item, answers: &[Answer]) -> Markup {
    let id = item.id.to_text();
    let exchange = format!("/echanges/nouveau?{}={id}", side.exchange_parameter());
    let other = match side {
        Side::Offers => Side::Requests,
        Side::Requests => Side::Offers,
    };
    let main = html! {
        p class="item-back" { a href=(side.base()) { (side.t(page, "back")) } }
        h1 { (item.title) }
        dl class="item-details" {
            @if let Some(kind) = item.kind {
                dt { (page.t("field-kind")) }
                dd { (page.catalog().word("kind", kind.as_str())) }
            }
            dt { (page.t("field-category")) }
            dd { (item.category) }
            dt { (page.t("field-state")) }
            dd { (page.catalog().word("state", &item.state)) }
            dt { (page.t("offers-field-owner")) }
            dd {
                (item.owner_name)
                @if item.mine { " " span class="badge" { (page.t("offers-you")) } }
            }
            @if let Some(place) = &item.place {
                dt { (page.t("field-place")) }
                dd { (place) }
            }
            @if let Some(price) = item.price {
                dt { (page.t("field-price")) }
                dd { (amount_text(page, price)) " " (item.unit) }
            }
            @if let Some(until) = item.until {
                dt { (page.t("field-until")) }
                dd { (page.date(until)) }
            }
            @if let Some(ride) = &item.ride {
                dt { (page.t("offers-ride")) }
                dd {
                    (page.ta("offers-ride-text", &[
                        ("from", &ride.from),
                        ("to", &ride.to),
                        ("when", &page.time(ride.departs_at)),
                        ("seats", &ride.seats.to_string()),
                    ]))
                }
            }
            @if let Some(group_buy) = &item.group_buy {
                dt { (page.t("offers-group")) }
                dd {
                    (page.ta("offers-group-text", &[
                        ("target", &group_buy.target.to_string()),
                        ("unit", &group_buy.unit),
                        ("deadline", &page.date(group_buy.deadline)),
                    ]))
                }
            }
            dt { (page.t("offers-field-posted")) }
            dd { (page.time(item.created_at)) }
            @if item.updated_at > item.created_at {
                dt { (page.t("offers-field-updated")) }
                dd { (page.time(item.updated_at)) }
            }
        }
        @if !item.description.is_empty() {
            h2 { (page.t("field-description")) }
            div class="item-description" {
                @for paragraph in item.description.split("\n\n") {
                    p {
                        @for (index, line) in paragraph.lines().enumerate() {
                            @if index > 0 { br; }
                            (line)
                        }
                    }
                }
            }
        }
        div class="item-actions" {
            a class="button" href=(exchange) { (page.t("offers-propose-exchange")) }
            @if item.mine {
                " "
                a class="button secondary" href=(format!("{}/modifier", side.item_path(&item.id))) { (page.t("offers-edit")) }
                @if is_open(side, &item.state) {
                    " "
                    (action_button(page, &format!("{}/fermer", side.item_path(&item.id)), &side.t(page, "close"), "secondary"))
                }
                " "
                form method="post" action=(format!("{}/supprimer", side.item_path(&item.id))) class="inline"
                    data-confirm=(side.t(page, "delete-confirm")) {
                    (page.csrf_field())
                    button type="submit" class="danger" { (page.t("offers-delete")) }
                }
            }
        }
        section class="item-matches" aria-labelledby="matches-title" {
            h2 id="matches-title" { (side.t(page, "matches-title")) }
            @if answers.is_empty() {
                p { (side.t(page, "matches-none")) }
            } @else {
                ul {
                    @for answer in answers {
                        li {
                            a href=(other.item_path(&answer.summary.id)) { (answer.summary.title) }
                            " — " (answer.owner_name)
                            @if let Some(place) = &answer.summary.place { ", " (place) }
                        }
                    }
                }
            }
        }
    };
    document(page, &item.title, side.section(), main)
}

/// Whether the close button applies: the CLI's `close` moves an open (or
/// promised, or matched) item to done or fulfilled; anything else is final.
fn is_open(side: Side, state: &str) -> bool {
    match side {
        Side::Offers => matches!(state, "open" | "promised" | "expired"),
        Side::Requests => matches!(state, "open" | "matched" | "expired"),
    }
}

/// `POST /offres/{id}/fermer`
pub async fn close(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&page, side, &id)?;
    let patch = ItemPatch {
        state: Some(side.closed_state().to_owned()),
        ..ItemPatch::default()
    };
    state
        .write(move |household| match side {
            Side::Offers => household.edit_offer(&id, patch),
            Side::Requests => household.edit_request(&id, patch),
        })
        .await
        .map_err(|error| page.fail(error))?;
    Ok(Redirect::to(&side.item_path(&id)).into_response())
}

/// `POST /offres/{id}/supprimer`
pub async fn delete(
    side: Side,
    State(state): State<WebState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: DocId = parse_id(&page, side, &id)?;
    state
        .write(move |household| household.delete_item(&id, side.kind()))
        .await
        .map_err(|error: HouseholdError| page.fail(error))?;
    Ok(Redirect::to(side.base()).into_response())
}
