//! The Transfer Tool session API (whm.md § Transfer Tool), run on the destination server:
//! create a remote root or remote user session, enqueue one item per account, start it, poll
//! its state and read its logs, abort it. Calls carrying a password are POSTs (form body), so
//! the source's credentials never land in a URL or an access log, and every error text the
//! server sends back is scrubbed of them.

use reqwest::Method;
use serde::Deserialize;

use super::client::WhmClient;
use super::error::WhmError;
use super::wire::{Answer, NoData};
use super::Secret;

/// How the destination logs in to the source host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferAuth {
    /// `create_remote_root_transfer_session`: `user` (root, or a wheel user escalating with
    /// sudo) and its password; every account of the source can be enqueued.
    Root { user: String, password: Secret },
    /// `create_remote_user_transfer_session`: one cPanel account with its own password.
    User { user: String, password: Secret },
}

impl TransferAuth {
    pub fn password(&self) -> &Secret {
        match self {
            TransferAuth::Root { password, .. } | TransferAuth::User { password, .. } => password,
        }
    }

    pub fn user(&self) -> &str {
        match self {
            TransferAuth::Root { user, .. } | TransferAuth::User { user, .. } => user,
        }
    }

    /// The `module` of `enqueue_transfer_item` for an account under this kind of session.
    pub fn account_module(&self) -> &'static str {
        match self {
            TransferAuth::Root { .. } => "AccountRemoteRoot",
            TransferAuth::User { .. } => "AccountRemoteUser",
        }
    }
}

/// A session to create: where the source is and how to log in.
#[derive(Clone, Debug)]
pub struct NewTransferSession {
    /// Source hostname or IP (must not be the destination itself).
    pub host: String,
    /// The source's SSH port (root sessions); WHM's default 22 when `None`.
    pub ssh_port: Option<u16>,
    pub auth: TransferAuth,
}

/// `create_remote_*_transfer_session`'s data.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CreatedSession {
    pub transfer_session_id: String,
    #[serde(default)]
    pub create_rawout: Option<String>,
    #[serde(default)]
    pub analyze_rawout: Option<String>,
}

/// One account to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferItem {
    /// The account's name on the source.
    pub user: String,
    /// The name to create on the destination (usually the same).
    pub localuser: String,
    /// Bytes, ≥ 1 (WHM picks the destination partition with it).
    pub size: u64,
}

/// A session's state (`state_name`). Unknown names (the per-item `TRANSFER_*`/`RESTORE_*`
/// names some docs list) read as still running: only the terminal names stop a poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionState {
    Pending,
    ReachedMaxMem,
    Running,
    Pausing,
    Aborting,
    Paused,
    Completed,
    Aborted,
    Failed,
    Other(String),
}

impl SessionState {
    pub fn parse(name: &str) -> SessionState {
        match name.trim().to_ascii_uppercase().as_str() {
            "PENDING" => SessionState::Pending,
            "REACHEDMAXMEM" => SessionState::ReachedMaxMem,
            "RUNNING" => SessionState::Running,
            "PAUSING" => SessionState::Pausing,
            "ABORTING" => SessionState::Aborting,
            "PAUSED" => SessionState::Paused,
            "COMPLETED" => SessionState::Completed,
            "ABORTED" => SessionState::Aborted,
            "FAILED" => SessionState::Failed,
            _ => SessionState::Other(name.to_owned()),
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            SessionState::Completed | SessionState::Aborted | SessionState::Failed
        )
    }

    pub fn name(&self) -> &str {
        match self {
            SessionState::Pending => "PENDING",
            SessionState::ReachedMaxMem => "REACHEDMAXMEM",
            SessionState::Running => "RUNNING",
            SessionState::Pausing => "PAUSING",
            SessionState::Aborting => "ABORTING",
            SessionState::Paused => "PAUSED",
            SessionState::Completed => "COMPLETED",
            SessionState::Aborted => "ABORTED",
            SessionState::Failed => "FAILED",
            SessionState::Other(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct StateData {
    state_name: String,
}

#[derive(Deserialize)]
struct LogData {
    #[serde(default)]
    log: String,
}

#[derive(Deserialize)]
struct PidData {
    #[serde(default, deserialize_with = "super::wire::de_opt_text")]
    pid: Option<String>,
}

/// The session-level log files (`logfile=`).
pub const MASTER_LOG: &str = "master.log";
pub const MASTER_ERROR_LOG: &str = "master.error_log";

fn session_id_ok(id: &str) -> Result<(), WhmError> {
    // Session ids are `[A-Za-z0-9_]` (whm.md): anything else did not come from WHM.
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(WhmError::Config(format!("not a transfer session id: {id:?}")));
    }
    Ok(())
}

impl WhmClient {
    /// `create_remote_root_transfer_session` or `create_remote_user_transfer_session` (per
    /// `req.auth`). Creates a new session at every call: store the id before anything else.
    /// The server checks the credentials and analyses the source before answering (slow).
    pub async fn create_transfer_session(&self, req: &NewTransferSession) -> Result<CreatedSession, WhmError> {
        let mut p: Vec<(&str, String)> = vec![("host", req.host.clone())];
        let command = match &req.auth {
            TransferAuth::Root { user, password } => {
                if let Some(port) = req.ssh_port {
                    p.push(("port", port.to_string()));
                }
                p.push(("user", user.clone()));
                p.push(("password", password.expose().to_owned()));
                "create_remote_root_transfer_session"
            }
            TransferAuth::User { user, password } => {
                p.push(("user", user.clone()));
                p.push(("password", password.expose().to_owned()));
                "create_remote_user_transfer_session"
            }
        };
        // Restricted restore is gone from current versions: without this the call fails.
        p.push(("unrestricted_restore", "1".to_owned()));
        let extra = Some(req.auth.password().expose());
        let a: Answer<CreatedSession> = self.call_with(Method::POST, command, &p, true, extra).await?;
        session_id_ok(&a.data.transfer_session_id)?;
        Ok(a.data)
    }

    /// `create_remote_root_transfer_session` (the name of the wire function).
    pub async fn create_remote_root_transfer_session(
        &self,
        host: &str,
        user: &str,
        password: Secret,
    ) -> Result<CreatedSession, WhmError> {
        self.create_transfer_session(&NewTransferSession {
            host: host.to_owned(),
            ssh_port: None,
            auth: TransferAuth::Root {
                user: user.to_owned(),
                password,
            },
        })
        .await
    }

    /// `create_remote_user_transfer_session` (the name of the wire function).
    pub async fn create_remote_user_transfer_session(
        &self,
        host: &str,
        user: &str,
        password: Secret,
    ) -> Result<CreatedSession, WhmError> {
        self.create_transfer_session(&NewTransferSession {
            host: host.to_owned(),
            ssh_port: None,
            auth: TransferAuth::User {
                user: user.to_owned(),
                password,
            },
        })
        .await
    }

    /// `enqueue_transfer_item` for one account (`module` = `AccountRemoteRoot` or
    /// `AccountRemoteUser`). Not idempotent.
    pub async fn enqueue_transfer_item(
        &self,
        session: &str,
        module: &str,
        item: &TransferItem,
    ) -> Result<(), WhmError> {
        session_id_ok(session)?;
        let p = [
            ("transfer_session_id", session.to_owned()),
            ("module", module.to_owned()),
            ("user", item.user.clone()),
            ("localuser", item.localuser.clone()),
            ("size", item.size.max(1).to_string()),
        ];
        let _: Answer<NoData> = self
            .call_with(Method::POST, "enqueue_transfer_item", &p, false, None)
            .await?;
        Ok(())
    }

    /// `start_transfer_session`: runs in the background on the server; returns its pid.
    pub async fn start_transfer_session(&self, session: &str) -> Result<Option<String>, WhmError> {
        session_id_ok(session)?;
        let p = [("transfer_session_id", session.to_owned())];
        let a: Answer<Option<PidData>> = self
            .call_with(Method::GET, "start_transfer_session", &p, false, None)
            .await?;
        Ok(a.data.and_then(|d| d.pid))
    }

    /// `get_transfer_session_state`. Safe to retry.
    pub async fn get_transfer_session_state(&self, session: &str) -> Result<SessionState, WhmError> {
        session_id_ok(session)?;
        let p = [("transfer_session_id", session.to_owned())];
        let a: Answer<StateData> = self
            .call_with(Method::GET, "get_transfer_session_state", &p, false, None)
            .await?;
        Ok(SessionState::parse(&a.data.state_name))
    }

    /// `fetch_transfer_session_log`: the whole current content of `logfile` (no offset: the
    /// caller keeps how much it has already read). Raw: render escaped.
    pub async fn fetch_transfer_session_log(&self, session: &str, logfile: &str) -> Result<String, WhmError> {
        session_id_ok(session)?;
        let p = [
            ("transfer_session_id", session.to_owned()),
            ("logfile", logfile.to_owned()),
        ];
        let a: Answer<LogData> = self
            .call_with(Method::GET, "fetch_transfer_session_log", &p, false, None)
            .await?;
        Ok(a.data.log)
    }

    /// `abort_transfer_session`: the state goes `ABORTING`, then `ABORTED` when the worker
    /// stops.
    pub async fn abort_transfer_session(&self, session: &str) -> Result<(), WhmError> {
        session_id_ok(session)?;
        let p = [("transfer_session_id", session.to_owned())];
        let _: Answer<NoData> = self
            .call_with(Method::GET, "abort_transfer_session", &p, false, None)
            .await?;
        Ok(())
    }
}
