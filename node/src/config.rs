//! `<home>/node.toml`, the node's settings file. A leaf: the runtime and
//! the short-lived swarms of `community join` and `device link` read it.

use std::path::PathBuf;

use serde::Deserialize;

use crate::home::Home;

/// node.toml cannot be read or does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    pub path: PathBuf,
    pub reason: String,
}

/// `<home>/node.toml`: settings a steward may want to keep across restarts.
/// Flags given to `maillage node` take precedence.
///
/// ```toml
/// listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
/// dial = ["/ip4/192.168.1.10/tcp/4001"]   # the village-hall relay, say
/// mdns = true
/// resync_seconds = 20
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    #[serde(default)]
    pub listen: Vec<String>,
    #[serde(default)]
    pub dial: Vec<String>,
    pub mdns: Option<bool>,
    pub resync_seconds: Option<u64>,
}

impl NodeFile {
    pub fn path(home: &Home) -> PathBuf {
        home.root().join("node.toml")
    }

    /// The file's settings, or the defaults when there is no file.
    pub fn load(home: &Home) -> Result<NodeFile, ConfigError> {
        let path = NodeFile::path(home);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError {
                path,
                reason: e.to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(NodeFile::default()),
            Err(error) => Err(ConfigError {
                path,
                reason: error.to_string(),
            }),
        }
    }
}
