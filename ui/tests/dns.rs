//! DNS screens (docs/adr/0031): the zones list, one zone's records with editing validated by
//! the service layer, and the failures feed that updates without a key press — at 80×24.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use backend::dns::records::RecordInput;
use backend::dns::zones::{self, NewZone};
use backend::{args, Db};
use common::*;
use crossterm::event::KeyCode;
use insta::assert_snapshot;
use painel_ui::screens::dns_ssl::failures::FailuresScreen;
use painel_ui::screens::dns_ssl::zone::ZoneScreen;
use painel_ui::screens::dns_ssl::zones::ZonesScreen;
use serde_json::json;

async fn world() -> (Db, tempfile::TempDir) {
    let (db, dir) = db_with(1).await;
    let a = actor();
    for name in ["loja.com.br", "parado.com.br", "ativo.com.br"] {
        zones::create(
            &db,
            &a,
            NewZone {
                name: name.into(),
                tenant: Some("acme-hosting".into()),
                registrar: None,
            },
        )
        .await
        .unwrap();
    }
    // What the sync job would have written: Cloudflare's nameservers.
    db.execute(
        "UPDATE dns_zones SET name_servers = $1, external_id = name",
        args![json!(["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"])],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE domains SET status = 'active', ns_verified_at = $1 WHERE name = 'ativo.com.br'",
        args![backend::db::now()],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE dns_zones SET status = 'active' WHERE name = 'ativo.com.br'",
        args![],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE domains SET ns_stalled_at = $1, last_error = 'nameservers not changed at the registrar' \
         WHERE name = 'parado.com.br'",
        args![backend::db::now()],
    )
    .await
    .unwrap();
    for (t, n, c, p) in [
        ("A", "@", "203.0.113.10", None),
        ("CNAME", "www", "loja.com.br", None),
        ("MX", "@", "mail.loja.com.br", Some(10)),
        ("TXT", "@", "v=spf1 mx -all", None),
    ] {
        zones::add_record(
            &db,
            &a,
            "loja.com.br",
            &RecordInput {
                record_type: t.into(),
                name: n.into(),
                content: c.into(),
                priority: p,
                ..RecordInput::default()
            },
        )
        .await
        .unwrap();
    }
    db.execute(
        "UPDATE dns_records SET sync_status = 'synced' WHERE record_type <> 'TXT'",
        args![],
    )
    .await
    .unwrap();
    (db, dir)
}

#[tokio::test]
async fn zones_list_and_a_zone_with_validated_editing_at_80x24() {
    let (db, _dir) = world().await;
    let mut app = app_on(&db, actor(), "dns-ssl/zones").await;
    let list: &ZonesScreen = app.screen_as().expect("zones screen");
    assert_eq!(list.rows().len(), 3);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("verified") && text.contains("stalled") && text.contains("waiting NS"),
        "{text}"
    );
    assert_snapshot!("dns_zones_80x24", stable(&text));

    // The list is by name: ativo, loja, parado.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    assert_eq!(app.route().path(), "dns-ssl/zones/loja.com.br");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("ada.ns.cloudflare.com") && text.contains("mail.loja.com.br"),
        "{text}"
    );
    assert_snapshot!("dns_zone_80x24", stable(&text));

    // An invalid A record: refused by the service layer, its field error under the input.
    ch(&mut app, 'c');
    typ(&mut app, "A blog 300.1.2.3");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let zone: &ZoneScreen = app.screen_as().expect("zone screen");
    assert!(
        zone.problem.as_deref().is_some_and(|p| p.starts_with("content:")),
        "{:?}",
        zone.problem
    );
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("must be an IPv4 address"), "{text}");
    assert_snapshot!("dns_zone_invalid_80x24", stable(&text));

    // Corrected, it is stored pending (a job pushes it) and the list shows it.
    for _ in 0.."300.1.2.3".len() {
        press(&mut app, KeyCode::Backspace);
    }
    typ(&mut app, "203.0.113.50");
    press(&mut app, KeyCode::Enter);
    app.settle().await;
    let zone: &ZoneScreen = app.screen_as().expect("zone screen");
    assert!(zone.editing.is_none(), "{:?}", zone.problem);
    assert!(zone
        .records
        .iter()
        .any(|r| r.name == "blog.loja.com.br" && r.sync_status == "pending"));
    let queued: i64 = db
        .scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'dns.zone.sync' AND status = 'queued'",
            args![],
        )
        .await
        .unwrap();
    assert_eq!(queued, 3, "one sync per zone, however many changes");
}

#[tokio::test]
async fn failures_update_without_a_key_press() {
    let (db, _dir) = world().await;
    let mut app = app_on(&db, actor(), "dns-ssl/failures").await;
    let f: &FailuresScreen = app.screen_as().expect("failures screen");
    assert_eq!(f.rows.as_ref().map(Vec::len), Some(1));
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(
        text.contains("parado.com.br") && text.contains("verification"),
        "{text}"
    );
    assert_snapshot!("dns_failures_80x24", stable(&text));

    // Cloudflare refuses a record meanwhile: the feed shows it on its own.
    db.execute(
        "UPDATE dns_records SET sync_status = 'error', last_error = 'Cloudflare create record failed (HTTP 400): 9005 Content for record is invalid.' WHERE record_type = 'TXT'",
        args![],
    )
    .await
    .unwrap();
    pump_until(&mut app, Duration::from_secs(15), |app| {
        app.screen_as::<FailuresScreen>()
            .and_then(|f| f.rows.as_ref())
            .is_some_and(|r| r.len() == 2)
    })
    .await;
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("record"), "{text}");
}
