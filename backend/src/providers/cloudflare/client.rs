//! The calls. Every call: `Authorization: Bearer <token>` (marked sensitive), JSON bodies,
//! a time budget covering connect, headers and body, at most [`MAX_BODY_BYTES`] read, no
//! redirects, no proxy from the environment. Lists walk every page. A 429 opens a window
//! (its `Retry-After`, else 60 s) during which calls are refused here without being sent:
//! Cloudflare blocks every call for minutes after a 429, and hammering it extends nothing
//! but the log.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use super::error::CfError;
use super::wire::{self, DnsRecord, IdOnly, NewRecord, RecordPatch, ResultInfo, Zone};
use super::{CfEndpoint, Secret};

/// The most of one answer the client reads (a page of 100 records is ~50 KiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Page size of record lists (the SDKs' default); zones allow at most 50.
const RECORDS_PER_PAGE: u32 = 100;
const ZONES_PER_PAGE: u32 = 50;
/// A safety stop for a server that keeps announcing more pages.
const MAX_PAGES: u32 = 1000;
/// How long to hold off after a 429 without `Retry-After` (cloudflare.md: ≥ 60 s).
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// A client of one Cloudflare account. Cheap to clone; clones share the rate-limit window.
#[derive(Clone)]
pub struct CloudflareClient {
    http: reqwest::Client,
    base: Url,
    account_id: String,
    auth: HeaderValue,
    token: Secret,
    blocked_until: Arc<Mutex<Option<Instant>>>,
}

impl fmt::Debug for CloudflareClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareClient")
            .field("base", &self.base.as_str())
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `https://`, or `http://` to a loopback host; no credentials, query or fragment.
pub(crate) fn check_base_url(text: &str) -> Result<Url, CfError> {
    let url = Url::parse(text.trim()).map_err(|e| CfError::Config(format!("base URL {text:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(CfError::Config(format!(
                "base URL {url}: plain http:// is refused for a non-loopback host; use https://"
            )))
        }
        other => return Err(CfError::Config(format!("base URL {url}: unsupported scheme {other}"))),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(CfError::Config(format!(
            "base URL {url}: no credentials, query or fragment allowed"
        )));
    }
    Ok(url)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CloudflareClient {
    pub fn new(ep: CfEndpoint) -> Result<CloudflareClient, CfError> {
        let base = check_base_url(&ep.base_url)?;
        if ep.token.is_empty() {
            return Err(CfError::Config("API token is empty".into()));
        }
        if ep.account_id.trim().is_empty() {
            return Err(CfError::Config("account id is empty".into()));
        }
        if ep.timeout.is_zero() {
            return Err(CfError::Config("timeout must be positive".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", ep.token.expose()))
            .map_err(|_| CfError::Config("the token holds characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let tls = crate::providers::whm::client_config(crate::providers::whm::TlsPolicy::Verify)
            .map_err(|e| CfError::Config(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(ep.timeout.min(Duration::from_secs(10)))
            .timeout(ep.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("painel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CfError::Config(format!("HTTP client: {e}")))?;
        Ok(CloudflareClient {
            http,
            base,
            account_id: ep.account_id,
            auth,
            token: ep.token,
            blocked_until: Arc::new(Mutex::new(None)),
        })
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// `GET /user/tokens/verify`: the token's status (`active`).
    pub async fn verify_token(&self) -> Result<String, CfError> {
        let (v, _): (serde_json::Value, _) = self
            .call(
                Method::GET,
                "verify token",
                &["user", "tokens", "verify"],
                &[],
                None::<&()>,
            )
            .await?;
        Ok(v.get("status").and_then(|s| s.as_str()).unwrap_or("").to_owned())
    }

    /// `GET /zones?account.id=…` every page, optionally one name.
    pub async fn list_zones(&self, name: Option<&str>) -> Result<Vec<Zone>, CfError> {
        let mut q = vec![("account.id", self.account_id.clone())];
        if let Some(n) = name {
            q.push(("name", n.to_owned()));
        }
        self.all_pages("list zones", &["zones"], q, ZONES_PER_PAGE).await
    }

    /// The account's zone named `name`, if any.
    pub async fn find_zone(&self, name: &str) -> Result<Option<Zone>, CfError> {
        Ok(self.list_zones(Some(name)).await?.into_iter().find(|z| {
            z.name.eq_ignore_ascii_case(name) && (z.account.id.is_empty() || z.account.id == self.account_id)
        }))
    }

    /// `POST /zones` (type `full`). A zone the account already has (1061, e.g. a retry after
    /// a lost answer) is looked up and returned instead.
    pub async fn create_zone(&self, name: &str) -> Result<Zone, CfError> {
        let body = json!({ "name": name, "account": { "id": self.account_id }, "type": "full" });
        match self
            .call(Method::POST, "create zone", &["zones"], &[], Some(&body))
            .await
        {
            Ok((z, _)) => Ok(z),
            Err(e) if e.has_code(super::error::ZONE_EXISTS) => self.find_zone(name).await?.ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// `GET /zones/{id}`: its `status` tells whether activation happened.
    pub async fn zone(&self, zone_id: &str) -> Result<Zone, CfError> {
        Ok(self
            .call(Method::GET, "get zone", &["zones", zone_id], &[], None::<&()>)
            .await?
            .0)
    }

    /// `PUT /zones/{id}/activation_check`: asks Cloudflare to check the NS now (rate-limited
    /// by Cloudflare per zone; read the outcome with [`Self::zone`]).
    pub async fn activation_check(&self, zone_id: &str) -> Result<(), CfError> {
        let _: (IdOnly, _) = self
            .call(
                Method::PUT,
                "activation check",
                &["zones", zone_id, "activation_check"],
                &[],
                None::<&()>,
            )
            .await?;
        Ok(())
    }

    /// `DELETE /zones/{id}`; `false` when it was already gone.
    pub async fn delete_zone(&self, zone_id: &str) -> Result<bool, CfError> {
        gone_ok(
            self.call::<IdOnly, ()>(Method::DELETE, "delete zone", &["zones", zone_id], &[], None)
                .await,
        )
    }

    /// `GET /zones/{id}/dns_records` every page, filtered by FQDN and/or type.
    pub async fn list_records(
        &self,
        zone_id: &str,
        name: Option<&str>,
        rtype: Option<&str>,
    ) -> Result<Vec<DnsRecord>, CfError> {
        let mut q = Vec::new();
        if let Some(n) = name {
            q.push(("name", n.to_owned()));
        }
        if let Some(t) = rtype {
            q.push(("type", t.to_owned()));
        }
        self.all_pages("list records", &["zones", zone_id, "dns_records"], q, RECORDS_PER_PAGE)
            .await
    }

    /// `POST /zones/{id}/dns_records`. Not idempotent: callers look first, and treat
    /// [`CfError::already_exists`] as done (then list to learn the id).
    pub async fn create_record(&self, zone_id: &str, rec: &NewRecord) -> Result<DnsRecord, CfError> {
        Ok(self
            .call(
                Method::POST,
                "create record",
                &["zones", zone_id, "dns_records"],
                &[],
                Some(rec),
            )
            .await?
            .0)
    }

    /// `PUT /zones/{id}/dns_records/{rid}`: full overwrite.
    pub async fn update_record(&self, zone_id: &str, record_id: &str, rec: &NewRecord) -> Result<DnsRecord, CfError> {
        Ok(self
            .call(
                Method::PUT,
                "update record",
                &["zones", zone_id, "dns_records", record_id],
                &[],
                Some(rec),
            )
            .await?
            .0)
    }

    /// `PATCH /zones/{id}/dns_records/{rid}`: only the fields sent change.
    pub async fn patch_record(
        &self,
        zone_id: &str,
        record_id: &str,
        patch: &RecordPatch,
    ) -> Result<DnsRecord, CfError> {
        Ok(self
            .call(
                Method::PATCH,
                "patch record",
                &["zones", zone_id, "dns_records", record_id],
                &[],
                Some(patch),
            )
            .await?
            .0)
    }

    /// `DELETE /zones/{id}/dns_records/{rid}`; `false` when it was already gone (done).
    pub async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<bool, CfError> {
        gone_ok(
            self.call::<IdOnly, ()>(
                Method::DELETE,
                "delete record",
                &["zones", zone_id, "dns_records", record_id],
                &[],
                None,
            )
            .await,
        )
    }

    async fn all_pages<T: DeserializeOwned>(
        &self,
        op: &str,
        path: &[&str],
        query: Vec<(&str, String)>,
        per_page: u32,
    ) -> Result<Vec<T>, CfError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let mut q = query.clone();
            q.push(("page", page.to_string()));
            q.push(("per_page", per_page.to_string()));
            let (items, info): (Vec<T>, Option<ResultInfo>) = self.call(Method::GET, op, path, &q, None::<&()>).await?;
            let n = items.len();
            out.extend(items);
            let more = match info {
                Some(i) => i.has_more(),
                None => false,
            };
            if !more || n == 0 || page >= MAX_PAGES {
                return Ok(out);
            }
            page += 1;
        }
    }

    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            segs.extend(path);
        }
        url
    }

    fn scrub(&self, text: &str) -> String {
        let t = self.token.expose();
        if !t.is_empty() && text.contains(t) {
            text.replace(t, "[redacted]")
        } else {
            text.to_owned()
        }
    }

    fn open_window(&self) -> Option<Duration> {
        let mut b = lock(&self.blocked_until);
        match *b {
            Some(until) if until > Instant::now() => Some(until - Instant::now()),
            Some(_) => {
                *b = None;
                None
            }
            None => None,
        }
    }

    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        op: &str,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<(T, Option<ResultInfo>), CfError> {
        if let Some(left) = self.open_window() {
            return Err(CfError::RateLimited {
                op: op.to_owned(),
                retry_after: Some(left.max(Duration::from_secs(1))),
            });
        }
        let started = Instant::now();
        let result = self.exchange(method, op, path, query, body).await;
        match &result {
            Ok(_) => tracing::debug!(
                op,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "cloudflare call ok"
            ),
            Err(e) => tracing::debug!(
                op,
                kind = e.kind(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "cloudflare call failed"
            ),
        }
        result
    }

    async fn exchange<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        op: &str,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<(T, Option<ResultInfo>), CfError> {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header(AUTHORIZATION, self.auth.clone())
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        let mut resp = req.send().await.map_err(|e| self.transport(op, &e))?;
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            *lock(&self.blocked_until) = Some(Instant::now() + retry_after.unwrap_or(DEFAULT_BACKOFF));
            return Err(CfError::RateLimited {
                op: op.to_owned(),
                retry_after,
            });
        }
        let is_json = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let mut bytes = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(CfError::Malformed {
                            op: op.to_owned(),
                            detail: format!("answer exceeds {MAX_BODY_BYTES} bytes"),
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    if status.is_success() {
                        return Err(CfError::Malformed {
                            op: op.to_owned(),
                            detail: format!("answer cut short: {}", self.scrub(&chain(&e))),
                        });
                    }
                    break;
                }
            }
        }
        let code = status.as_u16();
        if !status.is_success() && !is_json {
            return Err(match code {
                401 | 403 => CfError::Auth {
                    op: op.to_owned(),
                    status: code,
                    errors: Vec::new(),
                },
                _ => CfError::Http {
                    op: op.to_owned(),
                    status: code,
                },
            });
        }
        match wire::parse::<T>(op, code, &bytes) {
            Err(CfError::Api { errors, .. })
                if code == 401 || code == 403 || errors.iter().any(|e| e.code == super::error::AUTH) =>
            {
                Err(CfError::Auth {
                    op: op.to_owned(),
                    status: code,
                    errors: self.scrub_msgs(errors),
                })
            }
            Err(CfError::Api { errors, .. }) => Err(CfError::Api {
                op: op.to_owned(),
                status: code,
                errors: self.scrub_msgs(errors),
            }),
            Err(CfError::Malformed { detail, .. }) if !status.is_success() => {
                let _ = detail;
                Err(CfError::Http {
                    op: op.to_owned(),
                    status: code,
                })
            }
            Err(CfError::Malformed { op, detail }) => Err(CfError::Malformed {
                op,
                detail: self.scrub(&detail),
            }),
            other => other,
        }
    }

    fn scrub_msgs(&self, errors: Vec<wire::ApiMessage>) -> Vec<wire::ApiMessage> {
        errors
            .into_iter()
            .map(|m| wire::ApiMessage {
                code: m.code,
                message: self.scrub(&m.message),
            })
            .collect()
    }

    fn transport(&self, op: &str, e: &reqwest::Error) -> CfError {
        let detail = self.scrub(&chain(e));
        let lower = detail.to_lowercase();
        let kind = if e.is_timeout() {
            "timeout"
        } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            "tls"
        } else if e.is_connect() {
            "connect"
        } else {
            "dropped"
        };
        CfError::Transport {
            op: op.to_owned(),
            kind,
            detail,
        }
    }
}

/// A delete of something already gone is done.
fn gone_ok(r: Result<(IdOnly, Option<ResultInfo>), CfError>) -> Result<bool, CfError> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.join(": ")
}
