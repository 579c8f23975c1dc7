//! The queue's hot path under load (issue 14, docs/adr/0004 "Under load").

use std::time::Duration;

use backend::jobs::{self, NewJob};
use serde_json::json;

use crate::common::{engine, fresh, Engine};

/// A claim commits without waiting for its WAL flush through a transaction-local
/// `set_config`. The setting must end with the claim's own transaction: a pooled connection
/// that kept it would let the next user's commits — completions, handlers' effects, money —
/// return before they are durable. Ten transactions at once hold every connection of the
/// pool (`Db::connect` opens at most ten), so each connection is checked.
#[tokio::test]
async fn a_claim_leaves_no_connection_with_synchronous_commit_off() {
    if !matches!(engine(), Engine::Postgres) {
        return;
    }
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    let new = (0..200)
        .map(|_| NewJob {
            queue: "default".into(),
            kind: "noop".into(),
            payload: json!({}),
            enqueued_by: "test".into(),
            ..Default::default()
        })
        .collect();
    jobs::enqueue_many(&mut tx, new).await.unwrap();
    tx.commit().await.unwrap();
    let queues = vec!["default".to_owned()];
    let mut claims = tokio::task::JoinSet::new();
    for i in 0..20 {
        let db = t.db.clone();
        let queues = queues.clone();
        claims.spawn(async move { jobs::claim(&db, &format!("w{i}"), &queues, 10, Duration::from_secs(60)).await });
    }
    let mut claimed = 0;
    while let Some(r) = claims.join_next().await {
        claimed += r.unwrap().unwrap().len();
    }
    assert_eq!(claimed, 200, "every job is claimed exactly once");
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(t.db.begin().await.unwrap());
    }
    for tx in &mut held {
        // The source, not the value: the test server runs with `synchronous_commit=off`
        // throughout, so only a setting made by the session itself shows a leak.
        let source: String = tx
            .scalar(
                "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'",
                backend::args![],
            )
            .await
            .unwrap();
        assert_ne!(
            source, "session",
            "a pooled connection kept the claim's synchronous_commit"
        );
    }
    for tx in held {
        tx.rollback().await.unwrap();
    }
}

/// Page number of every job's current row version, by id (PostgreSQL).
async fn pages(db: &backend::Db) -> std::collections::HashMap<uuid::Uuid, i64> {
    let rows: Vec<(uuid::Uuid, i64)> = db
        .fetch_all(
            "SELECT id, ((ctid::text)::point)[0]::bigint FROM jobs",
            backend::args![],
        )
        .await
        .unwrap();
    rows.into_iter().collect()
}

/// Claims and completions find room for a job's new row version on its own page (migration
/// 0034, fillfactor 40). On packed pages every new version went to another page, and each
/// such update WAL-logged one more record (a lock on the old version) and dirtied two pages.
#[tokio::test]
async fn claims_and_completions_update_jobs_on_their_own_page() {
    if !matches!(engine(), Engine::Postgres) {
        return;
    }
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    let new = (0..300)
        .map(|_| NewJob {
            queue: "default".into(),
            kind: "noop".into(),
            payload: json!({"n": 1}),
            enqueued_by: "test".into(),
            ..Default::default()
        })
        .collect();
    jobs::enqueue_many(&mut tx, new).await.unwrap();
    tx.commit().await.unwrap();
    let queued = pages(&t.owner).await;
    let claimed = jobs::claim(&t.db, "w1", &["default".to_owned()], 300, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 300);
    let running = pages(&t.owner).await;
    let ids: Vec<uuid::Uuid> = claimed.iter().map(|j| j.id).collect();
    assert_eq!(jobs::complete_many(&t.db, "w1", &ids).await.unwrap().len(), 300);
    let done = pages(&t.owner).await;
    let stayed = |after: &std::collections::HashMap<uuid::Uuid, i64>| {
        queued.iter().filter(|(id, page)| after.get(*id) == Some(*page)).count()
    };
    // A few pages may still fill up (row sizes vary); a packed table keeps almost none. The
    // completion is the third version on the page: whether it fits depends on the claim's
    // old version being pruned first, which other transactions of a busy server can delay,
    // so only "far more than a packed table" is asked of it.
    assert!(
        stayed(&running) >= 270,
        "claims moved rows off their page: {} of 300 stayed",
        stayed(&running)
    );
    assert!(
        stayed(&done) >= 30,
        "completions moved rows off their page: {} of 300 stayed",
        stayed(&done)
    );
}
