//! Staff and roles, and the audit log, for administrators: list the staff, add one (the page
//! shows their one-time password once; it is never stored in clear), issue a new one-time
//! password, and read the audit log, filtered by who or what.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::Console;
use super::auth;
use super::web::{Failure, Signed};
use crate::announce::access::{UnitTree, new_link_code};
use crate::campaign::export::neutralise;
use crate::domain::format_local;
use crate::store::announce::{NewStaff, Role, StaffUser};
use crate::store::{AuditEntry, StoreError};

/// Renders the staff page, optionally with a one-time password just issued.
async fn staff_page(
    console: &Console,
    signed: &Signed,
    issued: Option<(String, String)>,
    error: Option<&'static str>,
) -> Response {
    let result: Result<_, Failure> = async {
        let staff = console.store().staff().await?;
        let lines: Vec<_> = staff
            .iter()
            .map(|s| {
                context! {
                    id => s.id,
                    name => s.name.clone(),
                    roles => s.roles.iter().map(|r| format!("console-role-{}", r.as_str())).collect::<Vec<_>>(),
                    unit => s.unit.clone(),
                    linked => s.linked_at.map(format_local),
                }
            })
            .collect();
        Ok(context! {
            staff => lines,
            roles => Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            issued => issued.map(|(name, password)| context! { name => name, password => password }),
            error => error,
        })
    }
    .await;
    match result {
        Ok(page) => {
            let mut res = console.page(&signed.ctx, Some(&signed.session), "staff.html", page);
            if error.is_some() {
                *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            }
            res
        }
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// `GET /console/staff`
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    staff_page(&console, &signed, None, None).await
}

/// The add form as posted: `name`, `unit`, `csrf`, and one `role` field per ticked box.
#[derive(Debug, Default)]
struct AddForm {
    csrf: String,
    name: String,
    roles: Vec<String>,
    unit: String,
}

impl AddForm {
    /// Reads the urlencoded body (repeated `role` fields are why this is not `Form<T>`).
    fn parse(body: &[u8]) -> Self {
        let mut f = AddForm::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "csrf" => f.csrf = v.into_owned(),
                "name" => f.name = v.into_owned(),
                "unit" => f.unit = v.into_owned(),
                "role" => f.roles.push(v.into_owned()),
                _ => {}
            }
        }
        f
    }
}

/// Roles from the ticked boxes; `None` when none or an unknown one.
fn roles_of(names: &[String]) -> Option<Vec<Role>> {
    let roles: Option<Vec<Role>> = names.iter().map(|r| Role::parse(r)).collect();
    roles.filter(|r| !r.is_empty())
}

/// Issues a one-time password for `user`, audited as the signed-in administrator.
async fn issue(console: &Console, signed: &Signed, user: &StaffUser) -> Result<String, Failure> {
    let password = auth::one_time_password();
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&to_hash))
        .await
        .map_err(|e| Failure::Internal(e.into()))?
        .map_err(Failure::Internal)?;
    let audit = signed.audit(
        "console.password_issue",
        console.now(),
        serde_json::json!({ "staff": user.id, "name": user.name }),
    );
    console
        .store()
        .set_password(user.id, &hash, true, None, &audit)
        .await?;
    Ok(password)
}

/// `POST /console/staff`
pub async fn add(
    State(console): State<Console>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Response {
    let f = AddForm::parse(&body);
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let name = f.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        return staff_page(&console, &signed, None, Some("console-staff-bad-name")).await;
    }
    let Some(roles) = roles_of(&f.roles) else {
        return staff_page(&console, &signed, None, Some("console-staff-bad-roles")).await;
    };
    let result: Result<Response, Failure> = async {
        let store = console.store();
        let tree = UnitTree::new(store.unit_nodes().await?);
        let unit = match f.unit.trim() {
            "" => None,
            typed => match tree.find(typed) {
                Some(code) => Some(code.to_owned()),
                None => {
                    return Ok(staff_page(
                        &console,
                        &signed,
                        None,
                        Some("console-broadcast-unknown-unit"),
                    )
                    .await);
                }
            },
        };
        let now = console.now();
        let new = NewStaff { name, roles, unit };
        let user = match store
            .add_staff(&new, &new_link_code(now), &signed.session.staff.name, now)
            .await
        {
            Ok(u) => u,
            Err(StoreError::Conflict(_)) => {
                return Ok(staff_page(&console, &signed, None, Some("console-staff-exists")).await);
            }
            Err(e) => return Err(e.into()),
        };
        let password = issue(&console, &signed, &user).await?;
        Ok(staff_page(&console, &signed, Some((user.name, password)), None).await)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/staff/{id}/password`: a new one-time password.
pub async fn reset(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<CsrfOnly>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let user = console
            .store()
            .staff()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(Failure::NotFound)?;
        let password = issue(&console, &signed, &user).await?;
        Ok(staff_page(&console, &signed, Some((user.name, password)), None).await)
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `?actor=…&action=…`
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

/// How many audit lines are read for the page.
const AUDIT_PAGE: i64 = 1000;

/// How many audit lines an export holds at most.
const AUDIT_EXPORT: i64 = 100_000;

/// Whether an audit line passes the page's filters.
fn passes(e: &AuditEntry, q: &AuditQuery) -> bool {
    (q.actor.is_empty() || e.actor == q.actor.trim())
        && (q.action.is_empty() || e.action.starts_with(q.action.trim()))
}

/// The audit lines as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
/// Vietnamese right), Vietnam time.
pub fn audit_csv(entries: &[AuditEntry]) -> anyhow::Result<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "Thời gian / time",
            "Người thực hiện / actor",
            "Thao tác / action",
            "Chi tiết / detail",
        ])?;
        for e in entries {
            // A staff name like `=HYPERLINK(…)` must stay text in a spreadsheet.
            let record = [
                format_local(e.at),
                e.actor.clone(),
                e.action.clone(),
                e.detail.to_string(),
            ];
            w.write_record(record.iter().map(|c| neutralise(c)))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// `GET /console/audit.csv`: the filtered audit log as a file; the export is audited too.
pub async fn audit_export(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<AuditQuery>,
) -> Response {
    let result: Result<Response, Failure> = async {
        let store = console.store();
        let entries: Vec<AuditEntry> = store
            .audit_log(AUDIT_EXPORT)
            .await?
            .into_iter()
            .filter(|e| passes(e, &q))
            .collect();
        let body = audit_csv(&entries).map_err(Failure::Internal)?;
        let entry = signed.audit(
            "audit.export",
            console.now(),
            serde_json::json!({ "actor": q.actor, "action": q.action, "lines": entries.len() }),
        );
        store.audit(&entry).await?;
        Ok((
            [
                ("content-type", "text/csv; charset=utf-8"),
                (
                    "content-disposition",
                    "attachment; filename=\"gopy-nhat-ky.csv\"",
                ),
            ],
            body,
        )
            .into_response())
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}

/// `GET /console/audit`
pub async fn audit(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<AuditQuery>,
) -> Response {
    match console.store().audit_log(AUDIT_PAGE).await {
        Ok(entries) => {
            let lines: Vec<_> = entries
                .into_iter()
                .filter(|e| passes(e, &q))
                .map(|e| {
                    context! {
                        at => format_local(e.at),
                        actor => e.actor,
                        action => e.action,
                        detail => e.detail.to_string(),
                    }
                })
                .collect();
            console.page(
                &signed.ctx,
                Some(&signed.session),
                "audit.html",
                context! { entries => lines, actor => q.actor, action => q.action },
            )
        }
        Err(e) => console.error_page(&signed.ctx, Some(&signed.session), e.into()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn audit_csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 20, 3, 0, 0)
            .single()
            .expect("date");
        let entries: Vec<AuditEntry> = [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "Lê Văn An",
        ]
        .iter()
        .map(|actor| AuditEntry {
            at,
            actor: (*actor).to_owned(),
            action: "staff.add".to_owned(),
            detail: serde_json::json!({ "name": actor }),
        })
        .collect();
        let csv = audit_csv(&entries).expect("csv");
        let text = String::from_utf8(csv).expect("utf-8");
        let mut rows = ::csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let actors: Vec<String> = rows
            .records()
            .map(|r| r.expect("row")[1].to_owned())
            .collect();
        assert_eq!(
            actors,
            [
                "'=HYPERLINK(\"http://x\")",
                "'+1",
                "'-2",
                "'@SUM(A1)",
                "'\tx",
                "Lê Văn An"
            ]
        );
    }
}
