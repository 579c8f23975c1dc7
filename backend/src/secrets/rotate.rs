//! `keys rotate`: re-encrypt every encrypted column under a new master key, in one
//! transaction, audited, behind the sensitive-action gate.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::registry::{list_tx, register_rotation, restrict};
use super::{key_id_of, Keys, MasterKey};
use crate::actor::Actor;
use crate::args;
use crate::audit::{self, Change};
use crate::authz::{require, Permission};
use crate::db::{Backend, Db, Tx};
use crate::error::ServiceError;
use crate::sensitive::{self, Proof, Target};

/// Every column holding a sealed value, as `(table, column)`; a schema test keeps this list
/// equal to the `*_enc` columns of the schema.
pub const ENCRYPTED_COLUMNS: &[(&str, &str)] = &[
    ("users", "totp_secret_enc"),
    ("servers", "api_token_enc"),
    ("streaming_servers", "access_code_enc"),
    ("streaming_servers", "api_key_enc"),
    ("streaming_servers", "password_enc"),
    ("lines", "password_enc"),
    ("integrations", "secret_enc"),
    ("integrations", "webhook_secret_enc"),
    ("migrations", "credentials_enc"),
    ("dns_providers", "api_token_enc"),
];

const BATCH: i64 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    pub table: &'static str,
    pub column: &'static str,
    /// Values re-encrypted under the new key.
    pub rewrapped: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    pub old_key_id: String,
    pub new_key_id: String,
    pub columns: Vec<ColumnReport>,
}

/// Re-encrypts every value under `new`. `keys` must open every stored value (the current
/// key and any retired ones); the typed confirmation is the current key's id. Any value that
/// cannot be opened aborts the whole rotation: nothing is changed.
pub async fn rotate(
    db: &Db,
    actor: &Actor,
    keys: &Keys,
    new: &MasterKey,
    proof: &Proof<'_>,
) -> Result<RotateReport, ServiceError> {
    require(actor, Permission::KeysRotate)?;
    let old_id = keys.current_id().to_string();
    if new.id() == keys.current_id() {
        return Err(ServiceError::invalid("new_key", "the new key is the current key"));
    }
    let mut tx = db.begin().await?;
    if tx.backend() == Backend::Postgres {
        // Writers of these tables wait until the rotation commits, so no value is sealed
        // under the old key behind our back; readers carry on.
        let mut tables: Vec<&str> = ENCRYPTED_COLUMNS.iter().map(|(t, _)| *t).collect();
        tables.dedup();
        tx.execute(
            &format!("LOCK TABLE master_keys, {} IN EXCLUSIVE MODE", tables.join(", ")),
            args![],
        )
        .await?;
    }
    let target = Target {
        action: "keys.rotate",
        name: &old_id,
        tenant_id: None,
    };
    let mut tx = sensitive::require(tx, actor, &target, proof).await?;
    // Only a registered key hands over to a new one (a key created behind the deployment's
    // back must not become its master key); the new one is registered in the same commit.
    let rows = list_tx(&mut tx).await?;
    let keys = restrict(&rows, keys)?;
    register_rotation(&mut tx, keys.current(), new).await?;
    let sealing = keys.rotated_to(new.clone());
    let mut columns = Vec::new();
    for (table, column) in ENCRYPTED_COLUMNS {
        let rewrapped = rewrap_column(&mut tx, &sealing, table, column).await?;
        columns.push(ColumnReport {
            table,
            column,
            rewrapped,
        });
    }
    let report = RotateReport {
        old_key_id: old_id,
        new_key_id: new.id().to_string(),
        columns,
    };
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "keys.rotate",
            entity: "master_key",
            entity_id: Some(report.new_key_id.clone()),
            tenant_id: None,
            before: Some(json!({"key_id": report.old_key_id})),
            after: audit::snapshot(&report),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

async fn rewrap_column(tx: &mut Tx, keys: &Keys, table: &str, column: &str) -> Result<i64, ServiceError> {
    let current = keys.current_id();
    reseal_column(tx, keys, table, column, |v| {
        key_id_of(v) != Some(current) || Keys::is_legacy(v)
    })
    .await
}

/// Re-seals, under the current key and bound to its row, every value of `table.column` for
/// which `needs` holds (rotation: not yet under the current key; `keys init`: the earlier
/// column-only format), in id order and batches, inside the caller's transaction.
pub(super) async fn reseal_column(
    tx: &mut Tx,
    keys: &Keys,
    table: &str,
    column: &str,
    needs: impl Fn(&[u8]) -> bool,
) -> Result<i64, ServiceError> {
    let context = format!("{table}.{column}");
    let mut after = Uuid::nil();
    let mut n = 0;
    loop {
        // Empty values are placeholders (a NOT NULL column with nothing sealed yet).
        let rows: Vec<(Uuid, Vec<u8>)> = tx
            .fetch_all(
                &format!(
                    "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL AND length({column}) > 0 \
                     AND id > $1 ORDER BY id LIMIT {BATCH}"
                ),
                args![after],
            )
            .await?;
        let Some((last, _)) = rows.last() else {
            return Ok(n);
        };
        after = *last;
        for (id, value) in rows {
            if !needs(&value) {
                continue;
            }
            let plain = keys
                .decrypt_for_reseal(&context, id, &value)
                .map_err(|e| ServiceError::Unavailable(format!("{context} of row {id}: {e}; nothing was changed")))?;
            let sealed = keys.encrypt(&context, id, &plain)?;
            tx.execute(
                &format!("UPDATE {table} SET {column} = $2 WHERE id = $1"),
                args![id, sealed],
            )
            .await?;
            n += 1;
        }
    }
}
