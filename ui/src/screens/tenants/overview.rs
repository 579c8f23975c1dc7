//! The read-only parts of a tenant's detail: the overview lines and the field lists of the
//! branding and limits forms.

use backend::tenants::Tenant;
use widgets::{KvEntry, Tone};

use crate::screens::common::browse::tone_for;

pub const BRANDING: &[(&str, &str, &str)] = &[
    ("logo_text", "Logo text", ""),
    ("primary_color", "Primary colour", "#1e90ff"),
    ("accent_color", "Accent colour", "#ff8c00"),
    ("domain", "Domain", ""),
    ("sender_name", "Sender name", "Acme Suporte"),
    ("sender_email", "Sender e-mail", "noreply@acme.example.com"),
    ("support_email", "Support e-mail", "help@acme.example.com"),
];

pub const LIMITS: &[(&str, &str, &str)] = &[
    ("max_customers", "Customers", "500"),
    ("max_services", "Services", "1000"),
    ("max_storage_gb", "Storage (GB)", "200"),
    ("max_domains", "Domains", "300"),
    ("max_tickets_month", "Tickets/month", "100"),
];

pub fn limit_text(v: Option<i64>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

/// The overview as label/value rows for a [`widgets::KeyValuePanel`] (which swatches the
/// brand colours).
pub fn entries(t: &Tenant) -> Vec<KvEntry<'static>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let time = |at: &chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M").to_string();
    let mut rows = vec![
        KvEntry::new("Name", t.name.clone()).tone(Tone::Accent),
        KvEntry::new("Slug", t.slug.clone()),
        KvEntry::new("Domain", t.domain.clone()),
        KvEntry::new("Status", t.status.clone()).tone(tone_for(&t.status)),
        KvEntry::new("Tier", t.tier.clone()),
        KvEntry::new("Currency", t.currency.clone()),
        KvEntry::new("Logo text", t.logo_text.clone()),
        KvEntry::new("Primary colour", t.primary_color.clone()),
        KvEntry::new("Accent colour", t.accent_color.clone()),
        KvEntry::new("Sender", format!("{} <{}>", opt(&t.sender_name), opt(&t.sender_email))),
        KvEntry::new("Support e-mail", opt(&t.support_email)),
        KvEntry::new(
            "Limits",
            format!(
                "customers {} · services {} · storage {} GB · domains {} · tickets/month {}",
                limit_text(t.max_customers),
                limit_text(t.max_services),
                limit_text(t.max_storage_gb),
                limit_text(t.max_domains),
                limit_text(t.max_tickets_month)
            ),
        ),
    ];
    if let Some(r) = &t.suspended_reason {
        rows.push(KvEntry::new("Suspended", r.clone()).tone(Tone::Warning));
    }
    rows.push(KvEntry::new("Created", time(&t.created_at)));
    rows.push(KvEntry::new("Updated", time(&t.updated_at)));
    rows.push(KvEntry::new("Id", t.id.to_string()).tone(Tone::Muted));
    rows
}
