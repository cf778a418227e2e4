//! The console's login, one-time passwords, password change, logout, cookies, CSRF and
//! throttling, over real HTTP against gopy on a fresh database (SQLite always; Postgres when
//! `TEST_DATABASE_URL` is set).

mod common;
mod console_support;

use common::TestDb;
use console_support::{Browser, Gopy};
use gopy::store::announce::Role;

const OTP: &str = "Abcd-Efgh-Jkmn";
const CHOSEN: &str = "Đồng-lúa-chín-2025";

async fn story_first_login_changes_the_one_time_password(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff_with("lan", &[Role::Admin], None, OTP, true)
        .await;
    let mut b = Browser::new(&gopy.base);

    // Anonymous: every console page sends to the login page, which keeps where to go next.
    let a = b.get("/console").await;
    assert_eq!(a.status, 303);
    assert_eq!(
        a.location.as_deref(),
        Some("/console/login?next=%2Fconsole")
    );

    // The login page is Vietnamese by default and sets its CSRF cookie, HttpOnly and Strict.
    let page = b.get("/console/login").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Đăng nhập"), "{}", page.body);
    assert!(page.body.contains("<html lang=\"vi\">"));
    let login_cookie = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("gopy_login="))
        .expect("login cookie");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));
    assert!(
        !login_cookie.contains("Secure"),
        "not Secure unless configured"
    );

    // A login without the form's token is refused, even with the right password.
    let a = b
        .post(
            "/console/login",
            &[("name", "lan"), ("password", OTP), ("csrf", "forged")],
        )
        .await;
    assert_eq!(a.status, 403);
    assert!(!b.cookies.contains_key("gopy_session"));

    // A wrong password says so without telling whether the name exists.
    let a = b.login("lan", "wrong password").await;
    assert_eq!(a.status, 401);
    assert!(a.body.contains("Tên đăng nhập hoặc mật khẩu không đúng."));
    let nobody = b.login("nobody", "wrong password").await;
    assert_eq!(nobody.status, 401);
    assert!(
        nobody
            .body
            .contains("Tên đăng nhập hoặc mật khẩu không đúng.")
    );

    // The one-time password opens a session that can only change the password.
    let a = b.login("lan", OTP).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/console/password"));
    let session = a
        .set_cookies
        .iter()
        .find(|c| c.starts_with("gopy_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    assert!(session.contains("Path=/console"));
    let token = b.cookies["gopy_session"].clone();
    assert_eq!(
        gopy.db
            .int(&format!(
                "SELECT count(*) FROM console_sessions WHERE token_hash = '{token}'"
            ))
            .await,
        0,
        "the database keeps the token's hash, never the token"
    );
    let a = b.get("/console").await;
    assert_eq!(a.status, 303);
    assert_eq!(a.location.as_deref(), Some("/console/password"));

    let page = b.get("/console/password").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("chỉ dùng một lần"), "{}", page.body);
    let csrf = page.csrf();

    // The form's token is required; a weak new password is refused with the reason.
    let a = b
        .post(
            "/console/password",
            &[
                ("csrf", "nope"),
                ("current", OTP),
                ("new", CHOSEN),
                ("confirm", CHOSEN),
            ],
        )
        .await;
    assert_eq!(a.status, 403);
    let a = b
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current", OTP),
                ("new", "ngắn"),
                ("confirm", "ngắn"),
            ],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("ít nhất 10 ký tự"), "{}", a.body);
    let a = b
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current", "not it"),
                ("new", CHOSEN),
                ("confirm", CHOSEN),
            ],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("Mật khẩu hiện tại không đúng."));

    let a = b
        .post(
            "/console/password",
            &[
                ("csrf", &csrf),
                ("current", OTP),
                ("new", CHOSEN),
                ("confirm", CHOSEN),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let home = b.get("/console").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Xin chào lan."), "{}", home.body);

    // The one-time password works no more; the chosen one does.
    let mut other = Browser::new(&gopy.base);
    assert_eq!(other.login("lan", OTP).await.status, 401);
    let a = other.login("lan", CHOSEN).await;
    assert_eq!(a.location.as_deref(), Some("/console"));

    // English on request, remembered in a cookie.
    let a = b.get("/console/lang/en?next=/console").await;
    assert_eq!(a.status, 303);
    assert_eq!(a.location.as_deref(), Some("/console"));
    let home = b.get("/console").await;
    assert!(home.body.contains("Hello lan."), "{}", home.body);
    assert!(home.body.contains("<html lang=\"en\">"));

    // Logout needs the session's token, ends the session, and the cookie opens nothing.
    let csrf = home.csrf();
    let stolen = b.cookies["gopy_session"].clone();
    assert_eq!(
        b.post("/console/logout", &[("csrf", "x")]).await.status,
        403
    );
    let a = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(a.status, 303);
    assert_eq!(a.location.as_deref(), Some("/console/login?bye=1"));
    assert!(!b.cookies.contains_key("gopy_session"));
    b.cookies.insert("gopy_session".to_owned(), stolen);
    assert_eq!(b.get("/console").await.status, 303);

    // Everything was audited, with the address it came from.
    let actions = gopy
        .db
        .strings("SELECT action FROM audit_log WHERE actor = 'lan' ORDER BY id")
        .await;
    assert_eq!(
        actions,
        vec![
            "console.login",
            "console.password_change",
            "console.login",
            "console.logout"
        ]
    );
    let ips = gopy
        .db
        .strings("SELECT CAST(detail AS TEXT) FROM audit_log WHERE actor = 'lan'")
        .await;
    assert!(ips.iter().all(|d| d.contains("127.0.0.1")), "{ips:?}");
    gopy.stop().await;
}

async fn story_wrong_passwords_lock_the_account_then_the_address(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("hoa", &[Role::Official], None, CHOSEN).await;
    gopy.staff("minh", &[Role::Official], None, CHOSEN).await;
    let mut b = Browser::new(&gopy.base);
    for _ in 0..5 {
        assert_eq!(b.login("hoa", "sai mật khẩu").await.status, 401);
    }
    // Locked: even the right password is refused, with the reason and the wait.
    let a = b.login("hoa", CHOSEN).await;
    assert_eq!(a.status, 429);
    assert!(a.body.contains("tạm thời bị khóa"), "{}", a.body);
    assert!(a.body.contains("15 phút"));
    // Another account from the same address still signs in.
    assert_eq!(b.login("minh", CHOSEN).await.status, 303);
    // Twenty failures from one address lock it for every name.
    for i in 0..15 {
        let name = format!("khong-ai-{i}");
        assert_eq!(b.login(&name, "x").await.status, 401);
    }
    let a = Browser::new(&gopy.base).login("minh", CHOSEN).await;
    assert_eq!(a.status, 429);
    assert!(a.body.contains("địa chỉ mạng"), "{}", a.body);
    assert_eq!(
        gopy.db
            .int("SELECT count(*) FROM console_login_attempts WHERE success = false")
            .await,
        20
    );
    gopy.stop().await;
}

/// The README's first sign-in: `gopy staff add --role admin` prints a one-time password,
/// which opens the console once and must be replaced; `gopy staff password` issues another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_administrator_signs_in_with_the_password_gopy_staff_add_printed() {
    let db = TestDb::sqlite().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_gopy"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("GOPY_DEMO", "off")
            .env("USER", "tester")
            .output()
            .expect("run the gopy binary")
    };
    let out = run(&["staff", "add", "--name", "quantri", "--role", "admin"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    let otp = printed
        .lines()
        .find(|l| l.contains("one-time console password"))
        .and_then(|l| l.rsplit(": ").next())
        .expect("the one-time password is printed")
        .trim()
        .to_owned();
    assert_eq!(otp.len(), 14, "{printed}");
    let stored = db
        .strings("SELECT password_hash FROM staff_users WHERE name = 'quantri'")
        .await;
    assert!(
        stored[0].starts_with("$argon2id$"),
        "only the hash is stored"
    );
    assert!(!stored[0].contains(&otp));

    let gopy = Gopy::start(db).await;
    let mut b = Browser::new(&gopy.base);
    let a = b.login("quantri", &otp).await;
    assert_eq!(a.location.as_deref(), Some("/console/password"));

    // A new one-time password replaces the first and closes the sessions it opened.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gopy"))
        .args(["staff", "password", "quantri"])
        .env("DATABASE_URL", &gopy.db.url)
        .env("GOPY_DEMO", "off")
        .env("USER", "tester")
        .output()
        .expect("run the gopy binary");
    assert!(out.status.success());
    assert_eq!(
        b.get("/console/password").await.status,
        303,
        "the old session is closed"
    );
    assert_eq!(
        Browser::new(&gopy.base).login("quantri", &otp).await.status,
        401
    );
    let actions = gopy
        .db
        .strings("SELECT action FROM audit_log WHERE actor = 'cli:tester' ORDER BY id")
        .await;
    assert_eq!(
        actions,
        vec![
            "staff.add",
            "console.password_issue",
            "console.password_issue"
        ]
    );
    gopy.stop().await;
}

#[tokio::test]
async fn sqlite_first_login_changes_the_one_time_password() {
    story_first_login_changes_the_one_time_password(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_first_login_changes_the_one_time_password() {
    story_first_login_changes_the_one_time_password(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_wrong_passwords_lock_the_account_then_the_address() {
    story_wrong_passwords_lock_the_account_then_the_address(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_wrong_passwords_lock_the_account_then_the_address() {
    story_wrong_passwords_lock_the_account_then_the_address(TestDb::postgres().await).await;
}
