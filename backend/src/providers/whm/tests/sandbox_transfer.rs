//! The Transfer Tool client against the simulator: a whole root session moving two accounts
//! (which then exist on the destination), refused credentials, a user session, stage
//! failures (temporary and critical) and an abort.

use std::time::Duration;

use sandbox::{AccountInit, FaultKind, FaultSpec, Package, Sandbox, WhmInit};

use crate::providers::whm::{
    parse_sha256_hex, NewTransferSession, Secret, SessionState, TlsPolicy, TransferAuth, TransferItem, WhmClient,
    WhmEndpoint, WhmError, MASTER_ERROR_LOG, MASTER_LOG,
};

const SRC: &str = "whm-old-01";
const DST: &str = "whm-gru-02";

async fn sandbox() -> Sandbox {
    let src = WhmInit::new("root", "SRCTOKEN")
        .package(Package::new("basic_1gb", Some(1024), None))
        .account(acct("joao01", "joaosilva.com.br"))
        .account(acct("maria02", "mariaflores.com.br"));
    Sandbox::builder()
        .seed(5)
        .transfer_pace(Duration::from_millis(15))
        .whm(SRC, src)
        .whm(DST, WhmInit::new("root", "DSTTOKEN"))
        .start()
        .await
        .unwrap()
}

fn acct(user: &str, domain: &str) -> AccountInit {
    AccountInit {
        user: user.into(),
        domain: domain.into(),
        plan: "basic_1gb".into(),
        email: None,
        suspended: None,
    }
}

fn dst(sb: &Sandbox) -> WhmClient {
    let pin = parse_sha256_hex(&sb.cert_sha256_hex()).unwrap();
    WhmClient::new(WhmEndpoint::new(sb.whm_url(DST).unwrap(), "root", "DSTTOKEN").with_tls(TlsPolicy::PinSha256(pin)))
        .unwrap()
}

fn root(sb: &Sandbox, host: String) -> NewTransferSession {
    NewTransferSession {
        host,
        ssh_port: None,
        auth: TransferAuth::Root {
            user: "root".into(),
            password: Secret::new(sb.source_password(SRC, "root")),
        },
    }
}

fn item(user: &str) -> TransferItem {
    TransferItem {
        user: user.into(),
        localuser: user.into(),
        size: 1 << 20,
    }
}

async fn wait_terminal(c: &WhmClient, id: &str) -> SessionState {
    for _ in 0..500 {
        let st = c.get_transfer_session_state(id).await.unwrap();
        if st.is_terminal() {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("session {id} never ended");
}

#[tokio::test]
async fn a_root_session_moves_accounts_to_the_destination() {
    let sb = sandbox().await;
    let c = dst(&sb);
    // The source by its URL, as an operator would paste it.
    let s = c
        .create_transfer_session(&root(&sb, sb.whm_url(SRC).unwrap()))
        .await
        .unwrap();
    let id = s.transfer_session_id;
    assert!(id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'), "{id}");
    for u in ["joao01", "maria02"] {
        c.enqueue_transfer_item(&id, "AccountRemoteRoot", &item(u))
            .await
            .unwrap();
    }
    assert_eq!(c.get_transfer_session_state(&id).await.unwrap(), SessionState::Pending);
    assert!(c.start_transfer_session(&id).await.unwrap().is_some());
    let e = c.start_transfer_session(&id).await.unwrap_err();
    assert!(matches!(e, WhmError::Api { .. }), "a second start is refused");
    assert_eq!(wait_terminal(&c, &id).await, SessionState::Completed);
    let log = c.fetch_transfer_session_log(&id, MASTER_LOG).await.unwrap();
    for needle in [
        "Transferring account joao01",
        "maria02: databases done",
        "joao01: ssl done",
        "Restored account maria02",
    ] {
        assert!(log.contains(needle), "{needle} in\n{log}");
    }
    assert_eq!(c.fetch_transfer_session_log(&id, MASTER_ERROR_LOG).await.unwrap(), "");
    let users: Vec<String> = sb.whm_accounts(DST).unwrap().into_iter().map(|a| a.user).collect();
    assert_eq!(users, vec!["joao01", "maria02"]);
    assert!(
        sb.whm_packages(DST).unwrap().iter().any(|p| p.name == "basic_1gb"),
        "the package came along"
    );
}

#[tokio::test]
async fn wrong_credentials_unknown_hosts_and_user_sessions() {
    let sb = sandbox().await;
    let c = dst(&sb);
    let mut bad = root(&sb, SRC.into());
    bad.auth = TransferAuth::Root {
        user: "root".into(),
        password: Secret::new("wrong"),
    };
    let e = c.create_transfer_session(&bad).await.unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("credential check failed")),
        "{e:?}"
    );
    let e = c
        .create_transfer_session(&root(&sb, "nowhere.example".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("unable to resolve")),
        "{e:?}"
    );
    // A cPanel user's own password opens a session for that account only.
    let pw = Secret::new(sb.source_password(SRC, "maria02"));
    let s = c.create_remote_user_transfer_session(SRC, "maria02", pw).await.unwrap();
    let e = c
        .enqueue_transfer_item(&s.transfer_session_id, "AccountRemoteUser", &item("joao01"))
        .await
        .unwrap_err();
    assert!(matches!(e, WhmError::Api { .. }));
    c.enqueue_transfer_item(&s.transfer_session_id, "AccountRemoteUser", &item("maria02"))
        .await
        .unwrap();
    c.start_transfer_session(&s.transfer_session_id).await.unwrap();
    assert_eq!(wait_terminal(&c, &s.transfer_session_id).await, SessionState::Completed);
    assert_eq!(sb.whm_accounts(DST).unwrap().len(), 1);
}

#[tokio::test]
async fn stage_faults_fail_the_session_with_a_logged_reason_and_abort_stops_it() {
    let sb = sandbox().await;
    let c = dst(&sb);
    sb.set_fault(
        DST,
        "transfer:databases",
        FaultSpec::times(
            FaultKind::Envelope {
                reason: "MySQL dump is corrupt".into(),
            },
            1,
        ),
    )
    .unwrap();
    sb.set_fault(DST, "transfer:files", FaultSpec::times(FaultKind::Drop, 1))
        .unwrap();
    let id = c
        .create_transfer_session(&root(&sb, SRC.into()))
        .await
        .unwrap()
        .transfer_session_id;
    c.enqueue_transfer_item(&id, "AccountRemoteRoot", &item("joao01"))
        .await
        .unwrap();
    c.start_transfer_session(&id).await.unwrap();
    assert_eq!(wait_terminal(&c, &id).await, SessionState::Failed);
    let errors = c.fetch_transfer_session_log(&id, MASTER_ERROR_LOG).await.unwrap();
    assert!(
        errors.contains("joao01: databases failed (critical): MySQL dump is corrupt"),
        "{errors}"
    );
    assert!(
        sb.whm_accounts(DST).unwrap().is_empty(),
        "a failed account is not restored"
    );
    // The next session meets the temporary fault on files.
    let id = c
        .create_transfer_session(&root(&sb, SRC.into()))
        .await
        .unwrap()
        .transfer_session_id;
    c.enqueue_transfer_item(&id, "AccountRemoteRoot", &item("joao01"))
        .await
        .unwrap();
    c.start_transfer_session(&id).await.unwrap();
    assert_eq!(wait_terminal(&c, &id).await, SessionState::Failed);
    let errors = c.fetch_transfer_session_log(&id, MASTER_ERROR_LOG).await.unwrap();
    assert!(errors.contains("files failed (temporary)"), "{errors}");
    // Faults spent: an abort while running ends ABORTED, no account restored.
    let id = c
        .create_transfer_session(&root(&sb, SRC.into()))
        .await
        .unwrap()
        .transfer_session_id;
    c.enqueue_transfer_item(&id, "AccountRemoteRoot", &item("maria02"))
        .await
        .unwrap();
    c.start_transfer_session(&id).await.unwrap();
    c.abort_transfer_session(&id).await.unwrap();
    assert_eq!(wait_terminal(&c, &id).await, SessionState::Aborted);
    assert!(sb.whm_accounts(DST).unwrap().is_empty());
    let e = c.abort_transfer_session(&id).await.unwrap_err();
    assert!(
        matches!(&e, WhmError::Api { reason, .. } if reason.contains("abort")),
        "{e:?}"
    );
}
