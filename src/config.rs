//! Settings read from the environment (and CLI flags that override them).

use std::net::SocketAddr;

/// Default database: a SQLite file beside the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gopy.db";

/// Default HTTP address: localhost only, so a newcomer's machine exposes nothing.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";

/// The public Telegram Bot API.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// Everything gopy reads from its environment.
#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `GOPY_HTTP_ADDR`: where health, metrics (and later the console) listen.
    pub http_addr: SocketAddr,
    /// `TELEGRAM_BOT_TOKEN`: switches the Telegram bot on. Never logged.
    pub telegram_token: Option<String>,
    /// `TELEGRAM_API_URL`: the Bot API server (a self-hosted one, or a fake in tests).
    pub telegram_api_url: url::Url,
    /// `GOPY_DEMO` (default on): load the demo campaign when the database has none.
    pub demo: bool,
    /// `GOPY_MODERATION_DIR`: word lists for moderation read from this folder instead of the
    /// built-in ones (`data/moderation/`).
    pub moderation_dir: Option<std::path::PathBuf>,
}

impl Default for Settings {
    /// The settings of an empty environment.
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            telegram_token: None,
            telegram_api_url: url::Url::parse(DEFAULT_TELEGRAM_API_URL)
                .unwrap_or_else(|_| unreachable!("the default URL parses")),
            demo: true,
            moderation_dir: None,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field("http_addr", &self.http_addr)
            .field(
                "telegram_token",
                &self.telegram_token.as_ref().map(|_| "***"),
            )
            .field("telegram_api_url", &self.telegram_api_url.as_str())
            .field("demo", &self.demo)
            .field("moderation_dir", &self.moderation_dir)
            .finish()
    }
}

impl Settings {
    /// Reads the environment; fails with a message naming the variable that is wrong.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let http_addr = var("GOPY_HTTP_ADDR").unwrap_or_else(|| DEFAULT_HTTP_ADDR.to_owned());
        let http_addr = http_addr.parse().map_err(|e| {
            anyhow::anyhow!(
                "GOPY_HTTP_ADDR={http_addr:?} is not an address like 127.0.0.1:8080: {e}"
            )
        })?;
        let api = var("TELEGRAM_API_URL").unwrap_or_else(|| DEFAULT_TELEGRAM_API_URL.to_owned());
        let telegram_api_url = url::Url::parse(&api)
            .map_err(|e| anyhow::anyhow!("TELEGRAM_API_URL={api:?} is not a URL: {e}"))?;
        let demo = match var("GOPY_DEMO").as_deref() {
            None => true,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => anyhow::bail!("GOPY_DEMO={other:?}: expected on or off"),
        };
        Ok(Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            http_addr,
            telegram_token: var("TELEGRAM_BOT_TOKEN"),
            telegram_api_url,
            demo,
            moderation_dir: var("GOPY_MODERATION_DIR").map(std::path::PathBuf::from),
        })
    }
}
