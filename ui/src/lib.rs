//! painel's terminal UI: a keyboard-driven operator console over the `backend` service layer.
//!
//! [`run`] owns the terminal and the event loop; [`App`] is the pure state it drives (tests and
//! the bench construct it directly and draw it into a `TestBackend`).

pub mod action;
pub mod app;
pub mod chrome;
pub mod form;
pub mod help;
pub mod keymap;
pub mod palette;
pub mod router;
pub mod screens;
pub mod tasks;
pub mod terminal;

use std::time::Duration;

use std::sync::Arc;

use backend::identity::NewSession;
use backend::secrets::KeyConfig;
use backend::{Actor, Db};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{signal, SignalKind};

pub use action::Action;
pub use app::App;
pub use router::Route;
pub use tasks::BackendResult;

/// How the binary configures the UI.
pub struct UiOptions {
    pub theme: widgets::Theme,
    /// "sqlite" or "postgres", shown in the status bar.
    pub backend_label: String,
    /// A sitemap path to open first (`tenants`, `billing/invoices`, `tenants/acme/limits`).
    pub start_route: Option<String>,
    /// Where the master keys come from (checking 2FA codes); `None` turns codes off.
    pub keys: Option<KeyConfig>,
    /// Start on the login screen: accounts exist and there is no valid session.
    pub login: Option<LoginOptions>,
    /// `painel --readonly`: the console acts read-only whoever signs in (docs/adr/0016).
    pub read_only: bool,
    /// The preset with the user's keymap file laid over it (checked before the console
    /// starts); `None`: the preset.
    pub keymap: Option<keymap::Keymap>,
}

/// Called with a new session after a successful login (the binary keeps its token).
pub type OnLogin = Arc<dyn Fn(&NewSession) + Send + Sync>;

pub struct LoginOptions {
    /// Shown above the form, e.g. "session expired — log in again".
    pub notice: Option<String>,
    pub on_login: Option<OnLogin>,
    /// Already signed in with this session (the actor given to `App::new` is its user): the
    /// app starts on the console and re-checks the session every minute, showing the login
    /// screen again once it has expired or been revoked. `None`: start on the login screen.
    pub token: Option<String>,
    /// The identity came from outside (an SSH key, docs/adr/0012): when the session ends the
    /// app quits, printing why, instead of offering a login as anyone else.
    pub end_on_sign_out: bool,
}

impl UiOptions {
    /// Defaults for everything but the theme.
    pub fn new(theme: widgets::Theme, backend_label: &str) -> UiOptions {
        UiOptions {
            theme,
            backend_label: backend_label.to_owned(),
            start_route: None,
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        }
    }
}

const TICK: Duration = Duration::from_millis(250);

/// Runs the TUI until the operator quits, Ctrl-C, SIGTERM or SIGINT. The terminal is restored
/// on every way out, panics included.
pub async fn run(db: Db, actor: Actor, opts: UiOptions) -> anyhow::Result<()> {
    let mut app = App::new(db, actor, opts);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut guard = terminal::TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        if app.dirty {
            guard.terminal.draw(|f| app.draw(f))?;
            app.dirty = false;
        }
        if app.should_quit() {
            break;
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) => app.handle_key(key),
                Some(Ok(Event::Resize(..))) => {
                    guard.terminal.autoresize()?;
                    app.dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            _ = tick.tick() => app.tick(),
            Some(r) = app.next_result() => {
                app.apply(r);
                app.drain_ready();
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    drop(guard);
    if let Some(why) = app.ended() {
        eprintln!("{why}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `run` is awaited from `#[tokio::main]` and may be spawned: its future must be Send.
    #[allow(dead_code)]
    fn run_is_send(db: backend::Db, actor: backend::Actor, opts: super::UiOptions) {
        fn is_send<T: Send>(_: &T) {}
        let fut = super::run(db, actor, opts);
        is_send(&fut);
    }
}
