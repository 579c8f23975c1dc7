//! The Transfer Tool session API on a simulated destination server (whm.md § Transfer Tool):
//! `create_remote_root_transfer_session` / `create_remote_user_transfer_session` check the
//! credentials against the simulated source (found by name, `127.0.0.1:PORT` or its URL among
//! the sandbox's servers), `enqueue_transfer_item` copies the account's description,
//! `start_transfer_session` starts the clock. The session then moves on with the wall clock:
//! each account goes through e-mail, databases, files, DNS and SSL, one stage taking about
//! the sandbox's pace (scaled by the account's disk), each leaving lines in `master.log`;
//! a finished account is created on this server. A stage may fail through a fault on the
//! operation `transfer:<stage>` (e.g. `transfer:databases`): an `envelope` fault is a
//! critical failure with its reason, any other kind a temporary one (the link to the source
//! broke); either way the session ends `FAILED` and `master.error_log` says why.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::json;

use super::handlers::{Outcome, Params};
use super::state::{Account, NewAccount, Package};
use super::{unix_now, WhmServer};
use crate::faults::{lock, FaultKind};
use crate::rng::{mix, SplitMix};

/// The stages every account goes through, in order, as the log names them.
pub const STAGES: [&str; 5] = ["email", "databases", "files", "dns", "ssl"];

/// The password of `user` (`root` or an account) on simulated server `server`, derived from
/// the seed like its API token: what a migration's credentials must say.
pub fn source_password(seed: u64, server: &str, user: &str) -> String {
    format!("Src-{:012x}", mix(seed, &[server, "password", user]) & 0xffff_ffff_ffff)
}

/// The sandbox's servers as a transfer's source sees them: by name and by port.
#[derive(Default)]
pub struct Network {
    servers: Mutex<BTreeMap<String, (u16, Weak<WhmServer>)>>,
}

impl Network {
    pub fn add(&self, name: &str, port: u16, server: &Arc<WhmServer>) {
        lock(&self.servers).insert(name.to_owned(), (port, Arc::downgrade(server)));
    }

    /// `host` as a client gives it: a server name, `127.0.0.1:PORT`, `localhost:PORT` or a
    /// URL with one of them.
    fn resolve(&self, host: &str) -> Option<Arc<WhmServer>> {
        let h = host.trim();
        let h = h.split_once("://").map_or(h, |(_, rest)| rest).trim_end_matches('/');
        let servers = lock(&self.servers);
        if let Some((_, w)) = servers.get(h) {
            return w.upgrade();
        }
        let port: u16 = h.rsplit_once(':')?.1.parse().ok()?;
        servers
            .values()
            .find(|(p, _)| *p == port)
            .and_then(|(_, w)| w.upgrade())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Aborting,
    Completed,
    Aborted,
    Failed,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Pending => "PENDING",
            State::Running => "RUNNING",
            State::Aborting => "ABORTING",
            State::Completed => "COMPLETED",
            State::Aborted => "ABORTED",
            State::Failed => "FAILED",
        }
    }
}

struct Item {
    account: Account,
    package: Option<Package>,
    /// How long each stage takes.
    stage_ms: [u64; 5],
}

struct Session {
    host: String,
    remote_user: Option<String>,
    state: State,
    items: Vec<Item>,
    started: Option<Instant>,
    /// Stages already played out (over all items, in order).
    done: usize,
    log: String,
    error_log: String,
    aborting_since: Option<Instant>,
    /// Creation order.
    seq: u64,
}

/// One server's sessions.
#[derive(Default)]
pub struct Sessions {
    map: BTreeMap<String, Session>,
    next: u64,
}

impl Sessions {
    /// Every session this server holds as (id, state name), oldest first — what an operator
    /// sees in WHM's Transfer Tool history (the API has no such list).
    pub fn list(&self) -> Vec<(String, String)> {
        let mut v: Vec<(u64, String, String)> = self
            .map
            .iter()
            .map(|(id, s)| (s.seq, id.clone(), s.state.name().to_owned()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id, st)| (id, st)).collect()
    }
}

/// The transfer functions; None for any other function.
pub(crate) fn dispatch(s: &WhmServer, function: &str, p: &Params) -> Option<Outcome> {
    let out = match function {
        "create_remote_root_transfer_session" => create(s, p, true),
        "create_remote_user_transfer_session" => create(s, p, false),
        "enqueue_transfer_item" => enqueue(s, p),
        "start_transfer_session" => with_session(s, p, |_, sess| start(sess)),
        "get_transfer_session_state" => with_session(s, p, |srv, sess| {
            advance(srv, sess);
            Outcome::ok(Some(json!({ "state_name": sess.state.name() })))
        }),
        "fetch_transfer_session_log" => with_session(s, p, |srv, sess| {
            advance(srv, sess);
            match p.get("logfile") {
                Some("master.log") => Outcome::ok(Some(json!({ "log": sess.log }))),
                Some("master.error_log") => Outcome::ok(Some(json!({ "log": sess.error_log }))),
                Some(other) => Outcome::fail(format!("The log file “{other}” does not exist.")),
                None => Outcome::fail("The parameter “logfile” is required."),
            }
        }),
        "abort_transfer_session" | "pause_transfer_session" => with_session(s, p, |srv, sess| {
            advance(srv, sess);
            let verb = if function.starts_with("abort") {
                "abort"
            } else {
                "pause"
            };
            if matches!(sess.state, State::Completed | State::Aborted | State::Failed) || verb == "pause" {
                return Outcome::fail(format!("The system failed to “{verb}” the transfer session."));
            }
            if sess.state == State::Pending {
                sess.state = State::Aborted;
            } else {
                sess.state = State::Aborting;
                sess.aborting_since = Some(Instant::now());
            }
            let line = format!("{} Abort requested by the administrator.\n", stamp());
            sess.log.push_str(&line);
            Outcome::ok(None)
        }),
        _ => return None,
    };
    Some(out)
}

fn stamp() -> String {
    let t = unix_now();
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "[{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000]",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn create(s: &WhmServer, p: &Params, root: bool) -> Outcome {
    let host = p.get("host").unwrap_or_default();
    if host.is_empty() {
        return Outcome::fail("The parameter “host” is required.");
    }
    if p.get("unrestricted_restore") != Some("1") {
        return Outcome::fail("Restricted restore is not available; set “unrestricted_restore” to 1.");
    }
    let Some(src) = s.network.resolve(host) else {
        return Outcome::fail(format!("The system was unable to resolve the host “{host}”."));
    };
    if std::ptr::eq(Arc::as_ptr(&src), s) {
        return Outcome::fail(format!("The host “{host}” resolves to this server."));
    }
    let user = p.get("user").unwrap_or(if root { "root" } else { "" });
    let password = p.get("password").unwrap_or_default();
    let exists = root && user == "root" || !root && lock(&src.state).accounts.contains_key(user);
    if !exists || password != source_password(s.seed, &src.name, user) {
        return Outcome::fail("The remote basic credential check failed: Permission denied (publickey,password).");
    }
    let mut sessions = lock(&s.transfers);
    sessions.next += 1;
    let seq = sessions.next;
    let clean: String = src.name.chars().filter(char::is_ascii_alphanumeric).collect();
    let id = format!(
        "{clean}{}{:04}{:06x}",
        if root { "copya" } else { "noroo" },
        sessions.next,
        mix(s.seed, &[&s.name, "session", &sessions.next.to_string()]) & 0xff_ffff
    );
    let log = format!(
        "{} Transfer session {id} created.\n{} Remote Server Type: WHM118 ({})\n",
        stamp(),
        stamp(),
        src.name
    );
    sessions.map.insert(
        id.clone(),
        Session {
            host: src.name.clone(),
            remote_user: (!root).then(|| user.to_owned()),
            state: State::Pending,
            items: Vec::new(),
            started: None,
            done: 0,
            log,
            error_log: String::new(),
            aborting_since: None,
            seq,
        },
    );
    Outcome::ok(Some(json!({
        "transfer_session_id": id,
        "create_rawout": format!("Remote Server Type: WHM118\nConnected to {}\n", src.name),
        "analyze_rawout": "Remote analysis complete.\n",
    })))
}

fn enqueue(s: &WhmServer, p: &Params) -> Outcome {
    let id = p.get("transfer_session_id").unwrap_or_default().to_owned();
    let module = p.get("module").unwrap_or_default();
    let user = p.get("user").unwrap_or_default().to_owned();
    let (host, remote_user) = match lock(&s.transfers).map.get(&id) {
        None => return no_session(&id),
        Some(sess) if sess.state != State::Pending => {
            return Outcome::fail("Items can only be added to a pending transfer session.")
        }
        Some(sess) => (sess.host.clone(), sess.remote_user.clone()),
    };
    let wanted = if remote_user.is_some() {
        "AccountRemoteUser"
    } else {
        "AccountRemoteRoot"
    };
    if module != wanted {
        if [
            "AccountRemoteRoot",
            "AccountRemoteUser",
            "PackageRemoteRoot",
            "FeatureListRemoteRoot",
        ]
        .contains(&module)
        {
            return Outcome::fail(format!(
                "The module “{module}” cannot be used in this transfer session."
            ));
        }
        return Outcome::fail(format!("The transfer session module “{module}” does not exist."));
    }
    if remote_user.as_deref().is_some_and(|u| u != user) {
        return Outcome::fail(format!(
            "This session may only transfer the account “{}”.",
            remote_user.unwrap_or_default()
        ));
    }
    // The source is read without holding this server's locks (two servers may transfer to
    // each other at once).
    let Some(src) = s.network.resolve(&host) else {
        return Outcome::fail(format!("The system was unable to resolve the host “{host}”."));
    };
    let (account, package) = {
        let st = lock(&src.state);
        let Some(a) = st.accounts.get(&user) else {
            return Outcome::fail(format!("The account “{user}” does not exist on the remote server."));
        };
        (a.clone(), st.packages.get(&a.plan).cloned())
    };
    let localuser = p.get("localuser").filter(|u| !u.is_empty()).unwrap_or(&user).to_owned();
    let pace = s.transfer_pace.as_millis() as u64;
    let mut r = SplitMix::derived(s.seed, &[&s.name, "transfer", &id, &user]);
    // Bigger accounts take longer; files most of all.
    let weight = 1 + account.disk_used_mb / 512;
    let mut stage_ms = [0u64; 5];
    for (i, ms) in stage_ms.iter_mut().enumerate() {
        let base = pace.max(1) * if STAGES[i] == "files" { 2 * weight } else { 1 };
        *ms = base / 2 + r.range(0, base);
    }
    let mut account = account;
    account.user = localuser;
    let mut sessions = lock(&s.transfers);
    let Some(sess) = sessions.map.get_mut(&id) else {
        return no_session(&id);
    };
    sess.log
        .push_str(&format!("{} Enqueued account {user} ({module}).\n", stamp()));
    sess.items.push(Item {
        account,
        package,
        stage_ms,
    });
    Outcome::ok(None)
}

fn no_session(id: &str) -> Outcome {
    Outcome::fail(format!("The transfer session “{id}” does not exist."))
}

fn with_session(s: &WhmServer, p: &Params, f: impl FnOnce(&WhmServer, &mut Session) -> Outcome) -> Outcome {
    let id = p.get("transfer_session_id").unwrap_or_default().to_owned();
    let mut sessions = lock(&s.transfers);
    match sessions.map.get_mut(&id) {
        Some(sess) => f(s, sess),
        None => no_session(&id),
    }
}

fn start(sess: &mut Session) -> Outcome {
    if sess.state != State::Pending {
        return Outcome::fail("The transfer session has already started.");
    }
    if sess.items.is_empty() {
        return Outcome::fail("The transfer session has no items to process.");
    }
    sess.state = State::Running;
    sess.started = Some(Instant::now());
    sess.log.push_str(&format!(
        "{} Starting transfer session ({} items).\n",
        stamp(),
        sess.items.len()
    ));
    Outcome::ok(Some(json!({ "pid": (10_000 + sess.items.len() * 7).to_string() })))
}

const STARTED: [&str; 5] = [
    "Copying e-mail accounts, forwarders and filters",
    "Dumping and copying MySQL databases",
    "Copying the home directory",
    "Copying the DNS zone",
    "Copying SSL certificates and keys",
];

/// Plays the session forward to now: stages whose time has come are logged, faults
/// decided, finished accounts created here.
fn advance(s: &WhmServer, sess: &mut Session) {
    if let (State::Aborting, Some(since)) = (sess.state, sess.aborting_since) {
        if since.elapsed() >= s.transfer_pace / 2 {
            sess.state = State::Aborted;
            sess.log.push_str(&format!("{} Transfer session aborted.\n", stamp()));
        }
        return;
    }
    let (State::Running, Some(started)) = (sess.state, sess.started) else {
        return;
    };
    let elapsed = started.elapsed().as_millis() as u64;
    let total = sess.items.len() * STAGES.len();
    let mut at = 0u64;
    for k in 0..total {
        let (i, st) = (k / STAGES.len(), k % STAGES.len());
        let ms = sess.items[i].stage_ms[st];
        let user = sess.items[i].account.user.clone();
        if k >= sess.done {
            if st == 0 && at <= elapsed && !sess.log.contains(&format!("Transferring account {user} ")) {
                sess.log
                    .push_str(&format!("{} Transferring account {user} …\n", stamp()));
            }
            if at <= elapsed && !sess.log.contains(&format!("{user}: {}", STARTED[st])) {
                sess.log.push_str(&format!("{} {user}: {} …\n", stamp(), STARTED[st]));
            }
            if at + ms > elapsed {
                return;
            }
            sess.done = k + 1;
            if let Some(kind) = s.faults.decide_own(&format!("transfer:{}", STAGES[st])) {
                let (class, why) = match kind {
                    FaultKind::Envelope { reason } => ("critical", reason),
                    _ => (
                        "temporary",
                        "Connection to the remote server was reset; try again.".to_owned(),
                    ),
                };
                let line = format!("{} {user}: {} failed ({class}): {why}\n", stamp(), STAGES[st]);
                sess.log.push_str(&line);
                sess.error_log.push_str(&line);
                sess.state = State::Failed;
                sess.log.push_str(&format!("{} Transfer session failed.\n", stamp()));
                return;
            }
            sess.log
                .push_str(&format!("{} {user}: {} done.\n", stamp(), STAGES[st]));
            if st == STAGES.len() - 1 {
                restore(s, sess, i);
                if sess.state == State::Failed {
                    return;
                }
            }
        }
        at += ms;
    }
    sess.state = State::Completed;
    sess.log.push_str(&format!("{} Transfer session completed.\n", stamp()));
}

/// Creates item `i`'s account on this server (its package first when missing).
fn restore(s: &WhmServer, sess: &mut Session, i: usize) {
    let item = &sess.items[i];
    let a = &item.account;
    let mut st = lock(&s.state);
    if let Some(pkg) = &item.package {
        st.packages.entry(pkg.name.clone()).or_insert_with(|| pkg.clone());
    }
    let new = NewAccount {
        user: Some(&a.user),
        domain: Some(&a.domain),
        plan: Some(&a.plan),
        email: Some(&a.email),
        owner: Some(&a.owner),
        password: None,
    };
    let line = match st.create(&new, unix_now()) {
        Ok(_) => format!("{} Restored account {} on this server.\n", stamp(), a.user),
        Err(e) => {
            let line = format!("{} {}: restore failed (critical): {e}\n", stamp(), a.user);
            sess.error_log.push_str(&line);
            sess.state = State::Failed;
            line
        }
    };
    sess.log.push_str(&line);
}

/// How long a stage takes by default (about half a minute per account).
pub const DEFAULT_PACE: Duration = Duration::from_secs(4);
