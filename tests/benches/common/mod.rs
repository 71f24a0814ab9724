//! What the benchmarks of this package share with its tests: the helpers of
//! `tests/tests/` (`procs`, `webnode`, `browser`) find the `maillage` binary
//! through `crate::common::binary()`, and here that is the release build.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The `maillage` binary built in release, next to this benchmark
/// (`target/release/maillage`).
///
/// The tests' own helper builds the debug binary; a benchmark must measure
/// what villagers run. This package cannot depend on the binary crate, so it
/// is built here, once per process (a fraction of a second when up to date).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
        let status = std::process::Command::new(cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "maillage-cli",
                "--bin",
                "maillage",
            ])
            .current_dir(&workspace)
            .status()
            .expect("running cargo build --release for the maillage binary");
        assert!(status.success(), "cargo build --release -p maillage-cli failed");
        let binary = assert_cmd::cargo::cargo_bin("maillage");
        assert!(
            binary.components().any(|part| part.as_os_str() == "release"),
            "expected the release binary, found {}",
            binary.display()
        );
        binary
    })
}
