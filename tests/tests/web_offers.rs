//! The offers and requests page, through HTTP as a browser uses it: post,
//! find, filter, edit, close and delete one's own items; see who posted the
//! others' and what may answer a request; never change a neighbour's item.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;
mod webnode;

use webnode::{WebNode, text_of};

/// The id in a `303` to an item's page.
fn created_id(answer: &webnode::Answer, base: &str) -> String {
    assert_eq!(answer.status, 303, "not created; body:\n{}", answer.body);
    let location = answer.location.as_deref().expect("a Location header");
    location
        .strip_prefix(&format!("{base}/"))
        .unwrap_or_else(|| panic!("{location} is not under {base}"))
        .to_owned()
}

/// The ids of the cards a list shows, in order.
fn card_ids(html: &str) -> Vec<String> {
    html.split("class=\"card item\" data-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

fn card_titles(node: &WebNode, path: &str) -> Vec<String> {
    let body = node.get(path).expect(200).body;
    body.split("<h2><a href=\"/")
        .skip(1)
        .filter_map(|rest| rest.split_once("\">").map(|(_, after)| after))
        .map(|after| after.split("</a>").next().unwrap().to_owned())
        .collect()
}

/// Two households of one community, each with its node and page.
fn neighbours(root: &std::path::Path) -> (WebNode, WebNode) {
    let founder = WebNode::founder(root, "Ferme des Tilleuls", "Les Granges");
    let code = founder.proc.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let proc = WebNode::init(root, "Moulin du Bas");
    proc.ok(&["community", "join", &code]);
    (founder, WebNode::start(proc))
}

#[test]
fn an_offer_posted_through_the_form_is_in_the_list_and_on_its_own_page() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let form = node.get("/offres/nouvelle").expect(200);
    for name in ["title", "description", "category", "kind", "place", "price", "until"] {
        assert!(form.body.contains(&format!("name=\"{name}\"")), "the form has {name}");
    }
    assert!(form.body.contains("type=\"date\""), "until is a date picker");

    let created = node.post(
        "/offres",
        &[
            ("title", "Confiture de prunes"),
            ("description", "Six pots de l'été dernier."),
            ("category", "Alimentation"),
            ("kind", "sell"),
            ("place", "Le Bourg"),
            ("price", "3,50"),
            ("until", "2099-06-30"),
        ],
    );
    let id = created_id(&created, "/offres");

    let list = node.get("/offres").expect(200).body;
    assert_eq!(card_ids(&list), std::slice::from_ref(&id));
    assert!(list.contains(&format!("<a href=\"/offres/{id}\">Confiture de prunes</a>")));
    assert!(text_of(&list).contains("1 offer"), "{}", text_of(&list));

    let page = text_of(&node.get(&format!("/offres/{id}")).expect(200).body);
    for shown in [
        "Confiture de prunes",
        "Six pots de l'été dernier.",
        "alimentation",
        "Le Bourg",
        "3.50",
        "2099-06-30",
    ] {
        assert!(page.contains(shown), "the page shows {shown:?}: {page}");
    }
    let french = text_of(&node.get_as(&format!("/offres/{id}"), "fr").body);
    assert!(french.contains("3,50") && french.contains("30/06/2099"), "{french}");

    // The command line sees the very same offer.
    let listed = node.proc.json(&["offer", "list"]);
    assert_eq!(listed[0]["id"].as_str(), Some(id.as_str()), "{listed}");
    assert_eq!(listed[0]["title"].as_str(), Some("Confiture de prunes"));
}

#[test]
fn an_offer_added_with_the_command_line_appears_in_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    assert!(text_of(&node.get("/offres").body).contains("No offers yet"));

    node.cli(&["offer", "add", "--title", "Bois de chauffage", "--kind", "give"]);
    node.cli(&["request", "add", "--title", "Un escabeau"]);

    assert_eq!(card_titles(&node, "/offres"), ["Bois de chauffage"]);
    assert_eq!(card_titles(&node, "/demandes"), ["Un escabeau"]);
    let list = text_of(&node.get("/offres").body);
    assert!(list.contains("By your household"), "{list}");
}

#[test]
fn search_finds_items_with_or_without_accents_and_says_when_nothing_matches() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    node.cli(&["offer", "add", "--title", "Poterie artisanale"]);
    node.cli(&["offer", "add", "--title", "Chaises pour l'Église"]);
    node.cli(&[
        "offer",
        "add",
        "--title",
        "Tondeuse",
        "--description",
        "Prête pour la fête du village",
    ]);

    assert_eq!(card_titles(&node, "/offres?q=poterie"), ["Poterie artisanale"]);
    assert_eq!(card_titles(&node, "/offres?q=POTERIE"), ["Poterie artisanale"]);
    assert_eq!(card_titles(&node, "/offres?q=eglise"), ["Chaises pour l'Église"]);
    assert_eq!(card_titles(&node, "/offres?q=%C3%A9glise"), ["Chaises pour l'Église"]);
    // The description is searched too.
    assert_eq!(card_titles(&node, "/offres?q=fete"), ["Tondeuse"]);

    let nothing = node.get("/offres?q=tracteur").expect(200).body;
    assert!(card_ids(&nothing).is_empty());
    assert!(text_of(&nothing).contains("No offer matches your search."));
    // The search box keeps what was typed.
    assert!(nothing.contains("value=\"tracteur\""));
}

#[test]
fn filters_narrow_the_list_by_category_kind_place_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let add = |title: &str, extra: &[&str]| {
        let mut args = vec!["offer", "add", "--title", title];
        args.extend_from_slice(extra);
        node.proc.json(&args)["id"].as_str().unwrap().to_owned()
    };
    add(
        "Perceuse",
        &["--category", "outils", "--kind", "lend", "--place", "Le Bourg"],
    );
    add(
        "Scie",
        &["--category", "Outils", "--kind", "give", "--place", "La Combe"],
    );
    add(
        "Poireaux",
        &[
            "--category",
            "jardin",
            "--kind",
            "sell",
            "--price",
            "2",
            "--place",
            "La Combe",
        ],
    );
    let closed = add("Brouette", &["--category", "jardin", "--kind", "lend"]);
    node.cli(&["offer", "close", &closed]);

    let list = node.get("/offres").expect(200).body;
    for name in ["category", "kind", "place", "state"] {
        assert!(
            list.contains(&format!("<select id=\"{name}\" name=\"{name}\"")),
            "a {name} menu"
        );
    }
    assert!(list.contains("role=\"search\"") && list.contains("id=\"q\" name=\"q\""));
    // The menus offer what the village's items use.
    assert!(list.contains("<option value=\"outils\">") && list.contains("<option value=\"La Combe\">"));

    let mut by_category = card_titles(&node, "/offres?category=outils");
    by_category.sort();
    assert_eq!(by_category, ["Perceuse", "Scie"]);
    assert_eq!(
        card_titles(&node, "/offres?kind=lend"),
        ["Perceuse"],
        "the closed loan is not current"
    );
    let mut by_place = card_titles(&node, "/offres?place=La+Combe");
    by_place.sort();
    assert_eq!(by_place, ["Poireaux", "Scie"]);
    assert_eq!(
        card_titles(&node, "/offres?category=jardin&place=La+Combe"),
        ["Poireaux"]
    );
    assert_eq!(card_titles(&node, "/offres?state=done"), ["Brouette"]);
    assert_eq!(card_titles(&node, "/offres?state=all").len(), 4);
    assert_eq!(card_titles(&node, "/offres?kind=lend&state=all").len(), 2);
    // The chosen filters stay selected.
    let filtered = node.get("/offres?kind=lend&state=all").body;
    assert!(filtered.contains("<option value=\"lend\" selected>"));
    assert!(filtered.contains("<option value=\"all\" selected>"));
}

#[test]
fn the_list_shows_fifty_items_a_page_with_links_to_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    // Each through the running node, as a villager's command line would.
    std::thread::scope(|scope| {
        for batch in 0..4 {
            let node = &node;
            scope.spawn(move || {
                for i in (batch * 15)..(batch * 15 + 15) {
                    node.cli(&[
                        "offer",
                        "add",
                        "--title",
                        &format!("Objet {i:02}"),
                        "--category",
                        "divers",
                    ]);
                }
            });
        }
    });

    let first = node.get("/offres").expect(200).body;
    assert_eq!(card_ids(&first).len(), 50);
    assert!(text_of(&first).contains("60 offers"));
    assert!(first.contains("<nav class=\"pager\" aria-label="));
    assert!(first.contains("href=\"/offres?page=2\""));

    let second = node.get("/offres?page=2").expect(200).body;
    assert_eq!(card_ids(&second).len(), 10);
    assert!(second.contains("href=\"/offres\""), "a link back to the first page");
    let mut all: Vec<String> = card_ids(&first).into_iter().chain(card_ids(&second)).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60, "every offer on exactly one page");

    // Filters are kept from page to page.
    let filtered = node.get("/offres?category=divers").body;
    assert!(filtered.contains("href=\"/offres?category=divers&amp;page=2\""));
    assert!(text_of(&node.get_as("/offres", "fr").body).contains("60 offres"));
}

#[test]
fn an_invalid_title_comes_back_next_to_its_field_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let refused = node.post(
        "/offres",
        &[
            ("title", "   "),
            ("description", "Des œufs du jour"),
            ("place", "Le Bourg"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"title-error\""),
        "the error is next to the title"
    );
    assert!(refused.body.contains("aria-invalid=\"true\""));
    assert!(text_of(&refused.body).contains("must not be empty"));
    // What was typed is still there.
    assert!(refused.body.contains("Des œufs du jour") && refused.body.contains("value=\"Le Bourg\""));

    let too_long = "x".repeat(121);
    let refused = node.post("/offres", &[("title", &too_long)]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"title-error\""));

    // A sale needs a price (the crdt rule), and a price must be one.
    let refused = node.post("/offres", &[("title", "Miel"), ("kind", "sell")]);
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("id=\"price-error\""),
        "{}",
        text_of(&refused.body)
    );
    let refused = node.post("/offres", &[("title", "Miel"), ("kind", "sell"), ("price", "beaucoup")]);
    assert_eq!(refused.status, 422);
    assert!(text_of(&refused.body).contains("“beaucoup” is not a price"));
    let refused = node.post("/offres", &[("title", "Miel"), ("until", "2001-01-01")]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"until-error\""));

    let refused = node.post("/demandes", &[("title", "")]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"title-error\""));

    let offers = node.proc.json(&["offer", "list", "--all"]);
    let requests = node.proc.json(&["request", "list", "--all"]);
    assert_eq!(offers.as_array().unwrap().len(), 0, "nothing was written: {offers}");
    assert_eq!(requests.as_array().unwrap().len(), 0, "nothing was written: {requests}");
}

#[test]
fn the_owner_edits_closes_and_deletes_an_offer() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let id = created_id(
        &node.post(
            "/offres",
            &[("title", "Vélo enfant"), ("kind", "give"), ("place", "La Combe")],
        ),
        "/offres",
    );
    let path = format!("/offres/{id}");

    let page = node.get(&path).expect(200).body;
    assert!(page.contains(&format!("href=\"{path}/modifier\"")));
    assert!(page.contains(&format!("action=\"{path}/fermer\"")));
    assert!(page.contains(&format!("action=\"{path}/supprimer\"")) && page.contains("data-confirm="));
    assert!(page.contains(&format!("href=\"/echanges/nouveau?offre={id}\"")));

    let form = node.get(&format!("{path}/modifier")).expect(200).body;
    assert!(form.contains("value=\"Vélo enfant\"") && form.contains("value=\"La Combe\""));

    // A refused edit keeps the offer as it was.
    let refused = node.post(&path, &[("title", ""), ("kind", "give")]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("id=\"title-error\""));
    let saved = node.post(
        &path,
        &[("title", "Vélo enfant 16 pouces"), ("kind", "lend"), ("place", "")],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some(path.as_str()));
    let shown = text_of(&node.get(&path).body);
    assert!(
        shown.contains("Vélo enfant 16 pouces") && shown.contains("lend"),
        "{shown}"
    );
    assert!(!shown.contains("La Combe"), "the place was cleared: {shown}");

    let closed = node.post(&format!("{path}/fermer"), &[]);
    assert_eq!(closed.status, 303);
    assert!(text_of(&node.get(&path).body).contains("done"));
    assert!(
        card_ids(&node.get("/offres").body).is_empty(),
        "a closed offer is not current"
    );
    assert_eq!(
        card_ids(&node.get("/offres?state=done").body),
        std::slice::from_ref(&id)
    );

    let deleted = node.post(&format!("{path}/supprimer"), &[]);
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location.as_deref(), Some("/offres"));
    node.get(&path).expect(404);
    assert!(card_ids(&node.get("/offres?state=all").body).is_empty());
    let offers = node.proc.json(&["offer", "list", "--all"]);
    assert_eq!(offers.as_array().unwrap().len(), 0, "{offers}");
}

#[test]
fn an_unknown_item_is_a_not_found_page() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let request = node.proc.json(&["request", "add", "--title", "Un escabeau"])["id"]
        .as_str()
        .unwrap()
        .to_owned();

    node.get("/offres/nimportequoi").expect(404);
    // A request is not an offer.
    node.get(&format!("/offres/{request}")).expect(404);
    node.get(&format!("/demandes/{request}")).expect(200);
    let refused = node.post(&format!("/offres/{request}/fermer"), &[]);
    assert_eq!(refused.status, 404);
}

#[test]
fn a_neighbours_offer_shows_who_posted_it_and_cannot_be_changed_through_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let (founder, neighbour) = neighbours(dir.path());
    let id = neighbour
        .proc
        .json(&["offer", "add", "--title", "Remorque", "--kind", "lend"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    founder.proc.wait_for_offer("Remorque");
    let path = format!("/offres/{id}");

    let list = text_of(&founder.get("/offres").body);
    assert!(list.contains("Offered by Moulin du Bas"), "{list}");
    let page = founder.get(&path).expect(200).body;
    assert!(text_of(&page).contains("Moulin du Bas"));
    assert!(!page.contains("/modifier") && !page.contains("/fermer") && !page.contains("/supprimer"));
    assert!(page.contains(&format!("href=\"/echanges/nouveau?offre={id}\"")));

    let refused = founder.get(&format!("{path}/modifier"));
    assert_eq!(refused.status, 403);
    assert!(
        text_of(&refused.body).contains("only the household that posted"),
        "{}",
        text_of(&refused.body)
    );
    for action in ["", "/fermer", "/supprimer"] {
        let refused = founder.post(&format!("{path}{action}"), &[("title", "Volée")]);
        assert_eq!(refused.status, 403, "{action}: {}", refused.body);
        assert!(text_of(&refused.body).contains("only the household that posted"));
    }
    let shown = founder.proc.json(&["offer", "show", &id]);
    assert_eq!(shown["offer"]["title"].as_str(), Some("Remorque"), "{shown}");
    assert_eq!(shown["state"].as_str(), Some("open"));
}

#[test]
fn a_request_shows_the_neighbours_offers_that_may_answer_it() {
    let dir = tempfile::tempdir().unwrap();
    let (founder, neighbour) = neighbours(dir.path());
    let drill = neighbour.proc.json(&[
        "offer",
        "add",
        "--title",
        "Perceuse à percussion",
        "--category",
        "outils",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    neighbour.cli(&["offer", "add", "--title", "Confiture", "--category", "alimentation"]);
    founder.proc.wait_for_offer("Perceuse à percussion");
    founder.proc.wait_for_offer("Confiture");

    let request = created_id(
        &founder.post(
            "/demandes",
            &[("title", "Besoin d'une perceuse"), ("category", "bricolage")],
        ),
        "/demandes",
    );
    let page = founder.get(&format!("/demandes/{request}")).expect(200).body;
    let text = text_of(&page);
    assert!(text.contains("Offers that may answer it"), "{text}");
    assert!(page.contains(&format!("<a href=\"/offres/{drill}\">Perceuse à percussion</a>")));
    assert!(!text.contains("Confiture"), "only what may answer: {text}");
    assert!(page.contains(&format!("href=\"/echanges/nouveau?demande={request}\"")));

    // And the other way round, from the offer.
    let offer_page = founder.get(&format!("/offres/{drill}")).expect(200).body;
    assert!(text_of(&offer_page).contains("Requests it may answer"));
    assert!(offer_page.contains(&format!("<a href=\"/demandes/{request}\">Besoin d'une perceuse</a>")));
}

#[test]
fn a_household_in_no_community_yet_is_told_where_to_begin() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::start(WebNode::init(dir.path(), "Ferme des Tilleuls"));

    let list = node.get("/offres").expect(200).body;
    assert!(text_of(&list).contains("not in a community yet"), "{}", text_of(&list));
    assert!(list.contains("href=\"/communaute\""));
    let form = node.get("/offres/nouvelle").expect(200).body;
    assert!(text_of(&form).contains("not in a community yet"));

    let refused = node.post("/offres", &[("title", "Œufs frais")]);
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("value=\"Œufs frais\""), "what was typed stays");
    assert!(refused.body.contains("class=\"error-summary\""));
}

/// The edit form shows the current price and expiry; emptying them removes
/// them, and a sale left without a price is refused next to the field.
#[test]
fn an_emptied_price_or_expiry_on_the_edit_form_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let id = created_id(
        &node.post(
            "/offres",
            &[
                ("title", "Confiture de prunes"),
                ("kind", "sell"),
                ("price", "3.50"),
                ("until", "2099-06-30"),
            ],
        ),
        "/offres",
    );
    let path = format!("/offres/{id}");
    let page = text_of(&node.get(&path).expect(200).body);
    assert!(page.contains("3.50") && page.contains("2099-06-30"), "{page}");

    let form = node.get(&format!("{path}/modifier")).expect(200).body;
    assert!(
        form.contains("value=\"3.50\"") && form.contains("value=\"2099-06-30\""),
        "the form shows the current price and expiry"
    );
    assert!(
        text_of(&form).contains("empty the field to remove the price"),
        "{}",
        text_of(&form)
    );

    // Still a sale: the price is required, said next to its field, and
    // nothing changes.
    let refused = node.post(
        &path,
        &[
            ("title", "Confiture de prunes"),
            ("kind", "sell"),
            ("price", ""),
            ("until", "2099-06-30"),
            ("until_was", "2099-06-30"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"price-error\""),
        "{}",
        text_of(&refused.body)
    );
    assert!(text_of(&node.get(&path).body).contains("3.50"));

    // Given away, with no end date.
    let saved = node.post(
        &path,
        &[
            ("title", "Confiture de prunes"),
            ("kind", "give"),
            ("price", ""),
            ("until", ""),
            ("until_was", "2099-06-30"),
        ],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = node.get(&path).expect(200).body;
    let shown = text_of(&page);
    assert!(!shown.contains("3.50"), "the price is gone: {shown}");
    assert!(!shown.contains("2099"), "the expiry is gone: {shown}");
    assert!(!shown.contains("Price"), "no price line at all: {shown}");
    let offer = node.proc.json(&["offer", "show", &id])["offer"].clone();
    assert!(offer["price"].is_null() && offer["until"].is_null(), "{offer}");

    // An expiry left as shown is kept while the price is set again.
    node.post(
        &path,
        &[
            ("title", "Confiture de prunes"),
            ("kind", "sell"),
            ("price", "2"),
            ("until", "2099-07-14"),
            ("until_was", ""),
        ],
    );
    let saved = node.post(
        &path,
        &[
            ("title", "Confiture de prunes maison"),
            ("kind", "sell"),
            ("price", "2.00"),
            ("until", "2099-07-14"),
            ("until_was", "2099-07-14"),
        ],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shown = text_of(&node.get(&path).body);
    assert!(
        shown.contains("Price 2 heure") && shown.contains("2099-07-14"),
        "{shown}"
    );
}
