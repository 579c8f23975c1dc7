//! Effective configuration: defaults, then the config file, then environment, then flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The file format (`config.toml`); every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    redis_url: Option<String>,
    theme: Option<String>,
    log_level: Option<String>,
    data_dir: Option<PathBuf>,
    authorized_keys: Option<PathBuf>,
    ssl: Option<SslFile>,
}

/// `[ssl]`: where the SSL checker connects and which extra roots it trusts (docs/adr/0032).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SslFile {
    /// A domain, or `server:<name>` for every domain of that server → `host:port`.
    #[serde(default)]
    connect: std::collections::BTreeMap<String, String>,
    /// PEM or DER files of roots trusted besides Mozilla's.
    #[serde(default)]
    trust: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: String,
    /// default, file, env or flag.
    pub source: &'static str,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub database_url: String,
    /// Redis for wake-ups and live events; `None` = polling only.
    pub redis_url: Option<String>,
    pub theme: String,
    pub log_level: String,
    /// The `authorized_keys` file whose painel block `painel ssh-keys` maintains.
    pub authorized_keys: PathBuf,
    /// The context whose database this run uses (`None`: a flag, the environment, the config
    /// file or the default chose it).
    pub context: Option<String>,
    /// The SSL checker's connection overrides and extra roots (`[ssl]`; the worker hands it to
    /// the ssl jobs).
    pub ssl: backend::ssl::ProbeConfig,
    pub settings: Vec<Setting>,
}

pub struct Overrides<'a> {
    pub config: Option<&'a Path>,
    pub database_url: Option<&'a str>,
    pub data_dir: Option<&'a Path>,
    /// `--context NAME`: this context instead of the selected one.
    pub context: Option<&'a str>,
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "painel")
}

impl Config {
    pub fn load(o: &Overrides<'_>) -> Result<Config> {
        let dirs = project_dirs();
        let config_file = o
            .config
            .map(Path::to_path_buf)
            .or_else(|| dirs.as_ref().map(|d| d.config_dir().join("config.toml")))
            .unwrap_or_else(|| PathBuf::from("painel.toml"));
        let file: FileConfig = match std::fs::read_to_string(&config_file) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("invalid config file {}", config_file.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && o.config.is_none() => FileConfig::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read config file {}", config_file.display())),
        };
        let mut settings = Vec::new();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());

        let (data_dir, src) = pick(
            o.data_dir.map(Path::to_path_buf),
            None::<PathBuf>,
            file.data_dir,
            dirs.as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .unwrap_or_else(|| PathBuf::from(".painel")),
        );
        settings.push(Setting {
            key: "data_dir",
            value: data_dir.display().to_string(),
            source: src,
        });

        let default_db = format!("sqlite://{}", data_dir.join("painel.sqlite").display());
        // A context sits between the environment and the config file: `--database-url` and
        // PAINEL_DATABASE_URL still win, a selected context beats the file (docs/adr/0017).
        let contexts = crate::context::Contexts::load(&crate::context::file_for(&config_file))?;
        let chosen: Option<(String, String)> = match o.context {
            Some(name) => {
                let e = contexts.contexts.get(name).ok_or_else(|| {
                    backend::ServiceError::not_found("context", format!("{name} (see `painel context list`)"))
                })?;
                Some((name.to_owned(), e.database_url.clone()))
            }
            None => contexts.selected().map(|(n, u)| (n.to_owned(), u.to_owned())),
        };
        let flag_url = o.database_url.map(str::to_owned);
        let env_url = env("PAINEL_DATABASE_URL");
        let context = chosen
            .as_ref()
            .filter(|_| flag_url.is_none() && (env_url.is_none() || o.context.is_some()))
            .map(|(n, _)| n.clone());
        let (database_url, src) = match (&context, &chosen) {
            (Some(_), Some((_, url))) => (url.clone(), "context"),
            _ => pick(flag_url, env_url, file.database_url, default_db),
        };
        settings.push(Setting {
            key: "database_url",
            value: mask_url(&database_url),
            source: src,
        });
        settings.push(Setting {
            key: "context",
            value: context.clone().unwrap_or_else(|| "(none)".into()),
            source: if context.is_some() { "context" } else { "default" },
        });

        let (redis_url, src) = pick(None, env("PAINEL_REDIS_URL"), file.redis_url.map(Some), None::<String>);
        settings.push(Setting {
            key: "redis_url",
            value: redis_url
                .as_deref()
                .map(mask_url)
                .unwrap_or_else(|| "(none: polling only)".into()),
            source: src,
        });

        let (theme, src) = pick(None, env("PAINEL_THEME"), file.theme, "dark".to_owned());
        settings.push(Setting {
            key: "theme",
            value: theme.clone(),
            source: src,
        });

        let (log_level, src) = pick(None, env("PAINEL_LOG"), file.log_level, "info".to_owned());
        settings.push(Setting {
            key: "log_level",
            value: log_level.clone(),
            source: src,
        });

        // Never the key itself: where it comes from (docs/adr/0006).
        let (value, source) = match env("PAINEL_MASTER_KEY") {
            Some(_) => ("**** (PAINEL_MASTER_KEY)".to_owned(), "env"),
            None => (data_dir.join("master.key").display().to_string(), "default"),
        };
        settings.push(Setting {
            key: "master_key",
            value,
            source,
        });

        // The service account's own file, by its /etc/passwd home (docs/adr/0012).
        let home = backend::actor::OsUser::current()
            .home
            .unwrap_or_else(|| PathBuf::from("."));
        let (authorized_keys, src) = pick(
            None,
            None::<PathBuf>,
            file.authorized_keys,
            home.join(".ssh/authorized_keys"),
        );
        settings.push(Setting {
            key: "authorized_keys",
            value: authorized_keys.display().to_string(),
            source: src,
        });

        let ssl = ssl_probe(file.ssl.unwrap_or_default(), &config_file)?;
        settings.push(Setting {
            key: "ssl.connect",
            value: if ssl.connect.is_empty() {
                "(none: each service's server on :443)".into()
            } else {
                ssl.connect
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            source: if ssl.connect.is_empty() { "default" } else { "file" },
        });
        settings.push(Setting {
            key: "ssl.trust",
            value: format!("{} extra root(s)", ssl.extra_roots.len()),
            source: if ssl.extra_roots.is_empty() { "default" } else { "file" },
        });

        let log_dir = data_dir.join("logs");
        settings.push(Setting {
            key: "log_dir",
            value: log_dir.display().to_string(),
            source: "default",
        });
        settings.insert(
            0,
            Setting {
                key: "config_file",
                value: config_file.display().to_string(),
                source: if o.config.is_some() { "flag" } else { "default" },
            },
        );

        Ok(Config {
            config_file,
            data_dir,
            log_dir,
            database_url,
            redis_url: redis_url.filter(|u| !u.trim().is_empty()),
            theme,
            log_level,
            authorized_keys,
            context,
            ssl,
            settings,
        })
    }
}

fn pick<T, U: Into<T>>(flag: Option<T>, env: Option<U>, file: Option<T>, default: T) -> (T, &'static str) {
    if let Some(v) = flag {
        (v, "flag")
    } else if let Some(v) = env {
        (v.into(), "env")
    } else if let Some(v) = file {
        (v, "file")
    } else {
        (default, "default")
    }
}

/// Hides the password of `scheme://user:password@host/…`; other URLs pass unchanged.
/// Creates `dir` (and missing parents) as 0700: the data dir holds the database, the master
/// key and logs, none of them for other local users.
pub fn private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// A warning when an existing data dir is open to other users (we do not change modes of a
/// directory the operator may have chosen on purpose, but say how to fix it).
pub fn data_dir_warning(dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(format!(
                "warning: data dir {} is open to other users (mode {mode:03o}); run `chmod 700 {}`",
                dir.display(),
                dir.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    None
}

pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(p) => p,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:****@{host}"),
        None => url.to_owned(),
    }
}

/// `[ssl]` checked and read: every `connect` value is `host:port`, every `trust` file holds
/// certificates (a relative path is beside the config file).
fn ssl_probe(f: SslFile, config_file: &Path) -> Result<backend::ssl::ProbeConfig> {
    let mut cfg = backend::ssl::ProbeConfig::default();
    for (k, v) in f.connect {
        let port_ok = v
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if k.trim().is_empty() || !port_ok {
            anyhow::bail!(
                "invalid [ssl] connect in {}: {k} = {v:?} (give host:port)",
                config_file.display()
            );
        }
        cfg.connect.insert(k.trim().to_lowercase(), v);
    }
    let base = config_file.parent().unwrap_or_else(|| Path::new("."));
    for path in f.trust {
        let path = if path.is_relative() { base.join(path) } else { path };
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read [ssl] trust file {}", path.display()))?;
        let certs = backend::ssl::probe::trust_file_certs(&bytes)
            .map_err(|e| anyhow::anyhow!("[ssl] trust file {}: {e}", path.display()))?;
        cfg.extra_roots.extend(certs);
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssl_checker_is_configured_in_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        // base64 of "not really a certificate": the file is read, not judged (roots() skips it).
        let pem = "-----BEGIN CERTIFICATE-----\nbm90IHJlYWxseSBhIGNlcnRpZmljYXRl\n-----END CERTIFICATE-----\n";
        std::fs::write(dir.path().join("internal-ca.pem"), pem).unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[ssl]\nconnect = { \"server:whm-gru-01\" = \"10.0.0.5:443\", \"Loja.com.br\" = \"[::1]:8443\" }\ntrust = [\"internal-ca.pem\"]\n",
        )
        .unwrap();
        fn o<'a>(f: &'a Path, dir: &'a Path) -> Overrides<'a> {
            Overrides {
                config: Some(f),
                database_url: Some("sqlite::memory:"),
                data_dir: Some(dir),
                context: None,
            }
        }
        let cfg = Config::load(&o(&file, dir.path())).unwrap();
        assert_eq!(
            cfg.ssl.connect.get("server:whm-gru-01").map(String::as_str),
            Some("10.0.0.5:443")
        );
        assert_eq!(
            cfg.ssl.connect.get("loja.com.br").map(String::as_str),
            Some("[::1]:8443")
        );
        assert_eq!(cfg.ssl.extra_roots, vec![b"not really a certificate".to_vec()]);
        let shown: Vec<(&str, &str)> = cfg
            .settings
            .iter()
            .filter(|s| s.key.starts_with("ssl."))
            .map(|s| (s.key, s.source))
            .collect();
        assert_eq!(shown, [("ssl.connect", "file"), ("ssl.trust", "file")]);

        std::fs::write(&file, "[ssl]\nconnect = { \"loja.com.br\" = \"10.0.0.5\" }\n").unwrap();
        let e = Config::load(&o(&file, dir.path())).unwrap_err().to_string();
        assert!(e.contains("host:port"), "{e}");
        std::fs::write(&file, "[ssl]\ntrust = [\"missing.pem\"]\n").unwrap();
        assert!(Config::load(&o(&file, dir.path())).is_err());
        std::fs::write(&file, "[ssl]\nconect = {}\n").unwrap();
        assert!(Config::load(&o(&file, dir.path())).is_err(), "unknown keys are refused");
    }

    #[test]
    fn masks_passwords_only() {
        assert_eq!(
            mask_url("postgres://app:s3cr3t@db:5432/painel"),
            "postgres://app:****@db:5432/painel"
        );
        assert_eq!(mask_url("postgres://app@db/painel"), "postgres://app@db/painel");
        assert_eq!(
            mask_url("redis://:pw@127.0.0.1:6379/0"),
            "redis://:****@127.0.0.1:6379/0"
        );
        assert_eq!(
            mask_url("sqlite:///var/lib/painel.sqlite"),
            "sqlite:///var/lib/painel.sqlite"
        );
    }
}
