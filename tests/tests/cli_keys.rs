//! Protecting the household root key with a passphrase, through the real
//! binary: `key protect` seals the key file, `device link` and `device
//! revoke` then need the passphrase (piped on stdin here, as a script would
//! give it), with and without a running node, and `key unprotect` puts the
//! key back in the clear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use procs::{Proc, WAIT};
use serde_json::Value;

const PASSPHRASE: &str = "le vieux tilleul de la place";

/// The command in French (the product's first language), `stdin` piped in.
fn command(proc: &Proc, args: &[&str]) -> Command {
    let mut command = Command::new(common::binary());
    command
        .arg("--home")
        .arg(&proc.home)
        .args(args)
        .env("LANG", "fr_FR.UTF-8")
        .env("TZ", "Europe/Paris")
        .env_remove("MAILLAGE_HOME")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `maillage ARGS` with `stdin` as its whole standard input.
fn run_with_stdin(proc: &Proc, args: &[&str], stdin: &str) -> Output {
    let mut child = command(proc, args).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > WAIT {
            let _ = child.kill();
            panic!("`maillage {}` took more than {WAIT:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn succeeds(args: &[&str], output: &Output) -> String {
    assert!(
        output.status.success(),
        "`maillage {}` failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Runs a command that must be refused; returns its one line on stderr.
fn refused(proc: &Proc, args: &[&str], stdin: &str) -> String {
    let output = run_with_stdin(proc, args, stdin);
    assert_eq!(
        output.status.code(),
        Some(1),
        "`maillage {}` was not refused: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

fn key_file(proc: &Proc) -> std::path::PathBuf {
    proc.home.join("keys").join("household.key")
}

fn read_key_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn devices(proc: &Proc) -> Vec<Value> {
    proc.json(&["device", "list"]).as_array().unwrap().clone()
}

/// A `device link` left waiting (no node runs), the passphrase piped in;
/// returns it and the code it printed.
fn spawn_link(proc: &Proc, stdin: &str) -> (Child, String) {
    let mut child = command(proc, &["device", "link", "--no-qr"]).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let lines = procs::stdout_lines(&mut child);
    let code = procs::line_starting_with(&lines, "maillage-lien1-", &mut Vec::new());
    (child, code)
}

#[test]
fn a_protected_root_key_needs_its_passphrase_to_link_and_revoke_devices() {
    let root = tempfile::tempdir().unwrap();
    let mut ferme = Proc::new(root.path(), "ferme", None);
    ferme.ok(&["init", "--name", "Ferme des Tilleuls"]);
    ferme.ok(&["community", "create", "Saint-Martin-de-Vers"]);
    ferme.loopback_only();
    let clear = read_key_file(&key_file(&ferme));
    let secret = clear["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);
    assert_eq!(ferme.json(&["whoami"])["root_key"], "present");

    // Protect: the passphrase piped on one line.
    let started = Instant::now();
    let protected = succeeds(
        &["key", "protect"],
        &run_with_stdin(&ferme, &["key", "protect"], &format!("{PASSPHRASE}\n")),
    );
    eprintln!("key protect: {:?}", started.elapsed());
    assert!(protected.contains("désormais protégée"), "{protected}");
    let text = std::fs::read_to_string(key_file(&ferme)).unwrap();
    assert!(!text.contains(&secret), "the secret is still in the clear:\n{text}");
    let sealed = read_key_file(&key_file(&ferme));
    assert_eq!(sealed["format"], "maillage-key/2");
    assert_eq!(sealed["public"], clear["public"], "the household id stays readable");
    assert_eq!(sealed["sealed"]["kdf"], "argon2id");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key_file(&ferme)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Everyday commands open the home without the passphrase.
    let me = ferme.json(&["whoami"]);
    assert_eq!(me["root_key"], "protected");
    assert_eq!(me["has_root_key"], true);
    let whoami = succeeds(&["whoami"], &run_with_stdin(&ferme, &["whoami"], ""));
    assert!(whoami.contains("protégée par une phrase de passe"), "{whoami}");
    ferme.ok(&["offer", "add", "--title", "Œufs frais"]);
    // Protecting twice is refused.
    let twice = refused(&ferme, &["key", "protect"], "autre\n");
    assert!(twice.contains("déjà protégée"), "{twice}");

    // No node: `device link` without the passphrase, or with a wrong one,
    // is refused before anything is made.
    let before = std::fs::read(key_file(&ferme)).unwrap();
    let line = refused(&ferme, &["device", "link", "--no-qr"], "");
    assert!(line.contains("protégée par une phrase de passe"), "{line}");
    let line = refused(&ferme, &["device", "link", "--no-qr"], "mauvaise\n");
    assert!(line.contains("phrase de passe incorrecte"), "{line}");
    assert_eq!(std::fs::read(key_file(&ferme)).unwrap(), before);

    // With the passphrase, `device link` waits for the new machine and
    // certifies it.
    let (waiting, code) = spawn_link(&ferme, &format!("{PASSPHRASE}\n"));
    let portable = Proc::new(root.path(), "portable", None);
    portable.loopback_only();
    portable.ok(&["device", "add", &code, "--label", "portable"]);
    let output = procs::wait_for_exit(waiting, WAIT * 2);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(devices(&ferme).len(), 2);
    assert_eq!(portable.offer_titles(), ["Œufs frais"]);

    // With the node running, the passphrase travels with the command.
    ferme.start_node(&[]);
    let line = refused(&ferme, &["device", "link", "--no-qr"], "");
    assert!(line.contains("protégée par une phrase de passe"), "{line}");
    let linked = run_with_stdin(&ferme, &["--json", "device", "link"], &format!("{PASSPHRASE}\n"));
    let code = serde_json::from_str::<Value>(&succeeds(&["device", "link"], &linked)).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let tablette = Proc::new(root.path(), "tablette", None);
    tablette.loopback_only();
    tablette.ok(&["device", "add", &code, "--label", "tablette"]);
    assert_eq!(devices(&ferme).len(), 3);

    let target = devices(&ferme).into_iter().find(|d| d["label"] == "portable").unwrap()["device"]
        .as_str()
        .unwrap()
        .to_owned();
    // The link is used: the node dropped the key it decrypted for it, so a
    // revocation without the passphrase is refused.
    let line = refused(&ferme, &["device", "revoke", &target[..12]], "");
    assert!(line.contains("protégée par une phrase de passe"), "{line}");
    let line = refused(&ferme, &["device", "revoke", &target[..12]], "mauvaise\n");
    assert!(line.contains("phrase de passe incorrecte"), "{line}");
    assert!(
        devices(&ferme).iter().all(|d| d["revoked_at"].is_null()),
        "a refused revocation changed nothing"
    );
    succeeds(
        &["device", "revoke"],
        &run_with_stdin(&ferme, &["device", "revoke", &target[..12]], &format!("{PASSPHRASE}\n")),
    );
    let revoked = devices(&ferme)
        .into_iter()
        .find(|d| d["device"] == target.as_str())
        .unwrap();
    assert!(revoked["revoked_at"].is_i64(), "{revoked}");
    ferme.stop_node();

    // Unprotect: the key file is in the clear again, the same secret, and
    // the root key is used without a passphrase.
    let line = refused(&ferme, &["key", "unprotect"], "mauvaise\n");
    assert!(line.contains("phrase de passe incorrecte"), "{line}");
    let unprotected = succeeds(
        &["key", "unprotect"],
        &run_with_stdin(&ferme, &["key", "unprotect"], &format!("{PASSPHRASE}\n")),
    );
    assert!(unprotected.contains("n'est plus protégée"), "{unprotected}");
    let again = read_key_file(&key_file(&ferme));
    assert_eq!(again["format"], "maillage-key/1");
    assert_eq!(again["secret"].as_str().unwrap(), secret);
    assert_eq!(ferme.json(&["whoami"])["root_key"], "present");
    let tablette_id = devices(&ferme).into_iter().find(|d| d["label"] == "tablette").unwrap()["device"]
        .as_str()
        .unwrap()
        .to_owned();
    succeeds(
        &["device", "revoke"],
        &run_with_stdin(&ferme, &["device", "revoke", &tablette_id[..12]], ""),
    );
}

/// A passphrase cannot be empty, and `key unprotect` on a key in the clear
/// says there is nothing to remove.
#[test]
fn an_empty_passphrase_is_refused_and_nothing_changes() {
    let root = tempfile::tempdir().unwrap();
    let ferme = Proc::new(root.path(), "ferme", None);
    ferme.ok(&["init", "--name", "Ferme des Tilleuls"]);
    let before = std::fs::read(key_file(&ferme)).unwrap();
    let line = refused(&ferme, &["key", "protect"], "\n");
    assert!(line.contains("phrase de passe est vide"), "{line}");
    let line = refused(&ferme, &["key", "protect"], "");
    assert!(line.contains("phrase de passe est vide"), "{line}");
    let line = refused(&ferme, &["key", "unprotect"], "x\n");
    assert!(line.contains("n'est pas protégée"), "{line}");
    assert_eq!(std::fs::read(key_file(&ferme)).unwrap(), before);
}

/// Protecting and unprotecting while the node runs: the node holds the
/// household open and follows each change at once (locked after `protect`,
/// usable without a passphrase after `unprotect`).
#[test]
fn the_running_node_follows_protect_and_unprotect() {
    let root = tempfile::tempdir().unwrap();
    let mut ferme = Proc::new(root.path(), "ferme", None);
    ferme.ok(&["init", "--name", "Ferme des Tilleuls"]);
    ferme.loopback_only();
    ferme.start_node(&[]);
    succeeds(
        &["key", "protect"],
        &run_with_stdin(&ferme, &["key", "protect"], &format!("{PASSPHRASE}\n")),
    );
    assert_eq!(ferme.json(&["whoami"])["root_key"], "protected");
    let line = refused(&ferme, &["device", "link", "--no-qr"], "");
    assert!(line.contains("protégée par une phrase de passe"), "{line}");
    succeeds(
        &["key", "unprotect"],
        &run_with_stdin(&ferme, &["key", "unprotect"], &format!("{PASSPHRASE}\n")),
    );
    assert_eq!(ferme.json(&["whoami"])["root_key"], "present");
    let linked = run_with_stdin(&ferme, &["--json", "device", "link"], "");
    let code: Value = serde_json::from_str(&succeeds(&["device", "link"], &linked)).unwrap();
    assert!(code["code"].as_str().unwrap().starts_with("maillage-lien1-"), "{code}");
    ferme.stop_node();
}
