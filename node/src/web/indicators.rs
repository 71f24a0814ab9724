//! Indicateurs: what circulates in the community, what it has and what it
//! lacks (DESIGN §2), computed by this node from the data it holds
//! (`Household::indicators`, the same numbers as `maillage stats`).
//!
//! ```text
//! GET /indicateurs    key figures, and one chart per indicator
//! ```
//!
//! Every chart is a `<figure class="chart" data-indicator="NAME">` with its
//! caption, an SVG image labelled with a summary, and the same numbers in a
//! table for screen readers and for copying.

mod chart;

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::ToSpan;
use maillage_crdt::Amount;
use maillage_crdt::indicators::Indicators;
use maud::{Markup, html};

use super::WebState;
use super::page::{Page, Section, WebError, document};
use crate::household::HouseholdError;
use crate::i18n::Lang;
use chart::Bar;

/// Months shown in the monthly charts, the current one last.
const MONTHS_SHOWN: i64 = 12;
/// Items named in a chart's spoken summary; the table has them all.
const SUMMARY_ITEMS: usize = 12;

pub fn routes() -> Router<WebState> {
    Router::new().route("/indicateurs", get(show))
}

/// The indicators with what the page needs to word them.
#[derive(Debug)]
struct Numbers {
    community: String,
    unit: String,
    indicators: Indicators,
}

async fn show(State(state): State<WebState>, page: Page) -> Result<Response, WebError> {
    let numbers = state
        .read(|household| {
            let indicators = household.indicators()?;
            let community = household.community()?;
            Ok(Numbers {
                community: community.genesis.name.clone(),
                unit: community.genesis.unit.clone(),
                indicators,
            })
        })
        .await;
    let numbers = match numbers {
        Ok(numbers) => numbers,
        Err(HouseholdError::NoCommunity) => return Ok(no_community(&page)),
        Err(error) => return Err(page.fail(error)),
    };
    let title = page.ta("indicators-title", &[("name", &numbers.community)]);
    let months = recent_months(jiff::Zoned::now().date());
    let main = html! {
        h1 { (title) }
        p { (page.t("indicators-intro")) }
        (key_figures(&page, &numbers.indicators))
        section aria-labelledby="items-title" {
            h2 id="items-title" { (page.t("indicators-items")) }
            (by_category(&page, "offers-by-category", &numbers.indicators.open_offers_by_category, "offers"))
            (by_category(&page, "requests-by-category", &numbers.indicators.open_requests_by_category, "requests"))
            (fulfilled(&page, &numbers.indicators))
        }
        (has_and_lacks(&page, &numbers.indicators))
        section aria-labelledby="exchanges-title" {
            h2 id="exchanges-title" { (page.t("indicators-exchanges")) }
            (exchanges_by_month(&page, &numbers.indicators, &months))
            (volume_by_month(&page, &numbers, &months))
        }
    };
    Ok(document(&page, &title, Section::Indicators, main).into_response())
}

fn no_community(page: &Page) -> Response {
    let title = page.t("indicators-none-title");
    let main = html! {
        h1 { (title) }
        p { (page.t("indicators-none")) }
    };
    document(page, &title, Section::Indicators, main).into_response()
}

fn key_figures(page: &Page, indicators: &Indicators) -> Markup {
    let percent = indicators
        .fulfilled_percent
        .map(|percent| format!("{percent} %"))
        .unwrap_or_else(|| "—".to_owned());
    let figures = [
        (indicators.members.to_string(), page.t("indicators-members")),
        (indicators.active_households.to_string(), page.t("indicators-active")),
        (percent, page.t("indicators-fulfilled-share")),
        (indicators.events.to_string(), page.t("indicators-events")),
        (indicators.attendance.to_string(), page.t("indicators-attendance")),
    ];
    html! {
        section aria-labelledby="key-figures-title" {
            h2 id="key-figures-title" { (page.t("indicators-key-figures")) }
            ul class="key-figures" {
                @for (number, label) in &figures {
                    li class="card" {
                        span class="figure" { (number) }
                        " "
                        span class="figure-label" { (label) }
                    }
                }
            }
        }
    }
}

/// A chart's figure: caption, drawing, and the numbers in a table. With
/// nothing to draw, a sentence says so instead.
struct Figure<'a> {
    name: &'a str,
    caption: String,
    /// The two column headings of the table.
    heads: (String, String),
    bars: Vec<Bar>,
    /// The drawing, `None` when there is nothing to draw.
    drawing: Option<Markup>,
    empty: String,
}

fn figure(page: &Page, figure: Figure<'_>) -> Markup {
    html! {
        figure class="chart" data-indicator=(figure.name) {
            figcaption { (figure.caption) }
            @match figure.drawing {
                Some(drawing) => {
                    (drawing)
                    details {
                        summary { (page.t("indicators-show-numbers")) }
                        table {
                            thead {
                                tr {
                                    th scope="col" { (figure.heads.0) }
                                    th scope="col" class="number" { (figure.heads.1) }
                                }
                            }
                            tbody {
                                @for bar in &figure.bars {
                                    tr {
                                        th scope="row" { (bar.label.replace('\n', " ")) }
                                        td class="number" { (bar.shown) }
                                    }
                                }
                            }
                        }
                    }
                }
                None => { p class="meta" { (figure.empty) } }
            }
        }
    }
}

fn category_label(page: &Page, category: &str) -> String {
    if category.trim().is_empty() {
        page.t("indicators-no-category")
    } else {
        category.to_owned()
    }
}

/// "jardin (3), bricolage (1)" for a chart's spoken summary.
fn spoken_list(bars: &[Bar]) -> String {
    let mut items: Vec<String> = bars
        .iter()
        .take(SUMMARY_ITEMS)
        .map(|bar| format!("{} ({})", bar.label.replace('\n', " "), bar.shown))
        .collect();
    if bars.len() > SUMMARY_ITEMS {
        items.push("…".to_owned());
    }
    items.join(", ")
}

/// Open offers or requests (`which`) per category, the most common first.
fn by_category(page: &Page, name: &str, counts: &std::collections::BTreeMap<String, usize>, which: &str) -> Markup {
    let mut sorted: Vec<(&String, &usize)> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let bars: Vec<Bar> = sorted
        .into_iter()
        .map(|(category, count)| Bar {
            label: category_label(page, category),
            value: *count as f64,
            shown: count.to_string(),
        })
        .collect();
    let caption = page.t(&format!("indicators-{which}-caption"));
    let summary = page.ta(&format!("indicators-{which}-summary"), &[("list", &spoken_list(&bars))]);
    let drawing = (!bars.is_empty()).then(|| chart::horizontal_bars(&bars, &summary));
    figure(
        page,
        Figure {
            name,
            caption,
            heads: (
                page.t("indicators-category"),
                page.t(&format!("indicators-{which}-count")),
            ),
            bars,
            drawing,
            empty: page.t(&format!("indicators-{which}-none")),
        },
    )
}

fn fulfilled(page: &Page, indicators: &Indicators) -> Markup {
    let done = indicators.requests_fulfilled;
    let total = indicators.requests_total;
    let percent = indicators.fulfilled_percent.unwrap_or(0).to_string();
    let sentence = page.ta(
        "indicators-fulfilled-sentence",
        &[
            ("done", &done.to_string()),
            ("total", &total.to_string()),
            ("percent", &percent),
        ],
    );
    let bars = vec![
        Bar {
            label: page.t("indicators-fulfilled-done"),
            value: done as f64,
            shown: done.to_string(),
        },
        Bar {
            label: page.t("indicators-fulfilled-total"),
            value: total as f64,
            shown: total.to_string(),
        },
    ];
    let drawing = (total > 0).then(|| chart::share(done, total, &sentence, &sentence));
    figure(
        page,
        Figure {
            name: "requests-fulfilled",
            caption: page.t("indicators-fulfilled-caption"),
            heads: (page.t("indicators-requests"), page.t("indicators-number")),
            bars,
            drawing,
            empty: page.t("indicators-fulfilled-none"),
        },
    )
}

fn has_and_lacks(page: &Page, indicators: &Indicators) -> Markup {
    html! {
        section aria-labelledby="has-lacks-title" {
            h2 id="has-lacks-title" { (page.t("indicators-has-lacks")) }
            div class="has-lacks" {
                div data-indicator="has" {
                    h3 { (page.t("indicators-has")) }
                    @if indicators.has.is_empty() {
                        p class="meta" { (page.t("indicators-has-none")) }
                    } @else {
                        ul {
                            @for category in &indicators.has {
                                @let count = indicators.open_offers_by_category.get(category).copied().unwrap_or(0);
                                li {
                                    strong { (category_label(page, category)) }
                                    " — " (page.ta("indicators-has-count", &[("count", &count.to_string())]))
                                }
                            }
                        }
                    }
                }
                div data-indicator="lacks" {
                    h3 { (page.t("indicators-lacks")) }
                    @if indicators.lacks.is_empty() {
                        p class="meta" { (page.t("indicators-lacks-none")) }
                    } @else {
                        p { (page.t("indicators-lacks-explain")) }
                        ul {
                            @for category in &indicators.lacks {
                                @let count = indicators.open_requests_by_category.get(category).copied().unwrap_or(0);
                                li {
                                    strong { (category_label(page, category)) }
                                    " — " (page.ta("indicators-lacks-count", &[("count", &count.to_string())]))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The last `MONTHS_SHOWN` months as "2026-11", oldest first, in the form
/// `Household::indicators` labels months with.
fn recent_months(today: jiff::civil::Date) -> Vec<String> {
    let first = today.first_of_month();
    (0..MONTHS_SHOWN)
        .rev()
        .filter_map(|back| first.checked_sub(back.months()).ok())
        .map(|month| month.strftime("%Y-%m").to_string())
        .collect()
}

/// The months to list: the recent ones, and any older one with exchanges.
fn months_to_list(indicators: &Indicators, recent: &[String]) -> Vec<String> {
    let mut months: BTreeSet<String> = recent.iter().cloned().collect();
    months.extend(indicators.exchanges_by_month.keys().cloned());
    months.into_iter().collect()
}

/// "nov." with the year under it for January and the first column.
fn month_label(page: &Page, month: &str, first: bool) -> String {
    let (year, number) = month.split_once('-').unwrap_or((month, ""));
    let number = number.trim_start_matches('0');
    let name = page.t(&format!("indicators-month-{number}"));
    if first || number == "1" {
        format!("{name}\n{year}")
    } else {
        name
    }
}

/// An amount as the villager's language writes it ("12,5" in French).
fn amount_text(page: &Page, amount: Amount) -> String {
    let text = amount.to_string();
    match page.lang {
        Lang::Fr => text.replace('.', ","),
        Lang::En => text,
    }
}

fn exchanges_by_month(page: &Page, indicators: &Indicators, recent: &[String]) -> Markup {
    let count_of = |month: &str| indicators.exchanges_by_month.get(month).map_or(0, |(count, _)| *count);
    let drawn: Vec<Bar> = recent
        .iter()
        .enumerate()
        .map(|(index, month)| Bar {
            label: month_label(page, month, index == 0),
            value: count_of(month) as f64,
            shown: count_of(month).to_string(),
        })
        .collect();
    let listed = months_to_list(indicators, recent);
    let bars: Vec<Bar> = listed
        .iter()
        .map(|month| Bar {
            label: month_label(page, month, true),
            value: count_of(month) as f64,
            shown: count_of(month).to_string(),
        })
        .collect();
    let in_window: usize = recent.iter().map(|month| count_of(month)).sum();
    let summary = page.ta(
        "indicators-exchanges-summary",
        &[("total", &in_window.to_string()), ("list", &spoken_list(&drawn))],
    );
    let any = !indicators.exchanges_by_month.is_empty();
    figure(
        page,
        Figure {
            name: "exchanges-by-month",
            caption: page.t("indicators-exchanges-caption"),
            heads: (page.t("indicators-month"), page.t("indicators-exchanges-count")),
            bars,
            drawing: any.then(|| chart::columns(&drawn, &summary)),
            empty: page.t("indicators-exchanges-none"),
        },
    )
}

fn volume_by_month(page: &Page, numbers: &Numbers, recent: &[String]) -> Markup {
    let indicators = &numbers.indicators;
    let volume_of = |month: &str| {
        indicators
            .exchanges_by_month
            .get(month)
            .map_or(Amount(0), |(_, volume)| *volume)
    };
    let bar = |month: &String, first: bool| {
        let volume = volume_of(month);
        Bar {
            label: month_label(page, month, first),
            value: volume.0 as f64 / 100.0,
            shown: amount_text(page, volume),
        }
    };
    let drawn: Vec<Bar> = recent
        .iter()
        .enumerate()
        .map(|(index, month)| bar(month, index == 0))
        .collect();
    let bars: Vec<Bar> = months_to_list(indicators, recent)
        .iter()
        .map(|month| bar(month, true))
        .collect();
    let total = Amount(recent.iter().map(|month| volume_of(month).0).sum());
    let summary = page.ta(
        "indicators-volume-summary",
        &[
            ("total", &amount_text(page, total)),
            ("unit", &numbers.unit),
            ("list", &spoken_list(&drawn)),
        ],
    );
    let any = !indicators.exchanges_by_month.is_empty();
    figure(
        page,
        Figure {
            name: "volume-by-month",
            caption: page.ta("indicators-volume-caption", &[("unit", &numbers.unit)]),
            heads: (
                page.t("indicators-month"),
                page.ta("indicators-volume-count", &[("unit", &numbers.unit)]),
            ),
            bars,
            drawing: any.then(|| chart::columns(&drawn, &summary)),
            empty: page.t("indicators-exchanges-none"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_months_end_with_this_month_and_cross_the_year() {
        let months = recent_months(jiff::civil::date(2026, 2, 17));
        assert_eq!(months.len(), 12);
        assert_eq!(months.first().map(String::as_str), Some("2025-03"));
        assert_eq!(months.last().map(String::as_str), Some("2026-02"));
        assert!(months.contains(&"2026-01".to_owned()));
    }
}
