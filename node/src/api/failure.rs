//! How the local API says no: a status, and a JSON body every client can
//! act on without reading prose.
//!
//! ```json
//! {"code": "invalid-field", "field": "title", "message": "titre : ne peut pas être vide"}
//! ```
//!
//! `code` is stable (see [`HouseholdError::code`]); `field` names the input
//! at fault when there is one; `message` is the sentence a person reads, in
//! the language the request asked for (`Accept-Language`, French first).

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::household::HouseholdError;
use crate::i18n::{Catalog, Lang};
use crate::messages;

/// An API error, ready to be sent.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    body: FailureBody,
}

#[derive(Debug, Serialize)]
struct FailureBody {
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    message: String,
}

impl Failure {
    pub fn new(status: StatusCode, code: &'static str, message: String) -> Failure {
        Failure {
            status,
            body: FailureBody {
                code,
                field: None,
                message,
            },
        }
    }

    /// A message from the catalogue, by id.
    pub fn said(status: StatusCode, code: &'static str, catalog: &Catalog, id: &str, args: &[(&str, &str)]) -> Failure {
        Failure::new(status, code, catalog.t(id, args))
    }

    pub fn with_field(mut self, field: &'static str) -> Failure {
        self.body.field = Some(field);
        self
    }

    /// A household operation's error, in the asker's language.
    pub fn household(error: &HouseholdError, catalog: &Catalog) -> Failure {
        use HouseholdError as E;
        let status = match error {
            E::UnknownId { .. } | E::UnknownMember(_) | E::NoCommunity => StatusCode::NOT_FOUND,
            E::AmbiguousId { .. } | E::AmbiguousMember { .. } => StatusCode::CONFLICT,
            E::Invalid(_) | E::CreditLimit { .. } | E::Invite(_) | E::NotAllowed(_) | E::Refused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            E::NotYours(_) | E::NotSteward | E::NoRootKey | E::RootKeyLocked => StatusCode::FORBIDDEN,
            E::WriterStopped | E::Store(crate::StoreError::Locked) => StatusCode::SERVICE_UNAVAILABLE,
            E::Store(crate::StoreError::DiskFull) => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut failure = Failure::new(status, error.code(), messages::household_error(error, catalog));
        failure.body.field = error.field();
        failure
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The language a request asks for: `Accept-Language`'s first French or
/// English tag, else French (the product speaks French first).
pub fn language(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .split(',')
                .map(|tag| tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                .find_map(|tag| match tag.get(..2) {
                    Some("fr") => Some(Lang::Fr),
                    Some("en") => Some(Lang::En),
                    _ => None,
                })
        })
        .unwrap_or(Lang::Fr)
}
