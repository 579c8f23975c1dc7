//! Writing invoices with their items and payment attempts, and the chargebacks.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use super::billing::Draft;
use super::text::fold;
use super::{Ctx, World};
use crate::args;
use crate::error::ServiceError;

/// What happened to the payment side of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pay {
    /// No attempt yet.
    None,
    /// Paid through a provider (sometimes after a declined card).
    Paid,
    /// A reseller's credit purchase, paid by PIX.
    Credits,
    /// A PIX code or checkout waiting for the customer.
    Waiting,
    /// The PIX code expired unpaid.
    Expired,
    /// Paid, then refunded.
    Refunded,
    /// The last attempt was declined.
    Failed,
}

pub(super) async fn insert_invoice(ctx: &mut Ctx, world: &mut World, d: Draft, seq: i64) -> Result<(), ServiceError> {
    let Some(b) = world.brands.get(d.brand) else {
        return Ok(());
    };
    let tid = b.tenant.id;
    let currency = b.tenant.currency.clone();
    let merchant: String = fold(&b.tenant.name).to_uppercase().chars().take(25).collect();
    let city = city_of(b.spec.ddd);
    let sertao = b.tenant.slug.starts_with("sertao");
    let number = format!("{}-{}-{seq:05}", b.spec.prefix, d.created.format("%Y"));
    let subtotal: i64 = d.lines.iter().map(|l| l.1 * l.2).filter(|a| *a > 0).sum();
    let discount: i64 = -d.lines.iter().map(|l| l.1 * l.2).filter(|a| *a < 0).sum::<i64>();
    let total = subtotal - discount;
    let id = Uuid::now_v7();
    let updated = d.paid.unwrap_or(d.created);
    ctx.add(
        "invoices",
        "invoice",
        Some(tid),
        cols![
            "id" => id, "tenant_id" => tid, "customer_id" => d.customer, "user_id" => d.user,
            "number" => number.as_str(), "status" => d.status, "reason" => d.reason,
            "subtotal_minor" => subtotal, "discount_minor" => discount, "tax_minor" => 0_i64, "total_minor" => total,
            "currency" => currency.as_str(), "due_at" => d.due, "paid_at" => d.paid,
            "period_start" => d.period.map(|p| p.0), "period_end" => d.period.map(|p| p.1),
            "reminders_sent" => d.reminders,
            "last_reminder_at" => (d.reminders > 0).then(|| (d.due - TimeDelta::days(1)).min(ctx.t0 - TimeDelta::hours(5))),
            "notes" => d.notes, "created_at" => d.created, "updated_at" => updated,
        ],
    )
    .await?;
    for (i, (desc, qty, unit, service, service_addon)) in d.lines.iter().enumerate() {
        let fields = cols![
            "id" => Uuid::now_v7(), "tenant_id" => tid, "invoice_id" => id, "service_id" => *service,
            "service_addon_id" => *service_addon, "description" => desc.as_str(), "quantity" => *qty,
            "unit_price_minor" => *unit, "amount_minor" => qty * unit, "currency" => currency.as_str(),
            "period_start" => d.period.map(|p| p.0), "period_end" => d.period.map(|p| p.1),
            "sort_order" => i as i64, "created_at" => d.created,
        ];
        ctx.insert("invoice_items", &fields, &[]).await?;
    }
    let inv = Inv {
        tid,
        id,
        total,
        currency: &currency,
        merchant: &merchant,
        city,
    };
    let paid_at = d.paid.unwrap_or(d.created);
    match d.pay {
        Pay::None => {}
        Pay::Paid | Pay::Refunded => {
            let provider = if currency == "USD" {
                "stripe"
            } else if sertao {
                "mercadopago"
            } else {
                match ctx.rng.below(100) {
                    0..45 => "pix",
                    45..65 => "stripe",
                    65..90 => "mercadopago",
                    _ => "pagseguro",
                }
            };
            let mut attempt = 1;
            if provider == "stripe" && ctx.rng.chance(15) {
                let at = paid_at - TimeDelta::minutes(ctx.rng.range(5, 90));
                payment(
                    ctx,
                    &inv,
                    attempt,
                    "stripe",
                    "failed",
                    at,
                    Some("card_declined (insufficient_funds)"),
                )
                .await?;
                attempt += 1;
            }
            let status = if d.pay == Pay::Refunded {
                "refunded"
            } else {
                "succeeded"
            };
            payment(ctx, &inv, attempt, provider, status, paid_at, None).await?;
        }
        Pay::Credits => payment(ctx, &inv, 1, "pix", "succeeded", paid_at, None).await?,
        Pay::Waiting => {
            let provider = if currency == "USD" {
                "stripe"
            } else if ctx.rng.chance(70) {
                "pix"
            } else {
                "mercadopago"
            };
            let at = ctx.t0 - TimeDelta::minutes(ctx.rng.range(10, 600));
            payment(ctx, &inv, 1, provider, "pending", at, None).await?;
        }
        Pay::Expired => payment(ctx, &inv, 1, "pix", "expired", d.created + TimeDelta::minutes(5), None).await?,
        Pay::Failed => {
            let (provider, why) = if currency == "USD" || ctx.rng.chance(50) {
                ("stripe", "card_declined (expired_card)")
            } else {
                ("mercadopago", "cc_rejected_insufficient_amount")
            };
            payment(ctx, &inv, 1, provider, "failed", d.due + TimeDelta::hours(2), Some(why)).await?;
        }
    }
    if d.reason == "credits" {
        if let (Some(user), Some(paid)) = (d.user, d.paid) {
            let credits = d.lines.first().map_or(0, |l| l.1);
            world.credit_invoices.push((user, id, credits, total, paid));
        }
    }
    if matches!(d.status, "pending" | "overdue") {
        world.open_invoices.push((d.brand, id, d.customer, number, d.due));
    }
    Ok(())
}

struct Inv<'a> {
    tid: Uuid,
    id: Uuid,
    total: i64,
    currency: &'a str,
    merchant: &'a str,
    city: &'static str,
}

fn city_of(ddd: &str) -> &'static str {
    match ddd {
        "41" => "CURITIBA",
        "85" => "FORTALEZA",
        "31" => "BELO HORIZONTE",
        "51" => "PORTO ALEGRE",
        "81" => "RECIFE",
        "87" => "PETROLINA",
        _ => "SAO PAULO",
    }
}

const PIX_BANKS: [(&str, &str); 5] = [
    ("18236120", "Nu Pagamentos S.A."),
    ("00000000", "Banco do Brasil S.A."),
    ("60746948", "Banco Bradesco S.A."),
    ("00360305", "Caixa Econômica Federal"),
    ("60701190", "Itaú Unibanco S.A."),
];

#[allow(clippy::too_many_arguments)]
async fn payment(
    ctx: &mut Ctx,
    inv: &Inv<'_>,
    attempt: i64,
    provider: &'static str,
    status: &'static str,
    at: DateTime<Utc>,
    failure: Option<&str>,
) -> Result<(), ServiceError> {
    let amount = inv.total;
    let settled = matches!(status, "succeeded" | "refunded");
    let (method, external, fee, data) = match provider {
        "pix" => {
            let (ispb, bank) = PIX_BANKS
                .get(ctx.rng.below(PIX_BANKS.len()))
                .copied()
                .unwrap_or(PIX_BANKS[0]);
            let e2e = format!("E{ispb}{}{}", at.format("%Y%m%d%H%M"), ctx.rng.alnum(11));
            let data = if settled {
                json!({ "end_to_end_id": e2e, "payer_bank": bank })
            } else {
                json!({ "txid": e2e })
            };
            (
                "pix",
                (settled || status == "refunded").then_some(e2e),
                amount * 99 / 10_000,
                data,
            )
        }
        "stripe" => {
            let brand = ctx.rng.pick(&["visa", "mastercard", "elo", "amex"]);
            let data = json!({ "brand": brand, "last4": ctx.rng.digits(4), "country": if inv.currency == "USD" { "US" } else { "BR" } });
            (
                "card",
                Some(format!("pi_3{}", ctx.rng.alnum(23))),
                amount * 399 / 10_000 + 39,
                data,
            )
        }
        "mercadopago" => {
            let m = ctx.rng.pick(&["pix", "master", "visa", "bolbradesco"]);
            let data = json!({ "payment_method_id": m, "installments": 1, "status_detail": if settled { "accredited" } else { "pending_waiting_payment" } });
            let method = match m {
                "pix" => "pix",
                "bolbradesco" => "boleto",
                _ => "credit_card",
            };
            (
                method,
                Some(format!("1{}", ctx.rng.digits(10))),
                amount * 499 / 10_000,
                data,
            )
        }
        _ => {
            let h = ctx.rng.hex(32).to_uppercase();
            let id = format!(
                "CHAR_{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            );
            (
                "credit_card",
                Some(id),
                amount * 399 / 10_000,
                json!({ "installments": 1, "payment_response": { "code": "20000" } }),
            )
        }
    };
    // A PIX charge is referenced by its txid until paid; use it as the external id then.
    let external = external.or_else(|| (provider == "pix").then(|| format!("txid{}", ctx.rng.alnum(26))));
    let pix_code =
        (method == "pix" && provider != "stripe").then(|| br_code(inv.merchant, inv.city, amount, &ctx.rng.alnum(25)));
    let expires = matches!(provider, "pix" | "mercadopago").then(|| {
        if status == "pending" {
            ctx.t0 + TimeDelta::hours(ctx.rng.range(2, 20))
        } else {
            at + TimeDelta::hours(24)
        }
    });
    let checkout = (status == "pending" && provider != "pix").then(|| match provider {
        "stripe" => format!("https://checkout.stripe.com/c/pay/cs_live_{}", ctx.rng.alnum(40)),
        _ => format!(
            "https://www.mercadopago.com.br/checkout/v1/redirect?pref_id={}-{}",
            ctx.rng.digits(9),
            Uuid::now_v7()
        ),
    });
    let id = Uuid::now_v7();
    let updated = if status == "refunded" {
        at + TimeDelta::days(3)
    } else {
        at
    };
    ctx.add(
        "payments",
        "payment",
        Some(inv.tid),
        cols![
            "id" => id, "tenant_id" => inv.tid, "invoice_id" => inv.id, "provider" => provider, "method" => method,
            "external_id" => external, "idempotency_key" => format!("inv-{}-{attempt}", inv.id), "status" => status,
            "amount_minor" => amount, "fee_minor" => if settled { fee } else { 0 },
            "refunded_minor" => if status == "refunded" { amount } else { 0 }, "currency" => inv.currency,
            "checkout_url" => checkout, "pix_code" => pix_code, "expires_at" => expires,
            "paid_at" => settled.then_some(at), "failure_reason" => failure, "provider_data" => data,
            "created_at" => at - TimeDelta::minutes(2), "updated_at" => updated,
        ],
    )
    .await
}

/// A PIX "copia e cola" payload (EMV BR Code) with its CRC16.
fn br_code(merchant: &str, city: &str, amount: i64, txid: &str) -> String {
    let tlv = |id: &str, v: &str| format!("{id}{:02}{v}", v.len());
    let account = format!(
        "{}{}",
        tlv("00", "br.gov.bcb.pix"),
        tlv("25", &format!("pix.painelcloud.net.br/qr/v2/{txid}"))
    );
    let mut s = String::new();
    s.push_str(&tlv("00", "01"));
    s.push_str(&tlv("01", "12"));
    s.push_str(&tlv("26", &account));
    s.push_str(&tlv("52", "0000"));
    s.push_str(&tlv("53", "986"));
    s.push_str(&tlv("54", &format!("{}.{:02}", amount / 100, amount % 100)));
    s.push_str(&tlv("58", "BR"));
    s.push_str(&tlv("59", merchant));
    s.push_str(&tlv("60", &city.chars().take(15).collect::<String>()));
    s.push_str(&tlv("62", &tlv("05", "***")));
    s.push_str("6304");
    let mut crc: u16 = 0xFFFF;
    for byte in s.bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    format!("{s}{crc:04X}")
}

/// Chargebacks: (tenant slug, provider, status, reason, notes).
const DISPUTES: [(&str, &str, &str, &str, &str); 3] = [
    (
        "sertao-digital-hospedagem",
        "mercadopago",
        "needs_response",
        "Compra não reconhecida pelo titular do cartão",
        "Revenda suspensa até a análise do chargeback; enviar comprovantes de uso do serviço.",
    ),
    (
        "turbohost",
        "stripe",
        "lost",
        "fraudulent",
        "Evidências enviadas fora do prazo; valor debitado.",
    ),
    (
        "nuvembr-hosting",
        "stripe",
        "won",
        "product_not_received",
        "Logs de acesso ao cPanel aceitos como evidência.",
    ),
];

pub(super) async fn disputes(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    for (slug, provider, status, reason, notes) in DISPUTES {
        let Some(b) = world.brands.iter().find(|b| b.tenant.slug == slug) else {
            continue;
        };
        let tid = b.tenant.id;
        let found: Option<(Uuid, i64, String, String)> = ctx
            .tx
            .fetch_optional(
                "SELECT id, amount_minor, currency, provider FROM payments WHERE tenant_id = $1 AND status = 'succeeded' \
                 AND provider <> 'pix' ORDER BY CASE WHEN provider = $2 THEN 0 ELSE 1 END, created_at LIMIT 1",
                args![tid, provider],
            )
            .await?;
        let Some((payment, amount, currency, provider)) = found else {
            continue;
        };
        let external = match provider.as_str() {
            "stripe" => format!("du_1{}", ctx.rng.alnum(23)),
            _ => ctx.rng.digits(10),
        };
        let open = matches!(status, "needs_response" | "under_review");
        let created = if open { ctx.days(-2) } else { ctx.days(-24) };
        let provider: &str = &provider;
        ctx.add(
            "disputes",
            "dispute",
            Some(tid),
            cols![
                "id" => Uuid::now_v7(), "tenant_id" => tid, "payment_id" => payment, "provider" => provider,
                "external_id" => external, "status" => status, "reason" => reason, "amount_minor" => amount,
                "currency" => currency.as_str(), "evidence_due_at" => created + TimeDelta::days(7),
                "closed_at" => (!open).then(|| created + TimeDelta::days(12)), "notes" => notes,
                "created_at" => created, "updated_at" => if open { created } else { created + TimeDelta::days(12) },
            ],
        )
        .await?;
    }
    Ok(())
}
