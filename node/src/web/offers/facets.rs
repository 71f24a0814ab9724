//! The choices of the list's category and place menus: the values the
//! community's items actually use. Finding them reads every summary of one
//! kind, so the list counts them during the walk that also counts its
//! matches (see [`super::list`]), and the answer is remembered until the
//! store changes (see [`super::remembered`]).

use std::collections::HashMap;

use maillage_crdt::items::search_fold;

use crate::summary::Summary;

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

/// The menus' values counted over every shown item of one kind, closed ones
/// included, one summary at a time.
///
/// Values are counted as spelt, and places folded only once the walk is
/// over: a village has a handful of spellings for thousands of items, so
/// most summaries cost a lookup, with no allocation and no Unicode folding.
#[derive(Debug, Default)]
pub struct Tally {
    categories: HashMap<String, usize>,
    /// Each place as spelt: how many items use it, and the position of the
    /// first one in the walk.
    places: HashMap<String, (usize, usize)>,
    counted: usize,
}

impl Tally {
    pub fn add(&mut self, summary: &Summary) {
        count(&mut self.categories, &summary.category, |count| *count += 1, || 1);
        if let Some(place) = &summary.place {
            let position = self.counted;
            count(&mut self.places, place, |(count, _)| *count += 1, || (1, position));
        }
        self.counted += 1;
    }

    /// The menus' choices. Places differing only by case or accents count
    /// as one, shown as spelt by the first item of the walk using them.
    pub fn facets(self) -> Facets {
        // Folded place → (shown spelling, its first position, items).
        let mut places: HashMap<String, (String, usize, usize)> = HashMap::new();
        for (spelling, (count, first)) in self.places {
            let merged = places
                .entry(search_fold(&spelling))
                .or_insert_with(|| (String::new(), usize::MAX, 0));
            if first < merged.1 {
                (merged.0, merged.1) = (spelling, first);
            }
            merged.2 += count;
        }
        Facets {
            categories: most_used(self.categories.into_iter().collect()),
            places: most_used(places.into_values().map(|(shown, _, count)| (shown, count)).collect()),
        }
    }
}

/// Bumps `value`'s entry, allocating its key only the first time it is seen.
fn count<V>(counts: &mut HashMap<String, V>, value: &str, bump: impl FnOnce(&mut V), first: impl FnOnce() -> V) {
    match counts.get_mut(value) {
        Some(entry) => bump(entry),
        None => {
            counts.insert(value.to_owned(), first());
        }
    }
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
    use maillage_crdt::{DocId, DocKind, HouseholdId};

    use super::*;

    fn summary(category: &str, place: Option<&str>) -> Summary {
        Summary {
            id: DocId([0; 32]),
            kind: DocKind::Offer,
            community: None,
            owner: HouseholdId([0; 32]),
            title: "Pommes".into(),
            category: category.into(),
            state: "open".into(),
            offer_kind: None,
            place: place.map(str::to_owned),
            created_at: 0,
            updated_at: 0,
            until: None,
            start: None,
            search: String::new(),
            deleted: false,
            valid: true,
        }
    }

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

    #[test]
    fn places_spelt_differently_are_one_choice_spelt_as_first_seen() {
        let mut tally = Tally::default();
        for (category, place) in [
            ("jardin", Some("La Combe")),
            ("outils", Some("le bourg")),
            ("jardin", None),
            ("jardin", Some("LA COMBE")),
            ("outils", Some("Le Bourg")),
            ("cuisine", Some("la combe")),
        ] {
            tally.add(&summary(category, place));
        }
        let facets = tally.facets();
        assert_eq!(facets.categories, ["cuisine", "jardin", "outils"]);
        assert_eq!(facets.places, ["La Combe", "le bourg"]);
    }
}
