//! The command line (clap): what each subcommand does, in terms of the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Settings;
use crate::domain::Locale;
use crate::i18n::Localizer;
use crate::service::{Dialogs, system_clock};
use crate::startup::{self, Application};

/// gopy — góp ý dự thảo văn kiện qua Telegram, Zalo và trình duyệt.
/// Collects residents' opinions on draft documents over Telegram, Zalo and the web.
#[derive(Debug, Parser)]
#[command(name = "gopy", version, about, long_about = None)]
pub struct Cli {
    /// Cơ sở dữ liệu / database: sqlite://gopy.db (mặc định) hoặc postgres://…
    #[arg(long, global = true, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Việc cần làm (mặc định: serve) / what to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Chạy máy chủ và bot / run the server and the bots (default).
    Serve,
    /// Góp ý trong cửa sổ dòng lệnh như một người dân / the dialog in this terminal.
    Chat {
        /// Tên người dùng trong phiên trò chuyện / who you are in this chat.
        #[arg(long = "as", default_value = "nguoi-dan")]
        user: String,
        /// Đợt lấy ý kiến và địa bàn, như liên kết: <slug> hoặc <slug>_<mã địa bàn>.
        #[arg(long)]
        start: Option<String>,
        /// Ngôn ngữ / language: vi, en.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Áp dụng migration cho cơ sở dữ liệu / apply database migrations.
    Migrate,
    /// Đợt lấy ý kiến / campaigns.
    Campaign {
        /// What to do with campaigns.
        #[command(subcommand)]
        command: CampaignCmd,
    },
    /// Ý kiến góp ý / opinions.
    Opinions {
        /// What to do with opinions.
        #[command(subcommand)]
        command: OpinionsCmd,
    },
    /// Cán bộ, nhóm và thông báo / staff, groups and announcements.
    #[command(flatten)]
    Announce(crate::announce::cli::AnnounceCmd),
    /// Kiểm duyệt / moderation: check, eval, queue, decide, log, watch list.
    Moderation(crate::moderation::cli::ModerationArgs),
    /// Tổng hợp ý kiến / the synthesis: build, show, export.
    Synthesis {
        /// What to do with the synthesis.
        #[command(subcommand)]
        command: crate::synthesis::cli::SynthesisCmd,
    },
    /// Zalo Official Account: cấp quyền lại, trạng thái / re-authorise, status.
    ZaloOa {
        /// What to do.
        #[command(subcommand)]
        command: crate::channels::zalo_oa::cli::ZaloOaCmd,
    },
    /// Xóa danh tính đã hết thời hạn lưu / erase identities past their campaign's retention
    /// (names, usernames, speakers' phones; opinions are kept). Also done hourly by `serve`.
    Purge {
        /// Chỉ cho xem sẽ xóa gì / show what would go, erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Trả lời trong nhóm thành ý kiến: đăng chuỗi bài, cách ghi nhận / group replies: post
    /// a campaign's thread, acknowledgements, what was recorded.
    Thread {
        /// What to do with threads and replies.
        #[command(subcommand)]
        command: crate::replies::cli::ThreadCmd,
    },
    /// Báo cáo theo lịch: ngày báo cáo, cán bộ nhận / reports on their due dates.
    Reports {
        /// What to do with report dates.
        #[command(subcommand)]
        command: crate::reports::cli::ReportsCmd,
    },
    /// Đo hiệu năng / benchmarks that print their figures.
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        command: crate::synthesis::cli::BenchCmd,
    },
}

/// `gopy campaign …`
#[derive(Debug, Subcommand)]
pub enum CampaignCmd {
    /// Nhập đợt lấy ý kiến từ tệp TOML / import a campaign file.
    Import {
        /// The campaign file (see examples/demo-campaign.toml).
        file: PathBuf,
    },
    /// Liệt kê các đợt / list campaigns.
    List,
    /// Xem một đợt / show one campaign.
    Show {
        /// Id or slug.
        campaign: String,
    },
    /// Xuất tệp TOML của đợt, kèm ngày báo cáo / write a campaign back as its file, with its
    /// report dates.
    File {
        /// Id or slug.
        campaign: String,
    },
}

/// `gopy opinions …`
#[derive(Debug, Subcommand)]
pub enum OpinionsCmd {
    /// Xuất ý kiến (ẩn danh) / export opinions, anonymous.
    Export {
        /// Id or slug of the campaign.
        #[arg(long)]
        campaign: String,
        /// Định dạng / format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Tệp đầu ra (mặc định: stdout) / output file.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Ghi, nhập ý kiến và hội nghị / record, import opinions; meetings (synthesis).
    #[command(flatten)]
    Synthesis(crate::synthesis::cli::OpinionsCmd),
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// CSV, UTF-8 with BOM (opens correctly in Excel).
    Csv,
    /// JSON.
    Json,
}

/// Exit codes with a meaning.
pub mod exit {
    /// Bad input (a campaign file with problems, an unknown campaign).
    pub const DATA: u8 = 65;
    /// An input file cannot be read (missing, no permission).
    pub const NOINPUT: u8 = 66;
    /// The database or another service is unavailable.
    pub const UNAVAILABLE: u8 = 69;
    /// Configuration error.
    pub const CONFIG: u8 = 78;
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Cấu hình sai / bad configuration: {e:#}");
            return Ok(ExitCode::from(exit::CONFIG));
        }
    };
    if let Some(url) = cli.database_url {
        settings.database_url = url;
    }
    match cli.command.unwrap_or(Cmd::Serve) {
        Cmd::Serve => {
            let app = match Application::build(settings).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!("Không khởi động được gopy / cannot start: {e:#}");
                    return Ok(ExitCode::from(exit::UNAVAILABLE));
                }
            };
            app.run(startup::shutdown_on_signals()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Migrate => {
            startup::open_store(&settings).await?;
            println!("Đã áp dụng migration / migrations applied.");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Chat { user, start, lang } => {
            let store = startup::open_store(&settings).await?;
            let clock = system_clock();
            if settings.demo {
                startup::ensure_demo(&store, &clock).await?;
            }
            let dialogs = Dialogs::new(store, clock).await?;
            let l10n = Arc::new(Localizer::new()?);
            let locale = lang.as_deref().and_then(Locale::parse);
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            crate::channels::terminal::run(
                &dialogs,
                &l10n,
                &user,
                start,
                locale,
                stdin,
                tokio::io::stdout(),
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Campaign { command } => crate::campaign::cli::run(&settings, command).await,
        Cmd::Opinions { command } => crate::campaign::cli::run_opinions(&settings, command).await,
        Cmd::Announce(command) => crate::announce::cli::run(&settings, command).await,
        Cmd::Moderation(args) => crate::moderation::cli::run(&settings, args).await,
        Cmd::Synthesis { command } => {
            crate::synthesis::cli::run_synthesis(&settings, command).await
        }
        Cmd::Bench { command } => crate::synthesis::cli::run_bench(&settings, command).await,
        Cmd::ZaloOa { command } => crate::channels::zalo_oa::cli::run(&settings, command).await,
        Cmd::Purge { dry_run } => crate::retention::run(&settings, dry_run).await,
        Cmd::Thread { command } => crate::replies::cli::run(&settings, command).await,
        Cmd::Reports { command } => crate::reports::cli::run(&settings, command).await,
    }
}
