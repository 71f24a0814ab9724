//! A household's home directory: where its keys and store live.
//!
//! ```text
//! <home>/                 mode 0700
//!   maillage.redb         the store (see `store`)
//!   keys/                 mode 0700
//!     household.key       the household root key (mode 0600)
//!     device.key          this device's key (mode 0600)
//!   run/                  mode 0700, while or since `maillage node` runs (see `api`)
//!     token               the local API's bearer token (mode 0600)
//!     api.json            where the running node's API listens, and its pid
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a household's files are.
#[derive(Clone, Debug)]
pub struct Home {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HomeError {
    #[error("no home directory given and no platform data directory found; pass --home DIR or set MAILLAGE_HOME")]
    NoDefault,
    #[error("cannot create {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
}

impl Home {
    /// The home given on the command line or in `MAILLAGE_HOME`, else the
    /// platform data directory (`~/.local/share/maillage` on Linux).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Home, HomeError> {
        match explicit {
            Some(root) => Ok(Home { root }),
            None => dirs::data_dir()
                .map(|dir| Home {
                    root: dir.join("maillage"),
                })
                .ok_or(HomeError::NoDefault),
        }
    }

    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn store_path(&self) -> PathBuf {
        self.root.join("maillage.redb")
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }

    pub fn household_key_path(&self) -> PathBuf {
        self.keys_dir().join("household.key")
    }

    pub fn device_key_path(&self) -> PathBuf {
        self.keys_dir().join("device.key")
    }

    /// Files of the running node: the API token and address.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// True once `init` has run here.
    pub fn is_initialised(&self) -> bool {
        self.device_key_path().exists()
    }

    /// Creates the home and its keys directory, readable by the owner only.
    pub fn create(&self) -> Result<(), HomeError> {
        for dir in [self.root.clone(), self.keys_dir()] {
            create_private_dir(&dir).map_err(|source| HomeError::Create {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the
/// new one, never half of one: write a temporary file (mode 0600), sync it,
/// rename it over `path`, sync the directory.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A bare file name has an empty parent: that is the working directory.
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let temporary = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
