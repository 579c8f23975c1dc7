//! The user's keymap file (`keymap.toml` next to painel's config file): the same tables as
//! `assets/keymap.toml`, entries that override the preset. In a context, an entry takes its
//! keys from whatever they did before and its action from the keys it had before (rebinding
//! `create` to `n` frees `c`); `desc` and `hint` default to the preset's for that action.
//! Checked when the console starts: the first bad entry is refused with its line and column.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{Binding, Context, Keymap};
use crate::action::Action;

/// What is wrong with the file, and where (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct UserKeymapError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    on: Spanned<Vec<String>>,
    run: Spanned<String>,
    desc: Option<String>,
    hint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(default)]
    keymap: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    global: Table,
    #[serde(default)]
    list: Table,
    #[serde(default)]
    jobs: Table,
    #[serde(default)]
    audit: Table,
    #[serde(default)]
    form: Table,
    #[serde(default)]
    palette: Table,
    #[serde(default)]
    help: Table,
}

const NAMED: &[&str] = &[
    "Enter",
    "Esc",
    "Tab",
    "BackTab",
    "Backspace",
    "Delete",
    "Up",
    "Down",
    "Left",
    "Right",
    "PageUp",
    "PageDown",
    "Home",
    "End",
    "Space",
];

/// Whether `key` is a name [`super::key_name`] can produce: one character, `<Enter>` and the
/// other named keys, `<C-x>`, `<A-x>`, `<F1>`…`<F12>`.
pub fn valid_key(key: &str) -> bool {
    if key.chars().count() == 1 {
        return true;
    }
    let Some(inner) = key.strip_prefix('<').and_then(|k| k.strip_suffix('>')) else {
        return false;
    };
    let one_char = |s: &str| s.chars().count() == 1;
    if let Some(c) = inner.strip_prefix("C-") {
        return one_char(c) && c.chars().all(|c| !c.is_ascii_uppercase());
    }
    if let Some(c) = inner.strip_prefix("A-") {
        return one_char(c);
    }
    if let Some(n) = inner.strip_prefix('F').and_then(|n| n.parse::<u8>().ok()) {
        return (1..=12).contains(&n);
    }
    NAMED.contains(&inner)
}

fn at(text: &str, span: Range<usize>, message: String) -> UserKeymapError {
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    UserKeymapError { line, column, message }
}

impl Keymap {
    /// This keymap with the user's file `text` laid over it.
    pub fn with_user(mut self, text: &str) -> Result<Keymap, UserKeymapError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let message = e.message().to_owned();
            at(text, e.span().unwrap_or(0..0), message)
        })?;
        for (ctx, table) in [
            (Context::Global, file.global),
            (Context::List, file.list),
            (Context::Jobs, file.jobs),
            (Context::Audit, file.audit),
            (Context::Form, file.form),
            (Context::Palette, file.palette),
            (Context::Help, file.help),
        ] {
            for e in table.keymap {
                self.lay(ctx, e, text)?;
            }
        }
        Ok(self)
    }

    fn lay(&mut self, ctx: Context, e: Entry, text: &str) -> Result<(), UserKeymapError> {
        let on_span = e.on.span();
        let on = e.on.into_inner();
        if on.is_empty() {
            return Err(at(text, on_span, format!("[{}]: `on` has no keys", ctx.name())));
        }
        if let Some(bad) = on.iter().find(|k| !valid_key(k)) {
            return Err(at(
                text,
                on_span,
                format!(
                    "[{}]: {bad:?} is not a key (a character, <Enter>, <C-x>, <F5>…)",
                    ctx.name()
                ),
            ));
        }
        let run_span = e.run.span();
        let run = e.run.into_inner();
        let Some(action) = Action::from_run(&run) else {
            return Err(at(text, run_span, format!("[{}]: unknown action {run:?}", ctx.name())));
        };
        let Some((_, bindings)) = self.tables.iter_mut().find(|(c, _)| *c == ctx) else {
            return Ok(());
        };
        let preset = bindings.iter().find(|b| b.run == run).cloned();
        let place = bindings.iter().position(|b| b.run == run).unwrap_or(bindings.len());
        let keep = |b: &Binding| b.on != on && b.run != run;
        let removed_before = bindings[..place].iter().filter(|b| !keep(b)).count();
        bindings.retain(keep);
        let binding = Binding {
            desc: e
                .desc
                .or_else(|| preset.as_ref().map(|p| p.desc.clone()))
                .unwrap_or_else(|| run.clone()),
            hint: e.hint.or_else(|| preset.and_then(|p| p.hint)),
            on,
            run,
            action,
        };
        bindings.insert((place - removed_before).min(bindings.len()), binding);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::{Lookup, DEFAULT_KEYMAP};

    fn keys(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_entry_takes_its_keys_and_frees_the_actions_old_ones() {
        let km = Keymap::default_keymap()
            .with_user("[list]\nkeymap = [{ on = [\"n\"], run = \"create\" }]\n")
            .unwrap();
        let ctx = [Context::List, Context::Global];
        assert_eq!(km.lookup(&ctx, &keys(&["n"])), Lookup::Action(Action::Create));
        assert_eq!(km.lookup(&ctx, &keys(&["c"])), Lookup::None);
        let b = km.bindings(Context::List).iter().find(|b| b.run == "create").unwrap();
        assert_eq!(b.hint.as_deref(), Some("new"), "the preset's hint and desc are kept");
        assert!(b.desc.starts_with("Create"));
    }

    #[test]
    fn every_preset_key_is_a_valid_key() {
        let km = Keymap::parse(DEFAULT_KEYMAP).unwrap();
        for ctx in Context::ALL {
            for b in km.bindings(ctx) {
                assert!(b.on.iter().all(|k| valid_key(k)), "{:?}", b.on);
            }
        }
        assert!(!valid_key("<Ctrl-x>") && !valid_key("ab") && !valid_key("<F13>") && !valid_key("<C-X>"));
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let km = Keymap::default_keymap;
        let text = "[list]\nkeymap = [\n  { on = [\"n\"], run = \"create\" },\n  { on = [\"z\"], run = \"fly\" },\n]\n";
        let e = km().with_user(text).unwrap_err();
        assert_eq!((e.line, e.column), (4, 23), "{e}");
        assert!(e.to_string().contains("unknown action \"fly\""), "{e}");

        let e = km()
            .with_user("[list]\nkeymap = [{ on = [\"<Ctrl-n>\"], run = \"create\" }]\n")
            .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("<Ctrl-n>"), "{e}");

        let e = km().with_user("[lists]\nkeymap = []\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = km()
            .with_user("[list]\nkeymap = [{ on = [\"n\"], run = \"create\", hnit = \"x\" }]\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("line 2"), "{e}");
        let e = km()
            .with_user("[list]\nkeymap = [\n{ on = [\"n\"] run = \"create\" }]\n")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }
}
