//! Échanges: the household's exchanges (to answer, under way, finished),
//! proposing one from an offer, a request or from nothing, acting on one,
//! the balances of every member, and the ledger as a CSV file.
//!
//! ```text
//! GET  /echanges                      overview and balances (?page=N: finished exchanges, ?autres=N: others')
//! GET  /echanges.csv                  confirmed exchanges, for a spreadsheet
//! GET  /echanges/nouveau              proposal form (?offre=ID or ?demande=ID prefills it)
//! POST /echanges                      propose → 303 /echanges/ID, or 422 with the form
//! GET  /echanges/ID                   one exchange, its history and buttons
//! POST /echanges/ID/accepter|refuser|annuler|confirmer   → 303 back, or the refusal
//! ```
//!
//! Every write goes through `Household::propose_exchange` and
//! `Household::act_on_exchange`, the operations the command line runs, so the
//! page refuses exactly what `maillage exchange …` refuses.

mod csv;
mod markup;
mod model;

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maillage_crdt::items::{Problem, ValidationError};
use maillage_crdt::money::AmountError;
use maillage_crdt::{Amount, DocId, DocKind};
use maud::Markup;
use serde::Deserialize;

use self::model::{Action, Pages, ProposalContext};
use super::page::{self, FieldErrors, Paging};
use super::{Page, WebError, WebState};
use crate::household::{HouseholdError, NotAllowed};
use crate::i18n::Lang;
use crate::messages;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/echanges", get(overview).post(propose))
        .route("/echanges.csv", get(ledger_csv))
        .route("/echanges/nouveau", get(new_proposal))
        .route("/echanges/{id}", get(exchange))
        .route("/echanges/{id}/{action}", post(act))
}

async fn overview(
    State(state): State<WebState>,
    page: Page,
    // A map rather than a struct: a repeated or unknown parameter (an old
    // bookmark's `?tout=1`) must not fail the page.
    Query(query): Query<HashMap<String, String>>,
) -> Result<Markup, WebError> {
    let pages = Pages {
        done: Paging::number_in(query.get("page").map(String::as_str)),
        others: Paging::number_in(query.get("autres").map(String::as_str)),
    };
    let overview = state
        .read(move |household| model::overview(household, pages))
        .await
        .map_err(|e| page.fail(e))?;
    Ok(markup::overview(&page, &overview))
}

async fn exchange(State(state): State<WebState>, page: Page, Path(id): Path<String>) -> Result<Markup, WebError> {
    let detail = state
        .read(move |household| {
            let id = model::resolve(household, &id)?;
            model::detail(household, &id)
        })
        .await
        .map_err(|e| page.fail(e))?;
    Ok(markup::detail(&page, &detail, None))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    /// `list` when the button was pressed on the overview: go back there.
    back: String,
}

async fn act(
    State(state): State<WebState>,
    page: Page,
    Path((id, slug)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, WebError> {
    let Some(action) = Action::from_slug(&slug) else {
        return Ok(page::not_found(page).await);
    };
    let id = state
        .read(move |household| model::resolve(household, &id))
        .await
        .map_err(|e| page.fail(e))?;
    let error = match state
        .write(move |household| household.act_on_exchange(&id, action.exchange_action()))
        .await
    {
        Ok(_) => {
            let back = if form.back == "list" {
                "/echanges".to_owned()
            } else {
                format!("/echanges/{}", id.to_text())
            };
            return Ok(Redirect::to(&back).into_response());
        }
        Err(error) => error,
    };
    let Some((status, reason)) = refusal(&page, &error, action) else {
        return Err(page.fail(error));
    };
    // The exchange again, as it stands now, with the reason on top: the
    // villager sees why, and what they can do instead.
    let detail = state
        .read(move |household| model::detail(household, &id))
        .await
        .map_err(|e| page.fail(e))?;
    Ok((status, markup::detail(&page, &detail, Some(&reason))).into_response())
}

/// Why an action on an exchange was refused, in the villager's words, and
/// the status to answer with; `None` for failures of the node itself.
fn refusal(page: &Page, error: &HouseholdError, action: Action) -> Option<(StatusCode, String)> {
    match error {
        HouseholdError::Invalid(ValidationError {
            problem: Problem::Transition { from, .. },
            ..
        }) => Some((
            StatusCode::CONFLICT,
            page.ta(
                "exchanges-out-of-turn",
                &[
                    ("state", &page.catalog().word("state", from)),
                    ("action", &page.t(markup::action_label(action))),
                ],
            ),
        )),
        // `check_action` names the field `exchange` when the household is
        // not one of the two parties.
        HouseholdError::Invalid(ValidationError { field: "exchange", .. }) => {
            Some((StatusCode::FORBIDDEN, page.t("exchanges-not-a-party")))
        }
        HouseholdError::CreditLimit { .. } | HouseholdError::Invalid(_) | HouseholdError::Refused(_) => Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            messages::household_error(error, page.catalog()),
        )),
        _ => None,
    }
}

async fn ledger_csv(State(state): State<WebState>, page: Page) -> Result<Response, WebError> {
    let ledger = state.read(model::ledger).await.map_err(|e| page.fail(e))?;
    let mut response = csv::ledger(&page, &ledger).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{}.csv\"", page.t("exchanges-csv-filename"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    // Who owes what to whom: not for shared caches.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

// ---------------------------------------------------------------------------
// Proposing

/// The proposal form's fields, as the villager typed them (kept to show the
/// form again when something is refused).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct ProposalForm {
    /// The other household's full id.
    counterpart: String,
    /// `give` or `receive`.
    direction: String,
    amount: String,
    what: String,
    /// The offer or request answered (hidden fields of a prefilled form).
    offer: String,
    request: String,
}

impl ProposalForm {
    /// What the form says before the villager types anything: from the
    /// offer or request it answers, whatever can be known.
    fn prefilled(context: &ProposalContext) -> ProposalForm {
        let mut values = ProposalForm::default();
        if let [only] = context.members.as_slice() {
            values.counterpart = only.id.to_text();
        }
        if let Some(item) = &context.item {
            if !item.mine {
                values.counterpart = item.owner.id.to_text();
            }
            values.direction = direction_of(item.i_give()).to_owned();
            // A number input wants a dot, whatever the page's language.
            values.amount = item.price.map(|price| price.to_string()).unwrap_or_default();
            values.what = item.title.clone();
            match item.kind {
                DocKind::Request => values.request = item.id.to_text(),
                _ => values.offer = item.id.to_text(),
            }
        }
        values
    }
}

fn direction_of(gives: bool) -> &'static str {
    if gives { "give" } else { "receive" }
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    offre: Option<String>,
    demande: Option<String>,
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

async fn new_proposal(
    State(state): State<WebState>,
    page: Page,
    Query(query): Query<NewQuery>,
) -> Result<Markup, WebError> {
    let offer = non_empty(query.offre.as_deref());
    let request = non_empty(query.demande.as_deref());
    let context = state
        .read(move |household| model::proposal_context(household, offer.as_deref(), request.as_deref()))
        .await
        .map_err(|e| page.fail(e))?;
    let values = ProposalForm::prefilled(&context);
    Ok(markup::proposal(&page, &context, &values, &FieldErrors::default()))
}

/// A proposal that passed the form's own checks, ready for the household.
struct Proposal {
    counterpart: String,
    received: bool,
    amount: Amount,
    what: String,
    about: Option<DocId>,
}

async fn propose(
    State(state): State<WebState>,
    page: Page,
    Form(form): Form<ProposalForm>,
) -> Result<Response, WebError> {
    let offer = non_empty(Some(&form.offer));
    let request = non_empty(Some(&form.request));
    let context = state
        .read(move |household| model::proposal_context(household, offer.as_deref(), request.as_deref()))
        .await
        .map_err(|e| page.fail(e))?;
    let proposal = match check(&page, &context, &form) {
        Ok(proposal) => proposal,
        Err(errors) => return Ok(form_again(&page, &context, &form, &errors)),
    };
    let Proposal {
        counterpart,
        received,
        amount,
        what,
        about,
    } = proposal;
    let written = state
        .write(move |household| {
            let with = household.resolve_member(&counterpart)?;
            household.propose_exchange(with, received, amount, &what, about)
        })
        .await;
    match written {
        Ok(id) => Ok(Redirect::to(&format!("/echanges/{}", id.to_text())).into_response()),
        Err(error) => match refused_fields(&page, &error) {
            Some(errors) => Ok(form_again(&page, &context, &form, &errors)),
            None => Err(page.fail(error)),
        },
    }
}

fn form_again(page: &Page, context: &ProposalContext, form: &ProposalForm, errors: &FieldErrors) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        markup::proposal(page, context, form, errors),
    )
        .into_response()
}

/// What the form checks before asking the household: that each field is
/// there and readable, and that it agrees with the offer or request it
/// answers. The rules of the exchange itself (credit limit, note) are the
/// household's.
fn check(page: &Page, context: &ProposalContext, form: &ProposalForm) -> Result<Proposal, FieldErrors> {
    let mut errors = FieldErrors::default();
    let counterpart = form.counterpart.trim();
    if counterpart.is_empty() {
        errors.set("counterpart", page.t("exchanges-error-counterpart"));
    }
    let gives = match form.direction.as_str() {
        "give" => Some(true),
        "receive" => Some(false),
        _ => {
            errors.set("direction", page.t("exchanges-error-direction"));
            None
        }
    };
    let amount = match form.amount.parse::<Amount>() {
        // The ledger would take a zero amount, but on this form it is almost
        // always a forgotten field: an exchange here counts something.
        Ok(Amount(0)) => {
            errors.set("amount", page.t("exchanges-error-amount-zero"));
            None
        }
        Ok(amount) => Some(amount),
        Err(error) => {
            errors.set("amount", amount_problem(page, &form.amount, &error));
            None
        }
    };
    if let Some(item) = &context.item {
        let kind = item.kind.as_str();
        if !item.mine && !counterpart.is_empty() && counterpart != item.owner.id.to_text() {
            errors.set(
                "counterpart",
                page.ta(
                    "exchanges-error-item-owner",
                    &[("kind", kind), ("owner", &item.owner.name)],
                ),
            );
        }
        if gives.is_some_and(|gives| gives != item.i_give()) {
            let direction = if item.i_give() {
                "exchanges-direction-give"
            } else {
                "exchanges-direction-receive"
            };
            errors.set(
                "direction",
                page.ta(
                    "exchanges-error-direction-item",
                    &[("kind", kind), ("direction", &page.t(direction))],
                ),
            );
        }
    }
    match (gives, amount) {
        (Some(gives), Some(amount)) if errors.is_empty() => Ok(Proposal {
            counterpart: counterpart.to_owned(),
            // With an item, the item says who gives (and the household
            // refuses `received` alongside one).
            received: context.item.is_none() && !gives,
            amount,
            what: form.what.clone(),
            about: context.item.as_ref().map(|item| item.id),
        }),
        _ => Err(errors),
    }
}

fn amount_problem(page: &Page, typed: &str, error: &AmountError) -> String {
    match error {
        _ if typed.trim().is_empty() => page.t("exchanges-error-amount-empty"),
        AmountError::NotANumber(_) => page.ta("exchanges-error-amount-nan", &[("text", typed.trim())]),
        AmountError::TooPrecise => page.t("exchanges-error-amount-precise"),
        AmountError::OutOfRange => page.t("exchanges-error-amount-range"),
        other => other.to_string(),
    }
}

/// Puts what the household refused next to the field it concerns; `None`
/// for failures of the node itself (shown as an error page).
fn refused_fields(page: &Page, error: &HouseholdError) -> Option<FieldErrors> {
    let mut errors = FieldErrors::default();
    match error {
        HouseholdError::UnknownMember(_) | HouseholdError::AmbiguousMember { .. } => {
            errors.set("counterpart", messages::household_error(error, page.catalog()));
        }
        // `propose_exchange` refuses an exchange with oneself this way.
        HouseholdError::NotAllowed(NotAllowed::ExchangeWithSelf) => {
            errors.set("counterpart", page.t("exchanges-error-self"))
        }
        HouseholdError::CreditLimit { .. } => errors.set("amount", messages::household_error(error, page.catalog())),
        HouseholdError::Store(_) | HouseholdError::Key(_) | HouseholdError::Home(_) | HouseholdError::File { .. } => {
            return None;
        }
        other => errors = FieldErrors::from_error(page, other, |field| (field == "note").then_some("what")),
    }
    Some(errors)
}

// ---------------------------------------------------------------------------
// Amounts as villagers read them

/// `1,50` in French, `1.50` in English.
fn amount_text(page: &Page, amount: Amount) -> String {
    let text = amount.to_string();
    match page.lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

/// A balance with its sign written out: `+2`, `−1,50` (a real minus sign,
/// which screen readers say), `0`.
fn signed_amount(page: &Page, amount: Amount) -> String {
    let magnitude = amount_text(page, Amount(amount.0.saturating_abs()));
    match amount.0 {
        0 => magnitude,
        a if a > 0 => format!("+{magnitude}"),
        _ => format!("\u{2212}{magnitude}"),
    }
}

/// `2 heures`, `1,5 heure`.
fn amount_with_unit(page: &Page, amount: Amount, unit: &str) -> String {
    format!("{} {}", amount_text(page, amount), unit_word(page, unit, amount))
}

/// The community's unit, with the regular plural mark when the amount calls
/// for one: the founder chose the word ("heure", "grain"), so no catalogue
/// knows its plural. French puts the plural from 2 on, English on anything
/// but 1. Words already ending like plurals, and phrases, are left alone.
fn unit_word(page: &Page, unit: &str, amount: Amount) -> String {
    let magnitude = amount.0.saturating_abs();
    let plural = match page.lang {
        Lang::Fr => magnitude >= 200,
        Lang::En => magnitude != 100,
    };
    if plural && !unit.contains(char::is_whitespace) && !unit.ends_with(['s', 'x', 'z']) {
        format!("{unit}s")
    } else {
        unit.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lang: Lang) -> Page {
        Page {
            lang,
            csrf: String::new(),
            here: "/echanges".into(),
        }
    }

    #[test]
    fn amounts_read_with_the_decimal_mark_and_plural_of_the_language() {
        let fr = page(Lang::Fr);
        let en = page(Lang::En);
        assert_eq!(amount_with_unit(&fr, Amount(150), "heure"), "1,50 heure");
        assert_eq!(amount_with_unit(&fr, Amount(200), "heure"), "2 heures");
        assert_eq!(amount_with_unit(&en, Amount(150), "hour"), "1.50 hours");
        assert_eq!(amount_with_unit(&en, Amount(100), "hour"), "1 hour");
        assert_eq!(amount_with_unit(&fr, Amount(300), "pièce d'or"), "3 pièce d'or");
    }

    #[test]
    fn a_negative_balance_carries_a_minus_sign_not_only_a_colour() {
        let fr = page(Lang::Fr);
        assert_eq!(signed_amount(&fr, Amount(-250)), "\u{2212}2,50");
        assert_eq!(signed_amount(&fr, Amount(200)), "+2");
        assert_eq!(signed_amount(&fr, Amount(0)), "0");
    }
}
