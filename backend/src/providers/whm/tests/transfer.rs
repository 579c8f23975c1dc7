//! The Transfer Tool calls against the bodies of whm.md's Transfer Tool section: what is
//! sent (POST for passwords, `unrestricted_restore=1`, the session id) and what is read.

use super::server::{FixtureServer, TOKEN};
use crate::providers::whm::{
    NewTransferSession, Secret, SessionState, TransferAuth, TransferItem, WhmError, MASTER_LOG,
};

const PASSWORD: &str = "R00t&Senha=9";

fn has(q: &str, pair: &str) -> bool {
    q.split('&').any(|p| p == pair)
}

#[tokio::test]
async fn root_session_posts_the_password_and_reads_the_id() {
    let s = FixtureServer::start().await;
    s.fixture(
        "create_remote_root_transfer_session",
        "create_remote_root_transfer_session_ok.json",
    );
    let c = s.client();
    let created = c
        .create_transfer_session(&NewTransferSession {
            host: "src.example.com.br".into(),
            ssh_port: Some(2222),
            auth: TransferAuth::Root {
                user: "root".into(),
                password: Secret::new(PASSWORD),
            },
        })
        .await
        .unwrap();
    assert_eq!(created.transfer_session_id, "srcexamplecombrcopya20240305101522Ab3x");
    assert!(created.create_rawout.unwrap().contains("WHM110"));
    let seen = &s.seen()[0];
    assert_eq!(seen.method, "POST");
    assert!(has(&seen.query, "api.version=1"));
    assert!(!seen.query.contains("R00t"), "the password never goes in the URL");
    assert!(seen.body.contains("password=R00t%26Senha%3D9"), "{}", seen.body);
    for pair in [
        "host=src.example.com.br",
        "port=2222",
        "user=root",
        "unrestricted_restore=1",
    ] {
        assert!(has(&seen.body, pair), "{pair} in {}", seen.body);
    }
    assert_eq!(seen.auth, format!("whm root:{TOKEN}"));
}

#[tokio::test]
async fn a_refused_credential_is_permanent_and_never_echoes_the_password() {
    let s = FixtureServer::start().await;
    // A server echoing the password in its reason must not leak it into our logs.
    let body = format!(
        r#"{{"metadata":{{"command":"create_remote_root_transfer_session","reason":"The remote basic credential check failed for password {PASSWORD}.","result":0,"version":1}}}}"#
    );
    s.answer("create_remote_root_transfer_session", 200, body);
    let c = s.client();
    let e = c
        .create_remote_root_transfer_session("src.example.com.br", "root", Secret::new(PASSWORD))
        .await
        .unwrap_err();
    assert!(!e.to_string().contains(PASSWORD), "{e}");
    assert!(!e.is_transient());
    s.fixture(
        "create_remote_root_transfer_session",
        "create_remote_root_transfer_session_error.json",
    );
    let e = c
        .create_remote_root_transfer_session("src.example.com.br", "root", Secret::new(PASSWORD))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("credential check failed")),
        "{e:?}"
    );
}

#[tokio::test]
async fn user_session_uses_the_user_function() {
    let s = FixtureServer::start().await;
    s.fixture(
        "create_remote_user_transfer_session",
        "create_remote_user_transfer_session_ok.json",
    );
    let c = s.client();
    let created = c
        .create_remote_user_transfer_session("src.example.com.br", "joao01", Secret::new(PASSWORD))
        .await
        .unwrap();
    assert_eq!(created.transfer_session_id, "vm5docscpanelnoroo201402251939519hmy");
    let seen = &s.seen()[0];
    assert_eq!(seen.command, "create_remote_user_transfer_session");
    assert!(has(&seen.body, "user=joao01") && has(&seen.body, "unrestricted_restore=1"));
    assert!(!seen.body.contains("port="), "user sessions take no SSH port");
}

#[tokio::test]
async fn enqueue_start_state_log_abort() {
    let s = FixtureServer::start().await;
    for (f, file) in [
        ("enqueue_transfer_item", "enqueue_transfer_item_ok.json"),
        ("start_transfer_session", "start_transfer_session_ok.json"),
        ("get_transfer_session_state", "get_transfer_session_state_ok.json"),
        ("fetch_transfer_session_log", "fetch_transfer_session_log_ok.json"),
        ("abort_transfer_session", "abort_transfer_session_ok.json"),
    ] {
        s.fixture(f, file);
    }
    let c = s.client();
    let id = "srcexamplecombrcopya20240305101522Ab3x";
    let item = TransferItem {
        user: "joao01".into(),
        localuser: "joao01".into(),
        size: 0,
    };
    c.enqueue_transfer_item(id, "AccountRemoteRoot", &item).await.unwrap();
    let seen = s.seen().pop().unwrap();
    for pair in [
        format!("transfer_session_id={id}"),
        "module=AccountRemoteRoot".into(),
        "user=joao01".into(),
        "localuser=joao01".into(),
        "size=1".into(),
    ] {
        assert!(has(&seen.body, &pair), "{pair} in {}", seen.body);
    }
    assert_eq!(c.start_transfer_session(id).await.unwrap().as_deref(), Some("23810"));
    let st = c.get_transfer_session_state(id).await.unwrap();
    assert_eq!(st, SessionState::Running);
    assert!(!st.is_terminal());
    let log = c.fetch_transfer_session_log(id, MASTER_LOG).await.unwrap();
    assert!(log.contains("Transferring account joao01"));
    assert!(has(&s.seen().pop().unwrap().query, "logfile=master.log"));
    c.abort_transfer_session(id).await.unwrap();
    s.fixture("abort_transfer_session", "abort_transfer_session_error.json");
    let e = c.abort_transfer_session(id).await.unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("abort")),
        "{e:?}"
    );
    s.fixture("enqueue_transfer_item", "enqueue_transfer_item_error.json");
    let e = c
        .enqueue_transfer_item(id, "AccountRemoteRooot", &item)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("does not exist")),
        "{e:?}"
    );
    // A per-item queue name is not a terminal session state: keep polling.
    s.fixture(
        "get_transfer_session_state",
        "get_transfer_session_state_item_name.json",
    );
    let st = c.get_transfer_session_state(id).await.unwrap();
    assert_eq!(st, SessionState::Other("TRANSFER_INPROGRESS".into()));
    assert!(!st.is_terminal());
    for (name, terminal) in [
        ("COMPLETED", true),
        ("aborted", true),
        ("FAILED", true),
        ("PAUSED", false),
    ] {
        assert_eq!(SessionState::parse(name).is_terminal(), terminal, "{name}");
    }
    // A session id with characters WHM never uses is refused before anything is sent.
    let before = s.seen().len();
    assert!(matches!(
        c.get_transfer_session_state("a&b=c").await,
        Err(WhmError::Config(_))
    ));
    assert_eq!(s.seen().len(), before);
}
