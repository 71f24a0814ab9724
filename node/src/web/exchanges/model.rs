//! What the exchanges page shows, read from the household in one blocking
//! call and handed to the templates as plain values.
//!
//! The state of an exchange and what each party may do next come from
//! `maillage_crdt::exchange` (the same `check_action` the household runs
//! before writing a mark), so a button is shown exactly when pressing it
//! would be accepted.

use maillage_crdt::exchange::{ExchangeAction, ExchangeMarks, ExchangeState, PartyMarks, check_action};
use maillage_crdt::ledger;
use maillage_crdt::{Amount, DocId, DocKind, Document, HouseholdId};

use crate::household::{Household, HouseholdError};
use crate::store::Query;
use crate::web::page::Paging;

/// A household as the page names it.
#[derive(Clone, Debug)]
pub struct Party {
    pub id: HouseholdId,
    pub name: String,
}

impl Party {
    fn of(household: &Household, id: HouseholdId) -> Party {
        Party {
            id,
            name: household.name_of(&id),
        }
    }
}

/// The offer or request an exchange answers.
#[derive(Clone, Debug)]
pub struct About {
    pub id: DocId,
    /// `Offer` or `Request`.
    pub kind: DocKind,
    /// The item's title, or its short id when this node has not received it.
    pub title: String,
}

/// What a party can do to an exchange from the page, in the order the
/// buttons appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Accept,
    Confirm,
    Decline,
    Cancel,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Accept, Action::Confirm, Action::Decline, Action::Cancel];

    /// The last segment of the action's URL (`/echanges/ID/accepter`).
    pub fn slug(self) -> &'static str {
        match self {
            Action::Accept => "accepter",
            Action::Confirm => "confirmer",
            Action::Decline => "refuser",
            Action::Cancel => "annuler",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.slug() == slug)
    }

    pub fn exchange_action(self) -> ExchangeAction {
        match self {
            Action::Accept => ExchangeAction::Accept,
            Action::Confirm => ExchangeAction::Confirm,
            Action::Decline => ExchangeAction::Decline,
            Action::Cancel => ExchangeAction::Cancel,
        }
    }
}

/// Where an exchange sits on the overview, seen from this household.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Waiting for this household: to accept, decline or confirm.
    ToDo,
    /// Proposed or accepted, waiting for the other household.
    InProgress,
    /// Confirmed, declined or cancelled.
    Done,
    /// Between two other households of the community.
    Others,
}

/// One mark in an exchange's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Proposed,
    Accepted,
    Declined,
    Cancelled,
    Confirmed,
}

impl Mark {
    /// The suffix of the history message id (`exchanges-history-proposed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Proposed => "proposed",
            Mark::Accepted => "accepted",
            Mark::Declined => "declined",
            Mark::Cancelled => "cancelled",
            Mark::Confirmed => "confirmed",
        }
    }
}

/// An exchange with everything the page shows of it.
#[derive(Clone, Debug)]
pub struct ExchangeRow {
    pub id: DocId,
    pub proposer: Party,
    pub counterparty: Party,
    /// Who gives, and is credited; the other party receives and is debited.
    pub provider: HouseholdId,
    pub amount: Amount,
    pub note: String,
    pub about: Option<About>,
    pub state: ExchangeState,
    pub marks: ExchangeMarks,
    pub created_at: i64,
    /// What this household may do now.
    pub actions: Vec<Action>,
}

impl ExchangeRow {
    /// Reads an exchange document; `None` for a document without terms
    /// (never an exchange this node would have stored, but the page must
    /// not fail on it).
    fn read(
        household: &Household,
        document: &Document,
        me: HouseholdId,
    ) -> Result<Option<ExchangeRow>, HouseholdError> {
        let header = document.header();
        let Some(terms) = header.terms.clone() else {
            return Ok(None);
        };
        let marks = ExchangeMarks::read(document).map_err(|e| HouseholdError::Document(e.to_string()))?;
        let actions = Action::ALL
            .into_iter()
            .filter(|action| check_action(header, &marks, &me, action.exchange_action()).is_ok())
            .collect();
        let about = match terms.about {
            Some(id) => Some(about_of(household, id)?),
            None => None,
        };
        Ok(Some(ExchangeRow {
            id: document.id(),
            proposer: Party::of(household, header.owner),
            counterparty: Party::of(household, terms.counterparty),
            provider: terms.provider,
            amount: terms.amount,
            note: terms.note,
            about,
            state: marks.state(),
            marks,
            created_at: header.created_at,
            actions,
        }))
    }

    pub fn giver(&self) -> &Party {
        if self.provider == self.proposer.id {
            &self.proposer
        } else {
            &self.counterparty
        }
    }

    pub fn receiver(&self) -> &Party {
        if self.provider == self.proposer.id {
            &self.counterparty
        } else {
            &self.proposer
        }
    }

    pub fn involves(&self, household: &HouseholdId) -> bool {
        &self.proposer.id == household || &self.counterparty.id == household
    }

    /// The party that is not `me` (the counterparty when `me` is neither).
    pub fn other_party(&self, me: &HouseholdId) -> &Party {
        if &self.counterparty.id == me {
            &self.proposer
        } else {
            &self.counterparty
        }
    }

    pub fn bucket(&self, me: &HouseholdId) -> Bucket {
        if !self.involves(me) {
            Bucket::Others
        } else if self
            .actions
            .iter()
            .any(|a| matches!(a, Action::Accept | Action::Confirm))
        {
            Bucket::ToDo
        } else if matches!(self.state, ExchangeState::Proposed | ExchangeState::Accepted) {
            Bucket::InProgress
        } else {
            Bucket::Done
        }
    }

    /// Every mark of both parties, oldest first.
    pub fn history(&self) -> Vec<(i64, &Party, Mark)> {
        let mut history = Vec::new();
        for (party, marks) in [
            (&self.proposer, &self.marks.proposer),
            (&self.counterparty, &self.marks.counterparty),
        ] {
            for (time, mark) in marks_of(marks) {
                history.push((time, party, mark));
            }
        }
        history.sort_by_key(|(time, _, _)| *time);
        history
    }

    /// When it started to count in the balances, if it does.
    pub fn confirmed_at(&self) -> Option<i64> {
        self.marks.confirmed_at()
    }
}

fn marks_of(marks: &PartyMarks) -> impl Iterator<Item = (i64, Mark)> {
    [
        (marks.proposed, Mark::Proposed),
        (marks.accepted, Mark::Accepted),
        (marks.declined, Mark::Declined),
        (marks.cancelled, Mark::Cancelled),
        (marks.confirmed, Mark::Confirmed),
    ]
    .into_iter()
    .filter_map(|(time, mark)| time.map(|time| (time, mark)))
}

fn about_of(household: &Household, id: DocId) -> Result<About, HouseholdError> {
    Ok(match household.store().summary(&id)? {
        Some(summary) => About {
            id,
            kind: summary.kind,
            title: summary.title,
        },
        None => About {
            id,
            kind: household.store().header(&id)?.map_or(DocKind::Offer, |h| h.kind),
            title: id.short(),
        },
    })
}

/// One line of the balances table.
#[derive(Clone, Debug)]
pub struct BalanceRow {
    pub household: HouseholdId,
    pub name: String,
    pub balance: Amount,
}

/// Finished exchanges (and exchanges between others) on one page of the
/// overview: a village's history grows for years.
pub const PAGE_SIZE: usize = 50;

/// Which page of each long list of the overview to show, from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pages {
    pub done: usize,
    pub others: usize,
}

/// One page of a long list of the overview.
#[derive(Clone, Debug)]
pub struct Listed {
    pub rows: Vec<ExchangeRow>,
    pub paging: Paging,
}

/// Everything `GET /echanges` shows.
#[derive(Clone, Debug)]
pub struct Overview {
    pub me: HouseholdId,
    pub unit: String,
    /// Waiting for this household, every one of them, most recent first.
    pub to_do: Vec<ExchangeRow>,
    /// Waiting for the other household, every one of them.
    pub in_progress: Vec<ExchangeRow>,
    /// This household's finished exchanges: the page asked for.
    pub done: Listed,
    /// Exchanges between two other households: the page asked for.
    pub others: Listed,
    /// Every member (and former member holding a balance), by name.
    pub balances: Vec<BalanceRow>,
    /// This household's standing and the community's soft limit, when it is
    /// below the limit.
    pub warning: Option<(Amount, Amount)>,
}

/// An exchange of a long list, read only if its page is shown.
enum Found {
    // Boxed: most of a long list is unread, one id each.
    Read(Box<ExchangeRow>),
    Unread(DocId),
}

/// Reads the overview.
///
/// The balances need every exchange, but only its terms and whether it is
/// confirmed: the header and the stored summary say both, so they are
/// folded by the ledger's own rule (`ledger::balances`, which
/// `Household::balances` also uses) without loading any automerge document.
/// A document is loaded only to decide what an exchange of this household
/// waits for (whether it is this household's turn needs each party's marks)
/// and to show the cards of the pages asked for.
pub fn overview(household: &Household, pages: Pages) -> Result<Overview, HouseholdError> {
    let me = household.id();
    let community = household.community()?;
    let mut ledger = household.exchange_ledger(household.current_community()?)?;
    // Most recent activity first, ties broken by id: two requests for
    // consecutive pages must cut the same list.
    ledger.sort_by(|(a, _), (b, _)| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));

    let (mut to_do, mut in_progress) = (Vec::new(), Vec::new());
    let (mut done, mut others) = (Vec::new(), Vec::new());
    for (summary, entry) in &ledger {
        let Some(terms) = &entry.header.terms else {
            continue;
        };
        let involves_me = entry.header.owner == me || terms.counterparty == me;
        // Declined and cancelled exchanges wait for nobody; a confirmed one
        // may still wait for this household's own confirmation.
        let may_wait_for_me = entry.confirmed
            || summary.state == ExchangeState::Proposed.as_str()
            || summary.state == ExchangeState::Accepted.as_str();
        if !involves_me {
            others.push(Found::Unread(summary.id));
        } else if !may_wait_for_me {
            done.push(Found::Unread(summary.id));
        } else if let Some(row) = read_row(household, &summary.id, me)? {
            match row.bucket(&me) {
                Bucket::ToDo => to_do.push(row),
                Bucket::InProgress => in_progress.push(row),
                Bucket::Done | Bucket::Others => done.push(Found::Read(Box::new(row))),
            }
        }
    }

    let totals = ledger::balances(ledger.iter().map(|(_, entry)| entry));
    let mut balances: Vec<BalanceRow> = community
        .members
        .keys()
        .chain(totals.by_household.keys().filter(|h| !community.is_member(h)))
        .map(|h| BalanceRow {
            household: *h,
            name: household.name_of(h),
            balance: totals.of(h),
        })
        .collect();
    balances.sort_by(|a, b| a.name.cmp(&b.name).then(a.household.cmp(&b.household)));
    balances.dedup_by_key(|row| row.household);

    Ok(Overview {
        me,
        unit: community.genesis.unit.clone(),
        to_do,
        in_progress,
        done: page_of(household, me, done, pages.done)?,
        others: page_of(household, me, others, pages.others)?,
        balances,
        warning: household.soft_limit_warning(&me)?,
    })
}

/// Page `number` of `found`, reading the exchanges it shows.
fn page_of(household: &Household, me: HouseholdId, found: Vec<Found>, number: usize) -> Result<Listed, HouseholdError> {
    let paging = Paging::new(number, found.len(), PAGE_SIZE);
    let mut rows = Vec::with_capacity(paging.range().len());
    for found in found.into_iter().skip(paging.range().start).take(paging.range().len()) {
        let row = match found {
            Found::Read(row) => Some(*row),
            Found::Unread(id) => read_row(household, &id, me)?,
        };
        rows.extend(row);
    }
    Ok(Listed { rows, paging })
}

/// Loads and reads one exchange; `None` if it is gone or has no terms.
fn read_row(household: &Household, id: &DocId, me: HouseholdId) -> Result<Option<ExchangeRow>, HouseholdError> {
    match household.store().load(id)? {
        Some(document) => ExchangeRow::read(household, &document, me),
        None => Ok(None),
    }
}

/// Everything the ledger download holds.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub unit: String,
    /// Every confirmed exchange of the community, in no particular order.
    pub confirmed: Vec<ExchangeRow>,
}

/// Reads the community's confirmed exchanges (the only ones a ledger
/// counts), found through the store's state index.
pub fn ledger(household: &Household) -> Result<Ledger, HouseholdError> {
    let me = household.id();
    let community = household.community()?;
    let query = Query {
        kind: Some(DocKind::Exchange),
        state: Some(ExchangeState::Confirmed.as_str().to_owned()),
        ..Query::default()
    };
    let mut confirmed = Vec::new();
    for summary in household.list(query, None, true)? {
        confirmed.extend(read_row(household, &summary.id, me)?);
    }
    Ok(Ledger {
        unit: community.genesis.unit.clone(),
        confirmed,
    })
}

/// Everything `GET /echanges/ID` shows.
#[derive(Clone, Debug)]
pub struct Detail {
    pub me: HouseholdId,
    pub unit: String,
    pub exchange: ExchangeRow,
    pub warning: Option<(Amount, Amount)>,
}

/// Finds an exchange by its id (or an unambiguous prefix of it).
pub fn resolve(household: &Household, text: &str) -> Result<DocId, HouseholdError> {
    household.resolve(text, DocKind::Exchange)
}

pub fn detail(household: &Household, id: &DocId) -> Result<Detail, HouseholdError> {
    let me = household.id();
    let unknown = || HouseholdError::UnknownId {
        kind: "exchange",
        text: id.short(),
    };
    let document = household.store().load(id)?.ok_or_else(unknown)?;
    let exchange = ExchangeRow::read(household, &document, me)?.ok_or_else(unknown)?;
    // An exchange of another community than the one the page shows counts in
    // other balances and another unit: name the unit of its own community.
    let unit = match document.header().community {
        Some(community) => household
            .store()
            .registry()
            .community(&community)
            .map(|c| c.genesis.unit.clone()),
        None => None,
    };
    let unit = match unit {
        Some(unit) => unit,
        None => household.community()?.genesis.unit.clone(),
    };
    Ok(Detail {
        me,
        unit,
        exchange,
        warning: household.soft_limit_warning(&me)?,
    })
}

/// The offer or request a new exchange answers, as the form shows it.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: DocId,
    /// `Offer` or `Request`.
    pub kind: DocKind,
    pub title: String,
    pub owner: Party,
    /// The offer's price, if it names one.
    pub price: Option<Amount>,
    pub mine: bool,
}

impl Item {
    /// Whether this household gives, as the item decides: an offer's owner
    /// gives, a request's owner receives (the rule of `propose_exchange`).
    pub fn i_give(&self) -> bool {
        match self.kind {
            DocKind::Offer => self.mine,
            _ => !self.mine,
        }
    }
}

/// What the proposal form needs.
#[derive(Clone, Debug)]
pub struct ProposalContext {
    pub me: HouseholdId,
    pub unit: String,
    /// The community's other members, by name.
    pub members: Vec<Party>,
    pub item: Option<Item>,
}

/// Reads the form's context; `offer` or `request` is the id (or prefix) of
/// the item the exchange answers.
pub fn proposal_context(
    household: &Household,
    offer: Option<&str>,
    request: Option<&str>,
) -> Result<ProposalContext, HouseholdError> {
    let me = household.id();
    let community = household.community()?;
    let mut members: Vec<Party> = community
        .members
        .keys()
        .filter(|h| **h != me)
        .map(|h| Party::of(household, *h))
        .collect();
    members.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let item = match (offer, request) {
        (Some(text), _) => {
            let id = household.resolve(text, DocKind::Offer)?;
            let (header, offer) = household.offer(&id)?;
            Some(Item {
                id,
                kind: DocKind::Offer,
                title: offer.title,
                owner: Party::of(household, header.owner),
                price: offer.price.map(Amount),
                mine: header.owner == me,
            })
        }
        (None, Some(text)) => {
            let id = household.resolve(text, DocKind::Request)?;
            let (header, request) = household.request(&id)?;
            Some(Item {
                id,
                kind: DocKind::Request,
                title: request.title,
                owner: Party::of(household, header.owner),
                price: None,
                mine: header.owner == me,
            })
        }
        (None, None) => None,
    };
    Ok(ProposalContext {
        me,
        unit: community.genesis.unit.clone(),
        members,
        item,
    })
}
