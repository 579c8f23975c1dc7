use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::common::*;

#[tokio::test]
async fn version_and_envelope() {
    let sb = start(1).await;
    let v = call(&sb, "version", &[]).await;
    assert_eq!(v["data"]["version"], "11.118.0.15");
    assert_eq!(v["metadata"]["command"], "version");
    assert_eq!(v["metadata"]["version"], 1);
    assert_eq!(result(&v), 1);
    assert_eq!(reason(&v), "OK");
    let unknown = call(&sb, "no_such_function", &[]).await;
    assert_eq!(result(&unknown), 0);
    assert!(reason(&unknown).contains("Unknown app"));
}

#[tokio::test]
async fn createacct_rules_and_state() {
    let sb = start(1).await;
    let v = call(
        &sb,
        "createacct",
        &[
            ("username", "pedro"),
            ("domain", "pedro.com.br"),
            ("plan", "basic_1gb"),
            ("contactemail", "p@example.com"),
        ],
    )
    .await;
    assert_eq!(result(&v), 1, "{v}");
    assert_eq!(reason(&v), "Account Creation Ok");
    assert_eq!(v["data"]["package"], "basic_1gb");
    assert!(v["metadata"]["output"]["raw"].as_str().unwrap().contains("pedro"));
    let accounts = sb.whm_accounts(GRU).unwrap();
    let pedro = accounts.iter().find(|a| a.user == "pedro").unwrap();
    assert_eq!(
        (pedro.domain.as_str(), pedro.plan.as_str(), pedro.email.as_str()),
        ("pedro.com.br", "basic_1gb", "p@example.com")
    );
    assert!(!pedro.suspended);

    let v = call(
        &sb,
        "createacct",
        &[("username", "carolinasouza"), ("domain", "carol.com.br")],
    )
    .await;
    assert_eq!(result(&v), 1, "{v}");
    let refusals: [(&[(&str, &str)], &str); 9] = [
        (&[("username", "Pedro2"), ("domain", "x1.com")], "invalid"),
        (&[("username", "2pedro"), ("domain", "x2.com")], "invalid"),
        (&[("username", "testuser"), ("domain", "x3.com")], "test"),
        (&[("username", "abcdefghijklmnopq"), ("domain", "x4.com")], "too long"),
        (&[("username", "pedro"), ("domain", "x5.com")], "already exists"),
        (&[("username", "carolinax"), ("domain", "x6.com")], "first 8"),
        (&[("username", "ana"), ("domain", "pedro.com.br")], "already exists"),
        (
            &[("username", "ana"), ("domain", "x7.com"), ("plan", "nope")],
            "does not exist",
        ),
        (
            &[("username", "ana"), ("domain", "x8.com"), ("password", "short")],
            "too weak",
        ),
    ];
    for (params, expect) in refusals {
        let v = call(&sb, "createacct", params).await;
        assert_eq!(result(&v), 0, "{params:?}");
        assert!(reason(&v).contains(expect), "{params:?}: {}", reason(&v));
    }
    assert_eq!(
        sb.whm_accounts(GRU).unwrap().len(),
        4,
        "no refused call created anything"
    );
    // Without a plan the `default` package is used.
    let v = call(&sb, "createacct", &[("username", "ana"), ("domain", "ana.com.br")]).await;
    assert_eq!(v["data"]["package"], "default");
}

#[tokio::test]
async fn capacity_is_real() {
    let sb = painel_sandbox::Sandbox::builder()
        .seed(5)
        .whm(GRU, painel_sandbox::WhmInit::new("root", TOKEN).limits(2, 100_000))
        .start()
        .await
        .unwrap();
    let base = sb.whm_state(GRU).unwrap().disk_used_mb;
    assert!(base > 0, "the system uses some disk");
    call(&sb, "createacct", &[("username", "a1"), ("domain", "a1.com")]).await;
    let one = sb.whm_state(GRU).unwrap().disk_used_mb;
    assert!(one > base, "disk grows with an account");
    call(&sb, "createacct", &[("username", "b1"), ("domain", "b1.com")]).await;
    let v = call(&sb, "createacct", &[("username", "c1"), ("domain", "c1.com")]).await;
    assert_eq!(result(&v), 0);
    assert!(reason(&v).contains("limit of 2 accounts"));
    // Capacity changed at run time: room for one more, then full again.
    let limits = painel_sandbox::WhmLimits {
        max_accounts: 3,
        disk_total_mb: 100_000,
    };
    sb.set_whm_limits(GRU, limits).unwrap();
    let v = call(&sb, "createacct", &[("username", "c1"), ("domain", "c1.com")]).await;
    assert_eq!(result(&v), 1, "{v}");
    let v = call(&sb, "createacct", &[("username", "d1"), ("domain", "d1.com")]).await;
    assert!(reason(&v).contains("limit of 3 accounts"), "{v}");
    assert!(sb.set_whm_limits("whm-nowhere", limits).is_err());
    let d = call(&sb, "getdiskusage", &[]).await;
    let p = &d["data"]["partition"][0];
    assert_eq!(p["total"].as_u64().unwrap(), 100_000 * 1024);
    assert_eq!(
        p["used"].as_u64().unwrap(),
        sb.whm_state(GRU).unwrap().disk_used_mb * 1024
    );
    assert_eq!(reason(&d), "Successfully retrieved disk usage");

    let full = painel_sandbox::Sandbox::builder()
        .whm(GRU, painel_sandbox::WhmInit::new("root", TOKEN).limits(10, 1))
        .start()
        .await
        .unwrap();
    let v = call(&full, "createacct", &[("username", "a1"), ("domain", "a1.com")]).await;
    assert!(reason(&v).contains("disk"), "{v}");
}

#[tokio::test]
async fn suspend_unsuspend_change_remove() {
    let sb = start(1).await;
    let v = call(&sb, "suspendacct", &[("user", "joao01"), ("reason", "Nonpayment")]).await;
    assert_eq!(result(&v), 1, "{v}");
    let joao = |sb: &painel_sandbox::Sandbox| sb.whm_accounts(GRU).unwrap().into_iter().find(|a| a.user == "joao01");
    let a = joao(&sb).unwrap();
    assert!(a.suspended);
    assert_eq!(a.suspend_reason.as_deref(), Some("Nonpayment"));
    let again = call(&sb, "suspendacct", &[("user", "joao01"), ("reason", "x")]).await;
    assert_eq!(result(&again), 0, "already suspended answers result 0 (documented)");
    let v = call(&sb, "unsuspendacct", &[("user", "joao01")]).await;
    assert_eq!(result(&v), 1);
    assert!(v.get("data").is_none(), "unsuspendacct has no data");
    assert!(!joao(&sb).unwrap().suspended);
    let v = call(&sb, "changepackage", &[("user", "joao01"), ("pkg", "pro_10gb")]).await;
    assert_eq!(result(&v), 1, "{v}");
    assert_eq!(joao(&sb).unwrap().plan, "pro_10gb");
    let v = call(&sb, "changepackage", &[("user", "joao01"), ("pkg", "gone")]).await;
    assert_eq!(result(&v), 0);
    assert_eq!(joao(&sb).unwrap().plan, "pro_10gb");
    let v = call(&sb, "changepackage", &[("user", "nobody"), ("pkg", "pro_10gb")]).await;
    assert!(reason(&v).contains("does not exist"));
    let v = call(&sb, "removeacct", &[("username", "joao01")]).await;
    assert_eq!(result(&v), 1);
    assert!(joao(&sb).is_none());
    let v = call(&sb, "removeacct", &[("user", "joao01")]).await;
    assert_eq!(result(&v), 0);
    assert!(reason(&v).contains("does not exist"));
    let v = call(&sb, "suspendacct", &[("user", "joao01")]).await;
    assert!(reason(&v).contains("does not exist"));
}

#[tokio::test]
async fn listaccts_search_and_accountsummary() {
    let sb = start(1).await;
    let all = call(&sb, "listaccts", &[]).await;
    let accts = all["data"]["acct"].as_array().unwrap();
    assert_eq!(accts.len(), 2);
    let joao = accts.iter().find(|a| a["user"] == "joao01").unwrap();
    assert_eq!(joao["domain"], "joaosilva.com.br");
    assert_eq!(joao["plan"], "basic_1gb");
    assert_eq!(joao["disklimit"], "1024M");
    assert!(joao["diskused"].as_str().unwrap().ends_with('M'));
    assert_eq!(joao["suspended"], 0);
    assert_eq!(joao["suspendreason"], "not suspended");
    assert!(joao["suspendtime"].is_null());
    let maria = accts.iter().find(|a| a["user"] == "maria").unwrap();
    assert_eq!(maria["suspended"], 1);
    assert_eq!(maria["suspendreason"], "Nonpayment");
    assert!(maria["suspendtime"].is_i64());

    let one = call(
        &sb,
        "listaccts",
        &[
            ("searchtype", "user"),
            ("search", "^joao01$"),
            ("searchmethod", "regex"),
        ],
    )
    .await;
    assert_eq!(one["data"]["acct"].as_array().unwrap().len(), 1);
    let none = call(&sb, "listaccts", &[("searchtype", "user"), ("search", "^joao$")]).await;
    assert!(none["data"]["acct"].as_array().unwrap().is_empty());
    let exact = call(
        &sb,
        "listaccts",
        &[
            ("searchtype", "domain"),
            ("search", "maria.com.br"),
            ("searchmethod", "exact"),
        ],
    )
    .await;
    assert_eq!(exact["data"]["acct"][0]["user"], "maria");
    let by_pkg = call(&sb, "listaccts", &[("searchtype", "package"), ("search", "pro")]).await;
    assert_eq!(by_pkg["data"]["acct"][0]["user"], "maria");
    let want = call(&sb, "listaccts", &[("want", "user,suspended")]).await;
    let keys: Vec<&String> = want["data"]["acct"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["suspended", "user"]);
    let bad = call(&sb, "listaccts", &[("searchtype", "color"), ("search", "x")]).await;
    assert_eq!(result(&bad), 0);

    let s = call(&sb, "accountsummary", &[("user", "joao01")]).await;
    assert_eq!(s["data"]["acct"].as_array().unwrap().len(), 1);
    assert_eq!(s["data"]["acct"][0]["domain"], "joaosilva.com.br");
    let s = call(&sb, "accountsummary", &[("domain", "maria.com.br")]).await;
    assert_eq!(s["data"]["acct"][0]["user"], "maria");
    let missing = call(&sb, "accountsummary", &[("user", "ghost")]).await;
    assert_eq!(result(&missing), 0);
    assert_eq!(reason(&missing), "Account does not exist.");
    assert!(missing.get("data").is_none());
}

#[tokio::test]
async fn packages() {
    let sb = start(1).await;
    let v = call(&sb, "listpkgs", &[]).await;
    let names: Vec<&str> = v["data"]["pkg"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["basic_1gb", "default", "pro_10gb"]);
    assert_eq!(v["data"]["pkg"][0]["QUOTA"], "1024");
    let v = call(
        &sb,
        "addpkg",
        &[
            ("name", "gold"),
            ("quota", "2048"),
            ("bwlimit", "unlimited"),
            ("maxpop", "10"),
            ("cgi", "0"),
        ],
    )
    .await;
    assert_eq!(result(&v), 1, "{v}");
    let dup = call(&sb, "addpkg", &[("name", "gold")]).await;
    assert!(reason(&dup).contains("already exists"));
    let bad = call(&sb, "addpkg", &[("name", "silver"), ("quota", "lots")]).await;
    assert_eq!(result(&bad), 0);
    let v = call(&sb, "editpkg", &[("name", "gold"), ("quota", "4096")]).await;
    assert_eq!(result(&v), 1);
    let info = call(&sb, "getpkginfo", &[("pkg", "gold")]).await;
    assert_eq!(info["data"]["pkg"]["QUOTA"], "4096");
    assert_eq!(info["data"]["pkg"]["MAXPOP"], "10");
    assert_eq!(info["data"]["pkg"]["CGI"], "n");
    assert!(info["data"]["pkg"].get("name").is_none());
    let gold = sb
        .whm_packages(GRU)
        .unwrap()
        .into_iter()
        .find(|p| p.name == "gold")
        .unwrap();
    assert_eq!(gold.quota_mb(), Some(4096));
    assert_eq!(gold.bwlimit_mb(), None);
    let missing = call(&sb, "editpkg", &[("name", "nope")]).await;
    assert!(reason(&missing).contains("does not exist"));
    let missing = call(&sb, "getpkginfo", &[("pkg", "nope")]).await;
    assert_eq!(result(&missing), 0);
}

#[tokio::test]
async fn load_disk_and_bandwidth() {
    let sb = start(1).await;
    let v = call(&sb, "systemloadavg", &[]).await;
    for k in ["one", "five", "fifteen"] {
        let x: f64 = v["data"][k].as_str().unwrap().parse().unwrap();
        assert!(x > 0.0 && x < 5.0, "{k} = {x}");
    }
    let d = call(&sb, "get_disk_usage", &[]).await;
    let accts = d["data"]["accounts"].as_array().unwrap();
    assert_eq!(accts.len(), 2);
    let state = sb.whm_state(GRU).unwrap();
    let joao = state.accounts.iter().find(|a| a.user == "joao01").unwrap();
    let j = accts.iter().find(|a| a["user"] == "joao01").unwrap();
    assert_eq!(j["blocks_used"].as_u64().unwrap(), joao.disk_used_mb * 1024);
    assert_eq!(j["blocks_limit"].as_u64().unwrap(), 1024 * 1024);
    assert!(joao.disk_used_mb <= 1024 * 6 / 10, "usage stays within the quota");
    let filtered = call(
        &sb,
        "get_disk_usage",
        &[
            ("api.filter.enable", "1"),
            ("api.filter.a.field", "user"),
            ("api.filter.a.arg0", "maria"),
            ("api.filter.a.type", "eq"),
        ],
    )
    .await;
    assert_eq!(filtered["data"]["accounts"].as_array().unwrap().len(), 1);
    let bw = call(&sb, "showbw", &[]).await;
    let rows = bw["data"]["acct"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let total: u64 = rows
        .iter()
        .map(|r| r["totalbytes"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(bw["data"]["totalused"].as_u64().unwrap(), total);
    assert!(bw["data"]["year"].as_i64().unwrap() >= 2024);
}

#[tokio::test]
async fn auth_failure_is_403_with_the_legacy_body() {
    let sb = start(1).await;
    let c = client(Duration::from_secs(5));
    for auth in [
        Some("whm root:WRONG"),
        Some("whm reseller1:OTHERTOKEN"),
        Some("Basic cm9vdDpwdw=="),
        None,
    ] {
        let mut req = c.get(url(
            &sb,
            GRU,
            "createacct",
            &[("username", "evil"), ("domain", "evil.com")],
        ));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{auth:?}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["cpanelresult"]["error"], "Access denied");
        assert_eq!(v["cpanelresult"]["data"]["result"], "0");
        assert!(v.get("metadata").is_none());
    }
    assert!(sb.whm_accounts(GRU).unwrap().iter().all(|a| a.user != "evil"));
    // Each server has its own credentials.
    let r = send(&c, &sb, FRA, "version", &[]).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn without_api_version_the_answer_is_api0() {
    let sb = start(1).await;
    let c = client(Duration::from_secs(5));
    let u = format!("{}/json-api/listaccts", sb.whm_url(GRU).unwrap());
    let r = c
        .get(&u)
        .header("Authorization", format!("whm root:{TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v.get("metadata").is_none(), "{v}");
    assert_eq!(v["result"][0]["status"], 1);
    assert!(v["result"][0]["statusmsg"].is_string());
    let u = format!(
        "{}/json-api/accountsummary?api.version=0&user=ghost",
        sb.whm_url(GRU).unwrap()
    );
    let v: serde_json::Value = c
        .get(&u)
        .header("Authorization", format!("whm root:{TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"][0]["status"], 0);
}

#[tokio::test]
async fn post_form_bodies_are_accepted() {
    let sb = start(1).await;
    let c = client(Duration::from_secs(5));
    let u = format!("{}/json-api/createacct?api.version=1", sb.whm_url(GRU).unwrap());
    let r = c
        .post(&u)
        .header("Authorization", format!("whm root:{TOKEN}"))
        .form(&[
            ("username", "formuser"),
            ("domain", "form.com.br"),
            ("password", "a long password"),
        ])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(result(&v), 1, "{v}");
    assert!(sb.whm_accounts(GRU).unwrap().iter().any(|a| a.user == "formuser"));
}

#[tokio::test]
async fn tls_fingerprint_is_the_served_certificate_and_plain_http_works() {
    let sb = start(1).await;
    assert!(sb.whm_url(GRU).unwrap().starts_with("https://127.0.0.1:"));
    assert_ne!(sb.whm_url(GRU), sb.whm_url(FRA), "one port per server");
    assert!(sb.whm_url("whm-nowhere").is_none());
    let c = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .unwrap();
    let r = send(&c, &sb, GRU, "version", &[]).await.unwrap();
    let info = r.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    let der = info.peer_certificate().unwrap();
    assert_eq!(hex::encode(Sha256::digest(der)), sb.cert_sha256_hex());
    assert_eq!(der, sb.cert_der());
    assert_eq!(sb.cert_sha256_hex().len(), 64);
    // A client that verifies certificates refuses the self-signed one.
    let strict = reqwest::Client::builder().build().unwrap();
    assert!(send(&strict, &sb, GRU, "version", &[]).await.is_err());
    let other = start(1).await;
    assert_ne!(
        other.cert_sha256_hex(),
        sb.cert_sha256_hex(),
        "a fresh certificate per start"
    );

    let plain = painel_sandbox::Sandbox::builder()
        .plain_http(true)
        .whm(GRU, init())
        .start()
        .await
        .unwrap();
    assert!(plain.whm_url(GRU).unwrap().starts_with("http://127.0.0.1:"));
    let r = send(&reqwest::Client::new(), &plain, GRU, "version", &[])
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bad_setup_is_refused() {
    let bad_plan = painel_sandbox::WhmInit::new("root", TOKEN).account(painel_sandbox::AccountInit {
        user: "x1".into(),
        domain: "x1.com".into(),
        plan: "missing".into(),
        email: None,
        suspended: None,
    });
    assert!(painel_sandbox::Sandbox::builder()
        .whm(GRU, bad_plan)
        .start()
        .await
        .is_err());
    let dup = painel_sandbox::Sandbox::builder()
        .whm(GRU, init())
        .whm(GRU, init())
        .start()
        .await;
    assert!(dup.is_err());
    assert!(painel_sandbox::Sandbox::builder()
        .whm("Bad Name", init())
        .start()
        .await
        .is_err());
}
