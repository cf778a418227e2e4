//! Settings read from the environment (and CLI flags that override them).

use std::net::SocketAddr;

/// Default database: a SQLite file beside the working directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gopy.db";

/// Default HTTP address: localhost only, so a newcomer's machine exposes nothing.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";

/// The public Telegram Bot API.
pub const DEFAULT_TELEGRAM_API_URL: &str = "https://api.telegram.org";

/// The Zalo Bot API (Bot Platform).
pub const DEFAULT_ZALO_BOT_API_URL: &str = "https://bot-api.zaloplatforms.com";

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
    /// The Zalo Bot API adapter (`ZALO_*`).
    pub zalo: ZaloSettings,
    /// The web console's cookies and client addresses (`GOPY_CONSOLE_*`).
    pub console: ConsoleSettings,
}

/// How the web console treats its cookies and its clients' addresses.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// `GOPY_CONSOLE_SECURE_COOKIES` (default off): mark cookies `Secure`, so browsers send
    /// them over HTTPS only. Switch it on whenever gopy is reached through HTTPS.
    pub secure_cookies: bool,
    /// `GOPY_CONSOLE_BEHIND_PROXY` (default off): take the client's address from the last
    /// `X-Forwarded-For` entry (set it only behind a proxy that writes that header), so that
    /// login throttling per address counts residents and officials, not the proxy.
    pub behind_proxy: bool,
    /// `GOPY_CONSOLE_IDLE_MINUTES` (default 30): a console session left unused this long
    /// ends (a shared office computer left signed in).
    pub idle_minutes: i64,
    /// `GOPY_CONSOLE_SESSION_HOURS` (default 12): a console session ends this long after
    /// login, however busy.
    pub session_hours: i64,
}

impl Default for ConsoleSettings {
    /// Plain cookies, no proxy, 30 idle minutes, 12 hours at most.
    fn default() -> Self {
        Self {
            secure_cookies: false,
            behind_proxy: false,
            idle_minutes: 30,
            session_hours: 12,
        }
    }
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
            zalo: ZaloSettings::default(),
            console: ConsoleSettings::default(),
        }
    }
}

/// How the Zalo Bot API adapter runs: off without a token; by long polling without a webhook
/// secret; by webhook (`POST /zalo/webhook`) with one.
#[derive(Clone)]
pub struct ZaloSettings {
    /// `ZALO_BOT_TOKEN`: switches the Zalo bot on. Never logged.
    pub token: Option<String>,
    /// `ZALO_BOT_API_URL`: the Bot API server (the older `https://bot-api.zapps.me`, or a
    /// fake in tests).
    pub api_url: url::Url,
    /// `ZALO_WEBHOOK_SECRET` (8–256 characters): switches webhook mode on; Zalo sends it in
    /// `X-Bot-Api-Secret-Token` with every event. Never logged.
    pub webhook_secret: Option<String>,
    /// `ZALO_WEBHOOK_URL` (https): where Zalo should post events; when set, gopy registers it
    /// with `setWebhook` at start. Without it the webhook is expected to be set already.
    pub webhook_url: Option<url::Url>,
}

impl Default for ZaloSettings {
    /// Off: no token, the public API.
    fn default() -> Self {
        Self {
            token: None,
            api_url: url::Url::parse(DEFAULT_ZALO_BOT_API_URL)
                .unwrap_or_else(|_| unreachable!("the default Zalo URL parses")),
            webhook_secret: None,
            webhook_url: None,
        }
    }
}

impl std::fmt::Debug for ZaloSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZaloSettings")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("api_url", &self.api_url.as_str())
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .field(
                "webhook_url",
                &self
                    .webhook_url
                    .as_ref()
                    .map(|u| u.host_str().unwrap_or_default().to_owned()),
            )
            .finish()
    }
}

impl ZaloSettings {
    /// Reads the `ZALO_*` variables through `var` (blank counts as unset).
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let api = var("ZALO_BOT_API_URL").unwrap_or_else(|| DEFAULT_ZALO_BOT_API_URL.to_owned());
        let api_url = url::Url::parse(&api)
            .map_err(|e| anyhow::anyhow!("ZALO_BOT_API_URL={api:?} is not a URL: {e}"))?;
        let webhook_secret = var("ZALO_WEBHOOK_SECRET");
        if let Some(s) = &webhook_secret {
            let n = s.chars().count();
            if !(8..=256).contains(&n) {
                anyhow::bail!(
                    "ZALO_WEBHOOK_SECRET phải dài 8–256 ký tự / must be 8–256 characters (it has {n})"
                );
            }
        }
        let webhook_url = match var("ZALO_WEBHOOK_URL") {
            None => None,
            Some(u) => {
                let url = url::Url::parse(&u)
                    .map_err(|e| anyhow::anyhow!("ZALO_WEBHOOK_URL is not a URL: {e}"))?;
                if url.scheme() != "https" {
                    anyhow::bail!(
                        "ZALO_WEBHOOK_URL phải là https / must be https (Zalo requires it)"
                    );
                }
                if webhook_secret.is_none() {
                    anyhow::bail!(
                        "ZALO_WEBHOOK_URL cần ZALO_WEBHOOK_SECRET / needs ZALO_WEBHOOK_SECRET (8–256 characters)"
                    );
                }
                Some(url)
            }
        };
        Ok(Self {
            token: var("ZALO_BOT_TOKEN"),
            api_url,
            webhook_secret,
            webhook_url,
        })
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
            .field("zalo", &self.zalo)
            .field("console", &self.console)
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
        let flag = |name: &str| match var(name).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => Err(anyhow::anyhow!("{name}={other:?}: expected on or off")),
        };
        let console = ConsoleSettings {
            secure_cookies: flag("GOPY_CONSOLE_SECURE_COOKIES")?,
            behind_proxy: flag("GOPY_CONSOLE_BEHIND_PROXY")?,
            idle_minutes: minutes_or_hours(
                var("GOPY_CONSOLE_IDLE_MINUTES"),
                30,
                "GOPY_CONSOLE_IDLE_MINUTES",
            )?,
            session_hours: minutes_or_hours(
                var("GOPY_CONSOLE_SESSION_HOURS"),
                12,
                "GOPY_CONSOLE_SESSION_HOURS",
            )?,
        };
        Ok(Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            http_addr,
            telegram_token: var("TELEGRAM_BOT_TOKEN"),
            telegram_api_url,
            demo,
            moderation_dir: var("GOPY_MODERATION_DIR").map(std::path::PathBuf::from),
            zalo: ZaloSettings::from_vars(var)?,
            console,
        })
    }
}

/// A positive whole number of minutes or hours from the environment, or the default.
fn minutes_or_hours(value: Option<String>, default: i64, name: &str) -> anyhow::Result<i64> {
    match value {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => anyhow::bail!("{name}={v:?}: expected a whole number from 1 to 10000"),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn zalo(vars: &[(&str, &str)]) -> anyhow::Result<ZaloSettings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ZaloSettings::from_vars(|k| vars.get(k).cloned())
    }

    #[test]
    fn zalo_is_off_by_default_and_points_at_the_public_api() {
        let z = zalo(&[]).expect("defaults");
        assert!(z.token.is_none() && z.webhook_secret.is_none() && z.webhook_url.is_none());
        assert_eq!(z.api_url.as_str(), "https://bot-api.zaloplatforms.com/");
    }

    #[test]
    fn zalo_webhook_settings_are_checked_and_secrets_never_shown() {
        assert!(zalo(&[("ZALO_WEBHOOK_SECRET", "short")]).is_err());
        assert!(zalo(&[("ZALO_WEBHOOK_URL", "https://gopy.example/zalo/webhook")]).is_err());
        assert!(
            zalo(&[
                ("ZALO_WEBHOOK_SECRET", "mot-bi-mat-du-dai"),
                ("ZALO_WEBHOOK_URL", "http://gopy.example/zalo/webhook")
            ])
            .is_err()
        );
        let z = zalo(&[
            ("ZALO_BOT_TOKEN", "1234567890:abc-XYZ"),
            ("ZALO_WEBHOOK_SECRET", "mot-bi-mat-du-dai"),
            ("ZALO_WEBHOOK_URL", "https://gopy.example/zalo/webhook"),
        ])
        .expect("valid");
        let shown = format!("{z:?}");
        assert!(!shown.contains("abc-XYZ"), "{shown}");
        assert!(!shown.contains("mot-bi-mat"), "{shown}");
    }
}
