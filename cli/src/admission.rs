//! The commands that wait on the network: `community join`, `device add`,
//! and `device link` when no node runs. Each reaches the mesh through the
//! running node's swarm (inside the node) or a short-lived swarm of its own
//! (`maillage_node::net::admission`); each step that writes is one job on
//! the household's writer, never held while waiting on a peer.

use std::io::Write;

use anyhow::{Result, bail};
use maillage_node::api::ApiError;
use maillage_node::household::RootKeyState;
use maillage_node::household::hostname;
use maillage_node::i18n::Catalog;
use maillage_node::keys::Passphrase;
use maillage_node::net::admission::{self, AdmissionError, Progress};
use maillage_node::net::wire::Refusal;
use maillage_node::{HouseholdError, HouseholdService, net};
use maillage_protocol::LinkCode;
use serde_json::json;

use crate::render::{self, time};
use crate::run::{Access, Out, zone};

/// Runs `future` to its end: on the node's runtime when the command runs
/// inside the node (on one of its blocking threads), on a runtime of its
/// own otherwise.
fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.block_on(future),
        Err(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(future),
    }
}

/// A household's error as itself (so that it is rendered, and its exit code
/// chosen, like any other), the network's as they are.
fn flatten(error: AdmissionError) -> anyhow::Error {
    match error {
        AdmissionError::Household(error) => error.into(),
        other => other.into(),
    }
}

/// The sentence for the errors only these commands meet, if `error` is one.
pub fn error_line(error: &anyhow::Error, catalog: &Catalog) -> Option<String> {
    if let Some(error) = error.downcast_ref::<HouseholdError>() {
        return match error {
            // The rest are shared with the web page (`messages`).
            HouseholdError::Refusal(refusal) => Some(refusal_line(*refusal, catalog)),
            _ => None,
        };
    }
    match error.downcast_ref::<AdmissionError>()? {
        AdmissionError::Unreachable(reason) => Some(catalog.t("err-link-unreachable", &[("reason", reason)])),
        AdmissionError::NoAddress => Some(catalog.t("err-link-no-address", &[])),
        AdmissionError::NobodyCame => Some(catalog.t("err-link-nobody", &[])),
        AdmissionError::BadAnswer => Some(catalog.t("err-bad-answer", &[])),
        _ => None,
    }
}

/// Why a node refused, in the user's language.
pub fn refusal_line(refusal: Refusal, catalog: &Catalog) -> String {
    let id = match refusal {
        Refusal::NotAMember => "refusal-not-a-member",
        Refusal::AnswererNotAMember => "refusal-answerer-not-a-member",
        Refusal::InviteExpired => "refusal-invite-expired",
        Refusal::InviteUsedUp => "refusal-invite-used-up",
        Refusal::InviteForged => "refusal-invite-forged",
        Refusal::InviterRemoved => "refusal-inviter-removed",
        Refusal::InviterNotSteward => "refusal-inviter-not-steward",
        Refusal::Removed => "refusal-removed",
        Refusal::LinkUnknown => "refusal-link-unknown",
        Refusal::LinkExpired => "refusal-link-expired",
        // A reason this version does not know yet: its English text.
        other => return other.to_string(),
    };
    catalog.t(id, &[])
}

/// A progress line on stderr, as it happens — only where a person watches
/// this very process (inside the node, the output comes back at the end).
fn progress_printer<'a>(access: &Access<'_>, out: &'a Out<'_>) -> impl FnMut(Progress) + 'a {
    let live = matches!(access, Access::Local(_)) && !out.json;
    move |progress| {
        if !live {
            return;
        }
        let line = match progress {
            Progress::Contacting => out.t("join-contacting", &[]),
            Progress::Admitted => out.t("join-admitted", &[]),
            Progress::Received(count) => out.t("join-received", &[("count", &count.to_string())]),
        };
        eprintln!("{line}");
    }
}

/// `community join CODE`.
pub fn join(code: &str, access: &Access<'_>, out: &Out<'_>) -> Result<()> {
    let mut progress = progress_printer(access, out);
    let joined = match access {
        Access::Node(context) => block_on(async {
            admission::join(&context.household, &context.net, code, &mut progress)
                .await
                .map_err(flatten)
        })?,
        Access::Local(home) => {
            let household = HouseholdService::open(home.clone())?;
            let config = admission::short_lived(home, false)?;
            block_on(async {
                let (net, task) = net::spawn(household.clone(), config)?;
                let joined = admission::join(&household, &net, code, &mut progress).await;
                net.shutdown().await;
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
                joined.map_err(flatten)
            })?
        }
    };
    out.show(
        || {
            let mut text = if joined.online {
                out.t(
                    "community-joined-online",
                    &[("name", &joined.name), ("count", &joined.documents.to_string())],
                )
            } else {
                out.t("community-joined-offline", &[("name", &joined.name)])
            };
            if joined.online && !joined.synced {
                text.push('\n');
                text.push_str(&out.t("join-sync-unfinished", &[]));
            }
            text
        },
        &joined,
    )
}

/// `device add CODE`: only where no node runs (the home is being made).
pub fn add_device(code: &str, label: Option<String>, access: &Access<'_>, out: &Out<'_>) -> Result<()> {
    let home = match access {
        Access::Local(home) => home.clone(),
        Access::Node(_) => bail!(ApiError::NodeRunning(std::process::id())),
    };
    let label = label.unwrap_or_else(hostname);
    let mut progress = progress_printer(access, out);
    let linked = block_on(async {
        admission::add_device(home, code, &label, &mut progress)
            .await
            .map_err(flatten)
    })?;
    out.show(
        || {
            let mut text = out.t(
                "device-added",
                &[("name", &linked.name), ("count", &linked.documents.to_string())],
            );
            if !linked.synced {
                text.push('\n');
                text.push_str(&out.t("join-sync-unfinished", &[]));
            }
            text
        },
        &linked,
    )
}

/// The expiry of a link code given as `--expires`.
pub fn link_deadline(expires: &str) -> Result<i64> {
    let deadline = maillage_crdt::time::parse_deadline(expires, &zone(), jiff::Timestamp::now())?;
    Ok(deadline.timestamp().as_millisecond())
}

/// Prints a link code (text and QR code, or JSON). `node_runs`: the running
/// node answers it, so the command ends here. The JSON is one line with
/// `"event": "code"`, the same whether or not the command then waits, so a
/// script reads the first line of `device link --json` as the code either
/// way (the JSON Lines are described in `args::DeviceCommand::Link`).
pub fn show_link_code(code: &LinkCode, qr: bool, node_runs: bool, out: &Out<'_>) -> Result<()> {
    let text = code.to_text();
    let expires = time(code.expires_at);
    out.show_line(
        || {
            let mut shown = format!("{}\n\n{text}\n", out.t("link-made", &[("expires", &expires)]));
            if qr {
                shown.push_str(&render::qr(&text));
            }
            shown.push('\n');
            shown.push_str(&out.t(
                if node_runs { "link-node-answers" } else { "link-waiting" },
                &[("expires", &expires)],
            ));
            shown
        },
        &json!({ "event": "code", "code": text, "expires_at": code.expires_at }),
    )
}

/// `device link` with no node running: shows the code at once, then waits
/// here for the new machine (a short-lived swarm answers it).
pub fn link_and_wait(
    expires: &str,
    qr: bool,
    passphrase: Option<&Passphrase>,
    access: &Access<'_>,
    out: &Out<'_>,
) -> Result<()> {
    let Access::Local(home) = access else {
        bail!("link_and_wait runs only where no node runs");
    };
    let expires_at = link_deadline(expires)?;
    let household = HouseholdService::open(home.clone())?;
    match (household.root_key_state(), passphrase) {
        (RootKeyState::Absent, _) => return Err(HouseholdError::NoRootKey.into()),
        (RootKeyState::Protected, None) => return Err(HouseholdError::RootKeyLocked.into()),
        // Decrypted for this command, which ends when the link is used or
        // expires, and with it the key in memory.
        (RootKeyState::Protected, Some(passphrase)) => {
            let passphrase = passphrase.clone();
            household.write_blocking(move |writer| writer.unlock_root(&passphrase, expires_at))?;
        }
        (RootKeyState::Present, _) => {}
    }
    let mut shown: Result<()> = Ok(());
    let served = block_on(async {
        let mut show = |code: &LinkCode| {
            // Printed now, not with the rest: the user types it on the new
            // machine while this command waits.
            let printed = Out::new(out.json, out.catalog);
            shown = show_link_code(code, qr, false, &printed).and_then(|()| {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(printed.take().as_bytes())?;
                Ok(stdout.flush()?)
            });
        };
        admission::link_and_wait(home, &household, expires_at, &mut show)
            .await
            .map_err(flatten)
    });
    shown?;
    let served = served?;
    // The second line of the JSON Lines the code began.
    out.show_line(
        || {
            out.t(
                "device-linked",
                &[("id", &served.device[..8]), ("label", &served.label)],
            )
        },
        &json!({ "event": "linked", "device": served.device, "label": served.label }),
    )
}
