//! `painel roles list|grant|revoke`: the editable permission policy (docs/adr/0011).

use anyhow::Result;
use backend::rbac::{self, RoleInfo};
use backend::sensitive::Proof;
use backend::{Actor, Db};

use crate::cli::{RoleEditArgs, RolesCmd};
use crate::commands::auth;
use crate::config::Config;
use crate::output::{Printer, Record};

/// A role as batch mode prints it: the permission keys joined by spaces in tables and CSV,
/// an array in JSON.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct RoleRow<'a>(&'a RoleInfo);

impl Record for RoleRow<'_> {
    fn columns() -> &'static [&'static str] {
        &["key", "name", "source", "permissions"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.0.key.clone(),
            self.0.name.clone(),
            self.0.source.to_owned(),
            self.0.permissions.join(" "),
        ]
    }
}

pub async fn run(cfg: &Config, db: &Db, actor: &Actor, cmd: RolesCmd, out: &mut Printer) -> Result<()> {
    match cmd {
        RolesCmd::List => {
            let roles = rbac::list(db, actor).await?;
            out.list(&roles.iter().map(RoleRow).collect::<Vec<_>>())
        }
        RolesCmd::Grant(a) => edit(cfg, db, actor, a, true, out).await,
        RolesCmd::Revoke(a) => edit(cfg, db, actor, a, false, out).await,
    }
}

async fn edit(cfg: &Config, db: &Db, actor: &Actor, a: RoleEditArgs, grant: bool, out: &mut Printer) -> Result<()> {
    let keys = auth::step_up_keys(cfg, db, a.totp.as_deref()).await?;
    let proof = Proof::confirm(&a.confirm).with_step_up(a.totp.as_deref(), keys.as_ref());
    let role = if grant {
        rbac::grant(db, actor, &a.role, &a.permission, &proof).await?
    } else {
        rbac::revoke(db, actor, &a.role, &a.permission, &proof).await?
    };
    out.one(&RoleRow(&role))
}
