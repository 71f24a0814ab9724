//! The address book: where member peers' nodes were reached, kept in the
//! store's meta table so a restarted node can dial them again.

use std::collections::BTreeMap;

use crate::household::{Household, HouseholdError, HouseholdWriter};

type Result<T> = std::result::Result<T, HouseholdError>;

/// JSON map of member peers' addresses (see `remember_peer`).
const META_ADDRESS_BOOK: &str = "address-book";

impl Household {
    /// The persisted address book: peer id → multiaddrs.
    pub fn address_book(&self) -> BTreeMap<String, Vec<String>> {
        self.store()
            .meta(META_ADDRESS_BOOK)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

impl HouseholdWriter {
    /// Remembers where a member's node was reached (peer id → multiaddrs), so
    /// the node can dial it again after a restart. Only member peers are
    /// kept, and at most a few addresses each.
    pub fn remember_peer(&mut self, peer: &str, addresses: &[String]) -> Result<()> {
        const MAX_PEERS: usize = 256;
        const MAX_ADDRESSES: usize = 4;
        let mut book = self.address_book();
        let entry = book.entry(peer.to_owned()).or_default();
        for address in addresses {
            if !entry.contains(address) {
                entry.insert(0, address.clone());
            }
        }
        entry.truncate(MAX_ADDRESSES);
        if book.len() > MAX_PEERS {
            let extra: Vec<String> = book
                .keys()
                .filter(|p| *p != peer)
                .take(book.len() - MAX_PEERS)
                .cloned()
                .collect();
            for key in extra {
                book.remove(&key);
            }
        }
        let bytes = serde_json::to_vec(&book).unwrap_or_default();
        Ok(self.store().set_meta(META_ADDRESS_BOOK, &bytes)?)
    }
}

/// Splits `/ip4/…/tcp/…/p2p/<peer>` into the peer id and the address before it.
pub(crate) fn split_peer(address: &str) -> Option<(String, String)> {
    let address: libp2p::Multiaddr = address.parse().ok()?;
    let mut base = address.clone();
    match base.pop()? {
        libp2p::multiaddr::Protocol::P2p(peer) => Some((peer.to_string(), base.to_string())),
        _ => None,
    }
}
