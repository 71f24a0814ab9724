//! The exchanges page between two households whose nodes run side by side:
//! proposing through the form, answering on the other household's page,
//! confirming, the balances both pages show, the ledger download, and what
//! the page refuses (a bad amount, an action out of turn).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;
mod webnode;

use std::time::{Duration, Instant};

use maillage_crdt::exchange::ExchangeAction;
use maillage_crdt::{Amount, DocId};
use maillage_node::{Home, Household};
use webnode::{Answer, WebNode, text_of};

const FOUNDER: &str = "Ferme des Tilleuls";
const NEIGHBOUR: &str = "Les Écureuils";
/// How long a change may take to reach the other node.
const SYNC_WAIT: Duration = Duration::from_secs(30);

/// Two households in one community with a credit limit of 10, both nodes
/// running, each knowing the other as a member. Returns them with the
/// neighbour's household id.
fn village(root: &std::path::Path) -> (WebNode, WebNode, String) {
    let founder = WebNode::init(root, FOUNDER);
    founder.ok(&["community", "create", "Les Granges", "--limit", "10"]);
    let founder = WebNode::start(founder);
    let code = founder.proc.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let neighbour = WebNode::init(root, NEIGHBOUR);
    neighbour.ok(&["community", "join", &code]);
    let neighbour = WebNode::start(neighbour);
    let neighbour_id = neighbour.proc.json(&["whoami"])["household"]
        .as_str()
        .unwrap()
        .to_owned();
    // The founder learns of the neighbour's join from its node.
    founder
        .proc
        .wait_until(|| founder.proc.json(&["community", "members"]).as_array().unwrap().len() == 2);
    (founder, neighbour, neighbour_id)
}

/// GETs `path` until `done` holds for the page, or fails after SYNC_WAIT.
fn wait_for_page(node: &WebNode, path: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let page = node.get(path).expect(200).body;
        if done(&page) {
            return page;
        }
        assert!(
            started.elapsed() < SYNC_WAIT,
            "{}: waited {SYNC_WAIT:?} for {what} on {path}; last page:\n{}",
            node.proc.name,
            text_of(&page)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The HTML of one section of the overview (`a-traiter`, `en-cours`,
/// `termines`), up to the next section.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let rest = &page[start..];
    let end = rest[1..].find("<section").map_or(rest.len(), |end| end + 1);
    &rest[..end]
}

/// The opening tag of the card of exchange `id` in `html`, if listed.
fn card_of<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let at = html.find(&format!("data-id=\"{id}\""))?;
    let start = html[..at].rfind("<li")?;
    Some(&html[start..start + html[start..].find('>')?])
}

/// The balances table row of `name`.
fn balance_row(page: &str, name: &str) -> String {
    let table = &page[page.find("<table class=\"balances\"").expect("a balances table")..];
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("<tr")
        .find(|row| row.contains(name))
        .map(text_of)
        .unwrap_or_else(|| panic!("{name} has no balance row in {}", text_of(table)))
}

/// The id an answer redirected to (`/echanges/ID`).
fn exchange_id(answer: &Answer) -> String {
    let location = answer.location.as_deref().expect("a redirect");
    let id = location.strip_prefix("/echanges/").expect("to the exchange's page");
    assert_eq!(id.len(), 52, "the full id: {location}");
    id.to_owned()
}

#[test]
fn an_exchange_proposed_on_one_page_is_answered_on_the_other_and_balances_follow() {
    let dir = tempfile::tempdir().unwrap();
    let (founder, neighbour, neighbour_id) = village(dir.path());

    // The form offers the neighbour by name.
    let form = founder.get("/echanges/nouveau").expect(200).body;
    assert!(form.contains(&format!("<option value=\"{neighbour_id}\"")), "{form}");
    assert!(text_of(&form).contains(NEIGHBOUR));

    let proposed = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "give"),
                ("amount", "2"),
                ("what", "Prêt de la perceuse"),
            ],
        )
        .expect(303);
    let id = exchange_id(&proposed);
    let mine = founder.get("/echanges").expect(200).body;
    let card = card_of(section(&mine, "en-cours"), &id).expect("under way on the proposer's page");
    assert!(card.contains("data-state=\"proposed\""), "{card}");

    // The neighbour's page lists it to be answered, with its buttons.
    let theirs = wait_for_page(&neighbour, "/echanges", "the proposal to answer", |page| {
        card_of(section(page, "a-traiter"), &id).is_some()
    });
    let todo = section(&theirs, "a-traiter");
    assert!(todo.contains(&format!("action=\"/echanges/{id}/accepter\"")), "{todo}");
    assert!(todo.contains(&format!("action=\"/echanges/{id}/refuser\"")), "{todo}");
    assert!(text_of(todo).contains("Prêt de la perceuse"));

    let accepted = neighbour.post(&format!("/echanges/{id}/accepter"), &[]).expect(303);
    assert_eq!(accepted.location.as_deref(), Some(format!("/echanges/{id}").as_str()));
    let page = neighbour.get(&format!("/echanges/{id}")).expect(200).body;
    assert!(page.contains("data-state=\"accepted\""), "{}", text_of(&page));
    assert!(
        text_of(&page).contains("Les Écureuils (you) accepted")
            || text_of(&page).contains("you (Les Écureuils) accepted")
    );

    // Both confirm: the neighbour from the exchange's page, the founder from
    // the list once it has heard.
    neighbour.post(&format!("/echanges/{id}/confirmer"), &[]).expect(303);
    let founders = wait_for_page(&founder, "/echanges", "the neighbour's confirmation", |page| {
        card_of(section(page, "a-traiter"), &id).is_some_and(|card| card.contains("data-state=\"confirmed\""))
    });
    assert!(section(&founders, "a-traiter").contains(&format!("action=\"/echanges/{id}/confirmer\"")));
    let confirmed = founder
        .post(&format!("/echanges/{id}/confirmer"), &[("back", "list")])
        .expect(303);
    assert_eq!(confirmed.location.as_deref(), Some("/echanges"));
    let founders = founder.get("/echanges").expect(200).body;
    assert!(
        card_of(section(&founders, "termines"), &id).is_some(),
        "finished once both confirmed"
    );

    // The founder gave 2: +2 for it, −2 for the neighbour, on both pages,
    // with the sign written out and said in words.
    for (node, page) in [
        (&founder, founders),
        (&neighbour, neighbour.get("/echanges").expect(200).body),
    ] {
        let gave = balance_row(&page, FOUNDER);
        let received = balance_row(&page, NEIGHBOUR);
        assert!(
            gave.contains("+2") && gave.contains("gave more than it received"),
            "{}: {gave}",
            node.proc.name
        );
        assert!(
            received.contains("\u{2212}2") && received.contains("received more than it gave"),
            "{}: {received}",
            node.proc.name
        );
        assert!(page.contains("<th scope=\"row\""), "rows are headed by the household");
    }

    // The ledger, for a French spreadsheet.
    let csv = neighbour.get_as("/echanges.csv", "fr-FR,fr").expect(200);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    let disposition = csv.header("content-disposition");
    assert!(disposition.starts_with("attachment"), "{disposition}");
    let body = csv.body;
    let mut lines = body.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("Date;Qui a donné;Qui a reçu;Montant;Unité;Quoi"));
    let row = lines.next().expect("the confirmed exchange");
    assert!(
        row.ends_with(";Ferme des Tilleuls;Les Écureuils;2;heure;Prêt de la perceuse"),
        "{row}"
    );
    assert_eq!(lines.next(), None, "one confirmed exchange, counted once");
}

#[test]
fn the_form_refuses_a_bad_exchange_next_to_the_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (founder, _neighbour, neighbour_id) = village(dir.path());
    let field_error = |page: &str, field: &str| -> String {
        let at = page
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error next to {field}: {}", text_of(page)));
        text_of(&page[at..at + page[at..].find("</p>").unwrap()])
    };

    let zero = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "give"),
                ("amount", "0"),
                ("what", "Œufs frais"),
            ],
        )
        .expect(422);
    assert!(field_error(&zero.body, "amount").contains("greater than 0"));
    assert!(zero.body.contains("aria-invalid=\"true\""));
    assert!(
        zero.body.contains("value=\"Œufs frais\""),
        "the villager's values come back"
    );

    let words = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "give"),
                ("amount", "deux"),
            ],
        )
        .expect(422);
    assert!(field_error(&words.body, "amount").contains("“deux” is not an amount"));

    let nobody = founder
        .post(
            "/echanges",
            &[("counterpart", ""), ("direction", "give"), ("amount", "1")],
        )
        .expect(422);
    assert!(field_error(&nobody.body, "counterpart").contains("Choose the household"));

    // Receiving 12 would take the founder to −12, past the limit of 10: the
    // household's own rule, shown next to the amount.
    let too_much = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "receive"),
                ("amount", "12"),
            ],
        )
        .expect(422);
    assert!(
        field_error(&too_much.body, "amount").contains("-10"),
        "{}",
        text_of(&too_much.body)
    );

    let list = founder.proc.json(&["exchange", "list"]);
    assert!(list.as_array().unwrap().is_empty(), "nothing was written: {list}");
}

#[test]
fn an_offer_prefills_the_form_and_the_exchange_answers_it() {
    let dir = tempfile::tempdir().unwrap();
    let (founder, neighbour, neighbour_id) = village(dir.path());
    let offer = neighbour.proc.json(&[
        "offer",
        "add",
        "--title",
        "Confiture de prunes",
        "--kind",
        "sell",
        "--price",
        "1.5",
    ]);
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    founder.proc.wait_for_offer("Confiture de prunes");

    let form = founder
        .get(&format!("/echanges/nouveau?offre={offer_id}"))
        .expect(200)
        .body;
    assert!(text_of(&form).contains("In answer to the offer “Confiture de prunes”, posted by Les Écureuils"));
    assert!(
        form.contains(&format!("<option value=\"{neighbour_id}\" selected")),
        "the owner is chosen"
    );
    assert!(
        form.contains("<option value=\"receive\" selected"),
        "the offer's owner gives"
    );
    assert!(form.contains(&format!("name=\"offer\" value=\"{offer_id}\"")));
    assert!(form.contains("value=\"1.50\""), "the offer's price");

    // Saying "I give" contradicts the offer: refused next to the direction.
    let contradicted = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "give"),
                ("amount", "1.50"),
                ("what", "Confiture de prunes"),
                ("offer", &offer_id),
            ],
        )
        .expect(422);
    assert!(
        contradicted.body.contains("id=\"direction-error\""),
        "{}",
        text_of(&contradicted.body)
    );

    let proposed = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "receive"),
                ("amount", "1,50"),
                ("what", ""),
                ("offer", &offer_id),
            ],
        )
        .expect(303);
    let id = exchange_id(&proposed);
    let page = text_of(&founder.get(&format!("/echanges/{id}")).expect(200).body);
    assert!(page.contains("Who gives Les Écureuils"), "{page}");
    assert!(page.contains("Who receives you (Ferme des Tilleuls)"), "{page}");
    assert!(page.contains("Amount 1.50 heures"), "{page}");
    assert!(page.contains("In answer to the offer Confiture de prunes"), "{page}");
}

#[test]
fn an_action_out_of_turn_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (founder, _neighbour, neighbour_id) = village(dir.path());
    let proposed = founder
        .post(
            "/echanges",
            &[
                ("counterpart", &neighbour_id),
                ("direction", "give"),
                ("amount", "3"),
                ("what", "Bois de chauffage"),
            ],
        )
        .expect(303);
    let id = exchange_id(&proposed);

    // The proposer cannot accept its own proposal, nor confirm before the
    // other household accepted: no button for it, and a forged form is refused.
    let page = founder.get(&format!("/echanges/{id}")).expect(200).body;
    assert!(!page.contains(&format!("/echanges/{id}/accepter")));
    assert!(
        page.contains(&format!("/echanges/{id}/annuler")),
        "the proposer may still cancel"
    );
    for action in ["accepter", "confirmer"] {
        let refused = founder.post(&format!("/echanges/{id}/{action}"), &[]).expect(409);
        let text = text_of(&refused.body);
        assert!(text.contains("Action refused"), "{text}");
        assert!(text.contains("this exchange is “proposed”"), "{text}");
        assert!(refused.body.contains("role=\"alert\""));
    }
    let french = founder.get_as(&format!("/echanges/{id}"), "fr").expect(200);
    assert!(french.body.contains("data-state=\"proposed\""), "nothing changed");

    founder.post(&format!("/echanges/{id}/annuler"), &[]).expect(303);
    let again = founder.post(&format!("/echanges/{id}/annuler"), &[]).expect(409);
    assert!(text_of(&again.body).contains("this exchange is “cancelled”"));
    founder.post("/echanges/nope/accepter", &[]).expect(404);
}

/// The ids of the exchange cards in `html`, in the order shown.
fn card_ids(html: &str) -> Vec<String> {
    html.split("<li class=\"card exchange\" data-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[test]
fn finished_exchanges_come_fifty_to_a_page_and_balances_count_them_all() {
    const EXCHANGES: usize = 55;
    let dir = tempfile::tempdir().unwrap();
    let bundle = |name: &str| dir.path().join(name);

    // Two households that meet through bundles, so that the exchanges are
    // written in process through the `Household` API (the operations the
    // page and the command line run) rather than by 165 commands.
    let founder = WebNode::init(dir.path(), FOUNDER);
    founder.ok(&["community", "create", "Les Granges"]);
    let code = founder.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let neighbour = WebNode::init(dir.path(), NEIGHBOUR);
    neighbour.ok(&["community", "join", &code]);
    let open = |proc: &procs::Proc| Household::open(Home::at(&proc.home)).unwrap();

    let mut theirs = open(&neighbour);
    theirs.export(&bundle("join.bundle"), None).unwrap();
    let mut ours = open(&founder);
    ours.import(&bundle("join.bundle")).unwrap();
    // The founder gives each time, 1, 2 or 3 hours.
    let amounts: Vec<i64> = (0..EXCHANGES as i64).map(|i| 100 * (1 + i % 3)).collect();
    let ids: Vec<DocId> = amounts
        .iter()
        .enumerate()
        .map(|(i, amount)| {
            ours.propose_exchange(
                theirs.id(),
                false,
                Amount(*amount),
                &format!("Panier de légumes n°{i}"),
                None,
            )
            .unwrap()
        })
        .collect();
    ours.export(&bundle("proposals.bundle"), None).unwrap();
    theirs.import(&bundle("proposals.bundle")).unwrap();
    for id in &ids {
        theirs.act_on_exchange(id, ExchangeAction::Accept).unwrap();
        theirs.act_on_exchange(id, ExchangeAction::Confirm).unwrap();
        // Each confirmed a little after the last: the history's order is known.
        std::thread::sleep(Duration::from_millis(3));
    }
    theirs.export(&bundle("confirmations.bundle"), None).unwrap();
    ours.import(&bundle("confirmations.bundle")).unwrap();
    drop((ours, theirs));
    let founder = WebNode::start(founder);
    let neighbour = WebNode::start(neighbour);

    // Most recently finished first: the last 50 confirmed, then the first 5.
    let newest_first: Vec<String> = ids.iter().rev().map(DocId::to_text).collect();
    let first = neighbour.get("/echanges").expect(200).body;
    let second = neighbour.get("/echanges?page=2").expect(200).body;
    let (first_done, second_done) = (section(&first, "termines"), section(&second, "termines"));
    assert_eq!(card_ids(first_done), newest_first[..50]);
    assert_eq!(card_ids(second_done), newest_first[50..]);
    for done in [first_done, second_done] {
        assert!(
            text_of(done).contains(&format!("Finished ({EXCHANGES})")),
            "{}",
            text_of(done)
        );
    }
    assert!(
        first_done.contains("href=\"/echanges?page=2#termines\" rel=\"next\""),
        "{first_done}"
    );
    assert!(!first_done.contains("rel=\"prev\""));
    assert!(
        second_done.contains("href=\"/echanges#termines\" rel=\"prev\""),
        "{second_done}"
    );
    assert!(!second_done.contains("rel=\"next\""));
    assert!(text_of(second_done).contains("Page 2 of 2"));
    // A page past the end (a bookmark from a longer history) shows the last.
    let past = neighbour.get("/echanges?page=9").expect(200).body;
    assert_eq!(card_ids(section(&past, "termines")), newest_first[50..]);

    // The balances count all 55, whichever page is shown.
    let given: i64 = amounts.iter().sum::<i64>() / 100;
    for page in [&first, &second] {
        assert!(
            balance_row(page, FOUNDER).contains(&format!("+{given}")),
            "{}",
            balance_row(page, FOUNDER)
        );
        assert!(balance_row(page, NEIGHBOUR).contains(&format!("\u{2212}{given}")));
    }
    let csv = neighbour.get("/echanges.csv").expect(200).body;
    assert_eq!(
        csv.lines().count(),
        1 + EXCHANGES,
        "the ledger holds every confirmed exchange"
    );

    // For the founder, each still waits for its own confirmation: what waits
    // for a household is never cut into pages.
    let founders = founder.get("/echanges").expect(200).body;
    let todo = section(&founders, "a-traiter");
    assert_eq!(card_ids(todo).len(), EXCHANGES);
    assert!(!todo.contains("class=\"pager\""));
    assert!(balance_row(&founders, FOUNDER).contains(&format!("+{given}")));
}
