//! Indicators (DESIGN §2), computed locally from replicated data: what
//! circulates in a community, what it has and what it lacks.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::header::DocKind;
use crate::ids::HouseholdId;
use crate::money::Amount;

/// The facts about one document the indicators need.
#[derive(Clone, Debug)]
pub struct Fact {
    pub kind: DocKind,
    pub owner: HouseholdId,
    pub category: String,
    /// Stored state, or `expired` when past its date.
    pub state: String,
    pub updated_at: i64,
    /// For an exchange, its amount and confirmation time.
    pub amount: Option<Amount>,
    pub confirmed_at: Option<i64>,
}

/// What the indicators page and `maillage stats` show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Indicators {
    pub members: usize,
    /// Households that posted or changed something in the last 90 days.
    pub active_households: usize,
    pub open_offers_by_category: BTreeMap<String, usize>,
    pub open_requests_by_category: BTreeMap<String, usize>,
    pub requests_total: usize,
    pub requests_fulfilled: usize,
    /// Fulfilled requests per hundred requests (closed or open, withdrawn excluded).
    pub fulfilled_percent: Option<u32>,
    /// Confirmed exchanges per month ("2026-11") and their volume.
    pub exchanges_by_month: BTreeMap<String, (usize, Amount)>,
    pub events: usize,
    /// Households that answered "yes" to an event.
    pub attendance: usize,
    /// Categories with open offers: what the territory has.
    pub has: Vec<String>,
    /// Categories with open requests and no open offer: what it lacks.
    pub lacks: Vec<String>,
}

const ACTIVE_WINDOW_MS: i64 = 90 * 24 * 3600 * 1000;

/// Computes the indicators. `month_of` turns a Unix ms time into a month
/// label; it is passed in because this crate has no clock or time zone.
pub fn compute(members: usize, facts: &[Fact], now_ms: i64, month_of: impl Fn(i64) -> String) -> Indicators {
    let mut indicators = Indicators {
        members,
        ..Indicators::default()
    };
    let mut active = BTreeSet::new();
    for fact in facts {
        if now_ms - fact.updated_at <= ACTIVE_WINDOW_MS {
            active.insert(fact.owner);
        }
        match fact.kind {
            DocKind::Offer if fact.state == "open" => {
                *indicators
                    .open_offers_by_category
                    .entry(fact.category.clone())
                    .or_default() += 1;
            }
            DocKind::Request => {
                if fact.state != "withdrawn" {
                    indicators.requests_total += 1;
                }
                if fact.state == "fulfilled" {
                    indicators.requests_fulfilled += 1;
                }
                if fact.state == "open" {
                    *indicators
                        .open_requests_by_category
                        .entry(fact.category.clone())
                        .or_default() += 1;
                }
            }
            DocKind::Event if fact.state != "cancelled" => indicators.events += 1,
            DocKind::Rsvp if fact.state == "yes" => indicators.attendance += 1,
            DocKind::Exchange => {
                if let (Some(at), Some(amount)) = (fact.confirmed_at, fact.amount) {
                    let entry = indicators
                        .exchanges_by_month
                        .entry(month_of(at))
                        .or_insert((0, Amount(0)));
                    entry.0 += 1;
                    entry.1.0 += amount.0;
                }
            }
            _ => {}
        }
    }
    indicators.active_households = active.len();
    indicators.fulfilled_percent = (indicators.requests_fulfilled * 100)
        .checked_div(indicators.requests_total)
        .map(|percent| percent as u32);
    indicators.has = indicators.open_offers_by_category.keys().cloned().collect();
    indicators.lacks = indicators
        .open_requests_by_category
        .keys()
        .filter(|category| !indicators.open_offers_by_category.contains_key(*category))
        .cloned()
        .collect();
    indicators
}
