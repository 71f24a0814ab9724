//! One household on its own: the issue's walkthrough, what survives a
//! restart, editing, closing, deleting and searching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Home, date_in, id_of, titles};

/// The walkthrough of the issue, command by command.
#[test]
fn walkthrough_from_the_issue() {
    let home = Home::new();
    let out = home.ok(&["init", "--name", "Ferme des Tilleuls", "--place", "Les Granges"]);
    assert!(out.contains("Ferme des Tilleuls"), "init says who was set up: {out}");
    let out = home.ok(&["community", "create", "Saint-Martin-de-Vers"]);
    assert!(out.contains("Saint-Martin-de-Vers"), "{out}");

    let drill = id_of(&home.json(&[
        "offer",
        "add",
        "--title",
        "Perceuse à prêter",
        "--category",
        "outils",
        "--kind",
        "lend",
        "--description",
        "Perceuse à percussion, avec mèches béton.",
    ]));
    let ride = id_of(&home.json(&[
        "request",
        "add",
        "--title",
        "Covoiturage pour Cahors mardi",
        "--category",
        "transport",
    ]));
    let (year, month, day) = date_in(20);
    let date = format!("{year:04}-{month:02}-{day:02}");
    let event = id_of(&home.json(&[
        "event",
        "add",
        "--title",
        "Atelier poterie",
        "--start",
        &format!("{date} 18:00"),
        "--end",
        &format!("{date} 20:00"),
        "--place",
        "Salle des fêtes",
    ]));
    assert!(drill != ride && ride != event);

    // A second offer in another category, to see the filter at work.
    home.add_offer("Confiture de prunes", &["--category", "alimentation"]);

    let listing = home.ok(&["offer", "list", "--category", "outils"]);
    assert!(listing.contains("Perceuse à prêter"), "{listing}");
    assert!(
        listing.contains(&drill[..8]),
        "the listing shows the short id: {listing}"
    );
    assert!(
        !listing.contains("Confiture"),
        "--category outils shows only tools: {listing}"
    );
    // Categories are typed by people: case and accents should not matter.
    let listing = home.ok(&["offer", "list", "--category", "Outils"]);
    assert!(listing.contains("Perceuse à prêter"), "--category Outils: {listing}");

    let requests = home.ok(&["request", "list"]);
    assert!(requests.contains("Covoiturage pour Cahors mardi"), "{requests}");

    let events = home.ok(&["event", "list"]);
    assert!(
        events.contains("Atelier poterie"),
        "the upcoming event is listed: {events}"
    );
    assert!(events.contains("Salle des fêtes"), "{events}");

    let ics = home.ok(&["event", "ics"]);
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics:?}");
    assert!(ics.contains("\r\nBEGIN:VEVENT\r\n"), "{ics:?}");
    assert!(ics.contains("\r\nSUMMARY:Atelier poterie\r\n"), "{ics:?}");
    let dtstart = format!("\r\nDTSTART;TZID=Europe/Paris:{year:04}{month:02}{day:02}T180000\r\n");
    assert!(ics.contains(&dtstart), "expected {dtstart:?} in {ics:?}");
    let dtend = format!("\r\nDTEND;TZID=Europe/Paris:{year:04}{month:02}{day:02}T200000\r\n");
    assert!(ics.contains(&dtend), "expected {dtend:?} in {ics:?}");
    assert!(ics.contains("LOCATION:Salle des fêtes"), "{ics:?}");
    assert!(ics.trim_end().ends_with("END:VCALENDAR"), "{ics:?}");
    for (number, line) in ics.split('\n').enumerate() {
        if !line.is_empty() {
            assert!(line.ends_with('\r'), "ICS line {number} does not end in CRLF: {line:?}");
        }
    }

    let offers = home.json(&["offer", "list", "--category", "outils"]);
    let offers = offers.as_array().expect("--json offer list is one JSON array");
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["title"], "Perceuse à prêter");
    assert_eq!(offers[0]["id"].as_str(), Some(drill.as_str()), "ids are text");
    assert_eq!(offers[0]["category"], "outils");
    assert_eq!(offers[0]["offer_kind"], "lend");
    assert_eq!(offers[0]["state"], "open");
}

/// Every command is a new process: what one wrote, the next one reads.
/// Also: ids by short prefix, edit, close and delete as listings show them.
#[test]
fn what_is_written_survives_restarts_and_edits_show_in_listings() {
    let home = Home::new();
    home.ok(&["init", "--name", "Ferme des Tilleuls", "--place", "Les Granges"]);
    home.ok(&["community", "create", "Saint-Martin-de-Vers", "--unit", "heure"]);
    let drill = home.add_offer("Perceuse à prêter", &["--category", "outils", "--kind", "lend"]);
    let jam = home.add_offer("Confiture de prunes", &["--category", "alimentation"]);
    let ladder = home.add_offer("Échelle de 3 mètres", &["--category", "outils"]);
    let request = id_of(&home.json(&["request", "add", "--title", "Cherche bois de chauffage"]));

    let me = home.json(&["whoami"]);
    assert_eq!(me["name"], "Ferme des Tilleuls");
    assert_eq!(me["place"], "Les Granges");
    let communities = home.json(&["community", "list"]);
    assert_eq!(communities[0]["name"], "Saint-Martin-de-Vers", "{communities}");
    let mut open = titles(&home.json(&["offer", "list"]));
    open.sort();
    assert_eq!(
        open,
        ["Confiture de prunes", "Perceuse à prêter", "Échelle de 3 mètres"]
    );
    assert_eq!(titles(&home.json(&["request", "list"])), ["Cherche bois de chauffage"]);

    // `show` by the first 6 characters.
    let shown = home.ok(&["offer", "show", &drill[..6]]);
    assert!(shown.contains("Perceuse à prêter"), "{shown}");
    let shown = home.json(&["offer", "show", &drill[..6]]);
    assert_eq!(shown["id"].as_str(), Some(drill.as_str()));
    assert_eq!(shown["state"], "open");
    let shown = home.json(&["request", "show", &request[..6]]);
    assert_eq!(shown["request"]["title"], "Cherche bois de chauffage");

    // Edit.
    home.ok(&[
        "offer",
        "edit",
        &drill[..6],
        "--title",
        "Perceuse Bosch à prêter",
        "--place",
        "Les Granges",
    ]);
    let shown = home.json(&["offer", "show", &drill]);
    assert_eq!(shown["offer"]["title"], "Perceuse Bosch à prêter");
    assert_eq!(shown["offer"]["place"], "Les Granges");
    assert_eq!(shown["offer"]["kind"], "lend", "fields not given are kept");
    assert!(titles(&home.json(&["offer", "list"])).contains(&"Perceuse Bosch à prêter".to_owned()));

    // Close: gone from the default listing, still there with --all as done.
    home.ok(&["offer", "close", &jam[..6]]);
    let open = titles(&home.json(&["offer", "list"]));
    assert!(!open.contains(&"Confiture de prunes".to_owned()), "{open:?}");
    let all = home.json(&["offer", "list", "--all"]);
    let closed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"].as_str() == Some(jam.as_str()))
        .expect("a closed offer is listed with --all");
    assert_eq!(closed["state"], "done");
    assert_eq!(home.json(&["offer", "show", &jam])["state"], "done");
    // Closing a request fulfils it.
    home.ok(&["request", "close", &request[..6]]);
    assert!(titles(&home.json(&["request", "list"])).is_empty());
    assert_eq!(home.json(&["request", "show", &request])["state"], "fulfilled");

    // Delete: gone everywhere, its content erased.
    home.ok(&["offer", "delete", &ladder[..6]]);
    for args in [&["offer", "list"][..], &["offer", "list", "--all"][..]] {
        let listing = home.json(args);
        assert!(
            !listing.to_string().contains("Échelle"),
            "a deleted offer is not listed ({args:?}): {listing}"
        );
    }
    let shown = home.json(&["offer", "show", &ladder]);
    assert_eq!(shown["state"], "withdrawn", "{shown}");
    assert_eq!(shown["offer"]["title"], "", "a deleted offer keeps no title: {shown}");
    let text = home.ok(&["offer", "show", &ladder]);
    assert!(!text.contains("Échelle"), "{text}");

    // And once more from fresh processes, everything is as left.
    let all = home.json(&["offer", "list", "--all"]);
    let mut seen: Vec<(String, String)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["title"].as_str().unwrap().to_owned(),
                o["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("Confiture de prunes".to_owned(), "done".to_owned()),
            ("Perceuse Bosch à prêter".to_owned(), "open".to_owned()),
        ]
    );
}

/// `--search` ignores case and accents, both ways.
#[test]
fn search_ignores_case_and_accents() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    home.add_offer("Atelier de Poterie", &["--category", "loisirs", "--kind", "service"]);
    home.add_offer("Nettoyage autour de l'Église", &["--kind", "service"]);
    home.add_offer("Vélo d'enfant", &["--description", "roues de 16 pouces"]);
    home.ok(&["request", "add", "--title", "Cours de poterie pour débutants"]);

    let found = |args: &[&str]| {
        let mut all = vec!["offer", "list"];
        all.extend_from_slice(args);
        titles(&home.json(&all))
    };
    assert_eq!(found(&["--search", "poterie"]), ["Atelier de Poterie"]);
    assert_eq!(found(&["--search", "POTERIE"]), ["Atelier de Poterie"]);
    assert_eq!(found(&["--search", "eglise"]), ["Nettoyage autour de l'Église"]);
    assert_eq!(found(&["--search", "ÉGLISE"]), ["Nettoyage autour de l'Église"]);
    assert_eq!(found(&["--search", "velo"]), ["Vélo d'enfant"]);
    // The description counts too.
    assert_eq!(found(&["--search", "pouces"]), ["Vélo d'enfant"]);
    assert!(found(&["--search", "tracteur"]).is_empty());
    // Requests are searched on their own.
    assert_eq!(
        titles(&home.json(&["request", "list", "--search", "Poterie"])),
        ["Cours de poterie pour débutants"]
    );
    let text = home.ok(&["offer", "list", "--search", "eglise"]);
    assert!(text.contains("Église"), "{text}");
    assert!(!text.contains("Poterie"), "{text}");
}

/// `edit --no-price` / `--no-until`: an offer first sold with an end date
/// is then given away for as long as it stands; neither comes back.
#[test]
fn edit_removes_a_price_and_an_expiry() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let jam = home.add_offer(
        "Confiture de prunes",
        &["--kind", "sell", "--price", "3,50", "--until", "7d"],
    );
    let shown = home.json(&["offer", "show", &jam]);
    assert_eq!(shown["offer"]["price"], 350, "{shown}");
    assert!(shown["offer"]["until"].is_i64(), "{shown}");

    // Both at once is a contradiction clap refuses, writing nothing.
    let both = home.run(&["offer", "edit", &jam, "--price", "2", "--no-price"]);
    assert!(!both.status.success());
    let said = String::from_utf8_lossy(&both.stderr);
    assert!(said.contains("--no-price") && said.contains("--price"), "{said}");
    let both = home.run(&["offer", "edit", &jam, "--until", "2d", "--no-until"]);
    assert!(!both.status.success());
    assert_eq!(home.json(&["offer", "show", &jam])["offer"]["price"], 350);

    // A sale cannot lose its price: refused, naming the price.
    let (code, line) = home.fail(&["offer", "edit", &jam, "--no-price"]);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains("Prix : "),
        "the refusal names the price, in French: {line}"
    );

    home.ok(&["offer", "edit", &jam, "--kind", "give", "--no-price", "--no-until"]);
    let shown = home.json(&["offer", "show", &jam]);
    assert!(shown["offer"]["price"].is_null(), "the price is gone: {shown}");
    assert!(shown["offer"]["until"].is_null(), "the expiry is gone: {shown}");
    assert_eq!(shown["offer"]["kind"], "give");
    let listed = home.json(&["offer", "list"]);
    assert_eq!(listed[0]["id"].as_str(), Some(jam.as_str()), "{listed}");
    assert!(listed[0]["until"].is_null(), "the listing shows no expiry: {listed}");
    assert!(listed[0].get("price").is_none_or(|price| price.is_null()), "{listed}");
    let text = home.ok(&["offer", "show", &jam]);
    assert!(!text.contains("3,50") && !text.contains("3.50"), "{text}");

    // An edit that does not mention them leaves them alone; --no-expiry is
    // another name for --no-until.
    home.ok(&["offer", "edit", &jam, "--kind", "sell", "--price", "2", "--until", "3d"]);
    home.ok(&["offer", "edit", &jam, "--title", "Confiture de prunes maison"]);
    let shown = home.json(&["offer", "show", &jam]);
    assert_eq!(shown["offer"]["price"], 200, "{shown}");
    assert!(shown["offer"]["until"].is_i64(), "{shown}");
    home.ok(&["offer", "edit", &jam, "--no-expiry"]);
    assert!(home.json(&["offer", "show", &jam])["offer"]["until"].is_null());

    // A request's expiry too.
    let wood = id_of(&home.json(&[
        "request",
        "add",
        "--title",
        "Cherche bois de chauffage",
        "--until",
        "5d",
    ]));
    home.ok(&["request", "edit", &wood, "--no-until"]);
    let shown = home.json(&["request", "show", &wood]);
    assert!(shown["request"]["until"].is_null(), "{shown}");
}
