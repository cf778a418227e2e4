//! The public opinion page `/y-kien/<campaign>` over real HTTP: the draft and the consent
//! notice, a submission with a receipt stored like a chat opinion (source web, anonymous,
//! consent recorded) and screened by moderation, nothing lost on a mistake, the honeypot,
//! and the limit per address.

mod common;
mod console_support;

use std::time::Duration;

use common::TestDb;
use console_support::{Browser, Gopy};

const PAGE: &str = "/y-kien/hoa-binh-dh-2025";

async fn story_public_page(db: TestDb) {
    let gopy = Gopy::start(db).await;
    let campaign = gopy.store().campaigns().await.expect("campaigns")[0].clone();
    let topic = |i: usize| format!("topic-{}", campaign.topics[i].code);
    let mut b = Browser::new(&gopy.base);

    let page = b.get(PAGE).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&campaign.sections[0].summary[..20]),
        "the draft's summaries"
    );
    assert!(
        page.body.contains("Thông báo về xử lý dữ liệu cá nhân"),
        "the chat's consent notice"
    );
    assert!(
        page.body.contains(&format!("name=\"{}\"", topic(0))),
        "a form per topic"
    );
    assert!(page.body.contains("name=\"website\""), "the honeypot");
    assert!(!page.body.contains("<script"), "no JavaScript needed");
    assert!(!page.body.contains("gopy_session"));
    assert_eq!(b.get("/y-kien/khong-co").await.status, 404);

    // Without consent nothing is stored and what was typed comes back.
    let typed = "Đề nghị bổ sung chỉ tiêu về chuyển đổi số cấp phường.";
    let a = b
        .post(PAGE, &[(topic(0).as_str(), typed), ("unit", "tdp-1")])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("đánh dấu ô đồng ý"), "{}", a.body);
    assert!(a.body.contains(typed), "nothing typed is lost");
    assert_eq!(gopy.db.int("SELECT count(*) FROM opinions").await, 0);

    // With consent: two opinions, one receipt.
    let a = b
        .post(
            PAGE,
            &[
                (topic(0).as_str(), typed),
                (topic(1).as_str(), "Cần quan tâm hơn đến người cao tuổi."),
                ("unit", "tdp-1"),
                ("group", campaign.target_groups[0].code.as_str()),
                ("consent", "yes"),
                ("website", ""),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let start = a.body.find("id=\"receipt\">").expect("a receipt") + 13;
    let receipt = a.body[start..]
        .split('<')
        .next()
        .expect("receipt")
        .to_owned();
    assert!(
        receipt.starts_with("GY-") && receipt.len() == 9,
        "{receipt}"
    );
    let stored = gopy
        .store()
        .campaign_opinions(campaign.id)
        .await
        .expect("opinions");
    assert_eq!(stored.len(), 2);
    for o in &stored {
        assert_eq!(o.source.as_str(), "web");
        assert_eq!(o.channel.as_str(), "web");
        assert_eq!(o.status.as_str(), "submitted");
        assert!(o.anonymous);
        assert_eq!(o.unit.as_deref(), Some("tdp-1"));
        assert_eq!(o.receipt.as_ref(), Some(&receipt));
    }
    assert_eq!(gopy.db.int("SELECT count(*) FROM consents").await, 1);
    assert_eq!(gopy.db.int("SELECT count(*) FROM identities").await, 0);

    // An abusive opinion is screened and queued for a moderator, as from the chat.
    let a = b
        .post(
            PAGE,
            &[
                (topic(0).as_str(), "Thằng chủ tịch ngu như bò, đm"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, 200);
    let mut queued = 0;
    for _ in 0..50 {
        queued = gopy.db.int("SELECT count(*) FROM moderation_items").await;
        if queued > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(queued, 1, "the web opinion was screened");

    // A bot filling the honeypot is thanked and nothing is stored.
    let a = b
        .post(
            PAGE,
            &[
                (topic(0).as_str(), "mua ngay"),
                ("consent", "yes"),
                ("website", "http://spam"),
            ],
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(gopy.db.int("SELECT count(*) FROM opinions").await, 3);

    // Five submissions per address in ten minutes; the sixth is refused, its text kept.
    for i in 0..3 {
        let text = format!("Ý kiến số {i}");
        let a = b
            .post(
                PAGE,
                &[(topic(0).as_str(), text.as_str()), ("consent", "yes")],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let a = b
        .post(
            PAGE,
            &[(topic(0).as_str(), "Ý kiến thứ sáu"), ("consent", "yes")],
        )
        .await;
    assert_eq!(a.status, 429);
    assert!(a.body.contains("Ý kiến thứ sáu"));
    assert_eq!(gopy.db.int("SELECT count(*) FROM opinions").await, 6);
    gopy.stop().await;
}

#[tokio::test]
async fn sqlite_the_public_page_takes_opinions_like_the_chat() {
    story_public_page(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_the_public_page_takes_opinions_like_the_chat() {
    story_public_page(TestDb::postgres().await).await;
}
