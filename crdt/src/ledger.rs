//! Balances, derived from confirmed exchanges only.
//!
//! Mutual credit: every confirmed exchange credits its provider and debits
//! its receiver by the same amount, so the balances of a community always sum
//! to zero. Each exchange is counted once, by its document id, however many
//! confirmations it carries.

use std::collections::{BTreeMap, BTreeSet};

use crate::header::DocHeader;
use crate::ids::{DocId, HouseholdId};
use crate::money::Amount;

/// An exchange as the ledger sees it.
#[derive(Clone, Debug)]
pub struct LedgerEntry {
    pub id: DocId,
    pub header: DocHeader,
    pub confirmed: bool,
}

/// Balances of every household that took part in a confirmed exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    pub by_household: BTreeMap<HouseholdId, Amount>,
    /// How many distinct exchanges were counted.
    pub exchanges: usize,
}

impl Balances {
    pub fn of(&self, household: &HouseholdId) -> Amount {
        self.by_household.get(household).copied().unwrap_or_default()
    }

    /// Always zero; kept as a function so tests and the stats can check it.
    pub fn total(&self) -> i64 {
        self.by_household.values().map(|a| a.0).sum()
    }
}

/// Folds confirmed exchanges into balances.
pub fn balances<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Balances {
    let mut counted = BTreeSet::new();
    let mut balances = Balances::default();
    for entry in entries {
        let Some(terms) = entry.header.terms.as_ref() else {
            continue;
        };
        if !entry.confirmed || !counted.insert(entry.id) {
            continue;
        }
        let receiver = terms.receiver(&entry.header.owner);
        // Amounts are bounded by MAX_AMOUNT, so these sums cannot overflow
        // for any realistic number of exchanges; saturate rather than wrap.
        let credit = balances.by_household.entry(terms.provider).or_default();
        credit.0 = credit.0.saturating_add(terms.amount.0);
        let debit = balances.by_household.entry(receiver).or_default();
        debit.0 = debit.0.saturating_sub(terms.amount.0);
        balances.exchanges += 1;
    }
    balances
}

/// Whether a debit of `amount` would take `balance` past the hard limit.
pub fn exceeds_limit(balance: Amount, amount: Amount, hard_limit: Option<Amount>) -> bool {
    hard_limit.is_some_and(|limit| balance.0.saturating_sub(amount.0) < limit.0.saturating_neg())
}
