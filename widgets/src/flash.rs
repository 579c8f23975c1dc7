//! Flash messages: one-line feedback in the status bar ("server web-01 created"). Expiry is the
//! caller's business (a timer in the ui crate); this is only what to show and how.

use ratatui::style::Style;

use crate::theme::{Theme, Tone};

/// What kind of news a flash carries; decides its colour and icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FlashKind {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

/// A flash message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

impl Flash {
    pub fn new(kind: FlashKind, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Self::new(FlashKind::Info, text)
    }

    pub fn success(text: impl Into<String>) -> Self {
        Self::new(FlashKind::Success, text)
    }

    pub fn warning(text: impl Into<String>) -> Self {
        Self::new(FlashKind::Warning, text)
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self::new(FlashKind::Error, text)
    }

    /// The style of this flash in `theme`.
    pub fn style(&self, theme: &Theme) -> Style {
        theme.tone(self.kind.tone())
    }
}

impl FlashKind {
    pub fn tone(self) -> Tone {
        match self {
            Self::Info => Tone::Info,
            Self::Success => Tone::Success,
            Self::Warning => Tone::Warning,
            Self::Error => Tone::Error,
        }
    }

    /// A one-column icon, so the kind is clear without colour (NO_COLOR, colour blindness).
    pub fn icon(self) -> &'static str {
        match self {
            Self::Info => "•",
            Self::Success => "✓",
            Self::Warning => "!",
            Self::Error => "✗",
        }
    }
}
