//! Real `maillage node` processes driven only through the `maillage` CLI,
//! optionally inside Linux network namespaces the test makes itself.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any wait may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A household home driven through the binary, possibly inside a network
/// namespace (`ip netns exec NS maillage …`), with its node process.
pub struct Proc {
    pub name: String,
    pub home: PathBuf,
    pub namespace: Option<String>,
    node: Option<Child>,
}

impl Proc {
    pub fn new(root: &Path, name: &str, namespace: Option<&str>) -> Proc {
        Proc {
            name: name.into(),
            home: root.join(name),
            namespace: namespace.map(str::to_owned),
            node: None,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let binary = crate::common::binary();
        let mut command = match &self.namespace {
            Some(namespace) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", namespace]).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .env("LANG", "en_US.UTF-8")
            .env("TZ", "Europe/Paris")
            .env_remove("MAILLAGE_HOME")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES");
        command
    }

    /// Starts a command and leaves it running, its stdout and stderr piped
    /// (for commands that print, then wait).
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Listens on loopback only, without mDNS, resyncing every 2 s: tests
    /// running side by side on this machine must not find each other.
    pub fn loopback_only(&self) {
        std::fs::create_dir_all(&self.home).unwrap();
        std::fs::write(
            self.home.join("node.toml"),
            "listen = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\nresync_seconds = 2\n",
        )
        .unwrap();
    }

    /// Runs a command to completion (with a timeout) and returns its output.
    /// Its pipes are read while it runs: a command printing more than a
    /// pipe holds (a long listing) would otherwise wait forever to write.
    pub fn run(&self, args: &[&str]) -> Output {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait_with_output());
        });
        match finished.recv_timeout(WAIT) {
            Ok(output) => output.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                panic!("{}: `maillage {}` took more than {WAIT:?}", self.name, args.join(" "));
            }
        }
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{}: `maillage {}` failed: {}{}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    /// Starts `maillage node` with these extra arguments, and waits until its
    /// local API answers.
    pub fn start_node(&mut self, extra: &[&str]) {
        let mut args = vec!["node"];
        args.extend_from_slice(extra);
        let log = std::fs::File::create(self.home.with_extension("log")).unwrap();
        let child = self
            .command(&args)
            .env("RUST_LOG", "maillage_node=debug,info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.node = Some(child);
        self.wait_until(|| {
            let output = self.run(&["--json", "status"]);
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("peer_id")
        });
    }

    /// Stops the node with SIGTERM and waits for it to exit.
    pub fn stop_node(&mut self) {
        if let Some(mut child) = self.node.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let started = Instant::now();
            while child.try_wait().unwrap().is_none() {
                if started.elapsed() > WAIT {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Titles of the offers the household lists.
    pub fn offer_titles(&self) -> Vec<String> {
        let mut titles: Vec<String> = self
            .json(&["offer", "list", "--all"])
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["title"].as_str().unwrap().to_owned())
            .collect();
        titles.sort();
        titles
    }

    pub fn wait_until(&self, mut done: impl FnMut() -> bool) {
        let started = Instant::now();
        while !done() {
            if started.elapsed() > WAIT {
                let log = std::fs::read_to_string(self.home.with_extension("log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "{}: waited more than {WAIT:?}; node log (last lines, newest first):\n{}",
                    self.name,
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for_offer(&self, title: &str) {
        self.wait_until(|| self.offer_titles().iter().any(|t| t == title));
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop_node();
    }
}

/// The lines a spawned command prints on stdout, as they come. Its stdout
/// is read to the end even once nobody listens, so the command never
/// blocks on a full pipe.
pub fn stdout_lines(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = send.send(line);
        }
    });
    receive
}

/// The first of `lines` that starts with `prefix`, within [`WAIT`]; it and
/// the lines before it are kept in `seen`.
pub fn line_starting_with(lines: &Receiver<String>, prefix: &str, seen: &mut Vec<String>) -> String {
    let started = Instant::now();
    loop {
        let left = WAIT.saturating_sub(started.elapsed());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line starting with {prefix:?}; printed so far: {seen:?}"));
        seen.push(line.clone());
        if line.starts_with(prefix) {
            return line;
        }
    }
}

/// Waits for a spawned command to end, killing it (and failing) after `limit`.
pub fn wait_for_exit(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the command was still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}
