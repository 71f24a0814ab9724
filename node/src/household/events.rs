//! Events of the agenda and the answers (RSVPs) households give them.

use super::*;

impl Household {
    pub fn event(&self, id: &DocId) -> Result<(DocHeader, Event)> {
        let document = self.load(id)?;
        Ok((document.header().clone(), Household::read(&document)?))
    }

    /// Events of the current community with their bodies, by start time.
    pub fn events(&self) -> Result<Vec<(DocHeader, Event)>> {
        let query = Query {
            kind: Some(DocKind::Event),
            ..Query::default()
        };
        let mut events = Vec::new();
        for summary in self.list(query, None, true)? {
            events.push(self.event(&summary.id)?);
        }
        events.sort_by_key(|(_, event)| event.start_ms);
        Ok(events)
    }

    /// Answers to an event, by household.
    pub fn rsvps(&self, event: &DocId) -> Result<Vec<(HouseholdId, Rsvp)>> {
        let (header, _) = self.event(event)?;
        let registry = self.store.registry();
        let community = registry.community(&header.community.ok_or(HouseholdError::NoCommunity)?);
        let mut answers = Vec::new();
        for member in community
            .map(|c| c.members.keys().copied().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let id = DocHeader::rsvp(member, header.community.ok_or(HouseholdError::NoCommunity)?, *event).id();
            if let Some(document) = self.store.load(&id)?
                && let Ok(rsvp) = document.read::<Rsvp>()
            {
                answers.push((member, rsvp));
            }
        }
        Ok(answers)
    }
}

impl HouseholdWriter {
    pub fn add_event(&mut self, input: EventInput) -> Result<DocId> {
        let header = self.new_header(DocKind::Event)?;
        let now = now_ms();
        let event = Event {
            title: input.title.trim().to_owned(),
            description: input.description.unwrap_or_default().trim().to_owned(),
            category: maillage_crdt::items::normalize_category(input.category.as_deref().unwrap_or("")),
            place: input.place.map(|p| p.trim().to_owned()),
            start: input.start.to_string(),
            end: input.end.as_ref().map(|e| e.to_string()),
            start_ms: input.start.timestamp().as_millisecond(),
            end_ms: input.end.as_ref().map(|e| e.timestamp().as_millisecond()),
            repeat: input.repeat,
            cancelled: false,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        event.validate()?;
        self.write_new(header, &event)
    }

    /// Calls off one of the household's events; it stays listed as cancelled
    /// so those who planned to come learn of it.
    pub fn cancel_event(&mut self, id: &DocId) -> Result<()> {
        let document = self.own_document(id, DocKind::Event)?;
        let mut event: Event = Household::read(&document)?;
        event.cancelled = true;
        event.updated_at = now_ms();
        self.write_existing(document, &event)
    }

    pub fn rsvp(&mut self, event: &DocId, answer: RsvpAnswer, people: i64) -> Result<()> {
        let (header, _) = self.event(event)?;
        let community = header.community.ok_or(HouseholdError::NoCommunity)?;
        let rsvp_header = DocHeader::rsvp(self.household, community, *event);
        let rsvp = Rsvp {
            answer,
            people,
            updated_at: now_ms(),
        };
        rsvp.validate()?;
        match self.store.load(&rsvp_header.id())? {
            Some(document) => self.write_existing(document, &rsvp),
            None => self.write_new(rsvp_header, &rsvp).map(|_| ()),
        }
    }
}
