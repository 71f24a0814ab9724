//! A cap on incoming connections still in their handshake, per remote IP
//! address.
//!
//! Why: `connection_limits` caps pending incoming connections for the whole
//! node (32), and a socket that sends nothing is held until the handshake
//! times out. Forty silent sockets reopened from one address kept every other
//! peer out of a node for as long as the flood ran. With at most
//! [`MAX_PENDING_PER_IP`] handshakes per address, one address can take only a
//! few of the node-wide slots, and members on other addresses still get in.
//! (A flood from the member's own address — the same NAT — still locks that
//! member out: nothing on our side can tell them apart before the handshake.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::PeerId;
use libp2p::core::transport::PortUse;
use libp2p::core::{Endpoint, Multiaddr};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
    dummy,
};

/// Handshakes one address may have under way at once. An honest peer has one
/// (two when it dials over TCP and QUIC at once); a few households behind one
/// NAT that all reconnect when the hall node restarts have a few, each done in
/// milliseconds on a LAN.
pub const MAX_PENDING_PER_IP: usize = 4;

/// Why an incoming connection was refused before its handshake.
#[derive(Debug, thiserror::Error)]
#[error("{ip} already has {limit} incoming connections in their handshake")]
pub struct TooManyPending {
    pub ip: IpAddr,
    pub limit: usize,
}

/// Counts pending incoming connections per remote IP and denies those over
/// the cap; counts are released when a connection is established or fails.
#[derive(Debug)]
pub struct Behaviour {
    limit: usize,
    pending: HashMap<ConnectionId, IpAddr>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Behaviour {
    pub fn new(limit: usize) -> Self {
        Behaviour {
            limit,
            pending: HashMap::new(),
            per_ip: HashMap::new(),
        }
    }

    fn release(&mut self, connection: ConnectionId) {
        let Some(ip) = self.pending.remove(&connection) else {
            return;
        };
        if let Some(count) = self.per_ip.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Pending incoming connections from `ip` now (for tests).
    #[cfg(test)]
    fn pending_from(&self, ip: &IpAddr) -> usize {
        self.per_ip.get(ip).copied().unwrap_or(0)
    }
}

fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        let count = self.per_ip.entry(ip).or_insert(0);
        if *count >= self.limit {
            return Err(ConnectionDenied::new(TooManyPending { ip, limit: self.limit }));
        }
        *count += 1;
        self.pending.insert(connection, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection: ConnectionId,
        _peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        // The handshake is over: the slot is free whatever later behaviours decide.
        self.release(connection);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection: ConnectionId,
        _peer: PeerId,
        _address: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            // A handshake that timed out, failed, or was denied by another behaviour.
            FromSwarm::ListenFailure(failure) => self.release(failure.connection_id),
            FromSwarm::ConnectionEstablished(established) => self.release(established.connection_id),
            _ => {}
        }
    }

    fn on_connection_handler_event(&mut self, _peer: PeerId, _connection: ConnectionId, event: THandlerOutEvent<Self>) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(ip: &str, port: u16) -> Multiaddr {
        format!("/ip4/{ip}/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn one_address_gets_at_most_the_cap_and_others_still_get_in() {
        let local: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        let mut limiter = Behaviour::new(2);
        let flood: IpAddr = "10.0.0.9".parse().unwrap();
        let first = ConnectionId::new_unchecked(1);
        assert!(
            limiter
                .handle_pending_inbound_connection(first, &local, &remote("10.0.0.9", 1))
                .is_ok()
        );
        assert!(
            limiter
                .handle_pending_inbound_connection(ConnectionId::new_unchecked(2), &local, &remote("10.0.0.9", 2))
                .is_ok()
        );
        assert!(
            limiter
                .handle_pending_inbound_connection(ConnectionId::new_unchecked(3), &local, &remote("10.0.0.9", 3))
                .is_err()
        );
        // Another address is not affected.
        assert!(
            limiter
                .handle_pending_inbound_connection(ConnectionId::new_unchecked(4), &local, &remote("10.0.0.7", 1))
                .is_ok()
        );
        // A finished handshake frees its slot.
        let _ = limiter.handle_established_inbound_connection(first, PeerId::random(), &local, &remote("10.0.0.9", 1));
        assert_eq!(limiter.pending_from(&flood), 1);
        assert!(
            limiter
                .handle_pending_inbound_connection(ConnectionId::new_unchecked(5), &local, &remote("10.0.0.9", 4))
                .is_ok()
        );
    }
}
