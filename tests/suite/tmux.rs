//! End to end: the real binary in a real terminal (tmux), as an operator would use it.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(session: &str, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(needle) {
            return screen;
        }
        if start.elapsed() > timeout {
            panic!("'{needle}' did not appear within {timeout:?}; the screen was:\n{screen}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

#[test]
fn demo_opens_jumps_to_tenants_and_queues_and_quits_cleanly() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("CI").is_ok() {
            panic!("tmux is required in CI (scripts/test installs it)");
        }
        eprintln!("skipping: tmux is not installed");
        return;
    }
    // The demo database is created from scratch; it uses SQLite whatever engine the suite
    // runs on, as `painel demo` does.
    let dir = tempfile::tempdir().unwrap();
    let session = Session(format!("painel-e2e-{}", std::process::id()));
    let cmd = format!(
        "XDG_CONFIG_HOME={d} {bin} --data-dir {d} demo; echo PAINEL-EXITED=$?; sleep 30",
        d = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_painel"),
    );
    tmux(&["new-session", "-d", "-s", &session.0, "-x", "120", "-y", "40", &cmd]);
    wait_for(&session.0, "Active tenants", Duration::from_secs(60));
    tmux(&["send-keys", "-t", &session.0, ":tenants", "Enter"]);
    let screen = wait_for(&session.0, "conexaohospedagem.com.br", Duration::from_secs(20));
    assert!(screen.contains("Conexão Hospedagem"), "seeded tenant shown:\n{screen}");
    assert_eq!(
        tmux(&["display-message", "-p", "-t", &session.0, "#{alternate_on}"]).trim(),
        "1"
    );
    // The queue screen: the demo's seeded failures, with the live feed's source in the title.
    tmux(&["send-keys", "-t", &session.0, ":queues", "Enter"]);
    let screen = wait_for(&session.0, "Failures · live:", Duration::from_secs(20));
    assert!(screen.contains("Running ("), "running panel shown:\n{screen}");
    assert!(screen.contains("dns.sync_zone"), "seeded failure shown:\n{screen}");
    for _ in 0..3 {
        tmux(&["send-keys", "-t", &session.0, "q"]);
    }
    let after = wait_for(&session.0, "PAINEL-EXITED=", Duration::from_secs(20));
    assert!(after.contains("PAINEL-EXITED=0"), "clean exit:\n{after}");
    assert_eq!(
        tmux(&["display-message", "-p", "-t", &session.0, "#{alternate_on}"]).trim(),
        "0",
        "the alternate screen was left"
    );
}
