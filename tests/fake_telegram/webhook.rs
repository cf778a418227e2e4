//! The fake as Telegram in webhook mode: `setWebhook` is checked as Telegram checks it and
//! recorded; the test then has the fake deliver updates to a gopy replica's route with the
//! registered secret — once ([`FakeTelegram::post_update`]), or as Telegram does, again after
//! every non-2xx answer until one is 2xx ([`FakeTelegram::deliver`]). The replica's address is
//! given by the test (it plays the load balancer in front of the public URL).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use super::{ApiFailure, FakeTelegram, Params, bad, chats_in, observe_membership};

/// What gopy registered with `setWebhook`.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The public URL.
    pub url: url::Url,
    /// The secret token.
    pub secret: Option<String>,
    /// The update kinds asked for.
    pub allowed_updates: Vec<String>,
    /// The simultaneous connections allowed.
    pub max_connections: Option<i64>,
}

/// `setWebhook`: the URL must be https, the secret 1–256 of `A-Z a-z 0-9 _ -`, and
/// `max_connections` 1–100, or the answer is 400 as Telegram gives it.
pub(super) fn set_webhook(p: &Params) -> Result<Value, ApiFailure> {
    let url = p.str("url").unwrap_or_default();
    if !url.starts_with("https://") {
        return Err(bad(
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ));
    }
    if let Some(s) = p.str("secret_token")
        && !((1..=256).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(bad(
            "Bad Request: secret token contains unallowed characters",
        ));
    }
    if let Some(n) = p.i64("max_connections")
        && !(1..=100).contains(&n)
    {
        return Err(bad("Bad Request: bad max_connections"));
    }
    Ok(json!(true))
}

impl FakeTelegram {
    /// The webhook gopy registered last, if any.
    pub fn registered_webhook(&self) -> Option<Registered> {
        let call = self.calls_to("setwebhook").pop()?;
        let body = &call.body;
        let allowed = match &body["allowed_updates"] {
            Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or_default(),
            v => v.clone(),
        };
        Some(Registered {
            url: url::Url::parse(body["url"].as_str()?).ok()?,
            secret: body["secret_token"].as_str().map(str::to_owned),
            allowed_updates: allowed
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            max_connections: call.i64("max_connections"),
        })
    }

    /// Waits until gopy has registered its webhook.
    pub async fn wait_webhook(&self) -> Registered {
        self.wait_for("setWebhook", |f| f.registered_webhook())
            .await
    }

    /// Makes the update's chats known (the bot may write to them) and its membership news
    /// seen, as `push` does, without queueing it for `getUpdates`.
    pub fn note_update(&self, update: &Value) {
        let mut s = self.inner.lock();
        for chat in chats_in(update) {
            if let Some(id) = chat["id"].as_i64() {
                s.chats.entry(id).or_insert(chat);
            }
        }
        observe_membership(&mut s, update);
    }

    /// POSTs `update` once to the replica at `target`, on the registered URL's path with the
    /// registered secret; returns the HTTP status (0 when there was no answer).
    pub async fn post_update(&self, target: SocketAddr, update: &Value) -> u16 {
        let hook = self
            .registered_webhook()
            .expect("gopy registered a webhook");
        self.note_update(update);
        post_raw(
            target,
            hook.url.path(),
            hook.secret.as_deref(),
            serde_json::to_vec(update).expect("JSON"),
        )
        .await
    }

    /// Delivers `update` to `target` as Telegram does: again after each non-2xx answer (or
    /// none), with a short pause, until an answer is 2xx or `tries` are used. Returns every
    /// status seen, in order.
    pub async fn deliver_with(&self, target: SocketAddr, update: &Value, tries: usize) -> Vec<u16> {
        let mut seen = Vec::new();
        for _ in 0..tries {
            let status = self.post_update(target, update).await;
            seen.push(status);
            if (200..300).contains(&status) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        seen
    }

    /// [`FakeTelegram::deliver_with`] with up to 50 tries.
    pub async fn deliver(&self, target: SocketAddr, update: &Value) -> Vec<u16> {
        self.deliver_with(target, update, 50).await
    }
}

/// POSTs raw bytes to `path` at `target`, with the secret header when given; returns the
/// status (0 when there was no answer).
pub async fn post_raw(target: SocketAddr, path: &str, secret: Option<&str>, body: Vec<u8>) -> u16 {
    let client = reqwest::Client::new();
    let mut req = client
        .post(format!("http://{target}{path}"))
        .header("content-type", "application/json")
        .timeout(Duration::from_secs(20))
        .body(body);
    if let Some(s) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    match req.send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}
