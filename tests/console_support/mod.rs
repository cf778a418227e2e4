//! Support for the console's HTTP tests: gopy started on a fresh database, staff users with
//! known passwords, and a small cookie-keeping browser that does not follow redirects, so
//! every test sees exactly what the server answered.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use gopy::config::Settings;
use gopy::startup::Application;
use gopy::store::announce::{NewStaff, Role};
use gopy::store::{AuditEntry, Store};

use crate::common::TestDb;

/// A running gopy and its database.
pub struct Gopy {
    /// Where it answers, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// The database it runs on.
    pub db: TestDb,
    /// Stops it.
    stop: CancellationToken,
    /// Its task.
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Gopy {
    /// Starts gopy (demo campaign on, no bots) on `db`.
    pub async fn start(db: TestDb) -> Self {
        Self::start_with_clock(db, gopy::service::system_clock()).await
    }

    /// Starts gopy on `db` with a clock the test moves.
    pub async fn start_with_clock(db: TestDb, clock: gopy::service::Clock) -> Self {
        let settings = Settings {
            database_url: db.url.clone(),
            http_addr: "127.0.0.1:0".parse().expect("address"),
            demo: true,
            ..Settings::default()
        };
        let app = Application::build_with_clock(settings, clock)
            .await
            .expect("gopy builds");
        let base = format!("http://{}", app.local_addr().expect("bound"));
        let stop = CancellationToken::new();
        let token = stop.clone();
        let handle = tokio::spawn(async move {
            app.run(token).await.expect("gopy runs and stops cleanly");
        });
        Self {
            base,
            db,
            stop,
            handle: Some(handle),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.db.store
    }

    /// Adds a staff user with a password they chose already (no change required).
    pub async fn staff(&self, name: &str, roles: &[Role], unit: Option<&str>, password: &str) {
        self.staff_with(name, roles, unit, password, false).await;
    }

    /// Adds a staff user with a password, one-time or not.
    pub async fn staff_with(
        &self,
        name: &str,
        roles: &[Role],
        unit: Option<&str>,
        password: &str,
        must_change: bool,
    ) {
        let now = chrono::Utc::now();
        let link = gopy::announce::access::new_link_code(now);
        let user = self
            .store()
            .add_staff(
                &NewStaff {
                    name: name.to_owned(),
                    roles: roles.to_vec(),
                    unit: unit.map(str::to_owned),
                },
                &link,
                "test",
                now,
            )
            .await
            .expect("add staff");
        let hash = gopy::console::auth::hash_password(password).expect("hash");
        let audit = AuditEntry {
            at: now,
            actor: "test".to_owned(),
            action: "console.password_issue".to_owned(),
            detail: serde_json::json!({}),
        };
        assert!(
            self.store()
                .set_password(user.id, &hash, must_change, None, &audit)
                .await
                .expect("set password")
        );
    }

    /// Stores a submitted chat opinion on the first campaign's topic `topic`, as resident `who`.
    pub async fn opinion(&self, who: &str, unit: Option<&str>, topic: usize, text: &str) {
        use gopy::domain::{Channel, ContactKey, Locale, OpinionSource};
        let store = self.store();
        let campaign = store.campaigns().await.expect("campaigns")[0].clone();
        let mut tx = store.begin().await.expect("begin");
        let contact = tx
            .contact(
                &ContactKey {
                    channel: Channel::Terminal,
                    external_id: who.to_owned(),
                },
                Locale::Vi,
            )
            .await
            .expect("contact");
        tx.insert_opinion(&gopy::store::NewOpinion {
            reference: format!("R{}", who.to_uppercase()),
            campaign_id: campaign.id,
            contact_id: Some(contact.id),
            topic: campaign.topics[topic].code.clone(),
            section: None,
            unit: unit.map(str::to_owned),
            target_group: None,
            channel: Channel::Terminal,
            source: OpinionSource::Chat,
            anonymous: true,
            text: text.to_owned(),
            created_at: chrono::Utc::now(),
        })
        .await
        .expect("insert");
        tx.submit_drafts(contact.id, campaign.id, "GY-BIENNH", chrono::Utc::now())
            .await
            .expect("submit");
        tx.commit().await.expect("commit");
    }

    /// Stops gopy and waits for it.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(10), h)
                .await
                .expect("graceful shutdown within 10 s")
                .expect("no panic");
        }
    }
}

/// What the server answered.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// Every `Set-Cookie` header.
    pub set_cookies: Vec<String>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The value of `<input name="csrf" value="…">` in the page.
    pub fn csrf(&self) -> String {
        hidden(&self.body, "csrf").unwrap_or_else(|| panic!("no csrf field in {}", self.body))
    }
}

/// The value of a hidden input in a page.
pub fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')?;
    Some(body[start..start + end].to_owned())
}

/// A browser that keeps cookies and never follows redirects.
pub struct Browser {
    /// Where gopy answers.
    base: String,
    /// The HTTP client.
    client: reqwest::Client,
    /// Cookies by name.
    pub cookies: HashMap<String, String>,
}

impl Browser {
    /// A browser with no cookies.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("location").to_owned());
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("cookie").to_owned())
            .collect();
        for c in &set_cookies {
            let first = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let body = res.text().await.expect("body");
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    /// GET a path.
    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.client.get(format!("{}{path}", self.base));
        self.finish(req).await
    }

    /// POST a form to a path.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.client.post(format!("{}{path}", self.base)).form(form);
        self.finish(req).await
    }

    /// POST a `multipart/form-data` form with text fields and one file.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Answer {
        let boundary = "gopy-test-boundary-7MA4YWxk";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, file_name, data) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.finish(req).await
    }

    /// GET a path and keep the body's bytes (downloads).
    pub async fn get_bytes(&mut self, path: &str) -> (u16, Option<String>, Vec<u8>) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let disposition = res
            .headers()
            .get("content-disposition")
            .map(|v| v.to_str().expect("header").to_owned());
        (
            status,
            disposition,
            res.bytes().await.expect("body").to_vec(),
        )
    }

    /// POST a form and keep the body's bytes (downloads).
    pub async fn post_bytes(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Option<String>, Vec<u8>) {
        let mut req = self.client.post(format!("{}{path}", self.base)).form(form);
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let disposition = res
            .headers()
            .get("content-disposition")
            .map(|v| v.to_str().expect("header").to_owned());
        (
            status,
            disposition,
            res.bytes().await.expect("body").to_vec(),
        )
    }

    /// Signs in through the login page; returns the answer to the POST.
    pub async fn login(&mut self, name: &str, password: &str) -> Answer {
        let page = self.get("/console/login").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        self.post(
            "/console/login",
            &[
                ("name", name),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/console"),
            ],
        )
        .await
    }

    /// The session's CSRF token, read from a page of the console.
    pub async fn session_csrf(&mut self) -> String {
        self.get("/console").await.csrf()
    }
}
