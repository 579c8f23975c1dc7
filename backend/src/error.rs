//! Typed service errors. The TUI, the batch mode and the HTTP API each map them to their own
//! form (flash message, exit code, status code); none of them parse strings.

use serde::Serialize;

/// A validation failure on one named field, e.g. `domain: must be a valid host name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{entity} not found: {key}")]
    NotFound { entity: &'static str, key: String },
    #[error("invalid input: {}", format_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Allowed, but it would undercut what exists (a limit below the current usage): the
    /// fields say what, and the caller repeats the call with its confirmation flag.
    #[error("needs confirmation: {}", format_fields(.0))]
    NeedsConfirmation(Vec<FieldError>),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
}

fn format_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    pub fn not_found(entity: &'static str, key: impl Into<String>) -> Self {
        ServiceError::NotFound {
            entity,
            key: key.into(),
        }
    }

    /// Short machine-readable kind, used in JSON error output and later in API bodies.
    pub fn kind(&self) -> &'static str {
        match self {
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Validation(_) => "validation",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::PermissionDenied(_) => "permission_denied",
            ServiceError::NeedsConfirmation(_) => "needs_confirmation",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::Database(_) => "database",
        }
    }

    pub fn fields(&self) -> &[FieldError] {
        match self {
            ServiceError::Validation(f) | ServiceError::NeedsConfirmation(f) => f,
            _ => &[],
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            // Unique violations become conflicts so callers can say "already exists" instead
            // of surfacing a driver message.
            if db.is_unique_violation() {
                return ServiceError::Conflict(describe_unique(db.message()));
            }
            if db.is_foreign_key_violation() {
                return ServiceError::Conflict(format!(
                    "a referenced record is missing or still in use ({})",
                    db.message()
                ));
            }
            if db.is_check_violation() {
                return ServiceError::invalid("record", format!("rejected by a database check: {}", db.message()));
            }
        }
        match e {
            sqlx::Error::RowNotFound => ServiceError::NotFound {
                entity: "record",
                key: String::new(),
            },
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                ServiceError::Unavailable(format!("database: {e}"))
            }
            other => ServiceError::Database(other.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for ServiceError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        ServiceError::Database(format!("migration failed: {e}"))
    }
}

fn describe_unique(message: &str) -> String {
    // SQLite: "UNIQUE constraint failed: tenants.slug"; Postgres: "duplicate key value
    // violates unique constraint \"tenants_slug_key\"".
    for field in ["slug", "domain", "email", "username", "name", "prefix", "number"] {
        if message.contains(&format!(".{field}")) || message.contains(&format!("_{field}_")) {
            return format!("{field} already in use");
        }
    }
    format!("already exists ({message})")
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
