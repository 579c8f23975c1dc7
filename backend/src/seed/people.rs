//! Tenants and customers (through the service layer), then staff, tenant admins and the
//! reseller trees.

use std::collections::HashSet;

use serde_json::json;
use uuid::Uuid;

use super::data::{self, TenantSpec, TENANTS};
use super::text::{cnpj, compact, cpf, fold};
use super::{Brand, Ctx, Rng, UserRef, World};
use crate::actor::Actor;
use crate::customers::{self, NewCustomer};
use crate::db::Db;
use crate::error::ServiceError;
use crate::tenants::{self, NewTenant};

/// Phase 1: the brands via `tenants::create`, their customers via `customers::create`, then
/// the suspension via `tenants::suspend` (customers first: a suspended tenant takes none).
pub(super) async fn brands_and_customers(db: &Db, actor: &Actor) -> Result<World, ServiceError> {
    let rng = Rng::new(0xC0FF_EE00_1234_5678);
    let mut world = World::default();
    for spec in &TENANTS {
        let tenant = tenants::create(
            db,
            actor,
            NewTenant {
                name: spec.name.into(),
                slug: String::new(),
                domain: spec.domain.into(),
                tier: spec.tier.into(),
                currency: spec.currency.into(),
                logo_text: spec.logo.into(),
                primary_color: spec.primary.into(),
                accent_color: spec.accent.into(),
                sender_name: spec.name.into(),
                sender_email: format!("nao-responda@{}", spec.domain),
                support_email: format!("suporte@{}", spec.domain),
            },
        )
        .await?;
        world.used_domains.insert(spec.domain.to_owned());
        world.brands.push(Brand {
            spec,
            tenant,
            customers: Vec::new(),
            customer_age: Vec::new(),
            sites: Vec::new(),
            owner: Vec::new(),
            admin: None,
            resellers: Vec::new(),
            plans: Vec::new(),
            addons: Vec::new(),
        });
    }
    for bi in 0..world.brands.len() {
        let spec = world.brands[bi].spec;
        let slug = world.brands[bi].tenant.slug.clone();
        let mut emails = HashSet::new();
        for j in 0..spec.customers {
            let (input, site) = new_customer(&rng, spec, bi, j, &mut emails, &mut world.used_domains);
            let c = customers::create(
                db,
                actor,
                NewCustomer {
                    tenant: slug.clone(),
                    ..input
                },
            )
            .await?;
            let n = spec.customers as i64;
            let age = (spec.age_days - 2 - (j as i64) * (spec.age_days - 4) / n).max(1);
            let b = &mut world.brands[bi];
            b.customers.push(c);
            b.customer_age.push(age);
            b.sites.push(site);
            b.owner.push(None);
        }
    }
    for b in &mut world.brands {
        if let Some(reason) = b.spec.suspend {
            let slug = b.tenant.slug.clone();
            b.tenant = tenants::suspend(db, actor, &slug, reason, &crate::sensitive::Proof::confirm(&slug)).await?;
        }
    }
    Ok(world)
}

fn new_customer(
    rng: &Rng,
    spec: &TenantSpec,
    brand: usize,
    j: usize,
    emails: &mut HashSet<String>,
    domains: &mut HashSet<String>,
) -> (NewCustomer, String) {
    let tld = if spec.currency == "USD" { "com" } else { "com.br" };
    let company = if spec.streaming { j % 9 == 4 } else { j % 3 != 1 };
    let (name, mut email, phone, document, base) = if company {
        let pick = data::COMPANIES
            .get((brand * 7 + j * 3 + rng.below(5)) % data::COMPANIES.len())
            .copied()
            .unwrap_or("Comércio Central");
        let suffix = rng.pick(&data::COMPANY_SUFFIXES);
        let phone = format!("+55 {} 3{}-{}", spec.ddd, rng.digits(3), rng.digits(4));
        (
            format!("{pick} {suffix}"),
            String::new(),
            phone,
            cnpj(rng.digit_array()),
            compact(pick),
        )
    } else {
        let first = rng.pick(&data::FIRST_NAMES);
        let last = rng.pick(&data::LAST_NAMES);
        let last2 = rng.pick(&data::LAST_NAMES);
        let name = if last == last2 {
            format!("{first} {last}")
        } else {
            format!("{first} {last2} {last}")
        };
        let local = format!("{}.{}", compact(first), compact(last));
        let email = format!("{local}@{}", rng.pick(&data::MAIL_HOSTS));
        let phone = format!("+55 {} 9{}-{}", spec.ddd, rng.digits(4), rng.digits(4));
        let base = format!("{}{}", compact(first), compact(last));
        (name, email, phone, cpf(rng.digit_array()), base)
    };
    let mut site = format!("{base}.{tld}");
    let mut n = 2;
    while domains.contains(&site) {
        site = format!(
            "{base}{}.{tld}",
            if n == 2 { spec.ddd.to_owned() } else { n.to_string() }
        );
        n += 1;
    }
    domains.insert(site.clone());
    if company {
        email = format!("{}@{site}", if j.is_multiple_of(2) { "contato" } else { "financeiro" });
    }
    let mut k = 1;
    while !emails.insert(email.clone()) {
        k += 1;
        email = match email.split_once('@') {
            Some((l, h)) => format!("{}{k}@{h}", l.trim_end_matches(|c: char| c.is_ascii_digit())),
            None => format!("cliente{k}@{site}"),
        };
    }
    let notes = match j % 7 {
        0 => "Prefere contato por WhatsApp.",
        3 => "Veio da migração do provedor antigo.",
        5 => "Emitir NF com CNPJ do cadastro.",
        _ => "",
    };
    let input = NewCustomer {
        tenant: String::new(),
        name,
        email,
        phone,
        document,
        notes: notes.into(),
        reseller: String::new(),
    };
    (input, site)
}

/// Spreads creation dates over the brand's history (the service layer stamps "now").
pub(super) async fn backdate(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    for b in &world.brands {
        let created = ctx.days(-b.spec.age_days);
        ctx.tx
            .execute(
                "UPDATE tenants SET created_at = $2 WHERE id = $1",
                crate::args![b.tenant.id, created],
            )
            .await?;
        for (c, age) in b.customers.iter().zip(&b.customer_age) {
            let at = ctx.days(-age) + chrono::TimeDelta::minutes(ctx.rng.range(0, 600));
            ctx.tx
                .execute(
                    "UPDATE customers SET created_at = $2, updated_at = $2 WHERE id = $1",
                    crate::args![c.id, at],
                )
                .await?;
        }
        ctx.note(
            "seed.backdate",
            "tenant",
            Some(b.tenant.id.to_string()),
            Some(b.tenant.id),
            json!({
                "created_at": created,
                "customers": b.customers.len(),
                "note": "datas de criação distribuídas nos últimos 90 dias (dados de demonstração)",
            }),
        )
        .await?;
    }
    Ok(())
}

async fn add_user(
    ctx: &mut Ctx,
    tenant: Option<Uuid>,
    parent: Option<Uuid>,
    (name, username, role): (&str, &str, &'static str),
    email: String,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<UserRef, ServiceError> {
    let id = Uuid::now_v7();
    let last_login = ctx.mins(-ctx.rng.range(5, 60 * 24 * 6));
    ctx.add(
        "users",
        "user",
        tenant,
        cols![
            "id" => id,
            "tenant_id" => tenant,
            "parent_id" => parent,
            "username" => username,
            "email" => email,
            "display_name" => name,
            "role" => role,
            "status" => "active",
            "totp_enabled" => false,
            "credits_balance" => 0_i64,
            "last_login_at" => last_login,
            "created_at" => created,
            "updated_at" => created,
        ],
    )
    .await?;
    Ok(UserRef {
        id,
        username: username.to_owned(),
        role,
        parent: None,
        created,
    })
}

/// Staff, one tenant admin per brand, and the reseller trees of the streaming brands.
pub(super) async fn users(ctx: &mut Ctx, world: &mut World) -> Result<(), ServiceError> {
    for (name, username, role) in data::STAFF {
        let email = format!("{username}@painelcloud.net.br");
        let created = ctx.days(-95);
        let u = add_user(ctx, None, None, (name, username, role_str(role)), email, created).await?;
        world.staff.push(u);
    }
    for b in &mut world.brands {
        let tid = b.tenant.id;
        let mut parts = b.spec.admin.split_whitespace();
        let first = compact(parts.next().unwrap_or("admin"));
        let last = compact(parts.last().unwrap_or("admin"));
        let username = format!("{first}.{last}");
        let email = format!("{first}@{}", b.spec.domain);
        let created = ctx.days(-b.spec.age_days);
        b.admin = Some(
            add_user(
                ctx,
                Some(tid),
                None,
                (b.spec.admin, &username, "tenant_admin"),
                email,
                created,
            )
            .await?,
        );
        let tree: &[data::ResellerSpec] = match b.tenant.slug.as_str() {
            "streammax-revenda" => &data::STREAMMAX_TREE,
            "alpha-iptv-distribuidora" => &data::ALPHA_TREE,
            _ => &[],
        };
        for (name, username, role, parent) in tree {
            let parent_id = parent.and_then(|p| b.resellers.get(p)).map(|u| u.id);
            let depth = match *role {
                "partner" => 1,
                "ultra" => 4,
                "master" => 8,
                _ => 12,
            };
            let created = ctx.days(-b.spec.age_days + depth) + chrono::TimeDelta::minutes(ctx.rng.range(0, 900));
            let email = format!("{}@gmail.com", fold(username).replace('.', ""));
            let mut u = add_user(
                ctx,
                Some(tid),
                parent_id,
                (name, username, role_str(role)),
                email,
                created,
            )
            .await?;
            u.parent = *parent;
            b.resellers.push(u);
        }
        // Streaming customers belong to a reseller (or a master selling directly).
        let sellers: Vec<usize> = (0..b.resellers.len())
            .filter(|&i| {
                b.resellers
                    .get(i)
                    .is_some_and(|u| matches!(u.role, "reseller" | "master"))
            })
            .collect();
        if sellers.is_empty() {
            continue;
        }
        for (j, c) in b.customers.iter().enumerate() {
            let Some(&owner) = sellers.get((j * 5 + j / 3) % sellers.len()) else {
                continue;
            };
            let Some(seller) = b.resellers.get(owner) else { continue };
            ctx.tx
                .execute(
                    "UPDATE customers SET reseller_id = $2 WHERE id = $1",
                    crate::args![c.id, seller.id],
                )
                .await?;
            ctx.change(
                "customer.assign_reseller",
                "customer",
                Some(c.id.to_string()),
                Some(tid),
                Some(json!({ "reseller_id": null })),
                json!({ "reseller_id": seller.id, "reseller": seller.username }),
            )
            .await?;
            if let Some(o) = b.owner.get_mut(j) {
                *o = Some(owner);
            }
        }
    }
    Ok(())
}

fn role_str(role: &str) -> &'static str {
    crate::actor::Role::parse(role).map_or("reseller", |r| r.as_str())
}

/// The password of the demo accounts (README: "Demo accounts"). Demo data only.
pub const DEMO_PASSWORD: &str = "painel-demo-2024";
/// The demo's platform super admin; `painel demo` logs in as it.
pub const DEMO_ADMIN: &str = "admin";
/// The demo admin's TOTP secret (base32), published in the README so that sensitive actions
/// can be tried in the demo with any authenticator or `oathtool --totp -b SECRET`. Demo only:
/// a real account's secret is generated at enrolment and never leaves it.
pub const DEMO_TOTP_SECRET: &str = "OBQWS3TFNQWWIZLNN4WWCZDNNFXCCIJB";
/// Every demo account with [`DEMO_PASSWORD`]: (username, role).
pub const DEMO_LOGINS: [(&str, &str); 3] = [
    (DEMO_ADMIN, "super_admin"),
    ("thiago.barbosa", "tenant_admin"),
    ("toptv.wesley", "reseller"),
];

/// The demo accounts: a platform super admin `admin`, and the StreamMax tenant admin and one
/// of its resellers given the demo password, so each kind of login can be tried.
pub(super) async fn demo_logins(ctx: &mut Ctx, world: &World) -> Result<(), ServiceError> {
    let id = Uuid::now_v7();
    let created = ctx.days(-95);
    let hash = crate::identity::password::hash(DEMO_PASSWORD).await?;
    ctx.add(
        "users",
        "user",
        None,
        cols![
            "id" => id,
            "username" => DEMO_ADMIN,
            "email" => "admin@painelcloud.net.br",
            "display_name" => "Administrador (demo)",
            "role" => "super_admin",
            "status" => "active",
            "totp_enabled" => false,
            "password_hash" => hash,
            "created_at" => created,
            "updated_at" => created,
        ],
    )
    .await?;
    for (username, _) in DEMO_LOGINS.iter().skip(1) {
        let found = world.brands.iter().find_map(|b| {
            b.admin
                .iter()
                .chain(b.resellers.iter())
                .find(|u| u.username == *username)
                .map(|u| (u.id, Some(b.tenant.id)))
        });
        let Some(user) = found else { continue };
        let hash = crate::identity::password::hash(DEMO_PASSWORD).await?;
        crate::identity::accounts::set_password_hash(&mut ctx.tx, &ctx.actor, user, &hash).await?;
    }
    Ok(())
}
