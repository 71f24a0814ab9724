//! Offers and requests: posting, editing, deleting, finding by id prefix,
//! listing through the store's indexes, and matching requests with offers.

use super::*;

impl Household {
    /// Finds a document of `kind` by id prefix, like git does.
    pub fn resolve(&self, text: &str, kind: DocKind) -> Result<DocId> {
        let text = text.trim();
        if !maillage_crdt::ids::is_id_prefix(text) {
            return Err(HouseholdError::UnknownId {
                kind: kind.as_str(),
                text: text.to_owned(),
            });
        }
        let mut found = Vec::new();
        for id in self.store.ids_with_prefix(text)? {
            if self.store.header(&id)?.is_some_and(|h| h.kind == kind) {
                found.push(id);
            }
        }
        one_of(found, kind.as_str(), text, |id| id.short())
    }

    pub(super) fn new_header(&self, kind: DocKind) -> Result<DocHeader> {
        Ok(DocHeader::item(
            kind,
            self.household,
            self.current_community()?,
            now_ms(),
            rand::random(),
        ))
    }

    pub(super) fn own_document(&self, id: &DocId, kind: DocKind) -> Result<Document> {
        let document = self.load(id)?;
        if document.header().kind != kind {
            return Err(HouseholdError::UnknownId {
                kind: kind.as_str(),
                text: id.short(),
            });
        }
        if document.header().owner != self.household {
            return Err(HouseholdError::NotYours(kind.as_str()));
        }
        Ok(document)
    }

    pub fn offer(&self, id: &DocId) -> Result<(DocHeader, Offer)> {
        let document = self.load(id)?;
        Ok((document.header().clone(), Household::read(&document)?))
    }

    pub fn request(&self, id: &DocId) -> Result<(DocHeader, Request)> {
        let document = self.load(id)?;
        Ok((document.header().clone(), Household::read(&document)?))
    }

    /// Listing of the current community: deleted and invalid documents are
    /// never shown; `search` matches without case or accents.
    pub fn list(&self, query: Query, search: Option<&str>, include_closed: bool) -> Result<Vec<Summary>> {
        self.list_in(self.current_community()?, query, search, include_closed, |_| true)
    }

    /// Like [`Household::list`], keeping only what `also` accepts too (a
    /// filter the store's `Query` has no field for, such as a place). `also`
    /// runs inside the store's walk, after the other filters, on each summary
    /// in listing order and with its stored state (before `expired` is
    /// derived): a web page counts the matches it skips this way.
    pub fn list_where(
        &self,
        query: Query,
        search: Option<&str>,
        include_closed: bool,
        also: impl Fn(&Summary) -> bool,
    ) -> Result<Vec<Summary>> {
        self.list_in(self.current_community()?, query, search, include_closed, also)
    }

    pub(super) fn list_in(
        &self,
        community: CommunityId,
        mut query: Query,
        search: Option<&str>,
        include_closed: bool,
        also: impl Fn(&Summary) -> bool,
    ) -> Result<Vec<Summary>> {
        query.community = Some(community);
        let registry = self.store.registry();
        let members = registry.community(&community).ok_or(HouseholdError::NoCommunity)?;
        let needle = search.map(search_fold);
        let now = now_ms();
        let explicit_state = query.state.is_some();
        // Every filter runs inside the store's index walk, so a page stops
        // reading as soon as it is full. Items of removed households are no
        // longer shown; their exchanges still count in the ledger.
        let keep = |s: &Summary| {
            s.valid
                && !s.deleted
                && (!matches!(s.kind, DocKind::Offer | DocKind::Request | DocKind::Event)
                    || members.is_member(&s.owner))
                && needle.as_ref().is_none_or(|needle| s.search.contains(needle.as_str()))
                && (include_closed || explicit_state || is_active(s, now))
                && also(s)
        };
        let found = self.store.list_where(&query, keep)?;
        Ok(found
            .into_iter()
            .map(|mut s| {
                let past = s.until.is_some_and(|until| until < now);
                if past && matches!(s.state.as_str(), "open" | "promised" | "matched") {
                    s.state = "expired".into();
                }
                s
            })
            .collect())
    }

    /// Open requests of the community with the open offers that may answer
    /// them (same category, or a title word in common).
    pub fn matches(&self) -> Result<Vec<(Summary, Vec<Summary>)>> {
        let requests = self.list(
            Query {
                kind: Some(DocKind::Request),
                state: Some("open".into()),
                ..Query::default()
            },
            None,
            false,
        )?;
        let offers = self.list(
            Query {
                kind: Some(DocKind::Offer),
                state: Some("open".into()),
                ..Query::default()
            },
            None,
            false,
        )?;
        Ok(requests
            .into_iter()
            .map(|request| {
                let words = title_words(&request);
                let answers = offers
                    .iter()
                    .filter(|offer| may_answer(&request, &words, offer))
                    .cloned()
                    .collect();
                (request, answers)
            })
            .collect())
    }

    /// What may answer one item, by the rule of [`Household::matches`]: for
    /// a request the open offers, for an offer the open requests; at most
    /// `limit`, newest first. One walk of the other kind's listing, so an
    /// item's page does not pair every request with every offer.
    pub fn matches_of(&self, item: &Summary, limit: usize) -> Result<Vec<Summary>> {
        let open = |kind| Query {
            kind: Some(kind),
            state: Some("open".into()),
            limit: Some(limit),
            ..Query::default()
        };
        match item.kind {
            DocKind::Request => {
                let words = title_words(item);
                self.list_where(open(DocKind::Offer), None, false, |offer| {
                    may_answer(item, &words, offer)
                })
            }
            DocKind::Offer => self.list_where(open(DocKind::Request), None, false, |request| {
                may_answer(request, &title_words(request), item)
            }),
            _ => Ok(Vec::new()),
        }
    }
}

impl HouseholdWriter {
    pub fn add_offer(&mut self, input: ItemInput) -> Result<DocId> {
        let header = self.new_header(DocKind::Offer)?;
        let now = now_ms();
        let offer = Offer {
            title: input.title.trim().to_owned(),
            description: input.description.unwrap_or_default().trim().to_owned(),
            category: maillage_crdt::items::normalize_category(input.category.as_deref().unwrap_or("divers")),
            kind: input.kind.unwrap_or(OfferKind::Give),
            place: input.place.map(|p| p.trim().to_owned()),
            price: input.price.map(|p| p.0),
            until: input.until,
            state: OfferState::Open,
            ride: input.ride,
            group_buy: input.group_buy,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        offer.validate()?;
        self.write_new(header, &offer)
    }

    pub fn add_request(&mut self, input: ItemInput) -> Result<DocId> {
        let header = self.new_header(DocKind::Request)?;
        let now = now_ms();
        let request = Request {
            title: input.title.trim().to_owned(),
            description: input.description.unwrap_or_default().trim().to_owned(),
            category: maillage_crdt::items::normalize_category(input.category.as_deref().unwrap_or("divers")),
            kind: input.kind,
            place: input.place.map(|p| p.trim().to_owned()),
            until: input.until,
            state: RequestState::Open,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        request.validate()?;
        self.write_new(header, &request)
    }

    pub fn edit_offer(&mut self, id: &DocId, patch: ItemPatch) -> Result<()> {
        let document = self.own_document(id, DocKind::Offer)?;
        let mut offer: Offer = Household::read(&document)?;
        if let Some(state) = &patch.state {
            let next: OfferState = state.parse()?;
            check_transition(offer.state, next, offer.state.can_become(next))?;
            offer.state = next;
        }
        apply_common(
            &mut offer.title,
            &mut offer.description,
            &mut offer.category,
            &mut offer.place,
            &patch,
        );
        if let Some(kind) = patch.kind {
            offer.kind = kind;
        }
        patch.price.apply_to(&mut offer.price, |price| price.0);
        patch.until.apply_to(&mut offer.until, |until| until);
        offer.updated_at = now_ms();
        offer.validate()?;
        self.write_existing(document, &offer)
    }

    pub fn edit_request(&mut self, id: &DocId, patch: ItemPatch) -> Result<()> {
        let document = self.own_document(id, DocKind::Request)?;
        let mut request: Request = Household::read(&document)?;
        if let Some(state) = &patch.state {
            let next: RequestState = state.parse()?;
            check_transition(request.state, next, request.state.can_become(next))?;
            request.state = next;
        }
        apply_common(
            &mut request.title,
            &mut request.description,
            &mut request.category,
            &mut request.place,
            &patch,
        );
        if let Some(kind) = patch.kind {
            request.kind = Some(kind);
        }
        // A request has no price: `patch.price` is not about it.
        patch.until.apply_to(&mut request.until, |until| until);
        request.updated_at = now_ms();
        request.validate()?;
        self.write_existing(document, &request)
    }

    /// Deletes one of the household's offers or requests: it becomes a
    /// withdrawn tombstone with its content emptied, so the deletion
    /// propagates and the text no longer shows anywhere.
    pub fn delete_item(&mut self, id: &DocId, kind: DocKind) -> Result<()> {
        let document = self.own_document(id, kind)?;
        let now = now_ms();
        match kind {
            DocKind::Offer => {
                let mut offer: Offer = Household::read(&document)?;
                offer.title.clear();
                offer.description.clear();
                offer.place = None;
                offer.ride = None;
                offer.group_buy = None;
                offer.state = OfferState::Withdrawn;
                offer.deleted = true;
                offer.updated_at = now;
                self.write_existing(document, &offer)
            }
            DocKind::Request => {
                let mut request: Request = Household::read(&document)?;
                request.title.clear();
                request.description.clear();
                request.place = None;
                request.state = RequestState::Withdrawn;
                request.deleted = true;
                request.updated_at = now;
                self.write_existing(document, &request)
            }
            DocKind::Event => {
                let mut event: Event = Household::read(&document)?;
                event.title.clear();
                event.description.clear();
                event.place = None;
                event.cancelled = true;
                event.deleted = true;
                event.updated_at = now;
                self.write_existing(document, &event)
            }
            _ => Err(HouseholdError::NotYours(kind.as_str())),
        }
    }
}

fn apply_common(
    title: &mut String,
    description: &mut String,
    category: &mut String,
    place: &mut Option<String>,
    patch: &ItemPatch,
) {
    if let Some(new) = &patch.title {
        *title = new.trim().to_owned();
    }
    if let Some(new) = &patch.description {
        *description = new.trim().to_owned();
    }
    if let Some(new) = &patch.category {
        *category = maillage_crdt::items::normalize_category(new);
    }
    if let Some(new) = &patch.place {
        *place = Some(new.trim().to_owned()).filter(|p| !p.is_empty());
    }
}

/// The words of a request's title that say what it is about: folded, and
/// longer than three letters so that "de" or "une" match nothing.
fn title_words(request: &Summary) -> Vec<String> {
    search_fold(&request.title)
        .split_whitespace()
        .filter(|w| w.len() > 3)
        .map(str::to_owned)
        .collect()
}

/// Whether `offer` may answer `request` (whose [`title_words`] are `words`):
/// another household's, in the same category or sharing a title word.
fn may_answer(request: &Summary, words: &[String], offer: &Summary) -> bool {
    offer.owner != request.owner
        && (offer.category == request.category || words.iter().any(|w| offer.search.contains(w.as_str())))
}

/// Whether a listing shows an item by default: open ones, and events not yet over.
fn is_active(summary: &Summary, now: i64) -> bool {
    match summary.kind {
        DocKind::Offer => {
            matches!(summary.state.as_str(), "open" | "promised") && summary.until.is_none_or(|u| u >= now)
        }
        DocKind::Request => {
            matches!(summary.state.as_str(), "open" | "matched") && summary.until.is_none_or(|u| u >= now)
        }
        DocKind::Event => summary.state != "cancelled",
        _ => true,
    }
}
