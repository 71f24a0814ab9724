//! `maillage`: the command line of a maillage household.
//!
//! Parsing lives in `args`, the commands in `run`, text output in `render`.
//! Errors travel as `anyhow::Error` and are turned into one translated line
//! and an exit code here, in one place: a user never sees a panic or a
//! debug dump.

mod args;
mod render;
mod run;

use std::process::ExitCode;

use clap::Parser;
use maillage_node::i18n::{Catalog, Lang};

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let lang = cli.lang.as_deref().map(Lang::from_tag).unwrap_or_else(Lang::from_env);
    let catalog = Catalog::new(lang);
    let json = cli.json;
    match run::run(cli, &catalog) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = render::error_line(&error, &catalog);
            if json {
                let document = serde_json::json!({ "error": message, "code": render::error_code(&error) });
                println!("{document}");
            }
            let prefix = catalog.t("error-prefix", &[]);
            match lang {
                Lang::Fr => eprintln!("{prefix} : {message}"),
                Lang::En => eprintln!("{prefix}: {message}"),
            }
            ExitCode::from(render::exit_code(&error))
        }
    }
}
