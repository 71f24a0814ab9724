//! The mesh: one task owns the libp2p [`Swarm`]; the rest of the node talks to
//! it through a [`NetHandle`] over a bounded channel.
//!
//! ```text
//!   connect ─► hello (device + join records, both ways) ─► for each community
//!   both are members of: community records (digest first) ─► sync session
//!   (reconciliation, then signed changes) ─► store.ingest verifies each change
//!   local change ─► gossipsub "changed" on the community topic ─► peers sync
//! ```
//!
//! Before a peer is known as a member it gets nothing that names a
//! community, a household or a device: hello carries records only for the
//! communities the other side is known to share, or has shown it knows the
//! id of (`maillage_protocol::mesh::hello_tag`); gossip topics are hashes;
//! gossipsub publishes nothing to it; and what it publishes is validated
//! (signed by a member's device, as the store says now) before anything is
//! forwarded or synced.
//!
//! The store is synchronous (redb) and shared with the local API, so every
//! store operation runs on a blocking thread and reports back to the loop as a
//! [`Work`] message; the loop itself never waits on the disk. Nothing about a
//! community — no record, no document, no document id — is sent to a peer
//! whose device does not belong to a member household of that community.

pub mod address_book;
pub mod admission;
mod behaviour;
mod pending;
pub mod wire;

pub use libp2p::{Multiaddr, PeerId};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Swarm, gossipsub, identify, identity, mdns};
use maillage_crdt::{ChangeRejected, CommunityId, DeviceId, Record};
use maillage_protocol::mesh::{Announcement, topic_name};
use maillage_protocol::sync::{Session, Step};
use serde::Serialize;
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::household::{Admission, Household, Linking, now_ms};
use crate::service::HouseholdService;
use crate::store::ApplyReport;
use behaviour::{Behaviour, BehaviourEvent};
use maillage_protocol::records::machine::{
    self, ChannelId, Effect, Facts, Input, JobId, JoinOutcome, Known, LinkOutcome, Machine, RequestId, StoreAnswer,
    StoreOp,
};
use wire::{RecordsRequest, RecordsResponse, SyncRefusal, SyncRequest, SyncResponse};

/// A connected peer, as `maillage peers` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PeerView {
    pub peer: String,
    /// The household the peer's device belongs to, when known.
    pub household: Option<String>,
    pub name: Option<String>,
    pub addresses: Vec<String>,
    /// "tcp" or "quic".
    pub transport: String,
}

/// What `maillage status` shows.
#[derive(Clone, Debug, Serialize)]
pub struct NetStatus {
    pub peer_id: String,
    pub listen_addresses: Vec<String>,
    pub peers: Vec<PeerView>,
    /// Per community: its id and the last time a sync with a peer finished (Unix ms).
    pub last_sync: Vec<(String, Option<i64>)>,
    /// Sync sessions this node has started since it started (each one costs
    /// store work: a flood of them is what announcements must not cause).
    pub syncs_started: u64,
}

/// How the swarm is set up.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (relays, bootstrap, an inviter's addresses).
    pub dial: Vec<Multiaddr>,
    /// Discover peers on the LAN. mDNS does not use loopback: tests on one
    /// machine turn it off and dial explicitly.
    pub mdns: bool,
    /// How often to run an anti-entropy sync with each connected member.
    pub resync_every: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: vec![],
            dial: vec![],
            mdns: true,
            resync_every: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    #[error(transparent)]
    Build(#[from] behaviour::BuildError),
    #[error("cannot listen on {address}: {reason}")]
    Listen { address: String, reason: String },
    #[error("the device key cannot be used as a network identity: {0}")]
    Identity(String),
}

/// Why a request to one peer got no answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AskError {
    #[error("the peer could not be reached: {0}")]
    Unreachable(String),
    #[error("the peer did not answer: {0}")]
    NoAnswer(String),
    #[error("the network task has stopped")]
    Stopped,
}

type AskReply = oneshot::Sender<Result<RecordsResponse, AskError>>;

enum Command {
    Status(oneshot::Sender<NetStatus>),
    /// Something changed locally: tell the communities' peers.
    Announce,
    Dial(Multiaddr),
    /// Closes every connection (tests cut links with it; a steward could too).
    DisconnectAll,
    /// Sends one records request to a peer, dialing it first if needed.
    Ask {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: RecordsRequest,
        reply: AskReply,
    },
    /// Runs a sync session with a peer and says how many documents it
    /// changed here (`None`: refused, failed or cut).
    SyncNow {
        peer: PeerId,
        community: CommunityId,
        reply: oneshot::Sender<Option<usize>>,
    },
    Shutdown,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Status(_) => f.write_str("Status"),
            Command::Announce => f.write_str("Announce"),
            Command::Dial(address) => write!(f, "Dial({address})"),
            Command::DisconnectAll => f.write_str("DisconnectAll"),
            Command::Ask { peer, .. } => write!(f, "Ask({peer})"),
            Command::SyncNow { peer, community, .. } => write!(f, "SyncNow({peer}, {community})"),
            Command::Shutdown => f.write_str("Shutdown"),
        }
    }
}

/// A cloneable handle to the swarm task.
#[derive(Clone, Debug)]
pub struct NetHandle {
    commands: mpsc::Sender<Command>,
}

impl NetHandle {
    /// The swarm's current state, or `None` if the task has stopped.
    pub async fn status(&self) -> Option<NetStatus> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Status(reply)).await.ok()?;
        answer.await.ok()
    }

    /// Asks the swarm to announce local changes to peers. Never blocks: if the
    /// queue is full, an announcement is already pending.
    pub fn announce(&self) {
        let _ = self.commands.try_send(Command::Announce);
    }

    pub async fn dial(&self, address: Multiaddr) {
        let _ = self.commands.send(Command::Dial(address)).await;
    }

    /// Closes every connection, and does not redial remembered peers for
    /// five minutes; peers may still dial in, and `dial` still works.
    pub async fn disconnect_all(&self) {
        let _ = self.commands.send(Command::DisconnectAll).await;
    }

    /// Sends `request` to `peer` (dialing `addresses` if not connected) and
    /// waits for its answer. The caller bounds the wait with a timeout: a
    /// dial to an address that drops packets takes long to fail.
    pub async fn ask(
        &self,
        peer: PeerId,
        addresses: Vec<Multiaddr>,
        request: RecordsRequest,
    ) -> Result<RecordsResponse, AskError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Ask {
            peer,
            addresses,
            request,
            reply,
        };
        self.commands.send(command).await.map_err(|_| AskError::Stopped)?;
        answer.await.map_err(|_| AskError::Stopped)?
    }

    /// Syncs `community` with `peer` now (records first, as always) and
    /// waits for the session to end: how many documents it changed here, or
    /// `None` if the peer refused, failed or went away.
    pub async fn sync_now(&self, peer: PeerId, community: CommunityId) -> Option<usize> {
        let (reply, answer) = oneshot::channel();
        let command = Command::SyncNow { peer, community, reply };
        self.commands.send(command).await.ok()?;
        answer.await.ok().flatten()
    }

    /// Stops the swarm task after it finishes its current event.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }
}

/// Results of store work done on a blocking thread, back to the loop.
enum Work {
    /// A store job the records machine asked for, answered.
    Store {
        job: JobId,
        answer: StoreAnswer,
    },
    SyncStarted {
        peer: PeerId,
        community: CommunityId,
        result: Result<(Session, Vec<u8>), String>,
    },
    SyncStepped {
        peer: PeerId,
        community: CommunityId,
        session: Session,
        result: Result<(Step, ApplyReport), String>,
    },
    SyncAnswered {
        peer: PeerId,
        community: CommunityId,
        session: Session,
        channel: ResponseChannel<SyncResponse>,
        result: Result<(Step, ApplyReport), String>,
    },
    SyncRefused {
        peer: PeerId,
        community: CommunityId,
        channel: ResponseChannel<SyncResponse>,
        reason: SyncRefusal,
    },
    Communities(Vec<CommunityId>),
    Remembered,
    AddressBook(std::collections::BTreeMap<String, Vec<String>>),
    /// Whether an announcement's author is a member of its community now.
    AuthorChecked {
        author: DeviceId,
        community: CommunityId,
        member: bool,
    },
}

#[derive(Debug, Default)]
struct PeerState {
    /// Addresses of the connections to it.
    addresses: Vec<Multiaddr>,
    /// Where it says it listens (identify), for dialing it again later.
    listen: Vec<Multiaddr>,
    transport: String,
    /// Our address on the connection it opened to us: the interface a
    /// member can reach us on, advertised once it is known as one.
    reached_at: Option<Multiaddr>,
}

/// An outbound sync session (we initiated it).
#[derive(Debug, Default)]
struct Outbound {
    /// `None` while a step runs on a blocking thread or a request is in flight.
    session: Option<Session>,
    /// Start again once this one is done (an announcement arrived meanwhile).
    again: bool,
    /// Documents changed here by this session so far.
    received: usize,
    /// Told how many documents this session changed when it completes;
    /// dropped (so told `None`) if it does not.
    waiters: Vec<oneshot::Sender<Option<usize>>>,
    /// Waiting for the session that `again` will start.
    next_waiters: Vec<oneshot::Sender<Option<usize>>>,
}

const STRIKES_BEFORE_BAN: u32 = 3;
/// Why an outbound step stopped when the peer was removed meanwhile.
const NO_LONGER_A_MEMBER: &str = "the peer is no longer a member of this community";
/// Peers whose strikes are remembered at most (peer ids are free to make).
const MAX_STRUCK_PEERS: usize = 1024;
const REDIAL_FIRST: Duration = Duration::from_secs(5);
const REDIAL_MAX: Duration = Duration::from_secs(300);
const BAN_FOR: Duration = Duration::from_secs(600);
const WORK_QUEUE: usize = 256;
/// Syncs an announcement may start with one peer for one community: at most
/// one per this period; announcements in between are folded into one sync
/// when it ends.
const ANNOUNCED_SYNC_GAP: Duration = Duration::from_secs(1);
/// Announcements waiting for the store's word on their author, per author
/// and community, and authors waiting at once: beyond these, announcements
/// are dropped unforwarded (a member's next one, or the resync, catches up).
const MAX_WAITING_PER_AUTHOR: usize = 32;
const MAX_AUTHORS_CHECKED: usize = 256;
const COMMAND_QUEUE: usize = 64;

/// Starts the swarm task.
pub fn spawn(
    household: HouseholdService,
    config: Config,
) -> Result<(NetHandle, tokio::task::JoinHandle<()>), NetError> {
    let keypair = {
        let mut secret = household.device_key().to_bytes();
        identity::Keypair::ed25519_from_bytes(&mut secret).map_err(|e| NetError::Identity(e.to_string()))?
    };
    let mut swarm = behaviour::build(keypair, config.mdns)?;
    for address in &config.listen {
        swarm.listen_on(address.clone()).map_err(|e| NetError::Listen {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    }
    // A port chosen on a specific address (a village hall's fixed address,
    // loopback in tests) is the operator's choice and advertised as it is; a
    // `0.0.0.0` listen is advertised only where members reached us.
    let explicit: Vec<Multiaddr> = config.listen.iter().filter(|a| is_dialable(a)).cloned().collect();
    for address in &config.dial {
        if let Err(error) = swarm.dial(address.clone()) {
            warn!(%address, %error, "cannot dial");
        }
    }
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let me_bytes = swarm.local_peer_id().to_bytes();
    let (work_tx, work_rx) = mpsc::channel(WORK_QUEUE);
    let node = Node {
        swarm,
        household,
        config,
        commands: command_rx,
        work_tx,
        work_rx,
        peers: HashMap::new(),
        banned: HashMap::new(),
        outbound: HashMap::new(),
        in_flight: HashMap::new(),
        inbound: HashMap::new(),
        last_sync: HashMap::new(),
        subscribed: HashSet::new(),
        backoff: HashMap::new(),
        jobs: Arc::new(AtomicUsize::new(0)),
        strikes: HashMap::new(),
        machine: Machine::new(me_bytes, machine::Config::default()),
        started: Instant::now(),
        channels: HashMap::new(),
        next_channel: 0,
        requests: HashMap::new(),
        explicit,
        asks_waiting: HashMap::new(),
        asks_in_flight: HashMap::new(),
        checking: HashMap::new(),
        announced: HashMap::new(),
        deferred: HashSet::new(),
        syncs_started: 0,
    };
    // Every log line of this node carries its peer id: several nodes share a
    // process in tests, and a steward's logs name the node anyway.
    let me = node.swarm.local_peer_id().to_string();
    let span = tracing::info_span!("node", peer = %&me[me.len().saturating_sub(6)..]);
    let task = tokio::spawn(tracing::Instrument::instrument(node.run(), span));
    Ok((NetHandle { commands }, task))
}

struct Node {
    swarm: Swarm<Behaviour>,
    household: HouseholdService,
    config: Config,
    commands: mpsc::Receiver<Command>,
    work_tx: mpsc::Sender<Work>,
    work_rx: mpsc::Receiver<Work>,
    peers: HashMap<PeerId, PeerState>,
    banned: HashMap<PeerId, Instant>,
    outbound: HashMap<(PeerId, CommunityId), Outbound>,
    /// Which outbound session each sync request in flight belongs to.
    in_flight: HashMap<OutboundRequestId, (PeerId, CommunityId)>,
    /// Responder sessions; taken out while a step runs.
    inbound: HashMap<(PeerId, CommunityId), Session>,
    last_sync: HashMap<CommunityId, i64>,
    subscribed: HashSet<CommunityId>,
    /// When to dial a remembered member next, and the delay after that.
    backoff: HashMap<PeerId, (Instant, Duration)>,
    /// Store jobs running on blocking threads.
    jobs: Arc<AtomicUsize>,
    /// Misbehaviour counted per peer, across reconnections.
    strikes: HashMap<PeerId, u32>,
    /// The records protocol (hello, community records, admissions): the
    /// loop feeds it inputs and carries out its effects.
    machine: Machine<PeerId>,
    /// The machine's clock starts here.
    started: Instant,
    /// Records requests received, waiting for the machine's answer.
    channels: HashMap<ChannelId, ResponseChannel<RecordsResponse>>,
    next_channel: ChannelId,
    /// The machine's requests in flight, by the swarm's id for them.
    requests: HashMap<OutboundRequestId, RequestId>,
    /// Listen addresses given explicitly (not `0.0.0.0`).
    explicit: Vec<Multiaddr>,
    /// Announcements waiting for the store's verdict on their author:
    /// (message id, the peer it came from).
    checking: HashMap<(DeviceId, CommunityId), Vec<(gossipsub::MessageId, PeerId)>>,
    /// When an announcement last started a sync with a peer for a community.
    announced: HashMap<(PeerId, CommunityId), Instant>,
    /// Announced syncs held back by [`ANNOUNCED_SYNC_GAP`], started on the next tick.
    deferred: HashSet<(PeerId, CommunityId)>,
    syncs_started: u64,
    /// Requests asked through [`NetHandle::ask`] waiting for a connection.
    asks_waiting: HashMap<PeerId, Vec<(RecordsRequest, AskReply)>>,
    asks_in_flight: HashMap<OutboundRequestId, AskReply>,
}

/// Addresses worth dialing again: not loopback unless we listen there too
/// (tests), never unspecified ones.
fn is_dialable(address: &Multiaddr) -> bool {
    !address.iter().any(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => ip.is_unspecified(),
        libp2p::multiaddr::Protocol::Ip6(ip) => ip.is_unspecified(),
        _ => false,
    })
}

fn topic(community: &CommunityId) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(topic_name(community))
}

/// The communities this household is a member of.
fn own_communities(household: &Household) -> Vec<CommunityId> {
    let me = household.id();
    household
        .store()
        .registry()
        .communities()
        .filter(|c| c.is_member(&me))
        .map(|c| c.id)
        .collect()
}

/// Whether `address` is what listening on `wanted` gave (its port may have
/// been 0, chosen by the system).
fn same_listen(wanted: &Multiaddr, address: &Multiaddr) -> bool {
    use libp2p::multiaddr::Protocol;
    let (w, a): (Vec<Protocol>, Vec<Protocol>) = (wanted.iter().collect(), address.iter().collect());
    w.len() == a.len()
        && w.iter().zip(&a).all(|pair| match pair {
            (Protocol::Tcp(0), Protocol::Tcp(_)) | (Protocol::Udp(0), Protocol::Udp(_)) => true,
            (x, y) => x == y,
        })
}

fn device_of(peer: &PeerId) -> Option<DeviceId> {
    let public = identity::PublicKey::try_decode_protobuf(&peer.to_bytes()[2..]).ok()?;
    let ed25519 = public.try_into_ed25519().ok()?;
    Some(DeviceId(ed25519.to_bytes()))
}

impl Node {
    async fn run(mut self) {
        let mut resync = tokio::time::interval(self.config.resync_every);
        resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut announced_tick = tokio::time::interval(ANNOUNCED_SYNC_GAP);
        announced_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.refresh_communities();
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command),
                },
                Some(work) = self.work_rx.recv() => self.on_work(work),
                _ = resync.tick() => self.on_resync(),
                _ = announced_tick.tick() => self.start_deferred(),
            }
        }
        drain_jobs(self.jobs.clone()).await;
        info!("network stopped");
    }

    /// Runs `job` on a blocking thread with the household, and feeds its
    /// result back to the loop. Reads run there at once, beside others;
    /// writes go to the household's writer (`write_blocking`), in order.
    fn blocking<F>(&self, job: F)
    where
        F: FnOnce(&HouseholdService) -> Work + Send + 'static,
    {
        let household = self.household.clone();
        let results = self.work_tx.clone();
        let jobs = self.jobs.clone();
        jobs.fetch_add(1, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || {
            let work = job(&household);
            drop(household);
            jobs.fetch_sub(1, Ordering::SeqCst);
            let _ = results.blocking_send(work);
        });
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::Announce => {
                self.refresh_communities();
                self.refresh_known();
                self.announce_all();
                // A join may have just added the inviter to the address book.
                self.redial_members();
            }
            Command::Dial(address) => {
                if let Err(error) = self.swarm.dial(address.clone()) {
                    warn!(%address, %error, "cannot dial");
                }
            }
            Command::DisconnectAll => {
                let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                // A cut stays a cut: remembered peers are not redialed for the
                // longest backoff (dialing by hand still works).
                let later = Instant::now() + REDIAL_MAX;
                for peer in peers {
                    self.backoff.insert(peer, (later, REDIAL_MAX));
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            Command::Ask {
                peer,
                addresses,
                request,
                reply,
            } => self.ask(peer, addresses, request, reply),
            Command::SyncNow { peer, community, reply } => self.sync_now(peer, community, reply),
            Command::Shutdown => {}
        }
    }

    fn ask(&mut self, peer: PeerId, addresses: Vec<Multiaddr>, request: RecordsRequest, reply: AskReply) {
        if self.swarm.is_connected(&peer) {
            let id = self.swarm.behaviour_mut().records.send_request(&peer, request);
            self.asks_in_flight.insert(id, reply);
            return;
        }
        let options = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
            .addresses(addresses)
            .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
            .build();
        match self.swarm.dial(options) {
            Ok(()) | Err(libp2p::swarm::DialError::DialPeerConditionFalse(_)) => {
                self.asks_waiting.entry(peer).or_default().push((request, reply));
            }
            Err(error) => {
                let _ = reply.send(Err(AskError::Unreachable(error.to_string())));
            }
        }
    }

    fn sync_now(&mut self, peer: PeerId, community: CommunityId, reply: oneshot::Sender<Option<usize>>) {
        if let Some(running) = self.outbound.get_mut(&(peer, community)) {
            running.again = true;
            running.next_waiters.push(reply);
            return;
        }
        self.start_sync(peer, community);
        // Not started (not connected): the reply is dropped, which says `None`.
        if let Some(entry) = self.outbound.get_mut(&(peer, community)) {
            entry.waiters.push(reply);
        }
    }

    fn status(&self) -> NetStatus {
        let mut peers: Vec<PeerView> = self
            .peers
            .iter()
            .map(|(peer, state)| PeerView {
                peer: peer.to_string(),
                household: self
                    .machine
                    .known(peer)
                    .and_then(|k| k.household.as_ref().map(|(id, _)| id.to_text())),
                name: self
                    .machine
                    .known(peer)
                    .and_then(|k| k.household.as_ref().map(|(_, name)| name.clone())),
                addresses: state.addresses.iter().map(|a| a.to_string()).collect(),
                transport: state.transport.clone(),
            })
            .collect();
        peers.sort_by(|a, b| a.peer.cmp(&b.peer));
        let mut last_sync: Vec<(String, Option<i64>)> = self
            .subscribed
            .iter()
            .map(|c| (c.to_text(), self.last_sync.get(c).copied()))
            .collect();
        last_sync.sort();
        NetStatus {
            peer_id: self.swarm.local_peer_id().to_string(),
            listen_addresses: self.swarm.listeners().map(|a| a.to_string()).collect(),
            peers,
            last_sync,
            syncs_started: self.syncs_started,
        }
    }

    /// Subscribes to the gossip topic of every community the household is in
    /// (it may have joined or founded one since the last look).
    fn refresh_communities(&self) {
        self.blocking(|household| {
            let communities = household
                .communities()
                .map(|list| list.iter().filter_map(|c| c.id.parse().ok()).collect())
                .unwrap_or_default();
            Work::Communities(communities)
        });
    }

    /// Works out again what each connected peer shares with us: memberships
    /// change while connections stay up (a join, a removal).
    fn refresh_known(&mut self) {
        self.feed(Input::MembershipsChanged);
    }

    fn announce_all(&mut self) {
        for community in self.subscribed.clone() {
            self.publish(community);
        }
        // Peers that are connected but not (yet) in the gossip mesh hear of
        // it directly.
        let targets = self.known_pairs();
        for (peer, community) in targets {
            self.start_sync(peer, community);
        }
    }

    fn on_resync(&mut self) {
        self.refresh_communities();
        self.refresh_known();
        self.banned.retain(|_, since| since.elapsed() < BAN_FOR);
        self.redial_members();
        let targets = self.known_pairs();
        for (peer, community) in targets {
            self.start_sync(peer, community);
        }
    }

    /// Tells the household where this node listens, for invite codes.
    fn advertise(&self) {
        let me = *self.swarm.local_peer_id();
        let addresses: Vec<String> = self.swarm.listeners().map(|a| format!("{a}/p2p/{me}")).collect();
        self.blocking(move |household| {
            household.set_advertised(addresses);
            Work::Remembered
        });
    }

    /// Keeps the addresses of a peer whose household shares a community with
    /// us (never of strangers), so a restarted node can find it again.
    fn remember_if_member(&mut self, peer: PeerId) {
        let Some(state) = self.peers.get(&peer) else { return };
        let is_member = self.machine.known(&peer).is_some_and(|k| !k.shared.is_empty());
        if !is_member || state.listen.is_empty() {
            return;
        }
        let addresses: Vec<String> = state.listen.iter().map(|a| a.to_string()).collect();
        self.backoff.remove(&peer);
        self.blocking(move |household| {
            let remembered =
                household.write_blocking(move |writer| writer.remember_peer(&peer.to_string(), &addresses));
            if let Err(error) = remembered {
                debug!(%error, "cannot remember a peer's addresses");
            }
            Work::Remembered
        });
    }

    /// Dials remembered members that are not connected, each after a delay
    /// that doubles on every failed attempt (from 5 s to 5 min).
    fn redial_members(&mut self) {
        self.blocking(|household| Work::AddressBook(household.address_book()));
    }

    fn dial_remembered(&mut self, book: std::collections::BTreeMap<String, Vec<String>>) {
        let now = Instant::now();
        for (peer, addresses) in book {
            let Ok(peer) = peer.parse::<PeerId>() else { continue };
            if self.swarm.is_connected(&peer) || self.banned.contains_key(&peer) || &peer == self.swarm.local_peer_id()
            {
                continue;
            }
            let (next, delay) = self.backoff.get(&peer).copied().unwrap_or((now, REDIAL_FIRST));
            if now < next {
                continue;
            }
            self.backoff.insert(peer, (now + delay, (delay * 2).min(REDIAL_MAX)));
            let addresses: Vec<Multiaddr> = addresses.iter().filter_map(|a| a.parse().ok()).collect();
            let options = libp2p::swarm::dial_opts::DialOpts::peer_id(peer)
                .addresses(addresses)
                .build();
            if let Err(error) = self.swarm.dial(options) {
                debug!(%peer, %error, "cannot redial");
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                let explicit = self.explicit.iter().any(|wanted| same_listen(wanted, &address));
                if explicit {
                    self.advertise_address(address);
                }
                self.advertise();
            }
            SwarmEvent::ExpiredListenAddr { .. } => self.advertise(),
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                if self.banned.contains_key(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                let address = endpoint.get_remote_address().clone();
                let transport = if address.iter().any(|p| matches!(p, libp2p::multiaddr::Protocol::QuicV1)) {
                    "quic"
                } else {
                    "tcp"
                };
                let state = self.peers.entry(peer_id).or_default();
                if !state.addresses.contains(&address) {
                    state.addresses.push(address.clone());
                }
                state.transport = transport.into();
                if let libp2p::core::ConnectedPoint::Listener { local_addr, .. } = &endpoint {
                    state.reached_at = Some(local_addr.clone());
                }
                let known_member = self.machine.known(&peer_id).is_some_and(|k| !k.shared.is_empty());
                if !known_member {
                    // Until hello shows it a member, gossipsub sends it nothing.
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .set_application_score(&peer_id, behaviour::STRANGER_SCORE);
                }
                debug!(%peer_id, %address, transport, "connected");
                // Hello, unless this peer is known already (a second connection).
                self.feed(Input::Connected {
                    peer: peer_id,
                    bytes: peer_id.to_bytes(),
                    device: device_of(&peer_id),
                });
                for (request, reply) in self.asks_waiting.remove(&peer_id).unwrap_or_default() {
                    let id = self.swarm.behaviour_mut().records.send_request(&peer_id, request);
                    self.asks_in_flight.insert(id, reply);
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer_id),
                error,
                ..
            } if !self.swarm.is_connected(&peer_id) => {
                for (_, reply) in self.asks_waiting.remove(&peer_id).unwrap_or_default() {
                    let _ = reply.send(Err(AskError::Unreachable(error.to_string())));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.peers.remove(&peer_id);
                self.outbound.retain(|(peer, _), _| peer != &peer_id);
                self.in_flight.retain(|_, (peer, _)| peer != &peer_id);
                self.inbound.retain(|(peer, _), _| peer != &peer_id);
                self.announced.retain(|(peer, _), _| peer != &peer_id);
                self.deferred.retain(|(peer, _)| peer != &peer_id);
                self.feed(Input::Disconnected { peer: peer_id });
                debug!(%peer_id, "disconnected");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    if !self.swarm.is_connected(&peer) && !self.banned.contains_key(&peer) {
                        debug!(%peer, %address, "discovered on the LAN");
                        let _ = self.swarm.dial(address);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                let usable: Vec<Multiaddr> = info.listen_addrs.into_iter().filter(is_dialable).collect();
                for address in &usable {
                    self.swarm.add_peer_address(peer_id, address.clone());
                }
                if let Some(state) = self.peers.get_mut(&peer_id) {
                    state.listen = usable;
                }
                self.remember_if_member(peer_id);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_announcement(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Records(event)) => self.on_records_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event),
            _ => {}
        }
    }

    /// Says "changed" on `community`'s topic, signed by our device key.
    fn publish(&mut self, community: CommunityId) {
        let topic = topic(&community);
        let announcement = Announcement::new(self.household.device_key(), &topic.to_string(), rand::random());
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic, announcement.encode())
        {
            Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
            Err(error) => debug!(%error, "announcement not sent"),
        }
    }

    fn report(&mut self, id: &gossipsub::MessageId, from: &PeerId, verdict: gossipsub::MessageAcceptance) {
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, from, verdict);
    }

    /// An announcement arrived from `from` (who may only be forwarding it).
    /// Nothing is forwarded or synced before it is judged: signed by a
    /// member device of the topic's community (the store is asked), and
    /// passed on by a peer known as a member. A stranger's are rejected (not
    /// forwarded) and count against whoever passed them on.
    fn on_announcement(&mut self, from: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        use gossipsub::MessageAcceptance::{Ignore, Reject};
        let Some(community) = self
            .subscribed
            .iter()
            .find(|c| topic(c).hash() == message.topic)
            .copied()
        else {
            return self.report(&id, &from, Ignore);
        };
        // Whether `from` is known to share the community: `None` while its
        // hello is under way (an honest member may forward before we know
        // it: no fault of its own).
        let forwarder = self.machine.known(&from).map(|k| k.shared.contains(&community));
        if forwarder != Some(true) {
            self.report(&id, &from, Reject);
            return self.strike_if(
                from,
                forwarder == Some(false),
                "published on a community's gossip without being a member",
            );
        }
        let author = match Announcement::decode_verified(&message.data, message.topic.as_str()) {
            Ok(announcement) => announcement.device,
            Err(error) => {
                self.report(&id, &from, Reject);
                return self.strike(from, &format!("sent an invalid announcement: {error}"));
            }
        };
        // One store read answers every announcement waiting on the same
        // author and community.
        if let Some(waiting) = self.checking.get_mut(&(author, community)) {
            if waiting.len() < MAX_WAITING_PER_AUTHOR {
                waiting.push((id, from));
            } else {
                self.report(&id, &from, Ignore);
            }
            return;
        }
        if self.checking.len() >= MAX_AUTHORS_CHECKED {
            return self.report(&id, &from, Ignore);
        }
        self.checking.insert((author, community), vec![(id, from)]);
        self.blocking(move |household| Work::AuthorChecked {
            author,
            community,
            member: household.shared_communities(&author).contains(&community),
        });
    }

    /// The store said whether an announcement's author is a member: accept
    /// (forward, and sync) or drop what waited on it.
    fn on_author_checked(&mut self, author: DeviceId, community: CommunityId, member: bool) {
        for (id, from) in self.checking.remove(&(author, community)).unwrap_or_default() {
            if !member {
                // The forwarder is a member: its store may know a join or a
                // removal ours does not yet; not forwarded, nobody's fault.
                self.report(&id, &from, gossipsub::MessageAcceptance::Ignore);
                continue;
            }
            self.report(&id, &from, gossipsub::MessageAcceptance::Accept);
            self.announced_sync(from, community);
            // The author may be connected too and hold more than the forwarder.
            let source = self
                .peers
                .iter()
                .find(|(peer, _)| device_of(peer) == Some(author))
                .map(|(peer, _)| *peer);
            if let Some(source) = source
                && source != from
                && self.is_known_member(&source, &community)
            {
                self.announced_sync(source, community);
            }
        }
    }

    fn is_known_member(&self, peer: &PeerId, community: &CommunityId) -> bool {
        self.machine.is_known_member(peer, community)
    }

    /// Every (connected peer, community) pair known to be shared.
    fn known_pairs(&self) -> Vec<(PeerId, CommunityId)> {
        self.machine
            .peers()
            .filter_map(|(peer, known)| known.map(|k| (*peer, k)))
            .flat_map(|(peer, known)| known.shared.iter().map(move |c| (peer, *c)))
            .collect()
    }

    /// A sync an announcement asks for: at most one per peer and community
    /// per [`ANNOUNCED_SYNC_GAP`], the rest folded into one that starts later.
    fn announced_sync(&mut self, peer: PeerId, community: CommunityId) {
        let key = (peer, community);
        let now = Instant::now();
        if self
            .announced
            .get(&key)
            .is_some_and(|last| now.duration_since(*last) < ANNOUNCED_SYNC_GAP)
        {
            self.deferred.insert(key);
            return;
        }
        self.announced.insert(key, now);
        self.start_sync(peer, community);
    }

    /// Starts the announced syncs that were held back.
    fn start_deferred(&mut self) {
        // The records machine's requests past their deadline fail here.
        self.feed(Input::Tick);
        let now = Instant::now();
        self.announced
            .retain(|_, last| now.duration_since(*last) < ANNOUNCED_SYNC_GAP);
        for (peer, community) in std::mem::take(&mut self.deferred) {
            self.announced_sync(peer, community);
        }
    }

    /// Records what we know of a peer, and what gossipsub may send it: a
    /// peer that shares no community with us is kept out of the gossip.
    fn set_known(&mut self, peer: PeerId, known: &Known) {
        let member = !known.shared.is_empty();
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let reached_at = state.reached_at.clone();
        let score = if member { 0.0 } else { behaviour::STRANGER_SCORE };
        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, score);
        if member && let Some(address) = reached_at {
            self.advertise_address(address);
        }
    }

    /// Tells peers (through identify) that this node can be reached at
    /// `address`: one it listens on explicitly, or one a member reached it at.
    fn advertise_address(&mut self, address: Multiaddr) {
        if !is_dialable(&address) || self.swarm.external_addresses().any(|a| a == &address) {
            return;
        }
        debug!(%address, "advertising an address");
        self.swarm.add_external_address(address);
    }

    // ----- hello and records: the machine's inputs and effects ---------------

    /// Hands `input` to the records machine and carries out what it says.
    fn feed(&mut self, input: Input<PeerId>) {
        let now = self.started.elapsed().as_millis() as u64;
        for effect in self.machine.handle(input, now) {
            self.execute(effect);
        }
    }

    fn execute(&mut self, effect: Effect<PeerId>) {
        match effect {
            Effect::Send { peer, request, message } => {
                // Sending to a peer that went away would dial it again.
                if !self.swarm.is_connected(&peer) {
                    return self.feed(Input::RequestFailed { request });
                }
                let id = self.swarm.behaviour_mut().records.send_request(&peer, message);
                self.requests.insert(id, request);
            }
            Effect::Respond { channel, message } => {
                let Some(channel) = self.channels.remove(&channel) else {
                    return;
                };
                if let RecordsResponse::Refused { reason } = &message {
                    debug!(%reason, "refused a records request");
                }
                let _ = self.swarm.behaviour_mut().records.send_response(channel, message);
            }
            Effect::Store { job, op } => self.blocking(move |household| Work::Store {
                job,
                answer: run_store_op(household, op),
            }),
            Effect::Known { peer, known, remember } => {
                self.set_known(peer, &known);
                if remember {
                    self.remember_if_member(peer);
                }
            }
            Effect::WantSync { peer, community } => self.start_sync(peer, community),
            Effect::StartSession { peer, community } => self.begin_session(peer, community),
            Effect::NoSession {
                peer,
                community,
                reason,
            } => match reason {
                machine::NoSession::Failed => {
                    debug!(%peer, %community, %reason, "no sync");
                    self.outbound.remove(&(peer, community));
                }
                _ => {
                    info!(%peer, %community, %reason, "peer does not sync this community with us");
                    self.finish_outbound(peer, community, false);
                }
            },
            // The other members learn of the newcomer's join now.
            Effect::Admitted { peer, community } => self.relay(peer, community),
            Effect::Strike { peer, offence } => self.strike(peer, &offence.to_string()),
        }
    }

    fn on_records_event(&mut self, event: request_response::Event<RecordsRequest, RecordsResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message: Message::Request { request, channel, .. },
                ..
            } => {
                let id = self.next_channel;
                self.next_channel += 1;
                self.channels.insert(id, channel);
                self.feed(Input::Request {
                    peer,
                    channel: id,
                    request,
                });
            }
            // An answer to a request asked through the handle: hand it over.
            Event::Message {
                message: Message::Response { response, request_id },
                ..
            } if self.asks_in_flight.contains_key(&request_id) => {
                if let Some(reply) = self.asks_in_flight.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::Message {
                peer,
                message: Message::Response { response, request_id },
                ..
            } => {
                if let Some(request) = self.requests.remove(&request_id) {
                    self.feed(Input::Response {
                        peer,
                        request,
                        response,
                    });
                }
            }
            Event::OutboundFailure {
                peer,
                error,
                request_id,
                ..
            } => {
                debug!(%peer, %error, "records request failed");
                if let Some(reply) = self.asks_in_flight.remove(&request_id) {
                    let _ = reply.send(Err(AskError::NoAnswer(error.to_string())));
                }
                if let Some(request) = self.requests.remove(&request_id) {
                    self.feed(Input::RequestFailed { request });
                }
            }
            Event::InboundFailure { peer, error, .. } => debug!(%peer, %error, "records answer failed"),
            Event::ResponseSent { .. } => {}
        }
    }

    // ----- sync ------------------------------------------------------------------

    fn start_sync(&mut self, peer: PeerId, community: CommunityId) {
        if !self.swarm.is_connected(&peer) {
            return;
        }
        if let Some(running) = self.outbound.get_mut(&(peer, community)) {
            // A session is running (or starting): run once more after it.
            running.again = true;
            return;
        }
        self.outbound.insert((peer, community), Outbound::default());
        self.syncs_started += 1;
        // Records first (joins, removals, revocations travel this way), so the
        // changes that follow are judged with the same memberships the peer
        // has; an unchanged set costs one small round trip.
        self.feed(Input::SyncWanted { peer, community });
    }

    /// Starts the sync session proper, once the records are up to date.
    fn begin_session(&mut self, peer: PeerId, community: CommunityId) {
        if !self.outbound.contains_key(&(peer, community)) {
            return;
        }
        self.blocking(move |household| {
            let result = Session::initiate(community, household.store()).map_err(|e| e.to_string());
            Work::SyncStarted {
                peer,
                community,
                result,
            }
        });
    }

    fn on_sync_event(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message: Message::Request { request, channel, .. },
                ..
            } => {
                self.on_sync_request(peer, request, channel);
            }
            Event::Message {
                peer,
                message: Message::Response { response, request_id },
                ..
            } => {
                self.on_sync_response(peer, request_id, response);
            }
            Event::OutboundFailure {
                peer,
                error,
                request_id,
                ..
            } => {
                // A peer on another version of the sync protocol never syncs
                // with this one: the steward reading the log must see why.
                if matches!(error, request_response::OutboundFailure::UnsupportedProtocols) {
                    warn!(%peer, "this peer speaks another version of the sync protocol: nothing is exchanged until both run the same maillage version");
                } else {
                    debug!(%peer, %error, "sync request failed");
                }
                if let Some((peer, community)) = self.in_flight.remove(&request_id) {
                    self.outbound.remove(&(peer, community));
                }
            }
            Event::InboundFailure { peer, error, .. } => debug!(%peer, %error, "sync answer failed"),
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_sync_request(&mut self, peer: PeerId, request: SyncRequest, channel: ResponseChannel<SyncResponse>) {
        let community = CommunityId(request.community);
        let frame = request.frame.into_vec();
        // An opening frame always starts a new session (a half-finished one
        // left from before is dropped), for the community the frame names.
        let opening = maillage_protocol::sync::opening_community(&frame).ok();
        let session = match opening {
            Some(named) if named == community => {
                self.inbound.remove(&(peer, community));
                Session::respond(community)
            }
            Some(_) => return self.refuse_sync(peer, community, channel, SyncRefusal::CommunityMismatch),
            None => match self.inbound.remove(&(peer, community)) {
                Some(session) => session,
                // Refused without a strike: it costs one decode and no state,
                // and a newer peer speaking a later version must not be banned.
                None => return self.refuse_sync(peer, community, channel, SyncRefusal::NoSession),
            },
        };
        let mut session = session;
        // Every step checks membership as the store says *now*: a removal may
        // land in the middle of a session, and nothing more goes out after it.
        self.blocking(move |household| {
            if !is_member(household, &peer, &community) {
                return Work::SyncRefused {
                    peer,
                    community,
                    channel,
                    reason: SyncRefusal::NotAMember,
                };
            }
            let result = step_and_ingest(&mut session, &frame, household);
            Work::SyncAnswered {
                peer,
                community,
                session,
                channel,
                result,
            }
        });
    }

    /// Answers a sync frame with a refusal and why, so the asker can say
    /// (and log) what stopped it rather than guess.
    fn refuse_sync(
        &mut self,
        peer: PeerId,
        community: CommunityId,
        channel: ResponseChannel<SyncResponse>,
        reason: SyncRefusal,
    ) {
        debug!(%peer, %community, %reason, "sync refused");
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, SyncResponse::Refused { reason });
    }

    fn on_sync_response(&mut self, peer: PeerId, request: OutboundRequestId, response: SyncResponse) {
        let Some((_, community)) = self.in_flight.remove(&request) else {
            return;
        };
        let Some(mut session) = self.outbound.get_mut(&(peer, community)).and_then(|o| o.session.take()) else {
            return;
        };
        match response {
            SyncResponse::Frame(frame) => {
                let frame = frame.into_vec();
                self.blocking(move |household| {
                    let result = if is_member(household, &peer, &community) {
                        step_and_ingest(&mut session, &frame, household)
                    } else {
                        Err(NO_LONGER_A_MEMBER.into())
                    };
                    Work::SyncStepped {
                        peer,
                        community,
                        session,
                        result,
                    }
                });
            }
            SyncResponse::Refused { reason } => {
                // Usually a membership the two nodes do not agree on yet (the
                // records exchanged before each session settle it), so worth
                // a line in the log, with the peer to look up.
                info!(%peer, %community, %reason, "peer refused to sync");
                self.finish_outbound(peer, community, false);
            }
            SyncResponse::Failed(reason) => {
                warn!(%peer, %community, %reason, "peer ended the sync");
                self.finish_outbound(peer, community, false);
            }
        }
    }

    fn send_sync(&mut self, peer: PeerId, community: CommunityId, frame: Vec<u8>) {
        let request = SyncRequest {
            community: community.0,
            frame: ByteBuf::from(frame),
        };
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.in_flight.insert(id, (peer, community));
    }

    /// Ends an outbound session; `completed` if it ran to its end (a
    /// refusal or a failure did not). Waiters on the next run carry over.
    fn finish_outbound(&mut self, peer: PeerId, community: CommunityId, completed: bool) {
        let Some(ended) = self.outbound.remove(&(peer, community)) else {
            return;
        };
        if completed {
            for waiter in ended.waiters {
                let _ = waiter.send(Some(ended.received));
            }
        }
        if ended.again {
            self.start_sync(peer, community);
            if let Some(entry) = self.outbound.get_mut(&(peer, community)) {
                entry.waiters = ended.next_waiters;
            }
        }
    }

    fn on_work(&mut self, work: Work) {
        match work {
            Work::Communities(communities) => {
                for community in communities {
                    if self.subscribed.insert(community)
                        && let Err(error) = self.swarm.behaviour_mut().gossipsub.subscribe(&topic(&community))
                    {
                        warn!(%error, "cannot subscribe to a community topic");
                    }
                }
            }
            Work::Store { job, answer } => self.feed(Input::StoreAnswered { job, answer }),
            Work::Remembered => {}
            Work::AuthorChecked {
                author,
                community,
                member,
            } => self.on_author_checked(author, community, member),
            Work::AddressBook(book) => self.dial_remembered(book),
            Work::SyncStarted {
                peer,
                community,
                result,
            } => match result {
                Ok((session, frame)) => {
                    if !self.swarm.is_connected(&peer) {
                        self.outbound.remove(&(peer, community));
                        return;
                    }
                    // Only for the start we are waiting for: after a quick
                    // reconnect a newer attempt may own this pair.
                    let waiting = self
                        .outbound
                        .get(&(peer, community))
                        .is_some_and(|o| o.session.is_none());
                    if !waiting {
                        return;
                    }
                    self.send_sync(peer, community, frame);
                    if let Some(entry) = self.outbound.get_mut(&(peer, community)) {
                        entry.session = Some(session);
                    }
                }
                Err(reason) => {
                    debug!(%peer, %community, %reason, "no sync started");
                    self.outbound.remove(&(peer, community));
                }
            },
            Work::SyncStepped {
                peer,
                community,
                session,
                result,
            } => match result {
                Ok((step, report)) => {
                    self.after_ingest(peer, community, &report);
                    if let Some(entry) = self.outbound.get_mut(&(peer, community)) {
                        entry.received += report.touched.len();
                    }
                    match step.send {
                        Some(frame) if !step.done => {
                            self.send_sync(peer, community, frame);
                            if let Some(entry) = self.outbound.get_mut(&(peer, community)) {
                                entry.session = Some(session);
                            }
                        }
                        _ => {
                            self.last_sync.insert(community, now_ms());
                            let stats = session.stats();
                            debug!(%peer, %community, rounds = stats.rounds(), bytes = stats.total_bytes(), "sync done");
                            self.finish_outbound(peer, community, true);
                        }
                    }
                }
                Err(reason) => {
                    warn!(%peer, %community, %reason, "sync failed");
                    // A removal is no fault of the peer's; a bad frame is.
                    self.strike_if(peer, reason != NO_LONGER_A_MEMBER, "invalid sync frame");
                    self.finish_outbound(peer, community, false);
                }
            },
            Work::SyncAnswered {
                peer,
                community,
                session,
                channel,
                result,
            } => {
                let response = match result {
                    Ok((step, report)) => {
                        self.after_ingest(peer, community, &report);
                        if step.done {
                            self.last_sync.insert(community, now_ms());
                        } else {
                            self.inbound.insert((peer, community), session);
                        }
                        match step.send {
                            Some(frame) => SyncResponse::Frame(ByteBuf::from(frame)),
                            None => SyncResponse::Failed("nothing to answer".into()),
                        }
                    }
                    Err(reason) => {
                        warn!(%peer, %community, %reason, "sync from peer failed");
                        self.strike(peer, "invalid sync frame");
                        SyncResponse::Failed(reason)
                    }
                };
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
            }
            Work::SyncRefused {
                peer,
                community,
                channel,
                reason,
            } => self.refuse_sync(peer, community, channel, reason),
        }
    }

    /// Counts a peer's rejected changes against it, and tells others when
    /// something new arrived.
    fn after_ingest(&mut self, peer: PeerId, community: CommunityId, report: &ApplyReport) {
        if !report.rejected.is_empty() {
            for (doc, reason) in report.rejected.iter().take(5) {
                warn!(%peer, doc = %doc.short(), %reason, "refused a change from a peer");
            }
            // A change can be refused because a record (a join, a device) has
            // not reached us yet: that is no fault of an honest peer. Only
            // what no record could make valid counts against it.
            let forged = report.rejected.iter().any(|(_, reason)| {
                !matches!(
                    reason,
                    ChangeRejected::UnknownDevice
                        | ChangeRejected::NotAMember { .. }
                        | ChangeRejected::MissingDependencies
                        | ChangeRejected::TooLarge { .. }
                )
            });
            self.strike_if(peer, forged, "sent changes that failed verification");
        }
        if !report.touched.is_empty() {
            info!(%peer, %community, documents = report.touched.len(), "received changes");
            self.relay(peer, community);
        }
    }

    /// Something new arrived from `from`: pass it on. Every other connected
    /// member is synced with at once (a relay in the village hall is what
    /// links households that are not connected to each other), and the
    /// gossip topic hears of it for members further away.
    fn relay(&mut self, from: PeerId, community: CommunityId) {
        self.publish(community);
        let others: Vec<PeerId> = self
            .known_pairs()
            .into_iter()
            .filter(|(peer, shared)| *peer != from && *shared == community)
            .map(|(peer, _)| peer)
            .collect();
        for peer in others {
            self.start_sync(peer, community);
        }
    }

    fn strike_if(&mut self, peer: PeerId, condition: bool, why: &str) {
        if condition {
            self.strike(peer, why);
        }
    }

    fn strike(&mut self, peer: PeerId, why: &str) {
        // Kept apart from the connection state, so that reconnecting does
        // not wipe the slate; forgotten when the ban they lead to expires.
        if self.strikes.len() >= MAX_STRUCK_PEERS && !self.strikes.contains_key(&peer) {
            self.strikes.clear();
        }
        let strikes = {
            let count = self.strikes.entry(peer).or_insert(0);
            *count += 1;
            *count
        };
        warn!(%peer, strikes, why, "peer misbehaved");
        if strikes >= STRIKES_BEFORE_BAN {
            warn!(%peer, "disconnecting and ignoring the peer for a while");
            self.strikes.remove(&peer);
            self.banned.insert(peer, Instant::now());
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }
}

/// Carries out a store job of the records machine on a blocking thread.
/// Reads go to the shared household; writes queue to its writer.
fn run_store_op(household: &HouseholdService, op: StoreOp) -> StoreAnswer {
    let ingest = |records: Vec<Record>| {
        if !records.is_empty() {
            // ingest_foreign keeps only records of communities we are in.
            if let Err(error) = household.write_blocking(move |writer| writer.ingest_foreign(records, vec![])) {
                debug!(%error, "cannot store a peer's records");
            }
        }
    };
    match op {
        StoreOp::Facts { device } => StoreAnswer::Facts(facts(household, device)),
        StoreOp::Ingest { device, records } => {
            ingest(records);
            StoreAnswer::Facts(facts(household, device))
        }
        StoreOp::CommunityRecords { device, community } => StoreAnswer::CommunityRecords(
            device_is_member(household, device, &community).then(|| household.community_records(&community)),
        ),
        StoreOp::Push {
            device,
            community,
            records,
        } => {
            // Only this community's records (and its households' device
            // records) are kept, and only from a member.
            let member = device_is_member(household, device, &community);
            if member {
                ingest(records);
            }
            StoreAnswer::Pushed { member }
        }
        StoreOp::IngestCommunity {
            device,
            community,
            records,
        } => {
            ingest(records);
            StoreAnswer::CommunityIngested {
                facts: facts(household, device),
                // Never to a peer that is not (or no longer) a member.
                push: device_is_member(household, device, &community).then(|| household.community_records(&community)),
            }
        }
        StoreOp::AdmitJoin { device, records } => {
            let outcome = match household.write_blocking(move |writer| writer.admit_join(&device, records)) {
                Ok(Admission::Admitted { community, records }) => JoinOutcome::Admitted { community, records },
                Ok(Admission::Refused(reason)) => JoinOutcome::Refused(reason),
                Err(error) => {
                    warn!(%error, "cannot store an admitted join");
                    JoinOutcome::Failed
                }
            };
            StoreAnswer::Join {
                outcome,
                facts: facts(household, Some(device)),
            }
        }
        StoreOp::AdmitLink {
            device,
            household: household_id,
            proof,
            consent,
            label,
        } => {
            let admitted = household
                .write_blocking(move |writer| writer.admit_device(&device, &household_id, &proof, consent, &label));
            let outcome = match admitted {
                Ok(Linking::Linked { records, profile }) => LinkOutcome::Linked { records, profile },
                Ok(Linking::Refused(reason)) => LinkOutcome::Refused(reason),
                Err(error) => {
                    warn!(%error, "cannot certify a new device");
                    LinkOutcome::Failed
                }
            };
            StoreAnswer::Link {
                outcome,
                facts: facts(household, Some(device)),
            }
        }
    }
}

/// What the records machine needs to know of us and of a peer's device.
fn facts(household: &Household, device: Option<DeviceId>) -> Facts {
    Facts {
        household: device.and_then(|device| household.household_of_device(&device)),
        shared: device
            .map(|device| household.shared_communities(&device))
            .unwrap_or_default(),
        ours: own_communities(household),
        own_records: household.own_records(),
    }
}

fn device_is_member(household: &Household, device: Option<DeviceId>, community: &CommunityId) -> bool {
    device.is_some_and(|device| household.shared_communities(&device).contains(community))
}

/// Waits for the store work under way, so that when the task ends nothing
/// of it holds the household (and its redb file) any more.
async fn drain_jobs(jobs: Arc<AtomicUsize>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while jobs.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `peer`'s household is a member of `community` now, as the store says.
fn is_member(household: &Household, peer: &PeerId, community: &CommunityId) -> bool {
    device_of(peer).is_some_and(|device| household.shared_communities(&device).contains(community))
}

/// Runs one step of a session and stores what it received.
fn step_and_ingest(
    session: &mut Session,
    frame: &[u8],
    household: &HouseholdService,
) -> Result<(Step, ApplyReport), String> {
    let step = session.handle(frame, household.store()).map_err(|e| e.to_string())?;
    let report = ingest(household, &step)?;
    Ok((step, report))
}

/// Stores what a sync step received (verified by the store).
fn ingest(household: &HouseholdService, step: &Step) -> Result<ApplyReport, String> {
    if step.received.is_empty() {
        return Ok(ApplyReport::default());
    }
    let received = step.received.clone();
    household
        .write_blocking(move |writer| writer.ingest_foreign(vec![], received))
        .map_err(|e| e.to_string())
}
