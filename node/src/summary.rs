//! What a listing shows of a document, derived from it after every change
//! and kept in the store so that browsing never loads automerge documents.

use maillage_crdt::exchange::ExchangeMarks;
use maillage_crdt::items::{Event, Offer, Profile, Request, Rsvp, search_fold};
use maillage_crdt::{CommunityId, DocId, DocKind, Document, HouseholdId};
use serde::{Deserialize, Serialize};

/// A document as listings see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: DocId,
    pub kind: DocKind,
    pub community: Option<CommunityId>,
    pub owner: HouseholdId,
    pub title: String,
    pub category: String,
    /// The stored lifecycle state (`expired` is derived when listing).
    pub state: String,
    /// The offer kind, for offers (and requests that name one).
    pub offer_kind: Option<String>,
    pub place: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Expiry (offers, requests) or start (events), Unix ms.
    pub until: Option<i64>,
    pub start: Option<i64>,
    /// Title, description, category and place, lowercased without accents.
    pub search: String,
    pub deleted: bool,
    /// False when the document's content does not hydrate (a buggy or hostile
    /// writer); such documents are kept for sync but never shown.
    pub valid: bool,
}

impl Summary {
    pub fn of(document: &mut Document) -> Summary {
        let latest = document.changes().iter().map(|c| c.timestamp()).max().unwrap_or(0);
        Summary::with_latest_change(document, latest)
    }

    /// [`Summary::of`] when the caller knows the time (seconds) of the
    /// document's latest change, as the store does for a document it has
    /// just built from its changes: listing every change costs more than
    /// summarising the body.
    pub fn with_latest_change(document: &mut Document, latest_change_secs: i64) -> Summary {
        let header = document.header().clone();
        let mut summary = Summary {
            id: document.id(),
            kind: header.kind,
            community: header.community,
            owner: header.owner,
            title: String::new(),
            category: String::new(),
            state: String::new(),
            offer_kind: None,
            place: None,
            created_at: header.created_at,
            updated_at: header.created_at,
            until: None,
            start: None,
            search: String::new(),
            deleted: false,
            valid: true,
        };
        let filled = match header.kind {
            DocKind::Offer => document
                .read::<Offer>()
                .ok()
                .filter(|body| body.validate().is_ok())
                .map(|o| {
                    summary.search = search_fold(&format!(
                        "{} {} {} {}",
                        o.title,
                        o.description,
                        o.category,
                        o.place.clone().unwrap_or_default()
                    ));
                    summary.title = o.title;
                    summary.category = o.category;
                    summary.state = o.state.as_str().into();
                    summary.offer_kind = Some(o.kind.as_str().into());
                    summary.place = o.place;
                    summary.updated_at = o.updated_at;
                    summary.until = o.until;
                    summary.deleted = o.deleted;
                }),
            DocKind::Request => document
                .read::<Request>()
                .ok()
                .filter(|body| body.validate().is_ok())
                .map(|r| {
                    summary.search = search_fold(&format!(
                        "{} {} {} {}",
                        r.title,
                        r.description,
                        r.category,
                        r.place.clone().unwrap_or_default()
                    ));
                    summary.title = r.title;
                    summary.category = r.category;
                    summary.state = r.state.as_str().into();
                    summary.offer_kind = r.kind.map(|k| k.as_str().into());
                    summary.place = r.place;
                    summary.updated_at = r.updated_at;
                    summary.until = r.until;
                    summary.deleted = r.deleted;
                }),
            DocKind::Event => document
                .read::<Event>()
                .ok()
                .filter(|body| body.validate().is_ok())
                .map(|e| {
                    summary.search = search_fold(&format!(
                        "{} {} {} {}",
                        e.title,
                        e.description,
                        e.category,
                        e.place.clone().unwrap_or_default()
                    ));
                    summary.title = e.title;
                    summary.category = e.category;
                    summary.state = if e.cancelled { "cancelled" } else { "scheduled" }.into();
                    summary.place = e.place;
                    summary.updated_at = e.updated_at;
                    summary.start = Some(e.start_ms);
                    summary.until = e.end_ms;
                    summary.deleted = e.deleted;
                }),
            DocKind::Rsvp => document
                .read::<Rsvp>()
                .ok()
                .filter(|body| body.validate().is_ok())
                .map(|r| {
                    summary.state = r.answer.as_str().into();
                    summary.updated_at = r.updated_at;
                }),
            DocKind::Profile => document
                .read::<Profile>()
                .ok()
                .filter(|body| body.validate().is_ok())
                .map(|p| {
                    summary.search = search_fold(&p.name);
                    summary.title = p.name;
                    summary.place = p.place;
                    summary.updated_at = p.updated_at;
                }),
            DocKind::Exchange => ExchangeMarks::read(document).ok().map(|marks| {
                let terms = header.terms.clone().unwrap_or_else(|| unreachable_terms(&header));
                summary.title = terms.note.clone();
                summary.state = marks.state().as_str().into();
                let times = [marks.proposer, marks.counterparty]
                    .into_iter()
                    .flat_map(|m| [m.proposed, m.accepted, m.declined, m.cancelled, m.confirmed])
                    .flatten();
                summary.updated_at = times.max().unwrap_or(header.created_at);
            }),
        };
        if filled.is_none() {
            summary.valid = false;
            summary.state = "invalid".into();
        }
        // Times in a body are the writer's word; the change times are too, but
        // they are at least the ones the signatures cover. Clamping keeps a
        // writer from pinning an item to the top of every listing with a
        // date in the far future.
        let latest_ms = latest_change_secs.saturating_mul(1000).saturating_add(999);
        summary.updated_at = summary.updated_at.clamp(0, latest_ms);
        summary
    }
}

/// `ExchangeMarks::read` fails without terms, so this is never reached; it
/// keeps `Summary::of` free of panics all the same.
fn unreachable_terms(header: &maillage_crdt::DocHeader) -> maillage_crdt::ExchangeTerms {
    maillage_crdt::ExchangeTerms {
        counterparty: header.owner,
        provider: header.owner,
        amount: maillage_crdt::Amount(0),
        note: String::new(),
        about: None,
    }
}
