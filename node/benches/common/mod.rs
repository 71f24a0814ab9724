//! What the benchmarks share: a small seeded generator and the words,
//! categories and places their offers are made of, so every run writes the
//! same bytes.
#![allow(dead_code)] // each benchmark uses a part of it

use automerge::ActorId;
use maillage_crdt::items::{Offer, OfferKind, OfferState};

/// 2026-01-01T00:00:00Z: every time in the benchmarks is derived from it.
pub const BASE_MS: i64 = 1_767_225_600_000;

pub const CATEGORIES: [&str; 12] = [
    "outils",
    "jardin",
    "cuisine",
    "livres",
    "vêtements",
    "enfants",
    "transport",
    "bricolage",
    "informatique",
    "animaux",
    "musique",
    "divers",
];
pub const PLACES: [&str; 8] = [
    "le bourg",
    "la Croix-Blanche",
    "les Forges",
    "le Moulin d'en bas",
    "la Gare",
    "Chez Gaudin",
    "les Écoles",
    "la Rivière",
];
pub const WORDS: [&str; 32] = [
    "prête",
    "bêche",
    "vélo",
    "confiture",
    "récolte",
    "voisin",
    "samedi",
    "matin",
    "atelier",
    "échelle",
    "pommes",
    "courge",
    "tondeuse",
    "perceuse",
    "semis",
    "graines",
    "bois",
    "chaises",
    "table",
    "livre",
    "manteau",
    "poussette",
    "chèvre",
    "poules",
    "guitare",
    "ordinateur",
    "réparation",
    "covoiturage",
    "marché",
    "soupe",
    "laine",
    "panier",
];

/// splitmix64: a small seeded generator, so every run writes the same bytes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn bytes<const L: usize>(&mut self) -> [u8; L] {
        let mut out = [0; L];
        for chunk in out.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        out
    }

    pub fn words(&mut self, target_chars: usize) -> String {
        let mut text = String::new();
        while text.chars().count() < target_chars {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(WORDS[self.below(WORDS.len())]);
        }
        text
    }

    pub fn actor(&mut self) -> ActorId {
        ActorId::from(self.bytes::<16>().as_slice())
    }
}

/// The body of offer number `i`: ≈320 bytes of text, categories in turn.
pub fn offer_body(i: usize, rng: &mut Rng) -> Offer {
    let now = BASE_MS + i as i64 * 60_000;
    let kind = [OfferKind::Give, OfferKind::Lend, OfferKind::Service, OfferKind::Sell][rng.below(4)];
    Offer {
        title: rng.words(40),
        description: rng.words(250),
        category: CATEGORIES[i % CATEGORIES.len()].into(),
        kind,
        place: Some(PLACES[rng.below(PLACES.len())].into()),
        price: (kind == OfferKind::Sell).then_some(500),
        until: None,
        state: OfferState::Open,
        ride: None,
        group_buy: None,
        created_at: now,
        updated_at: now,
        deleted: false,
    }
}
