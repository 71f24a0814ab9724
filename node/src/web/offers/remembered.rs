//! What the list remembers between requests: answers that need a walk of
//! every summary of a kind (the menus' choices, the number of matches),
//! which is the slow part of a list with thousands of items. A page of 50
//! alone reads about 50 summaries.
//!
//! An answer is kept for one store's contents at one moment: the store's
//! revision counter grows on every ingest, local or from a peer, so the
//! first request after any change walks again, once for both answers (see
//! [`super::list`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use maillage_crdt::{CommunityId, DocKind};

use super::facets::Facets;
use crate::household::{Household, HouseholdError};

/// Answers kept at once, all stores of the process together (tests run
/// several households in one process); past it everything is forgotten.
const CAPACITY: usize = 256;

/// How long a count stays true without any change to the store: items
/// expire with the clock, not only with changes.
const COUNT_LIFETIME: Duration = Duration::from_secs(30);

/// One store's contents, as seen from one community, at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StoreState {
    /// The revision counter is one `Arc` per open store, so its address
    /// tells the stores of one process apart.
    store: usize,
    community: CommunityId,
    revision: u64,
}

impl StoreState {
    pub fn of(household: &Household) -> Result<StoreState, HouseholdError> {
        let counter = household.store().revision();
        Ok(StoreState {
            store: Arc::as_ptr(&counter) as usize,
            community: household.current_community()?,
            revision: counter.load(Ordering::Acquire),
        })
    }
}

/// Answers by the store state they were computed in.
struct Memory<K, V> {
    entries: Mutex<HashMap<(StoreState, K), (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> Memory<K, V> {
    fn new() -> Self {
        Memory {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, state: StoreState, key: K, lifetime: Option<Duration>) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (value, at) = entries.get(&(state, key))?;
        lifetime
            .is_none_or(|lifetime| at.elapsed() < lifetime)
            .then(|| value.clone())
    }

    fn put(&self, state: StoreState, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Answers about this store's earlier contents are of no use any more.
        entries.retain(|(old, _), _| old.store != state.store || old.revision == state.revision);
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert((state, key), (value, Instant::now()));
    }
}

static FACETS: LazyLock<Memory<DocKind, Facets>> = LazyLock::new(Memory::new);
static COUNTS: LazyLock<Memory<String, usize>> = LazyLock::new(Memory::new);

/// The menus' choices of `kind`, if found in this store state.
pub fn facets(state: StoreState, kind: DocKind) -> Option<Facets> {
    FACETS.get(state, kind, None)
}

pub fn remember_facets(state: StoreState, kind: DocKind, facets: Facets) {
    FACETS.put(state, kind, facets);
}

/// The number of items matching `filters` (a canonical text of the list's
/// kind and filters), if counted recently in this store state.
pub fn count(state: StoreState, filters: &str) -> Option<usize> {
    COUNTS.get(state, filters.to_owned(), Some(COUNT_LIFETIME))
}

pub fn remember_count(state: StoreState, filters: String, count: usize) {
    COUNTS.put(state, filters, count);
}
