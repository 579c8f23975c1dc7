//! The policy matrix: every service operation run for real as every role, once as platform
//! staff and once confined to a tenant, compared with the policy declared below (written by
//! hand from issue 3 and docs/adr/0011, not derived from `authz`).
//!
//! Each actor gets its own tenant (with a customer, jobs, a schedule) so that allowed changes
//! succeed and never disturb the next actor. Reseller-family actors are real accounts (the
//! reseller tree needs a user id) owning the tenant's customer; other roles act without an
//! account, so sensitive actions need only the typed confirmation (docs/adr/0007).

use backend::audit::{self, AuditQuery};
use backend::browse::{self, BrowseQuery, VIEWS};
use backend::customers::{self, CustomerQuery, NewCustomer};
use backend::identity::accounts::{self, NewUser};
use backend::jobs::admin::{self, EnqueueRequest, JobQuery};
use backend::jobs::schedule::{self, NewSchedule};
use backend::secrets::{self, Keys, MasterKey};
use backend::sensitive::Proof;
use backend::tenants::{self, Limits, TenantPatch, TenantQuery};
use backend::{apikeys, args, dashboard, rbac, Actor, Db, Role, ServiceError};
use uuid::Uuid;

use crate::common::{fresh, new_tenant, operator};

/// Role order of the expectation strings.
const ROLES: [Role; 8] = [
    Role::SuperAdmin,
    Role::TenantAdmin,
    Role::Partner,
    Role::Ultra,
    Role::Master,
    Role::Reseller,
    Role::SupportAgent,
    Role::OnCall,
];

/// operation, as platform staff, confined to a tenant. One character per role of [`ROLES`]
/// (super_admin tenant_admin partner ultra master reseller support_agent on_call):
/// `A` allowed (the call succeeds), `-` `ServiceError::PermissionDenied`, `N`
/// `ServiceError::NotFound` (the design hides existence: another tenant's rows, a customer
/// outside a reseller's subtree), `.` no such actor: ultra, master and reseller accounts
/// always belong to a tenant (a CHECK on `users`), so they have no platform column.
const POLICY: &[(&str, &str, &str)] = &[
    ("tenants.list", "AAA...AA", "AAAAAAAA"),
    ("tenants.get", "AAA...AA", "AAAAAAAA"),
    ("tenants.get_other", "AAA...AA", "NNNNNNNN"),
    ("tenants.create", "A--...--", "--------"),
    ("tenants.update", "AA-...--", "AA------"),
    ("tenants.set_limits", "A--...--", "--------"),
    ("customers.list", "AAA...AA", "AAAAAAAA"),
    ("customers.get", "AAA...AA", "AAAAAAAA"),
    ("customers.get_other", "AAN...AA", "NNNNNNNN"),
    ("customers.create", "AAA...--", "AAAAAA--"),
    ("browse.servers", "AA-...-A", "--------"),
    ("browse.customers", "AAA...AA", "AAAAAAAA"),
    ("browse.migrations", "AAA...AA", "AAAAAAAA"),
    ("browse.jobs", "AA-...AA", "AA----AA"),
    ("browse.audit", "AA-...-A", "AA-----A"),
    ("browse.settings", "AA-...-A", "AA-----A"),
    ("browse.services", "AAA...AA", "AAAAAAAA"),
    ("browse.plans", "AAA...AA", "AAAAAAAA"),
    ("browse.addons", "AAA...AA", "AAAAAAAA"),
    ("browse.package_drift", "AAA...AA", "AAAAAAAA"),
    ("browse.invoices", "AAA...AA", "AAAAAAAA"),
    ("browse.lines", "AAA...AA", "AAAAAAAA"),
    ("browse.tickets", "AAA...AA", "AAAAAAAA"),
    ("browse.payments", "AAA...AA", "AAAAAAAA"),
    ("browse.disputes", "AA-...AA", "AA----AA"),
    ("browse.dns_zones", "AAA...AA", "AAAAAAAA"),
    ("browse.certificates", "AA-...AA", "AA----AA"),
    ("browse.dns_failures", "AAA...AA", "AAAAAAAA"),
    ("browse.incidents", "AA-...AA", "--------"),
    ("dashboard.stats", "AAA...AA", "AAAAAAAA"),
    ("jobs.list", "AA-...AA", "AA----AA"),
    ("jobs.get", "AA-...AA", "AA----AA"),
    ("jobs.stats", "AA-...AA", "AA----AA"),
    ("jobs.enqueue", "AA-...--", "AA------"),
    ("jobs.retry", "AA-...--", "AA------"),
    ("jobs.cancel", "AA-...--", "AA------"),
    ("schedules.list", "AA-...AA", "AA----AA"),
    ("schedules.upsert", "AA-...--", "--------"),
    ("schedules.remove", "AA-...--", "--------"),
    ("audit.list", "AA-...-A", "AA-----A"),
    ("audit.get", "AA-...-A", "AA-----A"),
    ("audit.verify", "AA-...-A", "--------"),
    ("keys.rotate", "A--...--", "--------"),
    ("roles.list", "AA-...-A", "AA-----A"),
    ("apikeys.list", "AA-...AA", "AA----AA"),
    ("apikeys.create", "AA-...--", "AA------"),
    ("roles.grant", "A--...--", "--------"),
    ("roles.revoke", "A--...--", "--------"),
    ("tenants.suspend", "A--...--", "--------"),
    ("users.create", "AA-...--", "AA------"),
    ("users.create_super_admin", "A--...--", "--------"),
    ("tenants.reactivate", "A--...--", "--------"),
];

fn outcome<T>(r: Result<T, ServiceError>) -> Result<char, String> {
    match r {
        Ok(_) => Ok('A'),
        Err(ServiceError::PermissionDenied(_)) => Ok('-'),
        Err(ServiceError::NotFound { .. }) => Ok('N'),
        Err(e) => Err(e.to_string()),
    }
}

/// One actor's world: its tenant and the rows its operations act on.
struct World {
    tenant: String,
    tenant_id: Uuid,
    customer: String,
    queued_job: String,
    cancelled_job: String,
    audit_seq: String,
    schedule: String,
    other_tenant: String,
    other_customer: String,
}

async fn world(db: &Db, n: usize, other: &(String, String)) -> World {
    let slug = format!("m{n}");
    let t = tenants::create(
        db,
        &operator(),
        new_tenant(&format!("M{n}"), &format!("m{n}.example.com")),
    )
    .await
    .unwrap();
    assert_eq!(t.slug, slug);
    let c = customers::create(
        db,
        &operator(),
        NewCustomer {
            tenant: slug.clone(),
            name: format!("Cliente {n}"),
            email: format!("c{n}@example.com"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let local = Actor::tenant_user("fixture", Role::SuperAdmin, t.id);
    let job = |k: &str| EnqueueRequest {
        queue: "default".into(),
        kind: k.into(),
        payload: serde_json::json!({}),
        ..Default::default()
    };
    let queued = admin::enqueue(db, &local, job("noop")).await.unwrap();
    let cancelled = admin::enqueue(db, &local, job("noop")).await.unwrap();
    admin::cancel(db, &local, &cancelled.id.to_string()).await.unwrap();
    let seq: i64 = db
        .scalar(
            "SELECT seq FROM audit_log WHERE action = 'customer.create' AND entity_id = $1",
            args![c.id.to_string()],
        )
        .await
        .unwrap();
    let schedule = format!("gone-{n}");
    schedule::upsert(db, &operator(), cron(&schedule)).await.unwrap();
    World {
        tenant: slug,
        tenant_id: t.id,
        customer: c.id.to_string(),
        queued_job: queued.id.to_string(),
        cancelled_job: cancelled.id.to_string(),
        audit_seq: seq.to_string(),
        schedule,
        other_tenant: other.0.clone(),
        other_customer: other.1.clone(),
    }
}

fn cron(name: &str) -> NewSchedule {
    NewSchedule {
        name: name.into(),
        cron: "17 3 * * *".into(),
        queue: "maintenance".into(),
        kind: "noop".into(),
        payload: serde_json::json!({}),
    }
}

/// Runs every operation of [`POLICY`] as `a` in `w`, in table order.
async fn run_all(db: &Db, a: &Actor, w: &World, n: usize, keys: &Keys) -> Vec<(&'static str, Result<char, String>)> {
    let mut out = Vec::new();
    for (op, _, _) in POLICY {
        let r = match *op {
            "tenants.list" => outcome(tenants::list(db, a, &TenantQuery::default()).await),
            "tenants.get" => outcome(tenants::get(db, a, &w.tenant).await),
            "tenants.get_other" => outcome(tenants::get(db, a, &w.other_tenant).await),
            "tenants.create" => {
                outcome(tenants::create(db, a, new_tenant(&format!("Nova {n}"), &format!("nova{n}.example.com"))).await)
            }
            "tenants.update" => outcome(
                tenants::update(
                    db,
                    a,
                    &w.tenant,
                    TenantPatch {
                        name: Some(format!("M{n} renamed")),
                        ..Default::default()
                    },
                )
                .await,
            ),
            "tenants.set_limits" => {
                outcome(tenants::set_limits(db, a, &w.tenant, Limits::for_tier("pro"), false).await)
            }
            "tenants.suspend" => {
                outcome(tenants::suspend(db, a, &w.tenant, "matrix", &Proof::confirm(&w.tenant)).await)
            }
            "tenants.reactivate" => outcome(tenants::reactivate(db, a, &w.tenant).await),
            "customers.list" => outcome(customers::list(db, a, &CustomerQuery::default()).await),
            "customers.get" => outcome(customers::get(db, a, &w.customer).await),
            "customers.get_other" => outcome(customers::get(db, a, &w.other_customer).await),
            "customers.create" => outcome(
                customers::create(
                    db,
                    a,
                    NewCustomer {
                        tenant: w.tenant.clone(),
                        name: format!("Novo {n}"),
                        email: format!("novo{n}@example.com"),
                        ..Default::default()
                    },
                )
                .await,
            ),
            "dashboard.stats" => outcome(dashboard::stats(db, a).await),
            "jobs.list" => outcome(admin::list(db, a, &JobQuery::default()).await),
            "jobs.get" => outcome(admin::get(db, a, &w.queued_job).await),
            "jobs.stats" => outcome(admin::stats(db, a).await),
            "jobs.enqueue" => outcome(
                admin::enqueue(
                    db,
                    a,
                    EnqueueRequest {
                        queue: "default".into(),
                        kind: "noop".into(),
                        payload: serde_json::json!({}),
                        ..Default::default()
                    },
                )
                .await,
            ),
            "jobs.retry" => outcome(admin::retry(db, a, &w.cancelled_job).await),
            "jobs.cancel" => outcome(admin::cancel(db, a, &w.queued_job).await),
            "schedules.list" => outcome(schedule::list(db, a).await),
            "schedules.upsert" => outcome(schedule::upsert(db, a, cron(&format!("new-{n}"))).await),
            "schedules.remove" => outcome(schedule::remove(db, a, &w.schedule).await),
            "audit.list" => outcome(audit::list(db, a, &AuditQuery::default()).await),
            "audit.get" => outcome(audit::get(db, a, &w.audit_seq).await),
            "audit.verify" => outcome(audit::verify(db, a).await),
            "keys.rotate" => {
                let id = keys.current_id().to_string();
                let new = MasterKey::from_bytes([u8::try_from(n + 100).unwrap_or(1); 32]);
                outcome(secrets::rotate(db, a, keys, &new, &Proof::confirm(&id)).await)
            }
            "roles.list" => outcome(rbac::list(db, a).await),
            "apikeys.list" => outcome(
                apikeys::list(
                    db,
                    a,
                    &apikeys::ApiKeyQuery {
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await,
            ),
            "apikeys.create" => outcome(
                apikeys::create(
                    db,
                    a,
                    apikeys::NewApiKey {
                        tenant: w.tenant.clone(),
                        name: format!("matrix {n}"),
                        scopes: vec!["customers:read".into()],
                        expires_at: None,
                        rate_limit_per_minute: None,
                        burst: None,
                    },
                )
                .await,
            ),
            "users.create" => outcome(
                accounts::create_user(
                    db,
                    a,
                    NewUser {
                        username: format!("made{n}"),
                        email: format!("made{n}@example.com"),
                        role: Some(Role::OnCall),
                        tenant_id: Some(w.tenant_id),
                        ..Default::default()
                    },
                    &Proof::default(),
                )
                .await,
            ),
            "users.create_super_admin" => {
                let name = format!("boss{n}");
                outcome(
                    accounts::create_user(
                        db,
                        a,
                        NewUser {
                            username: name.clone(),
                            email: format!("{name}@example.com"),
                            role: Some(Role::SuperAdmin),
                            ..Default::default()
                        },
                        &Proof::confirm(&name),
                    )
                    .await,
                )
            }
            "roles.grant" => outcome(rbac::grant(db, a, "on_call", "jobs:manage", &Proof::confirm("on_call")).await),
            "roles.revoke" => outcome(rbac::revoke(db, a, "on_call", "jobs:manage", &Proof::confirm("on_call")).await),
            view if view.starts_with("browse.") => {
                let key = &view["browse.".len()..];
                let v = browse::view(key).unwrap_or_else(|| panic!("no view {key}"));
                outcome(browse::browse(db, a, v, &BrowseQuery::default()).await)
            }
            other => panic!("operation {other} has no runner"),
        };
        out.push((*op, r));
    }
    out
}

#[tokio::test]
async fn every_operation_as_every_role_matches_the_declared_policy() {
    let t = fresh().await;
    // A set-up deployment: `keys.rotate` rotates the registered key (docs/adr/0013).
    let keys = Keys::new(MasterKey::from_bytes([7; 32]), vec![]);
    let keyed = crate::secrets::registered(&t.db, &keys).await;
    let db = &keyed;
    // The stored catalogue is what sessions load: run the matrix on it, not on the fallback.
    assert!(rbac::ensure_catalogue(db).await.unwrap() > 0);
    // Every browse view is in the table, so a new view cannot skip the matrix.
    for v in VIEWS {
        let op = format!("browse.{}", v.key);
        assert!(POLICY.iter().any(|(o, _, _)| *o == op), "{op} is missing from POLICY");
    }
    let other = tenants::create(db, &operator(), new_tenant("Outra", "outra.example.com"))
        .await
        .unwrap();
    let oc = customers::create(
        db,
        &operator(),
        NewCustomer {
            tenant: other.slug.clone(),
            name: "Alheio".into(),
            email: "alheio@example.com".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let other = (other.slug, oc.id.to_string());
    let mut mismatches = Vec::new();
    let mut n = 0;
    for (ri, role) in ROLES.into_iter().enumerate() {
        for platform in [true, false] {
            if platform && matches!(role, Role::Ultra | Role::Master | Role::Reseller) {
                continue;
            }
            n += 1;
            let w = world(db, n, &other).await;
            let scope = (!platform).then_some(w.tenant_id);
            let user = if role.is_reseller_family() {
                let u = accounts::create_user(
                    db,
                    &operator(),
                    NewUser {
                        username: format!("matrix{n}"),
                        email: format!("matrix{n}@example.com"),
                        role: Some(role),
                        tenant_id: scope,
                        ..Default::default()
                    },
                    &Proof::default(),
                )
                .await
                .unwrap();
                // The reseller owns its world's customer.
                db.execute(
                    "UPDATE customers SET reseller_id = $2 WHERE id = $1",
                    args![Uuid::parse_str(&w.customer).unwrap(), u.id],
                )
                .await
                .unwrap();
                Some(u.id)
            } else {
                None
            };
            let grants = rbac::load(db, role, scope).await.unwrap();
            assert!(!grants.is_default(), "the seeded catalogue holds {role:?}");
            let a = Actor {
                user_id: user,
                tenant_id: scope,
                ..Actor::tenant_user(&format!("matrix{n}"), role, w.tenant_id)
            }
            .with_grants(grants);
            let scoped = db.scoped(a.tenant_id);
            for (op, got) in run_all(&scoped, &a, &w, n, &keys).await {
                let row = POLICY.iter().find(|(o, _, _)| *o == op).unwrap();
                let want = if platform { row.1 } else { row.2 }.as_bytes()[ri] as char;
                let scope = if platform { "platform" } else { "tenant" };
                match got {
                    Ok(c) if c == want => {}
                    Ok(c) => mismatches.push(format!("{op} as {} ({scope}): want {want}, got {c}", role.as_str())),
                    Err(e) => mismatches.push(format!(
                        "{op} as {} ({scope}): want {want}, got error {e}",
                        role.as_str()
                    )),
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
