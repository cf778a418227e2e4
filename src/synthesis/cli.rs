//! `gopy opinions record|import|template|meetings` and `gopy synthesis …`: what officials
//! type, turned into store calls. Every message comes from `locales/*/synthesis.ftl`, in
//! Vietnamese then English; bad input ends with exit code 65 and stores nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use clap::{Args, Subcommand};

use super::import::{self, Defaults, Problem};
use super::{RecordBatch, Speaker};
use crate::campaign::cli::{actor, find, store};
use crate::cli::exit;
use crate::config::Settings;
use crate::dialog::Msg;
use crate::domain::{Campaign, Locale};
use crate::i18n::Markup;
use crate::store::Store;

/// `gopy opinions …` added by the synthesis.
#[derive(Debug, Subcommand)]
pub enum OpinionsCmd {
    /// Ghi ý kiến nghe được tại hội nghị (một ý kiến, hoặc cả tệp) / record opinions heard at
    /// a meeting (one, or a whole file).
    Record(Box<RecordArgs>),
    /// Nhập bảng ý kiến của đơn vị (.csv, .xlsx) / import a unit's table of opinions.
    Import {
        /// Id or slug of the campaign.
        #[arg(long)]
        campaign: String,
        /// The file (.csv UTF-8 or .xlsx), laid out as `gopy opinions template` writes it.
        file: PathBuf,
        /// Chỉ kiểm tra, không nhập / check only, import nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Ghi mẫu bảng nhập ý kiến / write the import template (.xlsx, or .csv by the name).
    Template {
        /// Id or slug of the campaign (its topics and units fill the example row).
        #[arg(long)]
        campaign: String,
        /// Tệp đầu ra (.xlsx hoặc .csv) / output file (default: mau-nhap-y-kien.xlsx).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Nhóm ý kiến tương tự / near-duplicate groups: build, list, merge, new, split,
    /// represent.
    Group {
        /// Id or slug of the campaign.
        #[arg(long)]
        campaign: String,
        /// What to do with the groups.
        #[command(subcommand)]
        command: GroupCmd,
    },
    /// Phân loại lại một ý kiến / re-classify an opinion (audited).
    Classify(Box<ClassifyArgs>),
    /// Liệt kê hội nghị / list a campaign's meetings.
    Meetings {
        /// Id or slug of the campaign.
        #[arg(long)]
        campaign: String,
    },
}

/// `gopy opinions group …`.
#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Gom nhóm tự động (giữ nguyên các nhóm cán bộ đã sửa) / group automatically (groups
    /// an official changed are kept).
    Build {
        /// Độ tương đồng tối thiểu / the similarity from which opinions are grouped (0–1).
        #[arg(long, default_value_t = super::similar::DEFAULT_THRESHOLD)]
        threshold: f64,
    },
    /// Liệt kê các nhóm / list the groups.
    List,
    /// Gộp các nhóm / merge groups into one.
    Merge {
        /// Group ids.
        #[arg(required = true, num_args = 2..)]
        groups: Vec<i64>,
    },
    /// Gom các ý kiến thành một nhóm mới / put opinions (references) into a new group.
    New {
        /// Opinion references.
        #[arg(required = true, num_args = 2..)]
        opinions: Vec<String>,
    },
    /// Tách ý kiến khỏi nhóm / take opinions (references) out of their groups.
    Split {
        /// Opinion references.
        #[arg(required = true)]
        opinions: Vec<String>,
    },
    /// Chọn ý kiến đại diện nhóm / choose a group's representative.
    Represent {
        /// Group id.
        group: i64,
        /// Opinion reference.
        opinion: String,
    },
}

/// `gopy opinions classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Id or slug of the campaign.
    #[arg(long)]
    pub campaign: String,
    /// Mã ý kiến / the opinion's reference.
    pub opinion: String,
    /// Chuyển sang chủ đề / file under this topic (code or title).
    #[arg(long)]
    pub topic: Option<String>,
    /// Mục dự thảo đi kèm --topic, --add-topic hoặc --remove-topic / the section that goes
    /// with them.
    #[arg(long, default_value = "")]
    pub section: String,
    /// Xếp thêm vào chủ đề / also file under this topic.
    #[arg(long)]
    pub add_topic: Option<String>,
    /// Bỏ chủ đề đã xếp thêm / take back an extra topic.
    #[arg(long)]
    pub remove_topic: Option<String>,
    /// Quan điểm / stance: agree, change, disagree, other, or none to clear it.
    #[arg(long)]
    pub stance: Option<String>,
}

/// `gopy opinions record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Id or slug of the campaign.
    #[arg(long)]
    pub campaign: String,
    /// Hội nghị đã có / an existing meeting's id.
    #[arg(long)]
    pub meeting: Option<i64>,
    /// Tên hội nghị (tạo mới nếu chưa có) / meeting name (created if new).
    #[arg(long)]
    pub meeting_name: Option<String>,
    /// Ngày họp / meeting date, dd/mm/yyyy.
    #[arg(long)]
    pub date: Option<String>,
    /// Địa điểm / place.
    #[arg(long)]
    pub place: Option<String>,
    /// Đơn vị tổ chức hội nghị / the unit holding the meeting.
    #[arg(long)]
    pub meeting_unit: Option<String>,
    /// Thành phần dự họp (mã đối tượng) / audience (target group code).
    #[arg(long)]
    pub audience: Option<String>,
    /// Người ghi / recorder (default: you).
    #[arg(long)]
    pub recorder: Option<String>,
    /// Tệp ý kiến theo mẫu / a file of opinions laid out as the template.
    #[arg(long, conflicts_with_all = ["topic", "text"])]
    pub file: Option<PathBuf>,
    /// Chủ đề (mã hoặc tên) / topic code or title.
    #[arg(long)]
    pub topic: Option<String>,
    /// Mục dự thảo / section reference.
    #[arg(long, default_value = "")]
    pub section: String,
    /// Đơn vị của người góp ý / the speaker's unit (default: the meeting's).
    #[arg(long, default_value = "")]
    pub unit: String,
    /// Đối tượng / target group (default: the meeting's audience).
    #[arg(long, default_value = "")]
    pub target_group: String,
    /// Nội dung ý kiến / the opinion's text.
    #[arg(long)]
    pub text: Option<String>,
    /// Quan điểm / stance: agree, change, disagree, other.
    #[arg(long, default_value = "")]
    pub stance: String,
    /// Họ tên người phát biểu (lưu riêng) / speaker's name (kept apart).
    #[arg(long)]
    pub speaker_name: Option<String>,
    /// Số điện thoại người phát biểu (lưu riêng) / speaker's phone (kept apart).
    #[arg(long)]
    pub speaker_phone: Option<String>,
}

/// A message in Vietnamese, then English.
pub(crate) fn say(msg: &Msg) -> String {
    match crate::i18n::shared() {
        Some(l) => {
            let vi = l.msg(Locale::Vi, msg, Markup::Plain);
            let en = l.msg(Locale::En, msg, Markup::Plain);
            format!("{vi} / {en}")
        }
        None => msg.key.clone(),
    }
}

/// Prints every problem of a file and the refusal; returns exit code 65.
fn refuse(file: &str, problems: &[Problem]) -> ExitCode {
    for p in problems {
        let line = match p.row {
            Some(row) => {
                let text = crate::i18n::shared()
                    .map(|l| {
                        let vi = l.msg(Locale::Vi, &p.msg, Markup::Plain);
                        let en = l.msg(Locale::En, &p.msg, Markup::Plain);
                        let row = row as i64;
                        let vi = l.msg(
                            Locale::Vi,
                            &Msg::new("syn-import-row")
                                .num("row", row)
                                .text("problem", vi),
                            Markup::Plain,
                        );
                        let en = l.msg(
                            Locale::En,
                            &Msg::new("syn-import-row")
                                .num("row", row)
                                .text("problem", en),
                            Markup::Plain,
                        );
                        format!("{vi} / {en}")
                    })
                    .unwrap_or_else(|| p.msg.key.clone());
                format!("{file}:{row}: {text}")
            }
            None => format!("{file}: {}", say(&p.msg)),
        };
        eprintln!("{line}");
    }
    eprintln!(
        "{}",
        say(&Msg::new("syn-import-refused").num("count", problems.len() as i64))
    );
    ExitCode::from(exit::DATA)
}

/// Opens the store and finds the campaign, or says why not.
async fn open_campaign(
    settings: &Settings,
    wanted: &str,
) -> anyhow::Result<Result<(Arc<dyn Store>, Campaign), ExitCode>> {
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(Err(code)),
    };
    match find(&store, wanted).await? {
        Some(c) => Ok(Ok((store, c))),
        None => {
            eprintln!(
                "{}",
                say(&Msg::new("syn-unknown-campaign").text("campaign", wanted))
            );
            Ok(Err(ExitCode::from(exit::DATA)))
        }
    }
}

/// Reads a CSV or XLSX file into rows, or the problem (with the exit code to end with).
fn read_table(path: &Path) -> Result<Vec<Vec<String>>, (Problem, u8)> {
    let bytes = std::fs::read(path).map_err(|e| {
        (
            Problem {
                row: None,
                msg: Msg::new("syn-cannot-read")
                    .text("file", path.display().to_string())
                    .text("error", e.to_string()),
            },
            exit::NOINPUT,
        )
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") | Some("txt") => import::read_csv(&bytes),
        Some("xlsx") => import::read_xlsx(&bytes),
        _ => Err(Problem {
            row: None,
            msg: Msg::new("syn-unknown-extension"),
        }),
    }
    .map_err(|p| (p, exit::DATA))
}

/// Runs `gopy opinions record|import|template|meetings`.
pub async fn run_opinions(settings: &Settings, cmd: OpinionsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        OpinionsCmd::Record(args) => record(settings, args).await,
        OpinionsCmd::Import {
            campaign,
            file,
            dry_run,
        } => import_file(settings, &campaign, &file, dry_run).await,
        OpinionsCmd::Template { campaign, output } => {
            let (_, campaign) = match open_campaign(settings, &campaign).await? {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            let path = output.unwrap_or_else(|| PathBuf::from("mau-nhap-y-kien.xlsx"));
            let xlsx = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            if xlsx {
                import::template_xlsx(&campaign, &path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            } else {
                let bytes = import::template_csv(&campaign)?;
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!(
                "{}",
                say(&Msg::new("syn-template-written").text("file", path.display().to_string()))
            );
            Ok(ExitCode::SUCCESS)
        }
        OpinionsCmd::Group { campaign, command } => group(settings, &campaign, command).await,
        OpinionsCmd::Classify(args) => classify(settings, *args).await,
        OpinionsCmd::Meetings { campaign } => {
            let (store, campaign) = match open_campaign(settings, &campaign).await? {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            let meetings = store.meetings(campaign.id).await?;
            if meetings.is_empty() {
                println!("{}", say(&Msg::new("syn-meetings-none")));
            }
            for m in meetings {
                let m2 = &m.meeting;
                println!(
                    "{:>4}  {}  {}  {}  {}  {}",
                    m.id,
                    m2.held_on.format("%d/%m/%Y"),
                    m2.name,
                    m2.place,
                    m2.unit.as_deref().unwrap_or("-"),
                    m2.target_group.as_deref().unwrap_or("-"),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `gopy opinions import`: every row is checked first; nothing is stored when anything is
/// wrong.
async fn import_file(
    settings: &Settings,
    campaign: &str,
    path: &Path,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let shown = path.display().to_string();
    let rows = match read_table(path) {
        Ok(rows) => rows,
        Err((p, code)) => {
            refuse(&shown, &[p]);
            return Ok(ExitCode::from(code));
        }
    };
    let (store, campaign) = match open_campaign(settings, campaign).await? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let now = Utc::now();
    let opinions = match import::validate(&campaign, &rows, &Defaults::default(), now) {
        Ok(o) => o,
        Err(problems) => return Ok(refuse(&shown, &problems)),
    };
    let count = opinions.len() as i64;
    if dry_run {
        println!(
            "{}",
            say(&Msg::new("syn-import-checked")
                .num("count", count)
                .text("file", &shown))
        );
        return Ok(ExitCode::SUCCESS);
    }
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.clone());
    let outcome = store
        .record_opinions(&RecordBatch {
            campaign_id: campaign.id,
            meeting: None,
            file: Some(file_name),
            opinions,
            actor: actor(),
            at: now,
        })
        .await
        .context("cannot store the imported opinions")?;
    println!(
        "{}",
        say(&Msg::new("syn-import-done")
            .num("count", count)
            .text("file", &shown))
    );
    if outcome.duplicates > 0 {
        println!(
            "{}",
            say(&Msg::new("syn-duplicates").num("count", outcome.duplicates as i64))
        );
    }
    screen(settings, &store, &campaign).await?;
    Ok(ExitCode::SUCCESS)
}

/// Screens what was just stored as every other opinion is screened (moderation: automation
/// only queues for a person): a flagged opinion waits for a moderator before it counts in the
/// synthesis. Says how many were queued.
async fn screen(
    settings: &Settings,
    store: &Arc<dyn Store>,
    campaign: &Campaign,
) -> anyhow::Result<()> {
    use crate::moderation::{DEFAULT_THRESHOLD, Detector, Lexicon, scan_campaign};
    let lexicon = match &settings.moderation_dir {
        Some(dir) => Lexicon::load_dir(dir),
        None => Lexicon::built_in(),
    }
    .context("cannot read the moderation word lists")?;
    let report = scan_campaign(
        store.as_ref(),
        &Detector::new(lexicon, DEFAULT_THRESHOLD),
        campaign.id,
        Utc::now(),
    )
    .await
    .context("cannot screen the new opinions")?;
    if report.queued > 0 {
        println!(
            "{}",
            say(&Msg::new("syn-screened").num("count", report.queued as i64))
        );
    }
    Ok(())
}

/// `gopy opinions record`: the meeting (found or created), then one opinion from the
/// arguments or every row of a file, stored together.
async fn record(settings: &Settings, a: Box<RecordArgs>) -> anyhow::Result<ExitCode> {
    let (store, campaign) = match open_campaign(settings, &a.campaign).await? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let now = Utc::now();
    let by = actor();
    let bad = |msg: Msg| {
        eprintln!("{}", say(&msg));
        Ok(ExitCode::from(exit::DATA))
    };
    let meeting = match (a.meeting, &a.meeting_name, &a.date, &a.place) {
        (Some(id), _, _, _) => {
            let found = store
                .meetings(campaign.id)
                .await?
                .into_iter()
                .find(|m| m.id == id);
            match found {
                Some(m) => m,
                None => return bad(Msg::new("syn-meeting-unknown").num("id", id)),
            }
        }
        (None, Some(name), Some(date), Some(place)) => {
            let Some(held_on) = import::parse_date(date) else {
                return bad(Msg::new("syn-bad-date").text("value", date));
            };
            let unit = import::unit_code(&campaign, a.meeting_unit.as_deref().unwrap_or(""));
            let audience = import::group_code(&campaign, a.audience.as_deref().unwrap_or(""));
            let (unit, audience) = match (unit, audience) {
                (Ok(u), Ok(g)) => (u, g),
                (Err(msg), _) | (_, Err(msg)) => return bad(msg),
            };
            let new = super::NewMeeting {
                campaign_id: campaign.id,
                name: name.trim().to_owned(),
                held_on,
                place: place.trim().to_owned(),
                unit,
                target_group: audience,
                recorder: a
                    .recorder
                    .clone()
                    .unwrap_or_else(|| by.trim_start_matches("cli:").to_owned()),
            };
            let (meeting, created) = store.upsert_meeting(&new, &by, now).await?;
            if created {
                println!(
                    "{}",
                    say(&Msg::new("syn-meeting-created")
                        .num("id", meeting.id)
                        .text("name", &new.name)
                        .text("date", held_on.format("%d/%m/%Y").to_string())
                        .text("place", &new.place))
                );
            }
            meeting
        }
        _ => return bad(Msg::new("syn-meeting-needed")),
    };
    let defaults = Defaults {
        unit: meeting.meeting.unit.clone(),
        target_group: meeting.meeting.target_group.clone(),
        given_at: Some(import::noon(meeting.meeting.held_on)),
    };
    let (opinions, file) = match (&a.file, &a.topic, &a.text) {
        (Some(path), _, _) => {
            let shown = path.display().to_string();
            let rows = match read_table(path) {
                Ok(rows) => rows,
                Err((p, code)) => {
                    refuse(&shown, &[p]);
                    return Ok(ExitCode::from(code));
                }
            };
            match import::validate(&campaign, &rows, &defaults, now) {
                Ok(o) => (
                    o,
                    path.file_name().map(|f| f.to_string_lossy().into_owned()),
                ),
                Err(problems) => return Ok(refuse(&shown, &problems)),
            }
        }
        (None, Some(topic), Some(text)) => {
            let checked = import::check_fields(
                &campaign,
                None,
                topic,
                &a.section,
                &a.unit,
                &a.target_group,
                text,
                &a.stance,
                &defaults,
                now,
            );
            match checked {
                Ok(mut o) => {
                    o.speaker = Speaker {
                        name: a.speaker_name.clone().filter(|s| !s.trim().is_empty()),
                        phone: a.speaker_phone.clone().filter(|s| !s.trim().is_empty()),
                    };
                    (vec![o], None)
                }
                Err(problems) => {
                    for p in &problems {
                        eprintln!("{}", say(&p.msg));
                    }
                    return Ok(ExitCode::from(exit::DATA));
                }
            }
        }
        _ => return bad(Msg::new("syn-record-needs-text")),
    };
    let count = opinions.len() as i64;
    let outcome = store
        .record_opinions(&RecordBatch {
            campaign_id: campaign.id,
            meeting: Some(meeting.id),
            file,
            opinions,
            actor: by,
            at: now,
        })
        .await
        .context("cannot store the recorded opinions")?;
    println!(
        "{}",
        say(&Msg::new("syn-record-done")
            .num("count", count)
            .text("meeting", &meeting.meeting.name))
    );
    if outcome.duplicates > 0 {
        println!(
            "{}",
            say(&Msg::new("syn-duplicates").num("count", outcome.duplicates as i64))
        );
    }
    screen(settings, &store, &campaign).await?;
    Ok(ExitCode::SUCCESS)
}

/// `gopy synthesis …`.
#[derive(Debug, Subcommand)]
pub enum SynthesisCmd {
    /// Dựng bản tổng hợp: đánh dấu ý kiến trùng lặp, lưu số liệu / build the synthesis: mark
    /// repeated opinions, record the figures (audited).
    Build(Scope),
    /// Xuất bản tổng hợp (ẩn danh, trừ khi --named) / export the synthesis (anonymous
    /// unless --named).
    Export(ExportArgs),
    /// Xuất gói tổng hợp có chữ ký gửi cấp trên / write the signed roll-up bundle for the
    /// level above (key in GOPY_ROLLUP_KEY).
    Bundle {
        /// Which campaign and unit.
        #[command(flatten)]
        scope: Scope,
        /// Tệp gói / the bundle file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Nhập gói tổng hợp của cấp dưới / import a lower level's signed bundle.
    ImportBundle {
        /// Id or slug of this level's campaign.
        #[arg(long)]
        campaign: String,
        /// The bundle file.
        file: PathBuf,
    },
    /// Gửi kết quả về từng đơn vị: mỗi trưởng đơn vị nhận báo cáo của đơn vị mình qua
    /// Telegram / send each unit its own report, to its leads in private chat (by the bot).
    Send(Box<super::send::SendArgs>),
    /// Xem các báo cáo đã gửi về đơn vị / list the per-unit reports sent and where each
    /// stands.
    Sent {
        /// Id or slug of the campaign.
        #[arg(long)]
        campaign: String,
    },
    /// Xem bản tổng hợp / show the synthesis.
    Show {
        /// Which campaign and unit.
        #[command(flatten)]
        scope: Scope,
        /// Liệt kê toàn văn mọi ý kiến / list every kept opinion in full.
        #[arg(long)]
        full: bool,
    },
}

/// `gopy synthesis export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Which campaign and unit.
    #[command(flatten)]
    pub scope: Scope,
    /// Định dạng / format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Tệp đầu ra / output file (default: tong-hop-<campaign>[-<unit>].<format>).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Kèm họ tên người góp ý (cần vai trò được phép và lý do) / include names (needs an
    /// allowed role and a reason).
    #[arg(long, requires_all = ["reason", "staff"])]
    pub named: bool,
    /// Lý do xuất kèm họ tên (ghi vào nhật ký) / why names are needed (audited).
    #[arg(long)]
    pub reason: Option<String>,
    /// Cán bộ thực hiện / the staff user exporting.
    #[arg(long = "as")]
    pub staff: Option<String>,
    /// Địa danh ghi ở dòng "…, ngày … tháng … năm …" / the place in the date line.
    #[arg(long)]
    pub place: Option<String>,
    /// The DOCX's number, signer and recipients.
    #[command(flatten)]
    pub header: HeaderArgs,
}

/// What the DOCX's header and signature block say (`gopy synthesis export --format docx`
/// and `gopy synthesis send`); left out, each takes its default.
#[derive(Debug, Default, Args)]
pub struct HeaderArgs {
    /// Số, ký hiệu văn bản (DOCX) / the document's number and symbol, e.g. "12/BC-UBND".
    #[arg(long)]
    pub number: Option<String>,
    /// Quyền hạn, chức vụ người ký, mỗi dòng một lần (DOCX) / the signer's capacity, one
    /// line per flag: --signer-title "TM. ỦY BAN NHÂN DÂN" --signer-title "CHỦ TỊCH".
    #[arg(long)]
    pub signer_title: Vec<String>,
    /// Họ tên người ký (DOCX) / the signer's full name.
    #[arg(long)]
    pub signer_name: Option<String>,
    /// Nơi nhận, mỗi nơi một lần (DOCX) / a recipient line, one per flag (it may start
    /// with "- ", as such lines do).
    #[arg(long, allow_hyphen_values = true)]
    pub recipient: Vec<String>,
}

impl HeaderArgs {
    /// The header these flags ask for.
    pub fn header(&self) -> super::export::DocHeader {
        super::export::DocHeader::from_fields(
            self.number.as_deref().unwrap_or(""),
            &self.signer_title,
            self.signer_name.as_deref().unwrap_or(""),
            &self.recipient,
        )
    }
}

/// Formats of `gopy synthesis export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// CSV, UTF-8 with BOM.
    Csv,
    /// JSON, schema gopy.synthesis/1.
    Json,
    /// Excel workbook.
    Xlsx,
    /// Word report (Decree 30/2020 layout).
    Docx,
}

impl ExportFormat {
    /// The file extension.
    pub fn ext(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Docx => "docx",
        }
    }
}

/// The campaign and, optionally, the unit a synthesis is for.
#[derive(Debug, Args)]
pub struct Scope {
    /// Id or slug of the campaign.
    #[arg(long)]
    pub campaign: String,
    /// Chỉ đơn vị này và các đơn vị trực thuộc / only this unit and the units below it.
    #[arg(long)]
    pub unit: Option<String>,
    /// Ngôn ngữ báo cáo / report language: vi (default), en.
    #[arg(long, default_value = "vi")]
    pub lang: String,
}

/// A scope resolved against the store.
pub(crate) struct Resolved {
    pub store: Arc<dyn Store>,
    pub campaign: Campaign,
    /// The unit's code as stored.
    pub unit: Option<String>,
    /// It and the units below it.
    pub units: Option<Vec<String>>,
    pub locale: Locale,
}

/// Opens the store, finds the campaign and the unit, or says why not.
pub(crate) async fn resolve(
    settings: &Settings,
    scope: &Scope,
) -> anyhow::Result<Result<Resolved, ExitCode>> {
    let (store, campaign) = match open_campaign(settings, &scope.campaign).await? {
        Ok(x) => x,
        Err(code) => return Ok(Err(code)),
    };
    let unit = match scope
        .unit
        .as_deref()
        .map(|u| import::unit_code(&campaign, u))
    {
        None => None,
        Some(Ok(u)) => u,
        Some(Err(msg)) => {
            eprintln!("{}", say(&msg));
            return Ok(Err(ExitCode::from(exit::DATA)));
        }
    };
    let units = unit
        .as_deref()
        .map(|u| super::report::subtree(&campaign, u));
    Ok(Ok(Resolved {
        store,
        campaign,
        unit,
        units,
        locale: Locale::parse(&scope.lang).unwrap_or_default(),
    }))
}

impl Resolved {
    /// The synthesis, from the database's aggregates.
    pub(crate) async fn synthesis(&self) -> anyhow::Result<super::report::Synthesis> {
        let agg = self
            .store
            .synthesis_aggregates(self.campaign.id, self.units.as_deref())
            .await
            .context("cannot read the synthesis' figures")?;
        Ok(super::report::Synthesis::build(
            &self.campaign,
            self.unit.as_deref(),
            &agg,
            self.locale,
        ))
    }
}

/// Runs `gopy synthesis …`.
pub async fn run_synthesis(settings: &Settings, cmd: SynthesisCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SynthesisCmd::Build(scope) => {
            let r = match resolve(settings, &scope).await? {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let marked = r.store.mark_duplicates(r.campaign.id).await?;
            let (groups, grouped) = build_groups(
                &r.store,
                &r.campaign,
                super::similar::DEFAULT_THRESHOLD,
                &actor(),
            )
            .await?;
            let synthesis = r.synthesis().await?;
            let summary = serde_json::to_value(&synthesis)?;
            let id = r
                .store
                .save_build(
                    r.campaign.id,
                    r.unit.as_deref(),
                    &summary,
                    &actor(),
                    Utc::now(),
                )
                .await
                .context("cannot record the synthesis")?;
            print!("{}", synthesis.to_text(&r.campaign, r.locale));
            if marked > 0 {
                println!(
                    "\n{}",
                    say(&Msg::new("syn-duplicates").num("count", marked as i64))
                );
            }
            println!(
                "\n{}",
                say(&Msg::new("syn-groups-built")
                    .num("groups", groups as i64)
                    .num("opinions", grouped as i64))
            );
            println!("{}", say(&Msg::new("syn-built").num("id", id)));
            Ok(ExitCode::SUCCESS)
        }
        SynthesisCmd::Export(args) => export(settings, args).await,
        SynthesisCmd::Send(args) => super::send::run(settings, *args).await,
        SynthesisCmd::Sent { campaign } => {
            let (store, c) = match open_campaign(settings, &campaign).await? {
                Ok(x) => x,
                Err(code) => return Ok(code),
            };
            for r in store.unit_report_states(c.id).await? {
                println!(
                    "{}",
                    say(&Msg::new("syn-sent-line")
                        .num("id", r.id)
                        .text("unit", r.unit)
                        .text("staff", r.staff)
                        .text("state", r.state)
                        .text("error", r.error.unwrap_or_default()))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        SynthesisCmd::Bundle { scope, out } => bundle(settings, &scope, &out).await,
        SynthesisCmd::ImportBundle { campaign, file } => {
            import_bundle(settings, &campaign, &file).await
        }
        SynthesisCmd::Show { scope, full } => {
            let r = match resolve(settings, &scope).await? {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            let synthesis = r.synthesis().await?;
            print!("{}", synthesis.to_text(&r.campaign, r.locale));
            if full {
                print_listing(&r).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints every kept opinion under its topic and section, streamed from the database.
async fn print_listing(r: &Resolved) -> anyhow::Result<()> {
    use futures::TryStreamExt as _;
    let l = |key: &str| super::report::label(r.locale, key);
    println!("\n{}", l("syn-h-listing"));
    let mut rows = r.store.kept_opinions(r.campaign.id, r.units.clone());
    let mut heading: Option<(String, Option<String>)> = None;
    while let Some(o) = rows.try_next().await? {
        let here = (o.topic.clone(), o.section.clone());
        if heading.as_ref() != Some(&here) {
            let title = r
                .campaign
                .topics
                .iter()
                .find(|t| t.code == o.topic)
                .map(|t| t.title.as_str())
                .unwrap_or(&o.topic);
            let section = o
                .section
                .as_deref()
                .map(|s| format!(" — {s}"))
                .unwrap_or_default();
            println!("\n  {title}{section}");
            heading = Some(here);
        }
        let stance = o
            .stance
            .as_deref()
            .map(|s| format!(" [{}]", super::report::stance_name(r.locale, s)))
            .unwrap_or_default();
        println!(
            "  - {} ({}, {}, {}){stance}: {}",
            o.reference,
            crate::domain::format_local(o.created_at),
            o.unit.as_deref().unwrap_or("-"),
            super::report::source_name(r.locale, &o.source),
            o.text
        );
    }
    Ok(())
}

/// The roles that may export names: leaders who answer for the report.
pub const NAMED_EXPORT_ROLES: [crate::store::announce::Role; 2] = [
    crate::store::announce::Role::Admin,
    crate::store::announce::Role::Approver,
];

/// Why this staff user may not export names of the opinions of `unit` (the whole campaign
/// when `None`), if they may not: only the roles in [`NAMED_EXPORT_ROLES`], and a user scoped
/// to a unit gets names of that unit's opinions only. Shared by the CLI and the console.
pub(crate) fn named_refusal(
    staff: &crate::store::announce::StaffUser,
    campaign: &Campaign,
    unit: Option<&str>,
) -> Option<Msg> {
    if !NAMED_EXPORT_ROLES.iter().any(|role| staff.has(*role)) {
        return Some(Msg::new("syn-named-refused").text("name", &staff.name));
    }
    if let Some(scope) = &staff.unit {
        let inside = unit.is_some_and(|u| {
            super::report::subtree(campaign, scope)
                .iter()
                .any(|s| s == u)
        });
        if !inside {
            return Some(Msg::new("syn-named-scope").text("unit", scope));
        }
    }
    None
}

/// `gopy synthesis export`: checks who asks for names and why, writes the file, then
/// audits it (a file whose audit line cannot be written is removed).
async fn export(settings: &Settings, a: ExportArgs) -> anyhow::Result<ExitCode> {
    let r = match resolve(settings, &a.scope).await? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let bad = |msg: Msg| {
        eprintln!("{}", say(&msg));
        Ok(ExitCode::from(exit::DATA))
    };
    let mut actor_name = actor();
    if let Some(name) = &a.staff {
        let Some(staff) = r.store.staff_by_name(name).await? else {
            return bad(Msg::new("syn-staff-unknown").text("name", name));
        };
        if a.named
            && let Some(refusal) = named_refusal(&staff, &r.campaign, r.unit.as_deref())
        {
            return bad(refusal);
        }
        actor_name = staff.name.clone();
    }
    let reason = a.reason.as_deref().map(str::trim).unwrap_or("");
    if a.named && reason.chars().count() < 10 {
        return bad(Msg::new("syn-named-reason"));
    }
    let path = a.out.clone().unwrap_or_else(|| {
        let unit = r
            .unit
            .as_deref()
            .map(|u| format!("-{}", u.to_lowercase()))
            .unwrap_or_default();
        PathBuf::from(format!(
            "tong-hop-{}{unit}.{}",
            r.campaign.slug,
            a.format.ext()
        ))
    });
    let synthesis = r.synthesis().await?;
    let names = match a.named {
        true => Some(r.store.opinion_names(r.campaign.id).await?),
        false => None,
    };
    let now = Utc::now();
    let place = a
        .place
        .clone()
        .unwrap_or_else(|| default_place(&r.campaign));
    let input = super::export::Input {
        campaign: &r.campaign,
        synthesis: &synthesis,
        names: names.as_ref(),
        locale: r.locale,
        generated_at: now,
        place,
        header: a.header.header(),
    };
    let opinions = r.store.kept_opinions(r.campaign.id, r.units.clone());
    let written = write_export(a.format, &input, opinions, &path).await;
    let count = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e.context(format!("cannot write {}", path.display())));
        }
    };
    let detail = serde_json::json!({
        "campaign": r.campaign.id,
        "unit": r.unit,
        "format": a.format.ext(),
        "file": path.display().to_string(),
        "opinions": count,
        "named": a.named,
        "reason": a.named.then_some(reason),
        "number": input.header.number,
        "os_user": actor(),
    });
    let action = if a.named {
        "synthesis.export.named"
    } else {
        "synthesis.export"
    };
    if let Err(e) = r
        .store
        .synthesis_audited(action, &detail, &actor_name, now)
        .await
    {
        let _ = std::fs::remove_file(&path);
        return Err(anyhow::Error::new(e).context("cannot write the audit log; nothing exported"));
    }
    println!(
        "{}",
        say(&Msg::new("syn-exported")
            .num("count", count as i64)
            .text("file", path.display().to_string()))
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes one export to `path`; returns how many opinions it holds.
pub(crate) async fn write_export(
    format: ExportFormat,
    input: &super::export::Input<'_>,
    opinions: super::export::Opinions<'_>,
    path: &Path,
) -> anyhow::Result<u64> {
    use super::export;
    match format {
        ExportFormat::Csv => {
            let file = std::io::BufWriter::new(std::fs::File::create(path)?);
            export::csv::write(input, opinions, file).await
        }
        ExportFormat::Json => {
            let file = std::io::BufWriter::new(std::fs::File::create(path)?);
            export::json::write(input, opinions, file).await
        }
        ExportFormat::Xlsx => export::xlsx::write(input, opinions, path).await,
        ExportFormat::Docx => {
            let file = std::fs::File::create(path)?;
            export::docx::write(input, opinions, file).await
        }
    }
}

/// The place a report is dated from: the campaign's root unit without its kind ("Phường
/// Bắc Kạn" → "Bắc Kạn").
pub(crate) fn default_place(c: &Campaign) -> String {
    let root = c
        .units
        .iter()
        .find(|u| u.parent.is_none())
        .map(|u| u.name.as_str())
        .unwrap_or("");
    for prefix in [
        "Phường ",
        "Xã ",
        "Thị trấn ",
        "Quận ",
        "Huyện ",
        "Thành phố ",
        "Tỉnh ",
    ] {
        if let Some(rest) = root.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
    root.to_owned()
}

/// Groups every topic's kept opinions by similarity, keeping what officials confirmed;
/// returns (groups, opinions grouped).
pub(crate) async fn build_groups(
    store: &Arc<dyn Store>,
    campaign: &Campaign,
    threshold: f64,
    by: &str,
) -> anyhow::Result<(usize, usize)> {
    let mut found = Vec::new();
    for topic in &campaign.topics {
        let items = store.grouping_input(campaign.id, &topic.code).await?;
        found.extend(super::similar::group(&items, threshold));
    }
    let grouped = found.iter().map(|g| g.members.len()).sum();
    let n = store
        .replace_groups(campaign.id, &found, by, Utc::now())
        .await
        .context("cannot store the groups")?;
    Ok((n, grouped))
}

/// Looks opinions up by reference, or says which one is unknown.
async fn references(
    store: &Arc<dyn Store>,
    campaign: &Campaign,
    refs: &[String],
) -> anyhow::Result<Result<Vec<i64>, ExitCode>> {
    let mut ids = Vec::new();
    for r in refs {
        match store.opinion_by_reference(campaign.id, r).await? {
            Some(id) => ids.push(id),
            None => {
                eprintln!(
                    "{}",
                    say(&Msg::new("syn-opinion-unknown").text("reference", r))
                );
                return Ok(Err(ExitCode::from(exit::DATA)));
            }
        }
    }
    Ok(Ok(ids))
}

/// `gopy opinions group …`.
async fn group(settings: &Settings, campaign: &str, cmd: GroupCmd) -> anyhow::Result<ExitCode> {
    let (store, campaign) = match open_campaign(settings, campaign).await? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let by = actor();
    let now = Utc::now();
    let bad = |msg: Msg| {
        eprintln!("{}", say(&msg));
        Ok(ExitCode::from(exit::DATA))
    };
    match cmd {
        GroupCmd::Build { threshold } => {
            if !(0.0..=1.0).contains(&threshold) {
                return bad(Msg::new("syn-threshold"));
            }
            let (groups, opinions) = build_groups(&store, &campaign, threshold, &by).await?;
            println!(
                "{}",
                say(&Msg::new("syn-groups-built")
                    .num("groups", groups as i64)
                    .num("opinions", opinions as i64))
            );
        }
        GroupCmd::List => {
            let groups = store.opinion_groups(campaign.id).await?;
            if groups.is_empty() {
                println!("{}", say(&Msg::new("syn-groups-none")));
            }
            for g in groups {
                let who = match (&g.chosen_by, g.confirmed) {
                    (Some(by), _) => format!(" [{by}]"),
                    (None, true) => " [✓]".to_owned(),
                    (None, false) => String::new(),
                };
                println!("#{} ({}){who}", g.id, g.members.len());
                for (id, reference, _, text) in &g.members {
                    let mark = if Some(*id) == g.representative {
                        "*"
                    } else {
                        " "
                    };
                    println!("  {mark} {reference}  {text}");
                }
            }
        }
        GroupCmd::Merge { groups } => {
            let all = store.opinion_groups(campaign.id).await?;
            let mut members = Vec::new();
            let mut representative = None;
            for id in &groups {
                let Some(g) = all.iter().find(|g| g.id == *id) else {
                    return bad(Msg::new("syn-group-unknown").num("id", *id));
                };
                representative = representative.or(g.representative);
                members.extend(g.members.iter().map(|m| m.0));
            }
            let id = store
                .regroup(campaign.id, &members, representative, &by, now)
                .await?;
            println!(
                "{}",
                say(&Msg::new("syn-group-made")
                    .num("id", id)
                    .num("opinions", members.len() as i64))
            );
        }
        GroupCmd::New { opinions } => {
            let ids = match references(&store, &campaign, &opinions).await? {
                Ok(ids) => ids,
                Err(code) => return Ok(code),
            };
            let id = store.regroup(campaign.id, &ids, None, &by, now).await?;
            println!(
                "{}",
                say(&Msg::new("syn-group-made")
                    .num("id", id)
                    .num("opinions", ids.len() as i64))
            );
        }
        GroupCmd::Split { opinions } => {
            let ids = match references(&store, &campaign, &opinions).await? {
                Ok(ids) => ids,
                Err(code) => return Ok(code),
            };
            let n = store.ungroup(campaign.id, &ids, &by, now).await?;
            println!(
                "{}",
                say(&Msg::new("syn-group-split").num("opinions", n as i64))
            );
        }
        GroupCmd::Represent { group, opinion } => {
            let ids = match references(&store, &campaign, std::slice::from_ref(&opinion)).await? {
                Ok(ids) => ids,
                Err(code) => return Ok(code),
            };
            if !store.choose_representative(group, ids[0], &by, now).await? {
                return bad(Msg::new("syn-not-member")
                    .text("reference", &opinion)
                    .num("id", group));
            }
            println!(
                "{}",
                say(&Msg::new("syn-represent-set")
                    .text("reference", &opinion)
                    .num("id", group))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The classification changes an official asks for, each checked against the campaign as an
/// imported row's topic and section are: a new topic (with `section`), an extra topic added
/// or taken back, a stance (`none` or empty clears it). Shared by the CLI and the console.
pub(crate) fn classification_changes(
    campaign: &Campaign,
    topic: Option<&str>,
    section: &str,
    add_topic: Option<&str>,
    remove_topic: Option<&str>,
    stance: Option<&str>,
) -> Result<Vec<super::Classification>, Vec<Msg>> {
    use super::Classification;
    let topic_and_section = |topic: &str| -> Result<(String, Option<String>), Vec<Problem>> {
        import::check_fields(
            campaign,
            None,
            topic,
            section,
            "",
            "",
            "-",
            "",
            &Defaults::default(),
            Utc::now(),
        )
        .map(|o| (o.topic, o.section))
    };
    let mut changes = Vec::new();
    for (typed, make) in [(topic, 0u8), (add_topic, 1), (remove_topic, 2)] {
        let Some(typed) = typed else { continue };
        let (topic, found_section) = match topic_and_section(typed) {
            Ok(x) => x,
            Err(problems) => return Err(problems.into_iter().map(|p| p.msg).collect()),
        };
        let found_section = if section.trim().is_empty() && make != 0 {
            None
        } else {
            found_section
        };
        changes.push(match make {
            0 => Classification::Topic {
                topic,
                section: found_section,
            },
            1 => Classification::AddLabel {
                topic,
                section: found_section,
            },
            _ => Classification::RemoveLabel {
                topic,
                section: found_section,
            },
        });
    }
    if let Some(s) = stance {
        let stance = match s.trim() {
            "none" | "" => None,
            typed => match super::Stance::parse(typed) {
                Some(st) => Some(st),
                None => {
                    return Err(vec![
                        Msg::new("syn-import-unknown-stance").text("value", typed),
                    ]);
                }
            },
        };
        changes.push(Classification::Stance { stance });
    }
    Ok(changes)
}

/// `gopy opinions classify`: each change given is applied and audited on its own.
async fn classify(settings: &Settings, a: ClassifyArgs) -> anyhow::Result<ExitCode> {
    let (store, campaign) = match open_campaign(settings, &a.campaign).await? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let bad = |msg: Msg| {
        eprintln!("{}", say(&msg));
        Ok(ExitCode::from(exit::DATA))
    };
    let ids = match references(&store, &campaign, std::slice::from_ref(&a.opinion)).await? {
        Ok(ids) => ids,
        Err(code) => return Ok(code),
    };
    let changes = match classification_changes(
        &campaign,
        a.topic.as_deref(),
        &a.section,
        a.add_topic.as_deref(),
        a.remove_topic.as_deref(),
        a.stance.as_deref(),
    ) {
        Ok(changes) => changes,
        Err(msgs) => {
            for m in &msgs {
                eprintln!("{}", say(m));
            }
            return Ok(ExitCode::from(exit::DATA));
        }
    };
    if changes.is_empty() {
        return bad(Msg::new("syn-classify-nothing"));
    }
    let by = actor();
    for change in &changes {
        if !store.classify(ids[0], change, &by, Utc::now()).await? {
            return bad(Msg::new("syn-classify-unchanged").text("reference", &a.opinion));
        }
    }
    println!(
        "{}",
        say(&Msg::new("syn-classified")
            .text("reference", &a.opinion)
            .num("changes", changes.len() as i64))
    );
    Ok(ExitCode::SUCCESS)
}

/// `gopy bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Đo hiệu năng tổng hợp / time the synthesis (see BENCHMARKS.md).
    Synthesis {
        /// Số ý kiến tạo ra / how many opinions to seed.
        #[arg(long, default_value_t = 200_000)]
        opinions: usize,
        /// Thư mục ghi tệp xuất tạm / where the exports are written (then removed).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Runs `gopy bench …`.
pub async fn run_bench(settings: &Settings, cmd: BenchCmd) -> anyhow::Result<ExitCode> {
    let BenchCmd::Synthesis { opinions, dir } = cmd;
    let store = match store(settings).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let dir = dir.unwrap_or_else(std::env::temp_dir);
    super::bench::run(store, opinions, &dir).await?;
    Ok(ExitCode::SUCCESS)
}

/// The roll-up key from the environment, or the exit code after saying what is missing.
fn rollup_key() -> Result<Vec<u8>, ExitCode> {
    match std::env::var(super::rollup::KEY_VAR) {
        Ok(k) if k.len() >= super::rollup::MIN_KEY_BYTES => Ok(k.into_bytes()),
        _ => {
            eprintln!(
                "{}",
                say(&Msg::new("syn-rollup-no-key")
                    .text("var", super::rollup::KEY_VAR)
                    .num("bytes", super::rollup::MIN_KEY_BYTES as i64))
            );
            Err(ExitCode::from(exit::CONFIG))
        }
    }
}

/// `gopy synthesis bundle`: every kept opinion of the campaign (or unit), signed, audited.
async fn bundle(settings: &Settings, scope: &Scope, out: &Path) -> anyhow::Result<ExitCode> {
    use futures::TryStreamExt as _;
    let key = match rollup_key() {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let r = match resolve(settings, scope).await? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    let unit = r.unit.clone().or_else(|| {
        r.campaign
            .units
            .iter()
            .find(|u| u.parent.is_none())
            .map(|u| u.code.clone())
    });
    let unit = unit.unwrap_or_default();
    let unit_name = r
        .campaign
        .units
        .iter()
        .find(|u| u.code == unit)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let mut opinions = Vec::new();
    let mut rows = r.store.kept_opinions(r.campaign.id, r.units.clone());
    while let Some(o) = rows.try_next().await? {
        opinions.push(super::rollup::BundledOpinion {
            reference: o.reference,
            topic: o.topic,
            section: o.section,
            unit: o.unit,
            target_group: o.target_group,
            source: o.source,
            created_at: o.created_at,
            stance: o.stance,
            text: o.text,
        });
    }
    let now = Utc::now();
    let count = opinions.len();
    let payload = super::rollup::Payload {
        issuer: r.campaign.issuer.clone(),
        campaign: r.campaign.slug.clone(),
        title: r.campaign.title.clone(),
        unit: unit.clone(),
        unit_name,
        generated_at: now
            .with_timezone(&crate::domain::TZ)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        opinions,
    };
    let bytes = super::rollup::sign(&payload, &key)?;
    std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    let detail = serde_json::json!({
        "campaign": r.campaign.id,
        "unit": unit,
        "file": out.display().to_string(),
        "opinions": count,
    });
    if let Err(e) = r
        .store
        .synthesis_audited("synthesis.bundle", &detail, &actor(), now)
        .await
    {
        let _ = std::fs::remove_file(out);
        return Err(anyhow::Error::new(e).context("cannot write the audit log; nothing exported"));
    }
    println!(
        "{}",
        say(&Msg::new("syn-exported")
            .num("count", count as i64)
            .text("file", out.display().to_string()))
    );
    Ok(ExitCode::SUCCESS)
}

/// `gopy synthesis import-bundle`: verified, checked against this level's campaign, stored
/// all or nothing with each opinion's origin; a bundle imported before is refused.
async fn import_bundle(
    settings: &Settings,
    campaign: &str,
    path: &Path,
) -> anyhow::Result<ExitCode> {
    let key = match rollup_key() {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "{}",
                say(&Msg::new("syn-cannot-read")
                    .text("file", &shown)
                    .text("error", e.to_string()))
            );
            return Ok(ExitCode::from(exit::NOINPUT));
        }
    };
    let bad = |msg: Msg| {
        eprintln!("{shown}: {}", say(&msg));
        Ok(ExitCode::from(exit::DATA))
    };
    let payload = match super::rollup::verify(&bytes, &key) {
        Ok(p) => p,
        Err(super::rollup::BundleError::Signature) => return bad(Msg::new("syn-rollup-signature")),
        Err(_) => return bad(Msg::new("syn-rollup-format")),
    };
    let (store, campaign) = match open_campaign(settings, campaign).await? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if !campaign.units.iter().any(|u| u.code == payload.unit) {
        return bad(Msg::new("syn-rollup-unit")
            .text("unit", &payload.unit)
            .text("name", &payload.unit_name));
    }
    let mut unknown: Vec<&str> = payload
        .opinions
        .iter()
        .map(|o| o.topic.as_str())
        .filter(|t| !campaign.topics.iter().any(|x| x.code == *t))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        return bad(Msg::new("syn-rollup-topics").text("topics", unknown.join(", ")));
    }
    let opinions = payload
        .opinions
        .iter()
        .enumerate()
        .map(|(i, o)| super::RecordedOpinion {
            row: Some(i as i64 + 1),
            topic: o.topic.clone(),
            section: o
                .section
                .clone()
                .filter(|s| campaign.sections.iter().any(|x| &x.reference == s)),
            unit: Some(payload.unit.clone()),
            target_group: o
                .target_group
                .clone()
                .filter(|g| campaign.target_groups.iter().any(|x| &x.code == g)),
            text: o.text.clone(),
            given_at: o.created_at,
            speaker: Speaker::default(),
            stance: o.stance.as_deref().and_then(super::Stance::parse),
            origin: Some(format!(
                "{}/{}/{}",
                payload.unit, payload.campaign, o.reference
            )),
        })
        .collect::<Vec<_>>();
    let count = opinions.len() as i64;
    let file = format!(
        "{} ({})",
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone()),
        payload.unit_name
    );
    let stored = store
        .record_opinions(&RecordBatch {
            campaign_id: campaign.id,
            meeting: None,
            file: Some(file),
            opinions,
            actor: actor(),
            at: Utc::now(),
        })
        .await;
    match stored {
        Ok(_) => {}
        Err(crate::store::StoreError::Conflict(_)) => {
            return bad(Msg::new("syn-rollup-again").text("name", &payload.unit_name));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot store the bundle")),
    }
    println!(
        "{}",
        say(&Msg::new("syn-rollup-done")
            .num("count", count)
            .text("name", &payload.unit_name))
    );
    Ok(ExitCode::SUCCESS)
}
