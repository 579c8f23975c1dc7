//! The client against the WHM simulator (`painel_sandbox`) over real HTTPS. The two were
//! written apart and share no types: these tests check each against the other.

use std::time::Duration;

use sandbox::{FaultKind, FaultSpec, Sandbox, WhmInit};

use crate::providers::whm::{
    parse_sha256_hex, CreateAccount, Limit, MalformedKind, PackageSpec, SearchField, Secret, TlsPolicy, TransportKind,
    WhmClient, WhmEndpoint, WhmError,
};

const SERVER: &str = "whm-gru-01";
const TOKEN: &str = "SANDBOXTOKEN0123456789ABCDEF";

async fn sandbox() -> Sandbox {
    Sandbox::builder()
        .seed(11)
        .whm(SERVER, WhmInit::new("root", TOKEN))
        .start()
        .await
        .unwrap()
}

fn client(sb: &Sandbox, tls: TlsPolicy, timeout: Duration) -> WhmClient {
    WhmClient::new(WhmEndpoint {
        base_url: sb.whm_url(SERVER).unwrap(),
        api_user: "root".into(),
        token: Secret::new(TOKEN),
        tls,
        timeout,
    })
    .unwrap()
}

fn pinned(sb: &Sandbox) -> WhmClient {
    let pin = parse_sha256_hex(&sb.cert_sha256_hex()).unwrap();
    client(sb, TlsPolicy::PinSha256(pin), Duration::from_secs(5))
}

fn joao() -> CreateAccount {
    CreateAccount {
        username: "joao01".into(),
        domain: "joaosilva.com.br".into(),
        plan: Some("basic_1gb".into()),
        password: Some(Secret::new("Xy7!pQ2#vL9@")),
        contact_email: Some("joao@example.com".into()),
        owner: None,
    }
}

fn basic_1gb() -> PackageSpec {
    PackageSpec {
        name: "basic_1gb".into(),
        quota: Some(Limit::Value(1024)),
        bwlimit: Some(Limit::Value(10240)),
        maxpop: Some(Limit::Value(10)),
        ..PackageSpec::default()
    }
}

#[tokio::test]
async fn every_function_against_the_simulator() {
    let sb = sandbox().await;
    let c = pinned(&sb);
    assert_eq!(c.version().await.unwrap(), "11.118.0.15");

    assert_eq!(c.add_package(&basic_1gb()).await.unwrap(), "basic_1gb");
    let pkgs = c.list_packages().await.unwrap();
    let p = pkgs.iter().find(|p| p.name == "basic_1gb").unwrap();
    assert_eq!(p.quota, Limit::Value(1024));
    assert_eq!(p.maxpop, Limit::Value(10));
    let edited = PackageSpec {
        quota: Some(Limit::Value(2048)),
        ..basic_1gb()
    };
    c.edit_package(&edited).await.unwrap();
    let pkgs = c.list_packages().await.unwrap();
    assert_eq!(
        pkgs.iter().find(|p| p.name == "basic_1gb").unwrap().quota,
        Limit::Value(2048)
    );
    assert!(sb.whm_packages(SERVER).unwrap().iter().any(|p| p.name == "basic_1gb"));

    let created = c.create_account(&joao()).await.unwrap();
    assert_eq!(created.data.package.as_deref(), Some("basic_1gb"));
    assert!(!created.data.nameservers().is_empty());
    let state = sb.whm_accounts(SERVER).unwrap();
    let acct = state.iter().find(|a| a.user == "joao01").unwrap();
    assert_eq!(
        (acct.domain.as_str(), acct.plan.as_str()),
        ("joaosilva.com.br", "basic_1gb")
    );

    let a = c.account_summary("joao01").await.unwrap().unwrap();
    assert_eq!(a.domain, "joaosilva.com.br");
    assert!(!a.suspended);
    assert!(c.account_summary("nosuch").await.unwrap().is_none());
    assert!(c.list_accounts().await.unwrap().iter().any(|a| a.user == "joao01"));
    let found = c.search_accounts(SearchField::User, "^joao01$").await.unwrap();
    assert_eq!(found.len(), 1);

    c.suspend("joao01", "Falta de pagamento").await.unwrap();
    let a = c.account_summary("joao01").await.unwrap().unwrap();
    assert!(a.suspended);
    assert_eq!(a.suspendreason.as_deref(), Some("Falta de pagamento"));
    assert!(sb.whm_accounts(SERVER).unwrap()[0].suspended);
    c.unsuspend("joao01").await.unwrap();
    assert!(!c.account_summary("joao01").await.unwrap().unwrap().suspended);

    c.add_package(&PackageSpec {
        name: "basic_5gb".into(),
        quota: Some(Limit::Value(5120)),
        ..PackageSpec::default()
    })
    .await
    .unwrap();
    c.change_package("joao01", "basic_5gb").await.unwrap();
    assert_eq!(c.account_summary("joao01").await.unwrap().unwrap().plan, "basic_5gb");

    let load = c.load_average().await.unwrap();
    assert!(load.one >= 0.0 && load.fifteen >= 0.0);
    let disk = c.disk_usage().await.unwrap();
    assert!(disk.iter().any(|d| d.user == "joao01"), "{disk:?}");
    let bw = c.bandwidth().await.unwrap();
    assert!(bw.acct.iter().any(|a| a.user == "joao01"), "{bw:?}");

    c.remove("joao01").await.unwrap();
    assert!(c.account_summary("joao01").await.unwrap().is_none());
    assert!(sb.whm_accounts(SERVER).unwrap().is_empty());
    let e = c.remove("joao01").await.unwrap_err();
    assert!(e.is_no_such_account(), "{e:?}");
}

#[tokio::test]
async fn tls_policies_against_the_simulator() {
    let sb = sandbox().await;
    let e = client(&sb, TlsPolicy::Verify, Duration::from_secs(5))
        .version()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Transport {
                kind: TransportKind::Tls,
                ..
            }
        ),
        "{e:?}"
    );
    let e = client(&sb, TlsPolicy::PinSha256([7; 32]), Duration::from_secs(5))
        .version()
        .await
        .unwrap_err();
    assert!(!e.is_transient(), "{e:?}");
    client(&sb, TlsPolicy::TrustAny, Duration::from_secs(5))
        .version()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let sb = sandbox().await;
    let pin = parse_sha256_hex(&sb.cert_sha256_hex()).unwrap();
    let c = WhmClient::new(
        WhmEndpoint::new(sb.whm_url(SERVER).unwrap(), "root", "WRONGTOKEN").with_tls(TlsPolicy::PinSha256(pin)),
    )
    .unwrap();
    let e = c.version().await.unwrap_err();
    assert!(matches!(e, WhmError::Auth { status: 403, .. }), "{e:?}");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn simulator_faults_become_typed_errors() {
    let sb = sandbox().await;
    let c = pinned(&sb);
    let fault = |op: &str, kind: FaultKind| {
        sb.clear_faults();
        sb.set_fault(SERVER, op, FaultSpec::always(kind)).unwrap();
    };

    fault(
        "version",
        FaultKind::Envelope {
            reason: "Unable to obtain a lock: try again later".into(),
        },
    );
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("lock")),
        "{e:?}"
    );
    assert!(e.is_transient());

    fault("version", FaultKind::Http5xx { status: 503 });
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(e, WhmError::Http { status: 503, .. }) && e.is_transient(),
        "{e:?}"
    );

    fault("version", FaultKind::RateLimited { retry_after_secs: 3 });
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(e, WhmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3)),
        "{e:?}"
    );

    fault("listaccts", FaultKind::Malformed);
    let e = c.list_accounts().await.unwrap_err();
    assert!(matches!(e, WhmError::Malformed { .. }) && e.is_transient(), "{e:?}");

    fault("version", FaultKind::Drop);
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Transport {
                kind: TransportKind::Dropped,
                ..
            }
        ),
        "{e:?}"
    );

    fault("version", FaultKind::Latency { ms: 50 });
    c.version().await.unwrap();

    let short = client(
        &sb,
        TlsPolicy::PinSha256(parse_sha256_hex(&sb.cert_sha256_hex()).unwrap()),
        Duration::from_millis(300),
    );
    fault("version", FaultKind::Timeout);
    let e = short.version().await.unwrap_err();
    assert!(e.is_timeout() && e.is_transient(), "{e:?}");
    sb.clear_faults();
}

#[tokio::test]
async fn createacct_that_ran_but_whose_answer_was_lost_is_found_by_accountsummary() {
    let sb = sandbox().await;
    let c = pinned(&sb);
    c.add_package(&basic_1gb()).await.unwrap();
    sb.set_fault(SERVER, "createacct", FaultSpec::always(FaultKind::Lost))
        .unwrap();
    let e = c.create_account(&joao()).await.unwrap_err();
    assert!(e.is_transient() && e.outcome_unknown(), "{e:?}");
    assert!(c.account_summary("joao01").await.unwrap().is_some(), "it was created");

    sb.set_fault(SERVER, "removeacct", FaultSpec::always(FaultKind::Truncated))
        .unwrap();
    let e = c.remove("joao01").await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::Truncated,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient() && e.outcome_unknown());
    assert!(c.account_summary("joao01").await.unwrap().is_none(), "it was removed");
}
