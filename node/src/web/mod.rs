//! The web page: what most villagers use. The node serves it on loopback
//! (unless asked otherwise), server-rendered HTML with a little JavaScript,
//! every asset embedded in the binary.
//!
//! ```text
//! /login?token=…      opens a session (the link `maillage page` prints)
//! /offres /demandes   offers and requests            (offers.rs)
//! /agenda             events, RSVP, ICS feed          (agenda.rs)
//! /echanges           exchanges, balances, CSV        (exchanges.rs)
//! /communaute         members, invites, mesh status   (community.rs)
//! /indicateurs        the village's indicators        (indicators.rs)
//! /events             server-sent events: "changed" after every ingest
//! /static/…           CSS and JavaScript
//! /langue/{fr|en}     language switch (a cookie)
//! ```
//!
//! Security (see `auth.rs`): the Host header must name this server (DNS
//! rebinding), a session cookie derived from the household's API token is
//! required for every page, and every POST carries a CSRF token derived from
//! it. Every input goes through the same `Household` operations, and so the
//! same `crdt/` validation, as the command line; a refused field is shown
//! next to its input.
//!
//! Pages read the household on a blocking thread ([`WebState::read`]),
//! beside any write, and queue writes on the household's writer
//! ([`WebState::write`]); rendering happens after, from plain values.

mod assets;
mod auth;
pub mod page;

mod agenda;
mod community;
mod exchanges;
mod indicators;
mod offers;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures::Stream;
use tokio::net::TcpListener;

use crate::api::Token;
use crate::context::NodeContext;
use crate::household::{Household, HouseholdError, HouseholdWriter};

pub use auth::Secrets;
pub use page::{Page, WebError};

/// The largest form a page accepts (an offer's description is at most a few
/// KB; an invite code about 2 KB).
pub const MAX_FORM: usize = 256 * 1024;

/// The address the web page listens on by default. A fixed port gives the
/// villager a stable bookmark; if it is taken the node picks a free one.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:7878";

/// How often the live-update stream looks at the store's revision counter.
const LIVE_POLL: Duration = Duration::from_millis(250);

/// What every handler gets.
#[derive(Clone)]
pub struct WebState {
    inner: Arc<Inner>,
}

struct Inner {
    context: NodeContext,
    secrets: Secrets,
    /// Grows after every ingest (local or from a peer): see `Store::revision`.
    revision: Arc<AtomicU64>,
    /// `host:port` values the Host header may carry.
    allowed_hosts: Vec<String>,
    /// Becomes true when the server stops: live-update streams end then,
    /// or a page left open would hold the node's shutdown forever.
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("allowed_hosts", &self.inner.allowed_hosts)
            .finish_non_exhaustive()
    }
}

impl WebState {
    /// `address` is where the server listens: it decides which Host headers
    /// are accepted.
    pub fn new(context: NodeContext, token: &Token, address: SocketAddr) -> WebState {
        let revision = context.household.store().revision();
        WebState {
            inner: Arc::new(Inner {
                context,
                secrets: Secrets::derive(token),
                revision,
                allowed_hosts: auth::allowed_hosts(address),
                closing: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    pub fn context(&self) -> &NodeContext {
        &self.inner.context
    }

    pub(crate) fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    /// Runs `read` with the household on a blocking thread (redb reads
    /// block), beside any write under way: a page never waits for an import.
    pub async fn read<T, F>(&self, read: F) -> Result<T, HouseholdError>
    where
        T: Send + 'static,
        F: FnOnce(&Household) -> Result<T, HouseholdError> + Send + 'static,
    {
        self.inner.context.household.read(read).await
    }

    /// Queues `write` on the household's writer, then tells the peers at
    /// once, as a command run through the API does.
    pub async fn write<T, F>(&self, write: F) -> Result<T, HouseholdError>
    where
        T: Send + 'static,
        F: FnOnce(&mut HouseholdWriter) -> Result<T, HouseholdError> + Send + 'static,
    {
        let result = self.inner.context.household.write(write).await;
        if result.is_ok() {
            self.inner.context.net.announce();
        }
        result
    }
}

/// Parses `addr` for the web page. Unlike the API, any address is allowed:
/// a steward may serve the page on the village hall's LAN on purpose.
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{addr:?} is not an address and port"),
        )
    })?;
    TcpListener::bind(parsed).await
}

/// Serves the web page until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: WebState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let closing = state.inner.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The whole page's routes, with its security layers.
pub fn router(state: WebState) -> Router {
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to("/offres") }))
        .route("/events", get(live_updates))
        .merge(offers::routes())
        .merge(agenda::routes())
        .merge(exchanges::routes())
        .merge(community::routes())
        .merge(indicators::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ));
    Router::new()
        .merge(pages)
        .route("/login", get(auth::login))
        .route("/langue/{lang}", get(page::switch_language))
        .merge(assets::routes())
        .fallback(page::not_found)
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::from_fn(auth::security_headers))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::check_host))
        .with_state(state)
}

/// `GET /events`: one `changed` event (its data the store's revision) each
/// time the store takes something in, whoever wrote it. The page's script
/// reloads the main part of the page when it hears one.
async fn live_updates(State(state): State<WebState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let revision = Arc::clone(&state.inner.revision);
    let seen = revision.load(Ordering::Acquire);
    let closing = state.inner.closing.subscribe();
    let stream = futures::stream::unfold(
        (revision, seen, closing),
        |(revision, mut seen, mut closing)| async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(LIVE_POLL) => {}
                    // The node is stopping: end the stream (the browser
                    // reconnects to whatever runs next).
                    _ = closing.wait_for(|closing| *closing) => return None,
                }
                let now = revision.load(Ordering::Acquire);
                if now != seen {
                    seen = now;
                    let event = Event::default().event("changed").data(now.to_string());
                    return Some((Ok(event), (revision, seen, closing)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        page::error_response(self)
    }
}
