//! From a `servers` row to a WHM client (docs/adr/0019): the URL, the API user, the sealed
//! token (opened with the secrets layer, bound to the row) and the TLS policy. Used by jobs
//! only; the servers service writes these columns (with audit).

use std::time::Duration;

use uuid::Uuid;

use crate::args;
use crate::db::Db;
use crate::error::ServiceError;
use crate::providers::whm::{parse_sha256_hex, Secret, TlsPolicy, WhmClient, WhmEndpoint};
use crate::secrets::Keys;

/// The AAD context of the sealed token (`table.column`).
pub const TOKEN_CONTEXT: &str = "servers.api_token_enc";

/// The columns of `servers` the client needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerConn {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub whm_url: Option<String>,
    pub api_user: Option<String>,
    pub api_token_enc: Option<Vec<u8>>,
    pub tls_mode: String,
    pub tls_pin_sha256: Option<String>,
    pub api_timeout_ms: i64,
}

/// Reads the connection columns of server `server_id`.
pub async fn load(db: &Db, server_id: Uuid) -> Result<ServerConn, ServiceError> {
    db.fetch_optional(
        "SELECT id, name, kind, whm_url, api_user, api_token_enc, tls_mode, tls_pin_sha256, api_timeout_ms \
         FROM servers WHERE id = $1",
        args![server_id],
    )
    .await?
    .ok_or_else(|| ServiceError::not_found("server", server_id.to_string()))
}

/// The TLS policy stored in a row.
pub fn tls_policy(mode: &str, pin: Option<&str>) -> Result<TlsPolicy, ServiceError> {
    match (mode, pin) {
        ("verify", _) => Ok(TlsPolicy::Verify),
        ("trust", _) => Ok(TlsPolicy::TrustAny),
        ("pin", Some(p)) => parse_sha256_hex(p)
            .map(TlsPolicy::PinSha256)
            .map_err(|e| ServiceError::invalid("tls_pin_sha256", e.to_string())),
        ("pin", None) => Err(ServiceError::invalid("tls_pin_sha256", "pin mode without a pin")),
        (other, _) => Err(ServiceError::invalid("tls_mode", format!("unknown TLS mode {other:?}"))),
    }
}

/// The endpoint a row describes, with its token already opened. Pure: no I/O, so tests
/// can check each column's effect.
pub fn endpoint(row: &ServerConn, token: Secret) -> Result<WhmEndpoint, ServiceError> {
    if row.kind != "whm" && row.kind != "cpanel" {
        return Err(ServiceError::invalid(
            "kind",
            format!("server {} is a {} server, not WHM", row.name, row.kind),
        ));
    }
    let base_url = row
        .whm_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid("whm_url", format!("server {} has no WHM URL", row.name)))?;
    let api_user = row
        .api_user
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid("api_user", format!("server {} has no API user", row.name)))?;
    let ms = u64::try_from(row.api_timeout_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .ok_or_else(|| ServiceError::invalid("api_timeout_ms", "must be positive"))?;
    Ok(WhmEndpoint {
        base_url,
        api_user,
        token,
        tls: tls_policy(&row.tls_mode, row.tls_pin_sha256.as_deref())?,
        timeout: Duration::from_millis(ms),
    })
}

/// Opens the row's sealed token.
pub fn open_token(keys: &Keys, row: &ServerConn) -> Result<Secret, ServiceError> {
    let sealed = row
        .api_token_enc
        .as_deref()
        .ok_or_else(|| ServiceError::invalid("api_token", format!("server {} has no API token", row.name)))?;
    Ok(Secret::new(keys.decrypt_str(TOKEN_CONTEXT, row.id, sealed)?))
}

/// The WHM client of server `server_id`.
pub async fn whm_client(db: &Db, keys: &Keys, server_id: Uuid) -> Result<WhmClient, ServiceError> {
    let row = load(db, server_id).await?;
    let token = open_token(keys, &row)?;
    let ep = endpoint(&row, token)?;
    WhmClient::new(ep).map_err(|e| ServiceError::invalid("whm_url", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ServerConn {
        ServerConn {
            id: Uuid::from_u128(7),
            name: "whm-gru-01".into(),
            kind: "whm".into(),
            whm_url: Some("https://whm-gru-01.example.net:2087".into()),
            api_user: Some("root".into()),
            api_token_enc: None,
            tls_mode: "verify".into(),
            tls_pin_sha256: None,
            api_timeout_ms: 15_000,
        }
    }

    #[test]
    fn endpoint_from_a_row() {
        let ep = endpoint(&row(), Secret::new("TOKEN")).unwrap();
        assert_eq!(ep.base_url, "https://whm-gru-01.example.net:2087");
        assert_eq!(ep.api_user, "root");
        assert_eq!(ep.tls, TlsPolicy::Verify);
        assert_eq!(ep.timeout, Duration::from_secs(15));
        assert!(!format!("{ep:?}").contains("TOKEN"));

        let pinned = ServerConn {
            tls_mode: "pin".into(),
            tls_pin_sha256: Some("0f".repeat(32)),
            ..row()
        };
        assert_eq!(
            endpoint(&pinned, Secret::new("t")).unwrap().tls,
            TlsPolicy::PinSha256([0x0f; 32])
        );
        let trust = ServerConn {
            tls_mode: "trust".into(),
            ..row()
        };
        assert_eq!(endpoint(&trust, Secret::new("t")).unwrap().tls, TlsPolicy::TrustAny);
    }

    #[test]
    fn unusable_rows_are_refused_by_field() {
        let cases = [
            (ServerConn { whm_url: None, ..row() }, "whm_url"),
            (
                ServerConn {
                    api_user: Some(String::new()),
                    ..row()
                },
                "api_user",
            ),
            (
                ServerConn {
                    kind: "xui".into(),
                    ..row()
                },
                "kind",
            ),
            (
                ServerConn {
                    tls_mode: "pin".into(),
                    ..row()
                },
                "tls_pin_sha256",
            ),
            (
                ServerConn {
                    tls_mode: "none".into(),
                    ..row()
                },
                "tls_mode",
            ),
            (
                ServerConn {
                    api_timeout_ms: 0,
                    ..row()
                },
                "api_timeout_ms",
            ),
        ];
        for (r, field) in cases {
            let e = endpoint(&r, Secret::new("t")).unwrap_err();
            assert_eq!(e.fields()[0].field, field, "{e}");
        }
    }

    #[test]
    fn the_token_opens_only_for_its_row() {
        let keys = Keys::new(crate::secrets::MasterKey::from_bytes([3; 32]), vec![]);
        let mut r = row();
        r.api_token_enc = Some(keys.encrypt_str(TOKEN_CONTEXT, r.id, "SEKRIT").unwrap());
        assert_eq!(open_token(&keys, &r).unwrap().expose(), "SEKRIT");
        let moved = ServerConn {
            id: Uuid::from_u128(8),
            ..r.clone()
        };
        assert!(open_token(&keys, &moved).is_err());
        assert!(open_token(
            &keys,
            &ServerConn {
                api_token_enc: None,
                ..r
            }
        )
        .is_err());
    }
}
