//! A broadcast's attachment and button from the console's compose page, over real HTTP on
//! both backends: a program named `.pdf` is refused in Vietnamese with nothing stored; an
//! image is stored with the button to the audience's unit and shown with its link, which
//! serves the very bytes; the preview says when a text is too long for a caption.

mod common;
mod console_support;

use common::TestDb;
use console_support::{Answer, Browser, Gopy};
use gopy::store::announce::Role;

const PW: &str = "Mật-khẩu-thử-nghiệm-1";
const DEMO: &str = "hoa-binh-dh-2025";

/// A small PNG (its signature is what gopy checks).
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    b
}

/// Posts the compose form with a file.
async fn post(b: &mut Browser, fields: Vec<(&str, String)>, file: (&str, &[u8])) -> Answer {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post_file("/console/broadcasts", &borrowed, ("file", file.0, file.1))
        .await
}

async fn story_compose_with_a_file(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("canbo", &[Role::Official], Some("tdp-1"), PW)
        .await;
    let mut b = Browser::new(&gopy.base);
    let a = b.login("canbo", PW).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let csrf = b.session_csrf().await;
    let form = b.get("/console/broadcasts/new").await;
    assert!(
        form.body.contains("enctype=\"multipart/form-data\"") && form.body.contains("Góp ý ngay"),
        "{}",
        form.body
    );
    let fields = |text: &'static str, intent: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("text", text.to_owned()),
            ("units", "tdp-1".to_owned()),
            ("campaign", DEMO.to_owned()),
            ("button", "on".to_owned()),
            ("intent", intent.to_owned()),
        ]
    };
    // A program named .pdf: refused, said in Vietnamese, nothing stored.
    let a = post(
        &mut b,
        fields("Mời bà con góp ý.", "save"),
        ("du-thao.pdf", b"MZ\x90\x00 a program"),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(
        a.body.contains("Chỉ nhận tệp PDF, DOCX, JPEG hoặc PNG"),
        "{}",
        a.body
    );
    assert!(gopy.store().broadcast(1).await.unwrap().is_none());

    // A preview with an image and a long text: the image goes first on Telegram.
    let long: &'static str = "Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý. \
        Dự thảo quy chế tổ dân phố được gửi kèm để bà con đọc kỹ và góp ý.";
    assert!(long.chars().count() > 1024);
    let a = post(&mut b, fields(long, "preview"), ("so-do.png", &png())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("ảnh được gửi trước"), "{}", a.body);
    assert!(gopy.store().broadcast(1).await.unwrap().is_none());

    // Saved with the image: stored with its button; the page links the file, which is served.
    let a = post(
        &mut b,
        fields("Mời bà con xem sơ đồ.", "save"),
        ("so-do.png", &png()),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let stored = gopy.store().broadcast(1).await.unwrap().expect("stored");
    assert_eq!(stored.button_unit.as_deref(), Some("tdp-1"));
    let file = gopy
        .store()
        .broadcast_attachment(1)
        .await
        .unwrap()
        .expect("attached");
    assert_eq!(file.media_type, "image/png");
    let page = b.get("/console/broadcasts/1").await;
    let link = format!("/tep/{}", file.token);
    assert!(
        page.body.contains(&file.token) && page.body.contains("Tệp đính kèm: so-do.png"),
        "{}",
        page.body
    );
    let (status, _, bytes) = b.get_bytes(&link).await;
    assert_eq!((status, bytes), (200, png()));
    gopy.stop().await;
}

#[tokio::test]
async fn sqlite_a_file_is_attached_in_the_compose_page() {
    story_compose_with_a_file(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_a_file_is_attached_in_the_compose_page() {
    story_compose_with_a_file(TestDb::postgres().await).await;
}
