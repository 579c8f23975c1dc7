//! Parts shared by screens of several sections: the list component and the generic browse
//! table built on it, keyset paging, the `/` filter line, the tenant confirmation modal.

pub mod browse;
pub mod columns;
pub mod confirm;
pub mod filter;
pub mod list;
pub mod paging;
pub mod picker;

/// How far the usual moving keys move a table's selection: ↑/↓ one row, half pages ten,
/// top and bottom all the way. `None` for any other action.
pub fn moving_step(a: &crate::action::Action) -> Option<isize> {
    use crate::action::Action;
    match a {
        Action::Up => Some(-1),
        Action::Down => Some(1),
        Action::HalfPageUp => Some(-10),
        Action::HalfPageDown => Some(10),
        Action::Top => Some(isize::MIN / 2),
        Action::Bottom => Some(isize::MAX / 2),
        _ => None,
    }
}

/// Moves a table's selection by `by` rows, kept within its `n` rows.
pub fn select_by(state: &mut ratatui::widgets::TableState, n: usize, by: isize) {
    if n > 0 {
        let at = state.selected().unwrap_or(0) as isize + by;
        state.select(Some(at.clamp(0, n as isize - 1) as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;

    #[test]
    fn moving_keys_step_and_stay_within_the_rows() {
        let mut s = ratatui::widgets::TableState::default();
        select_by(&mut s, 5, moving_step(&Action::Bottom).unwrap_or(0));
        assert_eq!(s.selected(), Some(4));
        select_by(&mut s, 5, moving_step(&Action::HalfPageUp).unwrap_or(0));
        assert_eq!(s.selected(), Some(0));
        select_by(&mut s, 0, 1);
        assert_eq!(s.selected(), Some(0));
        assert_eq!(moving_step(&Action::Refresh), None);
    }
}
