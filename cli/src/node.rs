//! The command line and the node. `maillage node` starts one; while it runs,
//! the other commands are sent to it over the local API ([`forward`]) and
//! run inside it, on the household it holds open ([`runner`]).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::Parser;
use maillage_node::Home;
use maillage_node::api::{CliOutcome, CliRequest, CliRunner, RunOptions, RunningNode};
use maillage_node::context::NodeContext;
use maillage_node::i18n::{Catalog, Lang};
use maillage_node::keys::Passphrase;
use maillage_node::runtime::RuntimeError;

use crate::args::{Cli, NodeArgs};
use crate::run::{self, Access};

/// `maillage node`: runs until SIGINT or SIGTERM.
pub fn start(home: Home, args: NodeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let options = RunOptions {
        listen: args.listen,
        web: Some(args.web),
        api: args.api,
        relays: args.relay,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Unwrapped so that `render` translates them as it does for other commands.
    match runtime.block_on(maillage_node::runtime::run(home, options, runner())) {
        Ok(()) => Ok(()),
        Err(RuntimeError::Household(error)) => Err(error.into()),
        Err(RuntimeError::Api(error)) => Err(error.into()),
        Err(error) => Err(error.into()),
    }
}

/// What the node calls to run a command sent to its API.
pub fn runner() -> CliRunner {
    Arc::new(run_in_node)
}

fn run_in_node(context: &NodeContext, request: CliRequest) -> CliOutcome {
    let catalog = Catalog::new(Lang::from_tag(&request.lang));
    let argv = std::iter::once("maillage".to_owned()).chain(request.args);
    let mut cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    // The caller's choices, not the node's environment. Its `--home`, if
    // any, named this node's home: that is how it found the node.
    cli.json = request.json;
    cli.passphrase = request.passphrase;
    if let Some(cwd) = &request.cwd {
        cli.command.resolve_paths(cwd);
    }
    let changes = !cli.command.is_read();
    let outcome = run::run(cli, Access::Node(context), &catalog);
    if changes {
        context.net.announce();
    }
    outcome
}

/// Arguments clap refused (the caller parsed them already, so only a caller
/// of another version gets here), or `--help`.
fn usage(error: &clap::Error) -> CliOutcome {
    let text = error.render().to_string();
    let exit_code = u8::try_from(error.exit_code()).unwrap_or(2);
    if error.use_stderr() {
        CliOutcome {
            stderr: text,
            exit_code,
            ..CliOutcome::default()
        }
    } else {
        CliOutcome {
            stdout: text,
            exit_code,
            ..CliOutcome::default()
        }
    }
}

/// Sends this process's command line to `node` and returns what it printed.
pub fn forward(
    node: &RunningNode,
    json: bool,
    passphrase: Option<Passphrase>,
    catalog: &Catalog,
) -> Result<CliOutcome> {
    let request = CliRequest {
        args: forwarded_args(std::env::args_os().skip(1), catalog)?,
        lang: catalog.lang().code().to_owned(),
        json,
        cwd: std::env::current_dir().ok(),
        passphrase,
    };
    Ok(node.call(&request)?)
}

/// The arguments without `--home DIR` (the node has its home), as text.
fn forwarded_args(args: impl Iterator<Item = OsString>, catalog: &Catalog) -> Result<Vec<String>> {
    let mut args = args.map(|arg| {
        arg.into_string()
            .map_err(|arg| anyhow!(catalog.t("err-not-utf8", &[("text", &arg.to_string_lossy())])))
    });
    let mut forwarded = Vec::new();
    while let Some(arg) = args.next().transpose()? {
        match arg.as_str() {
            "--home" => {
                args.next().transpose()?;
            }
            _ if arg.starts_with("--home=") => {}
            "--" => {
                forwarded.push(arg);
                for rest in args.by_ref() {
                    forwarded.push(rest?);
                }
            }
            _ => forwarded.push(arg),
        }
    }
    Ok(forwarded)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn forwarded(args: &[&str]) -> Vec<String> {
        let catalog = Catalog::new(Lang::En);
        forwarded_args(args.iter().map(OsString::from), &catalog).unwrap()
    }

    #[test]
    fn home_is_left_out_and_everything_else_kept() {
        assert_eq!(
            forwarded(&["--home", "/h", "--json", "offer", "list", "--lang", "en"]),
            ["--json", "offer", "list", "--lang", "en"]
        );
        assert_eq!(
            forwarded(&["offer", "add", "--home=/h", "--title=--home"]),
            ["offer", "add", "--title=--home"]
        );
        assert_eq!(
            forwarded(&["community", "join", "--", "--home"]),
            ["community", "join", "--", "--home"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn arguments_that_are_not_text_are_refused() {
        use std::os::unix::ffi::OsStringExt;
        let catalog = Catalog::new(Lang::En);
        let args = [OsString::from("import"), OsString::from_vec(vec![0xff, b'x'])];
        assert!(forwarded_args(args.into_iter(), &catalog).is_err());
    }

    #[test]
    fn relative_files_are_resolved_against_the_callers_directory() {
        let cwd = std::path::Path::new("/where/the/user/is");
        for (args, expected) in [
            (
                vec!["maillage", "export", "backup.bundle"],
                "/where/the/user/is/backup.bundle",
            ),
            (vec!["maillage", "import", "/abs/b.bundle"], "/abs/b.bundle"),
            (
                vec!["maillage", "event", "ics", "--output", "cal.ics"],
                "/where/the/user/is/cal.ics",
            ),
        ] {
            let mut cli = Cli::try_parse_from(args).unwrap();
            cli.command.resolve_paths(cwd);
            let file = match cli.command {
                crate::args::Command::Export { file, .. } | crate::args::Command::Import { file } => file,
                crate::args::Command::Event(crate::args::EventCommand::Ics { output }) => output.unwrap(),
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(file, std::path::Path::new(expected));
        }
    }

    #[test]
    fn reads_are_told_from_changes() {
        let read = |args: &[&str]| {
            let argv = std::iter::once("maillage").chain(args.iter().copied());
            Cli::try_parse_from(argv).unwrap().command.is_read()
        };
        assert!(read(&["offer", "list"]));
        assert!(read(&["event", "ics"]));
        assert!(read(&["status"]));
        assert!(!read(&["offer", "add", "--title", "x"]));
        assert!(!read(&["community", "use", "x"]));
        assert!(!read(&["import", "b"]));
    }
}
