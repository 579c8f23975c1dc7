//! Cron schedules: each occurrence fires once however many schedulers run, no pile-up, no
//! catch-up storm after downtime, operator verbs audited and permission-checked.

use std::collections::HashSet;
use std::time::Duration;

use backend::args;
use backend::jobs::schedule::{self, NewSchedule};
use backend::jobs::{Handlers, Worker, WorkerConfig};
use backend::{Actor, Db, Role, ServiceError};
use serde_json::json;
use tokio::sync::watch;

use crate::cli::{painel, stdout};
use crate::common::{fresh, operator};

fn every_second(name: &str, queue: &str) -> NewSchedule {
    NewSchedule {
        name: name.into(),
        cron: "* * * * * *".into(),
        queue: queue.into(),
        kind: "noop".into(),
        payload: json!({}),
    }
}

async fn audit_actions(db: &Db, entity: &str) -> Vec<String> {
    let rows: Vec<(String,)> = db
        .fetch_all(
            "SELECT action FROM audit_log WHERE entity = $1 ORDER BY seq",
            args![entity],
        )
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn two_schedulers_fire_each_occurrence_once_and_never_pile_up() {
    let t = fresh().await;
    schedule::upsert(&t.db, &operator(), every_second("tick", "sched-a"))
        .await
        .unwrap();
    let race = |db: Db| async move {
        let mut won = Vec::new();
        let end = tokio::time::Instant::now() + Duration::from_millis(3300);
        while tokio::time::Instant::now() < end {
            won.extend(schedule::fire_due(&db, backend::db::now()).await.unwrap());
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        won
    };
    let (a, b) = tokio::join!(race(t.db.clone()), race(t.db.clone()));
    let all: Vec<_> = a.iter().chain(&b).collect();
    let dues: HashSet<_> = all.iter().map(|f| f.due).collect();
    assert_eq!(dues.len(), all.len(), "an occurrence fired twice: {all:?}");
    assert!((2..=5).contains(&all.len()), "fired {} times in 3.3 s", all.len());
    // Nobody ran the job: later firings found it pending (unique key) instead of adding more.
    let pending: i64 =
        t.db.scalar("SELECT COUNT(*) FROM jobs WHERE enqueued_by = 'schedule:tick'", args![])
            .await
            .unwrap();
    assert_eq!(pending, 1);
    let s = schedule::list(&t.db, &operator()).await.unwrap().remove(0);
    assert!(s.next_run_at > backend::db::now() - chrono::Duration::seconds(1));
    assert!(s.last_job_id.is_some() && s.last_run_at.is_some());
}

#[tokio::test]
async fn schedulers_and_a_worker_run_the_job_once_per_second() {
    let t = fresh().await;
    schedule::upsert(&t.db, &operator(), every_second("beat", "sched-b"))
        .await
        .unwrap();
    let (stop, stopped) = watch::channel(false);
    let s1 = tokio::spawn(schedule::run_scheduler(t.db.clone(), stopped.clone()));
    let s2 = tokio::spawn(schedule::run_scheduler(t.db.clone(), stopped.clone()));
    let mut cfg = WorkerConfig::new("sched-worker", vec!["sched-b".into()]);
    cfg.poll = Duration::from_millis(20);
    let w = tokio::spawn(Worker::new(t.db.clone(), cfg, Handlers::builtin()).run(stopped));
    // Until three occurrences ran (polling with a deadline), then check none ran twice.
    let start = std::time::Instant::now();
    let succeeded = || async {
        t.db.scalar::<i64>(
            "SELECT COUNT(*) FROM jobs WHERE enqueued_by = 'schedule:beat' AND status = 'succeeded'",
            args![],
        )
        .await
        .unwrap()
    };
    while succeeded().await < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the schedule did not run 3 times"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    let elapsed = start.elapsed();
    let stats = w.await.unwrap().unwrap();
    s1.await.unwrap();
    s2.await.unwrap();
    let ran: i64 =
        t.db.scalar(
            "SELECT COUNT(*) FROM jobs WHERE enqueued_by = 'schedule:beat' AND status = 'succeeded'",
            args![],
        )
        .await
        .unwrap();
    // Once per second at most, whatever the number of schedulers.
    let most = i64::try_from(elapsed.as_secs()).unwrap() + 2;
    assert!(
        (3..=most).contains(&ran),
        "ran {ran} times in {elapsed:?} with two schedulers"
    );
    assert_eq!(stats.succeeded, u64::try_from(ran).unwrap());
}

#[tokio::test]
async fn a_schedule_missed_during_downtime_fires_once_then_looks_ahead() {
    let t = fresh().await;
    let s = schedule::upsert(
        &t.db,
        &operator(),
        NewSchedule {
            cron: "*/5 * * * *".into(),
            ..every_second("five", "sched-c")
        },
    )
    .await
    .unwrap();
    let long_ago = backend::db::now() - chrono::Duration::hours(3);
    let long_ago = long_ago - chrono::Duration::nanoseconds(i64::from(chrono::Timelike::nanosecond(&long_ago)));
    t.db.execute(
        "UPDATE schedules SET next_run_at = $1 WHERE id = $2",
        args![long_ago, s.id],
    )
    .await
    .unwrap();
    let fired = schedule::fire_due(&t.db, backend::db::now()).await.unwrap();
    assert_eq!(fired.len(), 1, "36 missed occurrences fire once");
    assert_eq!(fired[0].due, long_ago);
    assert!(schedule::fire_due(&t.db, backend::db::now()).await.unwrap().is_empty());
    let after = schedule::list(&t.db, &operator()).await.unwrap().remove(0);
    assert!(after.next_run_at > backend::db::now());
}

#[tokio::test]
async fn operators_manage_schedules_audited_and_tenants_cannot() {
    let t = fresh().await;
    let op = operator();
    let bad = schedule::upsert(
        &t.db,
        &op,
        NewSchedule {
            cron: "every day at noon".into(),
            ..every_second("bad", "q")
        },
    )
    .await;
    assert!(
        matches!(&bad, Err(ServiceError::Validation(f)) if f[0].field == "cron"),
        "{bad:?}"
    );
    assert!(schedule::list(&t.db, &op).await.unwrap().is_empty());

    schedule::upsert(&t.db, &op, every_second("s1", "sched-d"))
        .await
        .unwrap();
    let changed = schedule::upsert(
        &t.db,
        &op,
        NewSchedule {
            cron: "0 4 * * *".into(),
            ..every_second("s1", "sched-d")
        },
    )
    .await
    .unwrap();
    assert_eq!(changed.cron, "0 4 * * *");
    let off = schedule::set_enabled(&t.db, &op, "s1", false).await.unwrap();
    assert!(!off.enabled);
    t.db.execute("UPDATE schedules SET next_run_at = $1", args![backend::db::now()])
        .await
        .unwrap();
    assert!(schedule::fire_due(&t.db, backend::db::now()).await.unwrap().is_empty());
    let on = schedule::set_enabled(&t.db, &op, "s1", true).await.unwrap();
    assert!(on.enabled && on.next_run_at > backend::db::now());
    let job = schedule::run_now(&t.db, &op, "s1").await.unwrap();
    assert_eq!(
        (job.queue.as_str(), job.unique_key.as_deref()),
        ("sched-d", Some("schedule:s1"))
    );
    schedule::remove(&t.db, &op, "s1").await.unwrap();
    assert!(matches!(
        schedule::remove(&t.db, &op, "s1").await,
        Err(ServiceError::NotFound { .. })
    ));
    assert_eq!(
        audit_actions(&t.db, "schedule").await,
        [
            "schedule.create",
            "schedule.update",
            "schedule.disable",
            "schedule.enable",
            "schedule.run",
            "schedule.remove"
        ]
    );

    let tenant = backend::tenants::create(&t.db, &op, crate::common::new_tenant("Sched Co", "sched.example"))
        .await
        .unwrap();
    let admin = Actor::tenant_user("ta", Role::TenantAdmin, tenant.id);
    assert!(matches!(
        schedule::upsert(&t.db, &admin, every_second("mine", "q")).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    let on_call = Actor {
        tenant_id: None,
        ..Actor::tenant_user("oc", Role::OnCall, tenant.id)
    };
    assert!(matches!(
        schedule::upsert(&t.db, &on_call, every_second("mine", "q")).await,
        Err(ServiceError::PermissionDenied(_))
    ));
    assert!(schedule::list(&t.db, &admin).await.unwrap().is_empty());

    // jobs.cleanup, audit.checkpoint, servers.poll, billing.renewals, dns.verify, ssl.check_all, servers.retention.
    assert_eq!(schedule::ensure_defaults(&t.db).await.unwrap(), 7);
    assert_eq!(schedule::ensure_defaults(&t.db).await.unwrap(), 0);
    let names: Vec<String> = schedule::defaults().into_iter().map(|d| d.name).collect();
    assert!(names.iter().any(|n| n == "servers.poll") && names.iter().any(|n| n == "servers.retention"));
}

#[tokio::test]
async fn schedules_through_the_binary() {
    let t = fresh().await;
    let set = painel(
        &t,
        &[
            "-o",
            "json",
            "schedules",
            "set",
            "nightly",
            "--cron",
            "0 3 * * *",
            "--kind",
            "noop",
        ],
    );
    assert!(set.status.success(), "{set:?}");
    let v: serde_json::Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(v["name"], "nightly");
    let csv = painel(&t, &["-o", "csv", "schedules", "list"]);
    assert!(
        stdout(&csv).starts_with("name,cron,queue,kind,enabled,"),
        "{}",
        stdout(&csv)
    );
    assert!(stdout(&csv).contains("nightly,0 3 * * *,default,noop,true"));
    let bad = painel(&t, &["schedules", "set", "x", "--cron", "99 * * * *", "--kind", "noop"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let missing = painel(&t, &["schedules", "run", "nope"]);
    assert_eq!(missing.status.code(), Some(3));
}
