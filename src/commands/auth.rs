//! Who the console acts as, and the account verbs: `init`, `login`, `logout`, `whoami`.

use anyhow::{Context, Result};
use backend::identity::{self, accounts, sessions, Authenticated, LoginOutcome, LoginRequest};
use backend::secrets::{self, KeyConfig, Keys};
use backend::sensitive::Proof;
use backend::{actor, Actor, Db, ServiceError};
use serde::Serialize;

use crate::cli::{InitArgs, LoginArgs};
use crate::config::Config;
use crate::output::{Printer, Record};
use crate::prompt;
use crate::session_store::SessionStore;

/// The acting identity of a batch command or the TUI.
pub enum Identity {
    /// The database has no accounts yet (before `painel init`): the OS user, as super admin.
    Local(Actor),
    Session(Box<Authenticated>, String),
}

impl Identity {
    /// `painel --readonly`: act read-only whatever the account says.
    pub fn make_read_only(&mut self) {
        match self {
            Identity::Local(a) => a.read_only = true,
            Identity::Session(s, _) => s.actor.read_only = true,
        }
    }

    pub fn actor(&self) -> &Actor {
        match self {
            Identity::Local(a) => a,
            Identity::Session(s, _) => &s.actor,
        }
    }
}

/// The stored session's user, or the local operator while no account exists. With accounts
/// but no usable session: permission denied (exit 4) saying to run `painel login`.
pub async fn resolve(cfg: &Config, db: &Db) -> Result<Identity> {
    if !identity::has_users(db).await? {
        return Ok(Identity::Local(Actor::local_operator()));
    }
    let token = SessionStore::new(cfg)?
        .load()?
        .ok_or_else(|| ServiceError::PermissionDenied(sessions::NOT_LOGGED_IN.into()))?;
    let auth = identity::authenticate(db, &token, &actor::detect_source()).await?;
    Ok(Identity::Session(Box::new(auth), token))
}

pub fn key_config(cfg: &Config) -> KeyConfig {
    KeyConfig::from_env(&cfg.data_dir)
}

/// The master keys, restricted to the ones this database registered: nothing here creates a
/// key (`painel keys init` does), and an unregistered key neither seals nor opens.
pub async fn load_keys(cfg: &Config, db: &Db) -> Result<Keys> {
    let loaded = secrets::load(&key_config(cfg))?;
    Ok(secrets::registered(db, &loaded.keys).await?)
}

/// The keys a sensitive action's step-up code needs to be checked (they open the TOTP
/// secret): loaded only when a code was typed, so a confirmation alone works without them.
pub async fn step_up_keys(cfg: &Config, db: &Db, code: Option<&str>) -> Result<Option<Keys>> {
    match code.filter(|c| !c.trim().is_empty()) {
        Some(_) => Ok(Some(load_keys(cfg, db).await?)),
        None => Ok(None),
    }
}

/// The data dir, if it exists, must belong to the OS user running the bootstrap.
fn check_data_dir_owner(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let me = backend::actor::OsUser::current();
    if me.uid.is_some_and(|u| u != meta.uid()) {
        return Err(ServiceError::PermissionDenied(format!(
            "{} belongs to uid {}, not to {}: bootstrap as the service account that owns it",
            dir.display(),
            meta.uid(),
            me.label()
        ))
        .into());
    }
    Ok(())
}

pub(crate) fn password_from(stdin: bool, label: &str, confirm: bool) -> Result<String> {
    if stdin {
        return prompt::stdin_line();
    }
    if !prompt::interactive() {
        return Err(ServiceError::invalid(
            "password",
            "pass --password-stdin when standard input is not a terminal",
        )
        .into());
    }
    let pw = prompt::secret(label)?;
    if confirm && prompt::secret("Repeat the password")? != pw {
        return Err(ServiceError::invalid("password", "the two passwords differ").into());
    }
    Ok(pw)
}

/// `painel init --bootstrap`: the first super admin, created on purpose by the deployment's
/// service account (the OS user that owns the data dir), never as a side effect
/// (docs/adr/0012).
pub async fn init(cfg: &Config, db: &Db, a: InitArgs, out: &mut Printer) -> Result<()> {
    if !a.bootstrap {
        return Err(ServiceError::invalid(
            "bootstrap",
            "painel init creates the deployment's first super admin: run it as the service account with --bootstrap",
        )
        .into());
    }
    check_data_dir_owner(&cfg.data_dir)?;
    let username = prompt::value_or_prompt(a.username, "Username", "--username")?;
    let email = prompt::value_or_prompt(a.email, "E-mail", "--email")?;
    let password = password_from(a.password_stdin, "Password (12+ characters)", true)?;
    let user = accounts::init(
        db,
        &Actor::local_operator(),
        accounts::NewUser {
            username,
            email,
            display_name: a.display_name,
            password: Some(password),
            ..Default::default()
        },
    )
    .await?;
    eprintln!("created super admin {}; log in with `painel login`", user.username);
    out.one(&WhoAmI::of_user(&user, None))
}

pub async fn login(cfg: &Config, db: &Db, a: LoginArgs, out: &mut Printer) -> Result<()> {
    let username = prompt::value_or_prompt(a.username, "Username", "--username")?;
    let password = password_from(a.password_stdin, "Password", false)?;
    let mut req = LoginRequest {
        username,
        password,
        code: a.totp,
        source: actor::detect_source(),
    };
    // Keys are needed only to check a code.
    let mut keys = match &req.code {
        Some(_) => Some(load_keys(cfg, db).await?),
        None => None,
    };
    let mut outcome = identity::login(db, keys.as_ref(), &req).await?;
    if matches!(outcome, LoginOutcome::CodeRequired) {
        if !prompt::interactive() {
            return Err(ServiceError::invalid("totp", "this account has 2FA: pass --totp CODE").into());
        }
        req.code = Some(prompt::line("2FA code (or a recovery code)")?);
        keys = Some(load_keys(cfg, db).await?);
        outcome = identity::login(db, keys.as_ref(), &req).await?;
    }
    let LoginOutcome::Session(new) = outcome else {
        return Err(ServiceError::PermissionDenied(identity::LOGIN_FAILED.into()).into());
    };
    let store = SessionStore::new(cfg)?;
    // Logging in again replaces the session this machine kept: end the old one rather than
    // leave it live and forgotten.
    let previous = store.load().ok().flatten();
    let saved = store
        .save(&new.token)
        .context("logged in, but the session could not be kept")?;
    if let Some(old) = previous.filter(|t| *t != new.token) {
        if let Err(e) = identity::logout(db, &old, &req.source).await {
            tracing::warn!(error = %e, "cannot revoke the previous session");
        }
    }
    eprintln!(
        "logged in as {} ({}) until {}; session kept in {saved}",
        new.user.username,
        new.user.role,
        new.session.expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    out.one(&WhoAmI::of_user(&new.user, Some(&new.session)))
}

pub async fn logout(cfg: &Config, db: &Db, all: bool, out: &mut Printer) -> Result<()> {
    let store = SessionStore::new(cfg)?;
    let Some(token) = store.load()? else {
        eprintln!("not logged in");
        return Ok(());
    };
    let source = actor::detect_source();
    let revoked = if all {
        match identity::authenticate(db, &token, &source).await {
            Ok(auth) => sessions::revoke_all(db, &auth.actor).await?,
            Err(_) => 0,
        }
    } else {
        usize::from(identity::logout(db, &token, &source).await?.is_some())
    };
    store.clear()?;
    eprintln!("logged out ({revoked} session(s) revoked)");
    out.one(&LogoutReport { revoked })
}

pub async fn whoami(cfg: &Config, db: &Db, out: &mut Printer) -> Result<()> {
    match resolve(cfg, db).await? {
        Identity::Local(a) => out.one(&WhoAmI {
            username: a.name.clone(),
            display_name: a.name.clone(),
            role: a.role.as_str().to_owned(),
            tenant_id: None,
            mode: "local-operator",
            two_factor: false,
            session_id: None,
            expires_at: None,
            source: a.source,
            read_only: a.read_only,
        }),
        Identity::Session(s, _) => out.one(&WhoAmI {
            source: s.actor.source.clone(),
            ..WhoAmI::of_user(&s.user, Some(&s.session))
        }),
    }
}

#[derive(Serialize)]
pub struct LogoutReport {
    pub revoked: usize,
}

impl Record for LogoutReport {
    fn columns() -> &'static [&'static str] {
        &["revoked"]
    }
    fn cells(&self) -> Vec<String> {
        vec![self.revoked.to_string()]
    }
}

#[derive(Serialize)]
pub struct WhoAmI {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub tenant_id: Option<uuid::Uuid>,
    /// `session`, `local-operator` (no accounts yet), or `account` (`init`: created, not
    /// logged in).
    pub mode: &'static str,
    pub two_factor: bool,
    pub session_id: Option<uuid::Uuid>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub source: String,
    /// The account looks and changes nothing (docs/adr/0016).
    pub read_only: bool,
}

impl WhoAmI {
    pub(crate) fn of_user(u: &identity::User, s: Option<&sessions::Session>) -> WhoAmI {
        WhoAmI {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.clone(),
            tenant_id: u.tenant_id,
            mode: if s.is_some() { "session" } else { "account" },
            two_factor: u.totp_enabled,
            session_id: s.map(|s| s.id),
            expires_at: s.map(|s| s.expires_at),
            source: s.map(|s| s.source.clone()).unwrap_or_default(),
            read_only: u.read_only,
        }
    }
}

impl Record for WhoAmI {
    fn columns() -> &'static [&'static str] {
        &[
            "username",
            "display_name",
            "role",
            "tenant_id",
            "mode",
            "two_factor",
            "session_id",
            "expires_at",
            "source",
            "read_only",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        vec![
            self.username.clone(),
            self.display_name.clone(),
            self.role.clone(),
            opt(self.tenant_id.map(|t| t.to_string())),
            self.mode.to_owned(),
            if self.two_factor { "on" } else { "off" }.to_owned(),
            opt(self.session_id.map(|t| t.to_string())),
            opt(self.expires_at.map(|t| t.to_rfc3339())),
            self.source.clone(),
            if self.read_only { "on" } else { "off" }.to_owned(),
        ]
    }
}

/// `painel users create` and `painel users read-only`.
pub async fn users(cfg: &Config, db: &Db, actor: &Actor, cmd: crate::cli::UsersCmd, out: &mut Printer) -> Result<()> {
    let (username, email, role, tenant, parent, display_name, password_stdin, confirm, totp) = match cmd {
        crate::cli::UsersCmd::ReadOnly { username, off } => {
            let user = accounts::set_read_only(db, actor, &username, !off).await?;
            return out.one(&WhoAmI::of_user(&user, None));
        }
        crate::cli::UsersCmd::Create {
            username,
            email,
            role,
            tenant,
            parent,
            display_name,
            password_stdin,
            confirm,
            totp,
        } => (
            username,
            email,
            role,
            tenant,
            parent,
            display_name,
            password_stdin,
            confirm,
            totp,
        ),
    };
    let password = if password_stdin {
        Some(password_from(true, "Password", false)?)
    } else {
        None
    };
    let new = accounts::NewAccount {
        username,
        email,
        display_name,
        password,
        role,
        tenant,
        parent,
    };
    let keys = step_up_keys(cfg, db, totp.as_deref()).await?;
    let proof = Proof::confirm(confirm.as_deref().unwrap_or("")).with_step_up(totp.as_deref(), keys.as_ref());
    let user = accounts::create_account(db, actor, new, &proof).await?;
    out.one(&WhoAmI::of_user(&user, None))
}
