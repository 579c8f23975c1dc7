//! The read-only parts of a tenant's detail: the overview lines and the field lists of the
//! branding and limits forms.

use backend::tenants::Tenant;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use widgets::Theme;

use super::browse::tone_for;
use crate::form::hex_color;

pub const BRANDING: &[(&str, &str, &str)] = &[
    ("logo_text", "Logo text", ""),
    ("primary_color", "Primary colour", "#rrggbb"),
    ("accent_color", "Accent colour", "#rrggbb"),
    ("domain", "Domain", ""),
    ("sender_name", "Sender name", "none"),
    ("sender_email", "Sender e-mail", "none"),
    ("support_email", "Support e-mail", "none"),
];

pub const LIMITS: &[(&str, &str, &str)] = &[
    ("max_customers", "Customers", "unlimited"),
    ("max_services", "Services", "unlimited"),
    ("max_storage_gb", "Storage (GB)", "unlimited"),
    ("max_domains", "Domains", "unlimited"),
    ("max_tickets_month", "Tickets/month", "unlimited"),
];

pub fn limit_text(v: Option<i64>) -> String {
    v.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

pub fn lines(t: &Tenant, theme: &Theme) -> Vec<Line<'static>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    let swatch = |c: &str| {
        let style = hex_color(c).map_or(theme.muted, |c| Style::default().fg(c));
        vec![Span::styled("██ ", style), Span::styled(c.to_owned(), theme.base)]
    };
    let mut rows: Vec<(&str, Vec<Span<'static>>)> = vec![
        ("Name", vec![Span::styled(t.name.clone(), theme.title)]),
        ("Slug", vec![Span::raw(t.slug.clone())]),
        ("Domain", vec![Span::raw(t.domain.clone())]),
        (
            "Status",
            vec![Span::styled(t.status.clone(), theme.tone(tone_for(&t.status)))],
        ),
        ("Tier", vec![Span::raw(t.tier.clone())]),
        ("Currency", vec![Span::raw(t.currency.clone())]),
        ("Logo text", vec![Span::raw(t.logo_text.clone())]),
        ("Primary colour", swatch(&t.primary_color)),
        ("Accent colour", swatch(&t.accent_color)),
        (
            "Sender",
            vec![Span::raw(format!("{} <{}>", opt(&t.sender_name), opt(&t.sender_email)))],
        ),
        ("Support e-mail", vec![Span::raw(opt(&t.support_email))]),
        (
            "Limits",
            vec![Span::raw(format!(
                "customers {} · services {} · storage {} GB · domains {} · tickets/month {}",
                limit_text(t.max_customers),
                limit_text(t.max_services),
                limit_text(t.max_storage_gb),
                limit_text(t.max_domains),
                limit_text(t.max_tickets_month)
            ))],
        ),
    ];
    if let Some(r) = &t.suspended_reason {
        rows.push(("Suspended", vec![Span::styled(r.clone(), theme.warning)]));
    }
    rows.push((
        "Created",
        vec![Span::raw(t.created_at.format("%Y-%m-%d %H:%M").to_string())],
    ));
    rows.push((
        "Updated",
        vec![Span::raw(t.updated_at.format("%Y-%m-%d %H:%M").to_string())],
    ));
    rows.push(("Id", vec![Span::styled(t.id.to_string(), theme.muted)]));
    rows.into_iter()
        .map(|(k, mut v)| {
            let mut spans = vec![Span::styled(format!("{k:<16}"), theme.muted)];
            spans.append(&mut v);
            Line::from(spans)
        })
        .collect()
}
