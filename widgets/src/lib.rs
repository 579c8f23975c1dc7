//! Pure ratatui widgets for painel's terminal UI.
//!
//! Everything here is a function of its inputs: plain data plus a [`Theme`]. No I/O, no async,
//! no database, no terminal events: screens (the `ui` crate) own state and input, and hand these
//! widgets an immutable snapshot to draw. That keeps every widget testable with ratatui's
//! `TestBackend` and makes the same widget look the same on every screen.
//!
//! Conventions:
//! * Panels (`DataTable`, `SideNav`, `KeyValuePanel`, `StatCard`, `Form`) fill the area given.
//! * Popups (`HelpPopup`, `CommandPalette`, `ConfirmDialog`) take the whole frame area, place
//!   themselves (`.area(frame_area)` says where) and clear what is beneath them.
//! * Inputs (`InputLine`, and those in `CommandPalette`, `Form`, `ConfirmDialog`) are owned by
//!   the caller (tui-input); widgets take `&str` + cursor (in characters) and expose
//!   `cursor_position(area)` for `Frame::set_cursor_position`.
//! * Text is measured in terminal columns and cut with "…", never overflowing its area.

pub mod breadcrumbs;
pub mod capacity;
pub mod color;
pub mod confirm;
pub mod data_table;
pub mod flash;
pub mod form;
pub mod fuzzy;
pub mod help;
pub mod hints;
mod input;
pub mod input_line;
pub mod key_value;
pub mod palette;
pub mod qr;
mod scrollbar;
pub mod side_nav;
pub mod stat_card;
pub mod status_bar;
pub mod tabs;
pub mod text;
pub mod theme;

pub use breadcrumbs::Breadcrumbs;
pub use capacity::{capacity_tone, CapacityBar};
pub use color::{color_to_string, parse_color, ColorError};
pub use confirm::ConfirmDialog;
pub use data_table::{Column, DataCell, DataRow, DataTable, Sort};
pub use flash::{Flash, FlashKind};
pub use form::{Form, FormField, FORM_FOOTER};
pub use fuzzy::{fuzzy_match, fuzzy_score, rank};
pub use help::HelpPopup;
pub use hints::{hint_line, KeyHint, DEFAULT_HINTS};
pub use input_line::InputLine;
pub use key_value::{KeyValuePanel, KvEntry};
pub use palette::{CommandPalette, PaletteItem};
pub use side_nav::{NavItem, SideNav};
pub use stat_card::StatCard;
pub use status_bar::StatusBar;
pub use tabs::TabBar;
pub use text::popup_area;
pub use theme::{Theme, ThemeError, Tone, BUILTIN_THEMES};

/// Re-exported so callers need not name ratatui's module just to hold table state.
pub use ratatui::widgets::TableState;
