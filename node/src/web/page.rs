//! What every page shares: the request's language and CSRF token
//! ([`Page`]), the layout (header, navigation, language switch, live
//! region), form fields that show their error next to them, and error pages.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maillage_crdt::items::ValidationError;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::WebState;
use super::auth::{CSRF_FIELD, cookie};
use crate::household::HouseholdError;
use crate::i18n::{Catalog, Lang};
use crate::messages;

const LANG_COOKIE: &str = "maillage_lang";

/// The sections of the navigation, in its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Offers,
    Requests,
    Agenda,
    Exchanges,
    Community,
    Indicators,
    /// Pages outside the navigation (errors, login).
    None,
}

impl Section {
    const ALL: [(Section, &'static str, &'static str); 6] = [
        (Section::Offers, "/offres", "nav-offers"),
        (Section::Requests, "/demandes", "nav-requests"),
        (Section::Agenda, "/agenda", "nav-agenda"),
        (Section::Exchanges, "/echanges", "nav-exchanges"),
        (Section::Community, "/communaute", "nav-community"),
        (Section::Indicators, "/indicateurs", "nav-indicators"),
    ];
}

/// The request as a page sees it: its language, the CSRF token its forms
/// carry, and where it is (for the language switch to come back to).
#[derive(Clone, Debug)]
pub struct Page {
    pub lang: Lang,
    pub csrf: String,
    /// Path and query of this request.
    pub here: String,
}

impl Page {
    pub fn catalog(&self) -> &'static Catalog {
        Catalog::shared(self.lang)
    }

    /// The message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        self.catalog().t(id, &[])
    }

    /// The message `id` with arguments.
    pub fn ta(&self, id: &str, args: &[(&str, &str)]) -> String {
        self.catalog().t(id, args)
    }

    /// Wraps a household error for the error page.
    pub fn fail(&self, error: HouseholdError) -> WebError {
        let status = match &error {
            HouseholdError::UnknownId { .. } | HouseholdError::UnknownMember(_) => StatusCode::NOT_FOUND,
            HouseholdError::NotYours(_)
            | HouseholdError::NotSteward
            | HouseholdError::NoRootKey
            | HouseholdError::RootKeyLocked => StatusCode::FORBIDDEN,
            HouseholdError::Store(_)
            | HouseholdError::Key(_)
            | HouseholdError::Home(_)
            | HouseholdError::File { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        WebError {
            page: self.clone(),
            status,
            message: messages::household_error(&error, self.catalog()),
        }
    }

    /// The hidden field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }

    /// A Unix ms time in the machine's zone, as villagers read it
    /// ("22/11/2026 18:30" in French, "2026-11-22 18:30" in English).
    pub fn time(&self, ms: i64) -> String {
        let format = match self.lang {
            Lang::Fr => "%d/%m/%Y %H:%M",
            Lang::En => "%Y-%m-%d %H:%M",
        };
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::system()).strftime(format).to_string())
            .unwrap_or_default()
    }

    /// A date without the time.
    pub fn date(&self, ms: i64) -> String {
        let format = match self.lang {
            Lang::Fr => "%d/%m/%Y",
            Lang::En => "%Y-%m-%d",
        };
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(jiff::tz::TimeZone::system()).strftime(format).to_string())
            .unwrap_or_default()
    }
}

impl FromRequestParts<WebState> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Self::Rejection> {
        Ok(Page {
            lang: language(&parts.headers),
            // Only a browser with the session gets the token: the login and
            // error pages shown to anyone else carry none.
            csrf: if super::auth::has_session(state, &parts.headers) {
                state.secrets().csrf().to_owned()
            } else {
                String::new()
            },
            here: parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned()),
        })
    }
}

/// The language cookie if the villager chose one, else the browser's first
/// preference between French and English, else French.
fn language(headers: &HeaderMap) -> Lang {
    if let Some(chosen) = cookie(headers, LANG_COOKIE) {
        return Lang::from_tag(chosen);
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    for tag in accepted.split(',') {
        let tag = tag.split(';').next().unwrap_or_default().trim().to_lowercase();
        if tag.starts_with("fr") {
            return Lang::Fr;
        }
        if tag.starts_with("en") {
            return Lang::En;
        }
    }
    Lang::Fr
}

#[derive(Debug, Deserialize)]
pub struct Back {
    #[serde(default)]
    back: Option<String>,
}

/// `GET /langue/{fr|en}?back=/offres`: remembers the choice and goes back.
pub async fn switch_language(Path(lang): Path<String>, Query(back): Query<Back>) -> Response {
    let lang = Lang::from_tag(&lang);
    // Only a path on this site: never an open redirect.
    let back = back
        .back
        .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&back).into_response();
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
        lang.code()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The whole HTML document around a page's `main`.
pub fn document(page: &Page, title: &str, section: Section, main: Markup) -> Markup {
    let other = match page.lang {
        Lang::Fr => (Lang::En, "English"),
        Lang::En => (Lang::Fr, "Français"),
    };
    let switch = format!("/langue/{}?back={}", other.0.code(), url_encode(&page.here));
    html! {
        (DOCTYPE)
        html lang=(page.lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · maillage" }
                @if !page.csrf.is_empty() {
                    // For scripts that post (the same token as every form's field).
                    meta name="csrf-token" content=(page.csrf);
                }
                link rel="stylesheet" href="/static/maillage.css";
                // No icon: without this line every page also asks for /favicon.ico.
                link rel="icon" href="data:,";
                script src="/static/maillage.js" defer {}
            }
            body {
                a class="skip" href="#main" { (page.t("web-skip-to-content")) }
                header class="site" {
                    p class="brand" { a href="/" { "maillage" } }
                    nav aria-label=(page.t("web-nav-label")) {
                        ul {
                            @for (candidate, href, label) in Section::ALL {
                                li {
                                    @if candidate == section {
                                        a href=(href) aria-current="page" { (page.t(label)) }
                                    } @else {
                                        a href=(href) { (page.t(label)) }
                                    }
                                }
                            }
                        }
                    }
                    a class="lang" href=(switch) lang=(other.0.code()) hreflang=(other.0.code()) { (other.1) }
                }
                main id="main" tabindex="-1" {
                    (main)
                }
                p id="live" class="visually-hidden" role="status" aria-live="polite" data-updated=(page.t("web-updated")) {}
                footer class="site" {
                    p { (page.t("web-footer")) }
                }
            }
        }
    }
}

/// Percent-encodes a path for a query parameter.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Pages of a long list

/// Which part of a long list one page shows, for lists paged with
/// `?page=N` (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// The page shown, from 1, never past the last.
    pub number: usize,
    /// How many pages the list fills; at least 1, even when empty.
    pub pages: usize,
    /// How many items the whole list holds.
    pub total: usize,
    size: usize,
}

impl Paging {
    /// Page `asked` of a list of `total` items, `size` to a page. A page
    /// past the end (a bookmark on a list that shrank) shows the last one.
    pub fn new(asked: usize, total: usize, size: usize) -> Paging {
        let size = size.max(1);
        let pages = total.div_ceil(size).max(1);
        Paging {
            number: asked.clamp(1, pages),
            pages,
            total,
            size,
        }
    }

    /// The page number a `?page=` parameter asks for: anything but a
    /// positive number is the first page, so a mangled link still opens.
    pub fn number_in(text: Option<&str>) -> usize {
        text.and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1)
    }

    /// Positions in the whole list of the items this page shows.
    pub fn range(&self) -> std::ops::Range<usize> {
        let first = (self.number - 1).saturating_mul(self.size).min(self.total);
        first..first.saturating_add(self.size).min(self.total)
    }
}

/// What a pager says, already in the page's language.
#[derive(Debug)]
pub struct PagerText<'a> {
    /// Names the navigation landmark ("Pages of finished exchanges").
    pub label: &'a str,
    /// The links' text: markup, so that a page showing two pagers can add
    /// which list they turn for screen readers.
    pub previous: Markup,
    pub next: Markup,
    /// "Page 2 of 5".
    pub position: &'a str,
}

/// Links to the previous and next pages of a list (`rel="prev"` and
/// `rel="next"`) around the position; nothing when the list fits on one
/// page. `url(n)` is the address of page `n`.
pub fn pager(text: &PagerText<'_>, paging: Paging, url: impl Fn(usize) -> String) -> Markup {
    html! {
        @if paging.pages > 1 {
            nav class="pager" aria-label=(text.label) {
                @if paging.number > 1 {
                    a href=(url(paging.number - 1)) rel="prev" { (text.previous) }
                }
                span aria-current="page" { (text.position) }
                @if paging.number < paging.pages {
                    a href=(url(paging.number + 1)) rel="next" { (text.next) }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Forms

/// Errors of a submitted form, by field name, already translated.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors {
    by_field: BTreeMap<String, String>,
    /// An error that belongs to no field (shown above the form).
    pub general: Option<String>,
}

impl FieldErrors {
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_none()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.by_field.get(field).map(String::as_str)
    }

    pub fn set(&mut self, field: &str, message: String) {
        self.by_field.insert(field.to_owned(), message);
    }

    /// Puts a household error next to the field it names (validation errors
    /// name the document field; `field_of` maps it to the form's input), or
    /// above the form.
    pub fn from_error(page: &Page, error: &HouseholdError, field_of: impl Fn(&str) -> Option<&'static str>) -> Self {
        let mut errors = FieldErrors::default();
        match error {
            HouseholdError::Invalid(invalid) => match field_of(invalid.field) {
                Some(field) => errors.set(field, problem_text(page, invalid)),
                None => errors.general = Some(messages::validation(invalid, page.catalog())),
            },
            other => errors.general = Some(messages::household_error(other, page.catalog())),
        }
        errors
    }
}

/// The problem alone ("must not be empty"): the label already names the field.
fn problem_text(page: &Page, invalid: &ValidationError) -> String {
    messages::problem(&invalid.problem, page.catalog())
}

/// The block above a form listing what went wrong, focused by the script so
/// a screen reader hears it.
pub fn error_summary(page: &Page, errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" tabindex="-1" {
                p { strong { (page.t("web-form-has-errors")) } }
                @if let Some(general) = &errors.general {
                    p { (general) }
                }
                // Each field's error again, as a link to its input (the
                // script prefixes each with the input's label).
                ul {
                    @for (field, message) in &errors.by_field {
                        li { a href=(format!("#{field}")) data-field=(field) { (message) } }
                    }
                }
            }
        }
    }
}

/// What an input needs besides its name and label.
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldOptions<'a> {
    pub required: bool,
    pub hint: Option<&'a str>,
    /// `text` when `None`.
    pub input_type: Option<&'a str>,
    pub max_length: Option<usize>,
    pub autocomplete: Option<&'a str>,
}

fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{name}-hint"));
    }
    if error {
        ids.push(format!("{name}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn field_notes(page: &Page, name: &str, hint: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(hint) = hint {
            p class="hint" id=(format!("{name}-hint")) { (hint) }
        }
        @if let Some(error) = error {
            p class="field-error" id=(format!("{name}-error")) {
                span class="visually-hidden" { (page.t("web-error-prefix")) " " }
                (error)
            }
        }
    }
}

/// A labelled single-line input.
pub fn text_field(
    page: &Page,
    name: &str,
    label: &str,
    value: &str,
    errors: &FieldErrors,
    options: FieldOptions<'_>,
) -> Markup {
    let error = errors.get(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(name) { (label) @if options.required { " " span class="required" aria-hidden="true" { "*" } } }
            (field_notes(page, name, options.hint, error))
            input id=(name) name=(name) type=(options.input_type.unwrap_or("text")) value=(value)
                required[options.required]
                maxlength=[options.max_length]
                autocomplete=[options.autocomplete]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described_by(name, options.hint.is_some(), error.is_some())];
        }
    }
}

/// A labelled multi-line input.
pub fn text_area(
    page: &Page,
    name: &str,
    label: &str,
    value: &str,
    errors: &FieldErrors,
    options: FieldOptions<'_>,
) -> Markup {
    let error = errors.get(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(name) { (label) @if options.required { " " span class="required" aria-hidden="true" { "*" } } }
            (field_notes(page, name, options.hint, error))
            textarea id=(name) name=(name) rows="5"
                required[options.required]
                maxlength=[options.max_length]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described_by(name, options.hint.is_some(), error.is_some())] { (value) }
        }
    }
}

/// A labelled choice among `(value, label)` pairs.
pub fn select_field(
    page: &Page,
    name: &str,
    label: &str,
    choices: &[(String, String)],
    selected: &str,
    errors: &FieldErrors,
    options: FieldOptions<'_>,
) -> Markup {
    let error = errors.get(name);
    html! {
        div class={ "field" @if error.is_some() { " invalid" } } {
            label for=(name) { (label) @if options.required { " " span class="required" aria-hidden="true" { "*" } } }
            (field_notes(page, name, options.hint, error))
            select id=(name) name=(name)
                required[options.required]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[described_by(name, options.hint.is_some(), error.is_some())] {
                @for (value, text) in choices {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

/// A form with one button that POSTs to `action` (close, delete, accept…).
pub fn action_button(page: &Page, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form method="post" action=(action) class="inline" {
            (page.csrf_field())
            button type="submit" class=(class) { (label) }
        }
    }
}

// ---------------------------------------------------------------------------
// Errors

/// A page that could not be shown, in the request's language.
#[derive(Debug)]
pub struct WebError {
    pub page: Page,
    pub status: StatusCode,
    pub message: String,
}

pub fn error_response(error: WebError) -> Response {
    let title = error.page.t("web-error-title");
    let body = html! {
        h1 { (title) }
        p class="error-message" { (error.message) }
        p { a href="/" { (error.page.t("web-back-home")) } }
    };
    (error.status, document(&error.page, &title, Section::None, body)).into_response()
}

pub async fn not_found(page: Page) -> Response {
    error_response(WebError {
        message: page.t("web-not-found"),
        page,
        status: StatusCode::NOT_FOUND,
    })
}

/// A page asked for without a session.
pub fn needs_login(page: &Page) -> Response {
    let title = page.t("web-login-title");
    let body = html! {
        h1 { (title) }
        p { (page.t("web-login-explain")) }
        pre { code { "maillage page" } }
    };
    (StatusCode::UNAUTHORIZED, document(page, &title, Section::None, body)).into_response()
}

pub fn refused_login(page: &Page) -> Response {
    let title = page.t("web-login-title");
    let body = html! {
        h1 { (title) }
        p class="error-message" role="alert" { (page.t("web-login-refused")) }
        pre { code { "maillage page" } }
    };
    (StatusCode::FORBIDDEN, document(page, &title, Section::None, body)).into_response()
}

pub fn forbidden(page: &Page) -> Response {
    error_response(WebError {
        message: page.t("web-csrf-refused"),
        page: page.clone(),
        status: StatusCode::FORBIDDEN,
    })
}

/// Marks text that is already HTML (an SVG chart, a QR code the page drew).
pub fn trusted(html: String) -> Markup {
    PreEscaped(html)
}

#[cfg(test)]
mod tests {
    use super::Paging;

    #[test]
    fn a_list_is_cut_into_pages_and_a_page_past_the_end_shows_the_last() {
        let second = Paging::new(2, 120, 50);
        assert_eq!((second.number, second.pages, second.range()), (2, 3, 50..100));
        assert_eq!(Paging::new(3, 120, 50).range(), 100..120);
        assert_eq!(Paging::new(9, 120, 50).number, 3);
        let empty = Paging::new(1, 0, 50);
        assert_eq!((empty.pages, empty.range()), (1, 0..0));
    }

    #[test]
    fn an_unreadable_page_parameter_opens_the_first_page() {
        assert_eq!(Paging::number_in(Some(" 4 ")), 4);
        for bad in [None, Some(""), Some("0"), Some("-2"), Some("deux")] {
            assert_eq!(Paging::number_in(bad), 1, "{bad:?}");
        }
    }
}
