//! Runs the TUI on a throwaway SQLite database with a few tenants:
//! `cargo run -p painel-ui --example tui [route]`.

use backend::tenants::{self, NewTenant};
use backend::{Actor, Db};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("tui.db").display())).await?;
    db.migrate().await?;
    let actor = Actor::system("example");
    for i in 0..250 {
        let name = format!("Brand {i:03}");
        let domain = format!("brand-{i:03}.example.com");
        tenants::create(
            &db,
            &actor,
            NewTenant {
                name,
                domain,
                ..NewTenant::default()
            },
        )
        .await?;
    }
    let route = std::env::args().nth(1);
    painel_ui::run(
        db.clone(),
        Actor::local_operator(),
        painel_ui::UiOptions {
            theme: widgets::Theme::dark(),
            backend_label: db.backend().as_str().to_owned(),
            start_route: route.or(Some("tenants".into())),
            keys: None,
            login: None,
            read_only: false,
            keymap: None,
        },
    )
    .await
}
