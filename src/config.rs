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

/// The Zalo Official Account API.
pub const DEFAULT_ZALO_OA_API_URL: &str = "https://openapi.zalo.me";

/// Zalo's OAuth server (access token refresh of an OA).
pub const DEFAULT_ZALO_OA_OAUTH_URL: &str = "https://oauth.zaloapp.com";

/// The shortest `GOPY_SECRET_KEY` accepted, in characters.
pub const MIN_SECRET_KEY_CHARS: usize = 32;

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
    /// The Zalo Official Account adapter (`ZALO_OA_*`, `GOPY_SECRET_KEY`).
    pub zalo_oa: ZaloOaSettings,
    /// `GOPY_PUBLIC_URL`: gopy's public https address, the base of links to broadcast
    /// attachments (`/tep/<token>`); Zalo fetches images from it.
    pub public_url: Option<String>,
    /// `TELEGRAM_WEBHOOK_*`: Telegram by webhook instead of long polling, when set.
    pub telegram_webhook: Option<TelegramWebhookSettings>,
}

/// Telegram in webhook mode (`TELEGRAM_WEBHOOK_URL` set): gopy calls `setWebhook` at start
/// and serves the route at the URL's path on its own HTTP server.
#[derive(Clone)]
pub struct TelegramWebhookSettings {
    /// `TELEGRAM_WEBHOOK_URL` (https): where Telegram posts updates; the reverse proxy passes
    /// its path to gopy unchanged.
    pub url: url::Url,
    /// `TELEGRAM_WEBHOOK_SECRET` (1–256 of `A-Z a-z 0-9 _ -`): sent back by Telegram in
    /// `X-Telegram-Bot-Api-Secret-Token`. Without it, a secret is derived from the bot token
    /// (HMAC-SHA256), the same on every replica. Never logged.
    pub secret: Option<String>,
    /// `TELEGRAM_WEBHOOK_MAX_CONNECTIONS` (1–100, default 40): Telegram's simultaneous
    /// connections to the webhook.
    pub max_connections: u8,
}

impl std::fmt::Debug for TelegramWebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramWebhookSettings")
            .field("url", &self.url.as_str())
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl TelegramWebhookSettings {
    /// Reads `TELEGRAM_WEBHOOK_*`; `None` when `TELEGRAM_WEBHOOK_URL` is not set.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let secret = var("TELEGRAM_WEBHOOK_SECRET");
        if let Some(s) = &secret
            && !((1..=256).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            anyhow::bail!(
                "TELEGRAM_WEBHOOK_SECRET phải dài 1–256 ký tự A-Z a-z 0-9 _ - / must be 1–256 \
                 characters of A-Z a-z 0-9 _ -"
            );
        }
        let Some(raw) = var("TELEGRAM_WEBHOOK_URL") else {
            return Ok(None);
        };
        let url = url::Url::parse(&raw)
            .map_err(|e| anyhow::anyhow!("TELEGRAM_WEBHOOK_URL is not a URL: {e}"))?;
        if url.scheme() != "https" {
            anyhow::bail!(
                "TELEGRAM_WEBHOOK_URL phải là https / must be https (Telegram requires it)"
            );
        }
        if url.path() == "/" || url.path().is_empty() {
            anyhow::bail!(
                "TELEGRAM_WEBHOOK_URL cần một đường dẫn, ví dụ https://gopy.example/telegram/webhook \
                 / needs a path, e.g. https://gopy.example/telegram/webhook"
            );
        }
        let max_connections = match var("TELEGRAM_WEBHOOK_MAX_CONNECTIONS") {
            None => 40,
            Some(v) => match v.trim().parse::<u8>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => anyhow::bail!("TELEGRAM_WEBHOOK_MAX_CONNECTIONS={v:?}: expected 1–100"),
            },
        };
        Ok(Some(Self {
            url,
            secret,
            max_connections,
        }))
    }
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
            zalo_oa: ZaloOaSettings::default(),
            public_url: None,
            telegram_webhook: None,
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
            .field("zalo_oa", &self.zalo_oa)
            .field("telegram_webhook", &self.telegram_webhook)
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
            zalo_oa: ZaloOaSettings::from_vars(var)?,
            public_url: var(crate::announce::attachment::PUBLIC_URL_VAR)
                .map(|u| crate::announce::attachment::check_public_url(&u))
                .transpose()
                .map_err(anyhow::Error::msg)?,
            telegram_webhook: TelegramWebhookSettings::from_vars(var)?,
        })
    }
}

/// How the Zalo Official Account adapter runs: off without `ZALO_OA_APP_ID`; with it, the
/// app secret, the OA secret key and `GOPY_SECRET_KEY` are required (the first refresh token
/// may already be in the database).
#[derive(Clone)]
pub struct ZaloOaSettings {
    /// `ZALO_OA_APP_ID`: switches the OA adapter on.
    pub app_id: Option<String>,
    /// `ZALO_OA_APP_SECRET`: sent as `secret_key` when refreshing tokens. Never logged.
    pub app_secret: Option<String>,
    /// `ZALO_OA_SECRET_KEY`: the OA secret key that signs webhook calls. Never logged.
    pub oa_secret_key: Option<String>,
    /// `ZALO_OA_REFRESH_TOKEN`: the first refresh token, stored (encrypted) only when the
    /// database has none; `gopy zalo-oa reset-token` replaces a dead one. Never logged.
    pub refresh_token: Option<String>,
    /// `ZALO_OA_API_URL`: the OA Open API (a fake in tests).
    pub api_url: url::Url,
    /// `ZALO_OA_OAUTH_URL`: Zalo's OAuth server (a fake in tests).
    pub oauth_url: url::Url,
    /// `GOPY_SECRET_KEY` (at least 32 characters): the key the OA tokens are encrypted with
    /// in the database. Changing it makes the stored tokens unreadable. Never logged.
    pub secret_key: Option<String>,
}

impl Default for ZaloOaSettings {
    /// Off, pointing at Zalo's servers.
    fn default() -> Self {
        Self {
            app_id: None,
            app_secret: None,
            oa_secret_key: None,
            refresh_token: None,
            api_url: url::Url::parse(DEFAULT_ZALO_OA_API_URL)
                .unwrap_or_else(|_| unreachable!("the default OA URL parses")),
            oauth_url: url::Url::parse(DEFAULT_ZALO_OA_OAUTH_URL)
                .unwrap_or_else(|_| unreachable!("the default OAuth URL parses")),
            secret_key: None,
        }
    }
}

impl std::fmt::Debug for ZaloOaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("ZaloOaSettings")
            .field("app_id", &self.app_id)
            .field("app_secret", &hidden(&self.app_secret))
            .field("oa_secret_key", &hidden(&self.oa_secret_key))
            .field("refresh_token", &hidden(&self.refresh_token))
            .field("api_url", &self.api_url.as_str())
            .field("oauth_url", &self.oauth_url.as_str())
            .field("secret_key", &hidden(&self.secret_key))
            .finish()
    }
}

impl ZaloOaSettings {
    /// Whether the OA adapter is switched on.
    pub fn enabled(&self) -> bool {
        self.app_id.is_some()
    }

    /// Reads the `ZALO_OA_*` variables and `GOPY_SECRET_KEY` through `var` (blank counts as
    /// unset). With `ZALO_OA_APP_ID` set, a missing secret is an error naming it.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let url = |name: &str, default: &str| {
            let u = var(name).unwrap_or_else(|| default.to_owned());
            url::Url::parse(&u).map_err(|e| anyhow::anyhow!("{name}={u:?} is not a URL: {e}"))
        };
        let s = Self {
            app_id: var("ZALO_OA_APP_ID").map(|v| v.trim().to_owned()),
            app_secret: var("ZALO_OA_APP_SECRET"),
            oa_secret_key: var("ZALO_OA_SECRET_KEY"),
            refresh_token: var("ZALO_OA_REFRESH_TOKEN").map(|v| v.trim().to_owned()),
            api_url: url("ZALO_OA_API_URL", DEFAULT_ZALO_OA_API_URL)?,
            oauth_url: url("ZALO_OA_OAUTH_URL", DEFAULT_ZALO_OA_OAUTH_URL)?,
            secret_key: var("GOPY_SECRET_KEY"),
        };
        if !s.enabled() {
            return Ok(s);
        }
        for (name, value) in [
            ("ZALO_OA_APP_SECRET", &s.app_secret),
            ("ZALO_OA_SECRET_KEY", &s.oa_secret_key),
        ] {
            if value.is_none() {
                anyhow::bail!(
                    "ZALO_OA_APP_ID đã đặt nhưng thiếu {name} / is set but {name} is not \
                     (developers.zalo.me → your app)"
                );
            }
        }
        match &s.secret_key {
            None => anyhow::bail!(
                "Zalo OA cần GOPY_SECRET_KEY để mã hoá token trong cơ sở dữ liệu / the Zalo OA \
                 needs GOPY_SECRET_KEY to encrypt its tokens in the database: set it to at \
                 least {MIN_SECRET_KEY_CHARS} random characters (e.g. `openssl rand -hex 32`) \
                 and keep it: tokens stored with one key cannot be read with another"
            ),
            Some(k) if k.chars().count() < MIN_SECRET_KEY_CHARS => anyhow::bail!(
                "GOPY_SECRET_KEY quá ngắn / is too short: at least {MIN_SECRET_KEY_CHARS} \
                 characters (e.g. `openssl rand -hex 32`)"
            ),
            Some(_) => {}
        }
        Ok(s)
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
    fn telegram_webhook_settings_are_checked_and_the_secret_never_shown() {
        let read = |vars: &[(&str, &str)]| {
            let vars: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            TelegramWebhookSettings::from_vars(|k| vars.get(k).cloned())
        };
        assert!(read(&[]).expect("off").is_none());
        assert!(read(&[("TELEGRAM_WEBHOOK_URL", "http://gopy.example/tg")]).is_err());
        assert!(read(&[("TELEGRAM_WEBHOOK_URL", "https://gopy.example/")]).is_err());
        let bad_secret = [
            ("TELEGRAM_WEBHOOK_URL", "https://gopy.example/tg"),
            ("TELEGRAM_WEBHOOK_SECRET", "có dấu"),
        ];
        assert!(read(&bad_secret).is_err());
        let w = read(&[
            (
                "TELEGRAM_WEBHOOK_URL",
                "https://gopy.example/telegram/webhook",
            ),
            ("TELEGRAM_WEBHOOK_SECRET", "bi_mat-123"),
        ])
        .expect("valid")
        .expect("on");
        assert_eq!(w.max_connections, 40);
        assert!(!format!("{w:?}").contains("bi_mat"));
        assert!(
            read(&[
                ("TELEGRAM_WEBHOOK_URL", "https://gopy.example/tg"),
                ("TELEGRAM_WEBHOOK_MAX_CONNECTIONS", "101"),
            ])
            .is_err()
        );
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

    fn zalo_oa(vars: &[(&str, &str)]) -> anyhow::Result<ZaloOaSettings> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ZaloOaSettings::from_vars(|k| vars.get(k).cloned())
    }

    #[test]
    fn the_zalo_oa_is_off_by_default_and_needs_its_secrets_and_a_storage_key_when_on() {
        let off = zalo_oa(&[]).expect("defaults");
        assert!(!off.enabled());
        assert_eq!(off.api_url.as_str(), "https://openapi.zalo.me/");
        assert_eq!(off.oauth_url.as_str(), "https://oauth.zaloapp.com/");
        let full = [
            ("ZALO_OA_APP_ID", "360846524940903967"),
            ("ZALO_OA_APP_SECRET", "app-secret-XYZ"),
            ("ZALO_OA_SECRET_KEY", "oa-secret-XYZ"),
            ("ZALO_OA_REFRESH_TOKEN", "refresh-XYZ"),
            ("GOPY_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ];
        let on = zalo_oa(&full).expect("valid");
        assert!(on.enabled());
        let shown = format!("{on:?}");
        for secret in ["app-secret", "oa-secret", "refresh-XYZ", "0123456789abcdef"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let without = |name: &str| {
            let vars: Vec<_> = full.iter().copied().filter(|(k, _)| *k != name).collect();
            zalo_oa(&vars).map(|_| ()).map_err(|e| e.to_string())
        };
        assert!(
            without("GOPY_SECRET_KEY")
                .unwrap_err()
                .contains("GOPY_SECRET_KEY")
        );
        assert!(
            without("ZALO_OA_SECRET_KEY")
                .unwrap_err()
                .contains("ZALO_OA_SECRET_KEY")
        );
        assert!(
            without("ZALO_OA_APP_SECRET")
                .unwrap_err()
                .contains("ZALO_OA_APP_SECRET")
        );
        assert!(
            without("ZALO_OA_REFRESH_TOKEN").is_ok(),
            "it may be stored already"
        );
        let mut short = full.to_vec();
        short[4] = ("GOPY_SECRET_KEY", "short");
        assert!(zalo_oa(&short).is_err());
    }
}
