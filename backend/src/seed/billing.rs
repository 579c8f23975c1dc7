//! Hosting services and their add-ons; then invoices, items, payments and disputes.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::payments::{self, Pay};
use super::text::compact;
use super::{Ctx, ServiceRef, World};
use crate::error::ServiceError;

/// Service statuses cycled through per brand, weighted towards active.
const PATTERN: [&str; 16] = [
    "active",
    "active",
    "pending",
    "active",
    "suspended",
    "active",
    "provisioning",
    "active",
    "active",
    "error",
    "active",
    "terminated",
    "active",
    "active",
    "suspended",
    "active",
];

fn cycle_days(cycle: &str) -> i64 {
    match cycle {
        "quarterly" => 90,
        "semiannual" => 180,
        "annual" => 365,
        _ => 30,
    }
}

pub(super) async fn services(ctx: &mut Ctx, world: &mut World) -> Result<(), ServiceError> {
    let mut taken: HashSet<(usize, String)> = HashSet::new();
    // A domain is the main domain of one account per server (WHM refuses a second; the
    // provider sandbox holds the demo's accounts, docs/adr/0018).
    let mut hosted: HashSet<(usize, String)> = HashSet::new();
    for bi in 0..world.brands.len() {
        let Some(b) = world.brands.get(bi) else { continue };
        if b.spec.streaming {
            continue;
        }
        let tid = b.tenant.id;
        let tenant_suspended = b.tenant.status == "suspended";
        let servers: Vec<usize> = b
            .spec
            .servers
            .iter()
            .filter_map(|n| world.servers.iter().position(|s| s.name == *n))
            .collect();
        let plan = |code: &str| b.plans.iter().find(|p| p.code == code).cloned();
        let mut made: Vec<ServiceRef> = Vec::new();
        for (j, c) in b.customers.iter().enumerate() {
            let count = if j % 4 == 0 { 2 } else { 1 };
            for k in 0..count {
                let mut status = PATTERN
                    .get((bi * 5 + j * 2 + k * 7) % PATTERN.len())
                    .copied()
                    .unwrap_or("active");
                let code = match (k, j % 10) {
                    (1, _) => "email-pro",
                    (_, 7) => "start-2022",
                    (_, 4) => "revenda-30",
                    (_, 3) => "plus-anual",
                    (_, 0 | 5 | 8) => "plus",
                    (_, 2 | 9) => "pro",
                    _ => "start",
                };
                let Some(p) = plan(code) else { continue };
                if tenant_suspended && status == "active" {
                    status = "suspended";
                }
                let cust_age = b.customer_age.get(j).copied().unwrap_or(10);
                let site = b.sites.get(j).cloned().unwrap_or_default();
                let created = match status {
                    "provisioning" => ctx.mins(-ctx.rng.range(4, 25)),
                    "pending" => ctx.hours(-ctx.rng.range(2, 60)),
                    "error" => ctx.hours(-ctx.rng.range(20, 70)),
                    _ => ctx.days(-(cust_age - (k as i64) * 6).max(1)) + TimeDelta::minutes(ctx.rng.range(30, 600)),
                };
                let server = if status == "pending" {
                    None
                } else {
                    servers.get((j + k) % servers.len().max(1)).copied()
                };
                let site = match server {
                    Some(si) if !hosted.insert((si, site.clone())) => {
                        let alt = match site.split_once('.') {
                            Some((head, tail)) => format!("{head}-mail.{tail}"),
                            None => format!("{site}-mail"),
                        };
                        hosted.insert((si, alt.clone()));
                        alt
                    }
                    _ => site,
                };
                let username = server.map(|si| {
                    let base: String = compact(&site).chars().take(8).collect();
                    let mut u = base.clone();
                    let mut n = 1;
                    while !taken.insert((si, u.clone())) {
                        u = format!("{}{n}", base.chars().take(7).collect::<String>());
                        n += 1;
                    }
                    u
                });
                let age = (ctx.t0 - created).num_days();
                let cd = cycle_days(p.cycle);
                let next_due = match status {
                    "active" => Some(ctx.days(cd - age % cd).max(ctx.days(1))),
                    "suspended" => Some(ctx.days(-ctx.rng.range(8, 14))),
                    "provisioning" | "error" => Some(created + TimeDelta::days(cd)),
                    _ => None,
                };
                let activated =
                    matches!(status, "active" | "suspended" | "terminated").then(|| created + TimeDelta::minutes(4));
                let suspended_at = (status == "suspended").then(|| ctx.days(-ctx.rng.range(1, 6)));
                let reason = match (status, tenant_suspended) {
                    ("suspended", true) => Some("Revenda suspensa: chargeback em análise"),
                    ("suspended", false) => Some("Fatura em atraso há 7 dias (suspensão automática)"),
                    _ => None,
                };
                let terminated_at = (status == "terminated").then(|| created + TimeDelta::days(21));
                let server_name = server.and_then(|si| world.servers.get(si)).map_or("", |s| s.name);
                let last_error = (status == "error").then(|| match j % 2 {
                    0 => format!(
                        "WHM createacct: (XID {}) The username \"{}\" already exists on {server_name}.",
                        ctx.rng.alnum(6).to_lowercase(),
                        username.clone().unwrap_or_default()
                    ),
                    _ => format!("WHM API timeout after 60s calling createacct on {server_name} (5 attempts)"),
                });
                let id = Uuid::now_v7();
                let external = matches!(status, "active" | "suspended" | "terminated")
                    .then(|| username.clone())
                    .flatten();
                ctx.add(
                    "services",
                    "service",
                    Some(tid),
                    cols![
                        "id" => id, "tenant_id" => tid, "customer_id" => c.id, "plan_id" => p.id,
                        "server_id" => server.and_then(|si| world.servers.get(si)).map(|s| s.id),
                        "status" => status, "domain" => site.as_str(), "username" => username.clone(),
                        "external_ref" => external, "price_minor" => p.price, "currency" => b.tenant.currency.as_str(),
                        "billing_cycle" => p.cycle, "auto_renew" => status != "terminated" && j % 6 != 5,
                        "next_due_at" => next_due, "activated_at" => activated, "suspended_at" => suspended_at,
                        "suspend_reason" => reason, "terminated_at" => terminated_at, "last_error" => last_error.clone(),
                        "created_at" => created, "updated_at" => suspended_at.or(terminated_at).unwrap_or(created),
                    ],
                )
                .await?;
                let follow_up = match status {
                    "suspended" => Some(("service.suspend", json!({ "reason": reason }))),
                    "terminated" => Some((
                        "service.terminate",
                        json!({ "reason": "Cancelado a pedido do cliente" }),
                    )),
                    "error" => Some(("service.provision_failed", json!({ "error": last_error }))),
                    _ => None,
                };
                if let Some((action, after)) = follow_up {
                    ctx.note(action, "service", Some(id.to_string()), Some(tid), after)
                        .await?;
                }
                let mut addon = None;
                if matches!(status, "active" | "suspended") && (j + k) % 3 == 0 && p.kind != "email" {
                    if let Some(a) = b.addons.get(j % b.addons.len().max(1)).cloned() {
                        let sa = Uuid::now_v7();
                        let at = created + TimeDelta::minutes(1);
                        ctx.add(
                            "service_addons",
                            "service_addon",
                            Some(tid),
                            cols![
                                "id" => sa, "tenant_id" => tid, "service_id" => id, "addon_id" => a.id,
                                "status" => if status == "active" { "active" } else { "suspended" },
                                "quantity" => 1_i64, "price_minor" => a.price, "currency" => b.tenant.currency.as_str(),
                                "next_due_at" => next_due, "created_at" => at, "updated_at" => at,
                            ],
                        )
                        .await?;
                        addon = Some((sa, a));
                    }
                    // A cancelled add-on stays for history.
                    if j % 5 == 0 {
                        if let Some(a) = b.addons.iter().find(|a| a.name.starts_with("Backup")) {
                            let sa = Uuid::now_v7();
                            let at = created + TimeDelta::days(2);
                            ctx.add(
                                "service_addons",
                                "service_addon",
                                Some(tid),
                                cols![
                                    "id" => sa, "tenant_id" => tid, "service_id" => id, "addon_id" => a.id,
                                    "status" => "cancelled", "quantity" => 1_i64, "price_minor" => a.price,
                                    "currency" => b.tenant.currency.as_str(), "cancelled_at" => at + TimeDelta::days(9),
                                    "created_at" => at, "updated_at" => at + TimeDelta::days(9),
                                ],
                            )
                            .await?;
                        }
                    }
                }
                made.push(ServiceRef {
                    id,
                    brand: bi,
                    customer: j,
                    plan: p,
                    server,
                    status,
                    domain: Some(site),
                    username,
                    created,
                    next_due,
                    addon,
                });
            }
        }
        world.services.extend(made);
    }
    Ok(())
}

/// One invoice line: (description, quantity, unit price, service, service add-on).
pub(super) type Line = (String, i64, i64, Option<Uuid>, Option<Uuid>);

/// An invoice before it gets its number (numbers follow creation order per brand).
pub(super) struct Draft {
    pub brand: usize,
    pub customer: Option<Uuid>,
    pub user: Option<Uuid>,
    pub status: &'static str,
    pub reason: &'static str,
    pub lines: Vec<Line>,
    pub created: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub paid: Option<DateTime<Utc>>,
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub reminders: i64,
    pub notes: &'static str,
    pub pay: Pay,
}

fn period_label(p: &super::PlanRef, from: DateTime<Utc>) -> String {
    format!(
        "{} ({} a {})",
        p.name,
        from.format("%d/%m/%Y"),
        (from + TimeDelta::days(cycle_days(p.cycle))).format("%d/%m/%Y")
    )
}

pub(super) async fn invoices(ctx: &mut Ctx, world: &mut World) -> Result<(), ServiceError> {
    let mut drafts: Vec<Draft> = Vec::new();
    for (si, s) in world.services.iter().enumerate() {
        let Some(b) = world.brands.get(s.brand) else { continue };
        let Some(c) = b.customers.get(s.customer) else { continue };
        let domain = s.domain.clone().unwrap_or_default();
        let mut lines: Vec<Line> = vec![(
            format!("{} — {domain}", period_label(&s.plan, s.created)),
            1,
            s.plan.price,
            Some(s.id),
            None,
        )];
        if s.plan.setup > 0 {
            lines.push(("Taxa de instalação".into(), 1, s.plan.setup, Some(s.id), None));
        }
        if let Some((sa, a)) = &s.addon {
            lines.push((a.name.to_owned(), 1, a.price, Some(s.id), Some(*sa)));
        }
        if si % 5 == 0 && s.plan.price > 0 {
            lines.push((
                "Cupom BEMVINDO10 (-10%)".into(),
                1,
                -(s.plan.price / 10),
                Some(s.id),
                None,
            ));
        }
        let order_created = s.created - TimeDelta::minutes(3);
        let paid_after = TimeDelta::minutes(ctx.rng.range(2, 180));
        let base = Draft {
            brand: s.brand,
            customer: Some(c.id),
            user: None,
            status: "paid",
            reason: "order",
            lines: lines.clone(),
            created: order_created,
            due: order_created + TimeDelta::days(3),
            paid: Some((order_created + paid_after).min(s.created)),
            period: Some((s.created, s.created + TimeDelta::days(cycle_days(s.plan.cycle)))),
            reminders: 0,
            notes: "",
            pay: Pay::Paid,
        };
        match s.status {
            "pending" => {
                if si % 2 == 0 {
                    let created = order_created - TimeDelta::days(4);
                    drafts.push(Draft {
                        status: "cancelled",
                        created,
                        due: created + TimeDelta::days(3),
                        paid: None,
                        notes: "PIX expirado; cliente refez o pedido",
                        pay: Pay::Expired,
                        lines: lines.clone(),
                        ..base_clone(&base)
                    });
                }
                drafts.push(Draft {
                    status: "pending",
                    paid: None,
                    pay: Pay::Waiting,
                    ..base
                });
            }
            "terminated" => drafts.push(Draft {
                status: "refunded",
                notes: "Reembolso integral — garantia de 7 dias",
                pay: Pay::Refunded,
                ..base
            }),
            _ => drafts.push(base),
        }
        // Renewals already billed for services that have been running a while.
        if matches!(s.status, "active" | "suspended") {
            let cd = cycle_days(s.plan.cycle);
            let cycles = (ctx.t0 - s.created).num_days() / cd;
            let renewal_lines = |from: DateTime<Utc>| {
                let mut l: Vec<Line> = vec![(
                    format!("Renovação {} — {domain}", period_label(&s.plan, from)),
                    1,
                    s.plan.price,
                    Some(s.id),
                    None,
                )];
                if let Some((sa, a)) = &s.addon {
                    l.push((a.name.to_owned(), 1, a.price, Some(s.id), Some(*sa)));
                }
                l
            };
            for n in (1..=cycles).rev().take(2) {
                let from = s.created + TimeDelta::days(n * cd);
                let due = from;
                let (status, paid, pay, reminders) = if s.status == "suspended" && n == cycles {
                    ("overdue", None, if si % 2 == 0 { Pay::Failed } else { Pay::None }, 3)
                } else {
                    let paid = due - TimeDelta::hours(ctx.rng.range(1, 96));
                    ("paid", Some(paid), Pay::Paid, i64::from(si % 3 == 0))
                };
                drafts.push(Draft {
                    brand: s.brand,
                    customer: Some(c.id),
                    user: None,
                    status,
                    reason: "renewal",
                    lines: renewal_lines(from),
                    created: due - TimeDelta::days(7),
                    due,
                    paid,
                    period: Some((from, from + TimeDelta::days(cd))),
                    reminders,
                    notes: "",
                    pay,
                });
            }
            if s.status == "suspended" && cycles == 0 {
                let due = s.next_due.unwrap_or(ctx.days(-9));
                drafts.push(Draft {
                    brand: s.brand,
                    customer: Some(c.id),
                    user: None,
                    status: "overdue",
                    reason: "renewal",
                    lines: renewal_lines(due),
                    created: due - TimeDelta::days(7),
                    due,
                    paid: None,
                    period: Some((due, due + TimeDelta::days(cd))),
                    reminders: 3,
                    notes: "",
                    pay: Pay::None,
                });
            }
            // The next renewal, issued a week before it is due.
            if let Some(next) = s.next_due.filter(|d| s.status == "active" && *d <= ctx.days(7)) {
                let overdue = si % 9 == 4;
                let due = if overdue { ctx.days(-2) } else { next };
                drafts.push(Draft {
                    brand: s.brand,
                    customer: Some(c.id),
                    user: None,
                    status: if overdue { "overdue" } else { "pending" },
                    reason: "renewal",
                    lines: renewal_lines(due),
                    created: due - TimeDelta::days(7),
                    due,
                    paid: None,
                    period: Some((due, due + TimeDelta::days(cd))),
                    reminders: if overdue { 2 } else { 1 },
                    notes: "",
                    pay: if overdue { Pay::Failed } else { Pay::Waiting },
                });
            }
        }
    }
    credit_drafts(ctx, world, &mut drafts);
    drafts.sort_by_key(|d| (d.brand, d.created));
    let mut seq: Vec<i64> = vec![1000; world.brands.len()];
    for d in drafts {
        let n = seq.get_mut(d.brand).map(|s| {
            *s += 1;
            *s
        });
        payments::insert_invoice(ctx, world, d, n.unwrap_or(0)).await?;
    }
    payments::disputes(ctx, world).await
}

fn base_clone(d: &Draft) -> Draft {
    Draft {
        brand: d.brand,
        customer: d.customer,
        user: d.user,
        status: d.status,
        reason: d.reason,
        lines: d.lines.clone(),
        created: d.created,
        due: d.due,
        paid: d.paid,
        period: d.period,
        reminders: d.reminders,
        notes: d.notes,
        pay: d.pay,
    }
}

/// Partners of the streaming brands buy credits in bulk: (username, credits, days ago).
const CREDIT_PURCHASES: [(&str, i64, i64); 5] = [
    ("nordesteplay", 8000, 76),
    ("nordesteplay", 4000, 31),
    ("sulstream", 3000, 70),
    ("eduardo.lins", 5000, 55),
    ("eduardo.lins", 1500, 12),
];

/// Price per credit paid by a partner, in centavos.
pub(super) const CREDIT_PRICE: i64 = 400;

fn credit_drafts(ctx: &mut Ctx, world: &mut World, drafts: &mut Vec<Draft>) {
    for (username, credits, days) in CREDIT_PURCHASES {
        let Some((bi, user)) = world
            .brands
            .iter()
            .enumerate()
            .find_map(|(bi, b)| b.resellers.iter().find(|u| u.username == username).map(|u| (bi, u.id)))
        else {
            continue;
        };
        let created = ctx.days(-days);
        let paid = created + TimeDelta::minutes(ctx.rng.range(3, 40));
        drafts.push(Draft {
            brand: bi,
            customer: None,
            user: Some(user),
            status: "paid",
            reason: "credits",
            lines: vec![(
                format!("Pacote de {credits} créditos"),
                credits,
                CREDIT_PRICE,
                None,
                None,
            )],
            created,
            due: created + TimeDelta::days(1),
            paid: Some(paid),
            period: None,
            reminders: 0,
            notes: "Compra de créditos para revenda",
            pay: Pay::Credits,
        });
    }
}
