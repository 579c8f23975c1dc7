//! Settings › Security (issue 10): enrolling 2FA from the console, on a real SQLite file with
//! registered master keys, and the screen at 80×24 and 120×40.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use backend::identity::totp;
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::settings::security::{SecurityScreen, Step};
use painel_ui::App;

fn security(app: &App) -> &SecurityScreen {
    app.screen_as()
        .unwrap_or_else(|| panic!("not on the security screen: {}", app.route().path()))
}

/// Signed in as `ana` (no 2FA yet) through the login screen, then `:security`.
async fn on_security() -> (App, backend::Db, tempfile::TempDir) {
    let (mut app, db, dir, _) = login_app(0).await;
    typ(&mut app, "ana");
    press(&mut app, KeyCode::Enter);
    typ(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(app.login.is_none(), "signed in");
    palette(&mut app, "security");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "settings/security");
    (app, db, dir)
}

#[tokio::test]
async fn enrols_and_enables_2fa_through_the_screen() {
    let (mut app, db, _dir) = on_security().await;
    assert_eq!(security(&app).status, Some(Ok(Some(false))));
    let off = screen_text(&render(&mut app, 120, 40));
    assert!(off.contains("Two-factor authentication: off"), "{off}");
    assert!(off.contains("e enrol 2FA"), "the hint bar offers enrolling:\n{off}");

    // A wrong password is refused on the form and typed again.
    ch(&mut app, 'e');
    assert!(matches!(security(&app).step, Step::Password { .. }));
    // The hint bar says what Enter does at each step, not "save".
    let hints = screen_text(&render(&mut app, 120, 40));
    assert!(
        hints.contains("enter continue") && !hints.contains("enter save"),
        "{hints}"
    );
    typ(&mut app, "not the password");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Step::Password { form, busy } = &security(&app).step else {
        panic!("still asking for the password")
    };
    assert!(!busy && form.error.is_some() && form.value("password").is_empty());

    typ(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Step::Scan { enrollment, qr, .. } = &security(&app).step else {
        panic!("shows the code to scan")
    };
    let (secret, qr) = (enrollment.secret.clone(), qr.clone());
    assert!(qr.len() >= 15, "a QR code was rendered");
    let scan = screen_text(&render(&mut app, 120, 40));
    assert!(scan.contains(&secret), "the secret is on screen:\n{scan}");
    assert!(scan.contains("enter turn on") && !scan.contains("enter save"), "{scan}");
    assert!(scan.contains(&qr[1]), "the QR code is on screen:\n{scan}");
    let small = screen_text(&render(&mut app, 80, 24));
    assert!(
        small.contains(&secret) && small.contains("too small for the"),
        "{small}"
    );

    // A wrong code keeps the step open with the error; the right one turns 2FA on.
    typ(&mut app, "12345");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Step::Scan { form, busy, .. } = &security(&app).step else {
        panic!("a wrong code keeps the code step")
    };
    assert!(!busy && (form.error.is_some() || form.error_of("code").is_some()));
    for _ in 0..5 {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, &totp::code_at(&secret, backend::db::now()).unwrap());
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let Step::Codes(codes) = &security(&app).step else {
        panic!("shows the recovery codes")
    };
    let codes = codes.clone();
    assert!(codes.len() >= 8, "{codes:?}");
    let shown = screen_text(&render(&mut app, 80, 24));
    assert!(shown.contains(&codes[0]), "{shown}");
    let user = backend::identity::get_user(&db, app.actor().user_id.unwrap())
        .await
        .unwrap();
    assert!(user.totp_enabled, "2FA is on in the database");

    // Closing forgets the codes and the status says on.
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert!(matches!(security(&app).step, Step::Idle));
    assert_eq!(security(&app).status, Some(Ok(Some(true))));
    let on = screen_text(&render(&mut app, 80, 24));
    assert!(on.contains("Two-factor authentication: on"), "{on}");
    assert!(!on.contains("enrol 2FA"), "nothing to enrol any more:\n{on}");
}

#[tokio::test]
async fn security_screen_snapshots() {
    let (mut app, _db, _dir) = on_security().await;
    assert_snapshot!("security_off_80x24", stable(&screen_text(&render(&mut app, 80, 24))));
    assert_snapshot!("security_off_120x40", stable(&screen_text(&render(&mut app, 120, 40))));
    // A fixed test secret: the snapshot does not change from run to run.
    let screen: &mut SecurityScreen = app.screen_as_mut().expect("security screen");
    screen.scanning(
        totp::Enrollment {
            username: "ana".into(),
            secret: "JBSWY3DPEHPK3PXP".into(),
            uri: "otpauth://totp/painel:ana?secret=JBSWY3DPEHPK3PXP&issuer=painel".into(),
        },
        String::new(),
    );
    assert_snapshot!("security_scan_80x24", stable(&screen_text(&render(&mut app, 80, 24))));
    assert_snapshot!("security_scan_120x40", stable(&screen_text(&render(&mut app, 120, 40))));
}
