//! The jobs that talk to a WHM server: `server.test` and `server.poll` (docs/adr/0020).
//! Provider failures become answers (`kind: message`) recorded for the operators; the jobs
//! fail only when the recording cannot be written.

use std::time::Instant;

use uuid::Uuid;

use super::connect::whm_client;
use super::jobs::{record_test, server_id, transient};
use super::metrics::{self, Sample};
use super::HostingEnv;
use crate::db::{now, Db};
use crate::error::ServiceError;
use crate::jobs::{Job, JobError};
use crate::providers::whm::WhmError;

/// How a provider error reads in the feed and the test's answer: `kind: message`.
pub fn describe(e: &WhmError) -> String {
    format!("{}: {e}", e.kind())
}

fn keys(env: &HostingEnv) -> Result<&crate::secrets::Keys, String> {
    env.keys
        .as_ref()
        .ok_or_else(|| "config: this worker holds no registered master key, so it cannot open API tokens".to_owned())
}

/// `server.test`: calls `version` and records the answer or the typed error.
pub async fn server_test(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    let id = server_id(&job)?;
    let answer = match keys(&env) {
        Err(m) => Err(m),
        Ok(k) => match whm_client(&db, k, id).await {
            Err(ServiceError::NotFound { .. }) => return Ok(()),
            Err(e) => Err(format!("config: {e}")),
            Ok(client) => client.version().await.map_err(|e| describe(&e)),
        },
    };
    record_test(&db, &job.actor(), id, answer, now())
        .await
        .map_err(transient)
}

/// Measures one server: load, per-account disk, account count and this month's bandwidth.
async fn measure(db: &Db, env: &HostingEnv, id: Uuid) -> Result<Sample, String> {
    let client = whm_client(db, keys(env)?, id)
        .await
        .map_err(|e| format!("config: {e}"))?;
    let started = Instant::now();
    let load = client.load_average().await.map_err(|e| describe(&e))?;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let disk = client.disk_usage().await.map_err(|e| describe(&e))?;
    let accounts = client.list_accounts().await.map_err(|e| describe(&e))?;
    let bw = client.bandwidth().await.map_err(|e| describe(&e))?;
    let used: u64 = disk.iter().map(|d| d.bytes_used()).sum();
    let bandwidth: u64 = bw
        .totalused
        .unwrap_or_else(|| bw.acct.iter().filter_map(|a| a.totalbytes).sum());
    Ok(Sample {
        load_1: load.one,
        load_5: load.five,
        load_15: load.fifteen,
        disk_used_gb: Some(i64::try_from(used.div_ceil(1 << 30)).unwrap_or(i64::MAX)),
        accounts_count: Some(i64::try_from(accounts.len()).unwrap_or(i64::MAX)),
        bandwidth_mb: Some(i64::try_from(bandwidth / (1 << 20)).unwrap_or(i64::MAX)),
        latency_ms: Some(latency_ms),
    })
}

/// `server.poll`: one server's point, or its failure.
pub async fn server_poll(job: Job, db: Db, env: HostingEnv) -> Result<(), JobError> {
    let id = server_id(&job)?;
    let actor = job.actor();
    let rec = match measure(&db, &env, id).await {
        Ok(sample) => metrics::record_ok(&db, &actor, id, &sample, now()).await,
        Err(error) => metrics::record_failure(&db, &actor, id, &error, now()).await,
    }
    .map_err(transient)?;
    if rec.went_offline || rec.incident_opened.is_some() {
        tracing::warn!(server = %id, incident = ?rec.incident_opened, "server poll failed");
    }
    Ok(())
}
