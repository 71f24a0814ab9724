//! Asking for the passphrase of a protected household root key.
//!
//! It is read here, in the process the user typed the command in, whether
//! the command then runs here or inside the node (it travels with the
//! command over the local API). On a terminal it is asked without echo;
//! otherwise one line is read from standard input, so that scripts and
//! tests can pipe it.

use std::io::{BufRead, IsTerminal};

use anyhow::{Result, anyhow};
use maillage_node::Home;
use maillage_node::i18n::Catalog;
use maillage_node::keys::{self, KeyKind, Passphrase};
use zeroize::Zeroize;

use crate::args::{Command, DeviceCommand, KeyCommand};

/// What a command needs.
enum Ask {
    /// A new passphrase, typed twice on a terminal (once through a pipe).
    New,
    /// The passphrase the key is sealed with.
    Current,
}

/// Reads the passphrase `command` needs on this home, if any. A command
/// that will fail anyway (no root key here, `protect` on a protected key…)
/// asks nothing: it runs without one and says why it cannot.
pub fn for_command(command: &Command, home: &Home, catalog: &Catalog) -> Result<Option<Passphrase>> {
    // Only these commands look at the key file here; a file that cannot be
    // read is left for the command itself to report.
    let sealed = || keys::is_sealed(&home.household_key_path(), KeyKind::HouseholdRoot).ok();
    let ask = match command {
        Command::Key(KeyCommand::Protect) if sealed() == Some(false) => Ask::New,
        Command::Key(KeyCommand::Unprotect) if sealed() == Some(true) => Ask::Current,
        Command::Device(DeviceCommand::Link { .. } | DeviceCommand::Revoke { .. }) if sealed() == Some(true) => {
            Ask::Current
        }
        _ => return Ok(None),
    };
    if !std::io::stdin().is_terminal() {
        return read_line();
    }
    match ask {
        Ask::Current => prompt(&catalog.t("passphrase-current", &[])).map(Some),
        Ask::New => {
            let first = prompt(&catalog.t("passphrase-new", &[]))?;
            let again = prompt(&catalog.t("passphrase-again", &[]))?;
            if first != again {
                return Err(anyhow!(catalog.t("err-passphrases-differ", &[])));
            }
            Ok(Some(first))
        }
    }
}

/// Asks on the terminal, without echo.
fn prompt(text: &str) -> Result<Passphrase> {
    Ok(Passphrase::new(rpassword::prompt_password(format!("{text} "))?))
}

/// One line of standard input, without its line end; nothing if stdin is
/// empty (the command then says a passphrase is needed, not that it is
/// wrong).
fn read_line() -> Result<Option<Passphrase>> {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let passphrase = Passphrase::new(line.trim_end_matches(['\n', '\r']).to_owned());
    line.zeroize();
    Ok(Some(passphrase))
}
