//! `painel apikeys create|list|show|revoke`.

use anyhow::Result;
use backend::apikeys::{self, ApiKey, ApiKeyQuery, CreatedApiKey, NewApiKey};
use backend::{Actor, Db, ServiceError};
use chrono::{DateTime, SecondsFormat, Utc};

use super::{next_page, start_at};
use crate::cli::ApikeysCmd;
use crate::output::{Printer, Record};

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn number(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "default".into())
}

const COLUMNS: &[&str] = &[
    "id",
    "tenant",
    "name",
    "prefix",
    "scopes",
    "status",
    "rate_limit_per_minute",
    "burst",
    "expires_at",
    "last_used_at",
    "last_used_source",
    "revoked_at",
    "created_at",
];

fn cells(k: &ApiKey) -> Vec<String> {
    vec![
        k.id.to_string(),
        k.tenant_slug.clone(),
        k.name.clone(),
        k.prefix.clone(),
        k.scopes.join(" "),
        k.status.clone(),
        number(k.rate_limit_per_minute),
        number(k.burst),
        time(k.expires_at),
        time(k.last_used_at),
        k.last_used_source.clone().unwrap_or_default(),
        time(k.revoked_at),
        time(Some(k.created_at)),
    ]
}

/// A key as lists and `show` print it: no secret exists to print.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct KeyRow(ApiKey);

impl Record for KeyRow {
    fn columns() -> &'static [&'static str] {
        COLUMNS
    }
    fn cells(&self) -> Vec<String> {
        cells(&self.0)
    }
}

/// A key just created, with its secret: the only time it is printed.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct Created(CreatedApiKey);

impl Record for Created {
    fn columns() -> &'static [&'static str] {
        &[
            "secret",
            "id",
            "tenant",
            "name",
            "prefix",
            "scopes",
            "status",
            "rate_limit_per_minute",
            "burst",
            "expires_at",
            "last_used_at",
            "last_used_source",
            "revoked_at",
            "created_at",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let mut c = vec![self.0.secret.clone()];
        c.extend(cells(&self.0.key));
        c
    }
}

fn parse_expires(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ServiceError> {
    raw.map(|r| {
        DateTime::parse_from_rfc3339(r.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ServiceError::invalid("expires_at", "must be an RFC 3339 time like 2026-12-31T23:59:59Z"))
    })
    .transpose()
}

pub async fn run(db: &Db, actor: &Actor, cmd: ApikeysCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        ApikeysCmd::Create {
            tenant,
            name,
            scopes,
            expires,
            rate_limit,
            burst,
        } => {
            let input = NewApiKey {
                tenant,
                name,
                scopes,
                expires_at: parse_expires(expires.as_deref())?,
                rate_limit_per_minute: rate_limit,
                burst,
            };
            let created = apikeys::create(db, actor, input).await?;
            eprintln!(
                "warning: this is the only time the key ({}) is shown — store it now; painel keeps only its hash",
                created.key.prefix
            );
            out.one(&Created(created))
        }
        ApikeysCmd::List {
            tenant,
            limit,
            after,
            all,
        } => {
            let mut q = ApiKeyQuery {
                tenant,
                limit,
                at: start_at(after.as_deref())?,
            };
            if all {
                out.walk_all();
            }
            loop {
                let page = apikeys::list(db, actor, &q).await?;
                let next = next_page(all, &page);
                out.list(&page.items.into_iter().map(KeyRow).collect::<Vec<_>>())?;
                match next {
                    Some(at) => q.at = at,
                    None => break,
                }
            }
            out.finish()
        }
        ApikeysCmd::Show { key } => out.one(&KeyRow(apikeys::get(db, actor, &key).await?)),
        ApikeysCmd::Revoke { key } => out.one(&KeyRow(apikeys::revoke(db, actor, &key).await?)),
    }
}
