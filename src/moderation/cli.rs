//! `gopy moderation …`: check a text, measure the detector on a labelled file, scan a
//! campaign's opinions into the queue, list the queue, decide, read the log, keep the watch
//! list. Automation only queues; a person decides (`decide`), and every decision is logged.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use clap::Subcommand;

use super::{
    DEFAULT_THRESHOLD, Decision, Detector, Evaluation, Item, Lexicon, Status, Target, Verdict,
    read_vihos,
};
use crate::campaign::cli::{actor, find, store};
use crate::cli::exit;
use crate::config::Settings;
use crate::store::{DecideOutcome, ItemFilter, Store};
use crate::text::normalize;

/// `gopy moderation …`
#[derive(Debug, clap::Args)]
pub struct ModerationArgs {
    /// Thư mục danh sách từ (mặc định: danh sách có sẵn) / word-list folder (default: built in).
    #[arg(long, global = true, env = "GOPY_MODERATION_DIR")]
    pub lexicon: Option<PathBuf>,

    /// Ngưỡng điểm để đưa vào hàng chờ / score from which a message is queued.
    #[arg(long, global = true, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: u32,

    /// What to do.
    #[command(subcommand)]
    pub command: ModerationCmd,
}

/// Subcommands of `gopy moderation`.
#[derive(Debug, Subcommand)]
pub enum ModerationCmd {
    /// Kiểm tra một đoạn văn bản / assess one text and show what matched.
    Check {
        /// The text.
        text: String,
    },
    /// Đo độ chính xác trên tệp có nhãn (ViHOS) / precision and recall on labelled files.
    Eval {
        /// ViHOS CSV files (`,content,index_spans`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// In ra các trường hợp sai / print this many misses of each kind.
        #[arg(long, default_value_t = 0)]
        show_misses: usize,
        /// Ghi từng dòng (nhãn, điểm, từ khớp) ra tệp JSON Lines / write every row's label,
        /// score and matches to this JSON Lines file, for tuning the lists.
        #[arg(long)]
        dump: Option<PathBuf>,
    },
    /// Quét ý kiến của một đợt, đưa ý kiến bị gắn cờ vào hàng chờ / scan a campaign's
    /// opinions and queue the flagged ones (each opinion once).
    Scan {
        /// Id or slug of the campaign.
        #[arg(long)]
        campaign: String,
    },
    /// Hàng chờ kiểm duyệt / the moderators' queue.
    Queue {
        /// Trạng thái / status (default: queued).
        #[arg(long, value_enum, default_value_t = Status::Queued)]
        status: Status,
        /// Mọi trạng thái / every status.
        #[arg(long, conflicts_with = "status")]
        all: bool,
        /// Tối đa / at most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Quyết định / decide: uphold (vi phạm, ẩn) or dismiss (giữ lại).
    Decide {
        /// Item id (from `queue`).
        id: i64,
        /// uphold = vi phạm, ẩn (vẫn lưu); dismiss = không vi phạm, giữ lại.
        #[arg(value_enum)]
        verdict: Verdict,
        /// Lý do (bắt buộc) / the reason (required; shown in the synthesis).
        #[arg(long)]
        reason: String,
        /// Người kiểm duyệt / the moderator's name (default: cli:<os user>).
        #[arg(long = "as")]
        moderator: Option<String>,
    },
    /// Nhật ký kiểm duyệt (chỉ ghi thêm) / the append-only moderation log.
    Log {
        /// Tối đa / at most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Danh sách theo dõi / the watch list (terms that only queue for review).
    Watch {
        /// What to do with the watch list.
        #[command(subcommand)]
        command: WatchCmd,
    },
}

/// `gopy moderation watch …`
#[derive(Debug, Subcommand)]
pub enum WatchCmd {
    /// Thêm cụm từ / add a phrase.
    Add {
        /// The phrase.
        phrase: String,
    },
    /// Bỏ cụm từ / remove a phrase.
    Remove {
        /// The phrase (any spelling that normalises the same).
        phrase: String,
    },
    /// Liệt kê / list.
    List,
}

/// Runs `gopy moderation …`.
pub async fn run(settings: &Settings, args: ModerationArgs) -> anyhow::Result<ExitCode> {
    let detector = match detector(args.lexicon.as_deref(), args.threshold) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    match args.command {
        ModerationCmd::Check { text } => {
            check(&detector, &text);
            Ok(ExitCode::SUCCESS)
        }
        ModerationCmd::Eval {
            files,
            show_misses,
            dump,
        } => eval(&detector, &files, show_misses, dump.as_deref()),
        command => {
            let store = match store(settings).await {
                Ok(s) => s,
                Err(code) => return Ok(code),
            };
            run_stored(&store, detector, command).await
        }
    }
}

/// The subcommands that need the database.
async fn run_stored(
    store: &Arc<dyn Store>,
    detector: Detector,
    command: ModerationCmd,
) -> anyhow::Result<ExitCode> {
    match command {
        ModerationCmd::Scan { campaign } => scan(store, detector, &campaign).await,
        ModerationCmd::Queue { status, all, limit } => {
            let filter = ItemFilter {
                status: (!all).then_some(status),
                limit,
            };
            let items = store.moderation_items(filter).await?;
            if items.is_empty() {
                println!("Hàng chờ trống / nothing here.");
            }
            for item in &items {
                print_item(item);
                if let Some(author) = item.author {
                    let flags = store.author_flags(author).await?;
                    println!("    tác giả có {flags} mục / the author has {flags} item(s) in all");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ModerationCmd::Decide {
            id,
            verdict,
            reason,
            moderator,
        } => decide(store, id, verdict, reason, moderator).await,
        ModerationCmd::Log { limit } => {
            for e in store.moderation_log(limit).await? {
                let item = e.item.map(|i| format!("#{i}")).unwrap_or_default();
                println!(
                    "{}  {:<12} {:<5} {}  {}",
                    crate::domain::format_local(e.at),
                    e.action,
                    item,
                    e.actor,
                    e.detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModerationCmd::Watch { command } => watch(store, command).await,
        ModerationCmd::Check { .. } | ModerationCmd::Eval { .. } => Ok(ExitCode::SUCCESS),
    }
}

/// `scan`: every opinion of the campaign not scanned before is assessed with the lists and
/// the watch list; flagged ones are queued (they stay stored, pending review).
async fn scan(
    store: &Arc<dyn Store>,
    detector: Detector,
    campaign: &str,
) -> anyhow::Result<ExitCode> {
    let Some(campaign) = find(store, campaign).await? else {
        return Ok(ExitCode::from(exit::DATA));
    };
    let report = super::scan_campaign(store.as_ref(), &detector, campaign.id, Utc::now()).await?;
    println!(
        "Đã quét {} ý kiến, đưa {} ý kiến vào hàng chờ / scanned {}, queued {}.",
        report.scanned, report.queued, report.scanned, report.queued
    );
    Ok(ExitCode::SUCCESS)
}

fn print_item(item: &Item) {
    let target = match &item.target {
        Target::Opinion { opinion_id } => format!("ý kiến / opinion {opinion_id}"),
        Target::GroupPost {
            channel,
            chat_id,
            message_id,
        } => format!("{} {chat_id}/{message_id}", channel.as_str()),
    };
    println!(
        "#{}  [{}]  {}  điểm / score {}  ({})  {}",
        item.id,
        item.status.as_str(),
        item.categories.join(","),
        item.score,
        item.source.as_str(),
        target
    );
    println!("    {}", item.highlighted());
    if let Some((appeal, at)) = &item.appeal {
        let before = item.previous_moderator.as_deref().unwrap_or("?");
        println!(
            "    khiếu nại / appeal {}: {appeal} (không giao lại cho / not for {before})",
            crate::domain::format_local(*at)
        );
    }
    if let Some((by, at, reason)) = &item.decision {
        println!("    → {by}, {}: {reason}", crate::domain::format_local(*at));
    }
}

async fn decide(
    store: &Arc<dyn Store>,
    id: i64,
    verdict: Verdict,
    reason: String,
    moderator: Option<String>,
) -> anyhow::Result<ExitCode> {
    let reason = reason.trim().to_owned();
    if reason.is_empty() {
        eprintln!("Cần ghi lý do / a reason is required (--reason).");
        return Ok(ExitCode::from(exit::DATA));
    }
    let decision = Decision {
        item: id,
        verdict,
        by: moderator.unwrap_or_else(actor),
        reason,
        at: Utc::now(),
    };
    match store.decide(&decision).await? {
        DecideOutcome::Decided(item) => {
            print_item(&item);
            Ok(ExitCode::SUCCESS)
        }
        DecideOutcome::NotFound => {
            eprintln!("Không có mục #{id} / no item #{id} (see: gopy moderation queue --all)");
            Ok(ExitCode::from(exit::DATA))
        }
        DecideOutcome::SameModeratorAfterAppeal => {
            eprintln!(
                "Mục #{id} đã được khiếu nại; một người kiểm duyệt khác phải quyết định / \
                 item #{id} was appealed: a different moderator must decide it"
            );
            Ok(ExitCode::from(exit::DATA))
        }
    }
}

async fn watch(store: &Arc<dyn Store>, command: WatchCmd) -> anyhow::Result<ExitCode> {
    let key = |phrase: &str| normalize(phrase).text();
    match command {
        WatchCmd::Add { phrase } => {
            let term = key(&phrase);
            if term.is_empty() {
                eprintln!("Cụm từ trống / the phrase has no words.");
                return Ok(ExitCode::from(exit::DATA));
            }
            let added = store
                .watch_add(&term, phrase.trim(), &actor(), Utc::now())
                .await?;
            if added {
                println!("Đã thêm / added: {term}");
            } else {
                println!("Đã có trong danh sách / already listed: {term}");
            }
        }
        WatchCmd::Remove { phrase } => {
            let term = key(&phrase);
            if store.watch_remove(&term, &actor(), Utc::now()).await? {
                println!("Đã bỏ / removed: {term}");
            } else {
                eprintln!("Không có trong danh sách / not listed: {term}");
                return Ok(ExitCode::from(exit::DATA));
            }
        }
        WatchCmd::List => {
            for w in store.watch_list().await? {
                println!(
                    "{}  ({}, {})",
                    w.phrase,
                    w.added_by,
                    crate::domain::format_local(w.added_at)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The detector from the built-in lists or a folder; a broken list ends with exit code 65.
fn detector(dir: Option<&Path>, threshold: u32) -> Result<Detector, ExitCode> {
    let lexicon = match dir {
        Some(dir) => Lexicon::load_dir(dir),
        None => Lexicon::built_in(),
    };
    match lexicon {
        Ok(l) => Ok(Detector::new(l, threshold)),
        Err(e) => {
            eprintln!("Danh sách từ có lỗi / a word list is broken: {e}");
            Err(ExitCode::from(exit::DATA))
        }
    }
}

fn check(detector: &Detector, text: &str) {
    let a = detector.assess(text);
    let verdict = if a.flagged {
        "ĐƯA VÀO HÀNG CHỜ / queued for review"
    } else {
        "không gắn cờ / not flagged"
    };
    println!("{verdict} — điểm / score {}", a.score);
    println!("{}", a.highlight(text));
    for m in &a.matches {
        println!("  {:<14} {:>2}  {}", m.category.as_str(), m.weight, m.term);
    }
}

fn eval(
    detector: &Detector,
    files: &[PathBuf],
    show_misses: usize,
    dump: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut dump = match dump {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    println!(
        "{:<40} {:>6} {:>9} {:>7} {:>6} {:>10}",
        "file", "rows", "precision", "recall", "FPR", "comments/s"
    );
    for file in files {
        let data = match read_vihos(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("Không đọc được / cannot read: {e:#}");
                return Ok(ExitCode::from(exit::NOINPUT));
            }
        };
        let started = std::time::Instant::now();
        let e = Evaluation::run(detector, &data);
        let per_second = data.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
        println!(
            "{:<40} {:>6} {:>8.1}% {:>6.1}% {:>5.1}% {:>10.0}",
            file.display(),
            data.len(),
            e.precision() * 100.0,
            e.recall() * 100.0,
            e.false_positive_rate() * 100.0,
            per_second
        );
        if let Some(out) = dump.as_mut() {
            for item in &data {
                let a = detector.assess(&item.text);
                let line = serde_json::json!({
                    "file": file.display().to_string(),
                    "offensive": item.offensive,
                    "text": item.text,
                    "score": a.score,
                    "matches": a.matches.iter().map(|m| (&m.term, m.weight)).collect::<Vec<_>>(),
                });
                writeln!(out, "{line}")?;
            }
        }
        if show_misses > 0 {
            let mut fps = 0;
            let mut fns = 0;
            for item in &data {
                let a = detector.assess(&item.text);
                if a.flagged && !item.offensive && fps < show_misses {
                    fps += 1;
                    println!("  FP {}", a.highlight(&item.text));
                } else if !a.flagged && item.offensive && fns < show_misses {
                    fns += 1;
                    println!("  FN {}", item.text);
                }
            }
        }
    }
    if let Some(mut out) = dump {
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
