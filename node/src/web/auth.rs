//! Who may use the page. Three layers, outermost first:
//!
//! 1. **Host check**: the Host header must name this server (its address,
//!    or `localhost` when it listens on loopback). A page on another site
//!    that points a name at 127.0.0.1 (DNS rebinding) is refused before
//!    anything else.
//! 2. **Session**: `/login?token=…` with the household's API token (the link
//!    `maillage page` prints) sets an `HttpOnly`, `SameSite=Strict` cookie
//!    whose value is derived from the token. Every page needs it. Changing
//!    the token (deleting `run/token`) ends every session.
//! 3. **CSRF**: every POST must carry the form field `_csrf` (or the header
//!    `x-csrf-token`) derived from the token, and, when the browser says
//!    where the request comes from (`Origin`, `Sec-Fetch-Site`), come from
//!    this page. The check is one middleware, so no form can forget it.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maillage_crdt::ids::tagged_hash;

use super::page::{self, Page};
use super::{MAX_FORM, WebState};
use crate::api::Token;

pub const SESSION_COOKIE: &str = "maillage_session";
pub const CSRF_FIELD: &str = "_csrf";
const CSRF_HEADER: &str = "x-csrf-token";

/// Values derived from the household's token. Never the token itself: a
/// leaked cookie does not open the API.
#[derive(Clone)]
pub struct Secrets {
    session: String,
    csrf: String,
    token: Token,
    /// For the calendar feed's URL, which a phone fetches with no cookie.
    feed: String,
}

impl Secrets {
    pub fn derive(token: &Token) -> Secrets {
        let derive = |tag: &str| hex(&tagged_hash(tag, &[token.as_str().as_bytes()]));
        Secrets {
            session: derive("maillage/web/session"),
            csrf: derive("maillage/web/csrf"),
            token: token.clone(),
            feed: derive("maillage/web/calendar-feed")[..32].to_owned(),
        }
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The key in the calendar feed's URL (`/agenda.ics?cle=…`).
    pub fn feed_key(&self) -> &str {
        &self.feed
    }

    /// Whether `presented` is the calendar feed key, in constant time.
    pub fn is_feed_key(&self, presented: &str) -> bool {
        constant_time_eq(self.feed.as_bytes(), presented.as_bytes())
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(…)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    if expected.len() != presented.len() {
        return false;
    }
    let difference = expected.iter().zip(presented).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// The Host values a request may carry for a server listening on `address`.
pub fn allowed_hosts(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let mut hosts = vec![format!("{address}")];
    if address.ip().is_loopback() || address.ip().is_unspecified() {
        hosts.push(format!("localhost:{port}"));
        hosts.push(format!("127.0.0.1:{port}"));
        hosts.push(format!("[::1]:{port}"));
    }
    hosts
}

pub async fn check_host(State(state): State<WebState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // An unspecified listen address (0.0.0.0) serves the LAN on purpose: any
    // of the machine's addresses may be in Host.
    let serving_everywhere = state
        .inner
        .allowed_hosts
        .first()
        .is_some_and(|first| first.starts_with("0.0.0.0:") || first.starts_with("[::]:"));
    let port_matches = state
        .inner
        .allowed_hosts
        .first()
        .and_then(|first| first.rsplit(':').next())
        .is_some_and(|port| host.rsplit(':').next() == Some(port));
    if state.inner.allowed_hosts.iter().any(|allowed| allowed == host) || (serving_everywhere && port_matches) {
        next.run(request).await
    } else {
        (StatusCode::MISDIRECTED_REQUEST, "unknown host").into_response()
    }
}

/// Headers every response carries: no inline script or style, no framing,
/// no referrer (the login URL holds the token).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `GET /login?token=…`: opens a session and goes to the offers, so the
/// token leaves the address bar at once.
pub async fn login(
    State(state): State<WebState>,
    page: Page,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let presented = query.get("token").map(String::as_str).unwrap_or_default();
    if !state.secrets().token.matches(presented) {
        return page::refused_login(&page);
    }
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000",
        state.secrets().session
    );
    let mut response = Redirect::to("/offres").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub(crate) fn has_session(state: &WebState, headers: &HeaderMap) -> bool {
    cookie(headers, SESSION_COOKIE)
        .is_some_and(|value| constant_time_eq(state.secrets().session.as_bytes(), value.as_bytes()))
}

/// Every page: a session, and for POSTs the CSRF token and a same-origin
/// request.
pub async fn require_session(State(state): State<WebState>, page: Page, request: Request, next: Next) -> Response {
    // The calendar feed is fetched by phones, with its own key in the URL.
    let is_feed = request.uri().path() == "/agenda.ics";
    if !is_feed && !has_session(&state, request.headers()) {
        return page::needs_login(&page);
    }
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    if !same_origin(request.headers()) {
        return page::forbidden(&page);
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_FORM).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response(),
    };
    let from_header = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let from_form = form_urlencoded_field(&bytes, CSRF_FIELD);
    let presented = from_header.or(from_form).unwrap_or_default();
    if !constant_time_eq(state.secrets().csrf.as_bytes(), presented.as_bytes()) {
        return page::forbidden(&page);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// Browsers say where a request comes from; when they do, it must be here.
fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin.strip_prefix("http://").is_some_and(|rest| rest == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_differ_from_the_token_and_from_each_other() {
        let token = Token::generate();
        let secrets = Secrets::derive(&token);
        assert_ne!(secrets.session, token.as_str());
        assert_ne!(secrets.session, secrets.csrf);
        assert!(secrets.is_feed_key(secrets.feed_key()));
        assert!(!secrets.is_feed_key("nope"));
    }

    #[test]
    fn loopback_servers_accept_localhost_names_only() {
        let hosts = allowed_hosts("127.0.0.1:7878".parse().unwrap());
        assert!(hosts.contains(&"localhost:7878".to_owned()));
        assert!(!hosts.iter().any(|h| h.starts_with("evil.example")));
    }

    #[test]
    fn cross_site_posts_are_not_same_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:7878"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:7878"));
        assert!(same_origin(&headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers));
    }
}
