//! The libp2p behaviour of a maillage node and how its swarm is built.

use std::time::Duration;

use libp2p::Transport as _;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    StreamProtocol, Swarm, connection_limits, gossipsub, identify, identity, mdns, memory_connection_limits, noise,
    ping, tcp, yamux,
};

use super::pending;
use super::wire::{
    MAX_RECORDS_BYTES, MAX_SYNC_BYTES, RECORDS_PROTOCOL, RecordsRequest, RecordsResponse, SYNC_PROTOCOL, SyncRequest,
    SyncResponse,
};

/// Connections a node keeps at most: a village is tens of households.
const MAX_ESTABLISHED: u32 = 128;
const MAX_PER_PEER: u32 = 2;
const MAX_PENDING: u32 = 32;
const MAX_MEMORY_SHARE: f64 = 0.8;
/// How long an incoming connection may take to finish its handshake (TCP,
/// Noise, Yamux). On a village LAN it takes milliseconds; a socket that says
/// nothing holds a pending slot until then (the swarm's default is 10 s,
/// which is what let a few silent sockets keep members out).
const INBOUND_HANDSHAKE: Duration = Duration::from_secs(3);
/// What identify says this node speaks: the product and its exact version,
/// so that a steward looking at a mixed village (`maillage peers`, logs) sees
/// which node runs what. The wire protocols carry their own versions
/// (`/maillage/sync/3`), so this tells a stranger little more than they do.
pub const IDENTIFY_PROTOCOL: &str = concat!("/maillage/", env!("CARGO_PKG_VERSION"));
/// The application score gossipsub gives a peer not known as a member: below
/// the publish threshold (-50: nothing is published, forwarded or gossiped to
/// it, and it is kept out of the mesh) and above the graylist threshold (-80),
/// so its subscriptions are still read — a member's subscription can arrive
/// before its hello has proven it a member, and gossipsub does not ask again.
pub const STRANGER_SCORE: f64 = -60.0;
/// How long an unused connection stays open. Periodic anti-entropy syncs
/// keep connections to members busy well within it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// First, so that a connection it denies is never counted by the others.
    pub pending: pending::Behaviour,
    pub limits: connection_limits::Behaviour,
    pub memory: memory_connection_limits::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub mdns: libp2p::swarm::behaviour::toggle::Toggle<mdns::tokio::Behaviour>,
    pub gossipsub: gossipsub::Behaviour,
    pub records: request_response::cbor::Behaviour<RecordsRequest, RecordsResponse>,
    pub sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot set up the network transport: {0}")]
    Transport(String),
    #[error("cannot set up gossip: {0}")]
    Gossip(String),
}

/// Builds the swarm: QUIC and TCP, Noise, Yamux, and the behaviours above.
pub fn build(keypair: identity::Keypair, with_mdns: bool) -> Result<Swarm<Behaviour>, BuildError> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_quic()
        // TCP as the builder's `with_tcp` makes it, with a shorter handshake
        // timeout for incoming connections only (dialing keeps the swarm's 10 s).
        .with_other_transport(|key| {
            let transport = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                .upgrade(libp2p::core::upgrade::Version::V1Lazy)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                libp2p::core::transport::timeout::TransportTimeout::with_ingoing_timeout(transport, INBOUND_HANDSHAKE),
            )
        })
        .map_err(|e| BuildError::Transport(e.to_string()))?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established(Some(MAX_ESTABLISHED))
                .with_max_established_per_peer(Some(MAX_PER_PEER))
                .with_max_pending_incoming(Some(MAX_PENDING))
                .with_max_pending_outgoing(Some(MAX_PENDING));
            // Gossipsub's own signed messages carry a sequence number that
            // starts at the node's start time: announcements are signed by
            // our device key inside the payload instead
            // (`maillage_protocol::mesh::Announcement`), and every message
            // waits for the node's verdict before it is forwarded.
            let gossip_config = gossipsub::ConfigBuilder::default()
                .heartbeat_interval(Duration::from_millis(700))
                .validation_mode(gossipsub::ValidationMode::Anonymous)
                .validate_messages()
                .max_transmit_size(maillage_protocol::mesh::MAX_ANNOUNCE_BYTES)
                .message_id_fn(|message| {
                    gossipsub::MessageId::from(
                        maillage_crdt::ids::tagged_hash("maillage/gossip-id/1", &[&message.data]).to_vec(),
                    )
                })
                .build()
                .map_err(|e| BuildError::Gossip(e.to_string()))?;
            let mut gossipsub = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_config)
                .map_err(|e| BuildError::Gossip(e.to_string()))?;
            // Scores only say who is a member (the application score the
            // node sets after hello); nodes of one village often share one
            // address (a NAT, or loopback in tests), so colocation is no sign.
            let score = gossipsub::PeerScoreParams {
                app_specific_weight: 1.0,
                ip_colocation_factor_weight: 0.0,
                ..gossipsub::PeerScoreParams::default()
            };
            gossipsub
                .with_peer_score(score, gossipsub::PeerScoreThresholds::default())
                .map_err(BuildError::Gossip)?;
            let mdns = if with_mdns {
                Some(mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)?)
            } else {
                None
            };
            let records = request_response::cbor::Behaviour::with_codec(
                request_response::cbor::codec::Codec::default()
                    .set_request_size_maximum(MAX_RECORDS_BYTES)
                    .set_response_size_maximum(MAX_RECORDS_BYTES),
                [(StreamProtocol::new(RECORDS_PROTOCOL), ProtocolSupport::Full)],
                // A few at a time per connection: each one is store work.
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(20))
                    .with_max_concurrent_streams(4),
            );
            let sync = request_response::cbor::Behaviour::with_codec(
                request_response::cbor::codec::Codec::default()
                    .set_request_size_maximum(MAX_SYNC_BYTES)
                    .set_response_size_maximum(MAX_SYNC_BYTES),
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(16),
            );
            Ok(Behaviour {
                pending: pending::Behaviour::new(pending::MAX_PENDING_PER_IP),
                limits: connection_limits::Behaviour::new(limits),
                // Refuse new connections when the machine is nearly out of
                // memory, rather than let peers push a small board into swap.
                memory: memory_connection_limits::Behaviour::with_max_percentage(MAX_MEMORY_SHARE),
                // Listen addresses are not handed out as such: with the default
                // `0.0.0.0` they are every interface of the machine (VPNs,
                // containers). The node adds as external addresses only those
                // it was told to listen on and those members reached it at
                // (`Node::advertise_address`), and pushes them when they change.
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                        .with_agent_version(concat!("maillage/", env!("CARGO_PKG_VERSION")).into())
                        .with_hide_listen_addrs(true)
                        .with_push_listen_addr_updates(true),
                ),
                ping: ping::Behaviour::new(ping::Config::new()),
                mdns: mdns.into(),
                gossipsub,
                records,
                sync,
            })
        })
        .map_err(|e| BuildError::Transport(e.to_string()))?
        .with_swarm_config(|config| config.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    Ok(swarm)
}
