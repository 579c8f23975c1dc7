//! What the payment providers' clients share: one reqwest client per provider (verified TLS
//! with webpki roots, no proxy from the environment, no redirects, a budget per call) and
//! the base-URL rule (`https://`, or `http://` to loopback only — the sandbox).

use std::time::Duration;

use reqwest::Url;

use super::whm::{check_base_url, TlsPolicy};

/// Longest answer read from a payment API.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

pub(crate) fn base_url(text: &str) -> Result<Url, String> {
    let mut url = check_base_url(text).map_err(|e| e.to_string())?;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    let tls = super::whm::tls_config(TlsPolicy::Verify).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("painel/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// The body of an answer, at most [`MAX_BODY`] bytes.
pub(crate) async fn body(mut res: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_BODY {
            out.truncate(MAX_BODY);
            break;
        }
    }
    Ok(out)
}

/// Removes `secret` from text a server sent back, before it goes anywhere near a log.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    let t: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    if secret.is_empty() {
        t
    } else {
        t.replace(secret, "***")
    }
}
