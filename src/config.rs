//! Typed settings, read once from the environment and validated before anything starts.
//!
//! Every error names the variable and what is wrong with it, so an operator can fix a
//! deployment from one log line. Secrets never reach `Debug` output.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use url::Url;

use crate::encryption::EncryptionKey;

/// A configuration value that cannot be used, named by its environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: impl Into<String>) -> Self {
        Self {
            variable,
            problem: problem.into(),
        }
    }
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (the embedded default).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL; it carries a password, so it is never printed whole.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parse `sqlite://PATH`, `sqlite:PATH` or `postgres[ql]://…`.
    pub fn parse(variable: &'static str, raw: &str) -> Result<Self, ConfigError> {
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() || path.contains(":memory:") {
                return Err(ConfigError::new(
                    variable,
                    "a SQLite URL needs a file path, e.g. sqlite://./data/whatsdex.db",
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let url = Url::parse(raw)
            .map_err(|e| ConfigError::new(variable, format!("not a valid URL ({e})")))?;
        match url.scheme() {
            "postgres" | "postgresql" if url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(Self::Postgres(raw.to_owned()))
            }
            "postgres" | "postgresql" => Err(ConfigError::new(
                variable,
                "a PostgreSQL URL needs a host, e.g. postgres://user:password@host:5432/db",
            )),
            other => Err(ConfigError::new(
                variable,
                format!("unsupported scheme `{other}`: use sqlite:// or postgres://"),
            )),
        }
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The user name a PostgreSQL URL connects as (`None` for SQLite or when unset).
    pub fn postgres_user(&self) -> Option<String> {
        match self {
            Self::Postgres(raw) => Url::parse(raw)
                .ok()
                .map(|u| u.username().to_owned())
                .filter(|u| !u.is_empty()),
            Self::Sqlite(_) => None,
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(raw) => write!(f, "{}", redact_url(raw)),
        }
    }
}

/// A URL with its password replaced, for logs.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("[redacted]"));
            }
            url.to_string()
        }
        Err(_) => "[unparseable url]".to_owned(),
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object a line, for a log collector.
    Json,
}

/// Every setting the binary reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub host: String,
    /// Port to bind.
    pub port: u16,
    /// Folder for the embedded database and the generated encryption key.
    pub data_dir: PathBuf,
    /// This instance's name among a deployment's instances, when the platform gives one;
    /// else one is kept in `data_dir` (see `instance`).
    pub instance_id: Option<String>,
    /// The application's database (on PostgreSQL: the app role).
    pub database_url: DatabaseUrl,
    /// The schema owner's database URL, for migrations (PostgreSQL only).
    pub migration_database_url: Option<DatabaseUrl>,
    /// Connections in the database pool.
    pub database_pool_size: u32,
    /// Redis for cache, sessions and rate limits; in process when unset.
    pub redis_url: Option<RedisUrl>,
    /// Put before every Redis key, so several deployments can share one Redis.
    pub redis_key_prefix: String,
    /// The public URL of the site.
    pub app_base_url: Url,
    /// The key that encrypts secrets at rest; generated under `data_dir` when unset on SQLite.
    pub encryption_key: Option<EncryptionKey>,
    /// How logs are written.
    pub log_format: LogFormat,
    /// SMTP server for outgoing email; when unset, emails (and their links) go to the log.
    pub smtp_url: Option<SmtpUrl>,
    /// The sender of outgoing email.
    pub email_from: String,
    /// Where people write for help (a suspended workspace, say); without it, pages tell them
    /// to contact the operator of this server.
    pub support_email: Option<String>,
    /// Whether a trusted reverse proxy sets `X-Forwarded-For` (Render, Railway, a load
    /// balancer); only then is the client address taken from it.
    pub behind_proxy: bool,
    /// WhatsApp Web chat server (`ws://` or `wss://`); the real service when unset.
    pub whatsapp_ws_url: Option<Url>,
    /// WhatsApp Web version to announce, `primary.secondary.tertiary`; looked up online
    /// when unset.
    pub whatsapp_version: Option<(u32, u32, u32)>,
    /// Meta's Graph API (`https://graph.facebook.com`), for Cloud API bots; a fake in tests.
    pub meta_graph_url: Url,
    /// The platform's own Meta app, when the operator runs one for every workspace: its app
    /// secret signs deliveries to `/webhooks/whatsapp`, and its verify token answers Meta's
    /// handshake there. Without both, only the per-bot webhook URLs work.
    pub meta_app: Option<MetaApp>,
    /// The bearer token that opens `/metrics`; without one, `/metrics` is off (404).
    pub metrics_token: Option<MetricsToken>,
    /// Stripe billing and trials.
    pub billing: BillingConfig,
    /// The S3-compatible bucket media is kept in (`MEDIA_BUCKET_URL`); under `data_dir`
    /// when unset.
    pub media_bucket: Option<MediaBucket>,
}

/// `2.3000.1023456789` as its three numbers.
fn parse_version(raw: &str) -> Option<(u32, u32, u32)> {
    let mut parts = raw.trim().split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// The `/metrics` bearer token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl MetricsToken {
    /// Whether `offered` is the token, compared in constant time.
    pub fn matches(&self, offered: &str) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_bytes().ct_eq(offered.as_bytes()))
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(…)")
    }
}

/// A secret string (API key, signing secret); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The operator's Meta app (`META_APP_SECRET`, `META_VERIFY_TOKEN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaApp {
    pub app_secret: Secret,
    pub verify_token: Secret,
}

impl MetaApp {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let value = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());
        match (value("META_APP_SECRET"), value("META_VERIFY_TOKEN")) {
            (None, None) => Ok(None),
            (Some(secret), Some(token)) => {
                if token.len() < 16 {
                    return Err(ConfigError::new(
                        "META_VERIFY_TOKEN",
                        "must be at least 16 characters (e.g. `openssl rand -hex 24`)",
                    ));
                }
                Ok(Some(Self {
                    app_secret: Secret(secret),
                    verify_token: Secret(token),
                }))
            }
            (Some(_), None) => Err(ConfigError::new(
                "META_VERIFY_TOKEN",
                "must be set with META_APP_SECRET",
            )),
            (None, Some(_)) => Err(ConfigError::new(
                "META_APP_SECRET",
                "must be set with META_VERIFY_TOKEN",
            )),
        }
    }
}

/// An S3-compatible bucket for media: `MEDIA_BUCKET_URL=s3://bucket/optional-prefix` with the
/// usual `AWS_*` credentials. `Debug` never shows the secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaBucket {
    pub bucket: String,
    /// Put before every key (no leading or trailing `/`); empty for none.
    pub prefix: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Another S3-compatible service (MinIO, R2, …); AWS when unset.
    pub endpoint: Option<Url>,
}

impl MediaBucket {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        let Some(raw) = get("MEDIA_BUCKET_URL") else {
            return Ok(None);
        };
        let shape = || {
            ConfigError::new(
                "MEDIA_BUCKET_URL",
                "must look like s3://bucket or s3://bucket/prefix",
            )
        };
        let rest = raw.strip_prefix("s3://").ok_or_else(shape)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.split('/').all(|part| {
            prefix.is_empty()
                || (!part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        });
        if !bucket_ok || !prefix_ok {
            return Err(shape());
        }
        let required = |name: &'static str| {
            get(name).ok_or_else(|| ConfigError::new(name, "must be set with MEDIA_BUCKET_URL"))
        };
        let endpoint = get("AWS_ENDPOINT_URL")
            .map(|raw| {
                Url::parse(&raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .ok_or_else(|| {
                        ConfigError::new(
                            "AWS_ENDPOINT_URL",
                            "must be an http(s) URL, e.g. https://minio.example.com:9000",
                        )
                    })
            })
            .transpose()?;
        Ok(Some(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            region: required("AWS_REGION")?,
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: Secret(required("AWS_SECRET_ACCESS_KEY")?),
            endpoint,
        }))
    }
}

/// Stripe and trial settings. Without `STRIPE_SECRET_KEY` the plans are shown but cannot be
/// bought (the upgrade page says so).
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// `sk_live_…` / `sk_test_…`.
    pub stripe_secret_key: Option<Secret>,
    /// `whsec_…`: verifies `/webhooks/stripe`; without it every webhook is refused.
    pub stripe_webhook_secret: Option<Secret>,
    /// Where the Stripe API lives (a local fake in tests).
    pub stripe_api_base: Url,
    /// Stripe price ids of the paid plans.
    pub price_starter: Option<String>,
    /// Stripe price id of Pro.
    pub price_pro: Option<String>,
    /// Stripe price id of Business.
    pub price_business: Option<String>,
    /// The plan a new workspace tries.
    pub trial_plan: String,
    /// How long the trial lasts; 0 turns trials off.
    pub trial_days: u32,
}

impl BillingConfig {
    /// The Stripe price id configured for a plan, if any.
    pub fn price_for(&self, plan_id: &str) -> Option<&str> {
        match plan_id {
            "starter" => self.price_starter.as_deref(),
            "pro" => self.price_pro.as_deref(),
            "business" => self.price_business.as_deref(),
            _ => None,
        }
    }

    /// The plan whose Stripe price is `price_id`.
    pub fn plan_for_price(&self, price_id: &str) -> Option<&'static str> {
        ["starter", "pro", "business"]
            .into_iter()
            .find(|plan| self.price_for(plan) == Some(price_id))
    }

    /// Whether customers can subscribe (a secret key is configured).
    pub fn checkout_enabled(&self) -> bool {
        self.stripe_secret_key.is_some()
    }

    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = |name: &'static str, prefix: &str, example: &str| {
            get(name)
                .map(|raw| {
                    if raw.starts_with(prefix) {
                        Ok(Secret(raw))
                    } else {
                        Err(ConfigError::new(
                            name,
                            format!("must start with `{prefix}` ({example})"),
                        ))
                    }
                })
                .transpose()
        };
        let stripe_secret_key = secret(
            "STRIPE_SECRET_KEY",
            "sk_",
            "a secret key from the Stripe dashboard, sk_live_… or sk_test_…",
        )?;
        let stripe_webhook_secret = secret(
            "STRIPE_WEBHOOK_SECRET",
            "whsec_",
            "the signing secret of the webhook endpoint",
        )?;
        let stripe_api_base = match get("STRIPE_API_BASE") {
            None => Url::parse("https://api.stripe.com/")
                .map_err(|e| ConfigError::new("STRIPE_API_BASE", e.to_string()))?,
            Some(raw) => match Url::parse(&raw) {
                Ok(mut url)
                    if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() =>
                {
                    // The client appends `v1/…` to the base: keep it a folder.
                    if !url.path().ends_with('/') {
                        let folder = format!("{}/", url.path());
                        url.set_path(&folder);
                    }
                    url
                }
                _ => {
                    return Err(ConfigError::new(
                        "STRIPE_API_BASE",
                        "must be an http(s) URL, e.g. https://api.stripe.com/",
                    ));
                }
            },
        };
        let price = |name: &'static str| {
            get(name)
                .map(|raw| {
                    if raw.starts_with("price_") {
                        Ok(raw)
                    } else {
                        Err(ConfigError::new(
                            name,
                            "must be a Stripe price id (price_…)",
                        ))
                    }
                })
                .transpose()
        };
        let trial_plan = get("TRIAL_PLAN").unwrap_or_else(|| "pro".to_owned());
        if !matches!(trial_plan.as_str(), "starter" | "pro" | "business") {
            return Err(ConfigError::new(
                "TRIAL_PLAN",
                format!("`{trial_plan}` is not a paid plan: use starter, pro or business"),
            ));
        }
        let trial_days = match get("TRIAL_DAYS") {
            None => 14,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|d| *d <= 365)
                .ok_or_else(|| {
                    ConfigError::new("TRIAL_DAYS", "must be a number of days from 0 to 365")
                })?,
        };
        Ok(Self {
            stripe_secret_key,
            stripe_webhook_secret,
            stripe_api_base,
            price_starter: price("STRIPE_PRICE_STARTER")?,
            price_pro: price("STRIPE_PRICE_PRO")?,
            price_business: price("STRIPE_PRICE_BUSINESS")?,
            trial_plan,
            trial_days,
        })
    }
}

/// An SMTP URL; carries a password, so it is never printed whole.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(String);

impl SmtpUrl {
    /// The URL to connect with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// A Redis URL; may carry a password, so it is never printed whole.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// The URL to connect with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl Config {
    /// Read the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read the configuration through `lookup`, which answers a variable's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let port = match get("PORT") {
            None => 8080,
            Some(raw) => parse_port(&raw)?,
        };
        let host = get("HOST").unwrap_or_else(|| "0.0.0.0".to_owned());
        if host != "localhost" && host.parse::<IpAddr>().is_err() {
            return Err(ConfigError::new(
                "HOST",
                format!("`{host}` is not an IP address (e.g. 0.0.0.0, 127.0.0.1 or ::)"),
            ));
        }
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".to_owned()));
        let instance_id = get("INSTANCE_ID")
            .map(|raw| {
                let fits = (1..=64).contains(&raw.len())
                    && raw
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
                fits.then_some(raw).ok_or_else(|| {
                    ConfigError::new(
                        "INSTANCE_ID",
                        "must be 1 to 64 letters, digits, dots, dashes, underscores or colons",
                    )
                })
            })
            .transpose()?;
        let database_url = match get("DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse("DATABASE_URL", &raw)?,
            None => DatabaseUrl::Sqlite(data_dir.join("whatsdex.db")),
        };
        let migration_database_url = get("MIGRATION_DATABASE_URL")
            .map(|raw| DatabaseUrl::parse("MIGRATION_DATABASE_URL", &raw))
            .transpose()?;
        if let Some(migration) = &migration_database_url
            && migration.is_postgres() != database_url.is_postgres()
        {
            return Err(ConfigError::new(
                "MIGRATION_DATABASE_URL",
                "must point at the same kind of database as DATABASE_URL",
            ));
        }
        let database_pool_size = match get("DATABASE_POOL_SIZE") {
            None => 10,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=512).contains(n))
                .ok_or_else(|| {
                    ConfigError::new("DATABASE_POOL_SIZE", "must be a number from 1 to 512")
                })?,
        };
        let redis_url = get("REDIS_URL")
            .map(|raw| parse_redis_url(&raw))
            .transpose()?;
        let redis_key_prefix = get("REDIS_KEY_PREFIX").unwrap_or_else(|| "whatsdex:".to_owned());
        let app_base_url = match get("APP_BASE_URL") {
            None => Url::parse(&format!("http://localhost:{port}"))
                .map_err(|e| ConfigError::new("PORT", e.to_string()))?,
            Some(raw) => parse_base_url(&raw)?,
        };
        let encryption_key = get("ENCRYPTION_KEY")
            .map(|raw| {
                EncryptionKey::parse(&raw).map_err(|e| ConfigError::new("ENCRYPTION_KEY", e))
            })
            .transpose()?;
        if encryption_key.is_none() && database_url.is_postgres() {
            return Err(ConfigError::new(
                "ENCRYPTION_KEY",
                "required with PostgreSQL: 32 random bytes, base64 (e.g. `openssl rand -base64 32`)",
            ));
        }
        let log_format = match get("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("`{other}` is neither `pretty` nor `json`"),
                ));
            }
        };
        let smtp_url = get("SMTP_URL")
            .map(|raw| match Url::parse(&raw) {
                Ok(url) if matches!(url.scheme(), "smtp" | "smtps") && url.host_str().is_some() => {
                    Ok(SmtpUrl(raw))
                }
                _ => Err(ConfigError::new(
                    "SMTP_URL",
                    "must look like smtps://user:password@host:465 or smtp://host:587?tls=required",
                )),
            })
            .transpose()?;
        let email_from =
            get("EMAIL_FROM").unwrap_or_else(|| "WhatsDeX <no-reply@localhost>".to_owned());
        if email_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::new(
                "EMAIL_FROM",
                "must be an address like `WhatsDeX <no-reply@example.com>`",
            ));
        }
        let support_email = get("SUPPORT_EMAIL")
            .map(|raw| {
                raw.parse::<lettre::Address>().map(|_| raw).map_err(|_| {
                    ConfigError::new(
                        "SUPPORT_EMAIL",
                        "must be an email address like help@example.com",
                    )
                })
            })
            .transpose()?;
        let behind_proxy = match get("BEHIND_PROXY").as_deref() {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "BEHIND_PROXY",
                    format!("`{other}` is neither true nor false"),
                ));
            }
        };
        let whatsapp_ws_url = get("WHATSAPP_WS_URL")
            .map(|raw| match Url::parse(&raw) {
                Ok(url) if matches!(url.scheme(), "ws" | "wss") && url.host_str().is_some() => {
                    Ok(url)
                }
                _ => Err(ConfigError::new(
                    "WHATSAPP_WS_URL",
                    "must be a ws:// or wss:// URL",
                )),
            })
            .transpose()?;
        let meta_graph_url = match get("META_GRAPH_URL") {
            None => Url::parse("https://graph.facebook.com")
                .map_err(|e| ConfigError::new("META_GRAPH_URL", e.to_string()))?,
            Some(raw) => Url::parse(&raw)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
                .ok_or_else(|| {
                    ConfigError::new(
                        "META_GRAPH_URL",
                        "must be an http(s) URL, e.g. https://graph.facebook.com",
                    )
                })?,
        };
        let whatsapp_version = get("WHATSAPP_VERSION")
            .map(|raw| {
                parse_version(&raw).ok_or_else(|| {
                    ConfigError::new("WHATSAPP_VERSION", "must look like 2.3000.1023456789")
                })
            })
            .transpose()?;

        let metrics_token = match get("METRICS_TOKEN") {
            None => None,
            Some(token) if token.len() >= 16 && !token.contains(char::is_whitespace) => {
                Some(MetricsToken(token))
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "METRICS_TOKEN",
                    "must be at least 16 characters without spaces (e.g. `openssl rand -hex 24`)",
                ));
            }
        };
        let billing = BillingConfig::from_lookup(&get)?;
        let meta_app = MetaApp::from_lookup(&get)?;
        let media_bucket = MediaBucket::from_lookup(&get)?;

        Ok(Self {
            host,
            port,
            data_dir,
            instance_id,
            database_url,
            migration_database_url,
            database_pool_size,
            redis_url,
            redis_key_prefix,
            app_base_url,
            encryption_key,
            log_format,
            smtp_url,
            email_from,
            support_email,
            behind_proxy,
            whatsapp_ws_url,
            whatsapp_version,
            meta_graph_url,
            meta_app,
            metrics_token,
            billing,
            media_bucket,
        })
    }

    /// The URL migrations run with: `MIGRATION_DATABASE_URL`, else `DATABASE_URL`.
    pub fn migration_url(&self) -> &DatabaseUrl {
        self.migration_database_url
            .as_ref()
            .unwrap_or(&self.database_url)
    }

    /// Whether the site is served over TLS (cookies `Secure`, HSTS on).
    pub fn behind_tls(&self) -> bool {
        self.app_base_url.scheme() == "https"
    }

    /// Where the generated encryption key is kept in embedded mode.
    pub fn key_file(&self) -> PathBuf {
        key_file_in(&self.data_dir)
    }
}

/// The generated key's file inside a data folder.
pub fn key_file_in(data_dir: &Path) -> PathBuf {
    data_dir.join("encryption.key")
}

fn parse_port(raw: &str) -> Result<u16, ConfigError> {
    raw.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
        ConfigError::new(
            "PORT",
            format!("`{raw}` is not a port number from 1 to 65535"),
        )
    })
}

fn parse_redis_url(raw: &str) -> Result<RedisUrl, ConfigError> {
    let url = Url::parse(raw)
        .map_err(|e| ConfigError::new("REDIS_URL", format!("not a valid URL ({e})")))?;
    match url.scheme() {
        "redis" | "rediss" if url.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(RedisUrl(raw.to_owned()))
        }
        _ => Err(ConfigError::new(
            "REDIS_URL",
            "must look like redis://[:password@]host[:port][/db] or rediss://…",
        )),
    }
}

fn parse_base_url(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw)
        .map_err(|e| ConfigError::new("APP_BASE_URL", format!("not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            "APP_BASE_URL",
            "must be an http:// or https:// URL, e.g. https://bots.example.com",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn error_variable(vars: &[(&str, &str)]) -> &'static str {
        config(vars).expect_err("should be refused").variable
    }

    #[test]
    fn defaults_are_embedded() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("./data/whatsdex.db"))
        );
        assert!(c.redis_url.is_none());
        assert_eq!(c.app_base_url.as_str(), "http://localhost:8080/");
        assert_eq!(c.log_format, LogFormat::Pretty);
    }

    #[test]
    fn data_dir_moves_the_default_database() {
        let c = config(&[("DATA_DIR", "/srv/wdx")]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("/srv/wdx/whatsdex.db"))
        );
        assert_eq!(c.key_file(), PathBuf::from("/srv/wdx/encryption.key"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(error_variable(&[("PORT", "99999")]), "PORT");
        assert_eq!(error_variable(&[("PORT", "0")]), "PORT");
        assert_eq!(error_variable(&[("PORT", "http")]), "PORT");
        assert_eq!(error_variable(&[("HOST", "not a host")]), "HOST");
        assert_eq!(
            error_variable(&[("DATABASE_URL", "mysql://x/y")]),
            "DATABASE_URL"
        );
        assert_eq!(
            error_variable(&[("DATABASE_URL", "postgres://")]),
            "DATABASE_URL"
        );
        assert_eq!(
            error_variable(&[("DATABASE_URL", "sqlite::memory:")]),
            "DATABASE_URL"
        );
        assert_eq!(
            error_variable(&[("REDIS_URL", "localhost:6379")]),
            "REDIS_URL"
        );
        assert_eq!(
            error_variable(&[("APP_BASE_URL", "ftp://x")]),
            "APP_BASE_URL"
        );
        assert_eq!(
            error_variable(&[("ENCRYPTION_KEY", "short")]),
            "ENCRYPTION_KEY"
        );
        assert_eq!(error_variable(&[("LOG_FORMAT", "xml")]), "LOG_FORMAT");
        assert_eq!(
            error_variable(&[("DATABASE_POOL_SIZE", "0")]),
            "DATABASE_POOL_SIZE"
        );
    }

    #[test]
    fn the_support_email_is_optional_and_checked() {
        assert_eq!(config(&[]).unwrap().support_email, None);
        assert_eq!(
            config(&[("SUPPORT_EMAIL", " help@example.com ")])
                .unwrap()
                .support_email
                .as_deref(),
            Some("help@example.com")
        );
        assert_eq!(
            error_variable(&[("SUPPORT_EMAIL", "write to us")]),
            "SUPPORT_EMAIL"
        );
    }

    #[test]
    fn the_metrics_token_is_checked_and_never_printed() {
        assert!(config(&[]).unwrap().metrics_token.is_none());
        assert_eq!(
            error_variable(&[("METRICS_TOKEN", "short")]),
            "METRICS_TOKEN"
        );
        let secret = "a-long-enough-metrics-token";
        let c = config(&[("METRICS_TOKEN", secret)]).unwrap();
        let token = c.metrics_token.as_ref().unwrap();
        assert!(token.matches(secret));
        assert!(!token.matches("a-long-enough-metrics-tokem"));
        assert!(!token.matches(""));
        assert!(!format!("{c:?}").contains(secret));
    }

    #[test]
    fn billing_settings_are_checked_and_secrets_redacted() {
        let c = config(&[
            ("STRIPE_SECRET_KEY", "sk_test_abc123"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_xyz789"),
            ("STRIPE_PRICE_PRO", "price_pro1"),
            ("TRIAL_DAYS", "0"),
        ])
        .unwrap();
        assert_eq!(c.billing.price_for("pro"), Some("price_pro1"));
        assert_eq!(c.billing.plan_for_price("price_pro1"), Some("pro"));
        assert_eq!(c.billing.trial_days, 0);
        let printed = format!("{c:?}");
        assert!(!printed.contains("sk_test_abc123") && !printed.contains("whsec_xyz789"));
        assert_eq!(
            error_variable(&[("STRIPE_SECRET_KEY", "pk_live_1")]),
            "STRIPE_SECRET_KEY"
        );
        assert_eq!(
            error_variable(&[("STRIPE_WEBHOOK_SECRET", "abc")]),
            "STRIPE_WEBHOOK_SECRET"
        );
        assert_eq!(
            error_variable(&[("STRIPE_PRICE_STARTER", "prod_1")]),
            "STRIPE_PRICE_STARTER"
        );
        assert_eq!(error_variable(&[("TRIAL_PLAN", "free")]), "TRIAL_PLAN");
        assert_eq!(error_variable(&[("TRIAL_DAYS", "-1")]), "TRIAL_DAYS");
        assert_eq!(
            error_variable(&[("STRIPE_API_BASE", "ftp://x")]),
            "STRIPE_API_BASE"
        );
    }

    #[test]
    fn the_platform_meta_app_needs_its_secret_and_verify_token_together() {
        assert_eq!(config(&[]).unwrap().meta_app, None);
        let both = [
            ("META_APP_SECRET", "s3cret"),
            ("META_VERIFY_TOKEN", "a-verify-token-16+"),
        ];
        let app = config(&both).unwrap().meta_app.unwrap();
        assert_eq!(app.app_secret.expose(), "s3cret");
        assert!(!format!("{app:?}").contains("s3cret"));
        assert_eq!(
            error_variable(&[("META_APP_SECRET", "s3cret")]),
            "META_VERIFY_TOKEN"
        );
        assert_eq!(
            error_variable(&[("META_VERIFY_TOKEN", "a-verify-token-16+")]),
            "META_APP_SECRET"
        );
        assert_eq!(
            error_variable(&[("META_APP_SECRET", "s"), ("META_VERIFY_TOKEN", "short")]),
            "META_VERIFY_TOKEN"
        );
    }

    #[test]
    fn media_bucket_url_names_a_bucket_and_prefix_with_aws_credentials() {
        assert_eq!(config(&[]).unwrap().media_bucket, None);
        let credentials = [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret"),
            ("AWS_REGION", "eu-west-1"),
        ];
        let with = |url: &'static str, more: &[(&'static str, &'static str)]| {
            let mut vars = credentials.to_vec();
            vars.push(("MEDIA_BUCKET_URL", url));
            vars.extend_from_slice(more);
            vars
        };
        let bucket = config(&with("s3://acme-media", &[]))
            .unwrap()
            .media_bucket
            .unwrap();
        assert_eq!(bucket.bucket, "acme-media");
        assert_eq!(bucket.prefix, "");
        assert_eq!(bucket.region, "eu-west-1");
        assert_eq!(bucket.access_key_id, "AKIDEXAMPLE");
        assert_eq!(bucket.secret_access_key.expose(), "wJalrXUtnFEMI-secret");
        assert_eq!(bucket.endpoint, None);
        assert!(!format!("{bucket:?}").contains("wJalrXUtnFEMI"));

        let minio = with(
            "s3://acme-media/whatsdex/media/",
            &[("AWS_ENDPOINT_URL", "http://minio.internal:9000")],
        );
        let bucket = config(&minio).unwrap().media_bucket.unwrap();
        assert_eq!(bucket.prefix, "whatsdex/media");
        assert_eq!(
            bucket.endpoint.unwrap().as_str(),
            "http://minio.internal:9000/"
        );

        for bad in [
            "acme-media",
            "https://acme-media",
            "s3://",
            "s3://ab",
            "s3://Acme_Media",
            "s3://acme-media/../x",
            "s3://acme-media/a//b",
            "s3://acme-media/a b",
        ] {
            assert_eq!(error_variable(&with(bad, &[])), "MEDIA_BUCKET_URL", "{bad}");
        }
        assert_eq!(
            error_variable(&with(
                "s3://acme-media",
                &[("AWS_ENDPOINT_URL", "minio:9000")]
            )),
            "AWS_ENDPOINT_URL"
        );
        for missing in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
            let vars: Vec<_> = with("s3://acme-media", &[])
                .into_iter()
                .filter(|(name, _)| *name != missing)
                .collect();
            assert_eq!(error_variable(&vars), missing);
        }
    }

    #[test]
    fn meta_graph_url_defaults_to_meta_and_must_be_http() {
        let c = config(&[]).unwrap();
        assert_eq!(c.meta_graph_url.as_str(), "https://graph.facebook.com/");
        let c = config(&[("META_GRAPH_URL", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(c.meta_graph_url.as_str(), "http://127.0.0.1:9/");
        assert_eq!(
            error_variable(&[("META_GRAPH_URL", "ftp://graph")]),
            "META_GRAPH_URL"
        );
        assert_eq!(
            error_variable(&[("META_GRAPH_URL", "graph")]),
            "META_GRAPH_URL"
        );
    }

    #[test]
    fn postgres_requires_an_encryption_key() {
        let pg = "postgres://app:pw@db:5432/wdx";
        assert_eq!(error_variable(&[("DATABASE_URL", pg)]), "ENCRYPTION_KEY");
        let c = config(&[("DATABASE_URL", pg), ("ENCRYPTION_KEY", KEY_B64)]).unwrap();
        assert!(c.database_url.is_postgres());
        assert_eq!(c.database_url.postgres_user().as_deref(), Some("app"));
    }

    #[test]
    fn migration_url_must_match_the_database_kind() {
        let v = error_variable(&[("MIGRATION_DATABASE_URL", "postgres://m@db/wdx")]);
        assert_eq!(v, "MIGRATION_DATABASE_URL");
    }

    #[test]
    fn migration_url_falls_back_to_database_url() {
        let c = config(&[]).unwrap();
        assert_eq!(c.migration_url(), &c.database_url);
    }

    #[test]
    fn sqlite_url_forms() {
        let c = config(&[("DATABASE_URL", "sqlite:///var/lib/wdx.db")]).unwrap();
        assert_eq!(
            c.database_url,
            DatabaseUrl::Sqlite("/var/lib/wdx.db".into())
        );
        let c = config(&[("DATABASE_URL", "sqlite:wdx.db")]).unwrap();
        assert_eq!(c.database_url, DatabaseUrl::Sqlite("wdx.db".into()));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = config(&[
            ("DATABASE_URL", "postgres://app:hunter2secret@db/wdx"),
            ("REDIS_URL", "redis://:redispassword@cache:6379"),
            ("SMTP_URL", "smtps://mailer:smtppassword@mail.example.com"),
            ("ENCRYPTION_KEY", KEY_B64),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2secret"), "{shown}");
        assert!(!shown.contains("redispassword"), "{shown}");
        assert!(!shown.contains("smtppassword"), "{shown}");
        assert!(!shown.contains(KEY_B64), "{shown}");
        assert!(shown.contains("db/wdx"), "{shown}");
    }
}
