//! Coupons (docs/adr/0026): a percent (basis points) or a fixed amount off, a validity
//! window, a total and a per-customer usage limit, optionally restricted to plans and
//! add-ons. [`check`] prices one for a quote; [`redeem`] consumes one use atomically in the
//! sale's transaction: the guarded `UPDATE … used_count + 1 WHERE used_count < max_uses`
//! locks the coupon row, so concurrent redeemers queue and the limit holds (a CHECK is the
//! last line); the per-customer count is read after that lock.

pub mod manage;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::billing::prices::{ItemKind, Line};
use crate::db::{now, Tx};
use crate::error::ServiceError;

pub use manage::{create, disable, list, show, update, Coupon, CouponInput, Redemption};

/// A coupon as a quote applies it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub id: Uuid,
    pub code: String,
    pub discount_minor: i64,
}

/// The discount on `eligible` (minor units): a percent rounds down (never more off than
/// stated), a fixed amount never exceeds what it applies to.
pub fn discount(percent_bp: Option<i64>, amount_minor: Option<i64>, eligible: i64) -> i64 {
    let eligible = eligible.max(0);
    match (percent_bp, amount_minor) {
        (Some(bp), _) => {
            let d = i128::from(eligible) * i128::from(bp.clamp(0, 10_000)) / 10_000;
            i64::try_from(d).unwrap_or(eligible)
        }
        (None, Some(a)) => a.clamp(0, eligible),
        (None, None) => 0,
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Row {
    pub id: Uuid,
    pub status: String,
    pub percent_bp: Option<i64>,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub used_count: i64,
}

pub(crate) const ROW: &str = "id, status, percent_bp, amount_minor, currency, valid_from, valid_until, \
    max_uses, max_uses_per_customer, used_count";

pub fn normalise_code(code: &str) -> String {
    code.trim().to_uppercase()
}

/// Whether `code` may be used now by `customer` on `lines`, and what it takes off. Reads
/// only: nothing is consumed until [`redeem`].
pub async fn check(
    tx: &mut Tx,
    tenant: Uuid,
    code: &str,
    customer: Option<Uuid>,
    currency: &str,
    lines: &[Line],
) -> Result<Applied, ServiceError> {
    let code = normalise_code(code);
    let bad = |m: String| ServiceError::invalid("coupon", m);
    let c: Option<Row> = tx
        .fetch_optional(
            &format!("SELECT {ROW} FROM coupons WHERE tenant_id = $1 AND code = $2"),
            args![tenant, code.as_str()],
        )
        .await?;
    let Some(c) = c else {
        return Err(bad(format!("{code} is not a coupon of this tenant")));
    };
    let at = now();
    if c.status != "active" {
        return Err(bad(format!("{code} is disabled")));
    }
    if c.valid_from.is_some_and(|f| at < f) {
        return Err(bad(format!("{code} is not valid yet")));
    }
    if c.valid_until.is_some_and(|u| at >= u) {
        return Err(bad(format!("{code} has expired")));
    }
    if c.max_uses.is_some_and(|m| c.used_count >= m) {
        return Err(bad(format!("{code} is used up")));
    }
    if let (Some(cust), Some(limit)) = (customer, c.max_uses_per_customer) {
        let used: i64 = tx
            .scalar(
                "SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = $1 AND customer_id = $2",
                args![c.id, cust],
            )
            .await?;
        if used >= limit {
            return Err(bad(format!("{code} was already used by this customer")));
        }
    }
    if c.amount_minor.is_some() && c.currency != currency {
        return Err(bad(format!("{code} is in {}, the sale in {currency}", c.currency)));
    }
    let only: Vec<(String, Uuid)> = tx
        .fetch_all(
            "SELECT item_kind, COALESCE(plan_id, addon_id) FROM coupon_items WHERE coupon_id = $1",
            args![c.id],
        )
        .await?;
    let eligible: i64 = lines
        .iter()
        .filter(|l| {
            let Some(k) = l.item_kind else {
                return false;
            };
            only.is_empty()
                || only
                    .iter()
                    .any(|(kind, id)| kind == k.as_str() && Some(*id) == l.item_id)
        })
        .map(|l| l.amount_minor)
        .sum();
    let applies = lines.iter().any(|l| {
        l.item_kind.is_some_and(|k: ItemKind| {
            only.is_empty()
                || only
                    .iter()
                    .any(|(kind, id)| kind == k.as_str() && Some(*id) == l.item_id)
        })
    });
    if !applies {
        return Err(bad(format!("{code} does not apply to these items")));
    }
    Ok(Applied {
        id: c.id,
        code,
        discount_minor: discount(c.percent_bp, c.amount_minor, eligible),
    })
}

/// Where a coupon is used.
#[derive(Debug, Clone, Copy)]
pub struct Sale<'a> {
    pub tenant: Uuid,
    pub customer: Uuid,
    pub currency: &'a str,
    pub invoice: Option<Uuid>,
    pub service: Option<Uuid>,
}

/// Consumes one use of `applied` for `customer`, in the sale's transaction, audited. A
/// coupon used up (or disabled) meanwhile is a conflict and the sale rolls back.
pub async fn redeem(tx: &mut Tx, actor: &Actor, applied: &Applied, sale: &Sale<'_>) -> Result<(), ServiceError> {
    let Sale {
        tenant,
        customer,
        currency,
        invoice,
        service,
    } = *sale;
    let at = now();
    // The row lock taken here serialises every redeemer of this coupon until commit.
    let taken: Option<(i64,)> = tx
        .fetch_optional(
            "UPDATE coupons SET used_count = used_count + 1, updated_at = $2 WHERE id = $1 AND status = 'active' \
             AND (max_uses IS NULL OR used_count < max_uses) AND (valid_until IS NULL OR valid_until > $2) \
             RETURNING used_count",
            args![applied.id, at],
        )
        .await?;
    let Some((used,)) = taken else {
        return Err(ServiceError::Conflict(format!(
            "coupon {} is used up or no longer valid",
            applied.code
        )));
    };
    // Read after the lock: a statement of its own sees every earlier redeemer's commit.
    let limit: Option<i64> = tx
        .scalar(
            "SELECT max_uses_per_customer FROM coupons WHERE id = $1",
            args![applied.id],
        )
        .await?;
    if let Some(limit) = limit {
        let mine: i64 = tx
            .scalar(
                "SELECT COUNT(*) FROM coupon_redemptions WHERE coupon_id = $1 AND customer_id = $2",
                args![applied.id, customer],
            )
            .await?;
        if mine >= limit {
            return Err(ServiceError::Conflict(format!(
                "coupon {} was already used by this customer",
                applied.code
            )));
        }
    }
    let id = Uuid::now_v7();
    tx.execute(
        "INSERT INTO coupon_redemptions (id, tenant_id, coupon_id, customer_id, invoice_id, service_id, discount_minor, \
         currency, actor_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            id,
            tenant,
            applied.id,
            customer,
            invoice,
            service,
            applied.discount_minor,
            currency,
            actor.name.as_str(),
            at
        ],
    )
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "coupon.redeem",
            entity: "coupon",
            entity_id: Some(applied.id.to_string()),
            tenant_id: Some(tenant),
            before: None,
            after: Some(json!({
                "code": applied.code, "customer_id": customer, "invoice_id": invoice, "service_id": service,
                "discount_minor": applied.discount_minor, "used_count": used, "redemption_id": id,
            })),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn discounts() {
        assert_eq!(discount(Some(1000), None, 4990), 499);
        // 12.5% of 999 = 124.875 → 124 (rounds down).
        assert_eq!(discount(Some(1250), None, 999), 124);
        assert_eq!(discount(None, Some(5000), 1990), 1990);
        assert_eq!(discount(None, Some(500), 1990), 500);
        assert_eq!(discount(Some(10_000), None, 77), 77);
    }

    proptest! {
        #[test]
        fn a_discount_never_exceeds_what_it_applies_to(
            bp in 1i64..=10_000, amount in 1i64..10_000_000, eligible in 0i64..10_000_000_000,
        ) {
            let p = discount(Some(bp), None, eligible);
            let f = discount(None, Some(amount), eligible);
            prop_assert!((0..=eligible).contains(&p));
            prop_assert!((0..=eligible).contains(&f));
        }
    }
}
