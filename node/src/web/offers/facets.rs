//! The choices of the list's category and place menus: the values the
//! community's items actually use. Finding them reads every summary of one
//! kind, so the answer is remembered until the store changes (see
//! [`super::remembered`]).

use std::cell::RefCell;
use std::collections::BTreeMap;

use maillage_crdt::items::search_fold;

use super::Side;
use super::remembered::{self, StoreState};
use crate::household::{Household, HouseholdError};
use crate::store::Query;

/// At most this many choices per menu: the most used ones. A village has a
/// few dozen categories and hamlets; a long tail of one-off spellings would
/// only make the menu unusable.
const MOST_USED: usize = 100;

/// The values one kind's items use, each menu sorted alphabetically.
#[derive(Clone, Debug, Default)]
pub struct Facets {
    pub categories: Vec<String>,
    pub places: Vec<String>,
}

/// The menus' choices for `side` in the household's current community.
pub fn of(household: &Household, state: StoreState, side: Side) -> Result<Facets, HouseholdError> {
    remembered::facets(state, side.kind(), || walk(household, side))
}

/// Reads every shown item of `side`, closed ones included, counting the
/// values of each menu. Places differing only by case or accents count as
/// one, shown as first seen.
fn walk(household: &Household, side: Side) -> Result<Facets, HouseholdError> {
    let categories: RefCell<BTreeMap<String, usize>> = RefCell::default();
    let places: RefCell<BTreeMap<String, (String, usize)>> = RefCell::default();
    let query = Query {
        kind: Some(side.kind()),
        ..Query::default()
    };
    // Keeps nothing: the closure only counts.
    household.list_where(query, None, true, |summary| {
        *categories.borrow_mut().entry(summary.category.clone()).or_default() += 1;
        if let Some(place) = &summary.place {
            places
                .borrow_mut()
                .entry(search_fold(place))
                .or_insert_with(|| (place.clone(), 0))
                .1 += 1;
        }
        false
    })?;
    let categories = most_used(categories.into_inner().into_iter().collect());
    let places = most_used(places.into_inner().into_values().collect());
    Ok(Facets { categories, places })
}

/// The `MOST_USED` most frequent values, alphabetically.
fn most_used(mut counted: Vec<(String, usize)>) -> Vec<String> {
    counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counted.truncate(MOST_USED);
    let mut values: Vec<String> = counted.into_iter().map(|(value, _)| value).collect();
    values.sort_by_key(|value| search_fold(value));
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menus_keep_the_most_used_values_in_alphabetical_order() {
        let mut counted: Vec<(String, usize)> = (0..MOST_USED + 20).map(|i| (format!("rare {i:03}"), 1)).collect();
        counted.push(("Église".to_owned(), 5));
        counted.push(("bourg".to_owned(), 3));
        let menu = most_used(counted);
        assert_eq!(menu.len(), MOST_USED);
        assert_eq!(
            &menu[..2],
            ["bourg", "Église"],
            "accents do not push a place to the end"
        );
    }
}
