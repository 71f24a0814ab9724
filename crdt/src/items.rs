//! The typed bodies of documents, mapped onto automerge with autosurgeon,
//! and the validation every write goes through, wherever it comes from.
//!
//! Each document keeps its body flat at the automerge root: one key per field.
//! Two devices of a household that edit different fields concurrently both
//! keep their edit; concurrent edits of one field resolve by automerge's
//! deterministic rule. Exchanges are different and live in
//! [`crate::exchange`].

use autosurgeon::{Hydrate, HydrateError, Reconcile};
use serde::{Deserialize, Serialize};

/// Declares a closed set of values stored in documents as short strings, with
/// parsing, printing, serde and automerge mapping.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let wanted = text.trim().to_lowercase().replace('_', "-");
                $name::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| ValidationError {
                    field: stringify!($name),
                    problem: Problem::NotOneOf {
                        found: text.to_owned(),
                        expected: $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    },
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
                reconciler.str(self.as_str())
            }
        }

        impl Hydrate for $name {
            fn hydrate_string(text: &str) -> Result<Self, HydrateError> {
                text.parse().map_err(|_| HydrateError::unexpected(stringify!($name), text.to_owned()))
            }
        }
    };
}

string_enum!(
    /// What an offer proposes.
    OfferKind { Give = "give", Lend = "lend", Sell = "sell", Service = "service", Space = "space", Ride = "ride", GroupBuy = "group-buy" }
);
string_enum!(
    /// The lifecycle of an offer (DESIGN §2). `expired` is not stored: it is
    /// derived from `until` and the current time.
    OfferState { Open = "open", Promised = "promised", Done = "done", Withdrawn = "withdrawn" }
);
string_enum!(
    /// The lifecycle of a request.
    RequestState { Open = "open", Matched = "matched", Fulfilled = "fulfilled", Withdrawn = "withdrawn" }
);
string_enum!(
    /// A household's answer to an event.
    RsvpAnswer { Yes = "yes", No = "no", Maybe = "maybe" }
);

/// Limits on what people type. Generous for villagers, small enough that a
/// hostile peer cannot bloat every node.
pub mod limits {
    pub const TITLE: usize = 120;
    pub const DESCRIPTION: usize = 4000;
    pub const CATEGORY: usize = 40;
    pub const PLACE: usize = 80;
    pub const NAME: usize = 80;
    pub const NOTE: usize = 500;
    pub const SEATS: i64 = 50;
}

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    Empty,
    TooLong { max: usize, found: usize },
    NotOneOf { found: String, expected: String },
    Required,
    OutOfRange { min: i64, max: i64 },
    EndBeforeStart,
    ControlCharacters,
    Transition { from: String, to: String },
    Other(String),
}

/// A field that failed validation. `field` is the field's name in the
/// document, so a form can show the message next to the right input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    pub field: &'static str,
    pub problem: Problem,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Empty => f.write_str("must not be empty"),
            Problem::TooLong { max, found } => write!(f, "is {found} characters long, the limit is {max}"),
            Problem::NotOneOf { found, expected } => write!(f, "{found:?} is not one of: {expected}"),
            Problem::Required => f.write_str("is required"),
            Problem::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Problem::EndBeforeStart => f.write_str("the end comes before the start"),
            Problem::ControlCharacters => f.write_str("contains control characters"),
            Problem::Transition { from, to } => write!(f, "cannot go from {from} to {to}"),
            Problem::Other(text) => f.write_str(text),
        }
    }
}

impl Problem {
    /// A stable code for translating the message.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::Empty => "empty",
            Problem::TooLong { .. } => "too-long",
            Problem::NotOneOf { .. } => "not-one-of",
            Problem::Required => "required",
            Problem::OutOfRange { .. } => "out-of-range",
            Problem::EndBeforeStart => "end-before-start",
            Problem::ControlCharacters => "control-characters",
            Problem::Transition { .. } => "transition",
            Problem::Other(_) => "other",
        }
    }
}

fn invalid(field: &'static str, problem: Problem) -> ValidationError {
    ValidationError { field, problem }
}

/// Checks a piece of text: trimmed length within `max`, no control
/// characters (newlines and tabs allowed where `multiline`).
pub fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
    required: bool,
    multiline: bool,
) -> Result<(), ValidationError> {
    let length = text.trim().chars().count();
    if required && length == 0 {
        return Err(invalid(field, Problem::Empty));
    }
    if length > max {
        return Err(invalid(field, Problem::TooLong { max, found: length }));
    }
    let bad_control = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t'));
    if text.chars().any(bad_control) {
        return Err(invalid(field, Problem::ControlCharacters));
    }
    Ok(())
}

/// Categories are free words, folded to lowercase so that "Outils" and
/// "outils" are the same category.
pub fn normalize_category(category: &str) -> String {
    category.trim().to_lowercase()
}

/// A ride offered: from, to, when, how many seats.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Ride {
    pub from: String,
    pub to: String,
    /// Departure, Unix ms.
    pub departs_at: i64,
    pub seats: i64,
}

/// A group purchase: a target quantity to reach before a deadline.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct GroupBuy {
    /// What is counted ("kg", "sacs", "commandes").
    pub unit: String,
    pub target: i64,
    /// Unix ms.
    pub deadline: i64,
}

/// Something a household has to share.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Offer {
    pub title: String,
    pub description: String,
    pub category: String,
    pub kind: OfferKind,
    pub place: Option<String>,
    /// Hundredths of the community unit.
    pub price: Option<i64>,
    /// Expiry, Unix ms.
    pub until: Option<i64>,
    pub state: OfferState,
    pub ride: Option<Ride>,
    pub group_buy: Option<GroupBuy>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set when the owner deleted it: the content is emptied and the
    /// document stays as a tombstone so the deletion propagates.
    pub deleted: bool,
}

/// Something a household needs.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Request {
    pub title: String,
    pub description: String,
    pub category: String,
    /// The kind of offer that would answer it, if the household cares.
    pub kind: Option<OfferKind>,
    pub place: Option<String>,
    pub until: Option<i64>,
    pub state: RequestState,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

/// A gathering.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Event {
    pub title: String,
    pub description: String,
    pub category: String,
    pub place: Option<String>,
    /// Start as RFC 9557 text with its time zone ("2026-12-05T18:00:00+01:00[Europe/Paris]").
    pub start: String,
    pub end: Option<String>,
    /// Start and end as Unix ms, for sorting and windows.
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    /// An RFC 5545 RRULE, if the event repeats.
    pub repeat: Option<String>,
    pub cancelled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted: bool,
}

/// A household's answer to an event.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Rsvp {
    pub answer: RsvpAnswer,
    /// How many people come from the household.
    pub people: i64,
    pub updated_at: i64,
}

/// How a household presents itself to its communities.
#[derive(Clone, Debug, PartialEq, Eq, Hydrate, Reconcile, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub place: Option<String>,
    pub description: String,
    pub updated_at: i64,
}

fn check_place(place: &Option<String>) -> Result<(), ValidationError> {
    match place {
        Some(place) => check_text("place", place, limits::PLACE, true, false),
        None => Ok(()),
    }
}

impl Offer {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.deleted {
            return Ok(());
        }
        check_text("title", &self.title, limits::TITLE, true, false)?;
        check_text("description", &self.description, limits::DESCRIPTION, false, true)?;
        check_text("category", &self.category, limits::CATEGORY, true, false)?;
        check_place(&self.place)?;
        if let Some(price) = self.price
            && !(0..=crate::money::MAX_AMOUNT.0).contains(&price)
        {
            return Err(invalid(
                "price",
                Problem::OutOfRange {
                    min: 0,
                    max: crate::money::MAX_AMOUNT.0 / 100,
                },
            ));
        }
        match self.kind {
            OfferKind::Sell if self.price.is_none() => return Err(invalid("price", Problem::Required)),
            OfferKind::Ride => {
                let ride = self.ride.as_ref().ok_or(invalid("ride", Problem::Required))?;
                check_text("from", &ride.from, limits::PLACE, true, false)?;
                check_text("to", &ride.to, limits::PLACE, true, false)?;
                if !(1..=limits::SEATS).contains(&ride.seats) {
                    return Err(invalid(
                        "seats",
                        Problem::OutOfRange {
                            min: 1,
                            max: limits::SEATS,
                        },
                    ));
                }
            }
            OfferKind::GroupBuy => {
                let group_buy = self.group_buy.as_ref().ok_or(invalid("group_buy", Problem::Required))?;
                check_text("unit", &group_buy.unit, limits::CATEGORY, true, false)?;
                if !(1..=1_000_000).contains(&group_buy.target) {
                    return Err(invalid("target", Problem::OutOfRange { min: 1, max: 1_000_000 }));
                }
            }
            _ => {}
        }
        if self.kind != OfferKind::Ride && self.ride.is_some() {
            return Err(invalid(
                "ride",
                Problem::Other("only a ride offer has ride details".into()),
            ));
        }
        if self.kind != OfferKind::GroupBuy && self.group_buy.is_some() {
            return Err(invalid(
                "group_buy",
                Problem::Other("only a group purchase has a target".into()),
            ));
        }
        Ok(())
    }

    /// The state people see: an open or promised offer past its `until` is expired.
    pub fn visible_state(&self, now_ms: i64) -> &'static str {
        match (self.state, self.until) {
            (OfferState::Open | OfferState::Promised, Some(until)) if until < now_ms => "expired",
            (state, _) => state.as_str(),
        }
    }
}

impl OfferState {
    /// The lifecycle of DESIGN §2: `open → promised → done | withdrawn`; a
    /// promise that falls through goes back to open.
    pub fn can_become(self, next: OfferState) -> bool {
        use OfferState::*;
        matches!(
            (self, next),
            (Open, Promised) | (Promised, Open) | (Open | Promised, Done) | (Open | Promised, Withdrawn)
        )
    }
}

impl RequestState {
    /// `open → matched → fulfilled | withdrawn`; a match that falls through goes back to open.
    pub fn can_become(self, next: RequestState) -> bool {
        use RequestState::*;
        matches!(
            (self, next),
            (Open, Matched) | (Matched, Open) | (Open | Matched, Fulfilled) | (Open | Matched, Withdrawn)
        )
    }
}

/// Refuses a lifecycle transition the state machine does not allow.
pub fn check_transition<S: Copy + std::fmt::Display>(from: S, to: S, allowed: bool) -> Result<(), ValidationError> {
    if allowed {
        Ok(())
    } else {
        Err(invalid(
            "state",
            Problem::Transition {
                from: from.to_string(),
                to: to.to_string(),
            },
        ))
    }
}

impl Request {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.deleted {
            return Ok(());
        }
        check_text("title", &self.title, limits::TITLE, true, false)?;
        check_text("description", &self.description, limits::DESCRIPTION, false, true)?;
        check_text("category", &self.category, limits::CATEGORY, true, false)?;
        check_place(&self.place)
    }

    pub fn visible_state(&self, now_ms: i64) -> &'static str {
        match (self.state, self.until) {
            (RequestState::Open | RequestState::Matched, Some(until)) if until < now_ms => "expired",
            (state, _) => state.as_str(),
        }
    }
}

impl Event {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.deleted {
            return Ok(());
        }
        check_text("title", &self.title, limits::TITLE, true, false)?;
        check_text("description", &self.description, limits::DESCRIPTION, false, true)?;
        check_text("category", &self.category, limits::CATEGORY, false, false)?;
        check_place(&self.place)?;
        if let Some(end_ms) = self.end_ms
            && end_ms < self.start_ms
        {
            return Err(invalid("end", Problem::EndBeforeStart));
        }
        Ok(())
    }
}

impl Profile {
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("name", &self.name, limits::NAME, true, false)?;
        check_place(&self.place)?;
        check_text("description", &self.description, limits::DESCRIPTION, false, true)
    }
}

impl Rsvp {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(0..=50).contains(&self.people) {
            return Err(invalid("people", Problem::OutOfRange { min: 0, max: 50 }));
        }
        Ok(())
    }
}

/// Folds text for searching: lowercase, accents removed, so that "poterie"
/// finds "Poterie" and "eglise" finds "Église".
pub fn search_fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut folded = String::with_capacity(text.len());
    for c in text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
    {
        // Ligatures are letters, not accents: a villager types "oeufs" for
        // "œufs" and "soeur" for "sœur".
        match c {
            'œ' => folded.push_str("oe"),
            'æ' => folded.push_str("ae"),
            'ß' => folded.push_str("ss"),
            other => folded.push(other),
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Offer {
        Offer {
            title: "Perceuse à prêter".into(),
            description: "Bosch, avec mèches".into(),
            category: "outils".into(),
            kind: OfferKind::Lend,
            place: Some("Les Granges".into()),
            price: None,
            until: None,
            state: OfferState::Open,
            ride: None,
            group_buy: None,
            created_at: 1,
            updated_at: 1,
            deleted: false,
        }
    }

    #[test]
    fn a_valid_offer_passes_and_each_bad_field_is_named() {
        offer().validate().unwrap();
        let long = Offer {
            title: "x".repeat(limits::TITLE + 1),
            ..offer()
        };
        assert_eq!(long.validate().unwrap_err().field, "title");
        let empty = Offer {
            title: "  ".into(),
            ..offer()
        };
        assert_eq!(empty.validate().unwrap_err().problem, Problem::Empty);
        let sell = Offer {
            kind: OfferKind::Sell,
            ..offer()
        };
        assert_eq!(sell.validate().unwrap_err().field, "price");
        let ride = Offer {
            kind: OfferKind::Ride,
            ..offer()
        };
        assert_eq!(ride.validate().unwrap_err().field, "ride");
        let control = Offer {
            title: "a\u{0}b".into(),
            ..offer()
        };
        assert_eq!(control.validate().unwrap_err().problem, Problem::ControlCharacters);
    }

    #[test]
    fn lifecycle_refuses_leaving_a_terminal_state() {
        assert!(OfferState::Open.can_become(OfferState::Promised));
        assert!(OfferState::Promised.can_become(OfferState::Done));
        assert!(!OfferState::Done.can_become(OfferState::Open));
        assert!(!OfferState::Withdrawn.can_become(OfferState::Promised));
        assert!(!RequestState::Fulfilled.can_become(RequestState::Open));
        assert!(RequestState::Open.can_become(RequestState::Matched));
    }

    #[test]
    fn expiry_is_derived_from_until() {
        let offer = Offer {
            until: Some(100),
            ..offer()
        };
        assert_eq!(offer.visible_state(50), "open");
        assert_eq!(offer.visible_state(150), "expired");
    }

    #[test]
    fn kinds_parse_in_any_case() {
        assert_eq!("Group_Buy".parse::<OfferKind>().unwrap(), OfferKind::GroupBuy);
        assert!("borrow".parse::<OfferKind>().is_err());
    }

    #[test]
    fn search_folding_ignores_case_and_accents() {
        assert_eq!(search_fold("Poterie à l'Église"), "poterie a l'eglise");
        assert_eq!(search_fold("Œufs frais, cœur"), "oeufs frais, coeur");
    }
}
