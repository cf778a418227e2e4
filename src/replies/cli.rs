//! `gopy thread …`: an official queues a campaign's thread for a bound group (the running bot
//! sends it within its rate limit), sets how a group's replies are acknowledged, and lists
//! the replies recorded. Every change is audited as `cli:<os user>`.

use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::{AckMode, thread_plan};
use crate::cli::exit;
use crate::config::Settings;
use crate::domain::{Channel, CollectionWindow};
use crate::store::Store;
use crate::store::announce::{ChatGroup, GroupState};

/// `gopy thread …`
#[derive(Debug, Subcommand)]
pub enum ThreadCmd {
    /// Đăng chuỗi bài của một đợt vào nhóm: bài giới thiệu và mỗi chủ đề một bài / post a
    /// campaign's thread into a group: its post, then one post per topic.
    #[command(allow_negative_numbers = true)]
    Post {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Số thứ tự trong `groups list`, mã nhóm Telegram (số âm) hoặc `zalo:<mã nhóm>` / id, Telegram chat id or `zalo:<group id>`.
        #[arg(long)]
        group: String,
    },
    /// Cách ghi nhận trả lời trong nhóm: reaction, reply, silent / how a group's replies are
    /// acknowledged.
    #[command(allow_negative_numbers = true)]
    Ack {
        /// Số thứ tự trong `groups list`, mã nhóm Telegram (số âm) hoặc `zalo:<mã nhóm>` / id, Telegram chat id or `zalo:<group id>`.
        #[arg(long)]
        group: String,
        /// reaction (mặc định / default), reply, silent.
        mode: String,
    },
    /// Liệt kê trả lời đã ghi nhận của một đợt / list the replies recorded in a campaign.
    Show {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
    },
    /// Lấy tệp (ghi âm, ảnh) của một ý kiến ra để nghe, xem (ghi nhật ký) / write an
    /// opinion's file out to listen to or view it (audited).
    File {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Mã ý kiến / the opinion's reference.
        reference: String,
        /// Tệp ghi ra / where to write it.
        #[arg(long, short)]
        output: std::path::PathBuf,
    },
    /// Ghi lời của một tin nhắn thoại, lưu cạnh bản gốc / store a transcription beside a
    /// voice note (audited).
    Transcribe {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        #[arg(long)]
        campaign: String,
        /// Mã ý kiến / the opinion's reference.
        reference: String,
        /// Lời đã ghi / the transcription.
        text: String,
    },
}

/// Why a thread cannot be posted.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    /// No campaign with that slug.
    #[error("Không có đợt lấy ý kiến mã {0} / no campaign {0}")]
    NoCampaign(String),
    /// No such group.
    #[error("Không có nhóm `{0}` / no group `{0}`")]
    NoGroup(String),
    /// The group is not bound to a unit.
    #[error(
        "Nhóm “{0}” chưa được gắn với địa bàn (gopy groups bind) / the group is not bound to a unit"
    )]
    NotBound(String),
    /// Collection is closed.
    #[error("Đợt lấy ý kiến {0} đã kết thúc việc lấy ý kiến / collection for {0} is closed")]
    Closed(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Queues a campaign's thread for a bound group: the campaign's post, then one per topic.
/// Returns the posts' ids. The bot sends them (and records their message ids) as it runs.
pub async fn post_thread(
    store: &dyn Store,
    slug: &str,
    group: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, ThreadError> {
    let campaign = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| ThreadError::NoCampaign(slug.to_owned()))?;
    if matches!(campaign.window(now), CollectionWindow::Closed(_)) {
        return Err(ThreadError::Closed(slug.to_owned()));
    }
    let g = find_group(store, group)
        .await?
        .ok_or_else(|| ThreadError::NoGroup(group.to_owned()))?;
    if g.state != GroupState::Bound {
        return Err(ThreadError::NotBound(g.title));
    }
    let plan = thread_plan(&campaign);
    Ok(store
        .queue_thread(campaign.id, g.id, &plan, by, now)
        .await?)
}

/// Finds the group named on the command line: a gopy id, a Telegram chat id (negative), or a
/// Zalo group id written `zalo:<id>`.
async fn find_group(store: &dyn Store, chat: &str) -> crate::store::StoreResult<Option<ChatGroup>> {
    let chat = chat.trim();
    if let Some(zalo) = chat.strip_prefix("zalo:") {
        return store.group_by_external(Channel::Zalo, zalo.trim()).await;
    }
    if chat.starts_with('-') {
        return store.group_by_external(Channel::Telegram, chat).await;
    }
    match chat.parse::<i64>() {
        Ok(id) => store.group(id).await,
        Err(_) => Ok(None),
    }
}

/// Runs `gopy thread …`.
pub async fn run(settings: &Settings, cmd: ThreadCmd) -> anyhow::Result<ExitCode> {
    let store: Arc<dyn Store> = match crate::startup::open_store(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Không mở được cơ sở dữ liệu / cannot open the database: {e:#}");
            return Ok(ExitCode::from(exit::UNAVAILABLE));
        }
    };
    let by = crate::announce::cli::actor();
    let now = Utc::now();
    match cmd {
        ThreadCmd::Post { campaign, group } => {
            match post_thread(store.as_ref(), &campaign, &group, &by, now).await {
                Ok(ids) => {
                    println!(
                        "Đã xếp {} bài vào hàng chờ; bot đang chạy (gopy serve) sẽ đăng lần lượt / \
                         {} posts queued; the running bot posts them in order",
                        ids.len(),
                        ids.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(ThreadError::Store(e)) => Err(e.into()),
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::from(exit::DATA))
                }
            }
        }
        ThreadCmd::Ack { group, mode } => {
            let Some(mode) = AckMode::parse(mode.trim()) else {
                eprintln!(
                    "Cách ghi nhận không hợp lệ / unknown mode: {mode} (reaction, reply, silent)"
                );
                return Ok(ExitCode::from(exit::DATA));
            };
            let Some(g) = find_group(store.as_ref(), &group).await? else {
                eprintln!("Không có nhóm `{group}` / no group `{group}`");
                return Ok(ExitCode::from(exit::DATA));
            };
            store.set_ack_mode(g.id, mode, &by, now).await?;
            println!("{}: {}", g.title, mode.as_str());
            Ok(ExitCode::SUCCESS)
        }
        ThreadCmd::File {
            campaign,
            reference,
            output,
        } => {
            let Some(c) = campaign_id(store.as_ref(), &campaign).await? else {
                return Ok(ExitCode::from(exit::DATA));
            };
            let files = store.opinion_files(c, &reference).await?;
            let Some(f) = files.first() else {
                eprintln!("Ý kiến {reference} không có tệp / opinion {reference} has no file");
                return Ok(ExitCode::from(exit::DATA));
            };
            let media = super::files::MediaSettings::for_database(&settings.database_url);
            let Some(bytes) = super::files::FileStore::new(&media.dir)
                .read(&f.key)
                .await?
            else {
                eprintln!(
                    "Không tìm thấy tệp trong {} / the file is missing from {}",
                    media.dir.display(),
                    media.dir.display()
                );
                return Ok(ExitCode::from(exit::UNAVAILABLE));
            };
            let detail = serde_json::json!({ "campaign": c, "reference": reference, "file": f.id });
            store
                .replies_audited("replies.file.export", &detail, &by, now)
                .await?;
            std::fs::write(&output, &bytes)?;
            println!(
                "{} ({}, {} B) → {}",
                f.kind,
                f.mime,
                f.size,
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ThreadCmd::Transcribe {
            campaign,
            reference,
            text,
        } => {
            let Some(c) = campaign_id(store.as_ref(), &campaign).await? else {
                return Ok(ExitCode::from(exit::DATA));
            };
            let files = store.opinion_files(c, &reference).await?;
            let Some(f) = files.first() else {
                eprintln!("Ý kiến {reference} không có tệp / opinion {reference} has no file");
                return Ok(ExitCode::from(exit::DATA));
            };
            let text: String =
                unicode_normalization::UnicodeNormalization::nfc(text.trim()).collect();
            let kind = match f.kind.as_str() {
                "voice" => super::files::FileKind::Voice,
                "audio" => super::files::FileKind::Audio,
                "photo" => super::files::FileKind::Photo,
                _ => super::files::FileKind::Document,
            };
            store
                .transcribe(
                    f.id,
                    &text,
                    &super::files::placeholder(kind),
                    &super::files::transcribed(&text),
                    &by,
                    now,
                )
                .await?;
            println!("Đã lưu lời ghi / transcription stored: {reference}");
            Ok(ExitCode::SUCCESS)
        }
        ThreadCmd::Show { campaign } => {
            let Some(c) = store
                .campaigns()
                .await?
                .into_iter()
                .find(|c| c.slug == campaign)
            else {
                eprintln!("Không có đợt lấy ý kiến mã {campaign} / no campaign {campaign}");
                return Ok(ExitCode::from(exit::DATA));
            };
            for r in store.campaign_replies(c.id).await? {
                let topic = r.topic.as_deref().unwrap_or(super::UNCLASSIFIED);
                let mut files = Vec::new();
                if let Some(reference) = &r.reference {
                    for f in store.opinion_files(c.id, reference).await? {
                        files.push(match (&f.transcription, f.kind.as_str()) {
                            (None, "voice" | "audio") => {
                                "[tin nhắn thoại, chưa ghi lời / voice note, not transcribed]"
                                    .to_owned()
                            }
                            (Some(t), _) => format!("[lời ghi / transcription] {t}"),
                            (None, kind) => format!("[{kind}]"),
                        });
                    }
                }
                let files = files.join(" ");
                match (&r.reference, &r.text) {
                    (Some(reference), Some(text)) => println!(
                        "{}\t{topic}\t{reference}\t{}\t{}\t{text} {files}",
                        r.group,
                        r.status.as_deref().unwrap_or_default(),
                        if r.anonymous { "ẩn danh" } else { "-" },
                    ),
                    _ => println!("{}\t{topic}\t-\tđồng tình / agreement", r.group),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The id of the campaign with this slug; says so when there is none.
async fn campaign_id(store: &dyn Store, slug: &str) -> anyhow::Result<Option<i64>> {
    let found = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == slug)
        .map(|c| c.id);
    if found.is_none() {
        eprintln!("Không có đợt lấy ý kiến mã {slug} / no campaign {slug}");
    }
    Ok(found)
}
