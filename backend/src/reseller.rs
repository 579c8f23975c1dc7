//! The reseller tree (partner > ultra > master > reseller, `users.parent_id`): a reseller-family
//! account acts on its own subtree only — itself, its descendants, and the customers whose
//! `reseller_id` is one of them (docs/adr/0011). Platform staff and tenant admins are not
//! confined by it; tenant scoping still applies to everyone.

use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::db::{Arg, Tx};
use crate::error::ServiceError;

/// How rows of a table belong to a reseller's subtree.
#[derive(Debug, Clone, Copy)]
pub enum Reach {
    /// No link to an owner: out of a reseller's reach (closed by default).
    None,
    /// Tenant-wide catalogue rows (plans, add-ons, the tenant itself): the tenant scope alone
    /// decides.
    Catalogue,
    /// Rows owned by a user of the subtree (`reseller`, a user id column) or by a customer
    /// of the subtree (`customer`, a customer id column); either suffices.
    Owned {
        reseller: Option<&'static str>,
        customer: Option<&'static str>,
    },
}

/// A SELECT of the user ids in the subtree rooted at parameter `$n`. UNION (not UNION ALL)
/// stops at a cycle in `parent_id` instead of recursing forever.
pub fn subtree(n: usize) -> String {
    format!(
        "WITH RECURSIVE subtree(id) AS (SELECT id FROM users WHERE id = ${n} \
         UNION SELECT u.id FROM users u JOIN subtree s ON u.parent_id = s.id) SELECT id FROM subtree"
    )
}

/// Confines a query to `actor`'s subtree when it is a reseller-family account: pushes the
/// condition (and its parameter), or refuses rows that have no owner link.
pub fn restrict(
    actor: &Actor,
    reach: Reach,
    what: &str,
    conds: &mut Vec<String>,
    args: &mut Vec<Arg>,
) -> Result<(), ServiceError> {
    let Some(root) = actor.reseller_root() else {
        return Ok(());
    };
    let (reseller, customer) = match reach {
        Reach::Catalogue => return Ok(()),
        Reach::None => {
            return Err(ServiceError::PermissionDenied(format!(
                "{what} is outside a {}'s reseller tree",
                actor.role.as_str()
            )))
        }
        Reach::Owned { reseller, customer } => (reseller, customer),
    };
    args.push(root.into());
    let tree = subtree(args.len());
    let mut any: Vec<String> = Vec::new();
    if let Some(col) = reseller {
        any.push(format!("{col} IN ({tree})"));
    }
    if let Some(col) = customer {
        any.push(format!(
            "{col} IN (SELECT sc.id FROM customers sc WHERE sc.reseller_id IN ({tree}))"
        ));
    }
    if any.is_empty() {
        any.push("1 = 0".to_owned());
    }
    conds.push(format!("({})", any.join(" OR ")));
    Ok(())
}

/// Whether `user` is `root` or one of its descendants.
pub async fn in_subtree(tx: &mut Tx, root: Uuid, user: Uuid) -> Result<bool, ServiceError> {
    let n: i64 = tx
        .scalar(
            &format!("SELECT COUNT(*) FROM users WHERE id = $2 AND id IN ({})", subtree(1)),
            args![root, user],
        )
        .await?;
    Ok(n > 0)
}
