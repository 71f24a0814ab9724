//! `maillage node`: the long-running process. It owns the household (store
//! and keys), one libp2p swarm task and the local HTTP API, and stops
//! cleanly on SIGINT or SIGTERM: the API stops taking commands and lets the
//! ones under way finish, the swarm stops, the store closes. Every write was
//! committed durably when it was acknowledged, so nothing is lost either way.

use std::time::Duration;

use tracing::{info, warn};

use crate::api::{self, CliRunner, RunOptions};
use crate::config::{ConfigError, NodeFile};
use crate::context::{NodeContext, relays};
use crate::home::Home;
use crate::household::HouseholdError;
use crate::net::{self, Multiaddr};
use crate::service::HouseholdService;
use crate::web;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error(transparent)]
    Household(#[from] HouseholdError),
    #[error(transparent)]
    Net(#[from] net::NetError),
    #[error(transparent)]
    Api(#[from] api::ApiError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0:?} is not a network address (expected a multiaddr such as /ip4/0.0.0.0/tcp/4001)")]
    Address(String),
    #[error("the web page cannot listen on {address}: {reason}")]
    Web { address: String, reason: String },
    #[error("the node stopped unexpectedly: {0}")]
    Io(#[from] std::io::Error),
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
    let household = HouseholdService::open(home.clone())?;
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
    let api_state = api::ApiState::new(
        &home,
        token.clone(),
        api::bind_context(runner, context.clone()),
        context.clone(),
    );
    let api_task = tokio::spawn(api::serve(listener, api_state, async move {
        let _ = stopped.await;
    }));

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
