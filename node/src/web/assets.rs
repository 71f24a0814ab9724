//! The page's CSS and JavaScript, embedded in the binary: nothing is fetched
//! from the internet, and `maillage node` is all a villager runs.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::WebState;

/// One stylesheet for the whole page (one request), kept in one file per
/// page in the source.
const STYLE: &str = concat!(
    include_str!("static/maillage.css"),
    include_str!("static/offers.css"),
    include_str!("static/agenda.css"),
    include_str!("static/exchanges.css"),
    include_str!("static/community.css"),
    include_str!("static/indicators.css"),
);
const SCRIPT: &str = include_str!("static/maillage.js");

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/static/maillage.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/static/maillage.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change only with the binary; an hour keeps a Raspberry Pi from
    // serving them on every click without pinning an old version for long.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
