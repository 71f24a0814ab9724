//! Exchanges: the only document two households write.
//!
//! The terms (who gave what to whom, how much) live in the header and cannot
//! change. What the parties write are *marks*, each party under keys prefixed
//! with its own household id (enforced by [`crate::verify_change`]):
//! `proposed`, `accepted`, `declined`, `cancelled`, `confirmed`, each a time.
//! The state is derived from the set of marks, never stored, so concurrent
//! marks always resolve the same way on every node:
//!
//! ```text
//! proposed ──accept──► accepted ──confirm──► confirmed
//!    │ decline, cancel     │ cancel
//!    ▼                     ▼
//! declined / cancelled   cancelled
//! ```
//!
//! When marks conflict (a cancel made concurrently with a confirm), refusal
//! wins: money only moves when nothing says it should not.

use automerge::{ReadDoc, ScalarValue, Value, transaction::Transactable};
use serde::Serialize;

use crate::change::{SignedChange, exchange_mark_key};
use crate::document::{DocError, Document, Writer};
use crate::header::{DocHeader, DocKind};
use crate::ids::HouseholdId;
use crate::items::{Problem, ValidationError};

/// One party's marks (Unix ms when each was made).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PartyMarks {
    pub proposed: Option<i64>,
    pub accepted: Option<i64>,
    pub declined: Option<i64>,
    pub cancelled: Option<i64>,
    pub confirmed: Option<i64>,
}

/// Where an exchange stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeState {
    Proposed,
    Accepted,
    Confirmed,
    Declined,
    Cancelled,
}

impl ExchangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeState::Proposed => "proposed",
            ExchangeState::Accepted => "accepted",
            ExchangeState::Confirmed => "confirmed",
            ExchangeState::Declined => "declined",
            ExchangeState::Cancelled => "cancelled",
        }
    }
}

/// What a party may do to an exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExchangeAction {
    Propose,
    Accept,
    Decline,
    Cancel,
    Confirm,
}

impl ExchangeAction {
    fn mark(self) -> &'static str {
        match self {
            ExchangeAction::Propose => "proposed",
            ExchangeAction::Accept => "accepted",
            ExchangeAction::Decline => "declined",
            ExchangeAction::Cancel => "cancelled",
            ExchangeAction::Confirm => "confirmed",
        }
    }
}

/// The marks of both parties of an exchange document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ExchangeMarks {
    pub proposer: PartyMarks,
    pub counterparty: PartyMarks,
}

impl ExchangeMarks {
    pub fn read(document: &Document) -> Result<Self, DocError> {
        let header = document.header();
        let terms = header.terms.as_ref().ok_or(DocError::Shape {
            kind: "exchange",
            reason: "no terms".into(),
        })?;
        Ok(ExchangeMarks {
            proposer: read_party(document, &header.owner),
            counterparty: read_party(document, &terms.counterparty),
        })
    }

    pub fn state(&self) -> ExchangeState {
        let (p, c) = (&self.proposer, &self.counterparty);
        if c.declined.is_some() {
            ExchangeState::Declined
        } else if p.cancelled.is_some() || c.cancelled.is_some() {
            ExchangeState::Cancelled
        } else if c.accepted.is_some() && (p.confirmed.is_some() || c.confirmed.is_some()) {
            ExchangeState::Confirmed
        } else if c.accepted.is_some() {
            ExchangeState::Accepted
        } else {
            ExchangeState::Proposed
        }
    }

    /// When the exchange was confirmed (the earliest confirmation), if it is.
    pub fn confirmed_at(&self) -> Option<i64> {
        if self.state() != ExchangeState::Confirmed {
            return None;
        }
        [self.proposer.confirmed, self.counterparty.confirmed]
            .into_iter()
            .flatten()
            .min()
    }
}

fn read_party(document: &Document, party: &HouseholdId) -> PartyMarks {
    let get = |mark: &str| -> Option<i64> {
        match document
            .automerge()
            .get(automerge::ROOT, exchange_mark_key(party, mark))
        {
            Ok(Some((Value::Scalar(scalar), _))) => match scalar.as_ref() {
                ScalarValue::Int(value) | ScalarValue::Timestamp(value) => Some(*value),
                _ => None,
            },
            _ => None,
        }
    };
    PartyMarks {
        proposed: get("proposed"),
        accepted: get("accepted"),
        declined: get("declined"),
        cancelled: get("cancelled"),
        confirmed: get("confirmed"),
    }
}

/// Why a party may not take an action now.
fn refuse(reason: &str) -> ValidationError {
    ValidationError {
        field: "exchange",
        problem: Problem::Other(reason.to_owned()),
    }
}

/// Checks that `party` may take `action` on the exchange in its current state.
pub fn check_action(
    header: &DocHeader,
    marks: &ExchangeMarks,
    party: &HouseholdId,
    action: ExchangeAction,
) -> Result<(), ValidationError> {
    let terms = header.terms.as_ref().ok_or_else(|| refuse("not an exchange"))?;
    let is_proposer = party == &header.owner;
    if !is_proposer && party != &terms.counterparty {
        return Err(refuse("only the two parties of an exchange can act on it"));
    }
    let state = marks.state();
    let allowed = match action {
        ExchangeAction::Propose => is_proposer && marks.proposer.proposed.is_none(),
        ExchangeAction::Accept | ExchangeAction::Decline => !is_proposer && state == ExchangeState::Proposed,
        ExchangeAction::Cancel => matches!(state, ExchangeState::Proposed | ExchangeState::Accepted),
        ExchangeAction::Confirm => state == ExchangeState::Accepted,
    };
    if allowed {
        return Ok(());
    }
    Err(ValidationError {
        field: "state",
        problem: Problem::Transition {
            from: state.as_str().into(),
            to: action.mark().into(),
        },
    })
}

/// Records `party`'s `action` on an exchange document, after checking it is allowed.
pub fn act(
    document: &mut Document,
    party: &HouseholdId,
    action: ExchangeAction,
    writer: &Writer<'_>,
) -> Result<SignedChange, ExchangeError> {
    if document.header().kind != DocKind::Exchange {
        return Err(ExchangeError::Invalid(refuse("not an exchange")));
    }
    let marks = ExchangeMarks::read(document)?;
    check_action(document.header(), &marks, party, action).map_err(ExchangeError::Invalid)?;
    let key = exchange_mark_key(party, action.mark());
    let now = writer.now_ms;
    let change = document.edit(writer, |doc| {
        doc.put(automerge::ROOT, key, now)
            .map(|_| ())
            .map_err(|e| DocError::Write(e.to_string()))
    })?;
    change.ok_or_else(|| ExchangeError::Doc(DocError::Write("the mark made no change".into())))
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    #[error(transparent)]
    Invalid(ValidationError),
    #[error(transparent)]
    Doc(#[from] DocError),
}
