//! Bad input of every kind: refused with a non-zero exit, one plain line on
//! stderr that says what is wrong, and nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Home, Lang, id_of, refused, titles, two_households};

/// A household in a community with one offer, one request and one event.
fn village() -> (Home, String) {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let offer = home.add_offer("Perceuse à prêter", &["--category", "outils", "--kind", "lend"]);
    home.ok(&["request", "add", "--title", "Covoiturage pour Cahors"]);
    home.ok(&[
        "event",
        "add",
        "--title",
        "Atelier poterie",
        "--start",
        "2030-12-05 18:00",
    ]);
    (home, offer)
}

#[test]
fn an_unknown_id_is_named() {
    let (home, offer) = village();
    let before = home.snapshot();
    let (code, line) = home.fail(&["offer", "show", "zzzzzz"]);
    assert_eq!(code, 1);
    assert!(line.contains("zzzzzz"), "{line}");
    for args in [
        &["offer", "close", "zzzzzz"][..],
        &["offer", "edit", "zzzzzz", "--title", "x"][..],
        &["offer", "delete", "zzzzzz"][..],
        &["request", "show", "zzzzzz"][..],
        &["exchange", "accept", "zzzzzz"][..],
        &["event", "rsvp", "zzzzzz", "yes"][..],
        // Not even a possible id.
        &["offer", "show", "not-an-id!"][..],
    ] {
        let (_, line) = home.fail(args);
        assert!(
            line.contains("zzzzzz") || line.contains("not-an-id!"),
            "{args:?}: {line}"
        );
    }
    // An offer's id is not a request's.
    home.fail(&["request", "close", &offer[..8]]);
    assert_eq!(home.snapshot(), before, "refused commands changed the store");
}

#[test]
fn an_ambiguous_id_lists_the_candidates() {
    let (home, first) = village();
    let mut ids = vec![first];
    let (one, two) = loop {
        let id = home.add_offer(&format!("Offre numéro {}", ids.len()), &[]);
        if let Some(other) = ids.iter().find(|other| other[..1] == id[..1]) {
            break (other.clone(), id);
        }
        ids.push(id);
        assert!(ids.len() < 60, "60 ids and no two share a first character?");
    };
    let before = home.snapshot();
    let (code, line) = home.fail(&["offer", "show", &one[..1]]);
    assert_eq!(code, 1);
    assert!(
        line.contains(&one[..8]) && line.contains(&two[..8]),
        "candidates are named: {line}"
    );
    let output = home.run_in(Lang::En, &["offer", "close", &one[..1]]);
    let (_, line) = refused(&["offer", "close"], &output);
    assert!(line.contains("several"), "{line}");
    home.fail(&["offer", "delete", &one[..1]]);
    assert_eq!(home.snapshot(), before, "refused commands changed the store");
}

#[test]
fn an_impossible_date_is_refused() {
    let (home, _) = village();
    let before = home.snapshot();
    for start in [
        "2026-13-40 25:00",
        "2030-02-30 18:00",
        "demain soir",
        "2030-12-05 18:61",
    ] {
        let (code, line) = home.fail(&["event", "add", "--title", "Loto", "--start", start]);
        assert_eq!(code, 1);
        assert!(line.contains(start), "the message quotes what was typed: {line}");
    }
    let (_, line) = home.fail(&[
        "event",
        "add",
        "--title",
        "Loto",
        "--start",
        "2030-12-05 18:00",
        "--end",
        "2030-12-05 28:00",
    ]);
    assert!(line.contains("28:00"), "{line}");
    home.fail(&[
        "event",
        "add",
        "--title",
        "Loto",
        "--start",
        "2030-12-05 18:00",
        "--repeat",
        "FREQ=SOMETIMES",
    ]);
    assert_eq!(home.snapshot(), before, "refused commands changed the store");
}

#[test]
fn an_until_in_the_past_or_not_a_date_is_refused() {
    let (home, offer) = village();
    let before = home.snapshot();
    for until in ["2020-01-01", "hier", "2030-13-01", "-3d"] {
        let flag = format!("--until={until}");
        let (_, line) = home.fail(&["offer", "add", "--title", "Vélo", &flag]);
        assert!(line.contains(until), "{line}");
        home.fail(&["request", "add", "--title", "Vélo", &flag]);
        home.fail(&["offer", "edit", &offer[..8], &flag]);
    }
    assert_eq!(home.snapshot(), before, "refused commands changed the store");
    // A date to come is fine.
    home.ok(&["offer", "add", "--title", "Vélo", "--until", "2030-01-01"]);
    home.ok(&["offer", "add", "--title", "Tondeuse", "--until", "2w"]);
    assert_eq!(home.json(&["offer", "list"]).as_array().unwrap().len(), 3);
}

#[test]
fn a_title_too_long_or_empty_is_refused() {
    let (home, offer) = village();
    let before = home.snapshot();
    let long = "é".repeat(121);
    let (code, line) = home.fail(&["offer", "add", "--title", &long]);
    assert_eq!(code, 1);
    assert!(
        line.contains("120") && line.contains("121"),
        "limit and length are given: {line}"
    );
    home.fail(&["request", "add", "--title", &long]);
    home.fail(&["offer", "edit", &offer[..8], "--title", &long]);
    home.fail(&["event", "add", "--title", &long, "--start", "2030-12-05 18:00"]);
    for empty in ["", "   "] {
        let output = home.run_in(Lang::En, &["offer", "add", "--title", empty]);
        let (_, line) = refused(&["offer", "add", "--title", empty], &output);
        assert!(line.contains("Title: "), "the refusal names the field: {line}");
        home.fail(&["request", "add", "--title", empty]);
        home.fail(&["event", "add", "--title", empty, "--start", "2030-12-05 18:00"]);
    }
    home.fail(&["offer", "add", "--category", "outils"]);
    assert_eq!(home.snapshot(), before, "refused commands changed the store");
    // Exactly at the limit is fine.
    let just = "é".repeat(120);
    home.ok(&["offer", "add", "--title", &just]);
    assert!(titles(&home.json(&["offer", "list"])).contains(&just));
}

#[test]
fn nothing_works_before_init_and_the_message_says_to_run_init() {
    let home = Home::new();
    for args in [
        &["offer", "add", "--title", "Perceuse"][..],
        &["offer", "list"][..],
        &["whoami"][..],
        &["community", "create", "Saint-Martin-de-Vers"][..],
    ] {
        let (code, line) = home.fail(args);
        assert_eq!(code, 2, "{args:?}: {line}");
        assert!(line.contains("maillage init"), "{args:?}: {line}");
    }
    assert!(!home.key_file().exists(), "a refused command must not set up the home");
    assert!(!home.store_file().exists(), "a refused command must not create a store");
    // English too.
    let output = home.run_in(Lang::En, &["offer", "add", "--title", "Perceuse"]);
    let (code, line) = refused(&["offer", "add"], &output);
    assert_eq!(code, 2);
    assert!(line.contains("maillage init"), "{line}");
}

#[test]
fn a_bundle_from_a_household_that_never_joined_is_refused() {
    let (a, _) = village();
    let d = Home::founder("Les Étrangers", "Autre Village", None);
    d.add_offer("Offre d'un inconnu", &[]);
    let bundle = d.export("d.bundle");
    let e = Home::new();
    e.ok(&["init", "--name", "Sans Communauté"]);
    let lonely = e.export("e.bundle");
    let before = a.snapshot();
    let output = a.run_in(Lang::En, &["import", bundle.to_str().unwrap()]);
    let (code, line) = refused(&["import"], &output);
    assert_eq!(code, 1);
    assert!(line.contains("refused"), "{line}");
    // A household with no community at all neither.
    a.fail(&["import", lonely.to_str().unwrap()]);
    assert_eq!(a.snapshot(), before, "a refused bundle changed the store");
    assert!(!a.json(&["offer", "list", "--all"]).to_string().contains("inconnu"));
}

#[test]
fn a_bundle_with_one_flipped_byte_is_refused_whole() {
    let (a, b) = two_households(None);
    b.add_offer("Tondeuse à prêter", &["--category", "jardin"]);
    let bundle = b.export("b.bundle");
    let bytes = std::fs::read(&bundle).unwrap();
    let length = bytes.len();
    let before = a.snapshot();
    for (name, at) in [("middle", length / 2), ("near-end", length - 3), ("start", 1)] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x20;
        let path = b.file(&format!("{name}.bundle"));
        std::fs::write(&path, &damaged).unwrap();
        a.fail(&["import", path.to_str().unwrap()]);
    }
    let cut = b.file("cut.bundle");
    std::fs::write(&cut, &bytes[..length / 2]).unwrap();
    a.fail(&["import", cut.to_str().unwrap()]);
    let missing = b.file("missing.bundle");
    a.fail(&["import", missing.to_str().unwrap()]);
    assert_eq!(a.snapshot(), before, "a refused bundle changed the store");
    // The intact bundle is taken: the refusals above were about the damage.
    a.import(&bundle);
    assert!(titles(&a.json(&["offer", "list"])).contains(&"Tondeuse à prêter".to_owned()));
}

/// Replaces `len` bytes at `offset` within the key file's secret by `with`
/// (by a different hex digit when `with` is empty), keeping the file's mode.
fn edit_secret(home: &Home, offset: usize, len: usize, with: &str) {
    let path = home.key_file();
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("\"secret\": \"").expect("a secret in the key file") + "\"secret\": \"".len() + offset;
    let new = match (with, &text[start..start + len]) {
        ("", "0") => "1",
        ("", _) => "0",
        (with, _) => with,
    };
    let edited = format!("{}{new}{}", &text[..start], &text[start + len..]);
    std::fs::write(&path, edited).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "the key file keeps its mode"
    );
}

#[test]
fn a_damaged_key_file_is_named() {
    let (home, _) = village();
    let before = home.snapshot();
    let original = std::fs::read(home.key_file()).unwrap();
    edit_secret(&home, 17, 1, "");
    for args in [
        &["offer", "list"][..],
        &["offer", "add", "--title", "Vélo"][..],
        &["whoami"][..],
    ] {
        let (code, line) = home.fail(args);
        assert_eq!(code, 2, "{args:?}: {line}");
        assert!(line.contains("device.key"), "the message names the key file: {line}");
    }
    let output = home.run_in(Lang::En, &["whoami"]);
    let (_, line) = refused(&["whoami"], &output);
    assert!(line.contains("damaged"), "{line}");
    // Restoring the key gives everything back as it was.
    std::fs::write(home.key_file(), original).unwrap();
    assert_eq!(home.snapshot(), before);
}

/// A key file edited by hand with a non-hexadecimal (non-ASCII) character
/// in its secret is damaged like any other: named, never a crash.
#[test]
fn a_key_file_with_a_non_ascii_character_in_the_secret_is_named_not_a_crash() {
    let (home, _) = village();
    // "é" is two bytes: in place of two hex digits the secret keeps its
    // 64-byte length, and straddles the boundary between two bytes.
    edit_secret(&home, 1, 2, "é");
    let (code, line) = home.fail(&["offer", "list"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("device.key"), "{line}");
}

#[test]
fn a_key_file_others_can_read_is_refused_with_the_chmod_advice() {
    let (home, _) = village();
    let before = home.snapshot();
    let path = home.key_file();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, line) = home.fail(&["offer", "add", "--title", "Vélo"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("chmod 600"), "{line}");
    assert!(
        line.contains(path.to_str().unwrap()),
        "the advice names the file: {line}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(home.snapshot(), before);
}

#[test]
fn an_invalid_kind_lists_the_valid_ones() {
    let (home, offer) = village();
    let before = home.snapshot();
    for args in [
        &["offer", "add", "--title", "Vélo", "--kind", "borrow"][..],
        &["offer", "list", "--kind", "borrow"][..],
        &["offer", "edit", &offer[..8], "--kind", "borrow"][..],
    ] {
        let output = home.run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("borrow"), "{stderr}");
        for valid in ["give", "lend", "sell", "service", "space", "ride", "group-buy"] {
            assert!(stderr.contains(valid), "{valid} is listed: {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert_eq!(home.snapshot(), before);
}

#[test]
fn a_state_change_not_allowed_is_refused() {
    let (home, offer) = village();
    home.ok(&["offer", "close", &offer[..8]]);
    let before = home.snapshot();
    let output = home.run_in(Lang::En, &["offer", "edit", &offer[..8], "--state", "open"]);
    let (code, line) = refused(&["offer", "edit", "--state", "open"], &output);
    assert_eq!(code, 1);
    assert!(
        line.contains("done") && line.contains("open"),
        "both states are named: {line}"
    );
    home.fail(&["offer", "edit", &offer[..8], "--state", "open"]);
    home.fail(&["offer", "edit", &offer[..8], "--state", "nonsense"]);
    assert_eq!(home.snapshot(), before, "refused commands changed the store");
    assert_eq!(home.json(&["offer", "show", &offer])["state"], "done");
}

#[test]
fn a_household_cannot_change_another_households_offer() {
    let (a, b) = two_households(None);
    let offer = a.add_offer("Perceuse à prêter", &["--category", "outils"]);
    let request = id_of(&a.json(&["request", "add", "--title", "Cherche bois"]));
    b.import(&a.export("a.bundle"));
    assert_eq!(titles(&b.json(&["offer", "list"])), ["Perceuse à prêter"]);
    let before = b.snapshot();
    for args in [
        &["offer", "close", &offer[..8]][..],
        &["offer", "edit", &offer[..8], "--title", "Ma perceuse"][..],
        &["offer", "delete", &offer[..8]][..],
        &["request", "close", &request[..8]][..],
    ] {
        let (code, line) = b.fail(args);
        assert_eq!(code, 1, "{line}");
    }
    let output = b.run_in(Lang::En, &["offer", "close", &offer[..8]]);
    let (_, line) = refused(&["offer", "close"], &output);
    assert!(line.contains("only the household"), "{line}");
    assert_eq!(b.snapshot(), before, "refused commands changed the store");
    // And A's copy is untouched after B's bundle comes back.
    a.import(&b.export("b.bundle"));
    let shown = a.json(&["offer", "show", &offer]);
    assert_eq!(shown["state"], "open");
    assert_eq!(shown["offer"]["title"], "Perceuse à prêter");
}
