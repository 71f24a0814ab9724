//! `community join` over the network, with real nodes on loopback: the
//! newcomer presents its join to the inviter's node and is either admitted
//! (and has every document when the join returns) or told why not; when no
//! node answers, it joins offline as before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;
mod testnode;

use std::time::Duration;

use maillage_crdt::registry::Invite;
use maillage_crdt::{Record, SecretKey};
use maillage_node::HouseholdError;
use maillage_node::net::admission::{self, Joined};
use maillage_node::net::wire::{RecordsRequest, RecordsResponse, Refusal};
use maillage_protocol::InviteCode;
use testnode::{TestNode, WAIT, quiet_panics, wait_for};

/// A founder's running node, with a community and a few offers.
async fn founder_with_offers(offers: &[&str]) -> TestNode {
    let (dir, mut founder) = TestNode::household("Ferme");
    founder.create_community("Saint-Martin", "heure", None).unwrap();
    let founder = TestNode::start("Ferme", dir, founder).await;
    for title in offers {
        founder.offer(title);
    }
    founder
}

/// An invite code made by the running node (so it carries its addresses).
async fn invite(node: &TestNode, uses: u32, expires_at: i64) -> String {
    wait_for(|| async {
        let code = node.write(move |h| h.invite(uses, expires_at).unwrap());
        (!code.addresses.is_empty()).then(|| code.to_text())
    })
    .await
}

async fn newcomer(name: &str) -> TestNode {
    let (dir, household) = TestNode::household(name);
    TestNode::start(name, dir, household).await
}

/// Runs `community join` through `node`'s running swarm, as the CLI does
/// inside a node.
async fn join(node: &TestNode, code: &str) -> Result<Joined, admission::AdmissionError> {
    tokio::time::timeout(WAIT * 4, admission::join(&node.household, &node.net, code, &mut |_| {}))
        .await
        .expect("the join took too long")
}

fn refusal(result: Result<Joined, admission::AdmissionError>) -> Refusal {
    match result {
        Err(admission::AdmissionError::Household(HouseholdError::Refusal(refusal))) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn in_no_community(node: &TestNode) -> bool {
    node.with(|h| h.communities().unwrap().is_empty())
}

fn far_future() -> i64 {
    i64::MAX / 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admitted_newcomer_has_every_document_when_join_returns() {
    quiet_panics();
    let offers = ["Œufs frais", "Confiture de prunes", "Tondeuse à prêter"];
    let founder = founder_with_offers(&offers).await;
    let code = invite(&founder, 1, far_future()).await;
    let tilleuls = newcomer("Tilleuls").await;

    let joined = join(&tilleuls, &code).await.unwrap();

    assert!(joined.online && joined.synced, "{joined:?}");
    assert_eq!(joined.name, "Saint-Martin");
    // No waiting: everything is there when the command returns (the
    // founder's profile came with the code; its three offers by sync).
    let mut expected: Vec<String> = offers.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(tilleuls.offer_titles(), expected);
    assert!(joined.documents >= 3, "{joined:?}");
    // Both sides count the newcomer as a member, and it can name the founder.
    assert_eq!(founder.with(|h| h.members().unwrap().len()), 2);
    assert_eq!(tilleuls.with(|h| h.members().unwrap().len()), 2);
    assert!(tilleuls.with(|h| h.resolve_member("Ferme").is_ok()));
    // And what it writes now reaches the founder.
    tilleuls.offer("Pommes");
    founder
        .expect_offers(&["Confiture de prunes", "Pommes", "Tondeuse à prêter", "Œufs frais"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_up_code_is_refused_to_the_second_household_and_nothing_is_stored() {
    quiet_panics();
    let founder = founder_with_offers(&["Œufs frais"]).await;
    let code = invite(&founder, 1, far_future()).await;
    let first = newcomer("Tilleuls").await;
    let second = newcomer("Moulin").await;

    join(&first, &code).await.unwrap();
    let refused = join(&second, &code).await;

    assert_eq!(refusal(refused), Refusal::InviteUsedUp);
    assert!(in_no_community(&second), "a refused join left a membership behind");
    assert_eq!(second.offer_titles(), Vec::<String>::new());
    assert_eq!(founder.with(|h| h.members().unwrap().len()), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_refused() {
    quiet_panics();
    let founder = founder_with_offers(&[]).await;
    let expires_at = maillage_node::household::now_ms() + 1_000;
    let code = invite(&founder, 1, expires_at).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let late = newcomer("Tilleuls").await;

    assert_eq!(refusal(join(&late, &code).await), Refusal::InviteExpired);
    assert!(in_no_community(&late));
    assert_eq!(founder.with(|h| h.members().unwrap().len()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_with_a_tampered_secret_is_refused_as_forged() {
    quiet_panics();
    let founder = founder_with_offers(&[]).await;
    let mut code = InviteCode::parse(&invite(&founder, 5, far_future()).await).unwrap();
    code.invite_secret = [42; 32];
    // A well-formed code (its checksum recomputed): only the signatures tell.
    let tampered = code.to_text();
    let forger = newcomer("Faussaire").await;

    let result = join(&forger, &tampered).await;

    assert!(
        matches!(
            result,
            Err(admission::AdmissionError::Household(HouseholdError::Invite(
                maillage_protocol::InviteCodeError::Forged(_)
            )))
        ),
        "{result:?}"
    );
    assert!(in_no_community(&forger));
}

/// The node itself refuses a join whose invitation proof is not made with
/// the invitation's key (a client that skipped its own checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inviters_node_refuses_a_forged_join_record() {
    quiet_panics();
    let founder = founder_with_offers(&["Réservé"]).await;
    let code = invite(&founder, 5, far_future()).await;
    let forger = newcomer("Faussaire").await;
    let presented = forger.with(|h| {
        let mut prepared = h.prepare_join(&code).unwrap();
        let mut body = prepared.join.body.clone();
        body.invite_proof = SecretKey::from_bytes(&[3; 32]).sign_digest(&[0; 32]);
        let forged = h.device_key().sign(body).unwrap();
        prepared.presented.retain(|r| !matches!(r, Record::Join(_)));
        prepared.presented.push(Record::Join(forged));
        prepared.presented
    });
    let records = presented
        .iter()
        .map(|r| serde_bytes::ByteBuf::from(r.encode()))
        .collect();
    let founder_peer = founder.net.status().await.unwrap().peer_id.parse().unwrap();
    let address = founder.address.clone();

    let answer = tokio::time::timeout(
        WAIT,
        forger
            .net
            .ask(founder_peer, vec![address], RecordsRequest::Join { records }),
    )
    .await
    .unwrap()
    .unwrap();

    assert!(
        matches!(
            answer,
            RecordsResponse::Refused {
                reason: Refusal::InviteForged
            }
        ),
        "{answer:?}"
    );
    assert_eq!(founder.with(|h| h.members().unwrap().len()), 1);
}

/// A member (not a steward) hands out an invitation it signed itself, then
/// a steward removes it: the community's node refuses the code, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_from_a_household_the_community_removed_is_refused() {
    quiet_panics();
    let founder = founder_with_offers(&["Réservé"]).await;
    let member = newcomer("Tilleuls").await;
    join(&member, &invite(&founder, 1, far_future()).await).await.unwrap();
    let members_code = member.with(|h| {
        let community = h.current_community().unwrap();
        let invite_key = SecretKey::from_bytes(&[11; 32]);
        let invite = Invite {
            community,
            inviter: h.id(),
            invite_key: invite_key.public(),
            max_uses: 3,
            created_at: maillage_node::household::now_ms(),
            expires_at: far_future(),
        };
        let invite = h.device_key().sign(invite).unwrap();
        let records: Vec<Record> = h.community_records(&community);
        let genesis = records
            .iter()
            .find_map(|r| match r {
                Record::Genesis(g) => Some(g.clone()),
                _ => None,
            })
            .unwrap();
        let certs = records
            .iter()
            .filter_map(|r| match r {
                Record::DeviceCert(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        InviteCode {
            genesis,
            certs,
            invite,
            invite_secret: invite_key.to_bytes(),
            addresses: vec![founder.address.to_string()],
            inviter_profile: vec![],
        }
        .to_text()
    });
    let member_id = member.id();
    founder.write(move |h| h.remove_member(&member_id).unwrap());
    let late = newcomer("Moulin").await;

    assert_eq!(refusal(join(&late, &members_code).await), Refusal::InviterRemoved);
    assert!(in_no_community(&late));
}

/// The code carries the inviter's address, but nothing answers there: the
/// newcomer joins offline, and is told so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_inviter_leads_to_an_offline_join() {
    quiet_panics();
    let (_founder_dir, mut founder) = TestNode::household("Ferme");
    founder.create_community("Saint-Martin", "heure", None).unwrap();
    let peer = admission::peer_of(&founder.device_key().device_id()).unwrap();
    // Port 1 on loopback: nobody listens, the dial is refused.
    founder.set_advertised(vec![format!("/ip4/127.0.0.1/tcp/1/p2p/{peer}")]);
    let code = founder.invite(1, far_future()).unwrap().to_text();
    let tilleuls = newcomer("Tilleuls").await;

    let started = std::time::Instant::now();
    let joined = join(&tilleuls, &code).await.unwrap();

    assert!(!joined.online, "{joined:?}");
    assert!(started.elapsed() <= admission::ANSWER_TIMEOUT + Duration::from_secs(2));
    // A member locally: the join record travels when the node reaches a member.
    assert_eq!(tilleuls.with(|h| h.members().unwrap().len()), 2);
    // And the inviter's address is remembered for the node to redial.
    assert!(tilleuls.with(|h| h.address_book().contains_key(&peer.to_string())));
}

/// The real binary, as a villager types it: the newcomer runs no node, and
/// `community join` alone connects, is admitted and receives everything; a
/// second household with the same one-use code is told why not, in French;
/// with the inviter's node stopped, a join falls back to offline.
#[test]
fn community_join_through_the_binary_alone() {
    let root = tempfile::tempdir().unwrap();
    let mut founder = procs::Proc::new(root.path(), "ferme", None);
    founder.ok(&["init", "--name", "Ferme des Tilleuls"]);
    founder.ok(&["community", "create", "Saint-Martin-de-Vers"]);
    founder.loopback_only();
    founder.start_node(&[]);
    founder.ok(&["offer", "add", "--title", "Œufs frais"]);
    let code = |uses: &str| {
        founder.json(&["community", "invite", "--uses", uses])["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let one_use = code("1");
    let for_later = code("1");

    let tilleuls = procs::Proc::new(root.path(), "tilleuls", None);
    tilleuls.ok(&["init", "--name", "Les Tilleuls"]);
    let joined = tilleuls.run(&["community", "join", &one_use]);
    let stdout = String::from_utf8_lossy(&joined.stdout);
    assert!(
        joined.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    assert!(
        stdout.contains("Welcome to \"Saint-Martin-de-Vers\"! 1 document(s) received."),
        "{stdout}"
    );
    // Progress went to stderr while it happened.
    assert!(String::from_utf8_lossy(&joined.stderr).contains("Admitted"));
    // No node runs for Les Tilleuls: the offer is in its store already.
    assert_eq!(tilleuls.offer_titles(), ["Œufs frais"]);

    let moulin = procs::Proc::new(root.path(), "moulin", None);
    moulin.ok(&["init", "--name", "Le Moulin"]);
    let refused = moulin.run(&["--lang", "fr", "community", "join", &one_use]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("l'invitation a déjà servi autant de fois que permis"),
        "{stderr}"
    );
    assert!(moulin.json(&["community", "list"]).as_array().unwrap().is_empty());

    founder.stop_node();
    let offline = moulin.ok(&["community", "join", &for_later]);
    assert!(offline.contains("offline"), "{offline}");
    assert!(
        offline.contains("your node will sync when it reaches a member"),
        "{offline}"
    );
}
