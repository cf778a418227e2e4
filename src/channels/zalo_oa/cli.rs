//! `gopy zalo-oa …`: re-authorising the OA (a new refresh token from
//! `ZALO_OA_REFRESH_TOKEN` replaces the stored one, audited) and its status (token version,
//! expiry, whether it is dead, events waiting in the inbox). No token is ever printed.

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::exit;
use crate::config::Settings;
use crate::service::system_clock;
use crate::store::AuditEntry;

/// `gopy zalo-oa …`
#[derive(Debug, Subcommand)]
pub enum ZaloOaCmd {
    /// Lưu refresh token mới từ ZALO_OA_REFRESH_TOKEN (sau khi cấp quyền lại) / store the new
    /// refresh token from ZALO_OA_REFRESH_TOKEN (after re-authorising the app).
    ResetToken,
    /// Trạng thái token và hộp thư đến / the token's and the inbox's state.
    Status,
}

/// Runs `gopy zalo-oa …`.
pub async fn run(settings: &Settings, cmd: ZaloOaCmd) -> anyhow::Result<ExitCode> {
    let oa = &settings.zalo_oa;
    if !oa.enabled() {
        eprintln!(
            "Chưa cấu hình Zalo OA / the Zalo OA is not configured: set ZALO_OA_APP_ID, \
             ZALO_OA_APP_SECRET, ZALO_OA_SECRET_KEY and GOPY_SECRET_KEY"
        );
        return Ok(ExitCode::from(exit::CONFIG));
    }
    let store = crate::startup::open_store(settings).await?;
    let Some(tokens) = super::tokens(store.clone(), oa, system_clock())? else {
        return Ok(ExitCode::from(exit::CONFIG));
    };
    match cmd {
        ZaloOaCmd::ResetToken => {
            let Some(token) = oa.refresh_token.as_deref() else {
                eprintln!(
                    "Thiếu ZALO_OA_REFRESH_TOKEN / ZALO_OA_REFRESH_TOKEN is not set: put the new \
                     refresh token there first"
                );
                return Ok(ExitCode::from(exit::CONFIG));
            };
            tokens.reset(token).await?;
            let actor = std::env::var("USER")
                .map(|u| format!("cli:{u}"))
                .unwrap_or_else(|_| "cli".to_owned());
            store
                .audit(&AuditEntry {
                    at: chrono::Utc::now(),
                    actor,
                    action: "zalo_oa.reset_token".to_owned(),
                    detail: serde_json::json!({"app_id": oa.app_id}),
                })
                .await?;
            println!(
                "Đã lưu refresh token mới (mã hoá); gopy sẽ làm mới access token ở lần dùng tới. / \
                 The new refresh token is stored (encrypted); gopy refreshes the access token \
                 when it next needs it."
            );
            Ok(ExitCode::SUCCESS)
        }
        ZaloOaCmd::Status => {
            match tokens.stored().await? {
                None => println!(
                    "Chưa có token / no token stored: set ZALO_OA_REFRESH_TOKEN and start gopy \
                     (or run `gopy zalo-oa reset-token`)"
                ),
                Some(t) => {
                    println!("app_id: {}", t.app_id);
                    println!("version: {}", t.version);
                    match t.access_expires_at {
                        Some(at) => println!("access token expires at: {at}"),
                        None => println!("access token: none yet"),
                    }
                    match (t.dead_at, t.dead_reason) {
                        (Some(at), reason) => {
                            println!(
                                "refresh token: DEAD since {at} ({})",
                                reason.unwrap_or_default()
                            );
                            println!("{}", super::REAUTHORISE);
                        }
                        (None, _) => println!("refresh token: ok"),
                    }
                }
            }
            println!(
                "inbox pending: {}",
                store.inbox_pending(super::INBOX_SOURCE).await?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
