//! `maillage`: the command line of a maillage household.
//!
//! Parsing lives in `args`, the commands in `run`, text output in `render`,
//! and talking to a running node in `node`. A command runs where the
//! household is: inside the node when one runs on the home (it owns the
//! store), here otherwise. Either way it prints the same bytes.
//!
//! Errors travel as `anyhow::Error` and are turned into one translated line
//! and an exit code by `render::failure`: a user never sees a panic or a
//! debug dump.

mod admission;
mod args;
mod node;
mod passphrase;
mod render;
mod run;
mod tokens;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use maillage_node::Home;
use maillage_node::api::{ApiError, CliOutcome, RunningNode, Token, find_running_node, read_run_info};
use maillage_node::i18n::{Catalog, Lang};

use crate::args::{Cli, Command};
use crate::run::Access;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let lang = cli.lang.as_deref().map(Lang::from_tag).unwrap_or_else(Lang::from_env);
    let catalog = Catalog::new(lang);
    let json = cli.json;
    let outcome = dispatch(cli, &catalog).unwrap_or_else(|error| {
        let mut outcome = CliOutcome::default();
        render::failure(&error, json, &catalog, &mut outcome);
        outcome
    });
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    ExitCode::from(outcome.exit_code)
}

/// Runs the command in the home's node if one runs, here otherwise.
fn dispatch(cli: Cli, catalog: &Catalog) -> Result<CliOutcome> {
    let home = Home::resolve(cli.home.clone())?;
    // Asked here, where the user is, wherever the command then runs.
    let passphrase = passphrase::for_command(&cli.command, &home, catalog)?;
    match (find_running_node(&home)?, cli.command) {
        (None, Command::Node(args)) => {
            node::start(home, args)?;
            Ok(CliOutcome::default())
        }
        (None, command) => Ok(run::run(
            Cli {
                command,
                passphrase,
                ..cli
            },
            Access::Local(home),
            catalog,
        )),
        (Some(node), Command::Init { .. } | Command::Node(_)) => Err(ApiError::NodeRunning(node.pid).into()),
        (Some(_), Command::Page) => page_link(&home, cli.json, catalog),
        // The node streams the bundle back and this process writes it, as
        // the user who asked: the node writes no file on anyone's behalf.
        (Some(node), Command::Export { file, community }) => export_through(&node, &file, community, cli.json, catalog),
        (Some(node), _) => node::forward(&node, cli.json, passphrase, catalog),
    }
}

/// `maillage page`: the running node's web address with the household's
/// token, which opens a session in the browser.
fn page_link(home: &Home, json: bool, catalog: &Catalog) -> Result<CliOutcome> {
    let web = read_run_info(home)?.and_then(|info| info.web).ok_or(ApiError::NoNode)?;
    let token = Token::read(home)?;
    let url = format!("{web}/login?token={}", token.as_str());
    let stdout = if json {
        format!("{}\n", serde_json::json!({ "url": url }))
    } else {
        format!("{}\n", catalog.t("web-page-link", &[("url", &url)]))
    };
    Ok(CliOutcome {
        stdout,
        ..CliOutcome::default()
    })
}

/// `maillage export FILE` while a node runs.
fn export_through(
    node: &RunningNode,
    file: &std::path::Path,
    community: Option<String>,
    json: bool,
    catalog: &Catalog,
) -> Result<CliOutcome> {
    let (bytes, count) = node.export(community.as_deref(), catalog.lang().code())?;
    maillage_node::home::write_private_file(file, &bytes).map_err(|source| maillage_node::HouseholdError::File {
        path: file.display().to_string(),
        source,
    })?;
    let out = run::Out::new(json, catalog);
    run::exported(&out, file, count)?;
    Ok(CliOutcome {
        stdout: out.take(),
        ..CliOutcome::default()
    })
}
