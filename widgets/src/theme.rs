//! Semantic colour slots. Screens ask for `theme.error` or `theme.muted`, never for `Color::Red`,
//! so a theme file (or a tenant's brand colours) can restyle every screen at once.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType};

use crate::color::{self, approx_rgb, color_to_string, parse_color, ColorError};
use crate::text;

const DARK_TOML: &str = include_str!("../../themes/dark.toml");
const LIGHT_TOML: &str = include_str!("../../themes/light.toml");

/// Names accepted by [`Theme::builtin`].
pub const BUILTIN_THEMES: &[&str] = &["dark", "light"];

/// A theme: one [`Style`] per semantic slot.
///
/// Slots that describe text mostly set only a foreground, so they compose over `base` (the
/// background comes from the cell underneath). `selection`, `status_bar`, `badge` and `base` also
/// set a background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Name shown in settings ("dark", "light", or the user file's `name`).
    pub name: String,
    /// Normal text and the screen background.
    pub base: Style,
    /// Secondary text: hints, descriptions, empty states, disabled items.
    pub muted: Style,
    /// Panel titles and headings.
    pub title: Style,
    /// Borders of unfocused panels.
    pub border: Style,
    /// Border of the panel that has keyboard focus.
    pub border_focused: Style,
    /// Table header row.
    pub header: Style,
    /// Highlighted (selected) row or item; sets fg and bg.
    pub selection: Style,
    /// Emphasis that is not a status: matched characters, active markers, links.
    pub accent: Style,
    pub success: Style,
    pub warning: Style,
    pub error: Style,
    pub info: Style,
    /// The bottom status bar; sets fg and bg.
    pub status_bar: Style,
    /// Small labels such as the database backend (`sqlite`); sets fg and bg.
    pub badge: Style,
    pub tab_active: Style,
    pub tab_inactive: Style,
    /// Keys in the hint bar and in help (`:`, `/`, `?`).
    pub key_hint: Style,
}

/// A semantic tone for a piece of data (a status cell, a flash, a stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tone {
    #[default]
    Normal,
    Muted,
    Accent,
    Info,
    Success,
    Warning,
    Error,
}

/// Why a theme file was rejected. Keys are given as dotted paths (`title.fg`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    #[error("unknown built-in theme {0:?} (known: dark, light)")]
    UnknownTheme(String),
    #[error("theme file is not valid TOML: {0}")]
    Toml(String),
    #[error("unknown theme key `{0}`")]
    UnknownKey(String),
    #[error("theme key `{key}` must be {expected}")]
    WrongType { key: String, expected: &'static str },
    #[error("theme key `{key}`: {source}")]
    Color { key: String, source: ColorError },
    #[error("theme is missing slot `{0}`")]
    MissingSlot(String),
}

/// Slot names as they appear in theme files, in declaration order.
pub const SLOTS: &[&str] = &[
    "base",
    "muted",
    "title",
    "border",
    "border_focused",
    "header",
    "selection",
    "accent",
    "success",
    "warning",
    "error",
    "info",
    "status_bar",
    "badge",
    "tab_active",
    "tab_inactive",
    "key_hint",
];

const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
];

/// Maps a slot's file name to its field, so `slot` and `slot_mut` cannot drift apart.
macro_rules! slot_field {
    ($theme:ident, $name:expr, $($m:tt)?) => {
        match $name {
            "base" => Some(&$($m)? $theme.base),
            "muted" => Some(&$($m)? $theme.muted),
            "title" => Some(&$($m)? $theme.title),
            "border" => Some(&$($m)? $theme.border),
            "border_focused" => Some(&$($m)? $theme.border_focused),
            "header" => Some(&$($m)? $theme.header),
            "selection" => Some(&$($m)? $theme.selection),
            "accent" => Some(&$($m)? $theme.accent),
            "success" => Some(&$($m)? $theme.success),
            "warning" => Some(&$($m)? $theme.warning),
            "error" => Some(&$($m)? $theme.error),
            "info" => Some(&$($m)? $theme.info),
            "status_bar" => Some(&$($m)? $theme.status_bar),
            "badge" => Some(&$($m)? $theme.badge),
            "tab_active" => Some(&$($m)? $theme.tab_active),
            "tab_inactive" => Some(&$($m)? $theme.tab_inactive),
            "key_hint" => Some(&$($m)? $theme.key_hint),
            _ => None,
        }
    };
}

impl Default for Theme {
    fn default() -> Self {
        Self::dark()
    }
}

impl Theme {
    /// A theme that uses no colour at all, only bold/dim/reversed: for `NO_COLOR`, and the
    /// fallback should a built-in theme file ever fail to parse.
    pub fn plain() -> Self {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let reversed = Style::new().add_modifier(Modifier::REVERSED);
        Self {
            name: "plain".to_owned(),
            base: Style::new(),
            muted: Style::new().add_modifier(Modifier::DIM),
            title: bold,
            border: Style::new(),
            border_focused: bold,
            header: bold.add_modifier(Modifier::UNDERLINED),
            selection: reversed,
            accent: bold,
            success: Style::new(),
            warning: bold,
            error: bold.add_modifier(Modifier::UNDERLINED),
            info: Style::new(),
            status_bar: reversed,
            badge: bold,
            tab_active: bold.add_modifier(Modifier::UNDERLINED),
            tab_inactive: Style::new().add_modifier(Modifier::DIM),
            key_hint: bold,
        }
    }

    /// The built-in dark theme.
    pub fn dark() -> Self {
        Self::builtin("dark").unwrap_or_else(|_| Self::plain())
    }

    /// The built-in light theme.
    pub fn light() -> Self {
        Self::builtin("light").unwrap_or_else(|_| Self::plain())
    }

    /// A built-in theme by name (see [`BUILTIN_THEMES`]); `"plain"` is also accepted.
    pub fn builtin(name: &str) -> Result<Self, ThemeError> {
        let text = match name {
            "dark" => DARK_TOML,
            "light" => LIGHT_TOML,
            "plain" => return Ok(Self::plain()),
            other => return Err(ThemeError::UnknownTheme(other.to_owned())),
        };
        apply(&Self::empty(name), text, true)
    }

    /// Applies a user theme file on top of `base`. The file lists only what it changes:
    ///
    /// ```toml
    /// name = "my-dark"
    /// accent = "#ff8800"                  # a bare colour sets the foreground
    /// title = { fg = "cyan", bold = true }
    /// [selection]
    /// bg = "#333333"
    /// ```
    ///
    /// Keys per slot: `fg`, `bg`, `bold`, `dim`, `italic`, `underlined`, `reversed`.
    pub fn from_toml_patch(base: &Self, text: &str) -> Result<Self, ThemeError> {
        apply(base, text, false)
    }

    /// The theme tinted with a tenant's brand colours: `brand_primary` colours the title, the
    /// focused border and the active tab; `brand_accent` the accent slot. Colours too close to
    /// the background are lightened/darkened until readable. If either colour does not parse,
    /// the theme is returned unchanged (a half-branded screen would be more confusing).
    pub fn tinted(&self, brand_primary: &str, brand_accent: &str) -> Self {
        let (Ok(primary), Ok(accent)) = (parse_color(brand_primary), parse_color(brand_accent)) else {
            return self.clone();
        };
        let primary = self.readable(primary);
        let accent = self.readable(accent);
        let mut theme = self.clone();
        theme.title = theme.title.fg(primary);
        theme.border_focused = theme.border_focused.fg(primary);
        theme.tab_active = theme.tab_active.fg(primary);
        theme.accent = theme.accent.fg(accent);
        theme
    }

    /// The same theme with every RGB colour replaced by its nearest xterm-256 colour, for
    /// terminals without truecolor (`COLORTERM` unset), which otherwise show garbage.
    pub fn to_256_colors(&self) -> Self {
        let map = |c: Option<Color>| match c {
            Some(Color::Rgb(r, g, b)) => Some(Color::Indexed(color::nearest_indexed(r, g, b))),
            other => other,
        };
        let mut theme = self.clone();
        for slot in SLOTS {
            if let Some(style) = theme.slot_mut(slot) {
                style.fg = map(style.fg);
                style.bg = map(style.bg);
            }
        }
        theme
    }

    /// The style for a [`Tone`].
    pub fn tone(&self, tone: Tone) -> Style {
        match tone {
            Tone::Normal => Style::new(),
            Tone::Muted => self.muted,
            Tone::Accent => self.accent,
            Tone::Info => self.info,
            Tone::Success => self.success,
            Tone::Warning => self.warning,
            Tone::Error => self.error,
        }
    }

    /// An example in an empty field (a placeholder): dim italic, so it never reads as a value
    /// (docs/adr/0022). A default is shown as a real value instead.
    pub fn placeholder(&self) -> Style {
        self.muted.add_modifier(Modifier::ITALIC)
    }

    /// Border style for a panel, depending on whether it has focus.
    pub fn border_style(&self, focused: bool) -> Style {
        if focused {
            self.border_focused
        } else {
            self.border
        }
    }

    /// A bordered panel block in this theme (titles are styled by whoever adds them; see
    /// [`Theme::title_line`]).
    pub fn block<'a>(&self, focused: bool) -> Block<'a> {
        Block::bordered()
            .border_style(self.border_style(focused))
            .style(self.base)
    }

    /// A border title: padded with a space either side and cut to `max_width` columns.
    pub fn title_line<'a>(&self, title: &str, max_width: usize) -> Line<'a> {
        let room = max_width.saturating_sub(2);
        Line::styled(format!(" {} ", text::truncate(title, room)), self.title)
    }

    /// A rounded, focused block for popups; rounded so popups read as "on top".
    pub fn popup_block<'a>(&self) -> Block<'a> {
        self.block(true).border_type(BorderType::Rounded)
    }

    /// The theme's slot by file name (see [`SLOTS`]).
    pub fn slot(&self, name: &str) -> Option<Style> {
        slot_field!(self, name,).copied()
    }

    fn slot_mut(&mut self, name: &str) -> Option<&mut Style> {
        slot_field!(self, name, mut)
    }

    /// Every slot empty: the base for built-in files, which must set everything themselves.
    pub(crate) fn empty(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            base: Style::new(),
            muted: Style::new(),
            title: Style::new(),
            border: Style::new(),
            border_focused: Style::new(),
            header: Style::new(),
            selection: Style::new(),
            accent: Style::new(),
            success: Style::new(),
            warning: Style::new(),
            error: Style::new(),
            info: Style::new(),
            status_bar: Style::new(),
            badge: Style::new(),
            tab_active: Style::new(),
            tab_inactive: Style::new(),
            key_hint: Style::new(),
        }
    }

    /// Writes the theme back as a complete theme file (every slot), e.g. for `painel theme dump`.
    pub fn to_toml(&self) -> String {
        let mut out = format!("name = {:?}\n", self.name);
        for slot in SLOTS {
            let Some(style) = self.slot(slot) else {
                continue;
            };
            let mut parts = Vec::new();
            if let Some(fg) = style.fg {
                parts.push(format!("fg = \"{}\"", color_to_string(fg)));
            }
            if let Some(bg) = style.bg {
                parts.push(format!("bg = \"{}\"", color_to_string(bg)));
            }
            for (name, modifier) in MODIFIERS {
                if style.add_modifier.contains(*modifier) {
                    parts.push(format!("{name} = true"));
                } else if style.sub_modifier.contains(*modifier) {
                    parts.push(format!("{name} = false"));
                }
            }
            out.push_str(&format!("{slot} = {{ {} }}\n", parts.join(", ")));
        }
        out
    }

    /// Approximate background RGB, to judge contrast. With a `reset` background we cannot know
    /// the terminal's colour, so guess from the foreground: light text means a dark background.
    fn background_rgb(&self) -> (u8, u8, u8) {
        if let Some(rgb) = self.base.bg.and_then(approx_rgb) {
            return rgb;
        }
        let fg_is_light = self
            .base
            .fg
            .and_then(approx_rgb)
            .is_none_or(|fg| color::luminance(fg) > 0.4);
        if fg_is_light {
            (0x1e, 0x1e, 0x1e)
        } else {
            (0xff, 0xff, 0xff)
        }
    }

    fn readable(&self, color: Color) -> Color {
        let Some(rgb) = approx_rgb(color) else {
            return color;
        };
        let bg = self.background_rgb();
        let target = if color::luminance(bg) > 0.4 {
            (0, 0, 0)
        } else {
            (255, 255, 255)
        };
        let (r, g, b) = color::ensure_contrast(rgb, bg, target, 3.0);
        if (r, g, b) == rgb {
            color
        } else {
            Color::Rgb(r, g, b)
        }
    }
}

fn apply(base: &Theme, text: &str, require_all: bool) -> Result<Theme, ThemeError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ThemeError::Toml(e.to_string()))?;
    let mut theme = base.clone();
    for (key, value) in &table {
        if key == "name" {
            let name = value.as_str().ok_or_else(|| ThemeError::WrongType {
                key: key.clone(),
                expected: "a string",
            })?;
            name.clone_into(&mut theme.name);
            continue;
        }
        let style = theme.slot_mut(key).ok_or_else(|| ThemeError::UnknownKey(key.clone()))?;
        *style = patch_style(*style, key, value)?;
    }
    if require_all {
        if let Some(missing) = SLOTS.iter().find(|slot| !table.contains_key(**slot)) {
            return Err(ThemeError::MissingSlot((*missing).to_owned()));
        }
    }
    Ok(theme)
}

fn patch_style(mut style: Style, slot: &str, value: &toml::Value) -> Result<Style, ThemeError> {
    let color = |key: String, value: &toml::Value| {
        let text = value.as_str().ok_or_else(|| ThemeError::WrongType {
            key: key.clone(),
            expected: "a colour string such as \"#3b82f6\" or \"red\"",
        })?;
        parse_color(text).map_err(|source| ThemeError::Color { key, source })
    };
    let table = match value {
        toml::Value::String(_) => return Ok(style.fg(color(slot.to_owned(), value)?)),
        toml::Value::Table(table) => table,
        _ => {
            return Err(ThemeError::WrongType {
                key: slot.to_owned(),
                expected: "a colour string or a table",
            })
        }
    };
    for (key, value) in table {
        let path = format!("{slot}.{key}");
        match key.as_str() {
            "fg" => style = style.fg(color(path, value)?),
            "bg" => style = style.bg(color(path, value)?),
            name => {
                let (_, modifier) = MODIFIERS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| ThemeError::UnknownKey(path.clone()))?;
                let on = value.as_bool().ok_or(ThemeError::WrongType {
                    key: path,
                    expected: "true or false",
                })?;
                style = if on {
                    style.add_modifier(*modifier)
                } else {
                    style.remove_modifier(*modifier)
                };
            }
        }
    }
    Ok(style)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builtins_define_every_slot_with_colour() {
        for name in BUILTIN_THEMES {
            let theme = Theme::builtin(name).unwrap();
            assert_eq!(theme.name, *name);
            for slot in SLOTS {
                let style = theme.slot(slot).unwrap();
                assert!(style.fg.is_some(), "{name}.{slot} has no fg");
            }
            for slot in ["base", "selection", "status_bar", "badge"] {
                assert!(theme.slot(slot).unwrap().bg.is_some(), "{name}.{slot} bg");
            }
        }
    }

    #[test]
    fn builtin_text_is_readable() {
        // Every text slot must stay readable on the theme background (WCAG 3:1 for UI text).
        for name in BUILTIN_THEMES {
            let theme = Theme::builtin(name).unwrap();
            let bg = approx_rgb(theme.base.bg.unwrap()).unwrap();
            for slot in [
                "base",
                "muted",
                "title",
                "header",
                "accent",
                "success",
                "warning",
                "error",
                "info",
                "tab_active",
                "tab_inactive",
                "key_hint",
                "border_focused",
            ] {
                let fg = approx_rgb(theme.slot(slot).unwrap().fg.unwrap()).unwrap();
                let ratio = color::contrast(fg, bg);
                assert!(ratio >= 3.0, "{name}.{slot} contrast {ratio:.2}");
            }
            for slot in ["selection", "status_bar", "badge"] {
                let style = theme.slot(slot).unwrap();
                let ratio = color::contrast(
                    approx_rgb(style.fg.unwrap()).unwrap(),
                    approx_rgb(style.bg.unwrap()).unwrap(),
                );
                assert!(ratio >= 4.5, "{name}.{slot} contrast {ratio:.2}");
            }
        }
    }

    #[test]
    fn unknown_builtin() {
        assert_eq!(Theme::builtin("neon"), Err(ThemeError::UnknownTheme("neon".into())));
    }

    #[test]
    fn patch_changes_only_listed_keys() {
        let dark = Theme::dark();
        let patched = Theme::from_toml_patch(
            &dark,
            "name = \"mine\"\naccent = \"red\"\n[title]\nfg = \"#010203\"\nitalic = true\n",
        )
        .unwrap();
        assert_eq!(patched.name, "mine");
        assert_eq!(patched.accent.fg, Some(Color::Red));
        assert_eq!(patched.title.fg, Some(Color::Rgb(1, 2, 3)));
        assert!(patched.title.add_modifier.contains(Modifier::ITALIC));
        // bold came from the base theme and was not mentioned.
        assert!(patched.title.add_modifier.contains(Modifier::BOLD));
        assert_eq!(patched.error, dark.error);
    }

    #[test]
    fn patch_errors_name_the_key() {
        let dark = Theme::dark();
        assert_eq!(
            Theme::from_toml_patch(&dark, "acent = \"red\""),
            Err(ThemeError::UnknownKey("acent".into()))
        );
        assert_eq!(
            Theme::from_toml_patch(&dark, "[title]\ncolour = \"red\""),
            Err(ThemeError::UnknownKey("title.colour".into()))
        );
        let err = Theme::from_toml_patch(&dark, "[title]\nfg = \"#12\"").unwrap_err();
        assert!(matches!(&err, ThemeError::Color { key, .. } if key == "title.fg"));
        assert!(err.to_string().contains("title.fg"));
        assert!(matches!(
            Theme::from_toml_patch(&dark, "[title]\nbold = \"yes\""),
            Err(ThemeError::WrongType { key, .. }) if key == "title.bold"
        ));
        assert!(matches!(
            Theme::from_toml_patch(&dark, "title = ["),
            Err(ThemeError::Toml(_))
        ));
    }

    #[test]
    fn to_toml_round_trips() {
        for theme in [Theme::dark(), Theme::light(), Theme::plain()] {
            let text = theme.to_toml();
            assert_eq!(Theme::from_toml_patch(&Theme::empty("x"), &text).unwrap(), theme);
        }
    }

    #[test]
    fn tint_sets_brand_slots() {
        let dark = Theme::dark();
        let tinted = dark.tinted("#3b82f6", "#f59e0b");
        assert_eq!(tinted.title.fg, Some(Color::Rgb(0x3b, 0x82, 0xf6)));
        assert_eq!(tinted.border_focused.fg, Some(Color::Rgb(0x3b, 0x82, 0xf6)));
        assert_eq!(tinted.tab_active.fg, Some(Color::Rgb(0x3b, 0x82, 0xf6)));
        assert_eq!(tinted.accent.fg, Some(Color::Rgb(0xf5, 0x9e, 0x0b)));
        assert!(tinted.title.add_modifier.contains(Modifier::BOLD));
        assert_eq!(tinted.error, dark.error);
    }

    #[test]
    fn tint_keeps_dark_brands_readable() {
        let dark = Theme::dark();
        let tinted = dark.tinted("#0a0a40", "#000000");
        let bg = approx_rgb(dark.base.bg.unwrap()).unwrap();
        for style in [tinted.title, tinted.accent] {
            let fg = approx_rgb(style.fg.unwrap()).unwrap();
            assert!(color::contrast(fg, bg) >= 3.0);
        }
    }

    #[test]
    fn invalid_brand_leaves_theme_unchanged() {
        let dark = Theme::dark();
        assert_eq!(dark.tinted("not-a-colour", "#ffffff"), dark);
        assert_eq!(dark.tinted("#ffffff", ""), dark);
    }

    #[test]
    fn downgrade_to_256() {
        let theme = Theme::dark().to_256_colors();
        for slot in SLOTS {
            let style = theme.slot(slot).unwrap();
            assert!(!matches!(style.fg, Some(Color::Rgb(..))), "{slot}");
            assert!(!matches!(style.bg, Some(Color::Rgb(..))), "{slot}");
        }
    }
}
