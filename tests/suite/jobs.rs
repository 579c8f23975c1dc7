//! The job queue: enqueue in the caller's transaction, unique jobs, concurrent claims,
//! leases, retries and the operator services.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use backend::args;
use backend::jobs::admin::{self, JobQuery};
use backend::jobs::{self, backoff, JobError, NewJob};
use backend::page::PageAt;
use backend::{Actor, Db, Role, ServiceError};
use serde_json::json;
use uuid::Uuid;

use crate::common::{engine, fresh, new_tenant, operator, Engine};

fn job(kind: &str) -> NewJob {
    NewJob {
        queue: "default".into(),
        kind: kind.into(),
        payload: json!({"n": 1}),
        enqueued_by: "test".into(),
        ..Default::default()
    }
}

async fn put(db: &Db, new: NewJob) -> jobs::Job {
    let mut tx = db.begin().await.unwrap();
    let j = jobs::enqueue(&mut tx, new).await.unwrap();
    tx.commit().await.unwrap();
    j
}

async fn count(db: &Db) -> i64 {
    db.scalar("SELECT COUNT(*) FROM jobs", args![]).await.unwrap()
}

fn q(name: &str) -> Vec<String> {
    vec![name.to_owned()]
}

/// Makes a requeued job due now, instead of waiting out its backoff.
async fn make_due(db: &Db, id: Uuid) {
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    db.execute("UPDATE jobs SET run_at = $1 WHERE id = $2", args![past, id])
        .await
        .unwrap();
}

#[tokio::test]
async fn enqueue_commits_and_rolls_back_with_the_callers_transaction() {
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    let j = jobs::enqueue(&mut tx, job("provision")).await.unwrap();
    assert_eq!((j.status.as_str(), j.attempts, j.max_attempts), ("queued", 0, 5));
    tx.rollback().await.unwrap();
    assert_eq!(count(&t.db).await, 0);

    let j = put(&t.db, job("provision")).await;
    assert_eq!(count(&t.db).await, 1);
    assert_eq!(j.payload, json!({"n": 1}));
    assert_eq!(j.error_history, json!([]));

    let mut tx = t.db.begin().await.unwrap();
    let bad = jobs::enqueue(
        &mut tx,
        NewJob {
            queue: " ".into(),
            max_attempts: Some(0),
            ..job("x")
        },
    )
    .await;
    tx.rollback().await.unwrap();
    let Err(ServiceError::Validation(fields)) = bad else {
        panic!("{bad:?}")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["queue", "max_attempts"]);
}

#[tokio::test]
async fn a_pending_unique_key_is_enqueued_once() {
    let t = fresh().await;
    let unique = |k: &str| NewJob {
        unique_key: Some(k.into()),
        ..job("renew")
    };
    let a = put(&t.db, unique("renew:1")).await;
    let b = put(&t.db, unique("renew:1")).await;
    assert_eq!(a.id, b.id);
    let other = put(&t.db, unique("renew:2")).await;
    assert_ne!(other.id, a.id);
    assert_eq!(count(&t.db).await, 2);

    // Still pending while running; free again once finished.
    let claimed = jobs::claim(&t.db, "w1", &q("default"), 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(put(&t.db, unique("renew:1")).await.id, a.id);
    jobs::complete(&t.db, "w1", a.id).await.unwrap();
    let again = put(&t.db, unique("renew:1")).await;
    assert_ne!(again.id, a.id);
    assert_eq!(again.status, "queued");
    assert_eq!(count(&t.db).await, 3);
}

#[tokio::test]
async fn concurrent_claimers_take_each_job_exactly_once() {
    const WORKERS: usize = 6;
    const JOBS: usize = 300;
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    for i in 0..JOBS {
        let queue = if i % 3 == 0 { "mail" } else { "default" };
        jobs::enqueue(
            &mut tx,
            NewJob {
                queue: queue.into(),
                payload: json!({ "i": i }),
                ..job("noop")
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let db = Arc::new(t.db.clone());
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let me = format!("worker-{w}");
            let queues = vec!["default".to_owned(), "mail".to_owned()];
            let mut mine = Vec::new();
            loop {
                let batch = jobs::claim(&db, &me, &queues, 7, Duration::from_secs(60))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                for j in batch {
                    assert_eq!(
                        (j.status.as_str(), j.locked_by.as_deref()),
                        ("running", Some(me.as_str()))
                    );
                    jobs::complete(&db, &me, j.id).await.unwrap();
                    mine.push(j.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let distinct: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!((all.len(), distinct.len()), (JOBS, JOBS), "each job claimed once");
    let done: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded' AND attempts = 1",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(done, JOBS as i64);
}

#[tokio::test]
async fn claims_follow_queue_and_run_at_and_skip_future_jobs() {
    let t = fresh().await;
    let now = chrono::Utc::now();
    let later = put(
        &t.db,
        NewJob {
            run_at: Some(now - chrono::Duration::seconds(5)),
            ..job("b")
        },
    )
    .await;
    let sooner = put(
        &t.db,
        NewJob {
            run_at: Some(now - chrono::Duration::seconds(50)),
            ..job("a")
        },
    )
    .await;
    put(
        &t.db,
        NewJob {
            run_at: Some(now + chrono::Duration::hours(1)),
            ..job("future")
        },
    )
    .await;
    put(
        &t.db,
        NewJob {
            queue: "other".into(),
            ..job("elsewhere")
        },
    )
    .await;
    let got = jobs::claim(&t.db, "w", &q("default"), 10, Duration::from_secs(30))
        .await
        .unwrap();
    let ids: Vec<Uuid> = got.iter().map(|j| j.id).collect();
    assert_eq!(ids, [sooner.id, later.id]);
    assert!(jobs::claim(&t.db, "w", &q("default"), 10, Duration::from_secs(30))
        .await
        .unwrap()
        .is_empty());
}

/// Sweeps until the `n` leases taken just before have run out and were reclaimed: polling on
/// the sweep's own result, with a deadline, instead of sleeping for a guessed lease length.
async fn reclaim_once_expired(db: &backend::Db, n: u64) {
    let start = std::time::Instant::now();
    let mut reclaimed = 0;
    while reclaimed < n {
        reclaimed += jobs::reclaim_expired(db).await.unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{reclaimed} of {n} leases reclaimed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(reclaimed, n);
}

#[tokio::test]
async fn expired_leases_are_reclaimed_and_the_old_worker_is_refused() {
    let t = fresh().await;
    let j = put(&t.db, job("provision")).await;
    let first = jobs::claim(&t.db, "dead-worker", &q("default"), 1, Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // Not yet expired: nothing to reclaim; heartbeats only extend the holder's leases.
    assert_eq!(jobs::reclaim_expired(&t.db).await.unwrap(), 0);
    assert!(
        jobs::heartbeat(&t.db, "someone-else", &[j.id], Duration::from_millis(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(jobs::reclaim_expired(&t.db).await.unwrap(), 0);
    // The holder's last heartbeat leaves it a 1 ms lease, and then it dies.
    let last = jobs::heartbeat(&t.db, "dead-worker", &[j.id], Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(last, [j.id]);
    reclaim_once_expired(&t.db, 1).await;
    assert!(jobs::heartbeat(&t.db, "dead-worker", &[j.id], Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());

    let second = jobs::claim(&t.db, "w2", &q("default"), 1, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!((second[0].id, second[0].attempts), (j.id, 2));
    assert_eq!(second[0].error_history.as_array().map(Vec::len), Some(1));
    assert_eq!(second[0].error_history[0]["kind"], "lease");
    let renewed = jobs::heartbeat(&t.db, "w2", &[j.id], Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(renewed, [j.id]);
    let held = admin::get(&t.db, &operator(), &j.id.to_string()).await.unwrap();
    assert!(held.lease_until.unwrap() > chrono::Utc::now() + chrono::Duration::seconds(500));

    let refused = jobs::complete(&t.db, "dead-worker", j.id).await;
    assert!(matches!(refused, Err(ServiceError::Conflict(_))), "{refused:?}");
    let refused = jobs::fail(&t.db, "dead-worker", j.id, JobError::Transient("x".into())).await;
    assert!(matches!(refused, Err(ServiceError::Conflict(_))), "{refused:?}");
    let done = jobs::complete(&t.db, "w2", j.id).await.unwrap();
    assert_eq!(done.status, "succeeded");
    assert!(done.finished_at.is_some());
}

#[tokio::test]
async fn a_job_whose_last_lease_expires_is_dead() {
    let t = fresh().await;
    let j = put(
        &t.db,
        NewJob {
            max_attempts: Some(1),
            ..job("crashy")
        },
    )
    .await;
    jobs::claim(&t.db, "w", &q("default"), 1, Duration::from_millis(1))
        .await
        .unwrap();
    reclaim_once_expired(&t.db, 1).await;
    let dead = admin::get(&t.db, &operator(), &j.id.to_string()).await.unwrap();
    assert_eq!(dead.status, "dead");
    assert!(dead.finished_at.is_some() && dead.locked_by.is_none());
}

#[tokio::test]
async fn transient_errors_back_off_until_dead_and_permanent_ones_fail_at_once() {
    let t = fresh().await;
    let j = put(
        &t.db,
        NewJob {
            max_attempts: Some(3),
            ..job("flaky")
        },
    )
    .await;
    for attempt in 1..=3i64 {
        make_due(&t.db, j.id).await;
        let got = jobs::claim(&t.db, "w", &q("default"), 1, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(got[0].attempts, attempt);
        let before = chrono::Utc::now();
        let failed = jobs::fail(&t.db, "w", j.id, JobError::Transient(format!("timeout {attempt}")))
            .await
            .unwrap();
        let after = chrono::Utc::now();
        assert_eq!(
            failed.last_error.as_deref(),
            Some(format!("timeout {attempt}").as_str())
        );
        let history = failed.error_history.as_array().unwrap();
        assert_eq!(history.len() as i64, attempt);
        assert_eq!(history[history.len() - 1]["attempt"], attempt);
        assert_eq!(history[history.len() - 1]["kind"], "transient");
        if attempt < 3 {
            assert_eq!(failed.status, "queued");
            assert!(failed.locked_by.is_none() && failed.lease_until.is_none());
            let nominal = chrono::Duration::from_std(backoff(attempt, jobs::backoff::BASE)).unwrap();
            let lo = before + nominal * 8 / 10 - chrono::Duration::milliseconds(5);
            let hi = after + nominal * 12 / 10 + chrono::Duration::milliseconds(5);
            assert!(
                failed.run_at >= lo && failed.run_at <= hi,
                "attempt {attempt}: {}",
                failed.run_at
            );
            // Not due yet: a claim does not see it.
            assert!(jobs::claim(&t.db, "w", &q("default"), 1, Duration::from_secs(30))
                .await
                .unwrap()
                .is_empty());
        } else {
            assert_eq!(failed.status, "dead");
            assert!(failed.finished_at.is_some());
        }
    }

    let p = put(&t.db, job("charge")).await;
    jobs::claim(&t.db, "w", &q("default"), 1, Duration::from_secs(30))
        .await
        .unwrap();
    let failed = jobs::fail(&t.db, "w", p.id, JobError::Permanent("card declined".into()))
        .await
        .unwrap();
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1));
    assert_eq!(failed.error_history.as_array().map(Vec::len), Some(1));
    assert_eq!(failed.error_history[0]["kind"], "permanent");
}

async fn audit_actions(db: &Db, id: Uuid) -> Vec<String> {
    let rows: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE entity = 'job' AND entity_id = $1 ORDER BY seq",
            args![id.to_string()],
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn operators_list_retry_cancel_and_count_within_their_scope() {
    let t = fresh().await;
    let op = operator();
    let acme = backend::tenants::create(&t.db, &op, new_tenant("Acme", "acme.com"))
        .await
        .unwrap();
    let beta = backend::tenants::create(&t.db, &op, new_tenant("Beta", "beta.com"))
        .await
        .unwrap();
    let mine = put(
        &t.db,
        NewJob {
            tenant_id: Some(acme.id),
            ..job("provision")
        },
    )
    .await;
    let theirs = put(
        &t.db,
        NewJob {
            tenant_id: Some(beta.id),
            ..job("provision")
        },
    )
    .await;
    let platform = put(
        &t.db,
        NewJob {
            queue: "ops".into(),
            ..job("cleanup")
        },
    )
    .await;

    let admin_acme = Actor::tenant_user("ana", Role::TenantAdmin, acme.id);
    let page = admin::list(
        &t.db,
        &admin_acme,
        &JobQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<Uuid> = page.items.iter().map(|j| j.id).collect();
    assert_eq!(ids, [mine.id]);
    for other in [theirs.id, platform.id] {
        let r = admin::get(&t.db, &admin_acme, &other.to_string()).await;
        assert!(matches!(r, Err(ServiceError::NotFound { .. })), "{r:?}");
    }

    // Platform operator: everything, newest first, paged, filtered.
    let first = admin::list(
        &t.db,
        &op,
        &JobQuery {
            limit: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<Uuid> = first.items.iter().map(|j| j.id).collect();
    assert_eq!(ids, [platform.id, theirs.id]);
    assert!(first.has_next);
    let rest = admin::list(
        &t.db,
        &op,
        &JobQuery {
            limit: 2,
            at: PageAt::After(first.last.clone().unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(rest.items.iter().map(|j| j.id).collect::<Vec<_>>(), [mine.id]);
    let ops = admin::list(
        &t.db,
        &op,
        &JobQuery {
            queue: Some("ops".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ops.items.len(), 1);
    let bad = admin::list(
        &t.db,
        &op,
        &JobQuery {
            status: Some("bogus".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(bad, Err(ServiceError::Validation(_))));

    // Cancel, then retry; on-call can read but not steer.
    let on_call = Actor {
        role: Role::OnCall,
        ..Actor::system("watcher")
    };
    assert_eq!(admin::stats(&t.db, &on_call).await.unwrap().len(), 2);
    let denied = admin::cancel(&t.db, &on_call, &mine.id.to_string()).await;
    assert!(matches!(denied, Err(ServiceError::PermissionDenied(_))), "{denied:?}");
    let cancelled = admin::cancel(&t.db, &admin_acme, &mine.id.to_string()).await.unwrap();
    assert_eq!(cancelled.status, "cancelled");
    let again = admin::cancel(&t.db, &admin_acme, &mine.id.to_string()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    let denied = admin::retry(&t.db, &on_call, &mine.id.to_string()).await;
    assert!(matches!(denied, Err(ServiceError::PermissionDenied(_))), "{denied:?}");
    let other = admin::retry(&t.db, &admin_acme, &theirs.id.to_string()).await;
    assert!(matches!(other, Err(ServiceError::NotFound { .. })), "{other:?}");
    let queued = admin::retry(&t.db, &op, &theirs.id.to_string()).await;
    assert!(matches!(queued, Err(ServiceError::Conflict(_))), "{queued:?}");
    let retried = admin::retry(&t.db, &admin_acme, &mine.id.to_string()).await.unwrap();
    assert_eq!((retried.status.as_str(), retried.finished_at), ("queued", None));
    let not_again = admin::retry(&t.db, &op, &mine.id.to_string()).await;
    assert!(matches!(not_again, Err(ServiceError::Conflict(_))), "{not_again:?}");
    assert_eq!(audit_actions(&t.db, mine.id).await, ["job.cancel", "job.retry"]);

    // A dead job gets one more attempt; attempts are kept.
    let dead = put(
        &t.db,
        NewJob {
            queue: "ops".into(),
            max_attempts: Some(1),
            ..job("flaky")
        },
    )
    .await;
    jobs::claim(&t.db, "w", &q("ops"), 10, Duration::from_secs(30))
        .await
        .unwrap();
    jobs::fail(&t.db, "w", platform.id, JobError::Permanent("nope".into()))
        .await
        .unwrap();
    let d = jobs::fail(&t.db, "w", dead.id, JobError::Transient("slow".into()))
        .await
        .unwrap();
    assert_eq!(d.status, "dead");
    let r = admin::retry(&t.db, &op, &dead.id.to_string()).await.unwrap();
    assert_eq!((r.status.as_str(), r.attempts, r.max_attempts), ("queued", 1, 2));
    assert_eq!(r.error_history.as_array().map(Vec::len), Some(1));

    let stats = admin::stats(&t.db, &op).await.unwrap();
    let flat: Vec<(String, String, i64)> = stats.into_iter().map(|s| (s.queue, s.status, s.count)).collect();
    assert_eq!(
        flat,
        [
            ("default".into(), "queued".into(), 2),
            ("ops".into(), "failed".into(), 1),
            ("ops".into(), "queued".into(), 1),
        ]
    );
    let scoped = admin::stats(&t.db, &admin_acme).await.unwrap();
    assert_eq!(scoped.len(), 1);
    assert_eq!(scoped[0].count, 1);
    let reseller = Actor::tenant_user("rita", Role::Reseller, acme.id);
    assert!(matches!(
        admin::stats(&t.db, &reseller).await,
        Err(ServiceError::PermissionDenied(_))
    ));
}

/// Completion writes (and heartbeats and releases, which share the `status = 'running' AND
/// id IN (…)` shape) find their rows through the primary key, even with a generic plan
/// built from statistics taken while nothing ran. Before migration 0018 PostgreSQL chose the
/// partial lease index for that plan and tested every entry of it against the id list:
/// completion batches of a second each under load (docs/adr/0004, "Under load").
#[tokio::test]
async fn completion_writes_probe_the_primary_key_even_with_a_generic_plan() {
    let t = fresh().await;
    let mut tx = t.db.begin().await.unwrap();
    jobs::enqueue_many(&mut tx, (0..3000).map(|_| job("noop")).collect())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let analyze = match engine() {
        Engine::Postgres => "ANALYZE jobs",
        Engine::Sqlite => "ANALYZE",
    };
    t.owner.execute(analyze, args![]).await.unwrap();
    let claimed = jobs::claim(&t.db, "w1", &q("default"), 100, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 100);
    let n = 64;
    let ids: Vec<String> = (0..n).map(|i| format!("${}", i + 2)).collect();
    let update = format!(
        "UPDATE jobs SET status = 'succeeded', finished_at = now(), updated_at = now(), lease_until = NULL \
         WHERE status = 'running' AND locked_by = $1 AND id IN ({})",
        ids.join(", ")
    );
    let mut tx = t.db.begin().await.unwrap();
    let plan: Vec<(String,)> = match engine() {
        Engine::Postgres => {
            tx.execute("SET LOCAL plan_cache_mode = force_generic_plan", args![])
                .await
                .unwrap();
            let types = std::iter::once("text")
                .chain(std::iter::repeat_n("uuid", n))
                .collect::<Vec<_>>()
                .join(", ");
            tx.execute(&format!("PREPARE done_batch({types}) AS {update}"), args![])
                .await
                .unwrap();
            let values: Vec<String> = std::iter::once("'w1'".to_owned())
                .chain(claimed.iter().take(n).map(|j| format!("'{}'", j.id)))
                .collect();
            tx.fetch_all(&format!("EXPLAIN EXECUTE done_batch({})", values.join(", ")), args![])
                .await
                .unwrap()
        }
        Engine::Sqlite => {
            let sql = update.replace("now()", "'x'");
            let mut args: Vec<backend::db::Arg> = args!["w1"];
            args.extend(claimed.iter().take(n).map(|j| backend::db::Arg::from(j.id)));
            let rows: Vec<(i64, i64, i64, String)> =
                tx.fetch_all(&format!("EXPLAIN QUERY PLAN {sql}"), args).await.unwrap();
            rows.into_iter().map(|r| (r.3,)).collect()
        }
    };
    tx.rollback().await.unwrap();
    let plan: Vec<String> = plan.into_iter().map(|r| r.0).collect();
    let text = plan.join("\n");
    assert!(
        !text.contains("jobs_lease_idx") && !text.contains("jobs_unique_key_uq"),
        "the completion write walks a partial index instead of the primary key:\n{text}"
    );
    assert!(
        text.contains("jobs_pkey") || text.contains("sqlite_autoindex_jobs") || text.contains("PRIMARY KEY"),
        "the completion write does not probe the primary key:\n{text}"
    );
}
