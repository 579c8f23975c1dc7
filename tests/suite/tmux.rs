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

/// Whether tmux is here (CI must have it).
fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("CI").is_ok() {
            panic!("tmux is required in CI (scripts/test installs it)");
        }
        eprintln!("skipping: tmux is not installed");
        return false;
    }
    true
}

/// `painel demo` in a detached 120×40 tmux session, on its dashboard.
fn demo_session(dir: &tempfile::TempDir, name: &str) -> Session {
    let session = Session(format!("painel-{name}-{}", std::process::id()));
    let cmd = format!(
        "XDG_CONFIG_HOME={d} {bin} --data-dir {d} demo; echo PAINEL-EXITED=$?; sleep 30",
        d = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_painel"),
    );
    tmux(&["new-session", "-d", "-s", &session.0, "-x", "120", "-y", "40", &cmd]);
    wait_for(&session.0, "Active tenants", Duration::from_secs(60));
    session
}

/// Issue 10, as the support agent with "customer X can't log in": `:customers`, open one,
/// walk its story's tabs; then straight to a customer by e-mail from the palette.
#[test]
fn customers_their_story_and_go_to_by_e_mail() {
    if !have_tmux() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let session = demo_session(&dir, "customers");
    let s = session.0.as_str();
    tmux(&["send-keys", "-t", s, ":customers", "Enter"]);
    // The header is drawn before the rows load: wait for the first row itself.
    let screen = wait_for(s, "Academia Corpo em Forma", Duration::from_secs(20));
    assert!(screen.contains("E-MAIL"), "the list by name:\n{screen}");
    tmux(&["send-keys", "-t", s, "Enter"]);
    let screen = wait_for(s, "Customer since", Duration::from_secs(20));
    assert!(
        screen.contains("Profile") && screen.contains("Invoices"),
        "story tabs:\n{screen}"
    );
    // The status bar names the context `painel demo` selected and its database file.
    assert!(screen.contains("demo · sqlite"), "context in the status bar:\n{screen}");
    tmux(&["send-keys", "-t", s, "Tab"]);
    wait_for(s, "Services of Academia", Duration::from_secs(20));
    for _ in 0..2 {
        tmux(&["send-keys", "-t", s, "Tab"]);
    }
    wait_for(s, "Invoices of Academia", Duration::from_secs(20));
    tmux(&["send-keys", "-t", s, "BTab", "BTab", "BTab", "BTab"]);
    let screen = wait_for(s, "Activity of Academia", Duration::from_secs(20));
    assert!(screen.contains("customer.create"), "its audit trail:\n{screen}");
    // Go to: a customer's e-mail typed in the palette opens that customer.
    tmux(&["send-keys", "-t", s, ":aline.nunes@bol.com.br", "Enter"]);
    let screen = wait_for(s, "Aline Ramos Nunes · ", Duration::from_secs(20));
    assert!(screen.contains("Customer since"), "the customer's profile:\n{screen}");
    for _ in 0..6 {
        tmux(&["send-keys", "-t", s, "q"]);
    }
    let after = wait_for(s, "PAINEL-EXITED=", Duration::from_secs(20));
    assert!(after.contains("PAINEL-EXITED=0"), "clean exit:\n{after}");
}

#[test]
fn demo_opens_jumps_to_tenants_and_queues_and_quits_cleanly() {
    if !have_tmux() {
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
