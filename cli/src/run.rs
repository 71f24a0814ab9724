//! The commands. Each reaches the household (see [`Access`]), does one
//! thing, and prints either text (in the user's language) or one JSON
//! document — into a buffer, so that the same command can run here or inside
//! the node and print the same bytes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use maillage_crdt::exchange::ExchangeAction;
use maillage_crdt::items::{GroupBuy, OfferKind, Ride, RsvpAnswer};
use maillage_crdt::time::{Recurrence, parse_datetime, parse_deadline};
use maillage_crdt::{Amount, DocKind, HouseholdId};
use maillage_node::api::{ApiError, CliOutcome};
use maillage_node::context::NodeContext;
use maillage_node::household::{EventInput, FieldEdit, ItemInput, ItemPatch, RootKeyState, now_ms};
use maillage_node::i18n::Catalog;
use maillage_node::keys::Passphrase;
use maillage_node::net::{NetStatus, PeerView};
use maillage_node::{Home, Household, HouseholdService, Query};
use serde::Serialize;
use serde_json::json;

use crate::admission;
use crate::args::*;
use crate::render::{self, fit, time};

/// How long `status` and `peers` wait for the mesh task.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a command finds the household.
#[derive(Debug)]
pub enum Access<'a> {
    /// No node runs on the home: the command opens the store for itself.
    Local(Home),
    /// The command runs inside the node, on the household it holds open.
    Node(&'a NodeContext),
}

impl Access<'_> {
    /// Calls `f` with the household service: opened for this command (and
    /// closed when `f` returns), or the node's. Reads run on this thread;
    /// writes go to the household's writer with `write_blocking`, so a
    /// command never holds the household while it renders its output.
    fn household<T>(&self, f: impl FnOnce(&HouseholdService) -> Result<T>) -> Result<T> {
        match self {
            Access::Local(home) => f(&HouseholdService::open(home.clone())?),
            Access::Node(context) => f(&context.household),
        }
    }
}

/// What a command prints: the text for people, the JSON for scripts.
pub(crate) struct Out<'a> {
    pub(crate) json: bool,
    pub(crate) catalog: &'a Catalog,
    stdout: RefCell<String>,
}

impl<'a> Out<'a> {
    pub(crate) fn new(json: bool, catalog: &'a Catalog) -> Out<'a> {
        Out {
            json,
            catalog,
            stdout: RefCell::new(String::new()),
        }
    }

    /// What was printed so far, leaving nothing behind.
    pub(crate) fn take(&self) -> String {
        self.stdout.take()
    }

    pub(crate) fn t(&self, id: &str, args: &[(&str, &str)]) -> String {
        self.catalog.t(id, args)
    }

    /// A label followed by a colon, spaced the French way in French ("Lieu :").
    fn label(&self, id: &str) -> String {
        match self.catalog.lang() {
            maillage_node::i18n::Lang::Fr => format!("{} :", self.t(id, &[])),
            maillage_node::i18n::Lang::En => format!("{}:", self.t(id, &[])),
        }
    }

    /// Writes `text` as it is on stdout.
    fn print(&self, text: &str) {
        self.stdout.borrow_mut().push_str(text);
    }

    /// Writes `text` for people or `value` as JSON, each followed by a new line.
    pub(crate) fn show<T: Serialize>(&self, text: impl FnOnce() -> String, value: &T) -> Result<()> {
        self.show_as(text, || serde_json::to_string_pretty(value))
    }

    /// Like [`Out::show`], but the JSON on a single line: for commands that
    /// print JSON Lines, one object per event, as the events happen.
    pub(crate) fn show_line<T: Serialize>(&self, text: impl FnOnce() -> String, value: &T) -> Result<()> {
        self.show_as(text, || serde_json::to_string(value))
    }

    fn show_as(&self, text: impl FnOnce() -> String, json: impl FnOnce() -> serde_json::Result<String>) -> Result<()> {
        let text = if self.json { json()? } else { text() };
        if self.json || !text.is_empty() {
            self.print(&text);
            self.print("\n");
        }
        Ok(())
    }
}

pub(crate) fn zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::system()
}

/// Runs one command and returns what it printed. An error becomes one
/// translated line on stderr (and a JSON document on stdout with `--json`).
pub fn run(cli: Cli, access: Access<'_>, catalog: &Catalog) -> CliOutcome {
    let out = Out {
        json: cli.json,
        catalog,
        stdout: RefCell::new(String::new()),
    };
    let result = command(cli.command, cli.passphrase.as_ref(), &access, &out);
    let mut outcome = CliOutcome {
        stdout: out.stdout.into_inner(),
        ..CliOutcome::default()
    };
    if let Err(error) = result {
        render::failure(&error, cli.json, catalog, &mut outcome);
    }
    outcome
}

fn command(command: Command, passphrase: Option<&Passphrase>, access: &Access<'_>, out: &Out<'_>) -> Result<()> {
    match command {
        Command::Init { name, place } => {
            let home = match access {
                Access::Local(home) => home.clone(),
                Access::Node(_) => bail!(ApiError::NodeRunning(std::process::id())),
            };
            let household = HouseholdService::init(home, &name, place.as_deref())?;
            let id = household.id().to_text();
            out.show(
                || out.t("init-done", &[("name", &name), ("id", &id)]),
                &json!({ "household": id, "name": name }),
            )
        }
        // `main` starts the node; inside one, there is already one.
        Command::Node(_) => bail!(ApiError::NodeRunning(std::process::id())),
        Command::Whoami => access.household(|household| whoami(household, out)),
        // Joining and adding a device wait on the network: they take the
        // household lock only for each step, never while waiting.
        Command::Community(CommunityCommand::Join { code }) => admission::join(&code, access, out),
        Command::Community(command) => access.household(|household| community(command, household, out)),
        Command::Device(DeviceCommand::Add { code, label }) => admission::add_device(&code, label, access, out),
        Command::Device(DeviceCommand::Link { expires, qr }) if matches!(access, Access::Local(_)) => {
            admission::link_and_wait(&expires, qr, passphrase, access, out)
        }
        Command::Device(command) => access.household(|household| device(command, passphrase, access, household, out)),
        Command::Key(command) => access.household(|household| key(command, passphrase, household, out)),
        Command::Offer(command) => access.household(|household| item(command, DocKind::Offer, household, out)),
        Command::Request(command) => access.household(|household| item(command, DocKind::Request, household, out)),
        Command::Event(command) => access.household(|household| event(command, household, out)),
        Command::Exchange(command) => access.household(|household| exchange(command, household, out)),
        Command::Balance { member } => access.household(|household| balance(member, household, out)),
        Command::Match => access.household(|household| matches(household, out)),
        Command::Stats => access.household(|household| stats(household, out)),
        Command::Export { file, community } => access.household(|household| export(&file, community, household, out)),
        Command::Import { file } => access.household(|household| import(&file, household, out)),
        Command::Status => status(access, out),
        Command::Peers => peers(access, out),
        // `main` answers it from the running node's files; here no node runs.
        Command::Page => bail!(ApiError::NoNode),
        // Tokens live in a file of the home, not in the store.
        Command::Api(ApiCommand::Token(command)) => {
            let home = match access {
                Access::Local(home) => home.clone(),
                Access::Node(context) => context.household.home().clone(),
            };
            crate::tokens::run(&home, command, out)
        }
    }
}

fn whoami(household: &Household, out: &Out<'_>) -> Result<()> {
    let me = household.whoami()?;
    out.show(
        || {
            let mut text = format!(
                "{} {} ({})\n{} {}\n{} {}\n{} {}",
                out.label("whoami-household"),
                me.name,
                me.household,
                out.label("whoami-device"),
                me.device,
                out.label("whoami-place"),
                me.place.clone().unwrap_or_else(|| "-".into()),
                out.label("whoami-home"),
                me.home
            );
            let root_key = match me.root_key {
                RootKeyState::Present => "whoami-root-key-present",
                RootKeyState::Protected => "whoami-root-key-protected",
                RootKeyState::Absent => "whoami-root-key-absent",
            };
            text.push_str(&format!("\n{} {}", out.label("whoami-root-key"), out.t(root_key, &[])));
            text.push_str(&format!("\n{}", out.label("whoami-communities")));
            for community in &me.communities {
                text.push_str(&format!(
                    "\n  {} {} ({})",
                    if community.current { "*" } else { " " },
                    community.name,
                    &community.id[..8]
                ));
            }
            text
        },
        &me,
    )
}

fn export(file: &Path, community: Option<String>, household: &Household, out: &Out<'_>) -> Result<()> {
    let only = match community {
        Some(text) => Some(household.find_community(&text)?),
        None => None,
    };
    let count = household.export(file, only)?;
    exported(out, file, count)
}

/// What `export` says once the bundle is written.
pub(crate) fn exported(out: &Out<'_>, file: &Path, count: usize) -> Result<()> {
    let path = file.display().to_string();
    out.show(
        || out.t("exported", &[("count", &count.to_string()), ("path", &path)]),
        &json!({ "documents": count, "path": path }),
    )
}

fn import(file: &Path, household: &HouseholdService, out: &Out<'_>) -> Result<()> {
    let file = file.to_owned();
    let report = household.write_blocking(move |writer| writer.import(&file))?;
    out.show(
        || {
            let mut text = out.t(
                "imported",
                &[
                    ("exporter", &report.exporter),
                    ("changes", &report.changes_applied.to_string()),
                    ("known", &report.changes_already_known.to_string()),
                    ("records", &report.records_added.to_string()),
                ],
            );
            if report.changes_refused > 0 {
                text.push('\n');
                text.push_str(&out.t("import-refused-some", &[("count", &report.changes_refused.to_string())]));
            }
            text
        },
        &report,
    )
}

/// The mesh's state, asked of the node's swarm task. Runs on one of the
/// API's blocking threads, inside the node's async runtime; the household
/// lock is not held (the swarm may need it to answer).
fn net_status(context: &NodeContext, out: &Out<'_>) -> Result<NetStatus> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| anyhow!(out.t("err-mesh-silent", &[])))?;
    runtime
        .block_on(tokio::time::timeout(STATUS_TIMEOUT, context.net.status()))
        .ok()
        .flatten()
        .ok_or_else(|| anyhow!(out.t("err-mesh-silent", &[])))
}

/// One line of `status` and `peers`: who, where, how.
fn peer_line(peer: &PeerView) -> String {
    let who = peer
        .name
        .clone()
        .or_else(|| peer.household.as_ref().map(|h| h.chars().take(8).collect()))
        .unwrap_or_else(|| peer.peer.clone());
    format!(
        "  {}  {}  {}",
        fit(&who, 24),
        peer.addresses.first().map(String::as_str).unwrap_or("-"),
        peer.transport
    )
}

fn status(access: &Access<'_>, out: &Out<'_>) -> Result<()> {
    let Access::Node(context) = access else {
        return out.show(|| out.t("status-no-node", &[]), &json!({ "running": false }));
    };
    let status = net_status(context, out)?;
    // Only now take the household lock: the swarm may need it to answer.
    let names: HashMap<String, String> = access.household(|household| {
        Ok(household
            .communities()?
            .into_iter()
            .map(|community| (community.id, community.name))
            .collect())
    })?;
    let mut value = serde_json::to_value(&status)?;
    value["running"] = json!(true);
    out.show(
        || {
            let mut lines = vec![
                out.t("status-running", &[("peer", &status.peer_id)]),
                out.label("status-listening"),
            ];
            lines.extend(status.listen_addresses.iter().map(|a| format!("  {a}")));
            lines.push(out.t("status-peers", &[("count", &status.peers.len().to_string())]));
            lines.extend(status.peers.iter().map(peer_line));
            lines.push(out.label("status-last-sync"));
            for (community, last) in &status.last_sync {
                let name = names.get(community).unwrap_or(community);
                let when = last.map(time).unwrap_or_else(|| out.t("status-never", &[]));
                lines.push(format!("  {}  {when}", fit(name, 24)));
            }
            lines.join("\n")
        },
        &value,
    )
}

fn peers(access: &Access<'_>, out: &Out<'_>) -> Result<()> {
    let Access::Node(context) = access else {
        bail!(ApiError::NoNode);
    };
    let status = net_status(context, out)?;
    out.show(
        || {
            if status.peers.is_empty() {
                return out.t("peers-none", &[]);
            }
            status.peers.iter().map(peer_line).collect::<Vec<_>>().join("\n")
        },
        &status.peers,
    )
}

fn community(command: CommunityCommand, household: &HouseholdService, out: &Out<'_>) -> Result<()> {
    match command {
        CommunityCommand::Create { name, unit, limit } => {
            let limit = limit.map(|l| l.parse::<Amount>()).transpose()?;
            let id = {
                let (name, unit) = (name.clone(), unit);
                household.write_blocking(move |writer| writer.create_community(&name, &unit, limit))?
            };
            out.show(
                || out.t("community-created", &[("name", name.trim())]),
                &json!({ "community": id.to_text(), "name": name }),
            )
        }
        CommunityCommand::List => {
            let communities = household.communities()?;
            out.show(
                || {
                    communities
                        .iter()
                        .map(|c| {
                            let members = out.t("community-members-count", &[("count", &c.members.to_string())]);
                            let steward = if c.steward {
                                format!(", {}", out.t("steward", &[]))
                            } else {
                                String::new()
                            };
                            format!(
                                "{} {}  {}  ({members}{steward})",
                                if c.current { "*" } else { " " },
                                &c.id[..8],
                                c.name,
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                &communities,
            )
        }
        CommunityCommand::Use { community } => {
            let id = household.write_blocking(move |writer| writer.use_community(&community))?;
            let name = household.community()?.genesis.name.clone();
            out.show(
                || out.t("community-using", &[("name", &name)]),
                &json!({ "community": id.to_text(), "name": name }),
            )
        }
        CommunityCommand::Invite { uses, expires, qr } => {
            let expires_at = parse_deadline(&expires, &zone(), jiff::Timestamp::now())?;
            let expires_ms = expires_at.timestamp().as_millisecond();
            let code = household.write_blocking(move |writer| writer.invite(uses, expires_ms))?;
            let text = code.to_text();
            let expires = time(expires_at.timestamp().as_millisecond());
            out.show(
                || {
                    let mut shown = format!(
                        "{}\n\n{text}\n",
                        out.t("invite-made", &[("uses", &uses.to_string()), ("expires", &expires)])
                    );
                    if qr {
                        shown.push_str(&render::qr(&text));
                    }
                    shown
                },
                &json!({ "code": text, "uses": uses, "expires_at": expires_at.timestamp().as_millisecond() }),
            )
        }
        CommunityCommand::Join { .. } => unreachable!("`command` hands joins to `admission::join`"),
        CommunityCommand::Members => {
            let members = household.members()?;
            let name = household.community()?.genesis.name.clone();
            out.show(
                || {
                    let mut text = out.t("members-title", &[("name", &name)]);
                    for m in &members {
                        text.push_str(&format!(
                            "\n  {}  {}  {}{}",
                            &m.household[..8],
                            fit(&m.name, 28),
                            fit(m.place.as_deref().unwrap_or("-"), 16),
                            if m.steward {
                                format!("  ({})", out.t("steward", &[]))
                            } else {
                                String::new()
                            }
                        ));
                    }
                    text
                },
                &members,
            )
        }
        CommunityCommand::Remove { member } => {
            let id = household.resolve_member(&member)?;
            let name = household.name_of(&id);
            household.write_blocking(move |writer| writer.remove_member(&id))?;
            out.show(
                || out.t("member-removed", &[("name", &name)]),
                &json!({ "removed": id.to_text() }),
            )
        }
    }
}

fn device(
    command: DeviceCommand,
    passphrase: Option<&Passphrase>,
    access: &Access<'_>,
    household: &HouseholdService,
    out: &Out<'_>,
) -> Result<()> {
    match command {
        DeviceCommand::List => {
            let devices = household.devices();
            out.show(
                || {
                    devices
                        .iter()
                        .map(|d| {
                            format!(
                                "{}  {}  {}{}",
                                &d.device[..8],
                                fit(&d.label, 20),
                                time(d.issued_at),
                                d.revoked_at
                                    .map(|r| format!("  {} {}", out.t("device-revoked-at", &[]), time(r)))
                                    .unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                &devices,
            )
        }
        DeviceCommand::Revoke { device } => {
            // A protected root key is decrypted for this call only.
            let passphrase = passphrase.cloned();
            let id = household.write_blocking(move |writer| {
                writer.with_root_unlocked(passphrase.as_ref(), |writer| writer.revoke_device(&device))
            })?;
            out.show(
                || out.t("device-revoked", &[("id", &id.short())]),
                &json!({ "revoked": id.to_text() }),
            )
        }
        // Inside a running node: the node answers the new machine.
        DeviceCommand::Link { expires, qr } => {
            let expires_at = admission::link_deadline(&expires)?;
            // The node certifies the new machine when it connects: a
            // protected root key stays decrypted in its memory until the
            // link is used (`admit_device` drops it) or expires.
            if let Some(passphrase) = passphrase {
                let passphrase = passphrase.clone();
                household.write_blocking(move |writer| writer.unlock_root(&passphrase, expires_at))?;
                if let Access::Node(context) = access {
                    forget_root_at(context, expires_at);
                }
            }
            let code = household.write_blocking(move |writer| writer.create_link(expires_at))?;
            admission::show_link_code(&code, qr, true, out)
        }
        DeviceCommand::Add { .. } => unreachable!("`command` hands `device add` to `admission::add_device`"),
    }
}

/// Drops the node's decrypted root key once `expires_at` is past, unless a
/// later link still needs it.
fn forget_root_at(context: &NodeContext, expires_at: i64) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let household = context.household.clone();
    let wait = Duration::from_millis(u64::try_from(expires_at - now_ms()).unwrap_or(0) + 1);
    runtime.spawn(async move {
        tokio::time::sleep(wait).await;
        let forgotten = household
            .write(|writer| {
                writer.forget_expired_root();
                Ok(())
            })
            .await;
        if let Err(error) = forgotten {
            tracing::warn!(%error, "cannot drop the expired root key");
        }
    });
}

/// `key protect` and `key unprotect`.
fn key(
    command: KeyCommand,
    passphrase: Option<&Passphrase>,
    household: &HouseholdService,
    out: &Out<'_>,
) -> Result<()> {
    // Without a passphrase (none was asked: the command cannot succeed), an
    // empty one lets the household say why.
    let empty = Passphrase::new(String::new());
    let passphrase = passphrase.unwrap_or(&empty);
    match command {
        KeyCommand::Protect => {
            let passphrase = passphrase.clone();
            household.write_blocking(move |writer| writer.protect_root(&passphrase))?;
            out.show(
                || out.t("key-protected", &[]),
                &json!({ "root_key": household.root_key_state() }),
            )
        }
        KeyCommand::Unprotect => {
            let passphrase = passphrase.clone();
            household.write_blocking(move |writer| writer.unprotect_root(&passphrase))?;
            out.show(
                || out.t("key-unprotected", &[]),
                &json!({ "root_key": household.root_key_state() }),
            )
        }
    }
}

fn offer_kind(kind: Kind) -> OfferKind {
    match kind {
        Kind::Give => OfferKind::Give,
        Kind::Lend => OfferKind::Lend,
        Kind::Sell => OfferKind::Sell,
        Kind::Service => OfferKind::Service,
        Kind::Space => OfferKind::Space,
        Kind::Ride => OfferKind::Ride,
        Kind::GroupBuy => OfferKind::GroupBuy,
    }
}

fn deadline_ms(text: &str) -> Result<i64> {
    Ok(parse_deadline(text, &zone(), jiff::Timestamp::now())?
        .timestamp()
        .as_millisecond())
}

fn input_of(fields: ItemFields) -> Result<ItemInput> {
    let ride = match (&fields.from, &fields.to, &fields.departs) {
        (None, None, None) if fields.seats.is_none() => None,
        _ => Some(Ride {
            from: fields.from.clone().unwrap_or_default(),
            to: fields.to.clone().unwrap_or_default(),
            departs_at: match &fields.departs {
                Some(text) => parse_datetime(text, &zone())?.timestamp().as_millisecond(),
                None => 0,
            },
            seats: fields.seats.unwrap_or(1),
        }),
    };
    let group_buy = match (fields.target, &fields.deadline) {
        (None, None) if fields.unit.is_none() => None,
        _ => Some(GroupBuy {
            unit: fields.unit.clone().unwrap_or_default(),
            target: fields.target.unwrap_or(0),
            deadline: fields.deadline.as_deref().map(deadline_ms).transpose()?.unwrap_or(0),
        }),
    };
    Ok(ItemInput {
        title: fields.title.unwrap_or_default(),
        description: fields.description,
        category: fields.category,
        kind: fields.kind.map(offer_kind),
        price: fields.price.map(|p| p.parse()).transpose()?,
        place: fields.place,
        until: fields.until.as_deref().map(deadline_ms).transpose()?,
        ride,
        group_buy,
    })
}

/// What `edit` does to an optional field. clap refuses `--price` with
/// `--no-price` (and `--until` with `--no-until`), so a clearing flag never
/// hides a value typed next to it.
fn field_edit<T>(value: Option<T>, clear: bool) -> FieldEdit<T> {
    if clear {
        FieldEdit::Clear
    } else {
        FieldEdit::set_or_keep(value)
    }
}

fn item(command: ItemCommand, kind: DocKind, household: &HouseholdService, out: &Out<'_>) -> Result<()> {
    let is_offer = kind == DocKind::Offer;
    match command {
        ItemCommand::Add(fields) => {
            if fields.title.is_none() {
                bail!(out.t("err-title-required", &[]));
            }
            let input = input_of(fields)?;
            let id = if is_offer {
                household.write_blocking(move |writer| writer.add_offer(input))?
            } else {
                household.write_blocking(move |writer| writer.add_request(input))?
            };
            let message = if is_offer { "offer-added" } else { "request-added" };
            out.show(
                || out.t(message, &[("id", &id.short())]),
                &json!({ "id": id.to_text() }),
            )
        }
        ItemCommand::List {
            category,
            kind: offer_kind_filter,
            search,
            mine,
            state,
            all,
            limit,
        } => {
            let query = Query {
                kind: Some(kind),
                category: category.map(|c| maillage_crdt::items::normalize_category(&c)),
                state,
                owner: mine.then(|| household.id()),
                offer_kind: offer_kind_filter.map(|k| offer_kind(k).as_str().to_owned()),
                limit,
                ..Query::default()
            };
            let found = household.list(query, search.as_deref(), all)?;
            out.show(
                || {
                    if found.is_empty() {
                        return out.t("nothing", &[]);
                    }
                    found
                        .iter()
                        .map(|s| render::item_line(s, &household.name_of(&s.owner), out.catalog))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                &found,
            )
        }
        ItemCommand::Show { id } => {
            let id = household.resolve(&id, kind)?;
            let summary = household.store().summary(&id)?.context("document without summary")?;
            if is_offer {
                let (header, offer) = household.offer(&id)?;
                let owner = household.name_of(&header.owner);
                let state = if summary.deleted {
                    "withdrawn".to_owned()
                } else {
                    offer.visible_state(now_ms()).to_owned()
                };
                out.show(
                    || {
                        let mut lines = vec![
                            format!("{}  {}", id.short(), offer.title),
                            format!("{} {}", out.label("field-kind"), out.catalog.word("kind", offer.kind.as_str())),
                            format!("{} {}", out.label("field-category"), offer.category),
                            format!("{} {}", out.label("field-state"), out.catalog.word("state", &state)),
                            format!("{} {}", out.label("field-owner"), owner),
                        ];
                        if let Some(place) = &offer.place {
                            lines.push(format!("{} {place}", out.label("field-place")));
                        }
                        if let Some(price) = offer.price {
                            lines.push(format!("{} {}", out.label("field-price"), Amount(price)));
                        }
                        if let Some(until) = offer.until {
                            lines.push(format!("{} {}", out.label("field-until"), time(until)));
                        }
                        if let Some(ride) = &offer.ride {
                            lines.push(format!("{} → {}  {}  ({} places)", ride.from, ride.to, time(ride.departs_at), ride.seats));
                        }
                        if let Some(group_buy) = &offer.group_buy {
                            lines.push(format!("{} {}  → {}", group_buy.target, group_buy.unit, time(group_buy.deadline)));
                        }
                        if !offer.description.is_empty() {
                            lines.push(String::new());
                            lines.push(offer.description.clone());
                        }
                        lines.join("\n")
                    },
                    &json!({ "id": id.to_text(), "owner": header.owner.to_text(), "owner_name": owner, "state": state, "offer": offer }),
                )
            } else {
                let (header, request) = household.request(&id)?;
                let owner = household.name_of(&header.owner);
                let state = request.visible_state(now_ms()).to_owned();
                out.show(
                    || {
                        let mut lines = vec![
                            format!("{}  {}", id.short(), request.title),
                            format!("{} {}", out.label("field-category"), request.category),
                            format!("{} {}", out.label("field-state"), out.catalog.word("state", &state)),
                            format!("{} {}", out.label("field-owner"), owner),
                        ];
                        if let Some(place) = &request.place {
                            lines.push(format!("{} {place}", out.label("field-place")));
                        }
                        if let Some(until) = request.until {
                            lines.push(format!("{} {}", out.label("field-until"), time(until)));
                        }
                        if !request.description.is_empty() {
                            lines.push(String::new());
                            lines.push(request.description.clone());
                        }
                        lines.join("\n")
                    },
                    &json!({ "id": id.to_text(), "owner": header.owner.to_text(), "owner_name": owner, "state": state, "request": request }),
                )
            }
        }
        ItemCommand::Edit {
            id,
            fields,
            no_price,
            no_until,
            state,
        } => {
            let id = household.resolve(&id, kind)?;
            let input = input_of(fields)?;
            let patch = ItemPatch {
                title: Some(input.title).filter(|t| !t.is_empty()),
                description: input.description,
                category: input.category,
                kind: input.kind,
                price: field_edit(input.price, no_price),
                place: input.place,
                until: field_edit(input.until, no_until),
                state,
            };
            if is_offer {
                household.write_blocking(move |writer| writer.edit_offer(&id, patch))?
            } else {
                household.write_blocking(move |writer| writer.edit_request(&id, patch))?
            }
            out.show(
                || out.t("item-updated", &[("id", &id.short())]),
                &json!({ "id": id.to_text() }),
            )
        }
        ItemCommand::Close { id } => {
            let id = household.resolve(&id, kind)?;
            let state = if is_offer { "done" } else { "fulfilled" };
            let patch = ItemPatch {
                state: Some(state.into()),
                ..ItemPatch::default()
            };
            if is_offer {
                household.write_blocking(move |writer| writer.edit_offer(&id, patch))?
            } else {
                household.write_blocking(move |writer| writer.edit_request(&id, patch))?
            }
            out.show(
                || out.t("item-closed", &[("id", &id.short())]),
                &json!({ "id": id.to_text(), "state": state }),
            )
        }
        ItemCommand::Delete { id } => {
            let id = household.resolve(&id, kind)?;
            household.write_blocking(move |writer| writer.delete_item(&id, kind))?;
            out.show(
                || out.t("item-deleted", &[("id", &id.short())]),
                &json!({ "id": id.to_text(), "deleted": true }),
            )
        }
    }
}

#[derive(Serialize)]
struct EventView {
    id: String,
    title: String,
    start: String,
    end: Option<String>,
    place: Option<String>,
    repeat: Option<String>,
    cancelled: bool,
    organiser: String,
    /// Occurrences inside the listed window (the start itself for a one-off).
    occurrences: Vec<String>,
}

fn event(command: EventCommand, household: &HouseholdService, out: &Out<'_>) -> Result<()> {
    match command {
        EventCommand::Add {
            title,
            start,
            end,
            place,
            description,
            category,
            repeat,
        } => {
            let start = parse_datetime(&start, &zone())?;
            let end = end.map(|e| parse_datetime(&e, &zone())).transpose()?;
            // Validate and canonicalise the rule, so other calendars read it the same way.
            let repeat = repeat
                .map(|r| r.parse::<Recurrence>().map(|r| r.to_string()))
                .transpose()?;
            let input = EventInput {
                title,
                description,
                category,
                place,
                start,
                end,
                repeat,
            };
            let id = household.write_blocking(move |writer| writer.add_event(input))?;
            out.show(
                || out.t("event-added", &[("id", &id.short())]),
                &json!({ "id": id.to_text() }),
            )
        }
        EventCommand::List { from, to } => {
            let now = jiff::Timestamp::now();
            let window_start = match from {
                Some(text) => parse_datetime(&text, &zone())?.timestamp(),
                None => now,
            };
            let window_end = match to {
                Some(text) => parse_datetime(&text, &zone())?.timestamp(),
                None => window_start.checked_add(jiff::SignedDuration::from_hours(24 * 366))?,
            };
            let mut views = Vec::new();
            for (header, event) in household.events()? {
                let Ok(start) = event.start.parse::<jiff::Zoned>() else {
                    continue;
                };
                // Saturating: times come from other households and may be extreme.
                let duration = event.end_ms.map(|end| end.saturating_sub(event.start_ms)).unwrap_or(0);
                let occurrences: Vec<jiff::Zoned> = match event.repeat.as_deref().map(str::parse::<Recurrence>) {
                    Some(Ok(rule)) => rule.occurrences(&start, window_start, window_end, 50),
                    _ => {
                        let ends = start.timestamp().as_millisecond().saturating_add(duration);
                        if ends >= window_start.as_millisecond() && start.timestamp() < window_end {
                            vec![start.clone()]
                        } else {
                            vec![]
                        }
                    }
                };
                if occurrences.is_empty() {
                    continue;
                }
                views.push(EventView {
                    id: header.id().to_text(),
                    title: event.title,
                    start: event.start,
                    end: event.end,
                    place: event.place,
                    repeat: event.repeat,
                    cancelled: event.cancelled,
                    organiser: household.name_of(&header.owner),
                    occurrences: occurrences.iter().map(|z| z.to_string()).collect(),
                });
            }
            views.sort_by(|a, b| a.occurrences.first().cmp(&b.occurrences.first()));
            out.show(
                || {
                    if views.is_empty() {
                        return out.t("nothing", &[]);
                    }
                    views
                        .iter()
                        .map(|v| {
                            let first = v
                                .occurrences
                                .first()
                                .and_then(|z| z.parse::<jiff::Zoned>().ok())
                                .map(|z| time(z.timestamp().as_millisecond()))
                                .unwrap_or_default();
                            format!(
                                "{}  {}  {}  {}  {}{}",
                                &v.id[..8],
                                first,
                                fit(&v.title, 32),
                                fit(v.place.as_deref().unwrap_or("-"), 18),
                                v.organiser,
                                if v.cancelled {
                                    format!("  ({})", out.catalog.word("state", "cancelled"))
                                } else {
                                    String::new()
                                }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                &views,
            )
        }
        EventCommand::Show { id } => {
            let id = household.resolve(&id, DocKind::Event)?;
            let (header, event) = household.event(&id)?;
            let answers: Vec<(String, String, i64)> = household
                .rsvps(&id)?
                .into_iter()
                .map(|(who, rsvp)| (household.name_of(&who), rsvp.answer.as_str().to_owned(), rsvp.people))
                .collect();
            let organiser = household.name_of(&header.owner);
            out.show(
                || {
                    let mut lines = vec![
                        format!("{}  {}", id.short(), event.title),
                        format!("{} {}", out.label("field-start"), time(event.start_ms)),
                    ];
                    if let Some(end) = event.end_ms {
                        lines.push(format!("{} {}", out.label("field-end"), time(end)));
                    }
                    if let Some(place) = &event.place {
                        lines.push(format!("{} {place}", out.label("field-place")));
                    }
                    if let Some(repeat) = &event.repeat {
                        lines.push(format!("{} {repeat}", out.label("field-repeat")));
                    }
                    lines.push(format!("{} {organiser}", out.label("field-owner")));
                    if !event.description.is_empty() {
                        lines.push(event.description.clone());
                    }
                    lines.push(out.label("field-answers"));
                    for (name, answer, people) in &answers {
                        lines.push(format!(
                            "  {}  {} ({people})",
                            fit(name, 28),
                            out.catalog.word("rsvp", answer)
                        ));
                    }
                    lines.join("\n")
                },
                &json!({ "id": id.to_text(), "organiser": organiser, "event": event, "answers": answers }),
            )
        }
        EventCommand::Rsvp { id, answer, people } => {
            let id = household.resolve(&id, DocKind::Event)?;
            let answer = match answer {
                Answer::Yes => RsvpAnswer::Yes,
                Answer::No => RsvpAnswer::No,
                Answer::Maybe => RsvpAnswer::Maybe,
            };
            household.write_blocking(move |writer| writer.rsvp(&id, answer, people))?;
            out.show(
                || out.t("rsvp-done", &[("answer", &out.catalog.word("rsvp", answer.as_str()))]),
                &json!({ "event": id.to_text(), "answer": answer.as_str(), "people": people }),
            )
        }
        EventCommand::Cancel { id } => {
            let id = household.resolve(&id, DocKind::Event)?;
            household.write_blocking(move |writer| writer.cancel_event(&id))?;
            out.show(
                || out.t("item-closed", &[("id", &id.short())]),
                &json!({ "id": id.to_text(), "cancelled": true }),
            )
        }
        EventCommand::Ics { output } => {
            let community = household.community()?.genesis.name.clone();
            let mut events = Vec::new();
            for (header, event) in household.events()? {
                let Ok(start) = event.start.parse::<jiff::Zoned>() else {
                    continue;
                };
                events.push(maillage_crdt::ics::IcsEvent {
                    uid: header.id().to_text(),
                    title: event.title,
                    description: event.description,
                    place: event.place,
                    start,
                    end: event.end.as_deref().and_then(|e| e.parse().ok()),
                    recurrence: event.repeat.as_deref().and_then(|r| r.parse().ok()),
                    organiser: household.name_of(&header.owner),
                    updated: jiff::Timestamp::from_millisecond(event.updated_at).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                    cancelled: event.cancelled,
                });
            }
            let calendar = maillage_crdt::ics::calendar(&community, &events);
            match output {
                Some(path) => {
                    std::fs::write(&path, calendar).with_context(|| format!("writing {}", path.display()))?;
                    Ok(())
                }
                None => {
                    out.print(&calendar);
                    Ok(())
                }
            }
        }
    }
}

fn exchange(command: ExchangeCommand, household: &HouseholdService, out: &Out<'_>) -> Result<()> {
    let (id, action) = match command {
        ExchangeCommand::Propose {
            with,
            offer,
            request,
            amount,
            note,
            received,
        } => {
            let counterparty = household.resolve_member(&with)?;
            let amount: Amount = amount.parse()?;
            let about = match (offer, request) {
                (Some(offer), _) => Some(household.resolve(&offer, DocKind::Offer)?),
                (_, Some(request)) => Some(household.resolve(&request, DocKind::Request)?),
                _ => None,
            };
            let id = household
                .write_blocking(move |writer| writer.propose_exchange(counterparty, received, amount, &note, about))?;
            let with = household.name_of(&counterparty);
            return out.show(
                || out.t("exchange-proposed", &[("id", &id.short()), ("with", &with)]),
                &json!({ "id": id.to_text(), "state": "proposed" }),
            );
        }
        ExchangeCommand::List => {
            let exchanges = household.exchanges()?;
            return out.show(
                || {
                    if exchanges.is_empty() {
                        return out.t("nothing", &[]);
                    }
                    exchanges
                        .iter()
                        .map(|e| {
                            format!(
                                "{}  {} → {}  {}  {}  {}",
                                &e.id[..8],
                                e.provider,
                                e.receiver,
                                e.amount,
                                fit(&out.catalog.word("state", e.state.as_str()), 10),
                                e.note
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                &exchanges,
            );
        }
        ExchangeCommand::Accept { id } => (id, ExchangeAction::Accept),
        ExchangeCommand::Decline { id } => (id, ExchangeAction::Decline),
        ExchangeCommand::Cancel { id } => (id, ExchangeAction::Cancel),
        ExchangeCommand::Confirm { id } => (id, ExchangeAction::Confirm),
    };
    let id = household.resolve(&id, DocKind::Exchange)?;
    let state = household.write_blocking(move |writer| writer.act_on_exchange(&id, action))?;
    let warning = household.soft_limit_warning(&household.id())?;
    out.show(
        || {
            let mut text = out.t(
                "exchange-now",
                &[
                    ("id", &id.short()),
                    ("state", &out.catalog.word("state", state.as_str())),
                ],
            );
            if let Some((standing, soft)) = warning {
                text.push('\n');
                text.push_str(&out.t(
                    "soft-limit-warning",
                    &[("balance", &standing.to_string()), ("limit", &soft.to_string())],
                ));
            }
            text
        },
        &json!({ "id": id.to_text(), "state": state, "soft_limit_warning": warning.map(|(s, _)| s.to_string()) }),
    )
}

fn balance(member: Option<String>, household: &Household, out: &Out<'_>) -> Result<()> {
    let unit = household.community()?.genesis.unit.clone();
    match member {
        Some(member) => {
            let who: HouseholdId = household.resolve_member(&member)?;
            let amount = household.balances()?.of(&who);
            let name = household.name_of(&who);
            out.show(
                || {
                    out.t(
                        "balance-of",
                        &[("name", &name), ("amount", &amount.to_string()), ("unit", &unit)],
                    )
                },
                &json!({ "household": who.to_text(), "name": name, "balance": amount.to_string(), "unit": unit }),
            )
        }
        None => {
            let sheet = household.balance_sheet()?;
            let rows: Vec<_> = sheet
                .iter()
                .map(|(id, name, amount)| json!({ "household": id, "name": name, "balance": amount.to_string() }))
                .collect();
            out.show(
                || {
                    let mut text = out.t("balance-title", &[("unit", &unit)]);
                    for (_, name, amount) in &sheet {
                        text.push_str(&format!("\n  {}  {:>8}", fit(name, 28), amount.to_string()));
                    }
                    text
                },
                &json!({ "unit": unit, "balances": rows }),
            )
        }
    }
}

fn matches(household: &Household, out: &Out<'_>) -> Result<()> {
    let found = household.matches()?;
    let value: Vec<_> = found
        .iter()
        .map(|(request, offers)| json!({ "request": request, "offers": offers }))
        .collect();
    out.show(
        || {
            let mut text = out.t("match-title", &[]);
            for (request, offers) in &found {
                text.push_str(&format!(
                    "\n\n{}  {}  ({})",
                    request.id.short(),
                    request.title,
                    household.name_of(&request.owner)
                ));
                if offers.is_empty() {
                    text.push_str(&format!("\n    {}", out.t("match-none", &[])));
                }
                for offer in offers {
                    text.push_str(&format!(
                        "\n    → {}  {}  ({})",
                        offer.id.short(),
                        offer.title,
                        household.name_of(&offer.owner)
                    ));
                }
            }
            text
        },
        &value,
    )
}

fn stats(household: &Household, out: &Out<'_>) -> Result<()> {
    let indicators = household.indicators()?;
    let name = household.community()?.genesis.name.clone();
    out.show(
        || {
            let mut lines = vec![
                out.t("stats-title", &[("name", &name)]),
                out.t("stats-members", &[("count", &indicators.members.to_string())]),
                out.t("stats-active", &[("count", &indicators.active_households.to_string())]),
                out.t("stats-offers", &[]),
            ];
            for (category, count) in &indicators.open_offers_by_category {
                lines.push(format!("  {}  {count}", fit(category, 20)));
            }
            lines.push(out.t("stats-requests", &[]));
            for (category, count) in &indicators.open_requests_by_category {
                lines.push(format!("  {}  {count}", fit(category, 20)));
            }
            lines.push(out.t(
                "stats-fulfilled",
                &[
                    ("done", &indicators.requests_fulfilled.to_string()),
                    ("total", &indicators.requests_total.to_string()),
                ],
            ));
            lines.push(out.t("stats-exchanges", &[]));
            for (month, (count, volume)) in &indicators.exchanges_by_month {
                lines.push(format!("  {month}  {count}  {volume}"));
            }
            lines.push(out.t(
                "stats-events",
                &[
                    ("count", &indicators.events.to_string()),
                    ("attendance", &indicators.attendance.to_string()),
                ],
            ));
            lines.push(format!("{} {}", out.label("stats-has"), indicators.has.join(", ")));
            lines.push(format!("{} {}", out.label("stats-lacks"), indicators.lacks.join(", ")));
            lines.join("\n")
        },
        &indicators,
    )
}
