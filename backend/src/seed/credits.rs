//! The reseller credit ledger: purchases, transfers down the tree, spends on lines.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{Ctx, World};
use crate::args;
use crate::error::ServiceError;

/// One balance change, before it is written.
pub(super) struct Credit {
    pub at: DateTime<Utc>,
    pub user: Uuid,
    pub kind: &'static str,
    pub delta: i64,
    pub counterparty: Option<Uuid>,
    pub correlation: Option<Uuid>,
    pub line: Option<Uuid>,
    pub invoice: Option<Uuid>,
    pub price: Option<i64>,
    pub key: Option<String>,
    pub description: String,
}

impl Credit {
    pub fn new(at: DateTime<Utc>, user: Uuid, kind: &'static str, delta: i64, description: String) -> Credit {
        Credit {
            at,
            user,
            kind,
            delta,
            counterparty: None,
            correlation: None,
            line: None,
            invoice: None,
            price: None,
            key: None,
            description,
        }
    }
}

/// Writes the credit history of one brand in time order, keeping `balance_after` and
/// `users.credits_balance` consistent.
pub(super) async fn ledger(
    ctx: &mut Ctx,
    world: &World,
    bi: usize,
    mut spends: Vec<Credit>,
) -> Result<(), ServiceError> {
    let Some(b) = world.brands.get(bi) else { return Ok(()) };
    let tid = b.tenant.id;
    let mut events: Vec<Credit> = Vec::new();
    let mut funded: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for &(user, invoice, qty, price, paid) in &world.credit_invoices {
        if !b.resellers.iter().any(|u| u.id == user) {
            continue;
        }
        let mut c = Credit::new(paid, user, "purchase", qty, format!("Compra de {qty} créditos"));
        c.invoice = Some(invoice);
        c.price = Some(price);
        c.key = Some(format!("invoice:{invoice}"));
        funded.entry(user).and_modify(|t| *t = (*t).min(paid)).or_insert(paid);
        events.push(c);
    }
    // Transfers down the tree, parents before children (the spec lists them in that order).
    for u in &b.resellers {
        let Some(parent) = u.parent.and_then(|p| b.resellers.get(p)) else {
            continue;
        };
        let amount = match u.role {
            "ultra" => 2500,
            "master" => 800,
            _ => 250,
        };
        let Some(&parent_funded) = funded.get(&parent.id) else {
            continue;
        };
        let at = (u.created + TimeDelta::days(1)).max(parent_funded + TimeDelta::hours(2));
        let corr = Uuid::now_v7();
        let mut out = Credit::new(
            at,
            parent.id,
            "transfer_out",
            -amount,
            format!("Transferência para {}", u.username),
        );
        out.counterparty = Some(u.id);
        out.correlation = Some(corr);
        let mut inc = Credit::new(
            at,
            u.id,
            "transfer_in",
            amount,
            format!("Transferência de {}", parent.username),
        );
        inc.counterparty = Some(parent.id);
        inc.correlation = Some(corr);
        events.push(out);
        events.push(inc);
        funded.insert(u.id, at);
    }
    // A commission, a campaign bonus and a refund for a line removed on the day it was made.
    if let Some(ultra) = b.resellers.iter().find(|u| u.role == "ultra") {
        events.push(Credit::new(
            ctx.days(-30),
            ultra.id,
            "commission",
            120,
            "Comissão mensal sobre vendas da rede".into(),
        ));
    }
    if let Some(r) = b.resellers.iter().find(|u| u.role == "reseller") {
        events.push(Credit::new(
            ctx.days(-20),
            r.id,
            "adjustment",
            50,
            "Bonificação campanha Dia dos Pais".into(),
        ));
    }
    if let Some(first) = spends.first() {
        let mut refund = Credit::new(
            first.at + TimeDelta::hours(3),
            first.user,
            "refund",
            -first.delta,
            "Estorno: linha recriada com usuário correto".into(),
        );
        refund.line = first.line;
        refund.key = first.line.map(|l| format!("line:{l}:refund"));
        events.push(refund);
    }
    events.append(&mut spends);
    events.sort_by_key(|e| e.at);
    let mut balance: HashMap<Uuid, i64> = HashMap::new();
    let mut i = 0;
    while i < events.len() {
        // A transfer is two rows sharing a correlation id: write and audit them together.
        let group = match (events.get(i), events.get(i + 1)) {
            (Some(a), Some(b)) if a.correlation.is_some() && a.correlation == b.correlation => 2,
            _ => 1,
        };
        let rows: Vec<&Credit> = events.iter().skip(i).take(group).collect();
        let affordable = rows
            .iter()
            .all(|e| balance.get(&e.user).copied().unwrap_or(0) + e.delta >= 0);
        if affordable {
            let mut ids = Vec::new();
            for e in &rows {
                let after = balance.get(&e.user).copied().unwrap_or(0) + e.delta;
                balance.insert(e.user, after);
                let id = Uuid::now_v7();
                let fields = cols![
                    "id" => id, "tenant_id" => tid, "user_id" => e.user, "counterparty_user_id" => e.counterparty,
                    "kind" => e.kind, "delta" => e.delta, "balance_after" => after, "price_minor" => e.price,
                    "currency" => "BRL", "correlation_id" => e.correlation, "line_id" => e.line, "invoice_id" => e.invoice,
                    "idempotency_key" => e.key.clone(), "description" => e.description.as_str(), "created_at" => e.at,
                ];
                ctx.insert("credit_transactions", &fields, &[]).await?;
                ids.push(
                    json!({ "id": id, "user_id": e.user, "kind": e.kind, "delta": e.delta, "balance_after": after }),
                );
            }
            let first = rows.first().map(|e| (e.kind, e.description.clone()));
            let (kind, description) = first.unwrap_or(("adjustment", String::new()));
            ctx.note(
                &format!("credits.{kind}"),
                "credit_transaction",
                ids.first()
                    .and_then(|v| v.get("id"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                Some(tid),
                json!({ "description": description, "rows": ids }),
            )
            .await?;
        }
        i += group;
    }
    for (user, credits) in balance {
        ctx.tx
            .execute(
                "UPDATE users SET credits_balance = $2 WHERE id = $1",
                args![user, credits],
            )
            .await?;
    }
    Ok(())
}

/// Brings every brand's history into the double-entry ledger as opening balances, so the
/// Credits screen shows the balances `users.credits_balance` holds (docs/adr/0025).
pub(super) async fn opening(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    for b in &world.brands {
        crate::billing::credits::import_history(&mut ctx.tx, &ctx.actor, b.tenant.id).await?;
    }
    Ok(())
}
