//! Document headers: the immutable facts about a document that decide who may
//! write it. A document's id is the hash of its header, so these facts are
//! fixed for the document's whole life and need no signature of their own.

use serde::{Deserialize, Serialize};

use crate::ids::{CommunityId, DocId, HouseholdId, tagged_hash};
use crate::money::Amount;

/// The kinds of document maillage keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    Profile,
    Offer,
    Request,
    Event,
    Rsvp,
    Exchange,
}

impl DocKind {
    pub const ALL: [DocKind; 6] = [
        DocKind::Profile,
        DocKind::Offer,
        DocKind::Request,
        DocKind::Event,
        DocKind::Rsvp,
        DocKind::Exchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Profile => "profile",
            DocKind::Offer => "offer",
            DocKind::Request => "request",
            DocKind::Event => "event",
            DocKind::Rsvp => "rsvp",
            DocKind::Exchange => "exchange",
        }
    }

    /// A stable one-byte code, used in store index keys.
    pub fn code(self) -> u8 {
        match self {
            DocKind::Profile => 1,
            DocKind::Offer => 2,
            DocKind::Request => 3,
            DocKind::Event => 4,
            DocKind::Rsvp => 5,
            DocKind::Exchange => 6,
        }
    }

    pub fn from_code(code: u8) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// The terms of an exchange, fixed when it is proposed: nobody, not even the
/// two parties, can change the amount or the direction afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeTerms {
    /// The other party (the proposer is the header's owner).
    pub counterparty: HouseholdId,
    /// Who gave the good or service, and is credited `amount`.
    pub provider: HouseholdId,
    pub amount: Amount,
    pub note: String,
    /// The offer or request this exchange answers, if any.
    pub about: Option<crate::ids::DocId>,
}

impl ExchangeTerms {
    /// The party who received, and is debited.
    pub fn receiver(&self, proposer: &HouseholdId) -> HouseholdId {
        if &self.provider == proposer {
            self.counterparty
        } else {
            *proposer
        }
    }
}

/// The immutable header of a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeader {
    pub kind: DocKind,
    /// The community the document is shared with; `None` only for a profile,
    /// which is shared with every community its household is in.
    pub community: Option<CommunityId>,
    /// The household whose devices may write it.
    pub owner: HouseholdId,
    /// When it was created (ms), 0 for documents whose id must be derivable.
    pub created_at: i64,
    /// Makes two documents created in the same millisecond distinct.
    pub nonce: [u8; 16],
    /// For an RSVP, the event it answers.
    pub parent: Option<DocId>,
    /// For an exchange, its terms.
    pub terms: Option<ExchangeTerms>,
}

impl DocHeader {
    pub fn id(&self) -> DocId {
        DocId(tagged_hash("maillage/doc/1", &[&self.encode()]))
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        postcard::from_bytes(bytes).ok()
    }

    /// A household's profile: one per household, the same id on every device.
    pub fn profile(owner: HouseholdId) -> Self {
        DocHeader {
            kind: DocKind::Profile,
            community: None,
            owner,
            created_at: 0,
            nonce: [0; 16],
            parent: None,
            terms: None,
        }
    }

    /// A household's answer to an event: one per household and event, the same
    /// id on every device of the household.
    pub fn rsvp(owner: HouseholdId, community: CommunityId, event: DocId) -> Self {
        DocHeader {
            kind: DocKind::Rsvp,
            community: Some(community),
            owner,
            created_at: 0,
            nonce: [0; 16],
            parent: Some(event),
            terms: None,
        }
    }

    /// A new item (offer, request, event) of `owner` in `community`.
    pub fn item(kind: DocKind, owner: HouseholdId, community: CommunityId, created_at: i64, nonce: [u8; 16]) -> Self {
        DocHeader {
            kind,
            community: Some(community),
            owner,
            created_at,
            nonce,
            parent: None,
            terms: None,
        }
    }

    /// Households whose devices may write this document.
    pub fn writers(&self) -> Vec<HouseholdId> {
        match &self.terms {
            Some(terms) if self.kind == DocKind::Exchange => vec![self.owner, terms.counterparty],
            _ => vec![self.owner],
        }
    }

    /// Checks the header is internally consistent (an exchange has terms
    /// between two distinct households, an RSVP has an event, …).
    pub fn check(&self) -> Result<(), &'static str> {
        match self.kind {
            DocKind::Profile if self.community.is_some() => Err("a profile belongs to no single community"),
            DocKind::Profile => Ok(()),
            _ if self.community.is_none() => Err("an item must belong to a community"),
            DocKind::Exchange => match &self.terms {
                None => Err("an exchange needs terms"),
                Some(terms) if terms.counterparty == self.owner => Err("an exchange needs two different households"),
                Some(terms) if terms.provider != self.owner && terms.provider != terms.counterparty => {
                    Err("the provider of an exchange must be one of its parties")
                }
                Some(terms) if !(0..=crate::money::MAX_AMOUNT.0).contains(&terms.amount.0) => {
                    Err("an exchange amount must be between 0 and the maximum amount")
                }
                Some(terms) if terms.note.chars().count() > crate::items::limits::NOTE => {
                    Err("an exchange note is too long")
                }
                Some(_) => Ok(()),
            },
            _ if self.terms.is_some() => Err("only an exchange has terms"),
            DocKind::Rsvp if self.parent.is_none() => Err("an RSVP must name its event"),
            _ => Ok(()),
        }
    }
}
