use std::time::{Duration, Instant};

use painel_sandbox::{FaultKind, FaultSpec, Sandbox, ANY_OPERATION};

use crate::common::*;

fn users(sb: &Sandbox) -> Vec<String> {
    sb.whm_accounts(GRU).unwrap().into_iter().map(|a| a.user).collect()
}

const NEW: [(&str, &str); 2] = [("username", "novo"), ("domain", "novo.com.br")];

#[tokio::test]
async fn envelope_error_changes_nothing() {
    let sb = start(2).await;
    let spec = FaultSpec::always(FaultKind::Envelope {
        reason: "Sorry, a group for that username already exists.".into(),
    });
    sb.set_fault(GRU, "createacct", spec).unwrap();
    let v = call(&sb, "createacct", &NEW).await;
    assert_eq!(result(&v), 0);
    assert_eq!(reason(&v), "Sorry, a group for that username already exists.");
    assert!(!users(&sb).contains(&"novo".to_owned()));
    // Other operations and servers are untouched.
    assert_eq!(result(&call(&sb, "listaccts", &[]).await), 1);
    let c = client(Duration::from_secs(5));
    let r = send(
        &c,
        &sb,
        FRA,
        "createacct",
        &[("username", "novo"), ("domain", "novo.com.br")],
    )
    .await
    .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["metadata"]["result"], 1);
}

#[tokio::test]
async fn http_5xx_and_429() {
    let sb = start(2).await;
    let c = client(Duration::from_secs(5));
    sb.set_fault(GRU, "createacct", FaultSpec::always(FaultKind::Http5xx { status: 502 }))
        .unwrap();
    let r = send(&c, &sb, GRU, "createacct", &NEW).await.unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.text().await.unwrap().contains("502"));
    sb.set_fault(
        GRU,
        "createacct",
        FaultSpec::always(FaultKind::RateLimited { retry_after_secs: 7 }),
    )
    .unwrap();
    let r = send(&c, &sb, GRU, "createacct", &NEW).await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert!(!users(&sb).contains(&"novo".to_owned()));
}

#[tokio::test]
async fn malformed_body_changes_nothing() {
    let sb = start(2).await;
    sb.set_fault(GRU, "createacct", FaultSpec::always(FaultKind::Malformed))
        .unwrap();
    let c = client(Duration::from_secs(5));
    let r = send(&c, &sb, GRU, "createacct", &NEW).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<serde_json::Value>().await.is_err(), "not JSON");
    assert!(!users(&sb).contains(&"novo".to_owned()));
}

#[tokio::test]
async fn truncated_body_after_the_work_was_done() {
    let sb = start(2).await;
    sb.set_fault(GRU, "createacct", FaultSpec::always(FaultKind::Truncated))
        .unwrap();
    let c = client(Duration::from_secs(5));
    let r = send(&c, &sb, GRU, "createacct", &NEW).await.unwrap();
    assert_eq!(r.status(), 200);
    let len = r.content_length().unwrap();
    match r.bytes().await {
        Err(_) => {}
        Ok(b) => panic!("got a whole body: {} of {len} bytes", b.len()),
    }
    assert!(users(&sb).contains(&"novo".to_owned()), "the account was created");
}

#[tokio::test]
async fn latency_delays_but_answers() {
    let sb = start(2).await;
    sb.set_fault(GRU, ANY_OPERATION, FaultSpec::always(FaultKind::Latency { ms: 300 }))
        .unwrap();
    let t = Instant::now();
    let v = call(&sb, "version", &[]).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(result(&v), 1);
    // Another server is not slowed.
    let t = Instant::now();
    send(&client(Duration::from_secs(5)), &sb, FRA, "version", &[])
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn timeout_hangs_and_changes_nothing() {
    let sb = start(2).await;
    sb.set_fault(GRU, "createacct", FaultSpec::always(FaultKind::Timeout))
        .unwrap();
    let err = send(&client(Duration::from_millis(400)), &sb, GRU, "createacct", &NEW)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(!users(&sb).contains(&"novo".to_owned()));
}

#[tokio::test]
async fn dropped_connection_changes_nothing() {
    let sb = start(2).await;
    sb.set_fault(GRU, "createacct", FaultSpec::always(FaultKind::Drop))
        .unwrap();
    let t = Instant::now();
    let err = send(&client(Duration::from_secs(10)), &sb, GRU, "createacct", &NEW)
        .await
        .unwrap_err();
    assert!(!err.is_timeout() && t.elapsed() < Duration::from_secs(5), "{err}");
    assert!(!users(&sb).contains(&"novo".to_owned()));
}

#[tokio::test]
async fn lost_response_after_success() {
    let sb = start(2).await;
    sb.set_fault(GRU, "createacct", FaultSpec::times(FaultKind::Lost, 1))
        .unwrap();
    let c = client(Duration::from_secs(10));
    let err = send(&c, &sb, GRU, "createacct", &NEW).await.unwrap_err();
    assert!(!err.is_timeout(), "{err}");
    assert!(
        users(&sb).contains(&"novo".to_owned()),
        "the state changed although the answer was lost"
    );
    // The fault fired its one time: a retry is answered, and says the account exists.
    let v = call(&sb, "createacct", &NEW).await;
    assert!(reason(&v).contains("already exists"), "{v}");
    let summary = call(&sb, "accountsummary", &[("user", "novo")]).await;
    assert_eq!(result(&summary), 1);
}

/// The outcome of each of `n` calls of `version` under a 50 % envelope fault.
async fn pattern(seed: u64, n: usize) -> Vec<bool> {
    let sb = start(seed).await;
    sb.set_fault(
        GRU,
        "version",
        FaultSpec::with_rate(FaultKind::Envelope { reason: "x".into() }, 0.5),
    )
    .unwrap();
    sb.set_fault(
        GRU,
        "listaccts",
        FaultSpec::with_rate(FaultKind::Envelope { reason: "x".into() }, 0.5),
    )
    .unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        // Calls to another operation in between do not shift the stream of `version`.
        if i % 3 == 0 && seed.is_multiple_of(2) {
            call(&sb, "listaccts", &[]).await;
        }
        out.push(result(&call(&sb, "version", &[]).await) == 0);
    }
    out
}

#[tokio::test]
async fn faults_are_deterministic_from_the_seed() {
    let a = pattern(10, 40).await;
    let b = pattern(12, 40).await; // same parity: interleaved listaccts
    let a_again = pattern(10, 40).await;
    let odd = pattern(11, 40).await;
    assert_eq!(a, a_again);
    assert_ne!(a, b);
    assert_ne!(a, odd);
    let fired = a.iter().filter(|x| **x).count();
    assert!((8..=32).contains(&fired), "{fired} of 40 at rate 0.5");
    // The state derived from the seed (disk use) too.
    let (s1, s2, s3) = (start(10).await, start(10).await, start(11).await);
    let disk = |s: &Sandbox| {
        s.whm_state(GRU)
            .unwrap()
            .accounts
            .iter()
            .map(|a| a.disk_used_mb)
            .collect::<Vec<_>>()
    };
    assert_eq!(disk(&s1), disk(&s2));
    assert_ne!(disk(&s1), disk(&s3));
    assert_eq!(
        s1.whm_state(GRU).unwrap().disk_used_mb,
        s2.whm_state(GRU).unwrap().disk_used_mb
    );
}

#[tokio::test]
async fn clear_faults_and_rate_zero() {
    let sb = start(2).await;
    sb.set_fault(GRU, "version", FaultSpec::with_rate(FaultKind::Drop, 0.0))
        .unwrap();
    for _ in 0..5 {
        assert_eq!(result(&call(&sb, "version", &[]).await), 1);
    }
    sb.set_fault(GRU, "version", FaultSpec::always(FaultKind::Http5xx { status: 500 }))
        .unwrap();
    assert_eq!(sb.faults().len(), 1);
    sb.clear_faults();
    assert!(sb.faults().is_empty());
    assert_eq!(result(&call(&sb, "version", &[]).await), 1);
    assert!(sb
        .set_fault("whm-nowhere", "version", FaultSpec::always(FaultKind::Drop))
        .is_err());
    assert!(sb
        .set_fault(GRU, "version", FaultSpec::with_rate(FaultKind::Drop, 2.0))
        .is_err());
    let calls = sb.whm_state(GRU).unwrap().calls;
    assert_eq!(calls["version"], 6, "every request is counted");
}
