//! The dashboard's figures: counts straight from the database, scoped to the actor.

use serde::Serialize;

use crate::actor::Actor;
use crate::authz::{allows, Permission};
use crate::db::{Arg, Db};
use crate::error::ServiceError;
use crate::reseller::{self, Reach};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stat {
    pub label: &'static str,
    pub value: i64,
    /// Where to go to see these rows: a console path, `?text` narrowing its list as if
    /// typed after `/`.
    pub route: &'static str,
    /// A money figure shown instead of the bare count (`3 · 1,234.00 BRL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

struct Metric {
    label: &'static str,
    route: &'static str,
    permission: Permission,
    table: &'static str,
    cond: &'static str,
    /// Platform tables have no tenant column: hidden from scoped actors.
    tenant_col: Option<&'static str>,
    /// How the rows belong to a reseller's subtree; figures out of its reach are left out.
    reach: Reach,
}

const METRICS: &[Metric] = &[
    Metric {
        label: "Active tenants",
        route: "tenants",
        permission: Permission::TenantsRead,
        table: "tenants",
        cond: "status = 'active'",
        tenant_col: Some("id"),
        reach: Reach::Catalogue,
    },
    Metric {
        label: "Suspended tenants",
        route: "tenants",
        permission: Permission::TenantsRead,
        table: "tenants",
        cond: "status = 'suspended'",
        tenant_col: Some("id"),
        reach: Reach::Catalogue,
    },
    Metric {
        label: "Customers",
        route: "customers",
        permission: Permission::CustomersRead,
        table: "customers",
        cond: "1 = 1",
        tenant_col: Some("tenant_id"),
        reach: Reach::Owned {
            reseller: Some("reseller_id"),
            customer: None,
        },
    },
    Metric {
        label: "Active services",
        route: "services/list?active",
        permission: Permission::ServicesRead,
        table: "services",
        cond: "status = 'active'",
        tenant_col: Some("tenant_id"),
        reach: Reach::Owned {
            reseller: None,
            customer: Some("customer_id"),
        },
    },
    Metric {
        label: "Services in error",
        route: "services/list?error",
        permission: Permission::ServicesRead,
        table: "services",
        cond: "status = 'error'",
        tenant_col: Some("tenant_id"),
        reach: Reach::Owned {
            reseller: None,
            customer: Some("customer_id"),
        },
    },
    Metric {
        label: "Servers online",
        route: "servers",
        permission: Permission::ServersRead,
        table: "servers",
        cond: "status = 'online'",
        tenant_col: None,
        reach: Reach::None,
    },
    Metric {
        label: "Servers degraded/offline",
        route: "servers",
        permission: Permission::ServersRead,
        table: "servers",
        cond: "status IN ('degraded', 'offline')",
        tenant_col: None,
        reach: Reach::None,
    },
    Metric {
        label: "Unpaid invoices",
        route: "billing",
        permission: Permission::BillingRead,
        table: "invoices",
        cond: "status IN ('pending', 'overdue')",
        tenant_col: Some("tenant_id"),
        reach: Reach::Owned {
            reseller: Some("user_id"),
            customer: Some("customer_id"),
        },
    },
    Metric {
        label: "Migrations running",
        route: "migrations",
        permission: Permission::MigrationsRead,
        table: "migrations",
        cond: "status IN ('queued', 'validating', 'running')",
        tenant_col: Some("tenant_id"),
        reach: Reach::Owned {
            reseller: None,
            customer: Some("customer_id"),
        },
    },
    Metric {
        label: "Migrations failed",
        route: "migrations?failed",
        permission: Permission::MigrationsRead,
        table: "migrations",
        cond: "status IN ('failed', 'aborted')",
        tenant_col: Some("tenant_id"),
        reach: Reach::Owned {
            reseller: None,
            customer: Some("customer_id"),
        },
    },
    Metric {
        label: "Open incidents",
        route: "incidents",
        permission: Permission::IncidentsRead,
        table: "incidents",
        cond: "status <> 'resolved'",
        tenant_col: None,
        reach: Reach::None,
    },
];

pub async fn stats(db: &Db, actor: &Actor) -> Result<Vec<Stat>, ServiceError> {
    let mut out = Vec::new();
    for m in METRICS.iter().filter(|m| allows(actor, m.permission)) {
        let mut conds = vec![m.cond.to_owned()];
        let mut args: Vec<Arg> = Vec::new();
        if let Some(scope) = actor.tenant_id {
            let Some(col) = m.tenant_col else { continue };
            args.push(scope.into());
            conds.push(format!("{col} = ${}", args.len()));
        }
        if actor.reseller_root().is_some() && matches!(m.reach, Reach::None) {
            continue;
        }
        reseller::restrict(actor, m.reach, m.label, &mut conds, &mut args)?;
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", m.table, conds.join(" AND "));
        let value: i64 = db.scalar(&sql, args).await?;
        out.push(Stat {
            label: m.label,
            value,
            route: m.route,
            text: None,
        });
    }
    if allows(actor, Permission::BillingRead) {
        // After the counts they belong with: the unpaid invoices card.
        let at = out
            .iter()
            .position(|s| s.label == "Unpaid invoices")
            .map_or(out.len(), |i| i + 1);
        let money = crate::billing::figures::dashboard(db, actor).await?;
        out.splice(at..at, money);
    }
    Ok(out)
}
