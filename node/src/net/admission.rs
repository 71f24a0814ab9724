//! Joining a community and linking a device, online: what `community join`,
//! `device add` and `device link` do over the mesh.
//!
//! Each drives a swarm through its [`NetHandle`]: the household's running
//! node when there is one (the command runs inside it), or a short-lived
//! swarm the command starts for itself ([`short_lived`]). The decisions are
//! the household's (`household::admission`); this file only sequences them:
//!
//! ```text
//! join:     prepare ─ ask each inviter address: Join ─┬ Admitted → store → sync until quiet
//!                                                     ├ Refused(reason) → error, nothing stored
//!                                                     └ no answer → offline join, as before
//! add:      begin (device key) ─ ask: Link ─ Linked → finish (certificate) → sync every community
//! link:     (no node) short-lived swarm → code → wait until used → wait for the new device to leave
//! ```

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use libp2p::multiaddr::Protocol;
use maillage_crdt::{CommunityId, DeviceId, DocId, SignedChange};
use maillage_protocol::LinkCode;
use serde::Serialize;

use super::wire::{RecordsRequest, RecordsResponse, Refusal};
use super::{Config, Multiaddr, NetError, NetHandle, PeerId, spawn};
use crate::home::Home;
use crate::household::{Household, HouseholdError, now_ms};
use crate::service::HouseholdService;
use maillage_protocol::records::{decode_records, encode_records};

/// How long a node in an invite or link code has to answer (dial included)
/// before the next address is tried, or the join falls back to offline.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the first sync after a join or link may take in all.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(120);
/// After its link is used, how long a waiting `device link` serves the new
/// device's first sync at most.
pub const SERVE_NEW_DEVICE_FOR: Duration = Duration::from_secs(120);
/// Sessions per community before the first sync gives up being complete
/// (each one is bounded; a large community may need a few).
const MAX_SESSIONS: usize = 20;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    #[error(transparent)]
    Household(#[from] HouseholdError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("{0}")]
    Config(String),
    /// `device add`: no address of the code answered. The home stays
    /// half-made; running `device add` again picks it up.
    #[error(
        "the household's first device did not answer ({0}); is its node running, or `maillage device link` waiting?"
    )]
    Unreachable(String),
    #[error("the code carries no address to reach the household's first device")]
    NoAddress,
    /// `device link` without a running node: nobody used the code in time.
    #[error("nobody used the device link code before it expired")]
    NobodyCame,
    #[error("the other node's answer cannot be read")]
    BadAnswer,
}

/// How far a join or link has got, for a progress line.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Dialing the node(s) in the code.
    Contacting,
    /// Admitted (or certified); the first sync begins.
    Admitted,
    /// Documents received so far by the first sync.
    Received(usize),
}

/// What `community join` did.
#[derive(Clone, Debug, Serialize)]
pub struct Joined {
    pub community: String,
    pub name: String,
    /// Admitted by a member's node; `false`: joined offline, no node answered.
    pub online: bool,
    /// Documents received by the first sync.
    pub documents: usize,
    /// The first sync ran to the end (else the node finishes it later).
    pub synced: bool,
}

/// What `device add` did.
#[derive(Clone, Debug, Serialize)]
pub struct Linked {
    pub household: String,
    pub name: String,
    pub device: String,
    pub documents: usize,
    pub synced: bool,
}

/// What a waiting `device link` saw.
#[derive(Clone, Debug, Serialize)]
pub struct Served {
    /// The new device, as `device list` shows it.
    pub device: String,
    pub label: String,
}

/// The swarm settings of a command that needs the mesh while no node runs:
/// `<home>/node.toml`'s listen addresses and mDNS choice when it must be
/// reachable (`device link` waiting), none when it only dials out.
pub fn short_lived(home: &Home, reachable: bool) -> Result<Config, AdmissionError> {
    let settings = crate::config::NodeFile::load(home).map_err(|e| AdmissionError::Config(e.to_string()))?;
    let listen = if !reachable {
        Vec::new()
    } else if settings.listen.is_empty() {
        ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    } else {
        settings
            .listen
            .iter()
            .map(|text| {
                text.parse()
                    .map_err(|_| AdmissionError::Config(format!("{text:?} is not a network address")))
            })
            .collect::<Result<_, _>>()?
    };
    Ok(Config {
        listen,
        dial: Vec::new(),
        mdns: reachable && settings.mdns.unwrap_or(true),
        resync_every: Duration::from_secs(5),
    })
}

/// The peers of a code's addresses (`…/p2p/<peer id>`), each with its
/// addresses; addresses without a peer id cannot be authenticated and are
/// skipped.
fn targets(addresses: &[String]) -> Vec<(PeerId, Vec<Multiaddr>)> {
    let mut targets: Vec<(PeerId, Vec<Multiaddr>)> = Vec::new();
    for text in addresses {
        let Ok(mut address) = text.parse::<Multiaddr>() else {
            continue;
        };
        let Some(Protocol::P2p(peer)) = address.pop() else {
            continue;
        };
        match targets.iter_mut().find(|(known, _)| *known == peer) {
            Some((_, list)) => list.push(address),
            None => targets.push((peer, vec![address])),
        }
    }
    targets
}

/// Asks each target in turn; the first answer wins. `Err` carries why none
/// answered.
async fn ask_first(
    net: &NetHandle,
    targets: Vec<(PeerId, Vec<Multiaddr>)>,
    request: RecordsRequest,
) -> Result<(PeerId, RecordsResponse), String> {
    let mut why = String::from("no address");
    for (peer, addresses) in targets {
        match tokio::time::timeout(ANSWER_TIMEOUT, net.ask(peer, addresses, request.clone())).await {
            Ok(Ok(response)) => return Ok((peer, response)),
            Ok(Err(error)) => why = error.to_string(),
            Err(_) => why = format!("no answer within {} s", ANSWER_TIMEOUT.as_secs()),
        }
    }
    Err(why)
}

/// Each document a sync of `community` covers, with its heads, as the
/// store holds them now (empty if the store cannot be read).
fn holdings(household: &HouseholdService, community: &CommunityId) -> HashMap<DocId, Vec<ChangeHash>> {
    household
        .store()
        .sync_items(community)
        .map(|items| items.into_iter().collect())
        .unwrap_or_default()
}

/// Adds to `received` the documents of `community` whose heads differ from
/// `before`, and tells `progress` when there are more of them.
fn note_arrivals(
    household: &HouseholdService,
    community: &CommunityId,
    before: &HashMap<DocId, Vec<ChangeHash>>,
    received: &mut HashSet<DocId>,
    progress: &mut dyn FnMut(Progress),
) {
    let count = received.len();
    received.extend(
        holdings(household, community)
            .into_iter()
            .filter(|(doc, heads)| before.get(doc) != Some(heads))
            .map(|(doc, _)| doc),
    );
    if received.len() > count {
        progress(Progress::Received(received.len()));
    }
}

/// Syncs `community` with `peer` until a session that began after we asked
/// brings nothing new (or `deadline` passes), and adds to `received` each
/// document of the community that changed here meanwhile. Whether it got
/// there.
///
/// What arrived is read from the store, not added up from the sessions'
/// counts: right after an admission the swarm starts sessions of its own
/// with the new fellow member (the refreshed memberships, a resync, the
/// inviter's node syncing back), and `sync_now` then waits for the session
/// after the running one — the documents came with a session nobody
/// counted, and the one it reports brought nothing.
async fn sync_until_quiet(
    household: &HouseholdService,
    net: &NetHandle,
    peer: PeerId,
    community: CommunityId,
    deadline: Instant,
    received: &mut HashSet<DocId>,
    progress: &mut dyn FnMut(Progress),
) -> bool {
    let before = holdings(household, &community);
    let mut failures = 0;
    for _ in 0..MAX_SESSIONS {
        let left = deadline.saturating_duration_since(Instant::now());
        let session = tokio::time::timeout(left, net.sync_now(peer, community)).await;
        note_arrivals(household, &community, &before, received, progress);
        match session {
            // This session, begun after the request, found nothing we lacked.
            Ok(Some(0)) => return true,
            Ok(Some(_)) => {}
            // Refused or cut: right after an admission the peer may still be
            // catching up with its own store; try a few times.
            Ok(None) if failures < 3 => {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Ok(None) | Err(_) => return false,
        }
    }
    false
}

/// `community join CODE`: presents the join to the inviter's node (the
/// code's addresses) and, admitted, stores the community's records and
/// syncs every document before returning. A refusal is an error carrying
/// the node's reason ([`HouseholdError::Refusal`]), and nothing is stored.
/// When no address answers, or the code has none, joins offline as before:
/// the household's node syncs when it reaches a member.
pub async fn join(
    household: &HouseholdService,
    net: &NetHandle,
    code: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Joined, AdmissionError> {
    let prepared = household.prepare_join(code)?;
    let targets = targets(&prepared.code.addresses);
    let request = RecordsRequest::Join {
        records: encode_records(&prepared.presented),
    };
    let answer = if targets.is_empty() {
        Err(String::from("no address"))
    } else {
        progress(Progress::Contacting);
        ask_first(net, targets, request).await
    };
    let (peer, records) = match answer {
        Ok((peer, RecordsResponse::Admitted { records })) => (peer, records),
        Ok((_, RecordsResponse::Refused { reason })) => return Err(HouseholdError::Refusal(reason).into()),
        Ok(_) => return Err(AdmissionError::BadAnswer),
        Err(why) => {
            tracing::info!(%why, "no member's node answered: joining offline");
            let join = prepared.clone();
            let community = household
                .write(move |writer| writer.store_join(&join, Vec::new()))
                .await?;
            net.announce();
            return Ok(Joined {
                community: community.to_text(),
                name: prepared.code.genesis.body.name.clone(),
                online: false,
                documents: 0,
                synced: false,
            });
        }
    };
    let (records, _) = decode_records(&records);
    let join = prepared.clone();
    let community = household.write(move |writer| writer.store_join(&join, records)).await?;
    progress(Progress::Admitted);
    // Subscribes to the community's topic and tells the swarm the inviter
    // is a fellow member now.
    net.announce();
    let mut documents = HashSet::new();
    let deadline = Instant::now() + SYNC_TIMEOUT;
    let synced = sync_until_quiet(household, net, peer, community, deadline, &mut documents, progress).await;
    Ok(Joined {
        community: community.to_text(),
        name: prepared.code.genesis.body.name.clone(),
        online: true,
        documents: documents.len(),
        synced,
    })
}

/// `device add CODE` on a new machine: makes the home (a device key, no
/// root key), starts a short-lived swarm, proves the link secret to the
/// first device, stores the certificate and the household's records it
/// sends, then syncs every community of the household before returning.
pub async fn add_device(
    home: Home,
    code: &str,
    label: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Linked, AdmissionError> {
    let code = LinkCode::parse(code).map_err(HouseholdError::from)?;
    if now_ms() > code.expires_at {
        return Err(HouseholdError::Refusal(Refusal::LinkExpired).into());
    }
    let targets = targets(&code.addresses);
    if targets.is_empty() {
        return Err(AdmissionError::NoAddress);
    }
    let config = short_lived(&home, false)?;
    let household = HouseholdService::start(Household::begin_link(home, &code)?);
    let (proof, consent) = household.link_request(&code);
    let device = household.device_key().device_id();
    let (net, task) = spawn(household.clone(), config)?;
    progress(Progress::Contacting);
    let request = RecordsRequest::Link {
        household: code.household.0,
        proof,
        consent,
        label: label.to_owned(),
    };
    let result = async {
        let (peer, response) = ask_first(&net, targets, request)
            .await
            .map_err(AdmissionError::Unreachable)?;
        let (records, profile) = match response {
            RecordsResponse::Linked { records, profile } => (records, profile),
            RecordsResponse::Refused { reason } => return Err(HouseholdError::Refusal(reason).into()),
            _ => return Err(AdmissionError::BadAnswer),
        };
        let (records, _) = decode_records(&records);
        let profile: Vec<SignedChange> = profile
            .iter()
            .map(|bytes| postcard::from_bytes(bytes))
            .collect::<Result<_, _>>()
            .map_err(|_| AdmissionError::BadAnswer)?;
        let linked = code.clone();
        household
            .write(move |writer| writer.finish_link(&linked, records, profile))
            .await?;
        let communities = household.communities()?;
        progress(Progress::Admitted);
        net.announce();
        let mut documents = HashSet::new();
        let mut synced = true;
        let deadline = Instant::now() + SYNC_TIMEOUT;
        for community in communities {
            let Ok(id) = community.id.parse::<CommunityId>() else {
                continue;
            };
            synced &= sync_until_quiet(&household, &net, peer, id, deadline, &mut documents, progress).await;
        }
        Ok(Linked {
            household: household.id().to_text(),
            name: household.name(),
            device: device.to_text(),
            documents: documents.len(),
            synced,
        })
    }
    .await;
    net.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    result
}

/// `device link` when no node runs: starts a short-lived swarm, makes the
/// code with its addresses and hands it to `show` at once (the user must
/// see it while this waits), then waits until the new machine uses it or it
/// expires, and serves the new device's first sync until it disconnects.
pub async fn link_and_wait(
    home: &Home,
    household: &HouseholdService,
    expires_at: i64,
    show: &mut dyn FnMut(&LinkCode),
) -> Result<Served, AdmissionError> {
    let config = short_lived(home, true)?;
    let (net, task) = spawn(household.clone(), config)?;
    let result = async {
        let status = wait_until(Instant::now() + Duration::from_secs(5), || async {
            net.status().await.filter(|status| !status.listen_addresses.is_empty())
        })
        .await
        .ok_or(AdmissionError::Config("the network did not start listening".into()))?;
        let advertised = status
            .listen_addresses
            .iter()
            .map(|address| format!("{address}/p2p/{}", status.peer_id))
            .collect();
        household.set_advertised(advertised);
        let before: Vec<String> = household.devices().into_iter().map(|d| d.device).collect();
        let code = household.write(move |writer| writer.create_link(expires_at)).await?;
        show(&code);
        let expires_in = Duration::from_millis(expires_at.saturating_sub(now_ms()).max(0) as u64);
        let used = wait_until(Instant::now() + expires_in, || async {
            (!household.link_waiting(&code)).then_some(())
        })
        .await;
        if used.is_none() {
            return Err(AdmissionError::NobodyCame);
        }
        let new = household
            .devices()
            .into_iter()
            .find(|device| !before.contains(&device.device))
            .ok_or(AdmissionError::NobodyCame)?;
        // Serve the new device's first sync: it disconnects when done.
        if let Some(peer) = new.device.parse::<DeviceId>().ok().and_then(|d| peer_of(&d)) {
            let _ = wait_until(Instant::now() + SERVE_NEW_DEVICE_FOR, || async {
                let status = net.status().await?;
                (!status.peers.iter().any(|p| p.peer == peer.to_string())).then_some(())
            })
            .await;
        }
        Ok(Served {
            device: new.device,
            label: new.label,
        })
    }
    .await;
    net.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    result
}

/// The libp2p peer id of a device (its key is the node's identity).
pub fn peer_of(device: &DeviceId) -> Option<PeerId> {
    let public = libp2p::identity::ed25519::PublicKey::try_from_bytes(&device.0).ok()?;
    Some(libp2p::identity::PublicKey::from(public).to_peer_id())
}

/// Polls `probe` every 100 ms until it yields a value or `deadline` passes.
async fn wait_until<T, F, Fut>(deadline: Instant, probe: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
