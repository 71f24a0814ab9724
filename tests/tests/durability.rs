//! `kill -9` in the middle of writes: every write the CLI acknowledged is
//! there afterwards, and the store opens cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Home;

#[test]
fn acknowledged_offers_survive_kill_9_mid_write() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin", None);
    // Calibrate: kill somewhere within the time a write takes on this machine.
    let started = Instant::now();
    home.add_offer("Étalon", &[]);
    let typical = started.elapsed().as_micros().max(1000) as u64;
    let mut acknowledged = vec!["Étalon".to_owned()];
    let mut killed = 0;
    // A fixed pseudo-random sequence of delays, so a failure can be replayed.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 0..60 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % typical);
        let title = format!("Offre numéro {round}");
        let mut child = Command::new(common::binary())
            .args(["--home", home.path.to_str().unwrap(), "offer", "add", "--title", &title])
            .env("LANG", "fr_FR.UTF-8")
            .env_remove("MAILLAGE_HOME")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        // SIGKILL, whatever the process is doing (or nothing, if it is done).
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        let said_done = String::from_utf8_lossy(&output.stdout).contains("Offre publiée");
        if output.status.success() && said_done {
            acknowledged.push(title);
        } else {
            killed += 1;
        }
    }
    assert!(
        killed > 0,
        "no process was killed mid-way: the delays are too long to test anything"
    );
    assert!(
        !acknowledged.is_empty(),
        "no process finished: the delays are too short to test anything"
    );

    eprintln!("{} acknowledged, {killed} killed", acknowledged.len());
    let listed = home.json(&["offer", "list", "--all"]);
    let titles: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap())
        .collect();
    for title in &acknowledged {
        assert!(
            titles.contains(&title.as_str()),
            "acknowledged {title:?} was lost after kill -9; listed: {titles:?}"
        );
    }
    // The killed writes either happened whole or not at all, and the store still takes writes.
    home.add_offer("Après la tempête", &[]);
}
