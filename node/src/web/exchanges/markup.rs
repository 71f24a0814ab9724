//! The exchanges page's HTML: the overview (the household's exchanges by what they
//! wait for, the others', the balances), one exchange with its history and
//! buttons, and the proposal form.

use maillage_crdt::exchange::ExchangeState;
use maillage_crdt::items::limits;
use maillage_crdt::{Amount, DocKind, HouseholdId};
use maud::{Markup, html};

use super::model::{Action, Bucket, Detail, ExchangeRow, Overview, Party, ProposalContext};
use super::{ProposalForm, amount_text, amount_with_unit, signed_amount};
use crate::web::page::{
    FieldErrors, FieldOptions, Page, PagerText, Paging, Section, document, error_summary, select_field, text_field,
};

// ---------------------------------------------------------------------------
// Overview

pub fn overview(page: &Page, overview: &Overview) -> Markup {
    let title = page.t("exchanges-title");
    let done = &overview.done;
    let others = &overview.others;
    // Each long list keeps the other's page in its links.
    let done_url = |number: usize| pages_url(number, others.paging.number, "termines");
    let others_url = |number: usize| pages_url(done.paging.number, number, "entre-autres");
    let main = html! {
        h1 { (title) }
        p { (page.ta("exchanges-intro", &[("unit", &overview.unit)])) }
        (warning(page, overview.warning))
        p class="toolbar" {
            a class="button" href="/echanges/nouveau" { (page.t("exchanges-propose-link")) }
            a class="button secondary" href="/echanges.csv" download { (page.t("exchanges-csv-link")) }
        }
        (section(page, overview, &TO_DO, &overview.to_do, overview.to_do.len(), html! {}))
        (section(page, overview, &IN_PROGRESS, &overview.in_progress, overview.in_progress.len(), html! {}))
        (section(page, overview, &DONE, &done.rows, done.paging.total, pager(page, "exchanges-pager-done", done.paging, done_url)))
        (section(page, overview, &OTHERS, &others.rows, others.paging.total, pager(page, "exchanges-pager-others", others.paging, others_url)))
        (balances(page, overview))
    };
    document(page, &title, Section::Exchanges, main)
}

/// One list of the overview: its anchor and the ids of its messages.
struct List {
    anchor: &'static str,
    heading: &'static str,
    empty: &'static str,
}

const TO_DO: List = List {
    anchor: "a-traiter",
    heading: "exchanges-todo",
    empty: "exchanges-none-todo",
};
const IN_PROGRESS: List = List {
    anchor: "en-cours",
    heading: "exchanges-in-progress",
    empty: "exchanges-none-in-progress",
};
const DONE: List = List {
    anchor: "termines",
    heading: "exchanges-done",
    empty: "exchanges-none-done",
};
const OTHERS: List = List {
    anchor: "entre-autres",
    heading: "exchanges-others",
    empty: "exchanges-none-others",
};

/// One list of the overview under its heading, which counts all `total` of
/// them when `rows` is one page of a longer list (`pager` below it).
fn section(page: &Page, overview: &Overview, list: &List, rows: &[ExchangeRow], total: usize, pager: Markup) -> Markup {
    let heading_id = format!("{}-titre", list.anchor);
    html! {
        section id=(list.anchor) aria-labelledby=(heading_id) {
            h2 id=(heading_id) { (page.t(list.heading)) " " span class="count" { "(" (total) ")" } }
            @if rows.is_empty() {
                p { (page.t(list.empty)) }
            } @else {
                ul class="cards exchanges" {
                    @for row in rows {
                        (card(page, row, &overview.me, &overview.unit))
                    }
                }
                (pager)
            }
        }
    }
}

/// The overview's address showing page `done` of the finished exchanges and
/// page `others` of the others', scrolled to `anchor`.
fn pages_url(done: usize, others: usize, anchor: &str) -> String {
    let mut query = Vec::new();
    if done > 1 {
        query.push(format!("page={done}"));
    }
    if others > 1 {
        query.push(format!("autres={others}"));
    }
    if query.is_empty() {
        format!("/echanges#{anchor}")
    } else {
        format!("/echanges?{}#{anchor}", query.join("&"))
    }
}

/// The pager of one long list. `list` is the id of the message naming the
/// list (`exchanges-pager-done`): the landmark's name, and said after
/// "next page" to screen readers, since the overview has two pagers.
fn pager(page: &Page, list: &str, paging: Paging, url: impl Fn(usize) -> String) -> Markup {
    let label = page.t(list);
    let link = |words: &str| {
        html! {
            (page.t(words))
            span class="visually-hidden" { " (" (label) ")" }
        }
    };
    let position = page.ta(
        "exchanges-pager-position",
        &[
            ("page", &paging.number.to_string()),
            ("pages", &paging.pages.to_string()),
        ],
    );
    let text = PagerText {
        label: &label,
        previous: link("exchanges-pager-previous"),
        next: link("exchanges-pager-next"),
        position: &position,
    };
    crate::web::page::pager(&text, paging, url)
}

fn card(page: &Page, row: &ExchangeRow, me: &HouseholdId, unit: &str) -> Markup {
    let id = row.id.to_text();
    html! {
        li class="card exchange" data-id=(id) data-state=(row.state.as_str()) {
            h3 { a href={ "/echanges/" (id) } { (what_of(page, row)) } }
            dl class="terms" { (terms(page, row, me, unit)) }
            p class="meta" {
                span class="visually-hidden" { (page.t("exchanges-state")) " " }
                (state_badge(page, row.state))
                " · " (page.ta("exchanges-proposed-on", &[("date", &page.date(row.created_at))]))
            }
            @if row.bucket(me) == Bucket::ToDo {
                p { (expectation(page, row, me)) }
                (buttons(page, row, true))
            }
        }
    }
}

/// Who gives, who receives, how much: the terms and values of a description
/// list, which screen readers announce as such.
fn terms(page: &Page, row: &ExchangeRow, me: &HouseholdId, unit: &str) -> Markup {
    html! {
        dt { (page.t("exchanges-giver")) }
        dd { (party_name(page, row.giver(), me)) }
        dt { (page.t("exchanges-receiver")) }
        dd { (party_name(page, row.receiver(), me)) }
        dt { (page.t("exchanges-amount")) }
        dd { (amount_with_unit(page, row.amount, unit)) }
    }
}

fn balances(page: &Page, overview: &Overview) -> Markup {
    let unit = &overview.unit;
    html! {
        section id="soldes" aria-labelledby="soldes-titre" {
            h2 id="soldes-titre" { (page.t("exchanges-balances")) }
            p { (page.t("exchanges-balances-explain")) }
            table class="balances" {
                caption { (page.ta("exchanges-balances-caption", &[("unit", unit)])) }
                thead {
                    tr {
                        th scope="col" { (page.t("exchanges-col-household")) }
                        th scope="col" class="number" { (page.ta("exchanges-col-balance", &[("unit", unit)])) }
                        th scope="col" { (page.t("exchanges-col-meaning")) }
                    }
                }
                tbody {
                    @for row in &overview.balances {
                        tr class=[(row.household == overview.me).then_some("mine")] {
                            th scope="row" {
                                (row.name)
                                @if row.household == overview.me { " " (page.t("exchanges-you-marker")) }
                            }
                            // The sign is written out (and said in words in the
                            // next column): the colour of a negative balance is
                            // only a reminder.
                            td class={ "number" @if row.balance.0 < 0 { " negative" } } data-balance=(row.balance.to_string()) {
                                (signed_amount(page, row.balance))
                            }
                            td { (page.t(balance_meaning(row.balance))) }
                        }
                    }
                }
            }
        }
    }
}

fn balance_meaning(balance: Amount) -> &'static str {
    match balance.0 {
        0 => "exchanges-balance-zero",
        b if b > 0 => "exchanges-balance-positive",
        _ => "exchanges-balance-negative",
    }
}

// ---------------------------------------------------------------------------
// One exchange

/// `refusal`: why the action just asked for was refused.
pub fn detail(page: &Page, detail: &Detail, refusal: Option<&str>) -> Markup {
    let row = &detail.exchange;
    let me = &detail.me;
    let title = page.ta("exchanges-detail-title", &[("what", &what_of(page, row))]);
    let main = html! {
        h1 { (title) }
        @if let Some(reason) = refusal {
            div class="error-summary" role="alert" tabindex="-1" {
                p { strong { (page.t("exchanges-refused")) } }
                p { (reason) }
            }
        }
        (warning(page, detail.warning))
        dl class="terms" {
            (terms(page, row, me, &detail.unit))
            dt { (page.t("exchanges-what")) }
            dd { @if row.note.is_empty() { (page.t("exchanges-no-note")) } @else { (row.note) } }
            @if let Some(about) = &row.about {
                @if about.kind == DocKind::Request {
                    dt { (page.t("exchanges-about-request")) }
                    dd { a href={ "/demandes/" (about.id.to_text()) } { (about.title) } }
                } @else {
                    dt { (page.t("exchanges-about-offer")) }
                    dd { a href={ "/offres/" (about.id.to_text()) } { (about.title) } }
                }
            }
            dt { (page.t("exchanges-state")) }
            dd class="exchange-state" data-state=(row.state.as_str()) { (state_badge(page, row.state)) }
        }
        section aria-labelledby="que-faire" {
            h2 id="que-faire" { (page.t("exchanges-what-now")) }
            p { (expectation(page, row, me)) }
            @if !row.actions.is_empty() {
                (buttons(page, row, false))
            }
        }
        section aria-labelledby="historique" {
            h2 id="historique" { (page.t("exchanges-history")) }
            ol class="history" {
                @for (time, party, mark) in row.history() {
                    li {
                        time datetime=(iso_time(time)) { (page.time(time)) }
                        " — "
                        (page.ta(&format!("exchanges-history-{}", mark.as_str()), &[("who", &party_name(page, party, me))]))
                    }
                }
            }
        }
        p { a href="/echanges" { (page.t("exchanges-back")) } }
    };
    document(page, &title, Section::Exchanges, main)
}

/// The buttons this household may press, each a small form. On the overview
/// (`from_list`) they come back to the list, and carry the exchange's name
/// for screen readers, who hear many "Accept" buttons in a row.
fn buttons(page: &Page, row: &ExchangeRow, from_list: bool) -> Markup {
    let what = what_of(page, row);
    // Asked to accept, the other household declines rather than cancels:
    // both end the exchange, and two such buttons side by side confuse.
    let shown = row
        .actions
        .iter()
        .filter(|action| !(**action == Action::Cancel && row.actions.contains(&Action::Decline)));
    html! {
        div class="exchange-actions" {
            @for action in shown {
                form method="post" action={ "/echanges/" (row.id.to_text()) "/" (action.slug()) } class="inline"
                    data-confirm=[confirm_question(page, *action)] {
                    (page.csrf_field())
                    @if from_list { input type="hidden" name="back" value="list"; }
                    button type="submit" class=(button_class(*action)) {
                        (page.t(action_label(*action)))
                        @if from_list {
                            span class="visually-hidden" { " " (page.ta("exchanges-action-context", &[("what", &what)])) }
                        }
                    }
                }
            }
        }
    }
}

pub fn action_label(action: Action) -> &'static str {
    match action {
        Action::Accept => "exchanges-action-accept",
        Action::Confirm => "exchanges-action-confirm",
        Action::Decline => "exchanges-action-decline",
        Action::Cancel => "exchanges-action-cancel",
    }
}

fn button_class(action: Action) -> &'static str {
    match action {
        Action::Accept | Action::Confirm => "button",
        Action::Decline => "secondary",
        Action::Cancel => "danger",
    }
}

/// Declining and cancelling cannot be undone: ask first.
fn confirm_question(page: &Page, action: Action) -> Option<String> {
    match action {
        Action::Decline => Some(page.t("exchanges-confirm-decline")),
        Action::Cancel => Some(page.t("exchanges-confirm-cancel")),
        Action::Accept | Action::Confirm => None,
    }
}

/// One sentence saying what is expected of this household, or whom the
/// exchange waits for.
fn expectation(page: &Page, row: &ExchangeRow, me: &HouseholdId) -> String {
    let other = party_name(page, row.other_party(me), me);
    let can = |action: Action| row.actions.contains(&action);
    if !row.involves(me) {
        page.t("exchanges-not-yours")
    } else if can(Action::Accept) {
        page.ta("exchanges-expect-answer", &[("who", &other)])
    } else if can(Action::Confirm) && row.state == ExchangeState::Confirmed {
        page.ta("exchanges-expect-own-confirm", &[("who", &other)])
    } else if can(Action::Confirm) {
        page.t("exchanges-expect-confirm")
    } else if row.state == ExchangeState::Proposed {
        page.ta("exchanges-waiting-answer", &[("who", &other)])
    } else if row.state == ExchangeState::Confirmed {
        page.t("exchanges-counted")
    } else {
        page.t("exchanges-closed")
    }
}

// ---------------------------------------------------------------------------
// The proposal form

pub fn proposal(page: &Page, context: &ProposalContext, values: &ProposalForm, errors: &FieldErrors) -> Markup {
    let title = page.t("exchanges-new-title");
    let unit = &context.unit;
    let mut counterparts = vec![(String::new(), page.t("exchanges-choose-household"))];
    counterparts.extend(context.members.iter().map(|m| (m.id.to_text(), m.name.clone())));
    let directions = [
        (String::new(), page.t("exchanges-choose-direction")),
        ("give".to_owned(), page.t("exchanges-direction-give")),
        ("receive".to_owned(), page.t("exchanges-direction-receive")),
    ];
    let main = html! {
        h1 { (title) }
        p { (page.t("exchanges-new-intro")) }
        @if let Some(item) = &context.item {
            p class="about" {
                @let (message, href) = if item.kind == DocKind::Request {
                    ("exchanges-about-request-of", format!("/demandes/{}", item.id.to_text()))
                } else {
                    ("exchanges-about-offer-of", format!("/offres/{}", item.id.to_text()))
                };
                (page.ta(message, &[("title", &item.title), ("owner", &party_name(page, &item.owner, &context.me))]))
                " "
                a href=(href) { (page.t("exchanges-see-item")) }
            }
        }
        @if context.members.is_empty() {
            p { (page.t("exchanges-no-members")) }
        } @else {
            (error_summary(page, errors))
            // The browser's own checks are off: the server's messages, in the
            // villager's language and next to each field, are the ones shown.
            form method="post" action="/echanges" novalidate {
                (page.csrf_field())
                @if let Some(item) = &context.item {
                    @if item.kind == DocKind::Request {
                        input type="hidden" name="request" value=(item.id.to_text());
                    } @else {
                        input type="hidden" name="offer" value=(item.id.to_text());
                    }
                }
                (select_field(page, "counterpart", &page.t("exchanges-field-counterpart"), &counterparts, &values.counterpart, errors,
                    FieldOptions { required: true, ..FieldOptions::default() }))
                (select_field(page, "direction", &page.t("exchanges-field-direction"), &directions, &values.direction, errors,
                    FieldOptions { required: true, hint: Some(&page.t("exchanges-direction-hint")), ..FieldOptions::default() }))
                (amount_field(page, unit, &values.amount, errors))
                (text_field(page, "what", &page.t("exchanges-field-what"), &values.what, errors,
                    FieldOptions { hint: Some(&page.t("exchanges-what-hint")), max_length: Some(limits::NOTE), ..FieldOptions::default() }))
                button type="submit" { (page.t("exchanges-submit")) }
            }
        }
        p { a href="/echanges" { (page.t("exchanges-back")) } }
    };
    document(page, &title, Section::Exchanges, main)
}

/// The amount, as `text_field` would draw it but with a decimal step (a
/// number input accepts only whole numbers without one).
fn amount_field(page: &Page, unit: &str, value: &str, errors: &FieldErrors) -> Markup {
    let error = errors.get("amount");
    let described_by = if error.is_some() {
        "amount-hint amount-error"
    } else {
        "amount-hint"
    };
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for="amount" {
                (page.ta("exchanges-field-amount", &[("unit", unit)]))
                " " span class="required" aria-hidden="true" { "*" }
            }
            p class="hint" id="amount-hint" { (page.t("exchanges-amount-hint")) }
            @if let Some(error) = error {
                p class="field-error" id="amount-error" {
                    span class="visually-hidden" { (page.t("web-error-prefix")) " " }
                    (error)
                }
            }
            input id="amount" name="amount" type="number" value=(value) min="0" step="0.01" inputmode="decimal"
                required aria-invalid=[error.map(|_| "true")] aria-describedby=(described_by);
        }
    }
}

// ---------------------------------------------------------------------------
// Small pieces

fn warning(page: &Page, warning: Option<(Amount, Amount)>) -> Markup {
    html! {
        @if let Some((standing, soft)) = warning {
            p class="notice" role="status" {
                strong { (page.t("exchanges-warning-label")) }
                " "
                (page.ta("exchanges-soft-limit", &[("balance", &signed_amount(page, standing)), ("limit", &amount_text(page, soft))]))
            }
        }
    }
}

fn state_badge(page: &Page, state: ExchangeState) -> Markup {
    html! { span class={ "badge state-" (state.as_str()) } { (page.catalog().word("state", state.as_str())) } }
}

/// The exchange's name in lists and headings: its note, else the item it
/// answers, else a neutral phrase.
pub fn what_of(page: &Page, row: &ExchangeRow) -> String {
    match (&row.about, row.note.is_empty()) {
        (_, false) => row.note.clone(),
        (Some(about), true) => about.title.clone(),
        (None, true) => page.t("exchanges-untitled"),
    }
}

/// A household's name, or "you (name)" for this household.
fn party_name(page: &Page, party: &Party, me: &HouseholdId) -> String {
    if &party.id == me {
        page.ta("exchanges-you", &[("name", &party.name)])
    } else {
        party.name.clone()
    }
}

fn iso_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::balance_meaning;
    use maillage_crdt::Amount;

    #[test]
    fn a_balance_is_described_in_words_not_only_by_its_colour() {
        assert_eq!(balance_meaning(Amount(-150)), "exchanges-balance-negative");
        assert_eq!(balance_meaning(Amount(0)), "exchanges-balance-zero");
        assert_eq!(balance_meaning(Amount(200)), "exchanges-balance-positive");
    }
}
