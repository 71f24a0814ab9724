//! Shared helpers for the CLI scenarios: a throw-away household home and the
//! real `maillage` binary, run one process per command like a user would.
//!
//! Each test file uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// How long one command may take before the test gives up on it.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The `maillage` binary, freshly built.
///
/// This test package does not (cannot) depend on the binary crate, so
/// `cargo test -p maillage-tests` would otherwise run whatever stale
/// `target/debug/maillage` happens to lie around. Building it once per test
/// process costs a fraction of a second when it is up to date.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
        let status = std::process::Command::new(cargo)
            .args(["build", "--quiet", "-p", "maillage-cli", "--bin", "maillage"])
            .current_dir(&workspace)
            .status()
            .expect("running cargo build for the maillage binary");
        assert!(status.success(), "cargo build -p maillage-cli failed");
        assert_cmd::cargo::cargo_bin("maillage")
    })
}

/// Which language the environment asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    fn locale(self) -> &'static str {
        match self {
            Lang::Fr => "fr_FR.UTF-8",
            Lang::En => "en_US.UTF-8",
        }
    }
}

/// A household home in a temporary directory. Bundles and other files go
/// next to it (see [`Home::file`]).
#[derive(Debug)]
pub struct Home {
    dir: TempDir,
    pub path: PathBuf,
    pub lang: Lang,
}

impl Home {
    /// A new, not yet initialised home; messages in French.
    pub fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home");
        Home {
            dir,
            path,
            lang: Lang::Fr,
        }
    }

    /// A new, not yet initialised home whose environment asks for English.
    pub fn english() -> Home {
        Home {
            lang: Lang::En,
            ..Home::new()
        }
    }

    /// `init` + `community create`: a household that founded `community`.
    pub fn founder(name: &str, community: &str, limit: Option<&str>) -> Home {
        let home = Home::new();
        home.ok(&["init", "--name", name]);
        let mut args = vec!["community", "create", community];
        if let Some(limit) = limit {
            args.extend(["--limit", limit]);
        }
        home.ok(&args);
        home
    }

    /// A path next to the home (outside it), for bundles.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn key_file(&self) -> PathBuf {
        self.path.join("keys").join("device.key")
    }

    pub fn store_file(&self) -> PathBuf {
        self.path.join("maillage.redb")
    }

    /// The command, with this home and a controlled environment.
    pub fn command(&self, lang: Lang, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(binary());
        command
            .arg("--home")
            .arg(&self.path)
            .args(args)
            .env("LANG", lang.locale())
            .env("TZ", "Europe/Paris")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("MAILLAGE_HOME")
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .timeout(TIMEOUT);
        command
    }

    /// Runs `maillage --home <home> ARGS` in this home's language.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.lang, args)
    }

    pub fn run_in(&self, lang: Lang, args: &[&str]) -> Output {
        self.command(lang, args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "`maillage {}` failed ({:?}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs with `--json`, asserts success and that stdout is exactly one
    /// JSON document; returns it.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all);
        one_json_document(&stdout)
    }

    /// Runs a command that must be refused; checks the error is one clean
    /// line on stderr and returns (exit code, that line).
    pub fn fail(&self, args: &[&str]) -> (i32, String) {
        let output = self.run(args);
        refused(args, &output)
    }

    /// What a user can see of this household's state, as JSON text: every
    /// offer, request, event, exchange (balances follow from them) and member. Used to check
    /// that a refused command wrote nothing.
    pub fn snapshot(&self) -> String {
        let parts = [
            self.json(&["offer", "list", "--all"]),
            self.json(&["request", "list", "--all"]),
            self.json(&[
                "event",
                "list",
                "--from",
                "2000-01-01 00:00",
                "--to",
                "2100-01-01 00:00",
            ]),
            self.json(&["exchange", "list"]),
            self.json(&["community", "members"]),
        ];
        serde_json::to_string_pretty(&parts.to_vec()).unwrap()
    }

    /// Posts an offer and returns its id.
    pub fn add_offer(&self, title: &str, extra: &[&str]) -> String {
        let mut args = vec!["offer", "add", "--title", title];
        args.extend_from_slice(extra);
        id_of(&self.json(&args))
    }

    /// Writes a bundle next to the home and returns its path.
    pub fn export(&self, name: &str) -> PathBuf {
        let path = self.file(name);
        self.ok(&["export", path.to_str().unwrap()]);
        path
    }

    /// Imports a bundle written by another home.
    pub fn import(&self, bundle: &Path) -> Value {
        self.json(&["import", bundle.to_str().unwrap()])
    }

    /// This household's id.
    pub fn id(&self) -> String {
        self.json(&["whoami"])["household"].as_str().unwrap().to_owned()
    }
}

/// Checks a refused command: non-zero exit, exactly one line on stderr, no
/// panic or debug dump. Returns (exit code, the line).
pub fn refused(args: &[&str], output: &Output) -> (i32, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "`maillage {}` should have been refused; stdout: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout)
    );
    let line = stderr.trim_end_matches('\n');
    assert!(
        !line.is_empty() && !line.contains('\n'),
        "`maillage {}`: stderr should be exactly one line, got:\n{stderr}",
        args.join(" ")
    );
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "{ ",
        " }",
        "Some(",
        "Os {",
    ] {
        assert!(
            !line.contains(bad),
            "`maillage {}`: stderr looks like a panic or a debug dump ({bad:?}): {line}",
            args.join(" ")
        );
    }
    (output.status.code().unwrap_or(-1), line.to_owned())
}

/// Parses `text` as exactly one JSON document (nothing before or after).
pub fn one_json_document(text: &str) -> Value {
    let mut documents = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = match documents.next() {
        Some(Ok(value)) => value,
        other => panic!("stdout is not JSON ({other:?}):\n{text}"),
    };
    assert!(
        documents.next().is_none(),
        "stdout holds more than one JSON document:\n{text}"
    );
    first
}

/// The `id` of a JSON answer, checked to be text.
pub fn id_of(value: &Value) -> String {
    let id = value["id"].as_str().unwrap_or_else(|| panic!("no text id in {value}"));
    assert!(
        id.len() >= 40 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "ids are lowercase text, got {id:?}"
    );
    id.to_owned()
}

/// A date `days` from today (UTC), as `YYYY-MM-DD`: events placed there are
/// always upcoming, whenever the tests run.
pub fn date_in(days: i64) -> (i64, u32, u32) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    civil_from_days(now / 86_400 + days)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Two households in one community, each knowing the other: A founded it
/// (with an optional credit limit) and invited B; B joined offline and A
/// imported B's bundle.
pub fn two_households(limit: Option<&str>) -> (Home, Home) {
    let a = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", limit);
    let code = invite_code(&a, 1);
    let b = Home::new();
    b.ok(&["init", "--name", "Les Écureuils", "--place", "Le Bourg"]);
    b.ok(&["community", "join", &code]);
    a.import(&b.export("b-joined.bundle"));
    (a, b)
}

/// A fresh invite code from a steward, taken from `--json`.
pub fn invite_code(steward: &Home, uses: u32) -> String {
    let uses = uses.to_string();
    let invite = steward.json(&["community", "invite", "--uses", &uses]);
    invite["code"].as_str().expect("invite code as text").to_owned()
}

/// Names of the members a home lists.
pub fn member_names(home: &Home) -> Vec<String> {
    home.json(&["community", "members"])
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Titles in a JSON listing.
pub fn titles(listing: &Value) -> Vec<String> {
    listing
        .as_array()
        .unwrap_or_else(|| panic!("a listing is a JSON array, got {listing}"))
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_owned())
        .collect()
}
