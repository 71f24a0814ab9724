//! Refusals tried in French say it all in French: the errors a new user met
//! in English (issue 5) — a mistyped invite code, an amount written with
//! its currency, a missing title, a truncated bundle, a read-only home.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Home;

/// Words of the sentences that used to leak (and English that could leak
/// again through a library's error text).
const ENGLISH: &[&str] = &[
    "is not",
    "damaged",
    "mistyped",
    "checksum",
    "required",
    "expected",
    "buffer",
    "error",
    "Read-only file system",
    "os error",
];

fn assert_french(what: &str, line: &str) {
    for english in ENGLISH {
        assert!(!line.contains(english), "{what}: English in {line:?}");
    }
    assert!(line.starts_with("Erreur : "), "{what}: {line:?}");
}

#[test]
fn a_mistyped_invite_code_says_so_in_french() {
    let founder = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let code = founder.json(&["community", "invite"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let newcomer = Home::new();
    newcomer.ok(&["init", "--name", "Les Tilleuls"]);

    // One character changed in the middle of the code.
    let middle = code.len() / 2;
    let typo = if &code[middle..=middle] == "a" { "b" } else { "a" };
    let mistyped = format!("{}{typo}{}", &code[..middle], &code[middle + 1..]);
    let (status, line) = newcomer.fail(&["community", "join", &mistyped]);
    assert_eq!(status, 1);
    assert_french("a mistyped code", &line);
    assert!(line.contains("mal recopié"), "{line}");

    let (_, line) = newcomer.fail(&["community", "join", &code[..code.len() / 3]]);
    assert_french("a code cut short", &line);
    let (_, line) = newcomer.fail(&["community", "join", "bonjour"]);
    assert_french("not a code", &line);
}

#[test]
fn amounts_titles_and_truncated_bundles_are_refused_in_french() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let (_, line) = home.fail(&[
        "offer", "add", "--title", "Vélo", "--kind", "sell", "--price", "12 euros",
    ]);
    assert_french("an amount with its currency", &line);
    assert!(line.contains("12 euros") && line.contains("montant"), "{line}");
    let (_, line) = home.fail(&["offer", "add", "--title", "Vélo", "--kind", "sell", "--price", "12,555"]);
    assert_french("an amount too precise", &line);
    // The French decimal comma is an amount.
    home.ok(&["offer", "add", "--title", "Vélo", "--kind", "sell", "--price", "12,50"]);

    let (_, line) = home.fail(&["offer", "add", "--description", "sans titre"]);
    assert_french("a missing title", &line);
    assert!(line.contains("titre"), "{line}");

    let bundle = home.export("entier.maillage");
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = home.file("coupe.maillage");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (_, line) = home.fail(&["import", cut.to_str().unwrap()]);
    assert_french("a truncated bundle", &line);
    assert!(line.contains("incomplet"), "{line}");
}

#[test]
fn the_households_own_rules_say_no_in_french() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let (_, line) = home.fail(&["exchange", "propose", "--with", "Ferme des Tilleuls", "--amount", "2"]);
    assert_french("an exchange with oneself", &line);
    assert!(line.contains("autre foyer"), "{line}");
    let (_, line) = home.fail(&["community", "invite", "--uses", "0"]);
    assert_french("an invitation without a use", &line);
    assert!(line.contains("au moins une fois"), "{line}");
    let me = home.json(&["whoami"])["household"].as_str().unwrap().to_owned();
    let (_, line) = home.fail(&["community", "remove", &me[..8]]);
    assert_french("removing the founder", &line);
    let device = home.json(&["whoami"])["device"].as_str().unwrap().to_owned();
    let (_, line) = home.fail(&["device", "revoke", &device[..8]]);
    assert_french("a device revoking itself", &line);
    assert!(line.contains("lui-même"), "{line}");
}

/// A home on a read-only file system, as a worn SD card turns: bind-mounted
/// read-only by the test (root), and said so in French.
#[test]
fn a_read_only_home_is_said_so_in_french() {
    if !nix_root() {
        assert!(
            std::env::var_os("MAILLAGE_REQUIRE_NETNS").is_none(),
            "this test needs root (a read-only bind mount), and CI requires it"
        );
        eprintln!("skipped: needs root for a read-only bind mount");
        return;
    }
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    home.add_offer("Pommes", &[]);
    let status = std::process::Command::new("mount")
        .args(["--bind"])
        .arg(&home.path)
        .arg(&home.path)
        .status()
        .unwrap();
    assert!(status.success());
    let _unmount = Unmount(home.path.clone());
    let status = std::process::Command::new("mount")
        .args(["-o", "remount,ro,bind"])
        .arg(&home.path)
        .status()
        .unwrap();
    assert!(status.success());
    let (status, line) = home.fail(&["offer", "add", "--title", "Poires"]);
    assert_eq!(status, 2, "the home itself needs fixing");
    assert_french("a read-only home", &line);
    assert!(line.contains("lecture seule"), "{line}");
}

fn nix_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Undoes the bind mount whatever the test's outcome.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
