//! Errors in the household's language: one translation for the command
//! line and the web page, so that a villager reads the same sentence in both.

use maillage_crdt::items::{Problem, ValidationError};

use crate::household::HouseholdError;
use crate::i18n::Catalog;
use crate::keys::KeyError;
use crate::store::StoreError;

/// The sentence for a household operation that failed.
pub fn household_error(error: &HouseholdError, catalog: &Catalog) -> String {
    use HouseholdError as E;
    match error {
        E::NotInitialised => catalog.t("err-not-initialised", &[]),
        E::AlreadyInitialised(name) => catalog.t("err-already-initialised", &[("name", name)]),
        E::NoCommunity => catalog.t("err-no-community", &[]),
        E::UnknownId { kind, text } => catalog.t(
            "err-unknown-id",
            &[("kind", &catalog.word("doc", kind)), ("text", text)],
        ),
        E::AmbiguousId { kind, text, candidates } => catalog.t(
            "err-ambiguous-id",
            &[
                ("kind", &catalog.word("doc", kind)),
                ("text", text),
                ("candidates", candidates),
            ],
        ),
        E::UnknownMember(text) => catalog.t("err-unknown-member", &[("text", text)]),
        E::AmbiguousMember { text, candidates } => {
            catalog.t("err-ambiguous-member", &[("text", text), ("candidates", candidates)])
        }
        E::Invalid(invalid) => validation(invalid, catalog),
        E::NotYours(kind) => catalog.t("err-not-yours", &[("kind", &catalog.word("doc", kind))]),
        E::NotSteward => catalog.t("err-not-steward", &[]),
        E::CreditLimit { who, after, limit } => catalog.t(
            "err-credit-limit",
            &[
                ("who", who),
                ("after", &after.to_string()),
                ("limit", &limit.to_string()),
            ],
        ),
        E::Invite(reason) => catalog.t("err-invite", &[("reason", &invite_code(reason, catalog))]),
        E::NotAllowed(rule) => catalog.t(&format!("not-allowed-{}", rule.code()), &[]),
        E::Bundle(reason) => catalog.t("err-bundle", &[("reason", &bundle(reason, catalog))]),
        E::JoinRefused { community, reason } => {
            catalog.t("err-join-refused", &[("name", community), ("reason", reason)])
        }
        E::File { path, source } => catalog.t("err-file", &[("path", path), ("reason", &io(source, catalog))]),
        E::BundleContent(reason) => catalog.t("err-bundle", &[("reason", reason)]),
        E::BundleFromStranger => catalog.t("err-bundle-stranger", &[]),
        E::Store(error) => match store_error(error, catalog) {
            Some(text) => text,
            None => error.to_string(),
        },
        E::Key(KeyError::TooOpen { path }) => catalog.t("err-key-open", &[("path", &path.display().to_string())]),
        E::Key(KeyError::Damaged { path, reason }) => catalog.t(
            "err-key-damaged",
            &[("path", &path.display().to_string()), ("reason", reason)],
        ),
        E::Key(KeyError::WrongPassphrase(_)) => catalog.t("err-wrong-passphrase", &[]),
        E::NoRootKey => catalog.t("err-no-root-key", &[]),
        E::RootKeyLocked => catalog.t("err-root-key-locked", &[]),
        E::RootKeyAlreadyProtected => catalog.t("err-root-key-protected", &[]),
        E::RootKeyNotProtected => catalog.t("err-root-key-not-protected", &[]),
        E::EmptyPassphrase => catalog.t("err-passphrase-empty", &[]),
        E::LinkIncomplete => catalog.t("err-link-incomplete", &[]),
        E::LinkCode(reason) => catalog.t("err-link-code", &[("reason", &link_code(reason, catalog))]),
        E::WriterBusy => catalog.t("err-writer-busy", &[]),
        E::WriterStopped => catalog.t("err-writer-stopped", &[]),
        E::WriteFailed => catalog.t("err-write-failed", &[]),
        E::ReadFailed => catalog.t("err-read-failed", &[]),
        other => other.to_string(),
    }
}

/// The sentence for a store error, when the catalogue has one.
pub fn store_error(error: &StoreError, catalog: &Catalog) -> Option<String> {
    Some(match error {
        StoreError::Locked => catalog.t(
            "err-store-locked",
            &[("seconds", &crate::store::LOCK_WAIT.as_secs().to_string())],
        ),
        StoreError::HeldByNode { pid } => catalog.t("err-store-node", &[("pid", &pid.to_string())]),
        StoreError::DiskFull => catalog.t("err-disk-full", &[]),
        StoreError::NewerLayout { found, supported } => catalog.t(
            "err-store-newer",
            &[("found", &found.to_string()), ("supported", &supported.to_string())],
        ),
        StoreError::Io(source) if source.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            catalog.t("err-store-read-only", &[])
        }
        StoreError::Io(source) => catalog.t("err-store-io", &[("reason", &io(source, catalog))]),
        StoreError::Corrupt(_) => catalog.t("err-store-damaged", &[]),
        _ => return None,
    })
}

pub fn problem(problem: &Problem, catalog: &Catalog) -> String {
    let id = format!("problem-{}", problem.code());
    let text = match problem {
        Problem::TooLong { max, found } => catalog.t(&id, &[("max", &max.to_string()), ("found", &found.to_string())]),
        Problem::NotOneOf { found, expected } => catalog.t(&id, &[("found", found), ("expected", expected)]),
        Problem::OutOfRange { min, max } => catalog.t(&id, &[("min", &min.to_string()), ("max", &max.to_string())]),
        Problem::Transition { from, to } => catalog.t(
            &id,
            &[
                ("from", &catalog.word("state", from)),
                ("to", &catalog.word("state", to)),
            ],
        ),
        Problem::Other(text) => text.clone(),
        _ => catalog.t(&id, &[]),
    };
    if text == id { problem.to_string() } else { text }
}

pub fn validation(error: &ValidationError, catalog: &Catalog) -> String {
    catalog.t(
        "err-invalid",
        &[
            ("field", &catalog.word("field", error.field)),
            ("problem", &problem(&error.problem, catalog)),
        ],
    )
}

pub fn bundle(error: &maillage_protocol::BundleError, catalog: &Catalog) -> String {
    use maillage_protocol::BundleError as B;
    match error {
        B::NotABundle => catalog.t("bundle-not-a-bundle", &[]),
        B::UnsupportedVersion(_) => catalog.t("bundle-version", &[]),
        B::TooLarge => catalog.t("bundle-too-large", &[]),
        // The decoder's own words (postcard's, in English) stay in logs.
        B::Damaged(_) => catalog.t("bundle-damaged", &[]),
        B::BadSignature => catalog.t("bundle-bad-signature", &[]),
        other => other.to_string(),
    }
}

/// The sentence for a mistyped or altered invite code.
pub fn invite_code(error: &maillage_protocol::InviteCodeError, catalog: &Catalog) -> String {
    use maillage_protocol::InviteCodeError as I;
    match error {
        I::NotACode => catalog.t("invite-not-a-code", &[]),
        I::Checksum => catalog.t("invite-checksum", &[]),
        I::TooLong => catalog.t("invite-too-long", &[]),
        I::Malformed(_) => catalog.t("invite-malformed", &[]),
        I::Forged(_) => catalog.t("invite-forged", &[]),
        other => other.to_string(),
    }
}

/// The sentence for a mistyped device link code.
pub fn link_code(error: &maillage_protocol::LinkCodeError, catalog: &Catalog) -> String {
    use maillage_protocol::LinkCodeError as L;
    match error {
        L::NotACode => catalog.t("link-not-a-code", &[]),
        L::Checksum => catalog.t("link-checksum", &[]),
        L::TooLong => catalog.t("link-too-long", &[]),
        L::Malformed(_) => catalog.t("link-malformed", &[]),
        other => other.to_string(),
    }
}

/// The sentence for a number that is not an amount.
pub fn amount(error: &maillage_crdt::money::AmountError, catalog: &Catalog) -> String {
    use maillage_crdt::money::AmountError as A;
    match error {
        A::NotANumber(text) => catalog.t("amount-not-a-number", &[("text", text)]),
        A::TooPrecise => catalog.t("amount-too-precise", &[]),
        A::OutOfRange => catalog.t("amount-out-of-range", &[]),
        other => other.to_string(),
    }
}

pub fn io(error: &std::io::Error, catalog: &Catalog) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => catalog.t("io-not-found", &[]),
        std::io::ErrorKind::ReadOnlyFilesystem => catalog.t("io-read-only", &[]),
        std::io::ErrorKind::StorageFull => catalog.t("io-disk-full", &[]),
        std::io::ErrorKind::PermissionDenied => catalog.t("io-permission", &[]),
        _ => error.to_string(),
    }
}
