//! How the columns of a browse view behave on a narrow terminal: each declares a priority
//! (the lowest hide first, the first column never) and, for the long text an operator can
//! read cut (names, hosts), a minimum width it shrinks to before anything hides. The
//! sections declare their views' columns in their own folders.

/// One column of a view, matched by its title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub title: &'static str,
    pub priority: u8,
    /// `Some`: shrinks down to this width (sharing the room by content width); `None`: keeps
    /// its content's width.
    pub min: Option<u16>,
}

/// A column kept at its content's width.
pub const fn keep(title: &'static str, priority: u8) -> Col {
    Col {
        title,
        priority,
        min: None,
    }
}

/// A column of long text that gives up width first, down to `min`.
pub const fn shrink(title: &'static str, priority: u8, min: u16) -> Col {
    Col {
        title,
        priority,
        min: Some(min),
    }
}

/// The columns of one `backend::browse` view.
#[derive(Debug, Clone, Copy)]
pub struct ViewColumns {
    pub view: &'static str,
    pub columns: &'static [Col],
}

impl ViewColumns {
    pub fn get(&self, title: &str) -> Option<&'static Col> {
        self.columns.iter().find(|c| c.title.eq_ignore_ascii_case(title))
    }
}
