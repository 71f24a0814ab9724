//! A rogue peer: a bare libp2p swarm speaking maillage's two request-response
//! protocols with a real member's device key, driven step by step by a test,
//! and a [`DocSource`] that slips forged changes into a real sync session.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{ActorId, ChangeHash, transaction::Transactable};
use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, gossipsub, identity, multiaddr, noise, tcp, yamux};
use maillage_crdt::{CommunityId, DocHeader, DocId, Document, SecretKey, SignedChange, Writer};
use maillage_node::Store;
use maillage_node::net::wire::{
    MAX_RECORDS_BYTES, MAX_SYNC_BYTES, RECORDS_PROTOCOL, RecordsRequest, RecordsResponse, SYNC_PROTOCOL, SyncRefusal,
    SyncRequest, SyncResponse,
};
use maillage_protocol::sync::{DocSource, Session, SourceError};
use serde_bytes::ByteBuf;
use tokio::sync::{mpsc, oneshot};

use crate::testnode::WAIT;

#[derive(NetworkBehaviour)]
struct RogueBehaviour {
    gossipsub: gossipsub::Behaviour,
    records: request_response::cbor::Behaviour<RecordsRequest, RecordsResponse>,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Command {
    Dial(Multiaddr, Reply<()>),
    Hello(PeerId, Vec<ByteBuf>, Reply<RecordsResponse>),
    Sync(PeerId, SyncRequest, Reply<SyncResponse>),
    Connected(PeerId, oneshot::Sender<bool>),
    Subscribe(String),
    Publish(String, Vec<u8>, Reply<()>),
}

/// Everything the honest node sent the rogue, as it arrived.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Records in the hellos the node sent, and in its answers to ours.
    pub records: Vec<ByteBuf>,
    /// Tags in the hellos the node sent.
    pub tags: Vec<ByteBuf>,
    /// Data of every gossip message received.
    pub gossip: Vec<Vec<u8>>,
}

/// A rogue node: its swarm runs in a task that answers the honest node's
/// requests (its hello with `records`, everything else refused) and sends
/// whatever the test asks it to.
pub struct Rogue {
    pub peer_id: PeerId,
    pub seen: Arc<Mutex<Seen>>,
    commands: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Rogue {
    /// A rogue node using `device` (a real member's device key) as its
    /// identity, answering hellos with `records`.
    pub fn start(device: &SecretKey, records: Vec<ByteBuf>) -> Rogue {
        let mut secret = device.to_bytes();
        let keypair = identity::Keypair::ed25519_from_bytes(&mut secret).unwrap();
        let peer_id = keypair.public().to_peer_id();
        let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| RogueBehaviour {
                // Speaks the node's gossip: anonymous messages, ids by content.
                gossipsub: gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Anonymous,
                    gossipsub::ConfigBuilder::default()
                        .heartbeat_interval(Duration::from_millis(700))
                        .validation_mode(gossipsub::ValidationMode::Anonymous)
                        .message_id_fn(|m| gossipsub::MessageId::from(blake_ish(&m.data)))
                        .build()
                        .unwrap(),
                )
                .unwrap(),
                records: request_response::cbor::Behaviour::with_codec(
                    request_response::cbor::codec::Codec::default()
                        .set_request_size_maximum(MAX_RECORDS_BYTES)
                        .set_response_size_maximum(MAX_RECORDS_BYTES),
                    [(StreamProtocol::new(RECORDS_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
                ),
                sync: request_response::cbor::Behaviour::with_codec(
                    // Requests are written whatever their size: the rogue
                    // sends what it likes; only the receiver's limit counts.
                    request_response::cbor::codec::Codec::default()
                        .set_request_size_maximum(MAX_SYNC_BYTES)
                        .set_response_size_maximum(MAX_SYNC_BYTES),
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
                ),
            })
            .unwrap()
            .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        let (commands, command_rx) = mpsc::channel(16);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = tokio::spawn(run(swarm, command_rx, records, seen.clone()));
        Rogue {
            peer_id,
            seen,
            commands,
            task,
        }
    }

    /// Dials `address` (with its `/p2p/` part) and waits for the connection.
    pub async fn dial(&self, address: &Multiaddr) -> Result<(), String> {
        self.ask(|reply| Command::Dial(address.clone(), reply)).await
    }

    /// Sends a hello carrying `records` (raw bytes, so they may be garbage).
    pub async fn hello(&self, peer: PeerId, records: Vec<ByteBuf>) -> Result<RecordsResponse, String> {
        self.ask(|reply| Command::Hello(peer, records, reply)).await
    }

    /// Sends one sync frame (raw bytes, so it may be anything).
    pub async fn frame(&self, peer: PeerId, community: CommunityId, frame: Vec<u8>) -> Result<SyncResponse, String> {
        let request = SyncRequest {
            community: community.0,
            frame: ByteBuf::from(frame),
        };
        self.ask(|reply| Command::Sync(peer, request, reply)).await
    }

    /// Subscribes to a gossip topic (by its name).
    pub async fn subscribe(&self, topic: &str) {
        let _ = self.commands.send(Command::Subscribe(topic.to_owned())).await;
    }

    /// Publishes `data` on a gossip topic.
    pub async fn publish(&self, topic: &str, data: Vec<u8>) -> Result<(), String> {
        self.ask(|reply| Command::Publish(topic.to_owned(), data, reply)).await
    }

    /// What the node has sent the rogue so far.
    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }

    pub async fn is_connected(&self, peer: PeerId) -> bool {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(Command::Connected(peer, reply)).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Runs a whole sync session as the initiator over `source`: returns
    /// what the responder sent (unverified, not stored), or how it failed.
    pub async fn run_session<S: DocSource>(
        &self,
        peer: PeerId,
        community: CommunityId,
        source: &S,
    ) -> Result<Vec<(DocHeader, Vec<SignedChange>)>, String> {
        let (mut session, mut frame) = Session::initiate(community, source).map_err(|e| e.to_string())?;
        let mut received = Vec::new();
        loop {
            match self.frame(peer, community, frame).await? {
                SyncResponse::Frame(answer) => {
                    let step = session
                        .handle(&answer, source)
                        .map_err(|e| format!("rogue side: {e}"))?;
                    received.extend(step.received);
                    match step.send {
                        Some(next) if !step.done => frame = next,
                        _ => return Ok(received),
                    }
                }
                SyncResponse::Refused { reason } => return Err(format!("refused: {reason}")),
                SyncResponse::Failed(reason) => return Err(format!("failed: {reason}")),
            }
        }
    }

    async fn ask<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| "the rogue stopped".to_string())?;
        match tokio::time::timeout(WAIT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the rogue dropped the request".into()),
            Err(_) => Err("no answer in time".into()),
        }
    }
}

/// A gossip message id from the message's bytes (any stable digest will do).
fn blake_ish(data: &[u8]) -> Vec<u8> {
    maillage_crdt::ids::tagged_hash("rogue/gossip-id", &[data]).to_vec()
}

async fn run(
    mut swarm: Swarm<RogueBehaviour>,
    mut commands: mpsc::Receiver<Command>,
    records: Vec<ByteBuf>,
    seen: Arc<Mutex<Seen>>,
) {
    let mut dials: HashMap<PeerId, Vec<Reply<()>>> = HashMap::new();
    let mut hellos: HashMap<OutboundRequestId, Reply<RecordsResponse>> = HashMap::new();
    let mut syncs: HashMap<OutboundRequestId, Reply<SyncResponse>> = HashMap::new();
    let mut connected: HashSet<PeerId> = HashSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Dial(address, reply)) => {
                    let peer = address.iter().find_map(|p| match p {
                        multiaddr::Protocol::P2p(peer) => Some(peer),
                        _ => None,
                    });
                    match (peer, swarm.dial(address)) {
                        (Some(peer), Ok(())) => dials.entry(peer).or_default().push(reply),
                        (None, _) => { let _ = reply.send(Err("no peer id in the address".into())); }
                        (_, Err(error)) => { let _ = reply.send(Err(error.to_string())); }
                    }
                }
                Some(Command::Hello(peer, records, reply)) => {
                    let id = swarm.behaviour_mut().records.send_request(&peer, RecordsRequest::Hello { records, tags: vec![] });
                    hellos.insert(id, reply);
                }
                Some(Command::Sync(peer, request, reply)) => {
                    let id = swarm.behaviour_mut().sync.send_request(&peer, request);
                    syncs.insert(id, reply);
                }
                Some(Command::Connected(peer, reply)) => {
                    let _ = reply.send(connected.contains(&peer));
                }
                Some(Command::Subscribe(topic)) => {
                    let _ = swarm.behaviour_mut().gossipsub.subscribe(&gossipsub::IdentTopic::new(topic));
                }
                Some(Command::Publish(topic, data, reply)) => {
                    let result = swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(gossipsub::IdentTopic::new(topic), data)
                        .map(|_| ())
                        .map_err(|e| e.to_string());
                    let _ = reply.send(result);
                }
            },
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    connected.insert(peer_id);
                    for reply in dials.remove(&peer_id).unwrap_or_default() {
                        let _ = reply.send(Ok(()));
                    }
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    connected.remove(&peer_id);
                }
                SwarmEvent::OutgoingConnectionError { peer_id: Some(peer), error, .. } => {
                    for reply in dials.remove(&peer).unwrap_or_default() {
                        let _ = reply.send(Err(error.to_string()));
                    }
                }
                SwarmEvent::Behaviour(RogueBehaviourEvent::Records(event)) => match event {
                    request_response::Event::Message { message, .. } => match message {
                        request_response::Message::Request { request, channel, .. } => {
                            let response = match request {
                                RecordsRequest::Hello { records: theirs, tags } => {
                                    let mut seen = seen.lock().unwrap();
                                    seen.records.extend(theirs);
                                    seen.tags.extend(tags);
                                    RecordsResponse::Hello { records: records.clone() }
                                }
                                _ => RecordsResponse::Refused {
                                    reason: maillage_node::net::wire::Refusal::NotAMember,
                                },
                            };
                            let _ = swarm.behaviour_mut().records.send_response(channel, response);
                        }
                        request_response::Message::Response { request_id, response } => {
                            if let RecordsResponse::Hello { records } = &response {
                                seen.lock().unwrap().records.extend(records.iter().cloned());
                            }
                            if let Some(reply) = hellos.remove(&request_id) {
                                let _ = reply.send(Ok(response));
                            }
                        }
                    },
                    request_response::Event::OutboundFailure { request_id, error, .. } => {
                        if let Some(reply) = hellos.remove(&request_id) {
                            let _ = reply.send(Err(error.to_string()));
                        }
                    }
                    _ => {}
                },
                SwarmEvent::Behaviour(RogueBehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. })) => {
                    seen.lock().unwrap().gossip.push(message.data);
                }
                SwarmEvent::Behaviour(RogueBehaviourEvent::Sync(event)) => match event {
                    request_response::Event::Message { message, .. } => match message {
                        request_response::Message::Request { channel, .. } => {
                            let _ = swarm.behaviour_mut().sync.send_response(
                                channel,
                                SyncResponse::Refused {
                                    reason: SyncRefusal::NotAMember,
                                },
                            );
                        }
                        request_response::Message::Response { request_id, response } => {
                            if let Some(reply) = syncs.remove(&request_id) {
                                let _ = reply.send(Ok(response));
                            }
                        }
                    },
                    request_response::Event::OutboundFailure { request_id, error, .. } => {
                        if let Some(reply) = syncs.remove(&request_id) {
                            let _ = reply.send(Err(error.to_string()));
                        }
                    }
                    _ => {}
                },
                _ => {}
            },
        }
    }
}

/// A [`DocSource`] over a real store that also claims to hold `injected`
/// documents (forged changes, possibly of documents the store holds too):
/// it lists them with their forged heads and hands their changes to any peer
/// that asks.
pub struct Forging<'a> {
    pub inner: &'a Store,
    pub injected: Vec<(DocHeader, Vec<SignedChange>)>,
    /// How many forged changes were handed to the session to send.
    pub handed_out: Cell<usize>,
}

impl Forging<'_> {
    fn injected(&self, doc: &DocId) -> Option<&(DocHeader, Vec<SignedChange>)> {
        self.injected.iter().find(|(header, _)| header.id() == *doc)
    }
}

fn hash_of(change: &SignedChange) -> ChangeHash {
    automerge::Change::from_bytes(change.change.clone()).unwrap().hash()
}

/// The heads of a set of changes: those no other change depends on.
fn heads_of(changes: &[SignedChange]) -> Vec<ChangeHash> {
    let parsed: Vec<automerge::Change> = changes
        .iter()
        .map(|c| automerge::Change::from_bytes(c.change.clone()).unwrap())
        .collect();
    let deps: HashSet<ChangeHash> = parsed.iter().flat_map(|c| c.deps().to_vec()).collect();
    let mut heads: Vec<ChangeHash> = parsed.iter().map(|c| c.hash()).filter(|h| !deps.contains(h)).collect();
    heads.sort();
    heads
}

impl DocSource for Forging<'_> {
    fn items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, SourceError> {
        let mut items = self.inner.sync_items(community)?;
        for (header, changes) in &self.injected {
            let doc = header.id();
            items.retain(|(id, _)| *id != doc);
            items.push((doc, heads_of(changes)));
        }
        Ok(items)
    }

    fn header(&self, doc: &DocId) -> Result<Option<DocHeader>, SourceError> {
        match self.injected(doc) {
            Some((header, _)) => Ok(Some(header.clone())),
            None => Ok(self.inner.header(doc)?),
        }
    }

    fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>, SourceError> {
        match self.injected(doc) {
            Some((_, changes)) => Ok(heads_of(changes)),
            None => Ok(self.inner.heads(doc)?),
        }
    }

    fn has_changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<bool, SourceError> {
        let forged: Vec<ChangeHash> = self
            .injected(doc)
            .map(|(_, c)| c.iter().map(hash_of).collect())
            .unwrap_or_default();
        for hash in hashes {
            if !forged.contains(hash) && !self.inner.has_changes(doc, std::slice::from_ref(hash))? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn changes_since(&self, doc: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, SourceError> {
        match self.injected(doc) {
            // The victim holds everything else: hand it the forged changes.
            Some((_, changes)) => {
                self.handed_out.set(self.handed_out.get() + changes.len());
                Ok(changes.clone())
            }
            None => Ok(self.inner.changes_since(doc, their_heads)?),
        }
    }
}

/// A change to `document` setting its `title`, made and signed by `device`.
pub fn change_title(document: &mut Document, device: &SecretKey, title: &str) -> SignedChange {
    let writer = Writer {
        device,
        actor: ActorId::random(),
        now_ms: maillage_node::household::now_ms(),
    };
    document
        .edit(&writer, |doc| {
            doc.put(automerge::ROOT, "title", title)
                .map_err(|e| maillage_crdt::DocError::Write(e.to_string()))
        })
        .unwrap()
        .expect("the title changed")
}
