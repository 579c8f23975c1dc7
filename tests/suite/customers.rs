//! Customers and the generic browse views on the engine under test.

use backend::browse::{browse, view, BrowseQuery, VIEWS};
use backend::customers::{self, CustomerQuery, NewCustomer};
use backend::tenants::{self, Limits};
use backend::{Actor, Role, ServiceError};

use crate::common::{fresh, new_tenant, operator};

fn customer(tenant: &str, name: &str, email: &str) -> NewCustomer {
    NewCustomer {
        tenant: tenant.into(),
        name: name.into(),
        email: email.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn customers_respect_validation_limits_and_scope() {
    let t = fresh().await;
    let a = tenants::create(&t.db, &operator(), new_tenant("Loja A", "loja-a.com.br"))
        .await
        .unwrap();
    tenants::create(&t.db, &operator(), new_tenant("Loja B", "loja-b.com.br"))
        .await
        .unwrap();
    let mut c = customer("loja-a", "Maria Souza", "maria@gmail.com");
    c.document = "123.456.789-09".into();
    let maria = customers::create(&t.db, &operator(), c).await.unwrap();
    assert_eq!(
        (maria.tenant_slug.as_str(), maria.document.as_deref()),
        ("loja-a", Some("12345678909"))
    );
    let dup = customers::create(&t.db, &operator(), customer("loja-a", "Maria 2", "maria@gmail.com")).await;
    assert!(matches!(dup, Err(ServiceError::Conflict(_))));
    let bad = customers::create(&t.db, &operator(), customer("loja-a", "J", "nope"))
        .await
        .unwrap_err();
    assert_eq!(
        bad.fields().iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
        ["name", "email"]
    );
    customers::create(&t.db, &operator(), customer("loja-b", "João Lima", "joao@uol.com.br"))
        .await
        .unwrap();
    tenants::set_limits(
        &t.db,
        &operator(),
        "loja-a",
        Limits {
            max_customers: Some(1),
            ..Default::default()
        },
        false,
    )
    .await
    .unwrap();
    let over = customers::create(&t.db, &operator(), customer("loja-a", "Pedro", "pedro@gmail.com")).await;
    assert!(matches!(over, Err(ServiceError::Conflict(m)) if m.contains("limit")));
    let scoped = Actor::tenant_user("ana", Role::TenantAdmin, a.id);
    let list = customers::list(
        &t.db,
        &scoped,
        &CustomerQuery {
            limit: 50,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        list.items.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["Maria Souza"]
    );
    let joao = customers::list(
        &t.db,
        &operator(),
        &CustomerQuery {
            tenant: Some("loja-b".into()),
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .remove(0);
    assert!(matches!(
        customers::get(&t.db, &scoped, &joao.id.to_string()).await,
        Err(ServiceError::NotFound { .. })
    ));
}

#[tokio::test]
async fn every_browse_view_runs_and_scopes() {
    let t = fresh().await;
    let a = tenants::create(&t.db, &operator(), new_tenant("Loja A", "loja-a.com.br"))
        .await
        .unwrap();
    customers::create(&t.db, &operator(), customer("loja-a", "Maria Souza", "maria@gmail.com"))
        .await
        .unwrap();
    for v in VIEWS {
        let table = browse(
            &t.db,
            &operator(),
            v,
            &BrowseQuery {
                limit: 20,
                ..Default::default()
            },
        )
        .await;
        let table = table.unwrap_or_else(|e| panic!("view {} fails: {e}", v.key));
        assert_eq!(table.columns.len(), v.columns.len(), "{}", v.key);
    }
    let audit = browse(
        &t.db,
        &operator(),
        view("audit").unwrap(),
        &BrowseQuery {
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(audit.rows.len(), 1);
    assert!(audit.has_next, "two audit rows, one per page");
    let next = BrowseQuery {
        limit: 1,
        at: backend::page::PageAt::After(audit.last.clone().unwrap()),
        ..Default::default()
    };
    let page2 = browse(&t.db, &operator(), view("audit").unwrap(), &next).await.unwrap();
    assert_eq!(
        page2.rows[0][3].to_string(),
        "tenant.create",
        "newest first: the customer, then the tenant"
    );
    let filtered = BrowseQuery {
        filter: Some("MARIA".into()),
        limit: 5,
        ..Default::default()
    };
    assert_eq!(
        browse(&t.db, &operator(), view("customers").unwrap(), &filtered)
            .await
            .unwrap()
            .rows
            .len(),
        1
    );
    let other = tenants::create(&t.db, &operator(), new_tenant("Loja B", "loja-b.com.br"))
        .await
        .unwrap();
    let scoped = Actor::tenant_user("bia", Role::TenantAdmin, other.id);
    let seen = browse(
        &t.db,
        &scoped,
        view("customers").unwrap(),
        &BrowseQuery {
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(seen.rows.is_empty(), "tenant B sees none of tenant A's customers");
    let stats = backend::dashboard::stats(&t.db, &operator()).await.unwrap();
    let active = stats.iter().find(|s| s.label == "Active tenants").unwrap();
    assert_eq!(active.value, 2);
    let scoped_stats = backend::dashboard::stats(&t.db, &Actor::tenant_user("ana", Role::TenantAdmin, a.id))
        .await
        .unwrap();
    assert!(
        scoped_stats.iter().all(|s| !s.label.starts_with("Servers")),
        "no infrastructure figures for tenants"
    );
}

/// The customer screen's tabs (issue 10): each linked view narrowed to one customer holds
/// exactly that customer's rows; the audit trail and job payloads match by mention; a view
/// with no link to customers refuses the filter.
#[tokio::test]
async fn browse_views_narrow_to_one_customer() {
    let t = fresh().await;
    backend::seed::demo(&t.db).await.unwrap();
    let email: String =
        t.db.scalar(
            "SELECT c.email FROM customers c \
             WHERE EXISTS (SELECT 1 FROM services s WHERE s.customer_id = c.id) \
               AND EXISTS (SELECT 1 FROM tickets k WHERE k.customer_id = c.id) \
             ORDER BY c.email LIMIT 1",
            vec![],
        )
        .await
        .unwrap();
    let c = customers::list(
        &t.db,
        &operator(),
        &CustomerQuery {
            filter: Some(email.clone()),
            limit: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .find(|c| c.email == email)
    .unwrap();
    let q = BrowseQuery {
        customer: Some(c.id),
        limit: 500,
        ..Default::default()
    };
    for (key, table) in [
        ("services", "services"),
        ("invoices", "invoices"),
        ("tickets", "tickets"),
        ("lines", "lines"),
    ] {
        let want: i64 =
            t.db.scalar(
                &format!("SELECT count(*) FROM {table} WHERE customer_id = $1"),
                backend::args![c.id],
            )
            .await
            .unwrap();
        let got = browse(&t.db, &operator(), view(key).unwrap(), &q).await.unwrap();
        assert_eq!(got.rows.len() as i64, want, "{key}");
    }
    let payments: i64 =
        t.db.scalar(
            "SELECT count(*) FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.customer_id = $1",
            backend::args![c.id],
        )
        .await
        .unwrap();
    let got = browse(&t.db, &operator(), view("payments").unwrap(), &q).await.unwrap();
    assert_eq!(got.rows.len() as i64, payments);
    let audit = browse(&t.db, &operator(), view("audit").unwrap(), &q).await.unwrap();
    let all = browse(
        &t.db,
        &operator(),
        view("audit").unwrap(),
        &BrowseQuery {
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Its own creation, and the rows of what it owns (services, invoices…), not the rest.
    assert!(audit.rows.len() > 2, "{} audit rows", audit.rows.len());
    assert!(audit.rows.len() < all.rows.len());
    let actions: Vec<String> = audit.rows.iter().map(|r| r[3].to_string()).collect();
    assert!(actions.iter().any(|a| a == "customer.create"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "service.create"), "{actions:?}");
    browse(&t.db, &operator(), view("jobs").unwrap(), &q).await.unwrap();
    assert!(matches!(
        browse(&t.db, &operator(), view("servers").unwrap(), &q).await,
        Err(ServiceError::Validation(_))
    ));
}
