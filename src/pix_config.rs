//! The PIX providers' settings, one 0600 JSON file each in the data directory (the service
//! account's, like the Stripe secret — docs/adr/0029): `mercadopago.json`
//! `{"access_token", "webhook_secret", "api_base"?, "notification_url"?}` and
//! `pagseguro.json` `{"token", "api_base"?, "notification_url"?}`. `painel serve` takes the
//! secrets that verify notifications; `painel worker` the clients its jobs call.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use backend::billing::pix::PixEnv;
use backend::billing::webhooks::stripe::SigningSecrets;
use backend::billing::webhooks::ProviderApis;
use backend::providers::mercadopago::{MercadoPagoClient, MercadoPagoConfig};
use backend::providers::pagseguro::{PagSeguroClient, PagSeguroConfig};
use serde::{Deserialize, Serialize};

pub const MERCADOPAGO_FILE: &str = "mercadopago.json";
pub const PAGSEGURO_FILE: &str = "pagseguro.json";
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Serialize, Deserialize)]
pub struct MercadoPagoFile {
    pub access_token: String,
    pub webhook_secret: String,
    #[serde(default = "mp_base")]
    pub api_base: String,
    #[serde(default)]
    pub notification_url: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct PagSeguroFile {
    pub token: String,
    #[serde(default = "ps_base")]
    pub api_base: String,
    #[serde(default)]
    pub notification_url: Option<String>,
}

fn mp_base() -> String {
    "https://api.mercadopago.com".into()
}

fn ps_base() -> String {
    "https://api.pagseguro.com".into()
}

fn read<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Result<Option<T>> {
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} is readable by others (mode {:o}): chmod 600 it, it holds a provider's secrets",
                path.display(),
                mode & 0o777
            );
        }
    }
    // The error names the file and the field, never the content.
    let v = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
    Ok(Some(v))
}

/// Writes a provider file with mode 0600 (the demo's sandbox accounts).
pub fn write<T: Serialize>(dir: &Path, name: &str, v: &T) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(&serde_json::to_vec_pretty(v)?)?;
    Ok(())
}

pub fn mercadopago(dir: &Path) -> Result<Option<MercadoPagoFile>> {
    read(dir, MERCADOPAGO_FILE)
}

pub fn pagseguro(dir: &Path) -> Result<Option<PagSeguroFile>> {
    read(dir, PAGSEGURO_FILE)
}

/// What `painel serve` verifies notifications with.
#[derive(Clone, Debug, Default)]
pub struct PixSecrets {
    pub mercadopago: Option<SigningSecrets>,
    pub pagseguro: Option<SigningSecrets>,
}

pub fn secrets(dir: &Path) -> Result<PixSecrets> {
    Ok(PixSecrets {
        mercadopago: mercadopago(dir)?.and_then(|f| SigningSecrets::new([f.webhook_secret])),
        pagseguro: pagseguro(dir)?.and_then(|f| SigningSecrets::new([f.token])),
    })
}

/// What the worker's PIX jobs reach.
pub fn env(dir: &Path) -> Result<PixEnv> {
    let mp = mercadopago(dir)?;
    let ps = pagseguro(dir)?;
    let mercadopago = match &mp {
        Some(f) => Some(
            MercadoPagoClient::new(MercadoPagoConfig {
                api_base: f.api_base.clone(),
                access_token: f.access_token.as_str().into(),
                timeout: TIMEOUT,
            })
            .context("mercadopago.json")?,
        ),
        None => None,
    };
    let pagseguro = match &ps {
        Some(f) => Some(
            PagSeguroClient::new(PagSeguroConfig {
                api_base: f.api_base.clone(),
                token: f.token.as_str().into(),
                timeout: TIMEOUT,
            })
            .context("pagseguro.json")?,
        ),
        None => None,
    };
    Ok(PixEnv {
        apis: ProviderApis { mercadopago, pagseguro },
        mercadopago_notification_url: mp.and_then(|f| f.notification_url),
        pagseguro_notification_url: ps.and_then(|f| f.notification_url),
    })
}
