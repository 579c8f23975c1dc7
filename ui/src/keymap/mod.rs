//! The keymap: per-context tables of key sequences → actions, loaded from the embedded TOML
//! preset. Help (`?`) and the hint bar are generated from the same entries.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::action::Action;

mod user;

pub use user::{valid_key, UserKeymapError};

pub const DEFAULT_KEYMAP: &str = include_str!("../../../assets/keymap.toml");

/// Where keys are being typed; decides which tables apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    List,
    /// The queue screens: their own keys, looked up before [list].
    Jobs,
    /// The audit log screen.
    Audit,
    Form,
    Palette,
    Help,
}

impl Context {
    pub const ALL: [Context; 7] = [
        Context::Global,
        Context::List,
        Context::Jobs,
        Context::Audit,
        Context::Form,
        Context::Palette,
        Context::Help,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::List => "list",
            Context::Jobs => "jobs",
            Context::Audit => "audit",
            Context::Form => "form",
            Context::Palette => "palette",
            Context::Help => "help",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::List => "Lists and screens",
            Context::Jobs => "Job queues",
            Context::Audit => "Audit log",
            Context::Form => "Forms",
            Context::Palette => "Palette and filter line",
            Context::Help => "This help",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub on: Vec<String>,
    pub run: String,
    pub action: Action,
    pub desc: String,
    pub hint: Option<String>,
}

impl Binding {
    /// The keys as shown to people: `gg`, `<C-d>`, `:`.
    pub fn keys(&self) -> String {
        let keys: Vec<String> = self.on.iter().map(|k| pretty_key(k)).collect();
        if self.on.iter().all(|k| k.chars().count() == 1) {
            keys.concat()
        } else {
            keys.join(" ")
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("keymap is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("keymap [{context}]: unknown action {run:?}")]
    UnknownAction { context: &'static str, run: String },
    #[error("keymap [{context}]: an entry has no keys")]
    NoKeys { context: &'static str },
}

#[derive(Debug, Deserialize)]
struct RawEntry {
    on: Vec<String>,
    run: String,
    desc: String,
    hint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawTable {
    #[serde(default)]
    keymap: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    #[serde(default)]
    global: RawTable,
    #[serde(default)]
    list: RawTable,
    #[serde(default)]
    jobs: RawTable,
    #[serde(default)]
    audit: RawTable,
    #[serde(default)]
    form: RawTable,
    #[serde(default)]
    palette: RawTable,
    #[serde(default)]
    help: RawTable,
}

/// The result of looking up the keys typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Action(Action),
    /// The keys start a longer sequence: wait for the next key.
    Prefix,
    None,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    tables: Vec<(Context, Vec<Binding>)>,
}

impl Keymap {
    pub fn parse(text: &str) -> Result<Keymap, KeymapError> {
        let raw: RawFile = toml::from_str(text)?;
        let mut tables = Vec::new();
        for (ctx, table) in [
            (Context::Global, raw.global),
            (Context::List, raw.list),
            (Context::Jobs, raw.jobs),
            (Context::Audit, raw.audit),
            (Context::Form, raw.form),
            (Context::Palette, raw.palette),
            (Context::Help, raw.help),
        ] {
            let mut bindings = Vec::new();
            for e in table.keymap {
                if e.on.is_empty() {
                    return Err(KeymapError::NoKeys { context: ctx.name() });
                }
                let action = Action::from_run(&e.run).ok_or_else(|| KeymapError::UnknownAction {
                    context: ctx.name(),
                    run: e.run.clone(),
                })?;
                bindings.push(Binding {
                    on: e.on,
                    run: e.run,
                    action,
                    desc: e.desc,
                    hint: e.hint,
                });
            }
            tables.push((ctx, bindings));
        }
        Ok(Keymap { tables })
    }

    /// The embedded preset. It is checked by tests, so failing here means a broken build;
    /// fall back to an empty map rather than panic.
    pub fn default_keymap() -> Keymap {
        Keymap::parse(DEFAULT_KEYMAP).unwrap_or(Keymap { tables: Vec::new() })
    }

    pub fn bindings(&self, ctx: Context) -> &[Binding] {
        self.tables
            .iter()
            .find(|(c, _)| *c == ctx)
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }

    /// Looks `keys` up in `contexts`, earlier contexts first.
    pub fn lookup(&self, contexts: &[Context], keys: &[String]) -> Lookup {
        let mut prefix = false;
        for ctx in contexts {
            for b in self.bindings(*ctx) {
                if b.on == keys {
                    return Lookup::Action(b.action.clone());
                }
                if b.on.len() > keys.len() && b.on[..keys.len()] == *keys {
                    prefix = true;
                }
            }
        }
        if prefix {
            Lookup::Prefix
        } else {
            Lookup::None
        }
    }

    /// Hint-bar entries (key, label) of `contexts`, in keymap order, one per label. `label`
    /// gives the label for an action with the keymap's hint, or `None` when the current screen
    /// does not handle it.
    pub fn hints(
        &self,
        contexts: &[Context],
        label: impl Fn(&Action, &str) -> Option<String>,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for ctx in contexts {
            for b in self.bindings(*ctx) {
                if let Some(h) = b.hint.as_deref().and_then(|h| label(&b.action, h)) {
                    if !out.iter().any(|(_, l)| *l == h) {
                        out.push((b.keys(), h));
                    }
                }
            }
        }
        out
    }
}

/// A key as people read it: `<C-d>` → `ctrl-d`, `<PageDown>` → `pgdn`, `j` → `j`.
pub fn pretty_key(key: &str) -> String {
    let Some(inner) = key.strip_prefix('<').and_then(|k| k.strip_suffix('>')) else {
        return key.to_owned();
    };
    if let Some(c) = inner.strip_prefix("C-") {
        return format!("ctrl-{c}");
    }
    if let Some(c) = inner.strip_prefix("A-") {
        return format!("alt-{c}");
    }
    match inner {
        "BackTab" => "shift-tab".to_owned(),
        "PageDown" => "pgdn".to_owned(),
        "PageUp" => "pgup".to_owned(),
        "Up" => "↑".to_owned(),
        "Down" => "↓".to_owned(),
        "Left" => "←".to_owned(),
        "Right" => "→".to_owned(),
        other => other.to_lowercase(),
    }
}

/// The keymap name of a key press: `j`, `G`, `<C-d>`, `<Enter>`.
pub fn key_name(key: &KeyEvent) -> Option<String> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let named = |n: &str| Some(format!("<{n}>"));
    match key.code {
        KeyCode::Char(' ') if !ctrl && !alt => named("Space"),
        KeyCode::Char(c) if ctrl => Some(format!("<C-{}>", c.to_ascii_lowercase())),
        KeyCode::Char(c) if alt => Some(format!("<A-{c}>")),
        KeyCode::Char(c) => Some(c.to_string()),
        KeyCode::Enter => named("Enter"),
        KeyCode::Esc => named("Esc"),
        KeyCode::Tab if key.modifiers.contains(KeyModifiers::SHIFT) => named("BackTab"),
        KeyCode::Tab => named("Tab"),
        KeyCode::BackTab => named("BackTab"),
        KeyCode::Backspace => named("Backspace"),
        KeyCode::Delete => named("Delete"),
        KeyCode::Up => named("Up"),
        KeyCode::Down => named("Down"),
        KeyCode::Left => named("Left"),
        KeyCode::Right => named("Right"),
        KeyCode::PageUp => named("PageUp"),
        KeyCode::PageDown => named("PageDown"),
        KeyCode::Home => named("Home"),
        KeyCode::End => named("End"),
        KeyCode::F(n) => Some(format!("<F{n}>")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keymap_parses_and_every_run_is_an_action() {
        let km = Keymap::parse(DEFAULT_KEYMAP).expect("embedded keymap");
        for ctx in Context::ALL {
            assert!(!km.bindings(ctx).is_empty(), "[{}] is empty", ctx.name());
        }
    }

    #[test]
    fn unknown_actions_are_rejected() {
        let err = Keymap::parse("[global]\nkeymap = [{ on = [\"z\"], run = \"fly\", desc = \"x\" }]");
        assert!(matches!(err, Err(KeymapError::UnknownAction { .. })));
    }

    #[test]
    fn sequences_and_prefixes() {
        let km = Keymap::default_keymap();
        let ctx = [Context::List, Context::Global];
        let k = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(km.lookup(&ctx, &k(&["g"])), Lookup::Prefix);
        assert_eq!(km.lookup(&ctx, &k(&["g", "g"])), Lookup::Action(Action::Top));
        assert_eq!(
            km.lookup(&ctx, &k(&["g", "b"])),
            Lookup::Action(Action::Goto("billing".into()))
        );
        assert_eq!(km.lookup(&ctx, &k(&["<C-d>"])), Lookup::Action(Action::HalfPageDown));
        assert_eq!(km.lookup(&ctx, &k(&["z"])), Lookup::None);
    }

    #[test]
    fn key_names() {
        let k = |code, m| key_name(&KeyEvent::new(code, m));
        assert_eq!(k(KeyCode::Char('G'), KeyModifiers::SHIFT).as_deref(), Some("G"));
        assert_eq!(k(KeyCode::Char('d'), KeyModifiers::CONTROL).as_deref(), Some("<C-d>"));
        assert_eq!(k(KeyCode::PageDown, KeyModifiers::NONE).as_deref(), Some("<PageDown>"));
    }
}
