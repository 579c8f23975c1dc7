//! The application state: a history of screens, popups (help, palette), the keymap, flash
//! messages and the backend task set. Pure: no terminal here, so tests drive it with key
//! events and draw it into a `TestBackend`.

use std::time::{Duration, Instant};

use backend::{Actor, Db};
use crossterm::event::{KeyEvent, KeyEventKind};
use widgets::{Flash, Theme};

use crate::action::Action;
use crate::help::Help;
use crate::keymap::{key_name, Context, Keymap, Lookup};
use crate::palette::Palette;
use crate::router::{Route, TenantTab};
use crate::screens::login::{self, LoginScreen};
use crate::screens::{self, Ctx, Mode, Screen};
use crate::tasks::{BackendResult, Job, Tasks};
use crate::{OnLogin, UiOptions};

mod draw;

pub const FLASH_FOR: Duration = Duration::from_secs(4);
pub const DEFAULT_PAGE_SIZE: usize = 100;
const HISTORY: usize = 32;
/// The screen id of the login screen, which is not on the stack.
const LOGIN_SID: u64 = 0;
/// The screen id the palette's lookups run under (it is not on the stack either).
const PALETTE_SID: u64 = u64::MAX;

pub enum Popup {
    Help(Help),
    Palette(Palette),
}

pub struct App {
    pub keymap: Keymap,
    pub theme: Theme,
    pub backend_label: String,
    tasks: Tasks,
    stack: Vec<(u64, Box<dyn Screen>)>,
    pub popup: Option<Popup>,
    pending_keys: Vec<String>,
    flash: Option<(Flash, Instant)>,
    outbox: Vec<(u64, Job)>,
    page_size: usize,
    next_sid: u64,
    pub dirty: bool,
    quit: bool,
    /// While `Some`, the console is hidden behind the login screen.
    pub login: Option<LoginScreen>,
    on_login: Option<OnLogin>,
    start_route: String,
    /// The session acted through, re-checked every [`SESSION_CHECK`].
    session_token: Option<String>,
    session_checked: Instant,
    /// Quit rather than show the login screen when the session ends (SSH-bound sessions).
    end_on_sign_out: bool,
    ended: Option<String>,
}

/// Whether the session is still valid, re-read with its role's permissions.
struct SessionCheck(Result<backend::identity::Authenticated, backend::ServiceError>);

/// How often the TUI asks whether its session is still valid.
pub const SESSION_CHECK: Duration = Duration::from_secs(60);
const SESSION_SLOT: &str = "session";

/// Who the app acts as before anyone signed in: nobody who can see anything (a read-only
/// role confined to a tenant that does not exist). No screen exists to use it; this is the
/// fallback should one ever ask.
fn signed_out() -> Actor {
    Actor {
        user_id: None,
        name: "(not signed in)".to_owned(),
        role: backend::Role::OnCall,
        tenant_id: Some(uuid::Uuid::nil()),
        source: backend::actor::detect_source(),
        session_id: None,
        grants: backend::authz::Grants::default(),
        read_only: false,
    }
}

impl App {
    pub fn new(db: Db, actor: Actor, opts: UiOptions) -> App {
        let end_on_sign_out = opts.login.as_ref().is_some_and(|l| l.end_on_sign_out);
        let (login, on_login, session_token, actor) = match opts.login {
            Some(l) if l.token.is_some() => (None, l.on_login, l.token, actor),
            Some(l) => (Some(LoginScreen::new(l.notice)), l.on_login, None, signed_out()),
            None => (None, None, None, actor),
        };
        let start = opts.start_route.unwrap_or_else(|| "dashboard".to_owned());
        let mut app = App {
            keymap: opts.keymap.unwrap_or_else(Keymap::default_keymap),
            theme: opts.theme,
            backend_label: opts.backend_label,
            tasks: Tasks::new(db, actor, opts.keys),
            stack: Vec::new(),
            popup: None,
            pending_keys: Vec::new(),
            flash: None,
            outbox: Vec::new(),
            page_size: DEFAULT_PAGE_SIZE,
            next_sid: 1,
            dirty: true,
            quit: false,
            login,
            on_login,
            start_route: start,
            session_token,
            session_checked: Instant::now(),
            end_on_sign_out,
            ended: None,
        };
        if opts.read_only {
            app.tasks.force_read_only();
        }
        if app.login.is_none() {
            app.open_start();
        }
        app
    }

    /// Whether the hint bar and `?` help offer `a` now: what the screen offers, less every
    /// change when acting read-only.
    pub fn offers(&self, a: &Action) -> bool {
        !(self.actor().read_only && a.mutates()) && self.permits(a) && self.screen().is_none_or(|s| s.offers(a))
    }

    /// Whether the actor's grants allow `a` on the screen on top (what the screen says it
    /// needs, docs/adr/0016).
    pub fn permits(&self, a: &Action) -> bool {
        let needs = self.screen().and_then(|s| s.needs(a));
        needs.is_none_or(|p| backend::authz::allows(self.actor(), p))
    }

    /// Whether the actor may open `route` (its read permission).
    pub fn may_open(&self, route: &Route) -> bool {
        screens::route_permission(route).is_none_or(|p| backend::authz::allows(self.actor(), p))
    }

    /// The tabs above the screen: a section's pages the actor may open, or the screen's own.
    pub fn visible_tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        let screen = self.screen()?;
        let route = screen.route();
        let Route::Page(here) = &route else {
            return screen.tabs();
        };
        screen.tabs()?;
        let pages: Vec<&'static crate::router::Page> = route
            .section()
            .pages
            .iter()
            .filter_map(|p| crate::router::page_at(p))
            .filter(|p| p.path == here.path || self.may_open(&Route::Page(p)))
            .collect();
        if pages.len() < 2 {
            return None;
        }
        let i = pages.iter().position(|p| p.path == here.path).unwrap_or(0);
        Some((pages.iter().map(|p| p.title).collect(), i))
    }

    /// Asks the backend whether the session is still valid (every minute from `tick`).
    pub fn check_session(&mut self) {
        if let (Some(token), None) = (&self.session_token, &self.login) {
            let token = token.clone();
            let job = Job::call(SESSION_SLOT, |env| async move {
                SessionCheck(backend::identity::authenticate(&env.db, &token, &env.actor.source).await)
            });
            self.outbox.push((LOGIN_SID, job));
            self.session_checked = Instant::now();
            self.flush();
        }
    }

    /// The session ended (expired, revoked): back to the login screen, saying why.
    fn sign_out(&mut self, why: String) {
        if self.end_on_sign_out {
            self.session_token = None;
            self.tasks.set_actor(signed_out());
            self.ended = Some(why);
            self.quit = true;
            return;
        }
        for (sid, _) in std::mem::take(&mut self.stack) {
            self.forget(sid);
        }
        self.popup = None;
        self.session_token = None;
        self.tasks.set_actor(signed_out());
        self.login = Some(LoginScreen::new(Some(why)));
        self.dirty = true;
    }

    fn open_start(&mut self) {
        let start = self.start_route.clone();
        match Route::parse(&start) {
            Some(r) => self.push(r),
            None => {
                self.push(Route::dashboard());
                self.flash_error(format!("no such screen: {start}"));
            }
        }
    }

    /// The login succeeded: keep the token, act as the session's user, open the console.
    fn signed_in(&mut self, s: Box<backend::identity::NewSession>) {
        if let Some(keep) = &self.on_login {
            keep(&s);
        }
        self.tasks.set_actor(s.actor.clone());
        self.session_token = Some(s.token.clone());
        self.session_checked = Instant::now();
        self.login = None;
        self.open_start();
        self.set_flash(Flash::success(format!("signed in as {}", s.user.username)));
    }

    /// Rows fetched per page (default 100); reopens the current screen with the new size.
    pub fn set_page_size(&mut self, n: usize) {
        self.page_size = n.max(1);
        let route = self.route();
        self.replace(route);
    }

    pub fn actor(&self) -> &Actor {
        self.tasks.actor()
    }

    pub fn route(&self) -> Route {
        self.stack.last().map_or_else(Route::dashboard, |(_, s)| s.route())
    }

    pub fn screen(&self) -> Option<&dyn Screen> {
        self.stack.last().map(|(_, s)| s.as_ref())
    }

    pub fn screen_mut(&mut self) -> Option<&mut dyn Screen> {
        self.stack.last_mut().map(|(_, s)| s.as_mut() as &mut dyn Screen)
    }

    /// The screen on top as its own type (tests, bench).
    pub fn screen_as<T: Screen>(&self) -> Option<&T> {
        self.screen().and_then(|s| s.downcast_ref())
    }

    pub fn screen_as_mut<T: Screen>(&mut self) -> Option<&mut T> {
        self.screen_mut().and_then(|s| s.downcast_mut())
    }

    /// Why an SSH-bound session ended the app, if it did.
    pub fn ended(&self) -> Option<&str> {
        self.ended.as_deref()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    pub fn flash(&self) -> Option<&Flash> {
        self.flash.as_ref().map(|(f, _)| f)
    }

    fn set_flash(&mut self, f: Flash) {
        self.flash = Some((f, Instant::now()));
        self.dirty = true;
    }

    fn flash_error(&mut self, text: String) {
        self.set_flash(Flash::error(text));
    }

    // ---- navigation -------------------------------------------------------------------

    fn push(&mut self, route: Route) {
        // The covered screen stops following live events; it starts again on `back`.
        if let Some((covered, _)) = self.stack.last() {
            self.tasks.forget_streams(*covered);
        }
        let sid = self.next_sid;
        self.next_sid += 1;
        let mut screen = match screens::route_permission(&route) {
            Some(p) if !backend::authz::allows(self.actor(), p) => {
                Box::new(screens::Forbidden::new(route.clone(), self.actor(), p))
            }
            _ => screens::for_route(&route, &self.theme),
        };
        let mut ctx = Ctx::new(self.page_size);
        screen.start(&mut ctx);
        self.stack.push((sid, screen));
        if self.stack.len() > HISTORY {
            let (old, _) = self.stack.remove(0);
            self.forget(old);
        }
        self.process(sid, ctx);
        self.dirty = true;
    }

    fn pop(&mut self) {
        if let Some((sid, _)) = self.stack.pop() {
            self.forget(sid);
        }
    }

    fn forget(&mut self, sid: u64) {
        self.tasks.forget_screen(sid);
        self.outbox.retain(|(s, _)| *s != sid);
    }

    fn replace(&mut self, route: Route) {
        self.pop();
        self.push(route);
    }

    fn navigate(&mut self, route: Route) {
        if route != self.route() {
            self.push(route);
        }
    }

    /// `q`/`Esc`: the previous screen, else the parent page, else quit.
    fn back(&mut self) {
        if self.stack.len() > 1 {
            self.pop();
            // The screen below may be stale (a tenant was created or suspended): refresh it.
            if let Some((sid, screen)) = self.stack.last_mut() {
                let sid = *sid;
                let mut ctx = Ctx::new(self.page_size);
                screen.start(&mut ctx);
                self.process(sid, ctx);
            }
        } else if let Some(parent) = self.route().parent() {
            self.replace(parent);
        } else {
            self.quit = true;
        }
        self.dirty = true;
    }

    // ---- keys and actions ------------------------------------------------------------

    fn contexts(&self) -> (Vec<Context>, bool) {
        if self.login.is_some() {
            return (vec![Context::Form], true);
        }
        match &self.popup {
            Some(Popup::Help(_)) => (vec![Context::Help], false),
            Some(Popup::Palette(_)) => (vec![Context::Palette], true),
            None => self.mode_contexts(),
        }
    }

    /// The keymap contexts of the screen on top, whatever popup covers it.
    fn mode_contexts(&self) -> (Vec<Context>, bool) {
        match self.screen().map_or(Mode::List, |s| s.mode()) {
            Mode::List => (vec![Context::List, Context::Global], false),
            Mode::Jobs => (vec![Context::Jobs, Context::List, Context::Global], false),
            Mode::Audit => (vec![Context::Audit, Context::List, Context::Global], false),
            Mode::Form => (vec![Context::Form], true),
            Mode::Text => (vec![Context::Palette], true),
        }
    }

    /// The screen's contexts for `?` help, app-wide keys first.
    pub fn screen_contexts(&self) -> Vec<Context> {
        let (mut ctx, _) = self.mode_contexts();
        if ctx.last() == Some(&Context::Global) {
            ctx.rotate_right(1);
        }
        ctx
    }

    /// The hint-bar contexts for the current state.
    pub fn hint_contexts(&self) -> Vec<Context> {
        let (mut ctx, _) = self.contexts();
        // The app-wide keys (cmd, help, back) lead the hint bar.
        if ctx.last() == Some(&Context::Global) {
            ctx.rotate_right(1);
        }
        ctx
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        self.dirty = true;
        // An error is about what was just tried: the next key is a new attempt, and whatever
        // it brings (a new error, a success, nothing) must not sit beside the old message.
        if self
            .flash
            .as_ref()
            .is_some_and(|(f, _)| f.kind == widgets::FlashKind::Error)
        {
            self.flash = None;
        }
        let (contexts, text) = self.contexts();
        let Some(name) = key_name(&key) else {
            if text {
                self.text_input(key);
            }
            return;
        };
        let mut seq = std::mem::take(&mut self.pending_keys);
        seq.push(name.clone());
        let mut found = self.keymap.lookup(&contexts, &seq);
        if found == Lookup::None && seq.len() > 1 {
            found = self.keymap.lookup(&contexts, std::slice::from_ref(&name));
        }
        match found {
            Lookup::Action(a) => self.dispatch(a),
            Lookup::Prefix => self.pending_keys = seq,
            Lookup::None if text => self.text_input(key),
            Lookup::None => {}
        }
        self.flush();
    }

    fn text_input(&mut self, key: KeyEvent) {
        if let Some(l) = &mut self.login {
            l.on_input(key);
            return;
        }
        if let Some(Popup::Palette(p)) = &mut self.popup {
            if p.on_input(key) {
                let term = p.term();
                self.look_up(term, false);
            }
            return;
        }
        let page_size = self.page_size;
        if let Some((sid, screen)) = self.stack.last_mut() {
            let sid = *sid;
            let mut ctx = Ctx::new(page_size);
            screen.on_input(key, &mut ctx);
            self.process(sid, ctx);
        }
    }

    /// Runs an action: popups first, then app-wide actions, then the screen, then the router.
    pub fn dispatch(&mut self, a: Action) {
        self.dirty = true;
        if let Some(l) = &mut self.login {
            let mut ctx = Ctx::new(self.page_size);
            if l.on_action(&a, &mut ctx) == login::Outcome::Quit {
                self.quit = true;
            }
            self.process(LOGIN_SID, ctx);
            return;
        }
        match &mut self.popup {
            Some(Popup::Help(h)) => {
                match a {
                    Action::Close | Action::Back | Action::Help => self.popup = None,
                    Action::Quit => self.quit = true,
                    other => h.on_action(&other),
                }
                return;
            }
            Some(Popup::Palette(p)) => {
                match a {
                    Action::Close | Action::Back => self.popup = None,
                    Action::Quit => self.quit = true,
                    Action::Accept => {
                        let chosen = p.accept();
                        let term = p.term();
                        self.popup = None;
                        match (chosen, term) {
                            (Some(c), _) => self.route_action(c),
                            // Nothing found yet (typed fast): look it up now and open it.
                            (None, Some(term)) => self.look_up(Some(term), true),
                            (None, None) => {}
                        }
                    }
                    other => p.on_action(&other),
                }
                return;
            }
            None => {}
        }
        match a {
            Action::Quit => self.quit = true,
            Action::Help => self.popup = Some(Popup::Help(Help::default())),
            Action::Palette => self.popup = Some(Popup::Palette(Palette::for_actor(self.actor()))),
            // Read-only: a change is not even started (the backend would refuse it).
            a if a.mutates() && self.actor().read_only && self.screen().is_some_and(|s| s.dialog().is_none()) => {
                self.flash_error(format!("{}: this console changes nothing", backend::authz::READ_ONLY));
            }
            // Not the actor's to do: refused before any call (the backend would refuse it).
            a if !self.permits(&a) && self.screen().is_some_and(|s| s.dialog().is_none()) => {
                let needs = self.screen().and_then(|s| s.needs(&a)).map_or("", |p| p.key());
                let role = self.actor().role.as_str();
                self.flash_error(format!("not permitted: {role} lacks {needs}"));
            }
            a => {
                let page_size = self.page_size;
                let handled = match self.stack.last_mut() {
                    Some((sid, screen)) => {
                        let sid = *sid;
                        let mut ctx = Ctx::new(page_size);
                        let handled = screen.on_action(&a, &mut ctx);
                        self.process(sid, ctx);
                        handled
                    }
                    None => false,
                };
                if !handled {
                    self.route_action(a);
                }
            }
        }
    }

    /// Runs `backend::find` for the palette: debounced while typing, at once for Enter.
    fn look_up(&mut self, term: Option<String>, open: bool) {
        let Some(term) = term else {
            self.tasks.forget_screen(PALETTE_SID);
            return;
        };
        let n = crate::palette::HITS_PER_KIND;
        let job = if open {
            Job::call("find", move |env| async move {
                let r = backend::find::find(&env.db, &env.actor, &term, n).await;
                crate::palette::FoundOpen(term, r)
            })
        } else {
            Job::call("find", move |env| async move {
                let r = backend::find::find(&env.db, &env.actor, &term, n).await;
                crate::palette::Found(term, r)
            })
            .delayed(screens::DEBOUNCE)
        };
        self.outbox.push((PALETTE_SID, job));
    }

    /// A palette lookup came back: hits to show, or the one to open.
    fn palette_found(&mut self, msg: crate::tasks::Msg) {
        let msg = match msg.downcast::<crate::palette::Found>() {
            Ok(found) => {
                if let Some(Popup::Palette(p)) = &mut self.popup {
                    p.found(*found);
                }
                return;
            }
            Err(m) => m,
        };
        if let Ok(found) = msg.downcast::<crate::palette::FoundOpen>() {
            let crate::palette::FoundOpen(term, r) = *found;
            match r {
                Ok(hits) => match hits.first() {
                    Some(h) => self.route_action(crate::palette::open_hit(h)),
                    None => self.flash_error(format!("nothing found for \"{term}\"")),
                },
                Err(e) => self.flash_error(e.to_string()),
            }
        }
    }

    fn filter_top(&mut self, filter: &str) {
        let page_size = self.page_size;
        if let Some((sid, screen)) = self.stack.last_mut() {
            let sid = *sid;
            let mut ctx = Ctx::new(page_size);
            if screen.filter_by(filter, &mut ctx) {
                self.process(sid, ctx);
            }
        }
    }

    /// A job by id (the palette's "go to"): the job list with its detail open.
    fn open_job(&mut self, id: uuid::Uuid) {
        self.navigate(screens::page_route("services/jobs"));
        let page_size = self.page_size;
        if let Some((sid, screen)) = self.stack.last_mut() {
            let sid = *sid;
            if let Some(jobs) = screen.downcast_mut::<screens::services::jobs::JobsList>() {
                let mut ctx = Ctx::new(page_size);
                jobs.open_job(id, &mut ctx);
                self.process(sid, ctx);
            }
        }
    }

    /// Actions that change where we are or what the status bar says.
    fn route_action(&mut self, a: Action) {
        match a {
            Action::Quit => self.quit = true,
            Action::Back => self.back(),
            Action::Goto(link) if link.contains('?') => {
                // `page?filter`: the page, narrowed as if the filter were typed after `/`.
                let (path, filter) = link.split_once('?').unwrap_or((&link, ""));
                match Route::parse(path) {
                    Some(r) => {
                        self.navigate(r);
                        self.filter_top(filter);
                    }
                    None => self.flash_error(format!("no such screen: {path}")),
                }
            }
            Action::Goto(path) => match Route::parse(&path) {
                Some(r) => self.navigate(r),
                None => match path.strip_prefix("services/jobs/").and_then(|id| id.parse().ok()) {
                    Some(id) => self.open_job(id),
                    None => self.flash_error(format!("no such screen: {path}")),
                },
            },
            Action::OpenTenant(key) => self.navigate(Route::Tenant {
                key,
                tab: TenantTab::Overview,
            }),
            Action::NextTab | Action::PrevTab => {
                let step = if a == Action::NextTab { 1 } else { -1 };
                // Past the pages the actor may not open (a tenant admin has no Create tab).
                let mut at = self.route();
                for _ in 0..8 {
                    match at.sibling(step) {
                        Some(r) if self.may_open(&r) => {
                            if r != self.route() {
                                self.replace(r);
                            }
                            break;
                        }
                        Some(r) => at = r,
                        None => break,
                    }
                }
            }
            Action::Flash(text) => self.set_flash(Flash::success(text)),
            Action::FlashError(text) => self.flash_error(text),
            _ => {}
        }
    }

    fn process(&mut self, sid: u64, ctx: Ctx) {
        self.outbox.extend(ctx.jobs.into_iter().map(|j| (sid, j)));
        for a in ctx.actions {
            self.route_action(a);
        }
    }

    // ---- backend ------------------------------------------------------------------------

    /// Starts queued backend requests (needs a tokio runtime; kept queued otherwise).
    pub fn flush(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        for (sid, job) in std::mem::take(&mut self.outbox) {
            self.tasks.spawn(sid, job);
        }
    }

    /// Applies a finished backend call, unless a newer request of its kind replaced it.
    pub fn apply(&mut self, r: BackendResult) {
        if !self.tasks.accept(&r) {
            return;
        }
        if r.screen == LOGIN_SID && r.slot == SESSION_SLOT {
            match r.msg.downcast::<SessionCheck>().map(|c| c.0) {
                Ok(Err(backend::ServiceError::PermissionDenied(why))) => self.sign_out(why),
                // The check re-reads the role's permissions: an edit reaches a running console
                // within a minute (docs/adr/0011).
                Ok(Ok(auth)) => self.tasks.set_actor(auth.actor),
                _ => {}
            }
            return;
        }
        if r.screen == PALETTE_SID {
            self.palette_found(r.msg);
            self.dirty = true;
            self.flush();
            return;
        }
        if r.screen == LOGIN_SID {
            let done = self.login.as_mut().and_then(|l| {
                l.apply(r.msg);
                l.take_session()
            });
            if let Some(s) = done {
                self.signed_in(s);
            }
            self.dirty = true;
            self.flush();
            return;
        }
        let page_size = self.page_size;
        let Some((sid, screen)) = self.stack.iter_mut().find(|(sid, _)| *sid == r.screen) else {
            return;
        };
        let sid = *sid;
        let mut ctx = Ctx::new(page_size);
        screen.apply(r.slot, r.msg, &mut ctx);
        self.process(sid, ctx);
        self.dirty = true;
        self.flush();
    }

    /// The next backend result (pending forever when nothing is in flight).
    pub async fn next_result(&mut self) -> Option<BackendResult> {
        self.flush();
        self.tasks.recv().await
    }

    /// Waits until every outstanding request has finished and been applied (tests, bench).
    pub async fn settle(&mut self) {
        loop {
            self.flush();
            if !self.tasks.busy() {
                break;
            }
            match tokio::time::timeout(Duration::from_secs(10), self.tasks.recv()).await {
                Ok(Some(r)) => self.apply(r),
                _ => break,
            }
        }
    }

    /// Applies every result already waiting, so a burst costs one redraw, not one each.
    pub fn drain_ready(&mut self) {
        while let Some(r) = self.tasks.try_recv() {
            self.apply(r);
        }
    }

    /// The 250 ms tick: expires flash messages, re-checks the session now and then, and lets
    /// the current screen do timed work (the queue screen's periodic refresh and ages).
    pub fn tick(&mut self) {
        if self.session_checked.elapsed() >= SESSION_CHECK {
            self.check_session();
        }
        if self.flash.as_ref().is_some_and(|(_, at)| at.elapsed() >= FLASH_FOR) {
            self.flash = None;
            self.dirty = true;
        }
        let page_size = self.page_size;
        if let Some((sid, screen)) = self.stack.last_mut() {
            let sid = *sid;
            let mut ctx = Ctx::new(page_size);
            if screen.tick(&mut ctx) {
                self.dirty = true;
            }
            self.process(sid, ctx);
            self.flush();
        }
    }
}
