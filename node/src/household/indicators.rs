//! The community's indicators, computed from what the store lists.

use super::*;

impl Household {
    pub fn indicators(&self) -> Result<maillage_crdt::indicators::Indicators> {
        let community = self.community()?;
        let members = community.members.len();
        let query = Query {
            community: Some(community.id),
            ..Query::default()
        };
        let now = now_ms();
        let mut facts = Vec::new();
        for summary in self.list(query, None, true)? {
            let (amount, confirmed_at) = if summary.kind == DocKind::Exchange {
                let document = self.load(&summary.id)?;
                let confirmed_at = ExchangeMarks::read(&document).ok().and_then(|m| m.confirmed_at());
                (document.header().terms.as_ref().map(|t| t.amount), confirmed_at)
            } else {
                (None, None)
            };
            facts.push(maillage_crdt::indicators::Fact {
                kind: summary.kind,
                owner: summary.owner,
                category: summary.category,
                state: summary.state,
                updated_at: summary.updated_at,
                amount,
                confirmed_at,
            });
        }
        let zone = jiff::tz::TimeZone::system();
        Ok(maillage_crdt::indicators::compute(members, &facts, now, |ms| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.to_zoned(zone.clone()).strftime("%Y-%m").to_string())
                .unwrap_or_default()
        }))
    }
}
