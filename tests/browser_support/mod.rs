//! A small W3C WebDriver client for the console's real-browser tests: it starts Debian's
//! `chromedriver` on a free local port, opens a headless Chromium session, and offers the
//! few commands the tests need (go, find, type, click, read the page, screenshots). Written
//! over reqwest, which gopy already uses: fantoccini would bring in a second rustls crypto
//! provider (aws-lc) beside reqwest's ring, which makes rustls refuse to choose at run time.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The key W3C WebDriver names an element reference with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it.
pub struct Browser {
    /// The chromedriver process (killed on drop).
    driver: Child,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    /// The HTTP client.
    http: reqwest::Client,
}

/// Where chromedriver is: `CHROMEDRIVER`, else `chromedriver` on the PATH.
pub fn chromedriver() -> Option<std::path::PathBuf> {
    std::env::var_os("CHROMEDRIVER")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.join("chromedriver")),
        )
        .find(|p| p.is_file())
}

/// The Chromium binary: `CHROME_BIN`, else Debian's.
fn chromium() -> String {
    std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a window of `width`×`height`.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        Self::start_with_downloads(width, height, None).await
    }

    /// The same, saving downloads in `downloads` without asking.
    pub async fn start_with_downloads(
        width: u32,
        height: u32,
        downloads: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        let path = chromedriver().ok_or_else(|| {
            anyhow!("chromedriver not found (apt-get install chromium chromium-driver)")
        })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let driver = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut browser = Self {
            driver,
            session: String::new(),
            http,
        };
        if !ready {
            bail!("chromedriver did not answer on port {port}");
        }
        let prefs = match downloads {
            Some(dir) => json!({
                "download.default_directory": dir.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
                "safebrowsing.enabled": false,
            }),
            None => json!({}),
        };
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--lang=vi",
                         format!("--window-size={width},{height}")],
                "prefs": prefs,
            }
        }}});
        let res: Value = browser
            .http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let id = res["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {res}"))?;
        browser.session = format!("{base}/session/{id}");
        Ok(browser)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req.send().await?.json().await?;
        if let Some(err) = res["value"]["error"].as_str() {
            bail!("webdriver {path}: {err}: {}", res["value"]["message"]);
        }
        Ok(res["value"].clone())
    }

    /// Opens a URL.
    pub async fn go(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The current URL.
    pub async fn url(&self) -> anyhow::Result<String> {
        let v = self.call(reqwest::Method::GET, "/url", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The page's HTML.
    pub async fn source(&self) -> anyhow::Result<String> {
        let v = self.call(reqwest::Method::GET, "/source", None).await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The element matching a CSS selector.
    pub async fn find(&self, css: &str) -> anyhow::Result<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .with_context(|| format!("finding {css}"))?;
        v[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no element for {css}: {v}"))
    }

    /// Types into the element matching `css`.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await
        .map(drop)
    }

    /// Resizes the window (a phone's screen, say).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await
        .map(drop)
    }

    /// Empties the input matching `css`.
    pub async fn clear(&self, css: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// Waits until a finished download appears in `dir` and returns its path.
    pub async fn wait_for_download(
        &self,
        dir: &std::path::Path,
    ) -> anyhow::Result<std::path::PathBuf> {
        for _ in 0..100 {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    if !name.ends_with(".crdownload") && !name.starts_with('.') {
                        return Ok(p);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no download appeared in {}", dir.display())
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await
        .map(drop)
    }

    /// Forgets every cookie (to act as someone else).
    pub async fn clear_cookies(&self) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, "/cookie", None)
            .await
            .map(drop)
    }

    /// Waits until the page contains `text` (pages load after a click).
    pub async fn wait_for(&self, text: &str) -> anyhow::Result<String> {
        for _ in 0..50 {
            let html = self.source().await?;
            if html.contains(text) {
                return Ok(html);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = self.url().await.unwrap_or_default();
        bail!("{url} never showed {text:?}")
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("decoding the screenshot")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session and chromedriver.
    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.session).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
