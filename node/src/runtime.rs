//! `maillage node`: the long-running process. It owns the household (store
//! and keys), one libp2p swarm task and the local HTTP API, and stops
//! cleanly on SIGINT or SIGTERM: the API stops taking commands and lets the
//! ones under way finish, the swarm stops, the store closes. Every write was
//! committed durably when it was acknowledged, so nothing is lost either way.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tracing::{info, warn};

use crate::api::{self, CliRunner, RunOptions};
use crate::home::Home;
use crate::household::{Household, HouseholdError};
use crate::net::{self, Multiaddr, NetHandle};
use crate::web;

/// What the local API and in-node commands share with the runtime.
#[derive(Clone, Debug)]
pub struct NodeContext {
    /// The one open household: redb allows one process, and inside the node
    /// every command and every sync goes through this lock.
    pub household: Arc<Mutex<Household>>,
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
fn relays(from_file: Vec<Multiaddr>, from_command_line: Vec<Multiaddr>) -> Vec<Relay> {
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

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error(transparent)]
    Household(#[from] HouseholdError),
    #[error(transparent)]
    Net(#[from] net::NetError),
    #[error(transparent)]
    Api(#[from] api::ApiError),
    #[error("{path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("{0:?} is not a network address (expected a multiaddr such as /ip4/0.0.0.0/tcp/4001)")]
    Address(String),
    #[error("the web page cannot listen on {address}: {reason}")]
    Web { address: String, reason: String },
    #[error("the node stopped unexpectedly: {0}")]
    Io(#[from] std::io::Error),
}

/// `<home>/node.toml`: settings a steward may want to keep across restarts.
/// Flags given to `maillage node` take precedence.
///
/// ```toml
/// listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
/// dial = ["/ip4/192.168.1.10/tcp/4001"]   # the village-hall relay, say
/// mdns = true
/// resync_seconds = 20
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    #[serde(default)]
    pub listen: Vec<String>,
    #[serde(default)]
    pub dial: Vec<String>,
    pub mdns: Option<bool>,
    pub resync_seconds: Option<u64>,
}

impl NodeFile {
    pub fn path(home: &Home) -> PathBuf {
        home.root().join("node.toml")
    }

    /// The file's settings, or the defaults when there is no file.
    pub fn load(home: &Home) -> Result<NodeFile, RuntimeError> {
        let path = NodeFile::path(home);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| RuntimeError::Config {
                path,
                reason: e.to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(NodeFile::default()),
            Err(error) => Err(RuntimeError::Config {
                path,
                reason: error.to_string(),
            }),
        }
    }
}

/// Listening on every interface lets mDNS find the node on the LAN (it does
/// not use loopback); port 0 picks free ports, so several nodes can run on
/// one machine.
const DEFAULT_LISTEN: [&str; 2] = ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"];

fn addresses(texts: &[String]) -> Result<Vec<Multiaddr>, RuntimeError> {
    texts
        .iter()
        .map(|t| t.parse().map_err(|_| RuntimeError::Address(t.clone())))
        .collect()
}

/// Runs the node until SIGINT or SIGTERM. `runner` executes CLI commands sent
/// to the local API, inside this process.
pub async fn run(home: Home, options: RunOptions, runner: CliRunner) -> Result<(), RuntimeError> {
    let settings = NodeFile::load(&home)?;
    let household = Household::open(home.clone())?;
    let household_id = household.id().to_text();
    let listen = match (options.listen.is_empty(), settings.listen.is_empty()) {
        (false, _) => addresses(&options.listen)?,
        (true, false) => addresses(&settings.listen)?,
        (true, true) => DEFAULT_LISTEN.iter().filter_map(|a| a.parse().ok()).collect(),
    };
    let relays = relays(addresses(&settings.dial)?, addresses(&options.relays)?);
    let config = net::Config {
        listen,
        dial: relays.iter().map(|relay| relay.address.clone()).collect(),
        mdns: settings.mdns.unwrap_or(true),
        resync_every: Duration::from_secs(settings.resync_seconds.unwrap_or(20).max(1)),
    };
    let household = Arc::new(Mutex::new(household));
    let (net, net_task) = net::spawn(household.clone(), config)?;
    let context = NodeContext {
        household,
        net: net.clone(),
        relays: relays.into(),
    };

    let listener = api::bind(&options.api).await?;
    let api_address = listener.local_addr()?;
    let token = api::Token::load_or_create(&home)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_web, web_stopped) = tokio::sync::oneshot::channel::<()>();
    let web = match &options.web {
        Some(address) => {
            let listener = bind_web(address).await?;
            let web_address = listener.local_addr()?;
            let state = web::WebState::new(context.clone(), &token, web_address);
            let task = tokio::spawn(web::serve(listener, state, async move {
                let _ = web_stopped.await;
            }));
            Some((web_address, task))
        }
        None => None,
    };
    api::write_run_files(&home, api_address, web.as_ref().map(|(address, _)| *address))?;
    let api_task = tokio::spawn(api::serve(
        listener,
        token.clone(),
        household_id.clone(),
        api::bind_context(runner, context.clone()),
        async move {
            let _ = stopped.await;
        },
    ));

    // Say where the node is, once the swarm has its addresses.
    let mut status = None;
    for _ in 0..40 {
        status = net.status().await;
        if status.as_ref().is_some_and(|s| !s.listen_addresses.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(status) = status {
        info!(peer_id = %status.peer_id, "node started");
        println!("maillage node {household_id}");
        println!("  peer id  {}", status.peer_id);
        for address in &status.listen_addresses {
            println!("  mesh     {address}");
        }
    }
    println!("  api      http://{api_address}");
    if let Some((address, _)) = &web {
        // The link holds the token: print it to the villager's terminal, but
        // not into a service's log, where `maillage page` gives it instead.
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            println!("  page     http://{address}/login?token={}", token.as_str());
        } else {
            println!("  page     http://{address}/   (maillage page)");
        }
    }

    shutdown_signal().await;
    info!("stopping");
    let _ = stop.send(());
    let _ = stop_web.send(());
    if let Some((_, task)) = web {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "the web page stopped with an error"),
            Err(error) => warn!(%error, "the web page task failed"),
        }
    }
    match api_task.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => warn!(%error, "the local API stopped with an error"),
        Err(error) => warn!(%error, "the local API task failed"),
    }
    net.shutdown().await;
    let _ = net_task.await;
    api::remove_run_files(&home)?;
    info!("stopped");
    Ok(())
}

/// Listens for the web page. The default port is a convenience, not a
/// promise: when another program (or another household's node on this
/// machine) holds it, take any free port; the address is in `run/api.json`.
async fn bind_web(address: &str) -> Result<tokio::net::TcpListener, RuntimeError> {
    match web::bind(address).await {
        Ok(listener) => Ok(listener),
        Err(error) if address == web::DEFAULT_ADDRESS && error.kind() == std::io::ErrorKind::AddrInUse => {
            warn!(%address, "the web page's usual port is taken; using another");
            Ok(web::bind("127.0.0.1:0").await?)
        }
        Err(error) => Err(RuntimeError::Web {
            address: address.to_owned(),
            reason: error.to_string(),
        }),
    }
}

/// SIGINT (Ctrl-C) or SIGTERM (systemd, kill).
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                warn!(%error, "cannot watch SIGTERM; stop the node with Ctrl-C");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
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
