//! WHM's session log (`master.log`, whole each time) → our per-stage lines and progress.
//! WHM gives no percentage: a stage's progress is how many of the migration's accounts have
//! logged it as done. Which stage a line belongs to is read from its words (e-mail, MySQL,
//! home directory, DNS zone, SSL) — the way an operator reads the log, and robust to WHM
//! versions wording the lines a little differently.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::TRANSFER_STAGES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One stored line of a migration's log.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct LogLine {
    #[serde(skip)]
    pub id: Uuid,
    /// Position in the (filtered) log, from 1: what a follower passes back as `after`.
    #[sqlx(default)]
    pub seq: i64,
    pub stage: String,
    pub level: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// The stage and level of one line of WHM's log; `current` is the stage of the lines before
/// (a line naming none stays with it).
pub fn classify(line: &str, current: &str) -> (&'static str, Level) {
    let l = line.to_lowercase();
    let level = if l.contains("failed") || l.contains("error") {
        Level::Error
    } else if l.contains("warn") || l.contains("abort") || l.contains("retry") {
        Level::Warn
    } else {
        Level::Info
    };
    let stage = if l.contains("e-mail") || l.contains(" email") || l.contains("mail") && !l.contains("mysql") {
        "email"
    } else if l.contains("database") || l.contains("mysql") || l.contains("postgres") {
        "databases"
    } else if l.contains("home directory") || l.contains("files") || l.contains("homedir") {
        "files"
    } else if l.contains("dns") || l.contains("zone") {
        "dns"
    } else if l.contains("ssl") || l.contains("certificate") {
        "ssl"
    } else if l.contains("restored account") || l.contains("session completed") {
        "finish"
    } else {
        super::STAGES
            .iter()
            .copied()
            .find(|s| *s == current)
            .unwrap_or("session")
    };
    (stage, level)
}

/// Whether a line says a stage finished for an account (`user: databases done.`).
fn done_stage(line: &str) -> Option<&'static str> {
    let l = line.to_lowercase();
    if !l.trim_end().ends_with("done.") {
        return None;
    }
    TRANSFER_STAGES
        .iter()
        .copied()
        .find(|s| l.contains(&format!(": {s} done")))
}

/// Per transfer stage, percent of `accounts` done, from the whole log so far.
pub fn stage_progress(log: &str, accounts: usize) -> Vec<(&'static str, i64)> {
    let n = accounts.max(1) as i64;
    TRANSFER_STAGES
        .iter()
        .map(|s| {
            let done = log.lines().filter(|l| done_stage(l) == Some(*s)).count() as i64;
            (*s, (done * 100 / n).min(100))
        })
        .collect()
}

/// The migration's overall percent: 10 for the session set up, 85 spread over the stages,
/// the last 5 for finishing.
pub fn overall(stages: &[(&str, i64)]) -> i64 {
    let sum: i64 = stages.iter().map(|(_, p)| *p).sum();
    let n = stages.len().max(1) as i64;
    10 + sum * 85 / (n * 100)
}

/// The stage being worked on: the first not finished.
pub fn current_stage(stages: &[(&'static str, i64)]) -> &'static str {
    stages.iter().find(|(_, p)| *p < 100).map_or("finish", |(s, _)| *s)
}

/// Whether a failure WHM logged is worth another session (the link broke, a timeout) rather
/// than a critical one (corrupt data, no space, the account exists).
pub fn is_temporary(error_log: &str) -> bool {
    let l = error_log.to_lowercase();
    [
        "(temporary)",
        "timed out",
        "timeout",
        "connection reset",
        "was reset",
        "try again",
        "temporarily",
        "connection refused",
    ]
    .iter()
    .any(|m| l.contains(m))
        && !l.contains("(critical)")
}

/// The text past the first `seen` bytes of `log` (WHM returns the whole log each time), cut
/// at a line end so a half-written line is read whole next time; and the new offset.
pub fn new_part(log: &str, seen: usize) -> (&str, usize) {
    if seen >= log.len() || !log.is_char_boundary(seen) {
        return ("", seen.min(log.len()));
    }
    let rest = &log[seen..];
    match rest.rfind('\n') {
        Some(end) => (&rest[..=end], seen + end + 1),
        None => ("", seen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_their_stage() {
        assert_eq!(
            classify("[x] joao01: Dumping and copying MySQL databases …", "session"),
            ("databases", Level::Info)
        );
        assert_eq!(classify("[x] joao01: Copying e-mail accounts", "session").0, "email");
        assert_eq!(classify("[x] joao01: Copying the home directory", "email").0, "files");
        assert_eq!(classify("[x] joao01: Copying the DNS zone", "files").0, "dns");
        assert_eq!(
            classify("[x] joao01: ssl failed (critical): x", "dns"),
            ("ssl", Level::Error)
        );
        assert_eq!(classify("[x] Starting transfer session (2 items).", "email").0, "email");
        assert_eq!(classify("[x] Abort requested", "session").1, Level::Warn);
    }

    #[test]
    fn progress_counts_accounts_done() {
        let log = "a: email done.\nb: email done.\na: databases done.\nb: databases failed\n";
        let p = stage_progress(log, 2);
        assert_eq!(p[0], ("email", 100));
        assert_eq!(p[1], ("databases", 50));
        assert_eq!(p[2], ("files", 0));
        assert_eq!(current_stage(&p), "databases");
        assert_eq!(overall(&p), 10 + 150 * 85 / 500);
    }

    #[test]
    fn temporary_or_critical() {
        assert!(is_temporary(
            "u: files failed (temporary): Connection to the remote server was reset; try again."
        ));
        assert!(!is_temporary("u: databases failed (critical): MySQL dump is corrupt"));
        assert!(!is_temporary("Disk quota exceeded"));
    }

    #[test]
    fn only_whole_lines_are_new() {
        let log = "one\ntwo\nthr";
        assert_eq!(new_part(log, 0), ("one\ntwo\n", 8));
        assert_eq!(new_part(log, 8), ("", 8));
        assert_eq!(
            new_part("one\n", 10),
            ("", 4),
            "a shorter log (a new session) restarts nowhere past its end"
        );
    }
}
