//! `TestNode`: a real household node in this process — its own home and
//! redb store in a temporary directory, its own libp2p swarm on loopback —
//! and waits that always time out.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use maillage_crdt::{DocKind, HouseholdId};
use maillage_node::household::ItemInput;
use maillage_node::net::{self, Multiaddr, NetHandle};
use maillage_node::{Home, Household, HouseholdService, HouseholdWriter, Query};
use tempfile::TempDir;

/// How long any wait in a mesh test may take.
pub const WAIT: Duration = Duration::from_secs(15);

pub struct TestNode {
    pub name: String,
    dir: TempDir,
    pub household: HouseholdService,
    pub net: NetHandle,
    task: tokio::task::JoinHandle<()>,
    pub address: Multiaddr,
}

impl TestNode {
    /// A new household named `name`, not yet in any community, not yet running.
    pub fn household(name: &str) -> (TempDir, HouseholdWriter) {
        let dir = tempfile::tempdir().unwrap();
        let household = Household::init(Home::at(dir.path().join("home")), name, None).unwrap();
        (dir, household)
    }

    /// Starts the node of an initialised household, listening on loopback TCP.
    pub async fn start(name: &str, dir: TempDir, household: HouseholdWriter) -> TestNode {
        let household = HouseholdService::start(household);
        let config = net::Config {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            dial: vec![],
            mdns: false,
            resync_every: Duration::from_secs(2),
        };
        let (net, task) = net::spawn(household.clone(), config).unwrap();
        let address = wait_for(|| async {
            net.status()
                .await
                .and_then(|s| s.listen_addresses.first().map(|a| a.parse::<Multiaddr>().unwrap()))
        })
        .await;
        let peer: Multiaddr = format!("{address}/p2p/{}", net.status().await.unwrap().peer_id)
            .parse()
            .unwrap();
        TestNode {
            name: name.into(),
            dir,
            household,
            net,
            task,
            address: peer,
        }
    }

    /// Stops the node and hands back its (closed) household files.
    pub async fn stop(self) -> (String, TempDir) {
        self.net.shutdown().await;
        let _ = tokio::time::timeout(WAIT, self.task).await;
        drop(self.household);
        (self.name, self.dir)
    }

    /// Reopens a stopped node from its store.
    pub async fn restart(name: String, dir: TempDir) -> TestNode {
        let household = Household::open(Home::at(dir.path().join("home"))).unwrap();
        TestNode::start(&name, dir, household).await
    }

    /// Reads the household, as the node's own readers do.
    pub fn with<T>(&self, f: impl FnOnce(&Household) -> T) -> T {
        f(&self.household)
    }

    /// Runs `f` on the household's writer thread, as the node's writes do.
    pub fn write<T: Send + 'static>(&self, f: impl FnOnce(&mut HouseholdWriter) -> T + Send + 'static) -> T {
        self.household.write_blocking(move |writer| Ok(f(writer))).unwrap()
    }

    pub fn id(&self) -> HouseholdId {
        self.with(|h| h.id())
    }

    pub async fn connect(&self, other: &TestNode) {
        self.net.dial(other.address.clone()).await;
    }

    /// Posts an offer and announces it, as the local API does.
    pub fn offer(&self, title: &str) {
        let title = title.to_owned();
        self.write(move |h| {
            h.add_offer(ItemInput {
                title,
                ..ItemInput::default()
            })
            .unwrap()
        });
        self.net.announce();
    }

    /// Titles of the offers this node shows, sorted.
    pub fn offer_titles(&self) -> Vec<String> {
        let mut titles: Vec<String> = self.with(|h| {
            h.list(
                Query {
                    kind: Some(DocKind::Offer),
                    ..Query::default()
                },
                None,
                true,
            )
            .map(|list| list.into_iter().map(|s| s.title).collect())
            .unwrap_or_default()
        });
        titles.sort();
        titles
    }

    /// Waits until this node shows exactly `expected` offers.
    pub async fn expect_offers(&self, expected: &[&str]) {
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        let result = tokio::time::timeout(WAIT, async {
            loop {
                if self.offer_titles() == expected {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(
            result.is_ok(),
            "{} shows {:?}, expected {:?}",
            self.name,
            self.offer_titles(),
            expected
        );
    }

    pub async fn peer_count(&self) -> usize {
        self.net.status().await.map(|s| s.peers.len()).unwrap_or(0)
    }
}

impl TestNode {
    /// Like [`TestNode::restart`], but waits (at most [`WAIT`]) for the store
    /// to be released: blocking jobs the stopped node had started may still
    /// hold the household for a moment after its task ended.
    pub async fn reopen(name: String, dir: TempDir) -> TestNode {
        let home = dir.path().join("home");
        let household = wait_for(|| {
            let home = home.clone();
            async move { Household::open(Home::at(home)).ok() }
        })
        .await;
        TestNode::start(&name, dir, household).await
    }
}

/// Makes a failing test print its message without a backtrace, for the rest
/// of this test process.
///
/// Why: every node's swarm refuses connections once the *process* uses more
/// than 256 MiB (`memory_connection_limits`), and with `RUST_BACKTRACE=1`
/// the default hook symbolizes the backtrace from this debug binary's
/// debug info, which takes the process from a few MB to about 390 MB
/// resident. After one failed test, every dial of every later test in the
/// same process is denied, and they all fail for nothing.
pub fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
}

/// Polls `probe` until it yields a value, for at most [`WAIT`].
pub async fn wait_for<T, F, Fut>(probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await
    .expect("waited too long")
}

/// A founder and `others` households that joined its community with invite
/// codes, offline (as `maillage community join` does before any network).
pub fn village(names: &[&str]) -> Vec<(String, TempDir, HouseholdWriter)> {
    let mut households = Vec::new();
    let (dir, mut founder) = TestNode::household(names[0]);
    founder.create_community("Saint-Martin", "heure", None).unwrap();
    let code = founder.invite(names.len() as u32, i64::MAX / 2).unwrap().to_text();
    households.push((names[0].to_owned(), dir, founder));
    for name in &names[1..] {
        let (dir, mut household) = TestNode::household(name);
        household.join(&code).unwrap();
        households.push((name.to_string(), dir, household));
    }
    households
}
