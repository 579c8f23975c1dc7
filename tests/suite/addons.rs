//! The add-ons catalogue: create and edit, validated, audited, tenant-scoped.

use backend::hosting::addons::{self, AddonInput};
use backend::hosting::plans;
use backend::{args, Actor, Role, ServiceError};

use crate::common::{fresh, new_tenant, operator};

fn ssl(tenant: &str) -> AddonInput {
    AddonInput {
        tenant: tenant.into(),
        code: "ssl-wildcard".into(),
        name: "SSL curinga".into(),
        kind: "ssl".into(),
        price: "49.90".into(),
        ..AddonInput::default()
    }
}

#[tokio::test]
async fn addons_are_created_edited_audited_and_scoped() {
    let t = fresh().await;
    let a = backend::tenants::create(&t.db, &operator(), new_tenant("Acme Hosting", "acme.com.br"))
        .await
        .unwrap();
    let b = backend::tenants::create(&t.db, &operator(), new_tenant("Beta Net", "beta.com.br"))
        .await
        .unwrap();

    // Bad input: every bad field named, nothing written.
    let bad = AddonInput {
        kind: "lottery".into(),
        price: "-3".into(),
        code: "Not A Slug".into(),
        ..ssl(&a.slug)
    };
    match addons::create(&t.db, &operator(), bad).await {
        Err(ServiceError::Validation(f)) => {
            let names: Vec<&str> = f.iter().map(|e| e.field.as_str()).collect();
            for want in ["code", "kind", "price"] {
                assert!(names.contains(&want), "{want} missing from {names:?}");
            }
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let n: Vec<(i64,)> = t.db.fetch_all("SELECT COUNT(*) FROM addons", args![]).await.unwrap();
    assert_eq!(n[0].0, 0);

    let created = addons::create(&t.db, &operator(), ssl(&a.slug)).await.unwrap();
    assert_eq!((created.price_minor, created.kind.as_str()), (4990, "ssl"));
    assert_eq!(created.currency, a.currency);
    // The same code again in the same tenant is a conflict; another tenant may use it.
    assert!(matches!(
        addons::create(&t.db, &operator(), ssl(&a.slug)).await,
        Err(ServiceError::Conflict(_))
    ));
    addons::create(&t.db, &operator(), ssl(&b.slug)).await.unwrap();

    // A tenant admin edits its own catalogue by code, and cannot reach another tenant's.
    let admin = Actor::tenant_user("ana", Role::TenantAdmin, a.id);
    let db = t.db.scoped(Some(a.id));
    let retire = AddonInput {
        tenant: a.slug.clone(),
        price: "59.90".into(),
        status: "retired".into(),
        ..AddonInput::default()
    };
    let edited = addons::update(&db, &admin, "ssl-wildcard", retire).await.unwrap();
    assert_eq!((edited.price_minor, edited.status.as_str()), (5990, "retired"));
    assert_eq!(edited.name, "SSL curinga", "fields not given stay");
    let other = AddonInput {
        tenant: b.slug.clone(),
        name: "mine now".into(),
        ..AddonInput::default()
    };
    assert!(addons::update(&db, &admin, "ssl-wildcard", other).await.is_err());
    let support = Actor::tenant_user("sam", Role::SupportAgent, a.id);
    assert!(matches!(
        addons::create(&db, &support, ssl(&a.slug)).await,
        Err(ServiceError::PermissionDenied(_))
    ));

    // The catalogue shows it; the audit log has the create and the edit with before/after.
    let listed = plans::addons(&db, &admin).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, "retired");
    let rows: Vec<(String, Option<serde_json::Value>)> =
        t.db.fetch_all(
            "SELECT action, before FROM audit_log WHERE entity_id = $1 ORDER BY seq",
            args![created.id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "addon.create");
    assert_eq!(rows[1].0, "addon.update");
    assert_eq!(rows[1].1.as_ref().unwrap()["price_minor"], 4990);
}
