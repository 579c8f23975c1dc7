//! What the operator (or a screen) asks for. Keys resolve to actions through the keymap;
//! screens answer with actions instead of reaching into each other or into the router.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    // Application.
    Quit,
    Back,
    Help,
    Palette,
    Refresh,
    /// Jump to a sitemap path (`goto billing`).
    Goto(String),
    // Moving around a list.
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    HalfPageDown,
    HalfPageUp,
    NextPage,
    PrevPage,
    NextTab,
    PrevTab,
    Open,
    Filter,
    SortNext,
    SortFlip,
    // Changing things.
    Create,
    Edit,
    Suspend,
    Reactivate,
    /// Terminate a hosting service (sensitive: typed domain and a fresh 2FA).
    Terminate,
    /// Block a customer (with a reason), or unblock a blocked one.
    Block,
    /// Move a customer to another reseller.
    Transfer,
    /// Put a failed, dead or cancelled job back in the queue.
    Retry,
    /// Cancel a queued job.
    CancelJob,
    /// Narrow a job list to the next status.
    NextStatus,
    /// Walk the audit hash chain.
    Verify,
    /// Toggle the wide view of a table (every column, however narrow).
    Wide,
    /// Open an invoice's PIX charge (QR and copy-and-paste code).
    Pix,
    /// Refund the selected payment (sensitive).
    Refund,
    /// Record a payment received outside any provider (sensitive).
    RecordPayment,
    // Panels of a multi-panel screen (the queues).
    NextPanel,
    PrevPanel,
    // Text input (forms, palette, filter).
    Accept,
    Close,
    NextField,
    PrevField,
    // Issued by screens, not bound to keys.
    OpenTenant(String),
    Flash(String),
    FlashError(String),
}

impl Action {
    /// Whether the action asks the backend to change something: hidden and refused in
    /// read-only mode (the service layer refuses it too, docs/adr/0016).
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Action::Create
                | Action::Edit
                | Action::Suspend
                | Action::Reactivate
                | Action::Terminate
                | Action::Block
                | Action::Transfer
                | Action::Retry
                | Action::CancelJob
                | Action::Refund
                | Action::RecordPayment
        )
    }

    /// Parses the `run` of a keymap entry: a name, or `goto <path>`.
    pub fn from_run(run: &str) -> Option<Action> {
        let mut words = run.split_whitespace();
        let name = words.next()?;
        let arg = words.next();
        if words.next().is_some() {
            return None;
        }
        if name == "goto" {
            let path = arg?;
            crate::router::Route::parse(path)?;
            return Some(Action::Goto(path.to_owned()));
        }
        if arg.is_some() {
            return None;
        }
        Some(match name {
            "quit" => Action::Quit,
            "back" => Action::Back,
            "help" => Action::Help,
            "palette" => Action::Palette,
            "refresh" => Action::Refresh,
            "up" => Action::Up,
            "down" => Action::Down,
            "left" => Action::Left,
            "right" => Action::Right,
            "top" => Action::Top,
            "bottom" => Action::Bottom,
            "half_page_down" => Action::HalfPageDown,
            "half_page_up" => Action::HalfPageUp,
            "next_page" => Action::NextPage,
            "prev_page" => Action::PrevPage,
            "next_tab" => Action::NextTab,
            "prev_tab" => Action::PrevTab,
            "open" => Action::Open,
            "filter" => Action::Filter,
            "sort_next" => Action::SortNext,
            "sort_flip" => Action::SortFlip,
            "create" => Action::Create,
            "edit" => Action::Edit,
            "suspend" => Action::Suspend,
            "reactivate" => Action::Reactivate,
            "terminate" => Action::Terminate,
            "block" => Action::Block,
            "transfer" => Action::Transfer,
            "retry" => Action::Retry,
            "cancel_job" => Action::CancelJob,
            "next_status" => Action::NextStatus,
            "verify" => Action::Verify,
            "wide" => Action::Wide,
            "pix" => Action::Pix,
            "refund" => Action::Refund,
            "record_payment" => Action::RecordPayment,
            "next_panel" => Action::NextPanel,
            "prev_panel" => Action::PrevPanel,
            "accept" => Action::Accept,
            "close" => Action::Close,
            "next_field" => Action::NextField,
            "prev_field" => Action::PrevField,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_goto() {
        assert_eq!(Action::from_run("top"), Some(Action::Top));
        assert_eq!(Action::from_run("goto billing"), Some(Action::Goto("billing".into())));
        assert_eq!(Action::from_run("goto nowhere"), None);
        assert_eq!(Action::from_run("top now"), None);
        assert_eq!(Action::from_run("fly"), None);
    }
}
