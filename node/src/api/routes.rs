//! Every route of the local API, in one table: the router is built from
//! it, and a test checks it against `openapi.json` (every route described,
//! nothing described that is not served).

use std::sync::Arc;

use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post};

use super::{ApiState, changes, resources as r, tokens_routes};

/// `(method, path, handler)` for each route, in the order of `openapi.json`.
pub fn table() -> Vec<(Method, &'static str, MethodRouter<Arc<ApiState>>)> {
    vec![
        (Method::GET, "/v1/health", get(super::health)),
        (Method::GET, "/v1/openapi.json", get(super::openapi)),
        (Method::GET, "/v1/status", get(r::status)),
        (Method::GET, "/v1/peers", get(r::peers)),
        (Method::GET, "/v1/events", get(changes::events)),
        (Method::GET, "/v1/whoami", get(r::whoami)),
        (Method::GET, "/v1/communities", get(r::communities)),
        (Method::GET, "/v1/members", get(r::members)),
        (Method::DELETE, "/v1/members/{member}", delete(r::remove_member)),
        (Method::POST, "/v1/invitations", post(r::invite)),
        (Method::GET, "/v1/devices", get(r::devices)),
        (Method::GET, "/v1/offers", get(r::list_offers)),
        (Method::POST, "/v1/offers", post(r::create_offer)),
        (Method::GET, "/v1/offers/{id}", get(r::show_offer)),
        (Method::PATCH, "/v1/offers/{id}", patch(r::edit_offer)),
        (Method::DELETE, "/v1/offers/{id}", delete(r::delete_offer)),
        (Method::GET, "/v1/requests", get(r::list_requests)),
        (Method::POST, "/v1/requests", post(r::create_request)),
        (Method::GET, "/v1/requests/{id}", get(r::show_request)),
        (Method::PATCH, "/v1/requests/{id}", patch(r::edit_request)),
        (Method::DELETE, "/v1/requests/{id}", delete(r::delete_request)),
        (Method::GET, "/v1/agenda", get(r::list_agenda)),
        (Method::POST, "/v1/agenda", post(r::create_event)),
        (Method::GET, "/v1/agenda/{id}", get(r::show_event)),
        (Method::POST, "/v1/agenda/{id}/rsvp", post(r::rsvp)),
        (Method::POST, "/v1/agenda/{id}/cancel", post(r::cancel_event)),
        (Method::GET, "/v1/exchanges", get(r::list_exchanges)),
        (Method::POST, "/v1/exchanges", post(r::propose_exchange)),
        (Method::POST, "/v1/exchanges/{id}/{action}", post(r::act_on_exchange)),
        (Method::GET, "/v1/balances", get(r::balances)),
        (Method::GET, "/v1/indicators", get(r::indicators)),
        (Method::GET, "/v1/export", get(r::export)),
        (Method::GET, "/v1/tokens", get(tokens_routes::list)),
        (Method::POST, "/v1/tokens", post(tokens_routes::create)),
        (Method::DELETE, "/v1/tokens/{id}", delete(tokens_routes::revoke)),
        (Method::POST, "/v1/cli", post(super::run_command)),
    ]
}

/// Routes only the household's own token may use, whatever their method:
/// a read-only token lists no tokens, runs no command line and takes no
/// backup.
pub fn full_scope_only(path: &str) -> bool {
    // The export is a signed bundle of everything, importable elsewhere: a
    // backup is the household's to make, not a website's.
    path == "/v1/cli" || path == "/v1/export" || path == "/v1/tokens" || path.starts_with("/v1/tokens/")
}
