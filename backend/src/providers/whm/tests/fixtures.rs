//! Every function against bodies shaped like cPanel's published ones: success and failure
//! envelopes, and what the client sends.

use super::server::{FixtureServer, TOKEN};
use crate::providers::whm::{
    CreateAccount, Limit, MalformedKind, PackageSpec, SearchField, Secret, WhmClient, WhmError,
};

fn assert_api(e: WhmError, command: &str, reason_part: &str) {
    match &e {
        WhmError::Api { command: c, reason } => {
            assert_eq!(c, command);
            assert!(reason.contains(reason_part), "{reason}");
        }
        other => panic!("expected an API error of {command}, got {other:?}"),
    }
    assert!(!e.to_string().contains(TOKEN));
}

fn query_has(query: &str, pair: &str) -> bool {
    query.split('&').any(|p| p == pair)
}

async fn with(command: &str, file: &str) -> (FixtureServer, WhmClient) {
    let s = FixtureServer::start().await;
    s.fixture(command, file);
    let c = s.client();
    (s, c)
}

#[tokio::test]
async fn version() {
    let (s, c) = with("version", "version_ok.json").await;
    assert_eq!(c.version().await.unwrap(), "11.118.0.15");
    let seen = &s.seen()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.command, "version");
    assert!(query_has(&seen.query, "api.version=1"), "{}", seen.query);
    assert_eq!(seen.auth, format!("whm root:{TOKEN}"));

    s.fixture("version", "version_error.json");
    let e = c.version().await.unwrap_err();
    assert!(!e.is_transient());
    assert_api(e, "version", "lacks");
}

#[tokio::test]
async fn createacct_posts_the_password_in_the_body() {
    let (s, c) = with("createacct", "createacct_ok.json").await;
    let req = CreateAccount {
        username: "joao01".into(),
        domain: "joaosilva.com.br".into(),
        plan: Some("basic_1gb".into()),
        password: Some(Secret::new("S3nha&Forte=1")),
        contact_email: Some("joao@example.com".into()),
        owner: None,
    };
    let a = c.create_account(&req).await.unwrap();
    assert_eq!(a.reason, "Account Creation Ok");
    assert_eq!(a.data.ip.as_deref(), Some("203.0.113.10"));
    assert_eq!(a.data.package.as_deref(), Some("basic_1gb"));
    assert_eq!(a.data.nameservers(), vec!["ns1.hostbr.example", "ns2.hostbr.example"]);
    assert!(a.output.raw.unwrap().contains("Account Creation Complete"));

    let seen = &s.seen()[0];
    assert_eq!(seen.method, "POST");
    assert!(query_has(&seen.query, "api.version=1"));
    assert!(!seen.query.contains("S3nha"), "the password never goes in the URL");
    assert!(seen.body.contains("password=S3nha%26Forte%3D1"), "{}", seen.body);
    assert!(seen.body.contains("username=joao01"));
    assert!(seen.body.contains("plan=basic_1gb"));
    assert!(!format!("{req:?}").contains("S3nha"));

    s.fixture("createacct", "createacct_exists.json");
    let e = c.create_account(&req).await.unwrap_err();
    assert!(!e.is_transient(), "already exists is permanent");
    assert!(!e.is_no_such_account());
    assert_api(e, "createacct", "already exists");
}

#[tokio::test]
async fn suspend_and_unsuspend() {
    let (s, c) = with("suspendacct", "suspendacct_ok.json").await;
    let a = c.suspend("joao01", "Falta de pagamento").await.unwrap();
    assert!(a.output.raw.unwrap().contains("has been suspended"));
    let seen = &s.seen()[0];
    assert!(query_has(&seen.query, "user=joao01"));
    assert!(query_has(&seen.query, "reason=Falta+de+pagamento"), "{}", seen.query);

    s.fixture("suspendacct", "suspendacct_error.json");
    let e = c.suspend("nosuch", "x").await.unwrap_err();
    assert!(e.is_no_such_account());
    assert_api(e, "suspendacct", "does not exist");

    s.fixture("unsuspendacct", "unsuspendacct_ok.json");
    assert_eq!(c.unsuspend("joao01").await.unwrap().reason, "OK");
    s.fixture("unsuspendacct", "unsuspendacct_error.json");
    let e = c.unsuspend("joao01").await.unwrap_err();
    assert!(!e.is_transient());
    assert_api(e, "unsuspendacct", "locked");
}

#[tokio::test]
async fn removeacct() {
    let (s, c) = with("removeacct", "removeacct_ok.json").await;
    let a = c.remove("joao01").await.unwrap();
    assert_eq!(a.reason, "joao01 account removed");
    let seen = &s.seen()[0];
    assert!(query_has(&seen.query, "username=joao01"));
    assert!(query_has(&seen.query, "keepdns=0"));

    s.fixture("removeacct", "removeacct_error.json");
    let e = c.remove("joao01").await.unwrap_err();
    assert!(e.is_no_such_account(), "a retried remove can tell it already happened");
    assert_api(e, "removeacct", "does not exist");
}

#[tokio::test]
async fn changepackage() {
    let (s, c) = with("changepackage", "changepackage_ok.json").await;
    let a = c.change_package("joao01", "basic_5gb").await.unwrap();
    assert!(a.output.raw.unwrap().contains("Upgrade/Downgrade Complete"));
    let seen = &s.seen()[0];
    assert!(query_has(&seen.query, "user=joao01") && query_has(&seen.query, "pkg=basic_5gb"));

    s.fixture("changepackage", "changepackage_error.json");
    let e = c.change_package("joao01", "gold_99").await.unwrap_err();
    assert!(!e.is_transient());
    assert_api(e, "changepackage", "gold_99");
}

#[tokio::test]
async fn listaccts_and_search() {
    let (s, c) = with("listaccts", "listaccts_ok.json").await;
    let accts = c.list_accounts().await.unwrap();
    assert_eq!(accts.len(), 2);
    let j = &accts[0];
    assert_eq!(
        (j.user.as_str(), j.domain.as_str(), j.plan.as_str(), j.owner.as_str()),
        ("joao01", "joaosilva.com.br", "basic_1gb", "root")
    );
    assert_eq!(j.diskused, Limit::Value(14));
    assert_eq!(j.disklimit, Limit::Value(1024));
    assert!(!j.suspended && !j.is_locked);
    assert_eq!(j.suspendtime, None);
    assert_eq!(j.unix_startdate, Some(1_711_285_920));
    let m = &accts[1];
    assert!(m.suspended && m.is_locked);
    assert_eq!(m.suspendreason.as_deref(), Some("Nonpayment"));
    assert_eq!(m.disklimit, Limit::Unlimited);
    assert_eq!(m.uid, Some(1005), "numbers as strings");
    assert_eq!(m.unix_startdate, Some(1_699_952_400));

    c.search_accounts(SearchField::User, "^joao01$").await.unwrap();
    let seen = s.seen();
    let q = &seen[1].query;
    assert!(
        query_has(q, "searchtype=user") && query_has(q, "searchmethod=regex"),
        "{q}"
    );
    assert!(query_has(q, "search=%5Ejoao01%24"), "{q}");

    s.fixture("listaccts", "listaccts_error.json");
    assert_api(c.list_accounts().await.unwrap_err(), "listaccts", "Invalid search type");
}

#[tokio::test]
async fn accountsummary_maps_no_such_account_to_none() {
    let (s, c) = with("accountsummary", "accountsummary_ok.json").await;
    let a = c.account_summary("username").await.unwrap().unwrap();
    assert_eq!(a.domain, "example.com");
    assert_eq!(a.plan, "packagename");
    assert_eq!(a.diskused, Limit::Value(14));
    assert_eq!(a.suspendtime, Some(0));
    assert!(query_has(&s.seen()[0].query, "user=username"));

    s.fixture("accountsummary", "accountsummary_missing.json");
    assert!(c.account_summary("nosuch").await.unwrap().is_none());

    s.fixture("accountsummary", "accountsummary_error.json");
    assert_api(c.account_summary("").await.unwrap_err(), "accountsummary", "parameter");
}

#[tokio::test]
async fn listpkgs() {
    let (s, c) = with("listpkgs", "listpkgs_ok.json").await;
    let p = c.list_packages().await.unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].name, "basic_1gb");
    assert_eq!(p[0].quota, Limit::Value(1024));
    assert_eq!(p[0].bwlimit, Limit::Unlimited);
    assert_eq!(p[0].maxpop, Limit::Value(10));
    assert!(p[0].cgi && !p[0].hasshell);
    assert_eq!(p[0].featurelist, "default");
    assert_eq!(p[1].quota, Limit::Value(10240), "numbers as numbers");
    assert_eq!(p[1].maxsql, Limit::Unlimited);
    assert_eq!(p[1].lang, "pt_br");

    s.fixture("listpkgs", "listpkgs_error.json");
    assert_api(c.list_packages().await.unwrap_err(), "listpkgs", "Permission denied");
}

#[tokio::test]
async fn addpkg_and_editpkg() {
    let (s, c) = with("addpkg", "addpkg_ok.json").await;
    let spec = PackageSpec {
        name: "basic_1gb".into(),
        quota: Some(Limit::Value(1024)),
        bwlimit: Some(Limit::Unlimited),
        maxpop: Some(Limit::Value(10)),
        cgi: Some(true),
        hasshell: Some(false),
        featurelist: Some("default".into()),
        ..PackageSpec::default()
    };
    assert_eq!(c.add_package(&spec).await.unwrap(), "basic_1gb");
    let q = &s.seen()[0].query;
    for pair in [
        "name=basic_1gb",
        "quota=1024",
        "bwlimit=unlimited",
        "maxpop=10",
        "cgi=1",
        "hasshell=0",
        "featurelist=default",
    ] {
        assert!(query_has(q, pair), "{pair} in {q}");
    }
    assert!(!q.contains("maxsql"), "unset limits are not sent: {q}");

    s.fixture("addpkg", "addpkg_error.json");
    let e = c.add_package(&spec).await.unwrap_err();
    assert!(!e.is_transient());
    assert_api(e, "addpkg", "already exists");

    s.fixture("editpkg", "editpkg_ok.json");
    assert_eq!(c.edit_package(&spec).await.unwrap(), "basic_1gb");
    s.fixture("editpkg", "editpkg_error.json");
    let e = c
        .edit_package(&PackageSpec {
            name: "nosuch".into(),
            ..PackageSpec::default()
        })
        .await
        .unwrap_err();
    assert_api(e, "editpkg", "does not exist");
}

#[tokio::test]
async fn systemloadavg() {
    let (s, c) = with("systemloadavg", "systemloadavg_ok.json").await;
    let l = c.load_average().await.unwrap();
    assert_eq!((l.one, l.five, l.fifteen), (0.52, 0.61, 0.70));
    s.fixture("systemloadavg", "systemloadavg_result_string.json");
    let l = c.load_average().await.unwrap();
    assert_eq!((l.one, l.five, l.fifteen), (1.25, 0.98, 0.5));
    s.fixture("systemloadavg", "systemloadavg_error.json");
    assert_api(
        c.load_average().await.unwrap_err(),
        "systemloadavg",
        "Permission denied",
    );
}

#[tokio::test]
async fn get_disk_usage() {
    let (s, c) = with("get_disk_usage", "get_disk_usage_ok.json").await;
    let d = c.disk_usage().await.unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].user, "joao01");
    assert_eq!(d[0].bytes_used(), 14336 * 1024);
    assert_eq!(d[0].bytes_limit(), Some(1_048_576 * 1024));
    assert_eq!(d[1].bytes_limit(), None, "null limit = unlimited");
    s.fixture("get_disk_usage", "get_disk_usage_error.json");
    let e = c.disk_usage().await.unwrap_err();
    assert!(!e.is_transient());
    assert_api(e, "get_disk_usage", "quotas are disabled");
}

#[tokio::test]
async fn showbw() {
    let (s, c) = with("showbw", "showbw_ok.json").await;
    let b = c.bandwidth().await.unwrap();
    assert_eq!((b.month, b.year, b.totalused), (Some(12), Some(2019), Some(1_048_928)));
    assert_eq!(b.acct.len(), 2);
    assert_eq!(b.acct[0].user, "user");
    assert_eq!(b.acct[0].maindomain, "example.com");
    assert_eq!(b.acct[0].totalbytes, Some(352));
    assert_eq!(b.acct[0].limit, Limit::Value(0));
    assert_eq!(b.acct[1].totalbytes, Some(1_048_576));
    assert_eq!(b.acct[1].limit, Limit::Value(5_242_880));
    s.fixture("showbw", "showbw_error.json");
    assert_api(c.bandwidth().await.unwrap_err(), "showbw", "Invalid month");
}

#[tokio::test]
async fn refused_tokens_are_auth_errors() {
    let s = FixtureServer::start().await;
    s.answer("version", 403, super::server::fixture("auth_403.json"));
    let e = s.client().version().await.unwrap_err();
    assert!(
        matches!(&e, WhmError::Auth { status: 403, reason, .. } if reason == "Access denied"),
        "{e:?}"
    );
    assert!(!e.is_transient());
    // The same legacy body with a 200 (seen behind some proxies) is still a refusal.
    s.fixture("version", "auth_403.json");
    let e = s.client().version().await.unwrap_err();
    assert!(matches!(e, WhmError::Auth { .. }), "{e:?}");
    s.answer("version", 401, "");
    let e = s.client().version().await.unwrap_err();
    assert!(matches!(e, WhmError::Auth { status: 401, .. }), "{e:?}");
}

#[tokio::test]
async fn an_api0_answer_is_not_taken_for_success() {
    let (_s, c) = with("version", "api0_version.json").await;
    let e = c.version().await.unwrap_err();
    assert!(
        matches!(
            e,
            WhmError::Malformed {
                kind: MalformedKind::NotEnvelope,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_transient());
}

#[tokio::test]
async fn start_autossl_check_for_one_user() {
    let (s, c) = with(
        "start_autossl_check_for_one_user",
        "start_autossl_check_for_one_user_ok.json",
    )
    .await;
    assert_eq!(c.start_autossl_check_for_one_user("joao01").await.unwrap(), Some(41202));
    let seen = &s.seen()[0];
    assert_eq!(seen.method, "GET");
    assert!(query_has(&seen.query, "username=joao01"), "{}", seen.query);
    assert!(query_has(&seen.query, "api.version=1"), "{}", seen.query);

    s.fixture(
        "start_autossl_check_for_one_user",
        "start_autossl_check_for_one_user_result_string.json",
    );
    assert_eq!(c.start_autossl_check_for_one_user("joao01").await.unwrap(), Some(41202));

    s.fixture(
        "start_autossl_check_for_one_user",
        "start_autossl_check_for_one_user_disabled.json",
    );
    let e = c.start_autossl_check_for_one_user("joao01").await.unwrap_err();
    assert!(!e.is_transient());
    assert_api(e, "start_autossl_check_for_one_user", "AutoSSL disabled");

    s.fixture(
        "start_autossl_check_for_one_user",
        "start_autossl_check_for_one_user_nofeature.json",
    );
    let e = c.start_autossl_check_for_one_user("joao01").await.unwrap_err();
    assert_api(
        e,
        "start_autossl_check_for_one_user",
        "does not have the AutoSSL feature",
    );
}
