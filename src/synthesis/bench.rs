//! `gopy bench synthesis`: the figures, printed. Seeds a campaign of N opinions
//! (6 topics, 50 units, 10 target groups; texts drawn from templates so that near-duplicates
//! exist) through the store's batch path, then times the cross-tables, the near-duplicate
//! grouping, every export of all opinions and the DOCX of a 10,000-opinion campaign, with the
//! process' peak RSS after each step. A missed target prints MISS; the command never fails
//! on it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};

use super::report::Synthesis;
use super::{RecordBatch, RecordedOpinion, Speaker, Stance};
use crate::domain::{Campaign, Locale, Phase, PhaseKind, Section, TargetGroup, Topic, Unit};
use crate::store::Store;

/// The process' peak resident set (VmHWM), in MiB, where Linux tells it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The machine's load average (1, 5 and 15 minutes), where Linux tells it: the figures
/// mean little without it on a shared machine.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}

/// A campaign shaped like the benchmark: 6 topics, 50 units (a ward and 49 groups),
/// 10 target groups.
pub fn bench_campaign(slug: &str) -> Campaign {
    let now = Utc::now();
    let mut units = vec![Unit {
        code: "bench-ward".to_owned(),
        name: "Phường Thử Nghiệm".to_owned(),
        parent: None,
        kind: "ward".to_owned(),
    }];
    for i in 1..50 {
        units.push(Unit {
            code: format!("bench-tdp-{i}"),
            name: format!("Tổ dân phố {i}"),
            parent: Some("bench-ward".to_owned()),
            kind: "residential-group".to_owned(),
        });
    }
    let topics = [
        ("kinh-te", "Kinh tế"),
        ("do-thi", "Đô thị"),
        ("moi-truong", "Môi trường"),
        ("an-ninh", "An ninh trật tự"),
        ("hanh-chinh", "Cải cách hành chính"),
        ("xa-hoi", "Văn hóa - xã hội"),
    ];
    Campaign {
        id: 0,
        slug: slug.to_owned(),
        issuer: "Đảng ủy phường Thử Nghiệm".to_owned(),
        title: "Đợt lấy ý kiến để đo hiệu năng".to_owned(),
        document_title: "Dự thảo Báo cáo chính trị (bản thử)".to_owned(),
        intro: String::new(),
        purpose: "Đo hiệu năng tổng hợp.".to_owned(),
        retention_months: 12,
        notice_version: "bench".to_owned(),
        units,
        target_groups: [
            "party-member",
            "veteran",
            "woman",
            "youth",
            "farmer",
            "worker",
            "intellectual",
            "business",
            "religious",
            "other",
        ]
        .iter()
        .map(|c| TargetGroup {
            code: (*c).to_owned(),
        })
        .collect(),
        sections: vec![Section {
            reference: "I".to_owned(),
            title: "Phần chung".to_owned(),
            summary: String::new(),
        }],
        topics: topics
            .iter()
            .map(|(code, title)| Topic {
                code: (*code).to_owned(),
                title: (*title).to_owned(),
                question: String::new(),
                sections: vec!["I".to_owned()],
            })
            .collect(),
        phases: vec![Phase {
            kind: PhaseKind::Collect,
            starts_at: now - Duration::days(7),
            ends_at: now + Duration::days(7),
        }],
    }
}

/// splitmix64's finaliser: a well-spread hash of a number.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The i-th opinion of the benchmark: one of a few hundred phrasings, so that grouping has
/// real groups to find.
fn opinion(c: &Campaign, i: usize) -> RecordedOpinion {
    const STARTS: [&str; 6] = [
        "Đề nghị nâng cấp",
        "Cần sớm sửa chữa",
        "Kiến nghị xem xét đầu tư",
        "Mong chính quyền quan tâm",
        "Đề nghị bổ sung kế hoạch về",
        "Tán thành chủ trương về",
    ];
    const THINGS: [&str; 8] = [
        "đường ngõ xóm",
        "hệ thống thoát nước",
        "đèn chiếu sáng công cộng",
        "điểm thu gom rác",
        "nhà văn hóa tổ dân phố",
        "sân chơi cho thiếu nhi",
        "thủ tục hành chính một cửa",
        "camera an ninh",
    ];
    let topic = &c.topics[i % c.topics.len()];
    let unit = &c.units[i % c.units.len()];
    let group = &c.target_groups[(i / 7) % c.target_groups.len()];
    const WORDS: [&str; 24] = [
        "vì",
        "bà con",
        "đi lại",
        "khó khăn",
        "mùa mưa",
        "ngập",
        "trẻ em",
        "người già",
        "buổi tối",
        "an toàn",
        "vệ sinh",
        "ô nhiễm",
        "chợ",
        "trường học",
        "kinh phí",
        "xã hội hóa",
        "kịp thời",
        "công khai",
        "minh bạch",
        "lâu nay",
        "xuống cấp",
        "nhiều lần",
        "phản ánh",
        "chưa được",
    ];
    // About one text in four repeats an earlier one word for word or nearly (residents
    // saying the same thing); the rest differ in their reasons.
    let seed = if i.is_multiple_of(4) { i / 97 } else { i };
    let reasons: Vec<&str> = (0..10u64)
        .map(|k| WORDS[(mix(seed as u64 * 16 + k) % WORDS.len() as u64) as usize])
        .collect();
    let text = format!(
        "{} {}, {}.",
        STARTS[(seed / 3) % STARTS.len()],
        THINGS[(seed / 5) % THINGS.len()],
        reasons.join(" ")
    );
    RecordedOpinion {
        row: Some(i as i64 + 2),
        topic: topic.code.clone(),
        section: Some("I".to_owned()),
        unit: Some(unit.code.clone()),
        target_group: Some(group.code.clone()),
        text,
        given_at: Utc::now() - Duration::minutes((i % 10_000) as i64),
        speaker: Speaker::default(),
        stance: Some(Stance::ALL[i % 4]),
        origin: None,
    }
}

/// Seeds `n` opinions in batches; returns the campaign.
async fn seed(store: &Arc<dyn Store>, slug: &str, n: usize) -> anyhow::Result<Campaign> {
    let mut c = bench_campaign(slug);
    c.id = store.insert_campaign(&c).await?;
    let mut done = 0;
    while done < n {
        let batch: Vec<RecordedOpinion> = (done..(done + 10_000).min(n))
            .map(|i| opinion(&c, i))
            .collect();
        done += batch.len();
        store
            .record_opinions(&RecordBatch {
                campaign_id: c.id,
                meeting: None,
                file: Some("bench.csv".to_owned()),
                opinions: batch,
                actor: "bench".to_owned(),
                at: Utc::now(),
            })
            .await?;
    }
    Ok(c)
}

/// One line of the report: what, how long, the target, and the peak RSS so far.
fn report(what: &str, started: Instant, target_s: Option<f64>) {
    let s = started.elapsed().as_secs_f64();
    let verdict = match target_s {
        Some(t) if s <= t => format!("target ≤ {t} s: ok"),
        Some(t) => format!("target ≤ {t} s: MISS"),
        None => String::new(),
    };
    let rss = peak_rss_mib()
        .map(|m| format!("{m:.0} MiB"))
        .unwrap_or_else(|| "?".to_owned());
    println!("{what:<40} {s:>9.2} s   peak RSS {rss:>8}   {verdict}");
}

/// Runs the benchmark on `store` with `n` opinions, writing exports into `dir`.
pub async fn run(store: Arc<dyn Store>, n: usize, dir: &Path) -> anyhow::Result<()> {
    let slug = format!("bench-{}", Utc::now().timestamp());
    println!(
        "gopy bench synthesis: {n} opinions, 6 topics, 50 units, 10 target groups, {:?}; load {}",
        store.backend(),
        load()
    );
    let t = Instant::now();
    let c = seed(&store, &slug, n).await?;
    report("seed (record_opinions, 10,000 a batch)", t, None);
    println!("load {}", load());

    // Twice: just after the seed (the database has not yet seen the new rows), and again.
    let mut synthesis = None;
    for what in ["cross-tables (one pass)", "cross-tables (again)"] {
        let t = Instant::now();
        let agg = store.synthesis_aggregates(c.id, None).await?;
        synthesis = Some(Synthesis::build(&c, None, &agg, Locale::Vi));
        report(what, t, Some(5.0));
    }
    let synthesis = synthesis.ok_or_else(|| anyhow::anyhow!("no synthesis"))?;
    // A unit's report, rolled up from its own rows (the ward: every group below it).
    let t = Instant::now();
    let ward = super::report::subtree(&c, "bench-ward");
    let agg = store.synthesis_aggregates(c.id, Some(&ward)).await?;
    let unit = Synthesis::build(&c, Some("bench-ward"), &agg, Locale::Vi);
    report("cross-tables of one unit's subtree", t, Some(5.0));
    anyhow::ensure!(
        unit.opinions == n as i64,
        "the ward counted {}",
        unit.opinions
    );
    anyhow::ensure!(
        synthesis.opinions == n as i64,
        "counted {}",
        synthesis.opinions
    );

    let t = Instant::now();
    let (groups, grouped) =
        super::cli::build_groups(&store, &c, super::similar::DEFAULT_THRESHOLD, "bench").await?;
    report(
        &format!("near-duplicate groups ({groups} / {grouped})"),
        t,
        None,
    );

    let input = super::export::Input {
        campaign: &c,
        synthesis: &synthesis,
        names: None,
        locale: Locale::Vi,
        generated_at: Utc::now(),
        place: "Thử Nghiệm".to_owned(),
        header: Default::default(),
    };
    for (format, target) in [("csv", None), ("json", None), ("xlsx", Some(60.0))] {
        let path = dir.join(format!("{slug}.{format}"));
        let t = Instant::now();
        let rows = store.kept_opinions(c.id, None);
        let written = match format {
            "csv" => {
                let f = std::io::BufWriter::new(std::fs::File::create(&path)?);
                super::export::csv::write(&input, rows, f).await?
            }
            "json" => {
                let f = std::io::BufWriter::new(std::fs::File::create(&path)?);
                super::export::json::write(&input, rows, f).await?
            }
            _ => super::export::xlsx::write(&input, rows, &path).await?,
        };
        report(&format!("export {format} ({written} opinions)"), t, target);
        let _ = std::fs::remove_file(&path);
    }

    let small = seed(&store, &format!("{slug}-10k"), 10_000.min(n)).await?;
    let agg = store.synthesis_aggregates(small.id, None).await?;
    let s10 = Synthesis::build(&small, None, &agg, Locale::Vi);
    let input = super::export::Input {
        campaign: &small,
        synthesis: &s10,
        ..input
    };
    let path = dir.join(format!("{slug}-10k.docx"));
    let t = Instant::now();
    let written = super::export::docx::write(
        &input,
        store.kept_opinions(small.id, None),
        std::fs::File::create(&path)?,
    )
    .await?;
    report(&format!("export docx ({written} opinions)"), t, Some(10.0));
    let _ = std::fs::remove_file(&path);
    println!("load {}", load());
    match peak_rss_mib() {
        Some(m) if m <= 500.0 => println!("peak RSS {m:.0} MiB (target ≤ 500 MiB: ok)"),
        Some(m) => println!("peak RSS {m:.0} MiB (target ≤ 500 MiB: MISS)"),
        None => println!("peak RSS unknown"),
    }
    Ok(())
}
