//! The language of messages, and `--json` as one document on every command.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Home, Lang, one_json_document, refused, two_households};

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn messages_follow_lang_and_lang_flag_overrides() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);

    let english = stdout(&home.run_in(Lang::En, &["offer", "add", "--title", "Perceuse"]));
    assert!(english.contains("Offer posted"), "{english}");
    let french = stdout(&home.run_in(Lang::Fr, &["offer", "add", "--title", "Tondeuse"]));
    assert!(french.contains("Offre publiée"), "{french}");

    // --lang beats LANG, both ways.
    let forced = stdout(&home.run_in(Lang::Fr, &["--lang", "en", "offer", "add", "--title", "Vélo"]));
    assert!(forced.contains("Offer posted"), "{forced}");
    let forced = stdout(&home.run_in(Lang::En, &["--lang", "fr", "offer", "add", "--title", "Scie"]));
    assert!(forced.contains("Offre publiée"), "{forced}");

    // French is the default when the environment says nothing useful.
    let output = home
        .command(Lang::Fr, &["offer", "add", "--title", "Brouette"])
        .env_remove("LANG")
        .output()
        .unwrap();
    assert!(stdout(&output).contains("Offre publiée"));
    // LC_ALL wins over LANG, as with every other program.
    let output = home
        .command(Lang::Fr, &["offer", "add", "--title", "Pelle"])
        .env("LC_ALL", "en_GB.UTF-8")
        .output()
        .unwrap();
    assert!(stdout(&output).contains("Offer posted"));

    // Errors too.
    let output = home.run_in(Lang::En, &["offer", "show", "zzzzzz"]);
    let (_, line) = refused(&["offer", "show"], &output);
    assert!(line.starts_with("Error: "), "{line}");
    let output = home.run_in(Lang::Fr, &["offer", "show", "zzzzzz"]);
    let (_, line) = refused(&["offer", "show"], &output);
    assert!(line.starts_with("Erreur : "), "{line}");
    let output = home.run_in(Lang::Fr, &["--lang", "en", "offer", "show", "zzzzzz"]);
    let (_, line) = refused(&["offer", "show"], &output);
    assert!(line.starts_with("Error: "), "{line}");

    // Listings translate words, not data.
    let listing = stdout(&home.run_in(Lang::En, &["offer", "list"]));
    assert!(listing.contains("Perceuse") && listing.contains("open"), "{listing}");
    let listing = stdout(&home.run_in(Lang::Fr, &["offer", "list"]));
    assert!(listing.contains("Perceuse") && listing.contains("ouverte"), "{listing}");
}

#[test]
fn every_read_command_prints_one_json_document() {
    let (a, b) = two_households(None);
    a.add_offer("Perceuse à prêter", &["--category", "outils"]);
    b.ok(&[
        "request",
        "add",
        "--title",
        "Besoin d'une perceuse",
        "--category",
        "outils",
    ]);
    a.ok(&[
        "event",
        "add",
        "--title",
        "Atelier poterie",
        "--start",
        "2030-12-05 18:00",
    ]);
    a.import(&b.export("b.bundle"));
    a.ok(&["exchange", "propose", "--with", "Les Écureuils", "--amount", "1"]);

    let me = a.json(&["whoami"]);
    assert_eq!(me["name"], "Ferme des Tilleuls");
    assert!(me["household"].is_string(), "{me}");
    assert!(a.json(&["community", "list"]).is_array());
    assert_eq!(a.json(&["community", "members"]).as_array().unwrap().len(), 2);
    assert_eq!(a.json(&["offer", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(a.json(&["request", "list"]).as_array().unwrap().len(), 1);
    assert!(
        a.json(&[
            "event",
            "list",
            "--from",
            "2030-12-01 00:00",
            "--to",
            "2030-12-31 00:00"
        ])
        .is_array()
    );
    let exchanges = a.json(&["exchange", "list"]);
    assert_eq!(exchanges.as_array().unwrap().len(), 1);
    assert!(exchanges[0]["id"].is_string());
    assert!(a.json(&["balance"])["balances"].is_array());
    assert!(a.json(&["balance", "Les Écureuils"]).is_object());
    assert!(a.json(&["stats"]).is_object());
    let matches = a.json(&["match"]);
    assert!(
        matches.to_string().contains("Perceuse à prêter"),
        "the request for a drill meets the drill: {matches}"
    );
    assert!(a.json(&["device", "list"]).is_array());
    // With nothing to show, still one document (an empty list, not a sentence).
    let empty = b.json(&["offer", "list", "--search", "tracteur"]);
    assert_eq!(empty, serde_json::json!([]));
    // Writes answer in JSON too.
    assert!(a.json(&["offer", "add", "--title", "Scie"])["id"].is_string());
    assert!(a.json(&["export", a.file("x.bundle").to_str().unwrap()]).is_object());
}

#[test]
fn a_failing_command_with_json_prints_an_error_document() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    for (args, code) in [
        (&["--json", "offer", "show", "zzzzzz"][..], "unknown-id"),
        (&["--json", "offer", "add", "--title", ""][..], "invalid"),
        (
            &[
                "--json",
                "event",
                "add",
                "--title",
                "Loto",
                "--start",
                "2026-13-40 25:00",
            ][..],
            "invalid-date",
        ),
    ] {
        let output = home.run(args);
        refused(args, &output);
        let document = one_json_document(&String::from_utf8(output.stdout).unwrap());
        assert_eq!(document["code"], code, "{args:?}: {document}");
        assert!(document["error"].as_str().is_some_and(|e| !e.is_empty()), "{document}");
    }
    let fresh = Home::new();
    let args = ["--json", "offer", "list"];
    let output = fresh.run(&args);
    let (exit, _) = refused(&args, &output);
    assert_eq!(exit, 2);
    let document = one_json_document(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(document["code"], "not-initialised");
}

/// A French user reads French errors: no English sentence or word inside.
#[test]
fn errors_are_in_the_users_language() {
    let (a, b) = two_households(None);
    let offer = a.add_offer("Perceuse", &[]);
    b.import(&a.export("a.bundle"));
    let bundle = b.export("b.bundle");
    let mut damaged = std::fs::read(&bundle).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x20;
    let damaged_path = b.file("damaged.bundle");
    std::fs::write(&damaged_path, damaged).unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec!["offer".into(), "show".into(), "zzzzzz".into()],
        vec![
            "event".into(),
            "add".into(),
            "--title".into(),
            "Loto".into(),
            "--start".into(),
            "2026-13-40 25:00".into(),
        ],
        vec![
            "offer".into(),
            "add".into(),
            "--title".into(),
            "Vélo".into(),
            "--until".into(),
            "2020-01-01".into(),
        ],
        vec!["import".into(), damaged_path.to_str().unwrap().into()],
        vec!["offer".into(), "close".into(), offer[..8].to_owned()],
    ];
    let mut english = Vec::new();
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let home = if args[0] == "offer" && args[1] == "close" {
            &b
        } else {
            &a
        };
        let (_, line) = home.fail(&args);
        assert!(line.starts_with("Erreur : "), "{line}");
        let padded = format!(" {line} ");
        if [
            " the ",
            " is not ",
            "expected",
            " cannot ",
            " offer ",
            " it was ",
            " does not ",
        ]
        .iter()
        .any(|word| padded.contains(word))
        {
            english.push(format!("maillage {}  →  {line}", args.join(" ")));
        }
    }
    assert!(
        english.is_empty(),
        "English in French error messages:\n{}",
        english.join("\n")
    );
}
