//! The local HTTP+JSON API, on loopback: how other programs — and the
//! command line, while `maillage node` runs and owns the store — use a
//! household's node.
//!
//! ```text
//! GET  /v1/offers?category=outils   → {"items": […], "page": 1, "per_page": 50, "more": false}
//! POST /v1/offers {"title": "…"}    → 201 {"id": "…"}
//! GET  /v1/events?since=41          → {"events": […], "next": 57, "reset": false}
//! POST /v1/cli {"args": ["offer", "list"], "lang": "fr"}  (the binary's own channel)
//! ```
//!
//! Every route is in `api/openapi.json` (served at `/v1/openapi.json`), and
//! a test checks that the router ([`routes::table`]) serves exactly those.
//! `resources` holds the typed resources, `changes` the event stream,
//! `failure` the JSON errors (a stable `code`, the `field` at fault, the
//! message in the asker's language), `tokens` the scoped tokens.
//!
//! Every request carries `Authorization: Bearer <token>`; anything else gets
//! a 401. The household's token (`run/token`) may do everything; a
//! read-only token (`maillage api token add --read-only`) may only read,
//! and never reach `/v1/cli` or `/v1/tokens`. The server listens on
//! loopback only, and the tokens keep out the machine's other users and the
//! web pages a browser may point at loopback. Request bodies are limited to
//! [`MAX_BODY`].
//!
//! Files in the home (see `home`): `run/token`, 32 random bytes in hex (mode
//! 0600, made on the first start and kept), and `run/api.json`, a [`RunInfo`]
//! written once the API listens and removed on a clean stop. A `kill -9`
//! leaves `api.json` behind; [`find_running_node`] sees that its pid is gone
//! (or that nothing listens any more) and the command line opens the store
//! as when no node runs.
//!
//! The runtime's part: [`Token::load_or_create`], [`bind`],
//! [`write_run_files`], [`serve`] until shutdown, [`remove_run_files`].
//! The command line's part: [`find_running_node`], then [`RunningNode::call`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Json, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::context::NodeContext;
use crate::home::{Home, create_private_dir, write_private_file};
use crate::i18n::Catalog;
use crate::keys::Passphrase;

mod changes;
mod failure;
mod resources;
pub mod routes;
mod tokens;
mod tokens_routes;

use failure::Failure;
pub use tokens::{Scope, ScopedTokens, TokenEntry};

/// The API's description, served at `/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("api/openapi.json");

/// How many documents a bundle streamed by `GET /v1/export` holds.
pub const DOCUMENTS_HEADER: &str = "x-maillage-documents";

/// The largest request body the API reads.
pub const MAX_BODY: usize = 64 * 1024;

/// How long the command line waits for a node to say it is alive.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the command line waits for a command run by the node. Commands
/// are local (a bundle import is the slowest); this only guards against a
/// node that hangs.
const CALL_TIMEOUT: Duration = Duration::from_secs(600);

/// How `maillage node` was asked to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// libp2p listen multiaddrs; empty for the runtime's defaults.
    pub listen: Vec<String>,
    /// Where the web page listens (`None`: no web page).
    pub web: Option<String>,
    /// Where the API listens: a loopback address, port 0 for any free port.
    pub api: String,
    /// Relays to reach the mesh through (multiaddrs).
    pub relays: Vec<String>,
}

/// One command line, sent by the `maillage` binary to its node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliRequest {
    /// The arguments after the binary's name, without `--home`.
    pub args: Vec<String>,
    /// `fr` or `en`: the language of the caller, whose environment the node
    /// does not share.
    pub lang: String,
    /// One JSON document on stdout instead of text.
    #[serde(default)]
    pub json: bool,
    /// The caller's working directory: relative file names in `args` (export,
    /// import, event ics --output) mean files there, not in the node's.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// The passphrase of a protected household root key, read by the
    /// caller's terminal for the commands that need it (`device link`,
    /// `device revoke`, `key protect`/`unprotect`). It travels only over
    /// this loopback API behind the token, and the node holds the decrypted
    /// key no longer than the command needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<Passphrase>,
}

/// What a command printed, and its exit code, as the binary hands them on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliOutcome {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: u8,
}

/// Runs one command inside the node. It lives in the `maillage` binary (the
/// command tree is there) and is handed to the runtime by `maillage node`.
/// It blocks (household lock, redb): call it on a blocking thread.
pub type CliRunner = Arc<dyn Fn(&NodeContext, CliRequest) -> CliOutcome + Send + Sync>;

/// What [`serve`] calls for `POST /v1/cli`: a [`CliRunner`] with the node's
/// context bound in (see [`bind_context`]). Called on a blocking thread.
pub type Runner = Arc<dyn Fn(CliRequest) -> CliOutcome + Send + Sync>;

/// Binds `runner` to the node's context, for [`serve`].
pub fn bind_context(runner: CliRunner, context: NodeContext) -> Runner {
    Arc::new(move |request| runner(&context, request))
}

/// `GET /v1/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The household's id.
    pub household: String,
    pub pid: u32,
}

/// `run/api.json`: where the running node listens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The API's base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    pub pid: u32,
    /// The web page's URL, when the node serves one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<String>,
}

/// Errors of the API's two sides.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("the API address {0:?} is not an IP address and port (e.g. 127.0.0.1:0)")]
    BadAddress(String),
    #[error("the API must listen on loopback (127.0.0.1 or ::1), not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot read or write {path}: {source}")]
    File { path: PathBuf, source: io::Error },
    #[error("the node running on this home (pid {pid}) refused the token in {path}")]
    Unauthorized { pid: u32, path: PathBuf },
    #[error("the node running on this home (pid {pid}) no longer listens at {url}")]
    NotListening { pid: u32, url: String },
    #[error("the node running on this home (pid {pid}) does not answer: {reason}")]
    Unreachable { pid: u32, reason: String },
    #[error("no node is running on this home: start one with `maillage node`")]
    NoNode,
    #[error("a node is running on this home (pid {0}): stop it first")]
    NodeRunning(u32),
    #[error("no API token matches {0:?}")]
    UnknownToken(String),
    #[error("{0:?} matches several API tokens: give more of its id")]
    AmbiguousToken(String),
}

// ---------------------------------------------------------------------------
// The token

/// The API's bearer token. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// 32 random bytes, in hex.
    pub fn generate() -> Token {
        let bytes: [u8; 32] = rand::random();
        Token(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn path(home: &Home) -> PathBuf {
        home.run_dir().join("token")
    }

    /// The home's token, made (mode 0600) if there is none yet. A token file
    /// that is damaged or that others could read is replaced.
    pub fn load_or_create(home: &Home) -> Result<Token, ApiError> {
        let path = Token::path(home);
        let file_error = |source| ApiError::File {
            path: path.clone(),
            source,
        };
        match Token::read(home) {
            Ok(token) => {
                if !readable_by_others(&path).map_err(file_error)? {
                    return Ok(token);
                }
            }
            Err(ApiError::File { source, .. })
                if matches!(source.kind(), io::ErrorKind::NotFound | io::ErrorKind::InvalidData) => {}
            Err(other) => return Err(other),
        }
        let dir = home.run_dir();
        create_private_dir(&dir).map_err(|source| ApiError::File { path: dir, source })?;
        let token = Token::generate();
        write_private_file(&path, token.0.as_bytes()).map_err(file_error)?;
        Ok(token)
    }

    /// The home's token, as the command line reads it.
    pub fn read(home: &Home) -> Result<Token, ApiError> {
        let path = Token::path(home);
        let text = std::fs::read_to_string(&path).map_err(|source| ApiError::File {
            path: path.clone(),
            source,
        })?;
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::File {
                path,
                source: io::Error::new(io::ErrorKind::InvalidData, "not a maillage API token"),
            });
        }
        Ok(Token(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in time independent of where `presented` differs (its length
    /// is not a secret: every token has 64 digits).
    pub fn matches(&self, presented: &str) -> bool {
        Token::equal(&self.0, presented)
    }

    /// Compares two secrets in a time that does not depend on where they
    /// first differ.
    pub(crate) fn equal(expected: &str, presented: &str) -> bool {
        let (expected, presented) = (expected.as_bytes(), presented.as_bytes());
        if expected.len() != presented.len() {
            return false;
        }
        let difference = expected.iter().zip(presented).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> io::Result<bool> {
    Ok(false)
}

// ---------------------------------------------------------------------------
// Run files

fn run_info_path(home: &Home) -> PathBuf {
    home.run_dir().join("api.json")
}

/// Records where this process's API (and web page) listen, atomically.
pub fn write_run_files(home: &Home, api: SocketAddr, web: Option<SocketAddr>) -> Result<(), ApiError> {
    let dir = home.run_dir();
    create_private_dir(&dir).map_err(|source| ApiError::File { path: dir, source })?;
    let info = RunInfo {
        url: format!("http://{api}"),
        pid: std::process::id(),
        web: web.map(|web| format!("http://{web}")),
    };
    let path = run_info_path(home);
    let write = || {
        let mut bytes = serde_json::to_vec_pretty(&info)?;
        bytes.push(b'\n');
        write_private_file(&path, &bytes)
    };
    write().map_err(|source| ApiError::File {
        path: path.clone(),
        source,
    })
}

/// Removes `api.json` if this process wrote it. The token stays.
pub fn remove_run_files(home: &Home) -> Result<(), ApiError> {
    let path = run_info_path(home);
    match read_run_info(home) {
        Ok(Some(info)) if info.pid == std::process::id() => {
            std::fs::remove_file(&path).map_err(|source| ApiError::File { path, source })
        }
        _ => Ok(()),
    }
}

/// `api.json`, if there is one.
pub fn read_run_info(home: &Home) -> Result<Option<RunInfo>, ApiError> {
    let path = run_info_path(home);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ApiError::File { path, source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|error| ApiError::File {
            path,
            source: io::Error::new(io::ErrorKind::InvalidData, error),
        })
}

/// Whether process `pid` exists. Without `/proc` we cannot tell: say yes and
/// let the health check decide.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

// ---------------------------------------------------------------------------
// The server

/// Parses `addr` and listens there, refusing anything but loopback.
pub async fn bind(addr: &str) -> Result<TcpListener, ApiError> {
    let addr: SocketAddr = addr.parse().map_err(|_| ApiError::BadAddress(addr.to_owned()))?;
    if !addr.ip().is_loopback() {
        return Err(ApiError::NotLoopback(addr));
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| ApiError::Bind { addr, source })
}

/// What every route of the API shares.
pub struct ApiState {
    token: Token,
    scoped: ScopedTokens,
    health: Health,
    runner: Runner,
    context: NodeContext,
    /// Becomes true when the server stops: a request waiting for events
    /// answers at once, or it would hold the node's shutdown until its wait
    /// is over.
    closing: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// The API of the node whose household is `context`'s, on `home`.
    pub fn new(home: &Home, token: Token, runner: Runner, context: NodeContext) -> ApiState {
        ApiState {
            token,
            scoped: ScopedTokens::of(home),
            health: Health {
                household: context.household.id().to_text(),
                pid: std::process::id(),
            },
            runner,
            context,
            closing: tokio::sync::watch::Sender::new(false),
        }
    }
}

/// Serves the API until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let closing = state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    axum::serve(listener, router(Arc::new(state)))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The routes of [`routes::table`], behind the token check.
pub fn router(state: Arc<ApiState>) -> Router {
    let mut router = Router::new();
    for (_, path, handler) in routes::table() {
        router = router.route(path, handler);
    }
    router
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), authorize))
        .with_state(state)
}

fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(serde_json::json!({ "code": code, "message": message }))).into_response()
}

/// Lets in the household's token (everything) and live scoped tokens
/// (reads only, see [`Scope`]).
async fn authorize(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let catalog = Catalog::shared(failure::language(request.headers()));
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let scope = match presented {
        Some(token) if state.token.matches(token) => Some(Scope::Full),
        Some(token) => state.scoped.scope_of(token),
        None => None,
    };
    let Some(scope) = scope else {
        let mut response = refusal(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            &catalog.t("api-unauthorized", &[]),
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    };
    // Checked here, once for every route, rather than in each handler: a
    // new write route cannot forget it.
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if scope == Scope::ReadOnly && (!reads || routes::full_scope_only(request.uri().path())) {
        return Failure::said(StatusCode::FORBIDDEN, "read-only-token", catalog, "api-read-only", &[]).into_response();
    }
    next.run(request).await
}

async fn no_route(request: Request) -> Response {
    let catalog = Catalog::shared(failure::language(request.headers()));
    Failure::said(StatusCode::NOT_FOUND, "no-route", catalog, "api-no-route", &[]).into_response()
}

async fn health(State(state): State<Arc<ApiState>>) -> Json<Health> {
    Json(state.health.clone())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn run_command(State(state): State<Arc<ApiState>>, request: Result<Json<CliRequest>, JsonRejection>) -> Response {
    let request = match request {
        Ok(Json(request)) => request,
        Err(rejection) => return refusal(rejection.status(), "bad-request", &rejection.body_text()),
    };
    let runner = Arc::clone(&state.runner);
    // The household lock and redb block: keep them off the async workers.
    match tokio::task::spawn_blocking(move || runner(request)).await {
        Ok(outcome) => Json(outcome).into_response(),
        Err(failure) => {
            tracing::error!(%failure, "a command run through the API failed");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the command failed unexpectedly; see the node's log",
            )
        }
    }
}

// ---------------------------------------------------------------------------
// The client

/// A node found running on a home, ready to take commands.
#[derive(Clone, Debug)]
pub struct RunningNode {
    pub url: String,
    pub pid: u32,
    token: Token,
    token_path: PathBuf,
}

/// The node running on `home`, if any.
///
/// `Ok(None)` when none runs: no `api.json`, or one left by a node that is
/// gone (its pid no longer exists, or nothing listens at its address). Then
/// the caller opens the store itself; if a node does hold it after all, the
/// store refuses to open, so this never lets two writers in. An error when a
/// node seems to run but cannot be used (wrong token, no answer in time).
pub fn find_running_node(home: &Home) -> Result<Option<RunningNode>, ApiError> {
    // A damaged api.json cannot have been written by a running node (it is
    // written atomically): treat it as a stale one.
    let Ok(Some(info)) = read_run_info(home) else {
        return Ok(None);
    };
    if !process_alive(info.pid) {
        return Ok(None);
    }
    let node = RunningNode {
        url: info.url,
        pid: info.pid,
        token: Token::read(home)?,
        token_path: Token::path(home),
    };
    match node.health() {
        Ok(_) => Ok(Some(node)),
        Err(ApiError::NotListening { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

impl RunningNode {
    /// `GET /v1/health`, waiting at most half a second.
    pub fn health(&self) -> Result<Health, ApiError> {
        let response = agent(PROBE_TIMEOUT)
            .get(format!("{}/v1/health", self.url))
            .header("Authorization", self.bearer())
            .call();
        self.answer(response)
    }

    /// Runs one command in the node: `POST /v1/cli`.
    pub fn call(&self, request: &CliRequest) -> Result<CliOutcome, ApiError> {
        let response = agent(CALL_TIMEOUT)
            .post(format!("{}/v1/cli", self.url))
            .header("Authorization", self.bearer())
            .send_json(request);
        self.answer(response)
    }

    /// The household's signed bundle (see `GET /v1/export`) and how many
    /// documents it holds.
    /// Refusals come in `lang` (`fr` or `en`), the caller's language.
    pub fn export(&self, community: Option<&str>, lang: &str) -> Result<(Vec<u8>, usize), ApiError> {
        let mut request = agent(CALL_TIMEOUT)
            .get(format!("{}/v1/export", self.url))
            .header("Authorization", self.bearer())
            .header("Accept-Language", lang);
        if let Some(community) = community {
            request = request.query("community", community);
        }
        let unreachable = |reason: String| ApiError::Unreachable { pid: self.pid, reason };
        let mut response = request.call().map_err(|error| unreachable(error.to_string()))?;
        match response.status() {
            ureq::http::StatusCode::OK => {}
            ureq::http::StatusCode::UNAUTHORIZED => {
                return Err(ApiError::Unauthorized {
                    pid: self.pid,
                    path: self.token_path.clone(),
                });
            }
            _ => {
                // The node's own sentence, in this user's language.
                let answer: serde_json::Value = response.body_mut().read_json().unwrap_or_default();
                let message = answer["message"].as_str().unwrap_or("HTTP error").to_owned();
                return Err(unreachable(message));
            }
        }
        let count = response
            .headers()
            .get(DOCUMENTS_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let bytes = response
            .body_mut()
            .with_config()
            .limit(maillage_protocol::bundle::MAX_BUNDLE_BYTES as u64)
            .read_to_vec()
            .map_err(|error| unreachable(error.to_string()))?;
        Ok((bytes, count))
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token.as_str())
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ApiError> {
        let unreachable = |reason: String| ApiError::Unreachable { pid: self.pid, reason };
        let mut response = match response {
            Ok(response) => response,
            Err(ureq::Error::Io(error)) if error.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(ApiError::NotListening {
                    pid: self.pid,
                    url: self.url.clone(),
                });
            }
            Err(error) => return Err(unreachable(error.to_string())),
        };
        match response.status() {
            ureq::http::StatusCode::OK => response
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_json()
                .map_err(|error| unreachable(error.to_string())),
            ureq::http::StatusCode::UNAUTHORIZED => Err(ApiError::Unauthorized {
                pid: self.pid,
                path: self.token_path.clone(),
            }),
            status => Err(unreachable(format!("HTTP {status}"))),
        }
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        // Loopback: never through a proxy named in the environment.
        .proxy(None)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(PROBE_TIMEOUT))
        .timeout_global(Some(timeout))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        home.create().unwrap();
        (dir, home)
    }

    #[test]
    fn a_token_matches_itself_only() {
        let token = Token::generate();
        assert_eq!(token.as_str().len(), 64);
        assert!(token.matches(token.as_str()));
        let mut wrong = token.as_str().to_owned().into_bytes();
        wrong[63] = if wrong[63] == b'0' { b'1' } else { b'0' };
        assert!(!token.matches(std::str::from_utf8(&wrong).unwrap()));
        assert!(!token.matches(&token.as_str()[..63]));
        assert!(!token.matches(""));
        assert!(!token.matches(&format!("{} ", token.as_str())));
        assert_ne!(Token::generate(), token);
        assert_eq!(format!("{token:?}"), "Token(…)");
    }

    #[test]
    fn the_token_is_made_once_private_and_kept() {
        let (_dir, home) = home();
        assert!(matches!(Token::read(&home), Err(ApiError::File { .. })));
        let token = Token::load_or_create(&home).unwrap();
        assert_eq!(Token::read(&home).unwrap(), token);
        assert_eq!(Token::load_or_create(&home).unwrap(), token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&Token::path(&home)), 0o600);
            assert_eq!(mode(&home.run_dir()), 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_token_others_could_read_or_a_damaged_one_is_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, home) = home();
        let token = Token::load_or_create(&home).unwrap();
        std::fs::set_permissions(Token::path(&home), std::fs::Permissions::from_mode(0o644)).unwrap();
        let replaced = Token::load_or_create(&home).unwrap();
        assert_ne!(replaced, token);
        assert!(!readable_by_others(&Token::path(&home)).unwrap());

        std::fs::write(Token::path(&home), "not hex\n").unwrap();
        assert!(Token::read(&home).is_err());
        let again = Token::load_or_create(&home).unwrap();
        assert_eq!(Token::read(&home).unwrap(), again);
    }

    #[test]
    fn run_files_are_written_read_and_removed_by_their_process() {
        let (_dir, home) = home();
        assert_eq!(read_run_info(&home).unwrap(), None);
        let api: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        write_run_files(&home, api, Some("127.0.0.1:8080".parse().unwrap())).unwrap();
        let info = read_run_info(&home).unwrap().unwrap();
        assert_eq!(info.url, "http://127.0.0.1:4321");
        assert_eq!(info.pid, std::process::id());
        assert_eq!(info.web.as_deref(), Some("http://127.0.0.1:8080"));
        remove_run_files(&home).unwrap();
        assert_eq!(read_run_info(&home).unwrap(), None);
        // Removing twice is fine.
        remove_run_files(&home).unwrap();

        // Another process's file is left alone.
        let other = RunInfo {
            url: "http://127.0.0.1:1".into(),
            pid: std::process::id().wrapping_add(1),
            web: None,
        };
        std::fs::write(run_info_path(&home), serde_json::to_vec(&other).unwrap()).unwrap();
        remove_run_files(&home).unwrap();
        assert_eq!(read_run_info(&home).unwrap(), Some(other));
    }

    #[test]
    fn no_node_is_found_without_run_files_or_with_damaged_ones() {
        let (_dir, home) = home();
        assert!(find_running_node(&home).unwrap().is_none());
        std::fs::create_dir_all(home.run_dir()).unwrap();
        std::fs::write(run_info_path(&home), "{ half").unwrap();
        assert!(find_running_node(&home).unwrap().is_none());
    }

    #[test]
    fn a_live_pid_with_nothing_listening_is_a_stale_file() {
        let (_dir, home) = home();
        Token::load_or_create(&home).unwrap();
        // A port that was free a moment ago: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        write_run_files(&home, port, None).unwrap();
        assert!(find_running_node(&home).unwrap().is_none());
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_bound() {
        assert!(matches!(bind("0.0.0.0:0").await, Err(ApiError::NotLoopback(_))));
        assert!(matches!(bind("localhost:0").await, Err(ApiError::BadAddress(_))));
        let listener = bind("127.0.0.1:0").await.unwrap();
        assert!(listener.local_addr().unwrap().ip().is_loopback());
    }
}
