//! Parts shared by screens of several sections: the list component and the generic browse
//! table built on it, keyset paging, the `/` filter line, the tenant confirmation modal.

pub mod browse;
pub mod columns;
pub mod confirm;
pub mod filter;
pub mod list;
pub mod paging;
pub mod picker;
