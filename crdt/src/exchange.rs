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
//! Every mark is checked against the state it was made from
//! ([`check_causal`]), so marks only conflict when they were made
//! concurrently (or one was withheld). Then a confirmation wins: it was made
//! after the acceptance, both parties had agreed to the terms, and letting a
//! late-arriving cancel undo it would let a party erase a debt by keeping a
//! refusal in reserve.

use automerge::{Change, ChangeHash, ReadDoc, ScalarValue, Value, transaction::Transactable};
use serde::Serialize;

use crate::change::{ChangeRejected, SignedChange, exchange_mark_key};
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
    /// No signed proposal: the document counts for nothing.
    Void,
    Proposed,
    Accepted,
    Confirmed,
    Declined,
    Cancelled,
}

impl ExchangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeState::Void => "void",
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
    fn from_mark(mark: &str) -> Option<Self> {
        [Self::Propose, Self::Accept, Self::Decline, Self::Cancel, Self::Confirm]
            .into_iter()
            .find(|a| a.mark() == mark)
    }

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
        Self::read_at(document, None)
    }

    /// The marks as they stood at `heads` (`None`: now).
    pub fn read_at(document: &Document, heads: Option<&[ChangeHash]>) -> Result<Self, DocError> {
        let header = document.header();
        let terms = header.terms.as_ref().ok_or(DocError::Shape {
            kind: "exchange",
            reason: "no terms".into(),
        })?;
        Ok(ExchangeMarks {
            proposer: read_party(document, &header.owner, heads),
            counterparty: read_party(document, &terms.counterparty, heads),
        })
    }

    pub fn state(&self) -> ExchangeState {
        let (p, c) = (&self.proposer, &self.counterparty);
        if p.proposed.is_none() {
            // Nothing stands until the proposer has signed the proposal: a
            // counterparty cannot accept and confirm terms nobody offered.
            ExchangeState::Void
        } else if c.accepted.is_some() && (p.confirmed.is_some() || c.confirmed.is_some()) {
            // Final. `check_causal` only lets a confirmation be written after an
            // acceptance and never after a refusal the writer had seen, so a
            // refusal here was concurrent (or withheld): it cannot undo what
            // the other party built on.
            ExchangeState::Confirmed
        } else if c.declined.is_some() {
            ExchangeState::Declined
        } else if p.cancelled.is_some() || c.cancelled.is_some() {
            ExchangeState::Cancelled
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

fn read_party(document: &Document, party: &HouseholdId, heads: Option<&[ChangeHash]>) -> PartyMarks {
    let get = |mark: &str| -> Option<i64> {
        let key = exchange_mark_key(party, mark);
        let value = match heads {
            Some(heads) => document.automerge().get_at(automerge::ROOT, key, heads),
            None => document.automerge().get(automerge::ROOT, key),
        };
        match value {
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

/// Checks, before `change` is applied, that every mark it writes is an
/// action its party was allowed to take in the state the change was made
/// from (the state at its dependencies). [`crate::verify_change`] already
/// confined the change to the party's own keys; this stops a party from
/// writing, say, a `cancelled` mark *after* seeing the exchange confirmed,
/// which the derived state would otherwise honour. Marks made concurrently
/// are not ordered by this check, and resolve by [`ExchangeMarks::state`].
///
/// `document` must hold every dependency of `change`.
pub fn check_causal(document: &Document, change: &Change, party: &HouseholdId) -> Result<(), ChangeRejected> {
    let out_of_turn = || ChangeRejected::ExchangeOutOfTurn { household: *party };
    let deps = change.deps();
    if deps
        .iter()
        .any(|dep| document.automerge().get_change_by_hash(dep).is_none())
    {
        return Err(ChangeRejected::MissingDependencies);
    }
    let marks = ExchangeMarks::read_at(document, Some(deps)).map_err(|_| out_of_turn())?;
    let prefix = format!("{}.", party.to_text());
    for op in change.decode().operations {
        let automerge::legacy::Key::Map(key) = &op.key else {
            return Err(out_of_turn());
        };
        let is_time = matches!(
            op.action,
            automerge::legacy::OpType::Put(ScalarValue::Int(_) | ScalarValue::Timestamp(_))
        );
        let action = key.strip_prefix(prefix.as_str()).and_then(ExchangeAction::from_mark);
        match action {
            Some(action) if is_time => {
                check_action(document.header(), &marks, party, action).map_err(|_| out_of_turn())?;
            }
            _ => return Err(out_of_turn()),
        }
    }
    Ok(())
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
        // Each party may confirm once; the ledger counts the exchange once.
        ExchangeAction::Confirm => {
            let own = if is_proposer {
                &marks.proposer
            } else {
                &marks.counterparty
            };
            state == ExchangeState::Accepted || (state == ExchangeState::Confirmed && own.confirmed.is_none())
        }
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
