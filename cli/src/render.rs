//! Human output: French or English text from the shared catalogue.

use maillage_crdt::items::ValidationError;
use maillage_node::Summary;
use maillage_node::api::{ApiError, CliOutcome};
use maillage_node::household::HouseholdError;
use maillage_node::i18n::{Catalog, Lang};
use maillage_node::keys::KeyError;
use maillage_node::messages::{self, io};

/// Formats a Unix ms time in the local zone, minutes precision.
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Cuts text to `width` characters for a column.
pub fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text}{}", " ".repeat(width - count))
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// One line of an offer or request listing.
pub fn item_line(summary: &Summary, owner: &str, catalog: &Catalog) -> String {
    let kind = summary
        .offer_kind
        .as_deref()
        .map(|k| catalog.word("kind", k))
        .unwrap_or_default();
    format!(
        "{}  {}  {}  {}  {}  {}  {}",
        summary.id.short(),
        fit(&summary.title, 36),
        fit(&summary.category, 12),
        fit(&kind, 12),
        fit(&catalog.word("state", &summary.state), 10),
        fit(summary.place.as_deref().unwrap_or("-"), 14),
        owner
    )
}

/// Reports `error` in `outcome`: one translated line on stderr, and with
/// `--json` a JSON document on stdout; the exit code says what kind it was.
pub fn failure(error: &anyhow::Error, json: bool, catalog: &Catalog, outcome: &mut CliOutcome) {
    let message = error_line(error, catalog);
    if json {
        let document = serde_json::json!({ "error": message, "code": error_code(error) });
        outcome.stdout.push_str(&format!("{document}\n"));
    }
    let prefix = catalog.t("error-prefix", &[]);
    outcome.stderr.push_str(&match catalog.lang() {
        Lang::Fr => format!("{prefix} : {message}\n"),
        Lang::En => format!("{prefix}: {message}\n"),
    });
    outcome.exit_code = exit_code(error);
}

/// An error talking to the node, wherever it is in the chain (the runtime
/// wraps those of `maillage node`).
fn api_error(error: &anyhow::Error) -> Option<&ApiError> {
    error.chain().find_map(|cause| cause.downcast_ref::<ApiError>())
}

fn api(error: &ApiError, catalog: &Catalog) -> String {
    use ApiError as E;
    match error {
        E::BadAddress(addr) => catalog.t("err-api-address", &[("addr", addr)]),
        E::NotLoopback(addr) => catalog.t("err-api-loopback", &[("addr", &addr.to_string())]),
        E::Bind { addr, source } => catalog.t(
            "err-listen",
            &[("addr", &addr.to_string()), ("reason", &io(source, catalog))],
        ),
        E::File { path, source } => catalog.t(
            "err-file",
            &[("path", &path.display().to_string()), ("reason", &io(source, catalog))],
        ),
        E::Unauthorized { pid, path } => catalog.t(
            "err-node-unauthorized",
            &[("pid", &pid.to_string()), ("path", &path.display().to_string())],
        ),
        E::NotListening { pid, url } => catalog.t("err-node-not-listening", &[("pid", &pid.to_string()), ("url", url)]),
        E::Unreachable { pid, reason } => {
            catalog.t("err-node-unreachable", &[("pid", &pid.to_string()), ("reason", reason)])
        }
        E::NoNode => catalog.t("err-no-node", &[]),
        E::NodeRunning(pid) => catalog.t("err-node-running", &[("pid", &pid.to_string())]),
        E::UnknownToken(id) => catalog.t("api-token-unknown", &[("id", id)]),
        E::AmbiguousToken(id) => catalog.t("api-token-ambiguous", &[("id", id)]),
        other => other.to_string(),
    }
}

/// The one line a user sees for an error, in their language when we have it.
pub fn error_line(error: &anyhow::Error, catalog: &Catalog) -> String {
    if let Some(error) = api_error(error) {
        return api(error, catalog);
    }
    if let Some(line) = crate::admission::error_line(error, catalog) {
        return line;
    }
    if let Some(error) = error.downcast_ref::<HouseholdError>() {
        return messages::household_error(error, catalog);
    }
    if let Some(invalid) = error.downcast_ref::<ValidationError>() {
        return messages::validation(invalid, catalog);
    }
    if let Some(amount) = error.downcast_ref::<maillage_crdt::money::AmountError>() {
        return messages::amount(amount, catalog);
    }
    if let Some(time) = error.downcast_ref::<maillage_crdt::time::TimeError>() {
        let text = catalog.t(time.code(), &[("text", time.input())]);
        return if text == time.code() { time.to_string() } else { text };
    }
    // Context chains read best as one line: "reading X: cause".
    error.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

/// A stable machine-readable code for `--json` error documents.
pub fn error_code(error: &anyhow::Error) -> &'static str {
    if api_error(error).is_some() {
        return "node";
    }
    match error.downcast_ref::<HouseholdError>() {
        Some(HouseholdError::NotInitialised) => "not-initialised",
        Some(HouseholdError::NoCommunity) => "no-community",
        Some(HouseholdError::UnknownId { .. }) => "unknown-id",
        Some(HouseholdError::AmbiguousId { .. }) => "ambiguous-id",
        Some(HouseholdError::UnknownMember(_)) => "unknown-member",
        Some(HouseholdError::AmbiguousMember { .. }) => "ambiguous-member",
        Some(HouseholdError::Invalid(_)) => "invalid",
        Some(HouseholdError::Bundle(_) | HouseholdError::BundleContent(_) | HouseholdError::BundleFromStranger) => {
            "bundle-refused"
        }
        Some(HouseholdError::Key(_)) => "key",
        Some(HouseholdError::Store(_)) => "store",
        Some(_) => "refused",
        None if error.downcast_ref::<maillage_crdt::time::TimeError>().is_some() => "invalid-date",
        None if error.downcast_ref::<ValidationError>().is_some() => "invalid",
        None => "error",
    }
}

/// Exit codes: 1 for a refused request (bad input, not allowed), 2 for a
/// problem with the home itself (not set up, keys, store, a node that cannot
/// be talked to) — scripts can tell "try another input" from "fix the
/// installation".
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if let Some(error) = api_error(error) {
        return match error {
            ApiError::File { .. }
            | ApiError::Unauthorized { .. }
            | ApiError::NotListening { .. }
            | ApiError::Unreachable { .. } => 2,
            _ => 1,
        };
    }
    match error.downcast_ref::<HouseholdError>() {
        // A mistyped passphrase is the user's to fix, like any refusal.
        Some(HouseholdError::Key(KeyError::WrongPassphrase(_))) => 1,
        Some(
            HouseholdError::NotInitialised
            | HouseholdError::Key(_)
            | HouseholdError::Store(_)
            | HouseholdError::Home(_),
        ) => 2,
        _ => 1,
    }
}

/// A QR code of `text` for a terminal, two rows of modules per line.
///
/// Codes are case-insensitive base32, so the QR code carries them in upper
/// case: QR's alphanumeric mode then packs them in 5.5 bits a character
/// instead of 8, and the square stays small enough for a phone to read.
pub fn qr(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.to_uppercase(), qrcode::EcLevel::L) {
        Ok(code) => code
            .render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        // Too long for a QR code: the text above is still there to copy.
        Err(_) => String::new(),
    }
}
