//! The console's tools beyond reading, over real HTTP on both backends: a campaign created
//! and edited in the form (problems shown beside their fields, in Vietnamese, nothing
//! stored until all is right; a topic with opinions cannot be dropped; another unit's
//! official is refused), the synthesis built, its groups changed and exported (anonymous by
//! default; names only for a leader with a reason, audited), opinions classified and
//! imported from a table (all or nothing, problems by row), an announcement to one chosen
//! group, and sessions that end when left idle or when they grow too old (with a moved
//! clock).

mod common;
mod console_support;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use common::TestDb;
use console_support::{Answer, Browser, Gopy};
use gopy::campaign::form::{Draft, PHASE_KINDS};
use gopy::domain::Channel;
use gopy::store::announce::{BotMembership, BotStatus, GroupKind, Role};

const PW: &str = "Mật-khẩu-thử-nghiệm-1";
const DEMO: &str = "hoa-binh-dh-2025";

async fn signed_in(gopy: &Gopy, name: &str) -> (Browser, String) {
    let mut b = Browser::new(&gopy.base);
    let a = b.login(name, PW).await;
    assert_eq!(a.status, 303, "{name} signs in: {}", a.body);
    let csrf = b.session_csrf().await;
    (b, csrf)
}

/// A draft as the form posts it.
fn pairs(d: &Draft, csrf: &str, op: &str) -> Vec<(String, String)> {
    let mut out = vec![
        ("csrf".to_owned(), csrf.to_owned()),
        ("op".to_owned(), op.to_owned()),
    ];
    let mut put = |k: &str, v: &str| out.push((k.to_owned(), v.to_owned()));
    put("slug", &d.slug);
    put("issuer", &d.issuer);
    put("title", &d.title);
    put("document_title", &d.document_title);
    put("intro", &d.intro);
    put("purpose", &d.purpose);
    put("retention_months", &d.retention_months);
    put("notice_version", &d.notice_version);
    for g in &d.target_groups {
        put("target_group", g);
    }
    for u in &d.units {
        put("unit_code", &u.code);
        put("unit_name", &u.name);
        put("unit_kind", &u.kind);
        put("unit_parent", &u.parent);
    }
    for s in &d.sections {
        put("section_reference", &s.reference);
        put("section_title", &s.title);
        put("section_summary", &s.summary);
    }
    for t in &d.topics {
        put("topic_code", &t.code);
        put("topic_title", &t.title);
        put("topic_question", &t.question);
        put("topic_sections", &t.sections);
    }
    for (k, p) in PHASE_KINDS.iter().zip(d.phases.iter()) {
        put(&format!("phase_{}_starts", k.as_str()), &p.starts);
        put(&format!("phase_{}_ends", k.as_str()), &p.ends);
    }
    out
}

async fn post_pairs(b: &mut Browser, path: &str, p: &[(String, String)]) -> Answer {
    let borrowed: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(path, &borrowed).await
}

/// A small new campaign, as an official would fill the form.
fn new_campaign() -> Draft {
    let mut d = Draft {
        slug: "phuong-moi-2026".to_owned(),
        issuer: "Đảng ủy phường Mới".to_owned(),
        title: "Lấy ý kiến dự thảo Nghị quyết phường Mới".to_owned(),
        document_title: "Dự thảo Nghị quyết về chỉnh trang đô thị".to_owned(),
        intro: "Kính mời bà con góp ý.".to_owned(),
        purpose: "Đảng ủy phường thu thập ý kiến để hoàn thiện dự thảo.".to_owned(),
        retention_months: "12".to_owned(),
        notice_version: "1".to_owned(),
        target_groups: vec!["farmer".to_owned(), "youth".to_owned()],
        ..Draft::default()
    };
    d.units = vec![
        gopy::campaign::form::DraftUnit {
            code: "phuong-moi".to_owned(),
            name: "Phường Mới".to_owned(),
            kind: "ward".to_owned(),
            parent: String::new(),
        },
        gopy::campaign::form::DraftUnit {
            code: "pm-to-1".to_owned(),
            name: "Tổ 1".to_owned(),
            kind: "residential-group".to_owned(),
            parent: "phuong-moi".to_owned(),
        },
    ];
    d.sections = vec![gopy::campaign::form::DraftSection {
        reference: "I".to_owned(),
        title: "Mục tiêu".to_owned(),
        summary: "Chỉnh trang vỉa hè, cây xanh.".to_owned(),
    }];
    d.topics = vec![gopy::campaign::form::DraftTopic {
        code: "do-thi".to_owned(),
        title: "Chỉnh trang đô thị".to_owned(),
        question: "Bà con có ý kiến gì về chỉnh trang đô thị?".to_owned(),
        sections: "I".to_owned(),
    }];
    d.phases[1] = gopy::campaign::form::DraftPhase {
        starts: "2026-01-05 07:00".to_owned(),
        ends: "2026-01-20".to_owned(),
    };
    d
}

async fn story_campaign_form(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("canbo", &[Role::Official], None, PW).await;
    gopy.staff("canbo2", &[Role::Official], Some("tdp-2"), PW)
        .await;
    gopy.opinion("nguoi-dan-1", Some("tdp-1"), 0, "Ý kiến về mục tiêu.")
        .await;
    let (mut b, csrf) = signed_in(&gopy, "canbo").await;

    let form = b.get("/console/campaigns/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("id=\"unit_code_0\""), "{}", form.body);
    assert!(
        b.get("/console/campaigns")
            .await
            .body
            .contains("/console/campaigns/new")
    );

    // Wrong values: every problem beside its field, nothing stored.
    let mut bad = new_campaign();
    bad.slug = "Phuong Moi".to_owned();
    bad.title = String::new();
    bad.phases[1].ends = "2026-01-01".to_owned();
    let a = post_pairs(
        &mut b,
        "/console/campaigns/new",
        &pairs(&bad, &csrf, "save"),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("mã đợt (slug) không hợp lệ"), "{}", a.body);
    assert!(a.body.contains("không được để trống"), "{}", a.body);
    assert!(a.body.contains("kết thúc trước khi bắt đầu"), "{}", a.body);
    assert!(!a.body.contains("invalid slug"), "Vietnamese only");
    let slug_at = a.body.find("id=\"slug\"").expect("slug field");
    let title_at = a.body.find("id=\"title\"").expect("title field");
    let slug_error = a.body.find("mã đợt (slug) không hợp lệ").expect("error");
    assert!(
        slug_at < slug_error && slug_error < title_at,
        "the slug's problem is shown beside the slug"
    );
    assert_eq!(gopy.store().campaigns().await.expect("read").len(), 1);
    // With the English switch, the same problems in English.
    b.cookies.insert("gopy_lang".to_owned(), "en".to_owned());
    let a = post_pairs(
        &mut b,
        "/console/campaigns/new",
        &pairs(&bad, &csrf, "save"),
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("invalid slug"), "{}", a.body);
    assert!(!a.body.contains("không hợp lệ"), "English only");
    b.cookies.remove("gopy_lang");

    // "More rows" keeps what was typed and adds blank rows.
    let more = post_pairs(
        &mut b,
        "/console/campaigns/new",
        &pairs(&new_campaign(), &csrf, "rows"),
    )
    .await;
    assert_eq!(more.status, 200);
    assert!(more.body.contains("id=\"unit_code_3\""), "{}", more.body);
    assert!(more.body.contains("value=\"pm-to-1\""));

    // Right values: stored, audited.
    let a = post_pairs(
        &mut b,
        "/console/campaigns/new",
        &pairs(&new_campaign(), &csrf, "save"),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        a.location.as_deref(),
        Some("/console/campaigns/phuong-moi-2026")
    );
    let stored = gopy.store().campaigns().await.expect("read");
    let c = stored
        .iter()
        .find(|c| c.slug == "phuong-moi-2026")
        .expect("created");
    assert_eq!(c.units.len(), 2);
    assert_eq!(c.topics[0].sections, vec!["I".to_owned()]);
    assert_eq!(c.target_groups.len(), 2);
    let log = gopy.store().audit_log(20).await.expect("audit");
    let line = log
        .iter()
        .find(|e| e.action == "campaign.create")
        .expect("audited");
    assert_eq!(line.actor, "canbo");
    assert!(line.detail["ip"].is_string(), "{:?}", line.detail);
    assert_eq!(line.detail["campaign"], serde_json::json!(c.id));
    // The same slug again is refused beside the slug.
    let a = post_pairs(
        &mut b,
        "/console/campaigns/new",
        &pairs(&new_campaign(), &csrf, "save"),
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(
        a.body.contains("Đã có đợt lấy ý kiến mang mã"),
        "{}",
        a.body
    );

    // Edit: the form comes filled; a new title and a second topic are saved and audited.
    let page = b.get("/console/campaigns/phuong-moi-2026/edit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("value=\"Lấy ý kiến dự thảo Nghị quyết phường Mới\"")
    );
    let mut edited = Draft::from_campaign(c);
    edited.title = "Lấy ý kiến dự thảo (sửa lần 2)".to_owned();
    edited.slug = "doi-slug".to_owned();
    edited.topics.push(gopy::campaign::form::DraftTopic {
        code: "an-ninh".to_owned(),
        title: "An ninh trật tự".to_owned(),
        question: "Ý kiến về an ninh?".to_owned(),
        sections: String::new(),
    });
    let a = post_pairs(
        &mut b,
        "/console/campaigns/phuong-moi-2026/edit",
        &pairs(&edited, &csrf, "save"),
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let c = gopy
        .store()
        .campaigns()
        .await
        .expect("read")
        .into_iter()
        .find(|c| c.slug == "phuong-moi-2026")
        .expect("the slug stays");
    assert_eq!(c.title, "Lấy ý kiến dự thảo (sửa lần 2)");
    assert_eq!(c.topics.len(), 2);
    let log = gopy.store().audit_log(20).await.expect("audit");
    let line = log
        .iter()
        .find(|e| e.action == "campaign.edit")
        .expect("audited");
    assert_eq!(
        line.detail["changed"],
        serde_json::json!(["texts", "topics"])
    );

    // A topic that has opinions cannot be dropped: nothing changes.
    let demo = gopy
        .store()
        .campaigns()
        .await
        .expect("read")
        .into_iter()
        .find(|c| c.slug == DEMO)
        .expect("demo");
    let mut dropped = Draft::from_campaign(&demo);
    dropped.topics.remove(0);
    dropped.title = "Không được lưu".to_owned();
    let a = post_pairs(
        &mut b,
        &format!("/console/campaigns/{DEMO}/edit"),
        &pairs(&dropped, &csrf, "save"),
    )
    .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("Không thể bỏ"), "{}", a.body);
    let again = gopy.store().campaigns().await.expect("read");
    let demo_now = again.iter().find(|c| c.slug == DEMO).expect("demo");
    assert_eq!(demo_now.title, demo.title);
    assert_eq!(demo_now.topics.len(), demo.topics.len());

    // An official of one residential group may not edit the ward's campaign.
    let (mut other, csrf2) = signed_in(&gopy, "canbo2").await;
    let a = other.get(&format!("/console/campaigns/{DEMO}/edit")).await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("ngoài phạm vi phụ trách"), "{}", a.body);
    let a = post_pairs(
        &mut other,
        &format!("/console/campaigns/{DEMO}/edit"),
        &pairs(&Draft::from_campaign(&demo), &csrf2, "save"),
    )
    .await;
    assert_eq!(a.status, 403);
    gopy.stop().await;
}

async fn story_synthesis(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("canbo", &[Role::Official], None, PW).await;
    gopy.staff("lanhdao", &[Role::Approver], None, PW).await;
    gopy.staff("truongto", &[Role::UnitLead], Some("tdp-1"), PW)
        .await;
    for (i, (unit, text)) in [
        (
            "tdp-1",
            "Đề nghị sửa đường ngõ 5 vì bị ngập mỗi khi mưa to.",
        ),
        (
            "tdp-1",
            "Đề nghị sửa đường ngõ 5 vì bị ngập mỗi khi mưa lớn.",
        ),
        (
            "tdp-2",
            "Đề nghị sửa đường ngõ 5 vì bị ngập mỗi khi trời mưa to.",
        ),
        ("tdp-2", "Cần thêm cây xanh ở công viên của phường."),
        ("tdp-2", "Cần thêm cây xanh ở trong công viên của phường."),
    ]
    .into_iter()
    .enumerate()
    {
        gopy.opinion(&format!("dan-{i}"), Some(unit), 0, text).await;
    }
    let (mut b, csrf) = signed_in(&gopy, "canbo").await;
    let page = b.get(&format!("/console/campaigns/{DEMO}/synthesis")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<strong id=\"total\">5</strong>"),
        "{}",
        page.body
    );
    assert!(b.get("/console/synthesis").await.body.contains(DEMO));

    let a = b
        .post(
            &format!("/console/campaigns/{DEMO}/synthesis/build"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let groups = gopy
        .store()
        .opinion_groups(gopy.store().campaigns().await.expect("c")[0].id)
        .await
        .expect("groups");
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0].members.len(), 3, "largest first");
    assert_eq!(groups[1].members.len(), 2);
    let page = b.get(&format!("/console/campaigns/{DEMO}/groups")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("3 ý kiến"), "{}", page.body);

    // Choose another representative, then take one opinion out.
    let g = &groups[0];
    let other = g
        .members
        .iter()
        .find(|m| Some(m.0) != g.representative)
        .expect("another member")
        .0;
    let a = b
        .post(
            &format!("/console/campaigns/{DEMO}/groups/{}", g.id),
            &[
                ("csrf", &csrf),
                ("op", "represent"),
                ("representative", &other.to_string()),
            ],
        )
        .await;
    assert_eq!(a.status, 303);
    let campaign_id = gopy.store().campaigns().await.expect("c")[0].id;
    let now = gopy
        .store()
        .opinion_groups(campaign_id)
        .await
        .expect("groups");
    assert_eq!(now[0].representative, Some(other));
    assert_eq!(now[0].chosen_by.as_deref(), Some("canbo"));
    let a = b
        .post(
            &format!("/console/campaigns/{DEMO}/groups/{}", g.id),
            &[("csrf", &csrf), ("op", "split"), ("id", &other.to_string())],
        )
        .await;
    assert_eq!(a.status, 303);
    let now = gopy
        .store()
        .opinion_groups(campaign_id)
        .await
        .expect("groups");
    let left = now.iter().find(|x| x.id == g.id).expect("the group stays");
    assert_eq!(left.members.len(), 2, "{now:?}");
    // Merging the two groups makes one confirmed group of four.
    let ids: Vec<String> = now.iter().map(|x| x.id.to_string()).collect();
    let a = b
        .post(
            &format!("/console/campaigns/{DEMO}/groups/merge"),
            &[("csrf", &csrf), ("id", &ids[0]), ("id", &ids[1])],
        )
        .await;
    assert_eq!(a.status, 303);
    let now = gopy
        .store()
        .opinion_groups(campaign_id)
        .await
        .expect("groups");
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].members.len(), 4);
    assert!(now[0].confirmed);
    let log = gopy.store().audit_log(50).await.expect("audit");
    for action in [
        "console.synthesis.build",
        "console.opinions.group.represent",
        "console.opinions.group.split",
        "console.opinions.group.merge",
    ] {
        let line = log
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} audited"));
        assert!(line.detail["ip"].is_string());
    }

    // Anonymous exports.
    let export = format!("/console/campaigns/{DEMO}/synthesis/export");
    let (status, disposition, bytes) = b
        .post_bytes(&export, &[("csrf", &csrf), ("format", "csv")])
        .await;
    assert_eq!(status, 200);
    assert!(disposition.expect("attachment").contains(".csv"));
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.starts_with("\u{feff}Mã ý kiến,"), "{text}");
    assert_eq!(text.lines().count(), 6, "{text}");
    for format in ["xlsx", "docx"] {
        let (status, _, bytes) = b
            .post_bytes(&export, &[("csrf", &csrf), ("format", format)])
            .await;
        assert_eq!(status, 200);
        assert!(bytes.starts_with(b"PK\x03\x04"), "{format} is a zip");
    }
    // The Word report's number, signer and recipients, from the form (prefilled with the
    // defaults, which the official edits).
    let page = b.get(&format!("/console/campaigns/{DEMO}/synthesis")).await;
    assert!(page.body.contains("name=\"recipients\""), "{}", page.body);
    assert!(
        page.body.contains("- Lưu văn phòng."),
        "the defaults are prefilled"
    );
    let (status, _, bytes) = b
        .post_bytes(
            &export,
            &[
                ("csrf", &csrf),
                ("format", "docx"),
                ("number", "15/BC-MTTQ"),
                ("signer_title", "TM. BAN THƯỜNG TRỰC\r\nCHỦ TỊCH"),
                ("signer_name", "Hoàng Thị Thu"),
                (
                    "recipients",
                    "- Đảng ủy phường (để báo cáo);\r\n\r\n- Lưu: VT.",
                ),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a DOCX");
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("word/document.xml").expect("document.xml"),
        &mut xml,
    )
    .expect("utf-8");
    for needle in [
        ">Số: 15/BC-MTTQ<",
        ">TM. BAN THƯỜNG TRỰC<",
        ">CHỦ TỊCH<",
        ">Hoàng Thị Thu<",
        ">- Đảng ủy phường (để báo cáo);<",
        ">- Lưu: VT.<",
    ] {
        assert!(xml.contains(needle), "the DOCX lacks {needle:?}");
    }
    assert!(
        !xml.contains("T/M CƠ QUAN TỔNG HỢP"),
        "the default signer is replaced"
    );
    // Names: not for an official, and not without a reason.
    let a = b
        .post(
            &export,
            &[
                ("csrf", &csrf),
                ("format", "csv"),
                ("named", "1"),
                ("reason", "Cần liên hệ lại người góp ý"),
            ],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("không có vai trò"), "{}", a.body);
    let (mut leader, lcsrf) = signed_in(&gopy, "lanhdao").await;
    let a = leader
        .post(
            &export,
            &[("csrf", &lcsrf), ("format", "csv"), ("named", "1")],
        )
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("ít nhất 10 ký tự"), "{}", a.body);
    let (status, _, bytes) = leader
        .post_bytes(
            &export,
            &[
                ("csrf", &lcsrf),
                ("format", "csv"),
                ("named", "1"),
                ("reason", "Mời người góp ý dự hội nghị"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&bytes).contains("Họ và tên"));
    let log = gopy.store().audit_log(50).await.expect("audit");
    let named = log
        .iter()
        .find(|e| e.action == "synthesis.export.named")
        .expect("named export audited");
    assert_eq!(named.actor, "lanhdao");
    assert_eq!(named.detail["reason"], "Mời người góp ý dự hội nghị");
    assert!(named.detail["ip"].is_string());
    assert!(
        log.iter()
            .filter(|e| e.action == "synthesis.export")
            .count()
            >= 3
    );

    // Every new page has every message, in both languages.
    for lang in ["vi", "en"] {
        b.cookies.insert("gopy_lang".to_owned(), lang.to_owned());
        for path in [
            "/console/synthesis".to_owned(),
            format!("/console/campaigns/{DEMO}/synthesis"),
            format!("/console/campaigns/{DEMO}/groups"),
            format!("/console/campaigns/{DEMO}/edit"),
            format!("/console/campaigns/{DEMO}"),
            "/console/campaigns/new".to_owned(),
            "/console/opinions/import".to_owned(),
            format!("/console/opinions?campaign={DEMO}"),
            "/console/broadcasts/new".to_owned(),
        ] {
            let page = b.get(&path).await;
            assert_eq!(page.status, 200, "{lang} {path}");
            for prefix in ["console-", "syn-", "target-group-"] {
                let raw = page.body.match_indices(prefix).any(|(i, _)| {
                    let before = page.body[..i].chars().last().unwrap_or(' ');
                    !before.is_ascii_alphanumeric() && before != '/' && before != '"'
                });
                assert!(
                    !raw,
                    "{lang} {path} shows a message id {prefix}…: {}",
                    page.body
                );
            }
        }
    }
    b.cookies.remove("gopy_lang");

    // A unit lead sees their unit's figures only, and may not build.
    let (mut lead, lead_csrf) = signed_in(&gopy, "truongto").await;
    let page = lead
        .get(&format!("/console/campaigns/{DEMO}/synthesis"))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<strong id=\"total\">2</strong>"),
        "{}",
        page.body
    );
    let a = lead
        .get(&format!("/console/campaigns/{DEMO}/synthesis?unit=tdp-2"))
        .await;
    assert_eq!(a.status, 403);
    let a = lead
        .post(
            &format!("/console/campaigns/{DEMO}/synthesis/build"),
            &[("csrf", &lead_csrf)],
        )
        .await;
    assert_eq!(a.status, 403);
    gopy.stop().await;
}

async fn story_opinion_tools(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("canbo", &[Role::Official], None, PW).await;
    gopy.staff("truongto", &[Role::UnitLead], Some("tdp-1"), PW)
        .await;
    gopy.opinion("dan-1", Some("tdp-1"), 0, "Cần thêm chỉ tiêu kinh tế số.")
        .await;
    let campaign = gopy.store().campaigns().await.expect("c")[0].clone();
    let (mut b, csrf) = signed_in(&gopy, "canbo").await;

    // Classify: another topic and a stance, each audited.
    let list = b.get(&format!("/console/opinions?campaign={DEMO}")).await;
    assert!(
        list.body.contains("/console/opinions/RDAN-1/classify"),
        "{}",
        list.body
    );
    let a = b
        .post(
            "/console/opinions/RDAN-1/classify",
            &[
                ("csrf", &csrf),
                ("campaign", DEMO),
                ("topic", &campaign.topics[1].code),
                ("stance", "agree"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let shown = b.get(a.location.as_deref().expect("back")).await;
    assert!(
        shown.body.contains("Đã phân loại ý kiến RDAN-1"),
        "{}",
        shown.body
    );
    let o = gopy
        .store()
        .campaign_opinions(campaign.id)
        .await
        .expect("opinions")
        .into_iter()
        .find(|o| o.reference == "RDAN-1")
        .expect("there");
    assert_eq!(o.topic, campaign.topics[1].code);
    let log = gopy.store().audit_log(30).await.expect("audit");
    assert!(log.iter().any(|e| e.action == "opinions.classify"));
    assert!(log.iter().any(|e| e.action == "console.opinions.classify"));
    let (mut lead, lead_csrf) = signed_in(&gopy, "truongto").await;
    let a = lead
        .post(
            "/console/opinions/RDAN-1/classify",
            &[
                ("csrf", &lead_csrf),
                ("campaign", DEMO),
                ("stance", "other"),
            ],
        )
        .await;
    assert_eq!(a.status, 403);

    // The template, then a table with a wrong row: nothing stored, the row named.
    let (status, disposition, bytes) = b
        .get_bytes(&format!(
            "/console/opinions/template?campaign={DEMO}&format=csv"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(disposition.expect("attachment").contains(".csv"));
    let template = String::from_utf8(bytes).expect("utf-8");
    let header = template.lines().next().expect("header").to_owned();
    let (status, _, xlsx) = b
        .get_bytes(&format!("/console/opinions/template?campaign={DEMO}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        xlsx.starts_with(b"PK\x03\x04"),
        "the XLSX template is a zip"
    );
    let page = b.get("/console/opinions/import").await;
    assert_eq!(page.status, 200);
    let topic = &campaign.topics[0].code;
    let name = |want: gopy::synthesis::import::Column| {
        gopy::synthesis::import::TEMPLATE
            .iter()
            .find(|(c, _, _)| *c == want)
            .map(|(_, vi, _)| *vi)
            .expect("column")
    };
    assert!(header.contains(name(gopy::synthesis::import::Column::Text)));
    let columns = [
        name(gopy::synthesis::import::Column::Topic),
        name(gopy::synthesis::import::Column::Text),
    ];
    let row = |topic: &str, text: &str| format!("{topic},{text}");
    let bad = format!(
        "{}\n{}\n{}\n",
        columns.join(","),
        row(topic, "Ý kiến đúng."),
        row("Chủ đề không có", "Ý kiến sai chủ đề.")
    );
    let before = gopy
        .store()
        .campaign_opinions(campaign.id)
        .await
        .expect("opinions")
        .len();
    let a = b
        .post_file(
            "/console/opinions/import",
            &[("csrf", &csrf), ("campaign", DEMO)],
            ("file", "bang-tong-hop.csv", bad.as_bytes()),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("Dòng 3"), "{}", a.body);
    assert_eq!(
        gopy.store()
            .campaign_opinions(campaign.id)
            .await
            .expect("opinions")
            .len(),
        before,
        "nothing stored"
    );
    let good = format!(
        "{}\n{}\n{}\n",
        columns.join(","),
        row(topic, "Ý kiến thứ nhất của tổ."),
        row(topic, "Ý kiến thứ hai của tổ.")
    );
    let a = b
        .post_file(
            "/console/opinions/import",
            &[("csrf", &csrf), ("campaign", DEMO)],
            ("file", "bang-tong-hop.csv", good.as_bytes()),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Đã nhập 2 ý kiến"), "{}", a.body);
    assert_eq!(
        gopy.store()
            .campaign_opinions(campaign.id)
            .await
            .expect("opinions")
            .len(),
        before + 2
    );
    // The XLSX template itself imports: its example row is a valid opinion.
    let a = b
        .post_file(
            "/console/opinions/import",
            &[("csrf", &csrf), ("campaign", DEMO)],
            ("file", "mau-nhap-y-kien.xlsx", &xlsx),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Đã nhập 1 ý kiến"), "{}", a.body);
    let log = gopy.store().audit_log(50).await.expect("audit");
    let line = log
        .iter()
        .find(|e| e.action == "console.opinions.import")
        .expect("audited");
    assert!(line.detail["ip"].is_string());
    // A plain form cannot carry the upload's token.
    let a = b.post("/console/opinions/import", &[("csrf", &csrf)]).await;
    assert_eq!(a.status, 403);
    gopy.stop().await;
}

async fn story_group_audience(db: TestDb) {
    let gopy = Gopy::start(db).await;
    gopy.staff("canbo", &[Role::Official], Some("tdp-1"), PW)
        .await;
    let now = Utc::now();
    let group = gopy
        .store()
        .record_membership(
            &BotMembership {
                channel: Channel::Telegram,
                external_id: "-100601".to_owned(),
                kind: GroupKind::Supergroup,
                title: "Chi hội Phụ nữ TDP 1".to_owned(),
                status: BotStatus::Administrator,
                can_delete: true,
                can_restrict: true,
            },
            None,
            now,
        )
        .await
        .expect("membership")
        .expect("a group");
    gopy.store()
        .bind_group(group.id, Some("tdp-1"), "test", None, now)
        .await
        .expect("bind")
        .expect("bound");
    let (mut b, csrf) = signed_in(&gopy, "canbo").await;
    let form = b.get("/console/broadcasts/new").await;
    assert!(form.body.contains("Chi hội Phụ nữ TDP 1"), "{}", form.body);
    let id = group.id.to_string();
    let a = b
        .post(
            "/console/broadcasts",
            &[
                ("csrf", &csrf),
                ("text", "Kính mời chị em dự họp."),
                ("units", ""),
                ("group", &id),
                ("residents", "on"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let stored = gopy
        .store()
        .broadcast(1)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(stored.audience.groups, vec![group.id]);
    assert!(stored.audience.units.is_empty());
    assert!(stored.audience.residents);
    let page = b.get("/console/broadcasts/1").await;
    assert_eq!(page.status, 200, "the author still sees it: {}", page.body);
    assert!(
        page.body.contains("Nhóm được chọn: Chi hội Phụ nữ TDP 1"),
        "{}",
        page.body
    );
    gopy.stop().await;
}

async fn story_idle_and_old_sessions_end(db: TestDb) {
    let at: Arc<Mutex<DateTime<Utc>>> = Arc::new(Mutex::new(Utc::now()));
    let clock_at = at.clone();
    let clock: gopy::service::Clock = Arc::new(move || *clock_at.lock().expect("clock"));
    let gopy = Gopy::start_with_clock(db, clock).await;
    gopy.staff("canbo", &[Role::Official], None, PW).await;
    let advance = |minutes: i64| {
        let mut t = at.lock().expect("clock");
        *t += Duration::minutes(minutes);
    };
    let (mut b, _) = signed_in(&gopy, "canbo").await;
    // Used every 20 minutes, the session lives on.
    for _ in 0..3 {
        advance(20);
        assert_eq!(b.get("/console").await.status, 200);
    }
    // Left alone for 31 minutes, it is over.
    advance(31);
    let a = b.get("/console").await;
    assert_eq!(a.status, 303);
    assert!(
        a.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/console/login"))
    );
    // However busy, a session ends 12 hours after login.
    let (mut b, _) = signed_in(&gopy, "canbo").await;
    for _ in 0..35 {
        advance(20);
        assert_eq!(b.get("/console").await.status, 200);
    }
    advance(20);
    assert_eq!(b.get("/console").await.status, 303, "12 hours after login");
    gopy.stop().await;
}

#[tokio::test]
async fn sqlite_a_campaign_is_created_and_edited_in_the_form() {
    story_campaign_form(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_a_campaign_is_created_and_edited_in_the_form() {
    story_campaign_form(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_the_synthesis_is_built_regrouped_and_exported() {
    story_synthesis(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_the_synthesis_is_built_regrouped_and_exported() {
    story_synthesis(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_opinions_are_classified_and_imported_all_or_nothing() {
    story_opinion_tools(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_opinions_are_classified_and_imported_all_or_nothing() {
    story_opinion_tools(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_an_announcement_goes_to_one_chosen_group() {
    story_group_audience(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_an_announcement_goes_to_one_chosen_group() {
    story_group_audience(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_idle_and_old_sessions_end() {
    story_idle_and_old_sessions_end(TestDb::sqlite().await).await;
}

#[tokio::test]
#[cfg_attr(
    not(gopy_pg),
    ignore = "set TEST_DATABASE_URL to run the Postgres half"
)]
async fn postgres_idle_and_old_sessions_end() {
    story_idle_and_old_sessions_end(TestDb::postgres().await).await;
}
