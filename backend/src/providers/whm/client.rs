//! The calls. Every call: `/json-api/<function>?api.version=1`, `Authorization: whm USER:TOKEN`
//! (marked sensitive), a time budget covering connect, headers and body, at most
//! [`MAX_BODY_BYTES`] read, no redirects followed. Reads use GET; calls carrying a password
//! (createacct) send it in a POST form body so it never lands in a URL or an access log.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::error::{MalformedKind, TransportKind, WhmError};
use super::tls::client_config;
use super::wire::{
    self, Account, AcctList, Answer, Bandwidth, CreatedAccount, DiskList, DiskUsage, Limit, LoadAverage, NoData,
    Package, PkgList, PkgName, VersionData,
};
use super::{Secret, WhmEndpoint, SLOW_CALL_FACTOR};

/// The most of one answer the client reads; a full `listaccts` of a big server is a few MiB.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The longest a TCP + TLS connect may take, whatever the call's budget.
const MAX_CONNECT: Duration = Duration::from_secs(10);

/// `createacct` parameters (the ones this product sets; see the wire doc for the rest).
#[derive(Clone, Debug, Default)]
pub struct CreateAccount {
    pub username: String,
    pub domain: String,
    /// WHM package name (`plan=`); WHM's `default` package when `None`.
    pub plan: Option<String>,
    pub password: Option<Secret>,
    pub contact_email: Option<String>,
    /// The reseller owning the account (`owner=`), when not the API user.
    pub owner: Option<String>,
}

/// `addpkg`/`editpkg` parameters; `None` leaves WHM's default (addpkg) or the current value
/// (editpkg).
#[derive(Clone, Debug, Default)]
pub struct PackageSpec {
    pub name: String,
    /// Disk quota, MiB.
    pub quota: Option<Limit>,
    /// Monthly bandwidth, MiB.
    pub bwlimit: Option<Limit>,
    pub maxaddon: Option<Limit>,
    pub maxpark: Option<Limit>,
    pub maxsub: Option<Limit>,
    pub maxpop: Option<Limit>,
    pub maxsql: Option<Limit>,
    pub maxftp: Option<Limit>,
    pub maxlst: Option<Limit>,
    pub max_email_per_hour: Option<Limit>,
    pub cgi: Option<bool>,
    pub hasshell: Option<bool>,
    pub featurelist: Option<String>,
    pub cpmod: Option<String>,
    pub language: Option<String>,
}

impl PackageSpec {
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("name", self.name.clone())];
        let limits = [
            ("quota", &self.quota),
            ("bwlimit", &self.bwlimit),
            ("maxaddon", &self.maxaddon),
            ("maxpark", &self.maxpark),
            ("maxsub", &self.maxsub),
            ("maxpop", &self.maxpop),
            ("maxsql", &self.maxsql),
            ("maxftp", &self.maxftp),
            ("maxlst", &self.maxlst),
            ("max_email_per_hour", &self.max_email_per_hour),
        ];
        for (k, v) in limits {
            if let Some(v) = v {
                p.push((k, v.to_param()));
            }
        }
        for (k, v) in [("cgi", self.cgi), ("hasshell", self.hasshell)] {
            if let Some(v) = v {
                p.push((k, if v { "1" } else { "0" }.to_owned()));
            }
        }
        for (k, v) in [
            ("featurelist", &self.featurelist),
            ("cpmod", &self.cpmod),
            ("language", &self.language),
        ] {
            if let Some(v) = v {
                p.push((k, v.clone()));
            }
        }
        p
    }
}

/// What `listaccts` searches (`searchtype=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchField {
    User,
    Domain,
    Owner,
    Ip,
    Package,
}

impl SearchField {
    fn as_str(self) -> &'static str {
        match self {
            SearchField::User => "user",
            SearchField::Domain => "domain",
            SearchField::Owner => "owner",
            SearchField::Ip => "ip",
            SearchField::Package => "package",
        }
    }
}

/// A client of one WHM server. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct WhmClient {
    http: reqwest::Client,
    base: Url,
    api_user: String,
    auth: HeaderValue,
    token: Secret,
    timeout: Duration,
}

impl fmt::Debug for WhmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhmClient")
            .field("base", &self.base.as_str())
            .field("api_user", &self.api_user)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a base URL as an endpoint would use it: `https://`, or `http://` to a loopback
/// host; no credentials, query or fragment in it.
pub(crate) fn check_base_url(text: &str) -> Result<Url, WhmError> {
    let url = Url::parse(text.trim()).map_err(|e| WhmError::Config(format!("base URL {text:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(WhmError::Config(format!(
                "base URL {url}: plain http:// is refused for a non-loopback host (the token would travel in clear); use https://"
            )))
        }
        other => return Err(WhmError::Config(format!("base URL {url}: unsupported scheme {other}"))),
    }
    if url.host().is_none() {
        return Err(WhmError::Config(format!("base URL {url}: no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(WhmError::Config("base URL must not carry credentials".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(WhmError::Config(format!(
            "base URL {url}: no query or fragment allowed"
        )));
    }
    Ok(url)
}

impl WhmClient {
    pub fn new(endpoint: WhmEndpoint) -> Result<WhmClient, WhmError> {
        let base = check_base_url(&endpoint.base_url)?;
        if endpoint.api_user.is_empty() || endpoint.api_user.contains([':', '\r', '\n']) {
            return Err(WhmError::Config("API user must be a non-empty name without ':'".into()));
        }
        if endpoint.token.is_empty() {
            return Err(WhmError::Config("API token is empty".into()));
        }
        if endpoint.timeout.is_zero() {
            return Err(WhmError::Config("timeout must be positive".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("whm {}:{}", endpoint.api_user, endpoint.token.expose()))
            .map_err(|_| WhmError::Config("API user or token holds characters not allowed in a header".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(client_config(endpoint.tls)?)
            .connect_timeout(endpoint.timeout.min(MAX_CONNECT))
            .timeout(endpoint.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would see the token (and, under TrustAny or on
            // loopback http, everything): where painel connects is not the environment's say.
            .no_proxy()
            .user_agent(concat!("painel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WhmError::Config(format!("HTTP client: {e}")))?;
        Ok(WhmClient {
            http,
            base,
            api_user: endpoint.api_user,
            auth,
            token: endpoint.token,
            timeout: endpoint.timeout,
        })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    pub fn api_user(&self) -> &str {
        &self.api_user
    }

    /// `version`: the server's cPanel & WHM version (`11.118.0.15`).
    pub async fn version(&self) -> Result<String, WhmError> {
        let a: Answer<VersionData> = self.get("version", &[]).await?;
        Ok(a.data.version)
    }

    /// `createacct`. Not idempotent: after a timeout, ask [`Self::account_summary`] before
    /// trying again.
    pub async fn create_account(&self, req: &CreateAccount) -> Result<Answer<CreatedAccount>, WhmError> {
        let mut p: Vec<(&str, String)> = vec![("username", req.username.clone()), ("domain", req.domain.clone())];
        if let Some(plan) = &req.plan {
            p.push(("plan", plan.clone()));
        }
        if let Some(pw) = &req.password {
            p.push(("password", pw.expose().to_owned()));
        }
        if let Some(e) = &req.contact_email {
            p.push(("contactemail", e.clone()));
        }
        if let Some(o) = &req.owner {
            p.push(("owner", o.clone()));
        }
        // The server's own error texts echo parameters; scrub the password out of them too.
        let extra = req.password.as_ref().map(|p| p.expose());
        self.call(Method::POST, "createacct", &p, self.slow_timeout(), extra)
            .await
    }

    /// `suspendacct` with a reason (shown in WHM).
    pub async fn suspend(&self, user: &str, reason: &str) -> Result<Answer<()>, WhmError> {
        let a: Answer<NoData> = self
            .get(
                "suspendacct",
                &[("user", user.to_owned()), ("reason", reason.to_owned())],
            )
            .await?;
        Ok(unit(a))
    }

    pub async fn unsuspend(&self, user: &str) -> Result<Answer<()>, WhmError> {
        let a: Answer<NoData> = self.get("unsuspendacct", &[("user", user.to_owned())]).await?;
        Ok(unit(a))
    }

    /// `removeacct` (DNS zone removed too). Irreversible.
    pub async fn remove(&self, user: &str) -> Result<Answer<()>, WhmError> {
        let p = [("username", user.to_owned()), ("keepdns", "0".to_owned())];
        let a: Answer<NoData> = self
            .call(Method::GET, "removeacct", &p, self.slow_timeout(), None)
            .await?;
        Ok(unit(a))
    }

    pub async fn change_package(&self, user: &str, pkg: &str) -> Result<Answer<()>, WhmError> {
        let a: Answer<NoData> = self
            .get("changepackage", &[("user", user.to_owned()), ("pkg", pkg.to_owned())])
            .await?;
        Ok(unit(a))
    }

    /// `listaccts`: every account the API user can see.
    pub async fn list_accounts(&self) -> Result<Vec<Account>, WhmError> {
        let a: Answer<AcctList> = self.get("listaccts", &[]).await?;
        Ok(a.data.acct)
    }

    /// `listaccts` filtered by a PCRE on one field (`searchmethod=regex`).
    pub async fn search_accounts(&self, field: SearchField, regex: &str) -> Result<Vec<Account>, WhmError> {
        let p = [
            ("searchtype", field.as_str().to_owned()),
            ("search", regex.to_owned()),
            ("searchmethod", "regex".to_owned()),
        ];
        let a: Answer<AcctList> = self.get("listaccts", &p).await?;
        Ok(a.data.acct)
    }

    /// `accountsummary`: the account, or `None` when the server says there is no such
    /// account.
    pub async fn account_summary(&self, user: &str) -> Result<Option<Account>, WhmError> {
        match self
            .get::<AcctList>("accountsummary", &[("user", user.to_owned())])
            .await
        {
            Ok(a) => Ok(a.data.acct.into_iter().find(|acct| acct.user == user)),
            Err(e) if e.is_no_such_account() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn list_packages(&self) -> Result<Vec<Package>, WhmError> {
        let a: Answer<PkgList> = self.get("listpkgs", &[]).await?;
        Ok(a.data.pkg)
    }

    /// `addpkg`; returns the name WHM stored it under (resellers' packages get a prefix).
    pub async fn add_package(&self, spec: &PackageSpec) -> Result<String, WhmError> {
        let a: Answer<PkgName> = self.get("addpkg", &spec.params()).await?;
        Ok(a.data.pkg.unwrap_or_else(|| spec.name.clone()))
    }

    /// `editpkg`; returns the package's name.
    pub async fn edit_package(&self, spec: &PackageSpec) -> Result<String, WhmError> {
        let a: Answer<PkgName> = self.get("editpkg", &spec.params()).await?;
        Ok(a.data.pkg.unwrap_or_else(|| spec.name.clone()))
    }

    /// `systemloadavg`.
    pub async fn load_average(&self) -> Result<LoadAverage, WhmError> {
        let a: Answer<LoadAverage> = self.get("systemloadavg", &[]).await?;
        Ok(a.data)
    }

    /// `get_disk_usage`: per-account quota usage (cached by the server).
    pub async fn disk_usage(&self) -> Result<Vec<DiskUsage>, WhmError> {
        let a: Answer<DiskList> = self.get("get_disk_usage", &[]).await?;
        Ok(a.data.accounts)
    }

    /// `showbw`: this month's bandwidth per account.
    pub async fn bandwidth(&self) -> Result<Bandwidth, WhmError> {
        let a: Answer<Bandwidth> = self.get("showbw", &[]).await?;
        Ok(a.data)
    }

    /// One call for the other files of this client: `slow` gives it the long budget,
    /// `extra_secret` is scrubbed from every text that comes back.
    pub(super) async fn call_with<T: DeserializeOwned>(
        &self,
        method: Method,
        command: &str,
        params: &[(&str, String)],
        slow: bool,
        extra_secret: Option<&str>,
    ) -> Result<Answer<T>, WhmError> {
        let timeout = if slow { self.slow_timeout() } else { self.timeout };
        self.call(method, command, params, timeout, extra_secret).await
    }

    fn slow_timeout(&self) -> Duration {
        self.timeout.saturating_mul(SLOW_CALL_FACTOR)
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        command: &str,
        params: &[(&str, String)],
    ) -> Result<Answer<T>, WhmError> {
        self.call(Method::GET, command, params, self.timeout, None).await
    }

    fn url(&self, command: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}/json-api/{command}"));
        url
    }

    /// Replaces the token (and `extra`, e.g. a password sent) wherever a server-supplied or
    /// library text repeats it.
    fn scrub(&self, text: &str, extra: Option<&str>) -> String {
        let mut out = text.to_owned();
        for secret in std::iter::once(self.token.expose()).chain(extra) {
            if !secret.is_empty() && out.contains(secret) {
                out = out.replace(secret, "[redacted]");
            }
        }
        out
    }

    fn scrub_err(&self, e: WhmError, extra: Option<&str>) -> WhmError {
        match e {
            WhmError::Api { command, reason } => WhmError::Api {
                command,
                reason: self.scrub(&reason, extra),
            },
            WhmError::Auth {
                command,
                status,
                reason,
            } => WhmError::Auth {
                command,
                status,
                reason: self.scrub(&reason, extra),
            },
            WhmError::Malformed { command, kind, detail } => WhmError::Malformed {
                command,
                kind,
                detail: self.scrub(&detail, extra),
            },
            WhmError::Transport { command, kind, detail } => WhmError::Transport {
                command,
                kind,
                detail: self.scrub(&detail, extra),
            },
            other => other,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        command: &str,
        params: &[(&str, String)],
        timeout: Duration,
        extra_secret: Option<&str>,
    ) -> Result<Answer<T>, WhmError> {
        let started = std::time::Instant::now();
        let result = self.exchange(method, command, params, timeout).await;
        let result = result.and_then(|body| wire::parse::<T>(command, &body));
        let result = result.map_err(|e| self.scrub_err(e, extra_secret));
        match &result {
            Ok(_) => tracing::debug!(
                command,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "whm call ok"
            ),
            Err(e) => tracing::debug!(
                command,
                kind = e.kind(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "whm call failed"
            ),
        }
        result.map(|mut a| {
            if let Some(raw) = a.output.raw.take() {
                a.output.raw = Some(self.scrub(&raw, extra_secret));
            }
            a
        })
    }

    /// Sends the request and returns the body of a 2xx answer, at most [`MAX_BODY_BYTES`].
    async fn exchange(
        &self,
        method: Method,
        command: &str,
        params: &[(&str, String)],
        timeout: Duration,
    ) -> Result<Vec<u8>, WhmError> {
        let url = self.url(command);
        let is_post = method == Method::POST;
        let mut req = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.auth.clone())
            .timeout(timeout)
            .query(&[("api.version", "1")]);
        req = if is_post { req.form(params) } else { req.query(params) };
        let mut resp = req.send().await.map_err(|e| transport(command, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(self.status_error(command, status, resp).await);
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(WhmError::Malformed {
                            command: command.to_owned(),
                            kind: MalformedKind::TooLarge,
                            detail: format!("answer exceeds {MAX_BODY_BYTES} bytes"),
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) if e.is_timeout() => return Err(transport(command, &e)),
                Err(e) => {
                    return Err(WhmError::Malformed {
                        command: command.to_owned(),
                        kind: MalformedKind::Truncated,
                        detail: format!("body cut short after {} bytes: {}", body.len(), chain(&e)),
                    })
                }
            }
        }
    }

    async fn status_error(&self, command: &str, status: StatusCode, resp: reqwest::Response) -> WhmError {
        let command = command.to_owned();
        match status.as_u16() {
            401 | 403 => {
                let reason = read_reason(resp).await.unwrap_or_else(|| "Access denied".to_owned());
                WhmError::Auth {
                    command,
                    status: status.as_u16(),
                    reason,
                }
            }
            429 => {
                let retry_after = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                WhmError::RateLimited { command, retry_after }
            }
            s => WhmError::Http { command, status: s },
        }
    }
}

fn unit(a: Answer<NoData>) -> Answer<()> {
    Answer {
        data: (),
        reason: a.reason,
        output: a.output,
    }
}

/// The reason of a refusal body (`cpanelresult.error` or `cpanelresult.data.reason`), read
/// within a small bound.
async fn read_reason(mut resp: reqwest::Response) -> Option<String> {
    const LIMIT: usize = 16 * 1024;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > LIMIT {
            return None;
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let legacy = v.get("cpanelresult")?;
    legacy
        .get("error")
        .or_else(|| legacy.get("data").and_then(|d| d.get("reason")))
        .and_then(|r| r.as_str())
        .map(str::to_owned)
}

/// The whole cause chain of an error, the way it reads best in a job's history.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}

/// How rustls words its failures; the error reaches us boxed inside hyper's connector error,
/// where downcasting cannot always see it.
const TLS_MARKERS: &[&str] = &[
    "invalid peer certificate",
    "peer is incompatible",
    "peer misbehaved",
    "received fatal alert",
    "peer sent no certificates",
    "handshake",
];

/// Whether a TLS failure is somewhere in the chain (rustls errors travel inside io::Error).
fn is_tls(e: &(dyn std::error::Error + 'static), text: &str) -> bool {
    let lower = text.to_lowercase();
    if TLS_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn transport(command: &str, e: &reqwest::Error) -> WhmError {
    let detail = chain(e);
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if is_tls(e, &detail) {
        TransportKind::Tls
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Dropped
    };
    WhmError::Transport {
        command: command.to_owned(),
        kind,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://whm.example.com:2087",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:2086/prefix",
        ] {
            check_base_url(ok).unwrap();
        }
        for bad in [
            "http://whm.example.com:2086",
            "http://10.0.0.1:2086",
            "ftp://x",
            "https://u:p@whm.example.com",
            "https://whm.example.com/?a=1",
            "not a url",
        ] {
            assert!(matches!(check_base_url(bad), Err(WhmError::Config(_))), "{bad}");
        }
        let e = check_base_url("http://whm.example.com:2086").unwrap_err().to_string();
        assert!(e.contains("non-loopback"), "{e}");
    }
}
