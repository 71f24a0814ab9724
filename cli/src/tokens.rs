//! `maillage api token add | list | revoke`: the read-only tokens other
//! programs use to read the household's node. They live in a file of the
//! home (see `maillage_node::api::ScopedTokens`), not in the store, so
//! these commands work the same whether the node runs or not, and a
//! revocation takes effect at once.

use anyhow::Result;
use maillage_node::Home;
use maillage_node::api::{Scope, ScopedTokens};
use maillage_node::household::now_ms;
use serde_json::json;

use crate::args::TokenCommand;
use crate::render::time;
use crate::run::Out;

pub fn run(home: &Home, command: TokenCommand, out: &Out<'_>) -> Result<()> {
    if !home.is_initialised() {
        return Err(maillage_node::HouseholdError::NotInitialised.into());
    }
    let tokens = ScopedTokens::of(home);
    match command {
        TokenCommand::Add { read_only: _, label } => {
            let (token, entry) = tokens.add(&label, Scope::ReadOnly, now_ms())?;
            out.show(
                || {
                    format!(
                        "{}\n\n{}\n",
                        out.t("api-token-added", &[("label", &entry.label)]),
                        token.as_str()
                    )
                },
                &json!({ "token": token.as_str(), "entry": entry }),
            )
        }
        TokenCommand::List => {
            let entries = tokens.list()?;
            out.show(
                || {
                    if entries.is_empty() {
                        return out.t("api-token-none", &[]);
                    }
                    entries
                        .iter()
                        .map(|entry| {
                            let revoked = entry
                                .revoked_at
                                .map(|at| format!("  {} {}", out.t("api-token-line-revoked", &[]), time(at)))
                                .unwrap_or_default();
                            format!("{}  {}  {}{revoked}", entry.id, time(entry.created_at), entry.label)
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                &entries,
            )
        }
        TokenCommand::Revoke { token } => {
            let entry = tokens.revoke(&token, now_ms())?;
            out.show(
                || out.t("api-token-revoked", &[("label", &entry.label)]),
                &json!({ "revoked": entry.id }),
            )
        }
    }
}
