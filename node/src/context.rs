//! What the parts of a running node share: the household service, the
//! swarm's handle, and the relays it dialed. A leaf: the runtime builds
//! one, the local API, the web page and in-node commands read it.

use std::sync::Arc;

use crate::net::{Multiaddr, NetHandle};
use crate::service::HouseholdService;

/// What the local API and in-node commands share with the runtime.
#[derive(Clone, Debug)]
pub struct NodeContext {
    /// The one open household: reads at once, writes in order on its
    /// writer thread (redb allows one process per store).
    pub household: HouseholdService,
    /// The swarm task's handle.
    pub net: NetHandle,
    /// The relays this node dialed at start, from node.toml and `--relay`:
    /// what it actually uses, which the file alone does not say.
    pub relays: Arc<[Relay]>,
}

/// A relay the node dials when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relay {
    pub address: Multiaddr,
    pub given_in: RelayOrigin,
}

/// Where a relay was given: a steward looking at the page should know
/// whether it survives a restart (node.toml) or not (`--relay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayOrigin {
    NodeFile,
    CommandLine,
    Both,
}

/// node.toml's `dial` addresses, then `--relay` ones, each once: the same
/// address with and without its `/p2p/<peer id>` part is one relay, kept
/// with the peer id (which lets the page tell whether it is connected).
pub fn relays(from_file: Vec<Multiaddr>, from_command_line: Vec<Multiaddr>) -> Vec<Relay> {
    let mut relays: Vec<Relay> = Vec::new();
    let given = from_file
        .into_iter()
        .map(|address| (address, RelayOrigin::NodeFile))
        .chain(
            from_command_line
                .into_iter()
                .map(|address| (address, RelayOrigin::CommandLine)),
        );
    for (address, origin) in given {
        match relays
            .iter_mut()
            .find(|relay| without_peer_id(&relay.address) == without_peer_id(&address))
        {
            Some(relay) => {
                if relay.given_in != origin {
                    relay.given_in = RelayOrigin::Both;
                }
                if address.len() > relay.address.len() {
                    relay.address = address;
                }
            }
            None => relays.push(Relay {
                address,
                given_in: origin,
            }),
        }
    }
    relays
}

fn without_peer_id(address: &Multiaddr) -> Multiaddr {
    address
        .iter()
        .filter(|part| !matches!(part, libp2p::multiaddr::Protocol::P2p(_)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(texts: &[&str]) -> Vec<Multiaddr> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    #[test]
    fn a_relay_given_twice_is_dialed_once_and_says_where_it_was_given() {
        let hall = "/ip4/192.168.1.10/tcp/4001";
        let school = "/ip4/192.168.1.20/tcp/4001";
        let farm = "/ip4/10.0.0.7/udp/4001/quic-v1";
        let relays = relays(addresses(&[hall, school, hall]), addresses(&[farm, hall, farm]));
        let seen: Vec<(String, RelayOrigin)> = relays
            .iter()
            .map(|relay| (relay.address.to_string(), relay.given_in))
            .collect();
        assert_eq!(
            seen,
            [
                (hall.to_owned(), RelayOrigin::Both),
                (school.to_owned(), RelayOrigin::NodeFile),
                (farm.to_owned(), RelayOrigin::CommandLine),
            ]
        );
    }

    #[test]
    fn a_relay_given_with_and_without_its_peer_id_is_one_relay() {
        let hall = "/ip4/192.168.1.10/tcp/4001";
        let with_id = "/ip4/192.168.1.10/tcp/4001/p2p/12D3KooWGzh9HbSNHEDvvD2ZswDXSh3FZWqr7g3AL1i8YxBRLYAt";
        let relays = relays(addresses(&[hall]), addresses(&[with_id]));
        assert_eq!(relays.len(), 1, "{relays:?}");
        assert_eq!(relays[0].address.to_string(), with_id, "kept with its peer id");
        assert_eq!(relays[0].given_in, RelayOrigin::Both);
    }
}
