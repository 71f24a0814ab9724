//! Communauté: the community, its members, this household's devices, the
//! mesh as the node sees it, relays, and invitations for new households.
//!
//! ```text
//! GET  /communaute                              the page
//! POST /communaute/invitation                   uses, days → 303 to the invitation
//! GET  /communaute/invitation/{code}            a printable invitation (code + QR)
//! POST /communaute/membres/{household}/retirer  a steward removes a member
//! ```
//!
//! The invitation page carries its code in its URL: the node keeps no list
//! of codes (a code is a capability that lives with whoever holds it), the
//! page can be reloaded, printed or refreshed by the live updates, and
//! nothing has to expire on the server.

mod qr;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use libp2p::multiaddr::{Multiaddr, Protocol};
use maillage_crdt::{Amount, DeviceId, HouseholdId};
use maillage_protocol::InviteCode;
use maud::{Markup, html};
use serde::Deserialize;

use super::WebState;
use super::page::{FieldErrors, FieldOptions, Page, Section, WebError, document, error_summary, text_field};
use crate::context::{Relay, RelayOrigin};
use crate::household::{DeviceView, Household, HouseholdError, MemberView, NotAllowed, now_ms};
use crate::i18n::Lang;
use crate::net::NetStatus;

/// How long the page waits for the swarm task to describe the mesh. The
/// page is still shown, without the mesh, if the task is busy.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);
/// Invitations last at most a year: a forgotten printed code should not
/// stay a way in for ever.
const MAX_DAYS: u32 = 365;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/communaute", get(show))
        .route("/communaute/invitation", post(create_invitation))
        .route("/communaute/invitation/{code}", get(show_invitation))
        .route("/communaute/membres/{household}/retirer", post(remove_member))
}

/// What the page shows of the household and its current community, read in
/// one go on a blocking thread.
#[derive(Debug)]
struct Overview {
    me: String,
    name: String,
    unit: String,
    soft_limit: Option<Amount>,
    hard_limit: Option<Amount>,
    founder: String,
    founder_id: String,
    created_at: i64,
    steward: bool,
    members: Vec<MemberView>,
    devices: Vec<DeviceView>,
    /// Every community of the household: id → name (the mesh status names
    /// communities by id).
    communities: BTreeMap<String, String>,
    known_nodes: Vec<KnownNode>,
}

/// A member's node this one has reached before and will dial again.
#[derive(Debug)]
struct KnownNode {
    peer: String,
    household: Option<String>,
    addresses: Vec<String>,
}

fn overview(household: &Household) -> Result<Overview, HouseholdError> {
    let community = household.community()?;
    let me = household.id();
    let known_nodes = household
        .address_book()
        .into_iter()
        .map(|(peer, addresses)| KnownNode {
            household: device_of(&peer)
                .and_then(|device| household.household_of_device(&device))
                .map(|(_, name)| name),
            peer,
            addresses,
        })
        .collect();
    Ok(Overview {
        me: me.to_text(),
        name: community.genesis.name.clone(),
        unit: community.genesis.unit.clone(),
        soft_limit: community.genesis.soft_limit,
        hard_limit: community.genesis.hard_limit,
        founder: household.name_of(&community.genesis.founder),
        founder_id: community.genesis.founder.to_text(),
        created_at: community.genesis.created_at,
        steward: community.is_steward(&me),
        members: household.members()?,
        devices: household.devices(),
        communities: household
            .communities()?
            .into_iter()
            .map(|community| (community.id, community.name))
            .collect(),
        known_nodes,
    })
}

/// The device behind a libp2p peer id (a node's identity is its device key).
fn device_of(peer: &str) -> Option<DeviceId> {
    let peer: libp2p::PeerId = peer.parse().ok()?;
    // An identity multihash: two bytes of header, then the protobuf-encoded key.
    let key = libp2p::identity::PublicKey::try_decode_protobuf(peer.to_bytes().get(2..)?).ok()?;
    Some(DeviceId(key.try_into_ed25519().ok()?.to_bytes()))
}

/// The invitation form as typed: kept as text so a wrong value comes back
/// in its field.
#[derive(Clone, Debug, Deserialize)]
struct InviteForm {
    #[serde(default)]
    uses: String,
    #[serde(default)]
    days: String,
}

impl Default for InviteForm {
    fn default() -> Self {
        InviteForm {
            uses: "1".to_owned(),
            days: "7".to_owned(),
        }
    }
}

async fn show(State(state): State<WebState>, page: Page) -> Result<Response, WebError> {
    render(
        &state,
        &page,
        &InviteForm::default(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

/// Renders the whole page; `status` is 200, or the error status of a form
/// that came back.
async fn render(
    state: &WebState,
    page: &Page,
    form: &InviteForm,
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, WebError> {
    // Ask the swarm first, without the household lock: it may need the lock
    // to answer.
    let mesh = tokio::time::timeout(STATUS_TIMEOUT, state.context().net.status())
        .await
        .ok()
        .flatten();
    let overview = match state.read(overview).await {
        Ok(overview) => overview,
        Err(HouseholdError::NoCommunity) => return Ok(no_community(page)),
        Err(error) => return Err(page.fail(error)),
    };
    let title = page.ta("community-page-title", &[("name", &overview.name)]);
    let main = html! {
        h1 { (title) }
        (about(page, &overview))
        (members_section(page, &overview))
        (devices_section(page, &overview.devices))
        (mesh_section(page, mesh.as_ref(), &overview.communities))
        (relays_section(page, &state.context().relays, mesh.as_ref(), &overview))
        (invite_section(page, &overview, form, errors))
    };
    Ok((status, document(page, &title, Section::Community, main)).into_response())
}

fn no_community(page: &Page) -> Response {
    let title = page.t("community-page-none-title");
    let main = html! {
        h1 { (title) }
        p { (page.t("community-page-none")) }
        pre { code { "maillage community create \"" (page.t("community-page-none-example")) "\"" } }
        p { (page.t("community-page-none-join")) }
        pre { code { "maillage community join CODE" } }
    };
    document(page, &title, Section::Community, main).into_response()
}

fn about(page: &Page, overview: &Overview) -> Markup {
    let limit = |id: &str, limit: Option<Amount>| match limit {
        Some(amount) => {
            // Amounts print with a decimal point; French writes a comma.
            let amount = match page.lang {
                Lang::Fr => amount.to_string().replace('.', ","),
                Lang::En => amount.to_string(),
            };
            page.ta(id, &[("amount", &amount), ("unit", &overview.unit)])
        }
        None => page.t("community-page-limit-none"),
    };
    html! {
        dl class="community-facts" {
            dt { (page.t("community-page-unit")) }
            dd { (overview.unit) }
            dt { (page.t("community-page-soft-limit")) }
            dd { (limit("community-page-soft-limit-value", overview.soft_limit)) }
            dt { (page.t("community-page-hard-limit")) }
            dd { (limit("community-page-hard-limit-value", overview.hard_limit)) }
            dt { (page.t("community-page-founded")) }
            dd { (page.ta("community-page-founded-value", &[("name", &overview.founder), ("date", &page.date(overview.created_at))])) }
            dt { (page.t("community-page-your-role")) }
            dd {
                @if overview.steward { (page.t("community-page-role-steward")) }
                @else { (page.t("community-page-role-member")) }
            }
        }
        @if overview.communities.len() > 1 {
            p class="meta" {
                (page.ta("community-page-other-communities", &[("count", &overview.communities.len().to_string())]))
            }
        }
    }
}

fn members_section(page: &Page, overview: &Overview) -> Markup {
    html! {
        section aria-labelledby="members-title" {
            h2 id="members-title" { (page.t("community-page-members")) }
            p { (page.ta("community-page-members-count", &[("count", &overview.members.len().to_string())])) }
            table class="members" {
                caption class="visually-hidden" { (page.t("community-page-members-caption")) }
                thead {
                    tr {
                        th scope="col" { (page.t("community-page-household")) }
                        th scope="col" { (page.t("community-page-place")) }
                        th scope="col" { (page.t("community-page-joined")) }
                        th scope="col" { (page.t("community-page-role")) }
                        @if overview.steward {
                            th scope="col" { (page.t("community-page-action")) }
                        }
                    }
                }
                tbody {
                    @for member in &overview.members {
                        tr {
                            th scope="row" {
                                (member.name)
                                @if member.household == overview.me {
                                    " " span class="badge" { (page.t("community-page-you")) }
                                }
                            }
                            td { (member.place.as_deref().unwrap_or("—")) }
                            td { (page.date(member.joined_at)) }
                            td {
                                @if member.steward {
                                    span class="badge" { (page.t("steward")) }
                                } @else {
                                    (page.t("community-page-role-member"))
                                }
                            }
                            @if overview.steward {
                                td { (remove_button(page, overview, member)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A steward may remove any member but itself and the founder (the
/// founder's removal is refused by `Household::remove_member` anyway).
fn remove_button(page: &Page, overview: &Overview, member: &MemberView) -> Markup {
    let removable = member.household != overview.me && member.household != overview.founder_id;
    html! {
        @if removable {
            form method="post" action=(format!("/communaute/membres/{}/retirer", member.household)) class="inline"
                data-confirm=(page.ta("community-page-remove-confirm", &[("name", &member.name)])) {
                (page.csrf_field())
                button type="submit" class="danger" {
                    (page.t("community-page-remove"))
                    span class="visually-hidden" { " " (member.name) }
                }
            }
        }
    }
}

fn devices_section(page: &Page, devices: &[DeviceView]) -> Markup {
    html! {
        section aria-labelledby="devices-title" {
            h2 id="devices-title" { (page.t("community-page-devices")) }
            p { (page.t("community-page-devices-explain")) }
            table class="devices" {
                caption class="visually-hidden" { (page.t("community-page-devices-caption")) }
                thead {
                    tr {
                        th scope="col" { (page.t("community-page-device")) }
                        th scope="col" { (page.t("community-page-device-id")) }
                        th scope="col" { (page.t("community-page-device-since")) }
                        th scope="col" { (page.t("community-page-device-state")) }
                    }
                }
                tbody {
                    @for device in devices {
                        tr {
                            th scope="row" {
                                (device.label)
                                @if device.this_device {
                                    " " span class="badge" { (page.t("community-page-this-device")) }
                                }
                            }
                            td { code { (device.device.chars().take(8).collect::<String>()) } }
                            td { (page.date(device.issued_at)) }
                            td {
                                @match device.revoked_at {
                                    Some(at) => { (page.ta("community-page-device-revoked", &[("date", &page.date(at))])) }
                                    None => { (page.t("community-page-device-active")) }
                                }
                            }
                        }
                    }
                }
            }
            p class="meta" { (page.t("community-page-devices-how")) " " code { "maillage device link" } }
        }
    }
}

/// Who a peer is, as the CLI's `peers` says it: the household's name, else
/// the start of its id, else the peer id.
fn peer_name(peer: &crate::net::PeerView) -> String {
    peer.name
        .clone()
        .or_else(|| peer.household.as_ref().map(|h| h.chars().take(8).collect()))
        .unwrap_or_else(|| peer.peer.clone())
}

fn mesh_section(page: &Page, mesh: Option<&NetStatus>, communities: &BTreeMap<String, String>) -> Markup {
    html! {
        section aria-labelledby="network-title" {
            h2 id="network-title" { (page.t("community-page-network")) }
            div id="mesh-status" {
                @match mesh {
                    None => { p { (page.t("community-page-network-silent")) } }
                    Some(status) => {
                        p { (page.ta("community-page-peers-count", &[("count", &status.peers.len().to_string())])) }
                        @if status.peers.is_empty() {
                            p { (page.t("community-page-peers-none")) }
                        } @else {
                            table class="peers" {
                                caption class="visually-hidden" { (page.t("community-page-peers-caption")) }
                                thead {
                                    tr {
                                        th scope="col" { (page.t("community-page-household")) }
                                        th scope="col" { (page.t("community-page-address")) }
                                        th scope="col" { (page.t("community-page-transport")) }
                                    }
                                }
                                tbody {
                                    @for peer in &status.peers {
                                        tr {
                                            th scope="row" { (peer_name(peer)) }
                                            td class="address" { (peer.addresses.first().map(String::as_str).unwrap_or("—")) }
                                            td { (peer.transport.to_uppercase()) }
                                        }
                                    }
                                }
                            }
                        }
                        h3 { (page.t("community-page-last-sync")) }
                        ul class="last-sync" {
                            @for (community, last) in &status.last_sync {
                                li {
                                    (communities.get(community).map(String::as_str).unwrap_or(community))
                                    " : "
                                    @match last {
                                        Some(at) => { (page.time(*at)) }
                                        None => { (page.t("community-page-never")) }
                                    }
                                }
                            }
                        }
                        details {
                            summary { (page.t("community-page-own-node")) }
                            p { (page.t("community-page-peer-id")) " " code class="code" { (status.peer_id) } }
                            p { (page.t("community-page-listening")) }
                            ul {
                                @for address in &status.listen_addresses {
                                    li { code class="code" { (address) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The relays the running node dialed (node.toml's and `--relay`'s), each
/// with where it was given and, when the swarm answered, whether it is
/// connected now; then the members' nodes it redials by itself.
fn relays_section(page: &Page, relays: &[Relay], mesh: Option<&NetStatus>, overview: &Overview) -> Markup {
    html! {
        section aria-labelledby="relays-title" {
            h2 id="relays-title" { (page.t("community-page-relays")) }
            p { (page.t("community-page-relays-explain")) }
            @if relays.is_empty() {
                p { (page.t("community-page-relays-none")) }
                pre { code { "dial = [\"/ip4/192.168.1.10/tcp/4001\"]" } }
            } @else {
                p { (page.t("community-page-relays-configured")) }
                ul class="relays" {
                    @for relay in relays {
                        li {
                            code class="code" { (relay.address) }
                            br;
                            (page.t(match relay.given_in {
                                RelayOrigin::NodeFile => "community-page-relay-from-file",
                                RelayOrigin::CommandLine => "community-page-relay-from-command-line",
                                RelayOrigin::Both => "community-page-relay-from-both",
                            }))
                            @match mesh.map(|status| is_connected(&relay.address, status)) {
                                Some(true) => { " — " strong class="relay-state" { (page.t("community-page-relay-connected")) } }
                                Some(false) => { " — " span class="relay-state" { (page.t("community-page-relay-not-connected")) } }
                                None => {}
                            }
                        }
                    }
                }
            }
            h3 { (page.t("community-page-known-nodes")) }
            @if overview.known_nodes.is_empty() {
                p { (page.t("community-page-known-nodes-none")) }
            } @else {
                p { (page.t("community-page-known-nodes-explain")) }
                ul class="known-nodes" {
                    @for node in &overview.known_nodes {
                        li {
                            strong { (node.household.as_deref().unwrap_or(&node.peer)) }
                            @for address in &node.addresses {
                                br;
                                code class="code" { (address) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether the node holds a connection to `relay` now: to the peer its
/// `/p2p/` part names, else to its address (a connection the node dialed
/// has the dialed address as its remote one).
fn is_connected(relay: &Multiaddr, mesh: &NetStatus) -> bool {
    let (relay_transport, relay_peer) = split_peer(relay);
    mesh.peers.iter().any(|peer| match relay_peer {
        Some(relay_peer) => peer.peer == relay_peer.to_string(),
        None => peer
            .addresses
            .iter()
            .filter_map(|address| address.parse::<Multiaddr>().ok())
            .any(|address| split_peer(&address).0 == relay_transport),
    })
}

/// An address without its `/p2p/` part, and the peer that part names.
fn split_peer(address: &Multiaddr) -> (Multiaddr, Option<libp2p::PeerId>) {
    let mut transport = Multiaddr::empty();
    let mut peer = None;
    for protocol in address.iter() {
        match protocol {
            Protocol::P2p(id) => peer = Some(id),
            other => transport.push(other),
        }
    }
    (transport, peer)
}

fn invite_section(page: &Page, overview: &Overview, form: &InviteForm, errors: &FieldErrors) -> Markup {
    let stewards: Vec<&str> = overview
        .members
        .iter()
        .filter(|member| member.steward)
        .map(|member| member.name.as_str())
        .collect();
    html! {
        section aria-labelledby="invite-title" {
            h2 id="invite-title" { (page.t("community-page-invite")) }
            @if overview.steward {
                p { (page.t("community-page-invite-explain")) }
                (error_summary(page, errors))
                form method="post" action="/communaute/invitation" class="invite" novalidate {
                    (page.csrf_field())
                    (text_field(page, "uses", &page.t("community-page-uses"), &form.uses, errors, FieldOptions {
                        required: true,
                        hint: Some(&page.t("community-page-uses-hint")),
                        input_type: Some("number"),
                        ..FieldOptions::default()
                    }))
                    (text_field(page, "days", &page.t("community-page-days"), &form.days, errors, FieldOptions {
                        required: true,
                        hint: Some(&page.ta("community-page-days-hint", &[("max", &MAX_DAYS.to_string())])),
                        input_type: Some("number"),
                        ..FieldOptions::default()
                    }))
                    button type="submit" { (page.t("community-page-invite-submit")) }
                }
            } @else {
                p { (page.ta("community-page-invite-stewards-only", &[("names", &stewards.join(", "))])) }
            }
        }
    }
}

/// `POST /communaute/invitation`: makes an invite code with the same
/// operation as `maillage community invite`, then shows it.
async fn create_invitation(
    State(state): State<WebState>,
    page: Page,
    Form(form): Form<InviteForm>,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::default();
    let uses = form.uses.trim().parse::<u32>().ok().filter(|uses| *uses >= 1);
    if uses.is_none() {
        errors.set("uses", page.t("community-page-uses-invalid"));
    }
    let days = form
        .days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|days| (1..=MAX_DAYS).contains(days));
    if days.is_none() {
        errors.set(
            "days",
            page.ta("community-page-days-invalid", &[("max", &MAX_DAYS.to_string())]),
        );
    }
    let (Some(uses), Some(days)) = (uses, days) else {
        return render(&state, &page, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let expires_at = now_ms() + i64::from(days) * DAY_MS;
    match state.write(move |household| household.invite(uses, expires_at)).await {
        Ok(code) => Ok(Redirect::to(&format!("/communaute/invitation/{}", code.to_text())).into_response()),
        Err(error) => {
            let status = match error {
                HouseholdError::NotSteward => StatusCode::FORBIDDEN,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            // The household refuses an invitation with no use left: that
            // belongs next to the number of uses.
            let errors = FieldErrors::from_error(&page, &error, |_| None);
            let errors = match error {
                HouseholdError::NotAllowed(NotAllowed::InvitationWithoutUse) => {
                    let mut by_field = FieldErrors::default();
                    by_field.set("uses", errors.general.unwrap_or_default());
                    by_field
                }
                _ => errors,
            };
            render(&state, &page, &form, &errors, status).await
        }
    }
}

/// What the invitation page says about its code, besides the code itself.
#[derive(Debug)]
struct InvitationView {
    code: String,
    community: String,
    inviter: String,
    uses: u32,
    expires_at: i64,
}

/// `GET /communaute/invitation/{code}`: the code, its QR code and what the
/// neighbour should do with it, on a page made to be printed.
async fn show_invitation(
    State(state): State<WebState>,
    page: Page,
    Path(text): Path<String>,
) -> Result<Response, WebError> {
    let code = InviteCode::parse(&text).map_err(|error| page.fail(HouseholdError::Invite(error)))?;
    let inviter = code.invite.body.inviter;
    let inviter = state
        .read(move |household| Ok(household.name_of(&inviter)))
        .await
        .map_err(|error| page.fail(error))?;
    let view = InvitationView {
        code: code.to_text(),
        community: code.genesis.body.name.clone(),
        inviter,
        uses: code.invite.body.max_uses,
        expires_at: code.invite.body.expires_at,
    };
    let title = page.ta("community-page-invitation-title", &[("name", &view.community)]);
    let main = invitation_markup(&page, &title, &view);
    Ok(document(&page, &title, Section::Community, main).into_response())
}

fn invitation_markup(page: &Page, title: &str, view: &InvitationView) -> Markup {
    let qr_label = page.ta("community-page-qr-label", &[("name", &view.community)]);
    let qr = qr::svg(&view.code.to_uppercase(), &qr_label);
    html! {
        article class="invitation" {
            h1 { (title) }
            p class="meta" {
                (page.ta("community-page-invitation-meta", &[
                    ("inviter", &view.inviter),
                    ("uses", &view.uses.to_string()),
                    ("date", &page.time(view.expires_at)),
                ]))
            }
            @if view.expires_at < now_ms() {
                p class="error-message" { (page.t("community-page-invitation-expired")) }
            }
            h2 { (page.t("community-page-invitation-how")) }
            ol class="steps" {
                li { (page.t("community-page-invitation-install")) }
                li {
                    (page.t("community-page-invitation-type"))
                    p class="command" {
                        code { "maillage community join " span id="invite-code" class="code" { (view.code) } }
                    }
                }
                @if let Some(qr) = &qr {
                    li {
                        (page.t("community-page-invitation-scan"))
                        figure class="qr" {
                            (qr)
                            figcaption class="visually-hidden" { (qr_label) }
                        }
                    }
                }
                li { (page.ta("community-page-invitation-online", &[("inviter", &view.inviter)])) }
            }
            @if qr.is_none() {
                p { (page.t("community-page-invitation-no-qr")) }
            }
            p { strong { (page.t("community-page-invitation-secret")) } }
            p class="no-print" {
                (page.t("community-page-invitation-print"))
                " "
                a href="/communaute" { (page.t("community-page-back")) }
            }
        }
    }
}

/// `POST /communaute/membres/{household}/retirer`: a steward removes a
/// member, as `maillage community remove` does.
async fn remove_member(
    State(state): State<WebState>,
    page: Page,
    Path(text): Path<String>,
) -> Result<Response, WebError> {
    let member: HouseholdId = text
        .parse()
        .map_err(|_| page.fail(HouseholdError::UnknownMember(text.clone())))?;
    state
        .write(move |household| {
            if !household.community()?.is_member(&member) {
                return Err(HouseholdError::UnknownMember(member.short()));
            }
            household.remove_member(&member)
        })
        .await
        .map_err(|error| page.fail(error))?;
    Ok(Redirect::to("/communaute").into_response())
}
