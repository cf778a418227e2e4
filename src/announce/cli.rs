//! `gopy staff …` and `gopy groups …`. Every change is audited as `cli:<os user>`. Problems
//! with what was asked (an unknown unit or group, a name that exists) end with exit code 65;
//! an unreachable database with 69.

use std::process::ExitCode;
use std::sync::Arc;
use unicode_normalization::UnicodeNormalization as _;

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;

use super::access::{UnitTree, new_link_code};
use crate::cli::exit;
use crate::config::Settings;
use crate::domain::{Channel, format_local};
use crate::store::announce::{Audience, ChatGroup, NewStaff, Role, Schedule};
use crate::store::{Store, StoreError};

/// The announcement commands, flattened into `gopy`'s own.
#[derive(Debug, Subcommand)]
pub enum AnnounceCmd {
    /// Cán bộ sử dụng gopy / staff users.
    Staff {
        /// What to do with staff users.
        #[command(subcommand)]
        command: StaffCmd,
    },
    /// Nhóm trò chuyện có bot / chat groups the bot is in.
    Groups {
        /// What to do with groups.
        #[command(subcommand)]
        command: GroupsCmd,
    },
    /// Thông báo / broadcasts.
    Broadcast {
        /// What to do with broadcasts.
        #[command(subcommand)]
        command: BroadcastCmd,
    },
    /// Nhắc hạn góp ý tự động / automatic reminders before collection closes.
    Reminders {
        /// What to do with reminders.
        #[command(subcommand)]
        command: RemindersCmd,
    },
}

/// `gopy reminders …`
#[derive(Debug, Subcommand)]
pub enum RemindersCmd {
    /// Xem lịch nhắc của một đợt / show a campaign's reminders.
    Show {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        campaign: String,
    },
    /// Đặt số giờ trước khi hết hạn để nhắc / set the hours before the close to remind at.
    Set {
        /// Mã đợt lấy ý kiến / the campaign's slug.
        campaign: String,
        /// Số giờ trước hạn, ví dụ 48,6 / hours before the close, e.g. 48,6.
        #[arg(long, value_delimiter = ',', required_unless_present = "off")]
        hours: Vec<i64>,
        /// Tắt nhắc hạn / no reminders.
        #[arg(long, conflicts_with = "hours")]
        off: bool,
    },
}

/// `gopy broadcast …`; every command but `status` acts as the staff user named by `--as`.
#[derive(Debug, Subcommand)]
pub enum BroadcastCmd {
    /// Soạn thông báo (bản nháp) / write a draft.
    Create {
        /// Cán bộ soạn / the staff user writing it.
        #[arg(long = "as")]
        by: String,
        /// Nội dung / the text.
        #[arg(long)]
        text: String,
        /// Địa bàn nhận (lặp lại được) / a unit whose groups get it (repeatable).
        #[arg(long = "unit")]
        units: Vec<String>,
        /// Gồm cả địa bàn cấp dưới / include the sub-units' groups.
        #[arg(long)]
        subunits: bool,
        /// Nhóm được chọn (số thứ tự trong `groups list`) / a chosen group id (repeatable).
        #[arg(long = "group")]
        groups: Vec<i64>,
        /// Gửi cả tin nhắn riêng cho người dân đã đăng ký nhận thông báo (của các địa bàn trên,
        /// hoặc tất cả nếu không nêu địa bàn) / also send to residents who asked for notices.
        #[arg(long)]
        residents: bool,
        /// Đợt lấy ý kiến (mã) / the campaign it belongs to (slug).
        #[arg(long)]
        campaign: Option<String>,
        /// Tệp đính kèm: PDF, DOCX (≤ 10 MB), JPEG, PNG (≤ 5 MB) / a file to attach.
        #[arg(long)]
        attach: Option<std::path::PathBuf>,
        /// Nút «Góp ý ngay» mở hội thoại góp ý của địa bàn (mặc định: địa bàn nhận) / a button
        /// that opens the campaign dialog for a unit (default: the audience's unit).
        #[arg(long, num_args = 0..=1, default_missing_value = "", requires = "campaign")]
        button: Option<String>,
    },
    /// Đính kèm tệp, thay tệp cũ (thông báo đã duyệt phải duyệt lại) / attach a file,
    /// replacing any (an approved broadcast needs approval again).
    Attach {
        /// Broadcast id.
        id: i64,
        /// Tệp PDF, DOCX, JPEG hoặc PNG / the file.
        file: std::path::PathBuf,
        /// The staff user.
        #[arg(long = "as")]
        by: String,
    },
    /// Sửa nội dung (cần phê duyệt lại) / edit the text (needs approval again).
    Edit {
        /// Broadcast id.
        id: i64,
        /// The staff user.
        #[arg(long = "as")]
        by: String,
        /// The new text.
        #[arg(long)]
        text: String,
    },
    /// Trình phê duyệt / submit for approval.
    Submit {
        /// Broadcast id.
        id: i64,
        /// The staff user.
        #[arg(long = "as")]
        by: String,
    },
    /// Phê duyệt / approve (another staff user with the approver role).
    Approve {
        /// Broadcast id.
        id: i64,
        /// The staff user.
        #[arg(long = "as")]
        by: String,
    },
    /// Lên lịch gửi / schedule: now, at a time, or in daily windows (Vietnam time).
    Schedule {
        /// Broadcast id.
        id: i64,
        /// The staff user.
        #[arg(long = "as")]
        by: String,
        /// Thời điểm gửi / when, "2026-11-22 07:00".
        #[arg(long, conflicts_with = "window")]
        at: Option<String>,
        /// Khung giờ hằng ngày / a daily window, "07:00-09:00" (repeatable).
        #[arg(long)]
        window: Vec<String>,
    },
    /// Hủy / cancel; nothing more is sent.
    Cancel {
        /// Broadcast id.
        id: i64,
        /// The staff user.
        #[arg(long = "as")]
        by: String,
    },
    /// Xem trước nội dung từng kênh sẽ hiển thị / preview what each channel will show.
    Preview {
        /// Broadcast id.
        id: i64,
    },
    /// Tình trạng gửi / delivery status.
    Status {
        /// Broadcast id.
        id: i64,
    },
    /// Xác nhận đã đăng hộ vào nhóm / record that a lead posted an assisted delivery (when
    /// they confirmed by phone rather than in chat).
    Confirm {
        /// Số thông báo cần đăng hộ (in trong tin gửi người phụ trách) / the delivery number.
        delivery: i64,
    },
}

/// `gopy staff …`
#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Thêm cán bộ và in mã liên kết một lần / add a staff user and print a one-time link code.
    Add {
        /// Tên đăng nhập, duy nhất / unique name.
        #[arg(long)]
        name: String,
        /// Vai trò / role: admin, official, approver, unit_lead, moderator (repeat or comma-separate).
        #[arg(long = "role", required = true, value_delimiter = ',', value_parser = parse_role)]
        roles: Vec<Role>,
        /// Mã địa bàn phụ trách (mặc định: toàn bộ) / unit scope (default: everything).
        #[arg(long)]
        unit: Option<String>,
    },
    /// Liệt kê cán bộ / list staff users.
    List,
    /// Cấp mã liên kết mới / issue a new link code.
    LinkCode {
        /// The staff user's name.
        name: String,
    },
    /// Cấp mật khẩu một lần cho trang quản trị web / issue a new one-time console password
    /// (the old one stops working and every session of the user is closed).
    Password {
        /// The staff user's name.
        name: String,
    },
}

/// `gopy groups …`
#[derive(Debug, Subcommand)]
pub enum GroupsCmd {
    /// Liệt kê nhóm / list groups with their state and unit.
    List,
    /// Gắn nhóm với địa bàn / bind a group to a unit.
    #[command(allow_negative_numbers = true)]
    Bind {
        /// Số thứ tự trong `groups list`, hoặc mã nhóm Telegram (số âm) / id or Telegram chat id.
        chat: String,
        /// Mã địa bàn / unit code.
        unit: String,
    },
    /// Bỏ gắn nhóm / unbind a group.
    #[command(allow_negative_numbers = true)]
    Unbind {
        /// Số thứ tự trong `groups list`, hoặc mã nhóm Telegram (số âm) / id or Telegram chat id.
        chat: String,
    },
    /// Thêm nhóm đăng hộ: nhóm Zalo do người dân tự lập, bot không vào được; thông báo gửi cho
    /// người phụ trách đăng và xác nhận / add an assisted group (a residents' own group no bot
    /// can join): announcements go to its lead, who posts them and confirms.
    AddAssisted {
        /// Tên nhóm / the group's name, as the lead knows it.
        #[arg(long)]
        title: String,
        /// Mã địa bàn / unit code.
        #[arg(long)]
        unit: String,
        /// Cán bộ phụ trách đăng (đã liên kết Zalo hoặc Telegram) / the staff user who posts.
        #[arg(long)]
        lead: String,
        /// Nền tảng của nhóm / the group's platform.
        #[arg(long, default_value = "zalo", value_parser = ["zalo", "telegram"])]
        channel: String,
    },
}

/// Parses a role name for clap.
fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!(
            "vai trò không hợp lệ / unknown role: {s} ({})",
            names.join(", ")
        )
    })
}

/// Runs an announcement command.
pub async fn run(settings: &Settings, cmd: AnnounceCmd) -> anyhow::Result<ExitCode> {
    let store = match crate::startup::open_store(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Không mở được cơ sở dữ liệu / cannot open the database: {e:#}");
            return Ok(ExitCode::from(exit::UNAVAILABLE));
        }
    };
    match cmd {
        AnnounceCmd::Staff { command } => staff(&store, command).await,
        AnnounceCmd::Groups { command } => groups(&store, command).await,
        AnnounceCmd::Broadcast { command } => {
            broadcast(&store, command, settings.public_url.as_deref()).await
        }
        AnnounceCmd::Reminders { command } => reminders(&store, command).await,
    }
}

/// `gopy reminders …`
async fn reminders(store: &Arc<dyn Store>, cmd: RemindersCmd) -> anyhow::Result<ExitCode> {
    use super::reminders::{DEFAULT_HOURS, MAX_HOURS, due};
    let slug = match &cmd {
        RemindersCmd::Show { campaign } | RemindersCmd::Set { campaign, .. } => campaign.clone(),
    };
    let Some(c) = store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.slug == slug)
    else {
        return bad(&format!(
            "Không có đợt lấy ý kiến mã {slug} / no campaign {slug}"
        ));
    };
    match cmd {
        RemindersCmd::Set { hours, off, .. } => {
            let hours: Vec<i64> = if off { Vec::new() } else { hours };
            if let Some(h) = hours.iter().find(|h| !(1..=MAX_HOURS).contains(*h)) {
                return bad(&format!(
                    "Số giờ phải từ 1 đến {MAX_HOURS}, không phải {h} / hours must be between 1 and {MAX_HOURS}, not {h}"
                ));
            }
            store
                .set_reminder_hours(c.id, &hours, &actor(), Utc::now())
                .await?;
        }
        RemindersCmd::Show { .. } => {}
    }
    let set = store.reminder_hours(c.id).await?;
    let hours = set.clone().unwrap_or_else(|| DEFAULT_HOURS.to_vec());
    let list = if hours.is_empty() {
        "không nhắc / none".to_owned()
    } else {
        hours
            .iter()
            .map(|h| format!("{h} giờ / hours"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Đợt / campaign {}: nhắc trước khi hết hạn / reminds before the close: {list}{}",
        c.slug,
        if set.is_none() {
            " (mặc định / default)"
        } else {
            ""
        }
    );
    if let Some(p) = c.phase(crate::domain::PhaseKind::Collect) {
        let local = p.ends_at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
        println!(
            "Hạn góp ý / collection closes: {}",
            local.format("%H:%M %d/%m/%Y")
        );
        let now = Utc::now();
        let due_now = due(p.starts_at, p.ends_at, &hours, now);
        if !due_now.is_empty() {
            println!("Đến hạn nhắc / due now: {due_now:?} (gửi 07:00–21:00 / sent 07:00–21:00)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Who is acting, for the audit log: `cli:<os user>`.
pub fn actor() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("cli:{user}")
}

/// Says what was wrong with the request and gives exit code 65.
fn bad(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("{message}");
    Ok(ExitCode::from(exit::DATA))
}

/// `gopy staff …`
async fn staff(store: &Arc<dyn Store>, cmd: StaffCmd) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    match cmd {
        StaffCmd::Add { name, roles, unit } => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 64 {
                return bad("Tên phải có 1–64 ký tự / the name must be 1–64 characters");
            }
            let tree = UnitTree::new(store.unit_nodes().await?);
            let unit = match unit.as_deref() {
                None => None,
                Some(typed) => match tree.find(typed) {
                    Some(code) => Some(code.to_owned()),
                    None => {
                        return bad(&format!(
                            "Không có địa bàn mang mã `{typed}` / no unit with code `{typed}`"
                        ));
                    }
                },
            };
            let link = new_link_code(now);
            let new = NewStaff { name, roles, unit };
            let user = match store.add_staff(&new, &link, &actor(), now).await {
                Ok(u) => u,
                Err(StoreError::Conflict(_)) => {
                    return bad(&format!(
                        "Đã có cán bộ tên `{}` / a staff user named `{}` exists already",
                        new.name, new.name
                    ));
                }
                Err(e) => return Err(e).context("cannot store the staff user"),
            };
            print_link_code(&user.name, &link.code, link.expires_at);
            issue_password(store, &user).await?;
            Ok(ExitCode::SUCCESS)
        }
        StaffCmd::Password { name } => {
            let Some(user) = store.staff_by_name(&name).await? else {
                return bad(&format!(
                    "Không có cán bộ tên `{name}` / no staff user named `{name}`"
                ));
            };
            issue_password(store, &user).await?;
            Ok(ExitCode::SUCCESS)
        }
        StaffCmd::List => {
            let users = store.staff().await?;
            println!("id\ttên/name\tvai trò/roles\tđịa bàn/unit\tTelegram");
            for u in users {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                let linked = match u.linked_at {
                    Some(at) => format!("đã liên kết/linked {}", format_local(at)),
                    None => "chưa liên kết/not linked".to_owned(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.id,
                    u.name,
                    roles.join(","),
                    u.unit.as_deref().unwrap_or("*"),
                    linked
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StaffCmd::LinkCode { name } => {
            let Some(user) = store.staff_by_name(&name).await? else {
                return bad(&format!(
                    "Không có cán bộ tên `{name}` / no staff user named `{name}`"
                ));
            };
            let link = new_link_code(now);
            store.set_link_code(user.id, &link, &actor(), now).await?;
            print_link_code(&user.name, &link.code, link.expires_at);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Gives a staff user a new one-time password for the web console (argon2id-hashed; only
/// printed here, never stored or logged in clear), to be changed at first login. Audited.
async fn issue_password(
    store: &Arc<dyn Store>,
    user: &crate::store::announce::StaffUser,
) -> anyhow::Result<()> {
    let password = crate::console::auth::one_time_password();
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || crate::console::auth::hash_password(&to_hash))
        .await
        .context("hashing the password")??;
    let audit = crate::store::AuditEntry {
        at: Utc::now(),
        actor: actor(),
        action: "console.password_issue".to_owned(),
        detail: serde_json::json!({ "staff": user.id, "name": user.name }),
    };
    store
        .set_password(user.id, &hash, true, None, &audit)
        .await
        .context("cannot store the password")?;
    println!(
        "Mật khẩu một lần vào trang quản trị / one-time console password for {}: {password}\n\
         Đăng nhập tại / sign in at /console — phải đổi ngay lần đầu / must be changed at first login.",
        user.name
    );
    Ok(())
}

/// Prints a link code and how to use it.
fn print_link_code(name: &str, code: &str, expires: chrono::DateTime<Utc>) {
    println!(
        "Mã liên kết của {name} / link code for {name}: {code}\n\
         Gửi cho bot trong tin nhắn riêng / send to the bot in private chat: /link {code}\n\
         Hết hạn / expires: {}",
        format_local(expires)
    );
}

/// Finds the group named on the command line: a gopy id, or a Telegram chat id (negative).
async fn find_group(store: &Arc<dyn Store>, chat: &str) -> anyhow::Result<Option<ChatGroup>> {
    let chat = chat.trim();
    if chat.starts_with('-') {
        return Ok(store.group_by_external(Channel::Telegram, chat).await?);
    }
    match chat.parse::<i64>() {
        Ok(id) => Ok(store.group(id).await?),
        Err(_) => Ok(None),
    }
}

/// `gopy groups …`
async fn groups(store: &Arc<dyn Store>, cmd: GroupsCmd) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    match cmd {
        GroupsCmd::List => {
            let groups = store.groups().await?;
            let staff = store.staff().await?;
            println!(
                "id\tkênh/channel\tmã nhóm/chat id\tloại/kind\ttrạng thái/state\tđịa bàn/unit\tbot\ttên/title"
            );
            for g in groups {
                if g.posting == crate::store::announce::Posting::Assisted {
                    let lead = staff
                        .iter()
                        .find(|s| Some(s.id) == g.lead)
                        .map_or("-", |s| s.name.as_str());
                    println!(
                        "{}\t{}\t-\tđăng hộ/assisted\t{}\t{}\tngười đăng/lead: {lead}\t{}",
                        g.id,
                        g.channel.as_str(),
                        g.state.as_str(),
                        g.unit.as_deref().unwrap_or("-"),
                        g.title
                    );
                    continue;
                }
                let mut rights = vec![g.bot_status.as_str()];
                if g.can_delete {
                    rights.push("can_delete");
                }
                if g.can_restrict {
                    rights.push("can_restrict");
                }
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    g.id,
                    g.channel.as_str(),
                    g.external_id,
                    g.kind.as_str(),
                    g.state.as_str(),
                    g.unit.as_deref().unwrap_or("-"),
                    rights.join(","),
                    g.title
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        GroupsCmd::Bind { chat, unit } => {
            let Some(group) = find_group(store, &chat).await? else {
                return bad(&format!("Không có nhóm `{chat}` / no group `{chat}`"));
            };
            let tree = UnitTree::new(store.unit_nodes().await?);
            let Some(code) = tree.find(&unit).map(str::to_owned) else {
                return bad(&format!(
                    "Không có địa bàn mang mã `{unit}` / no unit with code `{unit}`"
                ));
            };
            let Some(g) = store
                .bind_group(group.id, Some(&code), &actor(), None, now)
                .await?
            else {
                return bad(&format!("Không có nhóm `{chat}` / no group `{chat}`"));
            };
            println!(
                "Đã gắn nhóm «{}» với {} ({code}) / group bound to {code}; trạng thái / state: {}",
                g.title,
                tree.name(&code).unwrap_or(&code),
                g.state.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        GroupsCmd::AddAssisted {
            title,
            unit,
            lead,
            channel,
        } => {
            let title: String = title.trim().nfc().collect();
            if title.is_empty() || title.chars().count() > 128 {
                return bad("Tên nhóm phải có 1–128 ký tự / the title must be 1–128 characters");
            }
            let tree = UnitTree::new(store.unit_nodes().await?);
            let Some(code) = tree.find(&unit).map(str::to_owned) else {
                return bad(&format!(
                    "Không có địa bàn mang mã `{unit}` / no unit with code `{unit}`"
                ));
            };
            let Some(lead) = store.staff_by_name(lead.trim()).await? else {
                return bad(&format!(
                    "Không có cán bộ `{lead}` / no staff user `{lead}`"
                ));
            };
            if lead.zalo_user_id.is_none() && lead.telegram_user_id.is_none() {
                eprintln!(
                    "Lưu ý: {} chưa liên kết Zalo hay Telegram; thông báo sẽ không gửi được cho đến khi liên kết (/link MÃ) / note: {} has linked no chat account yet",
                    lead.name, lead.name
                );
            }
            let channel = if channel == "telegram" {
                crate::domain::Channel::Telegram
            } else {
                crate::domain::Channel::Zalo
            };
            let new = crate::store::announce::NewAssistedGroup {
                channel,
                title,
                unit: code.clone(),
                lead: lead.id,
            };
            let g = store.add_assisted_group(&new, &actor(), now).await?;
            println!(
                "Đã thêm nhóm đăng hộ «{}» (số {}) thuộc {} ({code}); người đăng / lead: {} / assisted group added",
                g.title,
                g.id,
                tree.name(&code).unwrap_or(&code),
                lead.name
            );
            Ok(ExitCode::SUCCESS)
        }
        GroupsCmd::Unbind { chat } => {
            let Some(group) = find_group(store, &chat).await? else {
                return bad(&format!("Không có nhóm `{chat}` / no group `{chat}`"));
            };
            let Some(g) = store
                .bind_group(group.id, None, &actor(), None, now)
                .await?
            else {
                return bad(&format!("Không có nhóm `{chat}` / no group `{chat}`"));
            };
            println!(
                "Đã bỏ gắn nhóm «{}» / group unbound; trạng thái / state: {}",
                g.title,
                g.state.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `gopy broadcast …`
async fn broadcast(
    store: &Arc<dyn Store>,
    cmd: BroadcastCmd,
    public_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use super::broadcast::{Action, BroadcastError, act, parse_local, parse_window};
    let now = Utc::now();
    let done = match cmd {
        BroadcastCmd::Create {
            by,
            text,
            units,
            subunits,
            groups,
            residents,
            campaign,
            attach,
            button,
        } => {
            let audience = Audience {
                units,
                subunits,
                groups,
                residents,
            };
            let campaign_id = match campaign {
                None => None,
                Some(slug) => match store
                    .campaign_summaries()
                    .await?
                    .iter()
                    .find(|c| c.slug == slug)
                {
                    Some(c) => Some(c.id),
                    None => {
                        return bad(&format!("Không có đợt `{slug}` / no campaign `{slug}`"));
                    }
                },
            };
            let attachment = match attach {
                None => None,
                Some(path) => match read_attachment(&path) {
                    Ok(a) => Some(a),
                    Err(code) => return Ok(code),
                },
            };
            let extras = super::broadcast::Extras {
                attachment,
                button: button.map(|u| Some(u).filter(|u| !u.trim().is_empty())),
            };
            super::broadcast::create_with(store, &by, &text, audience, campaign_id, extras, now)
                .await
        }
        BroadcastCmd::Attach { id, file, by } => {
            let a = match read_attachment(&file) {
                Ok(a) => a,
                Err(code) => return Ok(code),
            };
            act(store, id, &by, Action::Attach(Box::new(a)), now).await
        }
        BroadcastCmd::Edit { id, by, text } => act(store, id, &by, Action::Edit(text), now).await,
        BroadcastCmd::Submit { id, by } => act(store, id, &by, Action::Submit, now).await,
        BroadcastCmd::Approve { id, by } => act(store, id, &by, Action::Approve, now).await,
        BroadcastCmd::Cancel { id, by } => act(store, id, &by, Action::Cancel, now).await,
        BroadcastCmd::Schedule { id, by, at, window } => {
            let schedule = if let Some(at) = at {
                match parse_local(&at) {
                    Some(at) => Schedule::At { at },
                    None => {
                        return bad(&format!("Thời điểm không đọc được / unreadable time: {at}"));
                    }
                }
            } else if window.is_empty() {
                Schedule::Now
            } else {
                let mut windows = Vec::new();
                for w in &window {
                    match parse_window(w) {
                        Some(pair) => windows.push(pair),
                        None => {
                            return bad(&format!(
                                "Khung giờ không đọc được / unreadable window: {w} (07:00-09:00)"
                            ));
                        }
                    }
                }
                Schedule::Windows { windows }
            };
            act(store, id, &by, Action::Schedule(schedule), now).await
        }
        BroadcastCmd::Status { id } => return status(store, id).await,
        BroadcastCmd::Confirm { delivery } => return confirm(store, delivery).await,
        BroadcastCmd::Preview { id } => return preview(store, id, public_url).await,
    };
    match done {
        Ok(b) => {
            println!(
                "Thông báo / broadcast {}: {} (phiên bản / revision {})",
                b.id,
                b.state.as_str(),
                b.revision
            );
            if b.state == crate::store::announce::BroadcastState::Scheduled {
                let counts = store.delivery_counts(b.id).await?;
                println!("Số nơi nhận / targets: {}", counts.pending + counts.sent);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(BroadcastError::Store(e)) => Err(e).context("cannot store the broadcast"),
        Err(e) => bad(&e.to_string()),
    }
}

/// Reads and checks a file to attach; a refusal is printed (exit code 65).
fn read_attachment(path: &std::path::Path) -> Result<crate::store::announce::Attachment, ExitCode> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "Không đọc được tệp / cannot read the file {}: {e}",
                path.display()
            );
            return Err(ExitCode::from(exit::NOINPUT));
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().nfc().collect::<String>())
        .unwrap_or_default();
    super::attachment::check(&name, bytes).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(exit::DATA)
    })
}

/// `gopy broadcast confirm DELIVERY`
async fn confirm(store: &Arc<dyn Store>, delivery: i64) -> anyhow::Result<ExitCode> {
    use crate::store::announce::ConfirmOutcome;
    match store
        .confirm_assisted(delivery, None, &actor(), Utc::now())
        .await?
    {
        ConfirmOutcome::Confirmed(group) => {
            println!("Đã ghi nhận đăng vào nhóm «{group}» / recorded as posted in “{group}”");
            Ok(ExitCode::SUCCESS)
        }
        ConfirmOutcome::Already(group) => {
            println!(
                "Đã ghi nhận trước đó: nhóm «{group}» / already recorded as posted in “{group}”"
            );
            Ok(ExitCode::SUCCESS)
        }
        ConfirmOutcome::Unknown | ConfirmOutcome::NotYours => bad(&format!(
            "Không có thông báo đăng hộ số {delivery} đã gửi cho người phụ trách / no assisted delivery {delivery} sent to a lead"
        )),
    }
}

/// `gopy broadcast status ID`
async fn status(store: &Arc<dyn Store>, id: i64) -> anyhow::Result<ExitCode> {
    let Some(b) = store.broadcast(id).await? else {
        return bad(&format!("Không có thông báo số {id} / no broadcast {id}"));
    };
    let c = store.delivery_counts(id).await?;
    println!("Thông báo / broadcast {id}: {}", b.state.as_str());
    println!(
        "đã gửi / sent: {}\tđang chờ / pending: {}\tlỗi / failed: {}\tđã hủy / cancelled: {}",
        c.sent, c.pending, c.failed, c.cancelled
    );
    if c.awaiting_confirmation > 0 {
        println!(
            "  trong đó chờ người phụ trách xác nhận đã đăng / of the sent, awaiting the lead's confirmation: {}",
            c.awaiting_confirmation
        );
    }
    for (reason, n) in &c.reasons {
        println!("  lỗi / failed ({n}): {reason}");
    }
    let report = store.delivery_report(id).await?;
    if !report.is_empty() {
        println!("Theo địa bàn / per unit:");
        for (unit, state, n) in report {
            println!("  {unit}\t{state}\t{n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `gopy broadcast preview ID`: the text exactly as it is sent (plain text: nothing in it is
/// read as markup), and its length against each channel's limit.
async fn preview(
    store: &Arc<dyn Store>,
    id: i64,
    public_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use super::broadcast::{CAPTION_CHARS, CHANNEL_LIMITS, zalo_text};
    let Some(b) = store.broadcast(id).await? else {
        return bad(&format!("Không có thông báo số {id} / no broadcast {id}"));
    };
    let file = store.broadcast_attachment(id).await?;
    let slug = match b.campaign_id {
        Some(c) => store
            .campaign_summaries()
            .await?
            .into_iter()
            .find(|s| s.id == c)
            .map(|s| s.slug),
        None => None,
    };
    let button = slug
        .zip(b.button_unit.clone())
        .map(|(campaign, unit)| crate::store::announce::DeepLink { campaign, unit });
    let n = b.text.chars().count();
    println!("----- Telegram -----\n{}\n--------------------", b.text);
    if let Some(a) = &file {
        let kind = if a.is_image() {
            "ảnh / photo"
        } else {
            "tài liệu / document"
        };
        println!(
            "Tệp đính kèm / attachment: {} ({kind}, {} KB)",
            a.file_name,
            a.bytes.len().div_ceil(1024)
        );
    }
    if let Some(d) = &button {
        println!(
            "Nút «Góp ý ngay» / button: https://t.me/<bot>?start={}",
            d.payload()
        );
    }
    for (channel, limit) in CHANNEL_LIMITS {
        if limit == CAPTION_CHARS && file.is_none() {
            continue;
        }
        let verdict = if n <= limit {
            "vừa / fits".to_owned()
        } else if limit == CAPTION_CHARS {
            "dài hơn chú thích: tệp gửi trước, nội dung gửi thành tin riêng / too long for a caption: the file goes first, the text as a message of its own".to_owned()
        } else {
            format!(
                "QUÁ {} ký tự / {} characters too long",
                n - limit,
                n - limit
            )
        };
        println!("{channel}: {n}/{limit} ký tự / characters — {verdict}");
    }
    let zalo = zalo_text(&b.text, file.as_ref(), public_url, button.as_ref());
    println!("----- Zalo -----\n{zalo}\n----------------");
    if file.is_some() && public_url.is_none() {
        println!(
            "Lưu ý: chưa đặt GOPY_PUBLIC_URL nên tệp không gửi được qua Zalo / note: GOPY_PUBLIC_URL is not set, so Zalo gets no file"
        );
    }
    Ok(ExitCode::SUCCESS)
}
