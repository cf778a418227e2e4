//! The console and the public page in a real browser: headless Chromium driven through
//! Debian's chromedriver against gopy on localhost. An official signs in for the first time
//! and changes the one-time password, composes and submits an announcement, a second person
//! approves it, a moderator hides a flagged post, a resident gives an opinion on the
//! public page, and a ward official creates a campaign in the form and builds and downloads
//! a synthesis (an XLSX file, opened as a zip). Screenshots of the main pages go to `docs/screenshots/` (for the README); on
//! a failure the page is saved to `target/browser-artifacts/`. Without chromedriver the test
//! is reported ignored, unless `GOPY_REQUIRE_BROWSER=1` makes that a failure.

mod browser_support;
mod common;
mod console_support;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, ensure};
use chrono::Utc;

use browser_support::Browser;
use common::TestDb;
use console_support::Gopy;
use gopy::domain::Channel;
use gopy::moderation::{NewItem, Source, Target};
use gopy::store::announce::Role;

const OTP: &str = "Abcd-Efgh-Jkmn";
const PW: &str = "Mật-khẩu-thử-nghiệm-1";
const CHOSEN: &str = "Đồng-lúa-chín-2025";

fn shots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

async fn sign_in(b: &Browser, base: &str, name: &str, password: &str) -> anyhow::Result<()> {
    b.clear_cookies().await?;
    b.go(&format!("{base}/console")).await?;
    b.wait_for("name=\"password\"").await?;
    b.fill("#name", name).await?;
    b.fill("#password", password).await?;
    b.click("form.stack button[type=submit]").await?;
    Ok(())
}

async fn story(b: &Browser, gopy: &Gopy, downloads: &Path) -> anyhow::Result<()> {
    let base = &gopy.base;

    // First sign-in with the one-time password: the password must be changed first.
    sign_in(b, base, "canbo", OTP).await?;
    b.wait_for("id=\"confirm\"").await?;
    ensure!(
        b.url().await?.ends_with("/console/password"),
        "sent to the password page"
    );
    b.screenshot(&shots().join("password.png")).await?;
    b.fill("#current", OTP).await?;
    b.fill("#new", CHOSEN).await?;
    b.fill("#confirm", CHOSEN).await?;
    b.click("form.stack button[type=submit]").await?;
    b.wait_for("Đã đổi mật khẩu").await?;
    b.go(&format!("{base}/console")).await?;
    b.wait_for("Ý kiến theo nội dung").await?;
    b.screenshot(&shots().join("dashboard.png")).await?;

    // Compose with a preview, save, submit.
    b.go(&format!("{base}/console/broadcasts/new")).await?;
    b.wait_for("id=\"text\"").await?;
    b.fill(
        "#text",
        "Kính mời bà con Tổ dân phố 1 góp ý dự thảo văn kiện trước ngày 20/7.",
    )
    .await?;
    b.wait_for("<span class=\"count\">68</span>").await?;
    b.click("button[value=preview]").await?;
    let html = b.wait_for("class=\"counters\"").await?;
    ensure!(html.contains("Zalo: 68/2.000 ký tự"), "the Zalo counter");
    b.screenshot(&shots().join("broadcast-compose.png")).await?;
    b.click("button[value=save]").await?;
    b.wait_for("Bản nháp").await?;
    b.click("form[action$='/submit'] button").await?;
    b.wait_for("Chờ phê duyệt").await?;

    // A second person approves.
    sign_in(b, base, "lanhdao", PW).await?;
    b.wait_for("Tổng quan").await?;
    b.go(&format!("{base}/console/broadcasts/1")).await?;
    b.wait_for("/console/broadcasts/1/approve").await?;
    b.click("form[action$='/approve'] button").await?;
    b.wait_for("Đã phê duyệt").await?;
    b.screenshot(&shots().join("broadcast-approved.png"))
        .await?;
    let state = gopy
        .store()
        .broadcast(1)
        .await?
        .context("broadcast 1")?
        .state;
    ensure!(
        state.as_str() == "approved",
        "stored as approved, not {state:?}"
    );

    // A moderator hides a flagged post.
    gopy.store()
        .queue_item(&NewItem {
            target: Target::GroupPost {
                channel: Channel::Telegram,
                chat_id: "-100777".to_owned(),
                message_id: "42".to_owned(),
            },
            text: "Mua bán sim số đẹp, liên hệ ngay 0912 345 678".to_owned(),
            author: None,
            source: Source::Report,
            categories: Vec::new(),
            score: 0,
            matches: Vec::new(),
            at: Utc::now(),
        })
        .await?;
    sign_in(b, base, "kiemduyet", PW).await?;
    b.wait_for("Tổng quan").await?;
    b.go(&format!("{base}/console/moderation")).await?;
    b.wait_for("Mua bán sim").await?;
    b.screenshot(&shots().join("moderation.png")).await?;
    b.fill("input[name=reason]", "Quảng cáo, lộ số điện thoại")
        .await?;
    b.click("button[value=hide]").await?;
    b.wait_for("Không có nội dung nào").await?;

    // A resident on the public page, with no session.
    b.clear_cookies().await?;
    b.go(&format!("{base}/y-kien/hoa-binh-dh-2025")).await?;
    b.wait_for("Thông báo về xử lý dữ liệu cá nhân").await?;
    b.screenshot(&shots().join("public-page.png")).await?;
    b.fill(
        "textarea",
        "Đề nghị bổ sung chỉ tiêu về chuyển đổi số cấp phường.",
    )
    .await?;
    b.click("input[name=consent]").await?;
    b.click("form.stack button[type=submit]").await?;
    let html = b.wait_for("id=\"receipt\"").await?;
    ensure!(html.contains("GY-"), "a receipt code");
    b.screenshot(&shots().join("public-receipt.png")).await?;
    let campaign = gopy.store().campaigns().await?[0].id;
    let web = gopy
        .store()
        .campaign_opinions(campaign)
        .await?
        .into_iter()
        .filter(|o| o.source.as_str() == "web")
        .count();
    ensure!(web == 1, "one web opinion stored, not {web}");

    // A ward official creates a campaign in the form: a wrong slug is shown beside its
    // field, then the campaign is created.
    sign_in(b, base, "phuong", PW).await?;
    b.wait_for("Tổng quan").await?;
    b.go(&format!("{base}/console/campaigns/new")).await?;
    b.wait_for("id=\"unit_code_0\"").await?;
    for (css, text) in [
        ("#slug", "Phuong Moi"),
        ("#title", "Lấy ý kiến dự thảo Nghị quyết phường Mới"),
        ("#issuer", "Đảng ủy phường Mới"),
        (
            "#document_title",
            "Dự thảo Nghị quyết về chỉnh trang đô thị",
        ),
        ("#intro", "Kính mời bà con góp ý dự thảo."),
        (
            "#purpose",
            "Đảng ủy phường thu thập ý kiến để hoàn thiện dự thảo.",
        ),
        ("#unit_code_0", "phuong-moi"),
        ("#unit_name_0", "Phường Mới"),
        ("#unit_kind_0", "ward"),
        ("#unit_code_1", "pm-to-1"),
        ("#unit_name_1", "Tổ dân phố 1"),
        ("#unit_kind_1", "residential-group"),
        ("#unit_parent_1", "phuong-moi"),
        ("#phase_collect_starts", "2026-12-01 07:00"),
        ("#phase_collect_ends", "2026-12-20"),
        ("#section_reference_0", "I"),
        ("#section_title_0", "Chỉnh trang đô thị"),
        ("#section_summary_0", "Vỉa hè, cây xanh, chiếu sáng."),
        ("#topic_code_0", "do-thi"),
        ("#topic_title_0", "Chỉnh trang đô thị"),
        (
            "#topic_question_0",
            "Bà con có ý kiến gì về chỉnh trang đô thị?",
        ),
        ("#topic_sections_0", "I"),
    ] {
        b.fill(css, text).await?;
    }
    b.click("input[name=target_group][value=farmer]").await?;
    b.click("button[value=save]").await?;
    b.wait_for("class=\"field-error\"").await?;
    b.screenshot(&shots().join("campaign-form.png")).await?;
    b.clear("#slug").await?;
    b.fill("#slug", "phuong-moi-2026").await?;
    b.click("button[value=save]").await?;
    b.wait_for("phuong-moi-2026/edit").await?;
    b.screenshot(&shots().join("campaign-created.png")).await?;
    let created = gopy
        .store()
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == "phuong-moi-2026")
        .context("the campaign is stored")?;
    ensure!(
        created.units.len() == 2 && created.topics.len() == 1,
        "{created:?}"
    );

    // The same official builds the demo campaign's synthesis and exports it.
    b.go(&format!(
        "{base}/console/campaigns/hoa-binh-dh-2025/synthesis"
    ))
    .await?;
    b.wait_for("id=\"build\"").await?;
    b.click("#build").await?;
    b.wait_for("Đã dựng bản tổng hợp").await?;
    b.screenshot(&shots().join("synthesis.png")).await?;
    b.click("#export-button").await?;
    let file = b.wait_for_download(downloads).await?;
    ensure!(
        file.extension().and_then(|e| e.to_str()) == Some("xlsx"),
        "an XLSX file: {}",
        file.display()
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file)?)?;
    ensure!(
        zip.by_name("xl/workbook.xml").is_ok(),
        "a valid workbook with its parts"
    );
    b.go(&format!("{base}/console/campaigns/hoa-binh-dh-2025/groups"))
        .await?;
    b.wait_for("Nhóm ý kiến tương tự").await?;
    b.screenshot(&shots().join("synthesis-groups.png")).await?;
    b.go(&format!("{base}/console/opinions/import")).await?;
    b.wait_for("enctype=\"multipart/form-data\"").await?;
    b.screenshot(&shots().join("opinions-import.png")).await?;

    // On a phone's screen the form is one column.
    b.resize(390, 844).await?;
    b.go(&format!("{base}/console/campaigns/phuong-moi-2026/edit"))
        .await?;
    b.wait_for("id=\"unit_code_0\"").await?;
    b.screenshot(&shots().join("campaign-form-phone.png"))
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(gopy_browser),
    ignore = "chromedriver not found: apt-get install chromium chromium-driver (GOPY_REQUIRE_BROWSER=1 makes this a failure)"
)]
async fn an_official_an_approver_a_moderator_and_a_resident_in_a_real_browser() {
    let gopy = Gopy::start(TestDb::sqlite().await).await;
    gopy.staff_with("canbo", &[Role::Official], Some("tdp-1"), OTP, true)
        .await;
    gopy.staff("lanhdao", &[Role::Approver], None, PW).await;
    gopy.staff("kiemduyet", &[Role::Moderator], None, PW).await;
    gopy.staff("phuong", &[Role::Official], None, PW).await;
    let seeds = [
        (
            Some("tdp-1"),
            0,
            "Đề nghị tăng chỉ tiêu thu nhập bình quân đầu người.",
        ),
        (Some("tdp-1"), 0, "Cần cụ thể hóa mục tiêu kinh tế số."),
        (Some("tdp-1"), 1, "Chỉnh trang vỉa hè, trồng thêm cây xanh."),
        (
            Some("tdp-1"),
            2,
            "Rút ngắn thời gian giải quyết thủ tục đất đai.",
        ),
        (Some("tdp-1"), 4, "Ưu tiên xử lý ngập úng mùa mưa."),
        (Some("tdp-2"), 4, "Ưu tiên xử lý ngập úng vào mùa mưa."),
        (Some("tdp-2"), 4, "Ưu tiên xử lý ngập úng trong mùa mưa."),
        (Some("tdp-1"), 4, "Đèn chiếu sáng ngõ 12 hỏng đã lâu."),
        (Some("tdp-2"), 0, "Hỗ trợ hộ kinh doanh nhỏ chuyển đổi số."),
    ];
    for (i, (unit, topic, text)) in seeds.into_iter().enumerate() {
        gopy.opinion(&format!("nguoi-dan-{i}"), unit, topic, text)
            .await;
    }
    let downloads = tempfile::tempdir().expect("a download folder");
    let browser = Browser::start_with_downloads(1280, 1000, Some(downloads.path()))
        .await
        .unwrap_or_else(|e| panic!("cannot start the browser: {e:#}"));
    let outcome = story(&browser, &gopy, downloads.path()).await;
    if let Err(e) = outcome {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
        let _ = browser.screenshot(&dir.join("failure.png")).await;
        if let Ok(html) = browser.source().await {
            let _ = std::fs::write(dir.join("failure.html"), html);
        }
        browser.quit().await;
        panic!("{e:#} (screenshot and page in target/browser-artifacts/)");
    }
    browser.quit().await;
    gopy.stop().await;
}
