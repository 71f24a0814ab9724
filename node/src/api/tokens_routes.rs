//! `/v1/tokens`: the household hands read-only tokens to other programs,
//! lists them and revokes them (household token only; see `routes`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::resources::{Asker, Body};
use super::tokens::{Scope, TokenEntry};
use super::{ApiError, ApiState};
use crate::household::now_ms;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    label: String,
    /// Only read-only tokens are handed out: the household's own token is
    /// the one full token.
    #[serde(default = "read_only")]
    scope: Scope,
}

fn read_only() -> Scope {
    Scope::ReadOnly
}

#[derive(Debug, Serialize)]
pub struct NewTokenAnswer {
    /// Shown once: only its digest is kept.
    pub token: String,
    pub entry: TokenEntry,
}

fn failure(error: &ApiError, asker: &Asker) -> Failure {
    match error {
        ApiError::UnknownToken(id) => Failure::said(
            StatusCode::NOT_FOUND,
            "unknown-token",
            asker.catalog,
            "api-token-unknown",
            &[("id", id)],
        ),
        ApiError::AmbiguousToken(id) => Failure::said(
            StatusCode::CONFLICT,
            "ambiguous-token",
            asker.catalog,
            "api-token-ambiguous",
            &[("id", id)],
        ),
        ApiError::File { path, source } => Failure::said(
            StatusCode::INTERNAL_SERVER_ERROR,
            "file-error",
            asker.catalog,
            "err-file",
            &[
                ("path", &path.display().to_string()),
                ("reason", &crate::messages::io(source, asker.catalog)),
            ],
        ),
        other => Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "file-error", other.to_string()),
    }
}

pub async fn list(State(state): State<Arc<ApiState>>, asker: Asker) -> Result<Json<Vec<TokenEntry>>, Failure> {
    state.scoped.list().map(Json).map_err(|error| failure(&error, &asker))
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    asker: Asker,
    Body(new): Body<NewToken>,
) -> Result<Response, Failure> {
    if new.scope != Scope::ReadOnly {
        return Err(Failure::said(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            asker.catalog,
            "api-token-scope",
            &[],
        )
        .with_field("scope"));
    }
    let (token, entry) = state
        .scoped
        .add(&new.label, new.scope, now_ms())
        .map_err(|error| failure(&error, &asker))?;
    let answer = NewTokenAnswer {
        token: token.as_str().to_owned(),
        entry,
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub async fn revoke(
    State(state): State<Arc<ApiState>>,
    asker: Asker,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    state
        .scoped
        .revoke(&id, now_ms())
        .map_err(|error| failure(&error, &asker))?;
    Ok(StatusCode::NO_CONTENT)
}
