//! The libp2p behaviour of a maillage node and how its swarm is built.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    StreamProtocol, Swarm, connection_limits, gossipsub, identify, identity, mdns, memory_connection_limits, noise,
    ping, tcp, yamux,
};

use super::wire::{
    MAX_RECORDS_BYTES, MAX_SYNC_BYTES, RECORDS_PROTOCOL, RecordsRequest, RecordsResponse, SYNC_PROTOCOL, SyncRequest,
    SyncResponse,
};

/// Connections a node keeps at most: a village is tens of households.
const MAX_ESTABLISHED: u32 = 128;
const MAX_PER_PEER: u32 = 2;
const MAX_PENDING: u32 = 32;
const MAX_MEMORY_SHARE: f64 = 0.8;
/// How long an unused connection stays open. Periodic anti-entropy syncs
/// keep connections to members busy well within it.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(NetworkBehaviour)]
pub struct Behaviour {
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

/// Builds the swarm: TCP and QUIC, Noise, Yamux, and the behaviours above.
pub fn build(keypair: identity::Keypair, with_mdns: bool) -> Result<Swarm<Behaviour>, BuildError> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| BuildError::Transport(e.to_string()))?
        .with_quic()
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let limits = connection_limits::ConnectionLimits::default()
                .with_max_established(Some(MAX_ESTABLISHED))
                .with_max_established_per_peer(Some(MAX_PER_PEER))
                .with_max_pending_incoming(Some(MAX_PENDING))
                .with_max_pending_outgoing(Some(MAX_PENDING));
            let gossip_config = gossipsub::ConfigBuilder::default()
                .heartbeat_interval(Duration::from_millis(700))
                .validation_mode(gossipsub::ValidationMode::Strict)
                .build()
                .map_err(|e| BuildError::Gossip(e.to_string()))?;
            let gossipsub =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), gossip_config)
                    .map_err(|e| BuildError::Gossip(e.to_string()))?;
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
                limits: connection_limits::Behaviour::new(limits),
                // Refuse new connections when the machine is nearly out of
                // memory, rather than let peers push a small board into swap.
                memory: memory_connection_limits::Behaviour::with_max_percentage(MAX_MEMORY_SHARE),
                identify: identify::Behaviour::new(identify::Config::new("/maillage/1.0.0".into(), key.public())),
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
