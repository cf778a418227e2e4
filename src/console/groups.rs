//! Units and groups in the console: the administrative tree, the chat groups the bot is in
//! with their state and the bot's rights there, and binding a group to a unit (or unbinding
//! it) under the same rule as `/bind` in a group (`announce::access::may_manage_group`).
//! The store audits each binding in the transaction that makes it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::Console;
use super::web::{Failure, Signed};
use crate::announce::access::{Refusal, UnitTree, in_scope, may_manage_group};
use crate::domain::format_local;
use crate::store::announce::UnitNode;

/// The tree as indented lines, roots first, children by code.
fn tree_lines(nodes: &[UnitNode]) -> Vec<(usize, String, String)> {
    fn walk(
        nodes: &[UnitNode],
        parent: Option<&str>,
        depth: usize,
        out: &mut Vec<(usize, String, String)>,
    ) {
        let mut children: Vec<&UnitNode> = nodes
            .iter()
            .filter(|n| n.parent.as_deref() == parent)
            .collect();
        children.sort_by(|a, b| a.code.cmp(&b.code));
        for n in children {
            out.push((depth, n.code.clone(), n.name.clone()));
            if depth < 16 {
                walk(nodes, Some(&n.code), depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(nodes, None, 0, &mut out);
    out
}

/// `GET /console/groups`
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    let result: Result<_, Failure> = async {
        let store = console.store();
        let nodes = store.unit_nodes().await?;
        let tree = UnitTree::new(nodes.clone());
        let staff = &signed.session.staff;
        let visible_units: Vec<_> = tree_lines(&nodes)
            .into_iter()
            .filter(|(_, code, _)| in_scope(staff, code, &tree))
            .map(|(depth, code, name)| context! { depth => depth, code => code, name => name })
            .collect();
        let groups: Vec<_> = store
            .groups()
            .await?
            .into_iter()
            .filter(|g| g.unit.as_deref().is_none_or(|u| in_scope(staff, u, &tree)))
            .map(|g| {
                context! {
                    id => g.id,
                    title => g.title,
                    channel => g.channel.as_str(),
                    state => g.state.as_str(),
                    unit => g.unit,
                    bot => g.bot_status.as_str(),
                    can_delete => g.can_delete,
                    can_restrict => g.can_restrict,
                    updated => format_local(g.updated_at),
                }
            })
            .collect();
        Ok(context! { units => visible_units, groups => groups })
    }
    .await;
    match result {
        Ok(page) => console.page(&signed.ctx, Some(&signed.session), "groups.html", page),
        Err(f) => console.error_page(&signed.ctx, Some(&signed.session), f),
    }
}

/// The binding form.
#[derive(Debug, Deserialize)]
pub struct BindForm {
    #[serde(default)]
    csrf: String,
    /// The unit code; empty unbinds.
    #[serde(default)]
    unit: String,
}

/// `POST /console/groups/{id}/bind`
pub async fn bind(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<BindForm>,
) -> Response {
    if !signed.csrf_ok(&f.csrf) {
        return console.error_page(&signed.ctx, Some(&signed.session), Failure::FormExpired);
    }
    let result: Result<Response, Failure> = async {
        let store = console.store();
        let group = store.group(id).await?.ok_or(Failure::NotFound)?;
        let tree = UnitTree::new(store.unit_nodes().await?);
        let staff = &signed.session.staff;
        let unit = match f.unit.trim() {
            "" => None,
            typed => Some(tree.find(typed).ok_or(Failure::NotFound)?.to_owned()),
        };
        for u in [group.unit.as_deref(), unit.as_deref()] {
            match may_manage_group(staff, u, &tree) {
                Ok(()) => {}
                Err(Refusal::Role) => return Err(Failure::Forbidden),
                Err(Refusal::Scope) => return Err(Failure::OutOfScope),
            }
        }
        let now = console.now();
        store
            .bind_group(id, unit.as_deref(), &staff.name, None, now)
            .await?
            .ok_or(Failure::NotFound)?;
        let entry = signed.audit(
            "console.request",
            now,
            serde_json::json!({ "action": "group.bind", "group": id, "unit": unit }),
        );
        if let Err(e) = store.audit(&entry).await {
            tracing::warn!(error = %e, "cannot write the console's audit line");
        }
        Ok(Redirect::to("/console/groups").into_response())
    }
    .await;
    result.unwrap_or_else(|f| console.error_page(&signed.ctx, Some(&signed.session), f))
}
