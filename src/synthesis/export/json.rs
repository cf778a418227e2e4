//! The JSON export, schema `gopy.synthesis/1` (documented in `docs/synthesis-json.md`):
//!
//! ```text
//! { "schema": "gopy.synthesis/1", "generated_at": "…+07:00", "named": false,
//!   "campaign": { "slug", "issuer", "title", "document_title" },
//!   "synthesis": { …the figures: topics, units, target_groups, sources, cross-tables,
//!                  days, exclusions… },
//!   "opinions": [ { "reference", "topic", "section", "unit", "target_group", "source",
//!                   "created_at", "stance", "group", "representative", "text"
//!                   [, "name", "contact" only when named] } … ] }
//! ```
//!
//! Opinions are written one by one as they stream in; a later version adds fields, never
//! renames or removes them (a consumer checks the major number of `schema`).

use std::io::Write;

use futures::TryStreamExt as _;
use serde::Serialize;

use super::{Input, Listed, Opinions};

/// The schema name and version written at the top of every JSON export.
pub const SCHEMA: &str = "gopy.synthesis/1";

/// The campaign as the JSON names it.
#[derive(Debug, Serialize)]
struct CampaignHead<'a> {
    slug: &'a str,
    issuer: &'a str,
    title: &'a str,
    document_title: &'a str,
}

/// One opinion in the JSON.
#[derive(Debug, Serialize)]
struct Row<'a> {
    reference: &'a str,
    topic: &'a str,
    section: Option<&'a str>,
    unit: Option<&'a str>,
    target_group: Option<&'a str>,
    source: &'a str,
    created_at: String,
    stance: Option<&'a str>,
    group: Option<i64>,
    representative: bool,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact: Option<&'a str>,
}

fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&crate::domain::TZ)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn row<'a>(input: &'a Input<'_>, o: &'a Listed) -> Row<'a> {
    let named = input.names.and_then(|n| n.get(&o.id));
    Row {
        reference: &o.reference,
        topic: &o.topic,
        section: o.section.as_deref(),
        unit: o.unit.as_deref(),
        target_group: o.target_group.as_deref(),
        source: &o.source,
        created_at: local(o.created_at),
        stance: o.stance.as_deref(),
        group: o.group,
        representative: o.representative,
        text: &o.text,
        name: input
            .names
            .map(|_| named.and_then(|n| n.0.as_deref()).unwrap_or("")),
        contact: input
            .names
            .map(|_| named.and_then(|n| n.1.as_deref()).unwrap_or("")),
    }
}

/// Writes the JSON to `out`; returns how many opinions it holds.
pub async fn write<W: Write>(
    input: &Input<'_>,
    mut opinions: Opinions<'_>,
    mut out: W,
) -> anyhow::Result<u64> {
    let c = input.campaign;
    let head = serde_json::json!({
        "schema": SCHEMA,
        "generated_at": local(input.generated_at),
        "named": input.names.is_some(),
        "campaign": CampaignHead {
            slug: &c.slug,
            issuer: &c.issuer,
            title: &c.title,
            document_title: &c.document_title,
        },
        "synthesis": input.synthesis,
    });
    // The head without its closing brace, then the opinions array streamed in.
    let head = serde_json::to_string(&head)?;
    let open = head.strip_suffix('}').unwrap_or(&head);
    out.write_all(open.as_bytes())?;
    out.write_all(b",\"opinions\":[")?;
    let mut n = 0u64;
    while let Some(o) = opinions.try_next().await? {
        if n > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"\n")?;
        serde_json::to_writer(&mut out, &row(input, &o))?;
        n += 1;
    }
    out.write_all(b"\n]}\n")?;
    out.flush()?;
    Ok(n)
}
