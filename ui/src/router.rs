//! The sitemap (SPEC §2) as data: sections, their pages, titles, parents and the browse view
//! each page shows. Everything that navigates (side nav, tabs, palette, dashboard cards, `q`)
//! reads it from here.

/// One page of the sitemap with a fixed address, e.g. `billing/invoices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub path: &'static str,
    pub title: &'static str,
    pub section: &'static str,
    /// The `backend::browse` view the page shows, for generic table pages.
    pub view: Option<&'static str>,
    /// Extra names the palette and `Route::parse` accept for this page (`queues`).
    pub aliases: &'static [&'static str],
}

/// A top-level entry of the side navigation; its pages are shown as tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub key: &'static str,
    pub title: &'static str,
    /// Extra names the palette accepts (k9s-style short names).
    pub aliases: &'static [&'static str],
    pub pages: &'static [&'static str],
}

const fn page(path: &'static str, title: &'static str, section: &'static str, view: Option<&'static str>) -> Page {
    Page {
        path,
        title,
        section,
        view,
        aliases: &[],
    }
}

impl Page {
    const fn aka(mut self, aliases: &'static [&'static str]) -> Page {
        self.aliases = aliases;
        self
    }
}

pub const PAGES: &[Page] = &[
    page("dashboard", "Dashboard", "dashboard", None),
    page("tenants", "List", "tenants", None),
    page("tenants/create", "Create", "tenants", None),
    page("customers", "Customers", "customers", None),
    page("servers", "List", "servers", Some("servers")),
    page("servers/capacity", "Capacity", "servers", None).aka(&["capacity"]),
    page("servers/create", "Create", "servers", None),
    page("services/list", "Services", "services", Some("services")),
    page("services/plans", "Plans", "services", Some("plans")),
    page("services/addons", "Add-ons", "services", Some("addons")),
    page("services/drift", "Drift", "services", Some("package_drift")),
    // The job queues (issue 4): depths, throughput, running jobs and the live failure feed.
    page("services/provisioning", "Provisioning", "services", None).aka(&["queues", "queue"]),
    page("services/jobs", "Jobs", "services", None).aka(&["jobs", "job"]),
    page("services/new", "Order", "services", None).aka(&["order"]),
    page("migrations", "Queue", "migrations", Some("migrations")),
    page("migrations/new", "New", "migrations", None).aka(&["migrate"]),
    page("billing/invoices", "Invoices", "billing", Some("invoices")),
    page("billing/payments", "Payments", "billing", Some("payments")),
    page("billing/disputes", "Disputes", "billing", Some("disputes")),
    page("billing/credits", "Credits", "billing", None).aka(&["credits"]),
    page("billing/renewals", "Renewals", "billing", None).aka(&["renewals", "dunning"]),
    page("billing/prices", "Prices", "billing", None).aka(&["prices"]),
    page("billing/coupons", "Coupons", "billing", None).aka(&["coupons"]),
    page("dns-ssl/zones", "Zones", "dns-ssl", Some("dns_zones")),
    page("dns-ssl/certificates", "Certificates", "dns-ssl", Some("certificates")),
    page("dns-ssl/failures", "Failures", "dns-ssl", Some("dns_failures")),
    page("audit-logs", "Audit log", "audit-logs", Some("audit")),
    page("incidents", "Incidents", "incidents", Some("incidents")),
    page("settings", "Settings", "settings", Some("settings")),
    page("settings/api-keys", "API keys", "settings", None).aka(&["api-keys", "apikeys"]),
    page("settings/security", "Security", "settings", None).aka(&["security", "2fa"]),
];

pub const SECTIONS: &[Section] = &[
    Section {
        key: "dashboard",
        title: "Dashboard",
        aliases: &["home", "dash"],
        pages: &["dashboard"],
    },
    Section {
        key: "tenants",
        title: "Tenants",
        aliases: &["tn", "brands"],
        pages: &["tenants", "tenants/create"],
    },
    Section {
        key: "customers",
        title: "Customers",
        aliases: &["cust", "clients"],
        pages: &["customers"],
    },
    Section {
        key: "servers",
        title: "Servers",
        aliases: &["srv", "server"],
        pages: &["servers", "servers/capacity", "servers/create"],
    },
    Section {
        key: "services",
        title: "Services",
        aliases: &["svc"],
        pages: &[
            "services/list",
            "services/plans",
            "services/addons",
            "services/drift",
            "services/provisioning",
            "services/jobs",
            "services/new",
        ],
    },
    Section {
        key: "migrations",
        title: "Migrations",
        aliases: &["mig"],
        pages: &["migrations", "migrations/new"],
    },
    Section {
        key: "billing",
        title: "Billing",
        aliases: &["bil"],
        pages: &[
            "billing/invoices",
            "billing/payments",
            "billing/disputes",
            "billing/credits",
            "billing/renewals",
            "billing/prices",
            "billing/coupons",
        ],
    },
    Section {
        key: "dns-ssl",
        title: "DNS & SSL",
        aliases: &["dns", "ssl"],
        pages: &["dns-ssl/zones", "dns-ssl/certificates", "dns-ssl/failures"],
    },
    Section {
        key: "audit-logs",
        title: "Audit logs",
        aliases: &["audit", "logs"],
        pages: &["audit-logs"],
    },
    Section {
        key: "incidents",
        title: "Incidents",
        aliases: &["inc"],
        pages: &["incidents"],
    },
    Section {
        key: "settings",
        title: "Settings",
        aliases: &["cfg"],
        pages: &["settings", "settings/api-keys", "settings/security"],
    },
];

/// The tabs of a tenant's detail screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TenantTab {
    #[default]
    Overview,
    Branding,
    Billing,
    Limits,
}

impl TenantTab {
    pub const ALL: [TenantTab; 4] = [
        TenantTab::Overview,
        TenantTab::Branding,
        TenantTab::Billing,
        TenantTab::Limits,
    ];

    pub fn key(self) -> &'static str {
        match self {
            TenantTab::Overview => "overview",
            TenantTab::Branding => "branding",
            TenantTab::Billing => "billing",
            TenantTab::Limits => "limits",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            TenantTab::Overview => "Overview",
            TenantTab::Branding => "Branding",
            TenantTab::Billing => "Billing",
            TenantTab::Limits => "Limits",
        }
    }

    pub fn index(self) -> usize {
        TenantTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn parse(s: &str) -> Option<TenantTab> {
        TenantTab::ALL.into_iter().find(|t| t.key() == s)
    }
}

/// The tabs of a server's screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerTab {
    #[default]
    Overview,
    Metrics,
    Whm,
    Capacity,
    Logs,
}

impl ServerTab {
    pub const ALL: [ServerTab; 5] = [
        ServerTab::Overview,
        ServerTab::Metrics,
        ServerTab::Whm,
        ServerTab::Capacity,
        ServerTab::Logs,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ServerTab::Overview => "overview",
            ServerTab::Metrics => "metrics",
            ServerTab::Whm => "whm",
            ServerTab::Capacity => "capacity",
            ServerTab::Logs => "logs",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ServerTab::Overview => "Overview",
            ServerTab::Metrics => "Metrics",
            ServerTab::Whm => "WHM",
            ServerTab::Capacity => "Capacity",
            ServerTab::Logs => "Logs",
        }
    }

    pub fn index(self) -> usize {
        ServerTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn parse(s: &str) -> Option<ServerTab> {
        ServerTab::ALL.into_iter().find(|t| t.key() == s)
    }
}

/// The tabs of a customer's screen: the whole story of one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerTab {
    #[default]
    Profile,
    Services,
    Lines,
    Invoices,
    Payments,
    Tickets,
    Jobs,
    Audit,
}

impl CustomerTab {
    pub const ALL: [CustomerTab; 8] = [
        CustomerTab::Profile,
        CustomerTab::Services,
        CustomerTab::Lines,
        CustomerTab::Invoices,
        CustomerTab::Payments,
        CustomerTab::Tickets,
        CustomerTab::Jobs,
        CustomerTab::Audit,
    ];

    pub fn key(self) -> &'static str {
        match self {
            CustomerTab::Profile => "profile",
            CustomerTab::Services => "services",
            CustomerTab::Lines => "lines",
            CustomerTab::Invoices => "invoices",
            CustomerTab::Payments => "payments",
            CustomerTab::Tickets => "tickets",
            CustomerTab::Jobs => "jobs",
            CustomerTab::Audit => "audit",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            CustomerTab::Profile => "Profile",
            CustomerTab::Services => "Services",
            CustomerTab::Lines => "Lines",
            CustomerTab::Invoices => "Invoices",
            CustomerTab::Payments => "Payments",
            CustomerTab::Tickets => "Tickets",
            CustomerTab::Jobs => "Jobs",
            CustomerTab::Audit => "Activity",
        }
    }

    /// The `backend::browse` view the tab shows (the profile has none).
    pub fn view(self) -> Option<&'static str> {
        match self {
            CustomerTab::Profile => None,
            CustomerTab::Services => Some("services"),
            CustomerTab::Lines => Some("lines"),
            CustomerTab::Invoices => Some("invoices"),
            CustomerTab::Payments => Some("payments"),
            CustomerTab::Tickets => Some("tickets"),
            CustomerTab::Jobs => Some("jobs"),
            // The customer's own history (audit rows and jobs), readable with customers:read.
            CustomerTab::Audit => Some(backend::customers::ACTIVITY_VIEW),
        }
    }

    pub fn index(self) -> usize {
        CustomerTab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn parse(s: &str) -> Option<CustomerTab> {
        CustomerTab::ALL.into_iter().find(|t| t.key() == s)
    }
}

/// Where the operator is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A fixed page of the sitemap (always one of [`PAGES`]).
    Page(&'static Page),
    /// `tenants/<slug or id>[/<tab>]`.
    Tenant { key: String, tab: TenantTab },
    /// `customers/<id or unique prefix>[/<tab>]`.
    Customer { key: String, tab: CustomerTab },
    /// `services/<id or unique prefix>`: one hosting service, live.
    Service { key: String },
    /// `migrations/<id, prefix or short id>`: one migration, its log followed live.
    Migration { key: String },
    /// `users/<id>`: one account ("go to" a user).
    User { id: uuid::Uuid },
    /// `servers/<name or id>[/<tab>]`.
    Server { key: String, tab: ServerTab },
    /// `billing/invoices/<id, short id or number>`: one invoice.
    Invoice { key: String },
    /// `billing/invoices/<id, short id or number>/pix`: the invoice's PIX modal.
    InvoicePix { key: String },
    /// `billing/disputes/<id or short id>`: one chargeback.
    Dispute { key: String },
    /// `billing/payments/<id or short id>/refund`: the refund dialog of a payment.
    Refund { payment: String },
    /// `dns-ssl/zones/<name>`: one DNS zone and its records.
    Zone { name: String },
}

pub fn section(key: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.key == key)
}

pub fn page_at(path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.path == path)
}

/// The page a palette alias names (`queues` → `services/provisioning`).
pub fn page_by_alias(alias: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.aliases.contains(&alias))
}

/// An id in a breadcrumb as every screen shows it: a whole UUID becomes its short form (the
/// last 8 hex digits, the random end of a UUIDv7, which resolve everywhere as a suffix; its
/// first 8 are a timestamp shared by the rows of the same minute); a short id typed by the
/// user stays as typed (cut to 8).
fn crumb_id(key: &str) -> String {
    match uuid::Uuid::parse_str(key.trim()) {
        Ok(id) => backend::ids::short(id),
        Err(_) => key.chars().take(8).collect(),
    }
}

impl Route {
    pub fn dashboard() -> Route {
        Route::parse("dashboard").unwrap_or(Route::Page(&PAGES[0]))
    }

    /// Parses a path: a page (`billing/invoices`), a section (`billing` → its first page) or
    /// a tenant (`tenants/acme/limits`).
    pub fn parse(path: &str) -> Option<Route> {
        let path = path.trim().trim_matches('/');
        if let Some(p) = page_at(path) {
            return Some(Route::Page(p));
        }
        if let Some(s) = section(path) {
            return s.pages.first().and_then(|p| page_at(p)).map(Route::Page);
        }
        if let Some(p) = page_by_alias(path) {
            return Some(Route::Page(p));
        }
        if let Some(key) = path
            .strip_prefix("billing/invoices/")
            .and_then(|r| r.strip_suffix("/pix"))
            .filter(|k| !k.is_empty() && !k.contains('/'))
        {
            return Some(Route::InvoicePix { key: key.to_owned() });
        }
        if let Some(key) = path.strip_prefix("billing/disputes/") {
            if !key.is_empty() && !key.contains('/') {
                return Some(Route::Dispute { key: key.to_owned() });
            }
        }
        if let Some(key) = path
            .strip_prefix("billing/payments/")
            .and_then(|r| r.strip_suffix("/refund"))
        {
            if !key.is_empty() && !key.contains('/') {
                return Some(Route::Refund {
                    payment: key.to_owned(),
                });
            }
        }
        if let Some(name) = path.strip_prefix("dns-ssl/zones/") {
            if !name.is_empty() && !name.contains('/') {
                return Some(Route::Zone { name: name.to_owned() });
            }
        }
        if let Some(rest) = path.strip_prefix("servers/") {
            let mut parts = rest.splitn(2, '/');
            let key = parts.next().filter(|k| !k.is_empty())?.to_owned();
            let tab = match parts.next() {
                Some(t) => ServerTab::parse(t)?,
                None => ServerTab::Overview,
            };
            return Some(Route::Server { key, tab });
        }
        if let Some(rest) = path.strip_prefix("customers/") {
            let mut parts = rest.splitn(2, '/');
            let key = parts.next().filter(|k| !k.is_empty())?.to_owned();
            let tab = match parts.next() {
                Some(t) => CustomerTab::parse(t)?,
                None => CustomerTab::Profile,
            };
            return Some(Route::Customer { key, tab });
        }
        if let Some(key) = path
            .strip_prefix("migrations/")
            .filter(|k| !k.is_empty() && !k.contains('/'))
        {
            return Some(Route::Migration { key: key.to_owned() });
        }
        if let Some(key) = path.strip_prefix("services/") {
            if !key.is_empty() && !key.contains('/') {
                return Some(Route::Service { key: key.to_owned() });
            }
        }
        if let Some(key) = path.strip_prefix("billing/invoices/") {
            if !key.is_empty() && !key.contains('/') {
                return Some(Route::Invoice { key: key.to_owned() });
            }
        }
        if let Some(id) = path.strip_prefix("users/").and_then(|id| id.parse().ok()) {
            return Some(Route::User { id });
        }
        let rest = path.strip_prefix("tenants/")?;
        let mut parts = rest.splitn(2, '/');
        let key = parts.next().filter(|k| !k.is_empty())?.to_owned();
        let tab = match parts.next() {
            Some(t) => TenantTab::parse(t)?,
            None => TenantTab::Overview,
        };
        Some(Route::Tenant { key, tab })
    }

    pub fn path(&self) -> String {
        match self {
            Route::Page(p) => p.path.to_owned(),
            Route::Tenant { key, tab } => format!("tenants/{key}/{}", tab.key()),
            Route::Customer { key, tab } => format!("customers/{key}/{}", tab.key()),
            Route::Service { key } => format!("services/{key}"),
            Route::Migration { key } => format!("migrations/{key}"),
            Route::User { id } => format!("users/{id}"),
            Route::Server { key, tab } => format!("servers/{key}/{}", tab.key()),
            Route::Invoice { key } => format!("billing/invoices/{key}"),
            Route::InvoicePix { key } => format!("billing/invoices/{key}/pix"),
            Route::Dispute { key } => format!("billing/disputes/{key}"),
            Route::Refund { payment } => format!("billing/payments/{payment}/refund"),
            Route::Zone { name } => format!("dns-ssl/zones/{name}"),
        }
    }

    pub fn section(&self) -> &'static Section {
        let key = match self {
            Route::Page(p) => p.section,
            Route::Tenant { .. } => "tenants",
            Route::Customer { .. } => "customers",
            Route::Service { .. } => "services",
            Route::Migration { .. } => "migrations",
            Route::User { .. } => "settings",
            Route::Server { .. } => "servers",
            Route::Invoice { .. } => "billing",
            Route::InvoicePix { .. } => "billing",
            Route::Dispute { .. } | Route::Refund { .. } => "billing",
            Route::Zone { .. } => "dns-ssl",
        };
        section(key).unwrap_or(&SECTIONS[0])
    }

    /// Breadcrumbs below the root, e.g. ["Billing", "Invoices"].
    pub fn breadcrumbs(&self) -> Vec<String> {
        let s = self.section();
        let mut out = vec![s.title.to_owned()];
        match self {
            Route::Page(p) if s.pages.len() > 1 => out.push(p.title.to_owned()),
            Route::Page(_) => {}
            Route::Tenant { key, tab } => {
                out.push(key.clone());
                out.push(tab.title().to_owned());
            }
            Route::Customer { key, tab } => {
                out.push(crumb_id(key));
                out.push(tab.title().to_owned());
            }
            Route::Service { key } => {
                out.push("Services".to_owned());
                out.push(crumb_id(key));
            }
            Route::Migration { key } => out.push(crumb_id(key)),
            Route::User { id } => {
                out.push("User".to_owned());
                out.push(backend::ids::short(*id));
            }
            Route::Server { key, tab } => {
                out.push(key.clone());
                out.push(tab.title().to_owned());
            }
            Route::Invoice { key } => {
                out.push("Invoices".to_owned());
                out.push(crumb_id(key));
            }
            Route::InvoicePix { key } => {
                out.push("Invoices".to_owned());
                out.push(crumb_id(key));
                out.push("PIX".to_owned());
            }
            Route::Dispute { key } => {
                out.push("Disputes".to_owned());
                out.push(crumb_id(key));
            }
            Route::Refund { payment } => {
                out.push("Payments".to_owned());
                out.push(crumb_id(payment));
                out.push("Refund".to_owned());
            }
            Route::Zone { name } => {
                out.push("Zones".to_owned());
                out.push(name.clone());
            }
        }
        out
    }

    /// The page `q`/`Esc` climbs to when there is no history: tenant → tenant list,
    /// create form → list; top-level pages have no parent.
    pub fn parent(&self) -> Option<Route> {
        match self {
            Route::Tenant { .. } => Route::parse("tenants"),
            Route::Customer { .. } => Route::parse("customers"),
            Route::Service { .. } => Route::parse("services/list"),
            Route::Migration { .. } => Route::parse("migrations"),
            Route::Server { .. } => Route::parse("servers"),
            Route::Invoice { .. } => Route::parse("billing/invoices"),
            Route::InvoicePix { .. } => Route::parse("billing/invoices"),
            Route::Dispute { .. } => Route::parse("billing/disputes"),
            Route::Refund { .. } => Route::parse("billing/payments"),
            Route::Zone { .. } => Route::parse("dns-ssl/zones"),
            Route::Page(p) if p.path == "tenants/create" => Route::parse("tenants"),
            Route::Page(p) if p.path == "servers/create" => Route::parse("servers"),
            Route::Page(p) if p.path == "services/new" => Route::parse("services/list"),
            Route::Page(p) if p.path == "migrations/new" => Route::parse("migrations"),
            Route::Page(_) | Route::User { .. } => None,
        }
    }

    /// The sibling pages shown as tabs, and which one this is.
    pub fn tabs(&self) -> Option<(Vec<&'static str>, usize)> {
        let Route::Page(p) = self else { return None };
        let s = self.section();
        if s.pages.len() < 2 {
            return None;
        }
        let titles = s
            .pages
            .iter()
            .filter_map(|path| page_at(path))
            .map(|p| p.title)
            .collect();
        let index = s.pages.iter().position(|path| *path == p.path).unwrap_or(0);
        Some((titles, index))
    }

    /// The sibling page `step` tabs away (wrapping), for Tab / Shift-Tab.
    pub fn sibling(&self, step: isize) -> Option<Route> {
        let Route::Page(p) = self else { return None };
        let pages = self.section().pages;
        let i = pages.iter().position(|path| *path == p.path)? as isize;
        let n = pages.len() as isize;
        let j = (i + step).rem_euclid(n) as usize;
        pages.get(j).and_then(|path| Route::parse(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_page_exists_and_every_page_has_a_section() {
        for s in SECTIONS {
            for p in s.pages {
                assert_eq!(page_at(p).map(|p| p.section), Some(s.key), "{p}");
            }
        }
        for p in PAGES {
            assert!(
                section(p.section).is_some_and(|s| s.pages.contains(&p.path)),
                "{}",
                p.path
            );
        }
    }

    #[test]
    fn parses_sections_pages_and_tenants() {
        assert_eq!(
            Route::parse("billing").map(|r| r.path()),
            Some("billing/invoices".into())
        );
        assert_eq!(
            Route::parse("dns-ssl/failures").map(|r| r.path()),
            Some("dns-ssl/failures".into())
        );
        assert_eq!(
            Route::parse("tenants/acme/limits").map(|r| r.path()),
            Some("tenants/acme/limits".into())
        );
        assert_eq!(
            Route::parse("tenants/acme").map(|r| r.path()),
            Some("tenants/acme/overview".into())
        );
        assert_eq!(Route::parse("tenants/acme/nope"), None);
        assert_eq!(
            Route::parse("customers/0192abcd").map(|r| r.path()),
            Some("customers/0192abcd/profile".into())
        );
        assert_eq!(
            Route::parse("customers/0192abcd/audit").map(|r| r.path()),
            Some("customers/0192abcd/audit".into())
        );
        assert_eq!(Route::parse("customers").map(|r| r.path()), Some("customers".into()));
        assert_eq!(
            Route::parse("queues").map(|r| r.path()),
            Some("services/provisioning".into())
        );
        assert_eq!(Route::parse("nowhere"), None);
    }

    #[test]
    fn parents_and_siblings() {
        let detail = Route::parse("tenants/acme").unwrap();
        assert_eq!(detail.parent().map(|r| r.path()), Some("tenants".into()));
        assert_eq!(Route::parse("servers").unwrap().parent(), None);
        let d = Route::parse("billing/disputes/0aa1b2c3").unwrap();
        assert_eq!(d, Route::Dispute { key: "0aa1b2c3".into() });
        assert_eq!(d.path(), "billing/disputes/0aa1b2c3");
        assert_eq!(d.parent().map(|r| r.path()), Some("billing/disputes".into()));
        let r = Route::parse("billing/payments/0aa1b2c3/refund").unwrap();
        assert_eq!(r.path(), "billing/payments/0aa1b2c3/refund");
        assert_eq!(r.breadcrumbs(), ["Billing", "Payments", "0aa1b2c3", "Refund"]);
        assert_eq!(Route::parse("billing/payments/x/y"), None);
        let inv = Route::parse("billing/invoices").unwrap();
        assert_eq!(inv.sibling(-1).map(|r| r.path()), Some("billing/coupons".into()));
        assert_eq!(inv.sibling(1).map(|r| r.path()), Some("billing/payments".into()));
    }

    #[test]
    fn breadcrumbs_show_a_uuid_as_the_short_id_the_screens_show() {
        // Two migrations created in the same minute share their first 8 hex digits (a
        // UUIDv7's timestamp); the screens and every verb use the last 8.
        let id = "019a2b3c-4d5e-7f60-8123-456789abcdef";
        let m = Route::parse(&format!("migrations/{id}")).unwrap();
        assert_eq!(m.breadcrumbs(), ["Migrations", "89abcdef"]);
        let c = Route::parse(&format!("customers/{id}")).unwrap();
        assert_eq!(c.breadcrumbs()[1], "89abcdef");
        // A short id the user typed stays as typed.
        let typed = Route::parse("migrations/991e5dc3").unwrap();
        assert_eq!(typed.breadcrumbs(), ["Migrations", "991e5dc3"]);
    }
}
