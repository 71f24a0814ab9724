//! `GET /v1/events?since=N`: what changed in the household's store, as
//! typed events a program can resume from. The store keeps the log
//! (`changelog-1`, written in the same transaction as the change itself),
//! so a program that was away — or a node that restarted — loses nothing
//! that is still kept; one that fell further behind is told to read the
//! resources again (`reset`).
//!
//! ```json
//! {"events": [{"seq": 41, "type": "document", "kind": "offer", "id": "…"}], "next": 41, "reset": false}
//! ```

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::ApiState;
use super::failure::Failure;
use super::resources::{Asker, Params};
use crate::store::Subject;

/// The most events one answer carries; `next` says where to go on.
const MAX_EVENTS: usize = 1000;
/// The longest a request may wait for something new.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting request looks at the store's revision counter.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Since {
    #[serde(default)]
    since: u64,
    /// Seconds to wait for a first event when there is none yet.
    #[serde(default)]
    wait: u64,
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub seq: u64,
    #[serde(rename = "type")]
    pub subject: &'static str,
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct Events {
    pub events: Vec<EventView>,
    pub next: u64,
    pub reset: bool,
}

pub async fn events(
    State(state): State<Arc<ApiState>>,
    asker: Asker,
    Params(since): Params<Since>,
) -> Result<Json<Events>, Failure> {
    let wait = Duration::from_secs(since.wait).min(MAX_WAIT);
    let revision = state.context.household.store().revision();
    let mut closing = state.closing.subscribe();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let seen = revision.load(Ordering::Acquire);
        let from = since.since;
        let (logged, reset) = state
            .context
            .household
            .read(move |household| Ok(household.store().log_since(from, MAX_EVENTS)?))
            .await
            .map_err(|error| Failure::household(&error, asker.catalog))?;
        if !logged.is_empty() || reset || tokio::time::Instant::now() >= deadline {
            let next = logged.last().map_or(since.since, |change| change.seq);
            let events = logged
                .into_iter()
                .map(|change| match change.subject {
                    Subject::Document { id, kind } => EventView {
                        seq: change.seq,
                        subject: "document",
                        kind: kind.as_str().to_owned(),
                        id: id.to_text(),
                    },
                    Subject::Record { id, kind } => EventView {
                        seq: change.seq,
                        subject: "record",
                        kind,
                        id: id.to_text(),
                    },
                })
                .collect();
            return Ok(Json(Events { events, next, reset }));
        }
        // Nothing yet: wait for the store to take something in, or for the
        // node to stop (then answer what there is: nothing).
        while revision.load(Ordering::Acquire) == seen && tokio::time::Instant::now() < deadline {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = closing.wait_for(|closing| *closing) => {
                    return Ok(Json(Events { events: Vec::new(), next: since.since, reset: false }));
                }
            }
        }
    }
}
