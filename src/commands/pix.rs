//! `painel invoices pix ID` and `painel invoices pix-settings` (docs/adr/0029). The verb asks
//! for a charge (a static BR Code at once; a provider's charge through the
//! `billing.pix_charge` job, which it watches while the user waits) and prints the QR code on
//! a terminal with the copy-and-paste code; `-o json` gives code, expiry and provider.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Result;
use backend::billing::pix::{charges, settings, PixCharge};
use backend::{money, Actor, Db};
use chrono::SecondsFormat;
use uuid::Uuid;

use crate::output::{clean, Printer, Record};

#[derive(serde::Serialize)]
#[serde(transparent)]
struct ChargeRow(PixCharge);

impl Record for ChargeRow {
    fn columns() -> &'static [&'static str] {
        &["invoice", "provider", "status", "amount", "expires_at", "code"]
    }
    fn cells(&self) -> Vec<String> {
        let c = &self.0;
        vec![
            c.invoice_number.clone(),
            c.provider.clone(),
            c.status.clone(),
            money::format(c.amount_minor, &c.currency),
            c.expires_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                .unwrap_or_default(),
            c.code.clone().unwrap_or_default(),
        ]
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct SettingsRow(settings::PixSettings);

impl Record for SettingsRow {
    fn columns() -> &'static [&'static str] {
        &[
            "tenant_id",
            "provider",
            "key_kind",
            "key",
            "merchant_name",
            "merchant_city",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let s = &self.0;
        vec![
            s.tenant_id.to_string(),
            s.provider.clone(),
            s.key_kind.clone().unwrap_or_default(),
            s.key_value.clone().unwrap_or_default(),
            s.merchant_name.clone(),
            s.merchant_city.clone(),
        ]
    }
}

/// The invoice's charge — a new one when it has none that can still be paid — watched for up
/// to `wait` while the job creates it at the provider.
pub async fn pix(db: &Db, actor: &Actor, key: &str, wait: u64, out: &mut Printer) -> Result<()> {
    let mut c = match charges::current(db, actor, key).await? {
        Some(c) if matches!(c.status.as_str(), "active" | "requested" | "paid") => c,
        _ => charges::request(db, actor, key).await?,
    };
    let deadline = Instant::now() + Duration::from_secs(wait);
    while c.status == "requested" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(now) = charges::current(db, actor, key).await? {
            c = now;
        }
    }
    let table = !out.format.is_json() && matches!(out.format, crate::cli::OutputFormat::Table);
    if table && std::io::stdout().is_terminal() {
        if let Some(code) = &c.code {
            println!("{}", crate::qr::render(code)?);
            println!();
            println!("PIX copia e cola:");
            println!("  {}", clean(code));
            println!(
                "  {} · {} · expires {}",
                money::format(c.amount_minor, &c.currency),
                clean(&c.provider),
                c.expires_at
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
                    .unwrap_or_else(|| "never (static code)".into())
            );
            return Ok(());
        }
        if c.status == "requested" {
            eprintln!("the charge is still being created by its job (painel worker running?); run the verb again");
        }
    }
    if let Some(e) = &c.error {
        eprintln!("charge {}: {}", c.status, clean(e));
    }
    out.one(&ChargeRow(c))
}

pub struct SettingsArgs {
    pub tenant: String,
    pub provider: Option<String>,
    pub key: Option<String>,
    pub name: Option<String>,
    pub city: Option<String>,
}

/// Shows the tenant's PIX setting, or sets it when `--provider` is given.
pub async fn settings_cmd(db: &Db, actor: &Actor, a: SettingsArgs, out: &mut Printer) -> Result<()> {
    let tenant: Uuid = backend::tenants::get(db, actor, &a.tenant).await?.id;
    let Some(provider) = a.provider else {
        return match settings::get(db, actor, tenant).await? {
            Some(s) => out.one(&SettingsRow(s)),
            None => Err(backend::ServiceError::not_found("pix setting", a.tenant).into()),
        };
    };
    let s = settings::set(
        db,
        actor,
        settings::PixSettingsInput {
            tenant_id: tenant,
            provider,
            key: a.key,
            merchant_name: a.name.unwrap_or_default(),
            merchant_city: a.city.unwrap_or_default(),
        },
    )
    .await?;
    out.one(&SettingsRow(s))
}
