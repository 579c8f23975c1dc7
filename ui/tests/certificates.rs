//! dns-ssl/certificates at 80×24: sorted by days left (nothing read first), red/yellow by
//! the thresholds, the detail view, and `r` going through the service layer (refused here:
//! the certificate has no cPanel account).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use backend::{args, Db};
use chrono::{TimeDelta, Utc};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::dns_ssl::certificates::CertificatesScreen;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use widgets::{Theme, Tone};

async fn cert(db: &Db, tenant: uuid::Uuid, domain: &str, days: Option<i64>, state: &str, error: Option<&str>) {
    let not_after = days.map(|d| Utc::now() + TimeDelta::days(d) + TimeDelta::hours(12));
    let issuer = days.map(|_| "Sectigo RSA Domain Validation Secure Server CA");
    db.execute(
        "INSERT INTO certificates (id, tenant_id, common_name, san, issuer, status, check_status, not_after, last_error) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8)",
        args![
            uuid::Uuid::now_v7(),
            tenant,
            domain,
            serde_json::json!([domain]),
            issuer,
            state,
            not_after,
            error
        ],
    )
    .await
    .expect("certificate");
}

/// The colour of `cell` on the line showing `row`.
fn fg_of(t: &Terminal<TestBackend>, row: &str, cell: &str) -> Option<ratatui::style::Color> {
    let buf = t.backend().buffer();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if !line.contains(row) {
            continue;
        }
        if let Some(col) = line.find(cell) {
            let x = line[..col].chars().count() as u16;
            return buf[(x, y)].fg.into();
        }
    }
    None
}

#[tokio::test]
async fn certificates_sorted_by_days_left_with_colours_and_a_detail_view() {
    let (db, _dir) = db_with(1).await;
    let tenant: uuid::Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    cert(&db, tenant, "longe.com.br", Some(60), "valid", None).await;
    cert(&db, tenant, "amarelo.com.br", Some(12), "expiring", None).await;
    cert(&db, tenant, "vermelho.com.br", Some(5), "expiring", None).await;
    cert(
        &db,
        tenant,
        "vencido.com.br",
        Some(-2),
        "expired",
        Some("expired 2026-01-01 00:00 UTC"),
    )
    .await;
    cert(
        &db,
        tenant,
        "semcert.com.br",
        None,
        "missing",
        Some("TLS handshake failed: received fatal alert: HandshakeFailure"),
    )
    .await;

    let mut app = app_on(&db, actor(), "dns-ssl/certificates").await;
    let screen = app.screen_as::<CertificatesScreen>().expect("certificates screen");
    let order: Vec<&str> = screen.rows().iter().map(|c| c.domain.as_str()).collect();
    assert_eq!(
        order,
        [
            "semcert.com.br",
            "vencido.com.br",
            "vermelho.com.br",
            "amarelo.com.br",
            "longe.com.br"
        ]
    );
    let t = render(&mut app, 80, 24);
    let text = screen_text(&t);
    assert_snapshot!("certificates_80x24", stable(&text));
    let theme = Theme::dark();
    let red = theme.tone(Tone::Error).fg;
    let yellow = theme.tone(Tone::Warning).fg;
    let green = theme.tone(Tone::Success).fg;
    assert_ne!(red, yellow);
    // The selected row (the first) wears the highlight: judge the others.
    assert_eq!(fg_of(&t, "vencido", "expired"), red, "{text}");
    assert_eq!(fg_of(&t, "longe", "valid"), green);
    // 5 days left is red, 12 is yellow, whatever the state word says.
    assert_eq!(fg_of(&t, "vermelho", "expiring"), red);
    assert_eq!(fg_of(&t, "amarelo", "expiring"), yellow);
    ch(&mut app, 'G');
    app.settle().await;
    let t = render(&mut app, 80, 24);
    assert_eq!(fg_of(&t, "semcert", "missing"), red);
    ch(&mut app, 'g');
    ch(&mut app, 'g');
    app.settle().await;

    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Certificate semcert.com.br"), "{text}");
    assert!(text.contains("HandshakeFailure"), "{text}");
    assert_snapshot!("certificate_detail_80x24", stable(&text));

    ch(&mut app, 'r');
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("has no"), "{text}");

    press(&mut app, KeyCode::Esc);
    app.settle().await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("by days left"), "{text}");
}

/// dns-ssl/failures: an expiring certificate says its days left once ("expires in 3
/// day(s)", not "… (3 days left)"), the selected row is shown whole below the list, and
/// Enter on a certificate row opens the inventory on it.
#[tokio::test]
async fn failures_say_days_left_once_and_open_the_certificate() {
    use painel_ui::screens::dns_ssl::failures::FailuresScreen;
    let (db, _dir) = db_with(1).await;
    let tenant: uuid::Uuid = db.scalar("SELECT id FROM tenants", args![]).await.expect("tenant");
    cert(&db, tenant, "vermelho.com.br", Some(3), "expiring", None).await;
    let mut app = app_on(&db, actor(), "dns-ssl/failures").await;
    let rows = app
        .screen_as::<FailuresScreen>()
        .expect("failures")
        .rows
        .clone()
        .unwrap_or_default();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].detail, "expires in 3 day(s)");
    for (w, h) in [(80, 24), (120, 40)] {
        let text = screen_text(&render(&mut app, w, h));
        assert!(text.contains("expires in 3 day(s)"), "{text}");
        assert!(!text.contains("days left"), "said twice:\n{text}");
        assert!(text.contains("ssl expiring ·"), "the selected row below:\n{text}");
        assert_snapshot!(format!("failures_certificate_{w}x{h}"), stable(&text));
    }
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "dns-ssl/certificates");
    let screen = app.screen_as::<CertificatesScreen>().expect("certificates screen");
    let shown: Vec<&str> = screen.rows().iter().map(|c| c.domain.as_str()).collect();
    assert_eq!(shown, ["vermelho.com.br"]);
}
