//! The anonymous export of a campaign's opinions, as CSV (UTF-8 with a byte-order mark, so
//! Excel shows Vietnamese correctly) and JSON. Pure formatting: no store, no files.
//!
//! Nothing that identifies a resident is exported: no contact id, name, platform id or
//! receipt code. Withdrawn opinions are left out. So are opinions moderation holds back
//! ([`moderated`]): those pending review until a moderator keeps them, and those a moderator
//! hid, which the JSON export counts as excluded, each with its reason.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::domain::{Campaign, Opinion, OpinionStatus, TZ};

/// The schema name in every JSON export; bump the number when a field changes meaning.
pub const JSON_SCHEMA: &str = "gopy.opinions/1";

/// The byte-order mark that opens the CSV.
pub const BOM: &str = "\u{feff}";

/// The CSV header, Vietnamese, in column order.
pub const CSV_HEADER: [&str; 14] = [
    "Mã ý kiến",
    "Mã nội dung",
    "Nội dung xin ý kiến",
    "Mục dự thảo",
    "Mã địa bàn",
    "Địa bàn",
    "Đối tượng",
    "Kênh",
    "Nguồn",
    "Trạng thái",
    "Ý kiến",
    "Thời gian góp ý",
    "Thời gian sửa",
    "Ẩn danh",
];

/// One exported opinion: what an official needs, nothing that identifies the resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The opinion's short reference within the campaign.
    pub reference: String,
    /// Topic code.
    pub topic: String,
    /// Topic title, so the export reads on its own.
    pub topic_title: String,
    /// Section reference, if any.
    pub section: Option<String>,
    /// Unit code, if the resident chose one.
    pub unit: Option<String>,
    /// Unit name.
    pub unit_name: Option<String>,
    /// Target group code, if given.
    pub target_group: Option<String>,
    /// Channel it came through.
    pub channel: &'static str,
    /// Where it came from (chat, web, meeting, import).
    pub source: &'static str,
    /// `draft` or `submitted` (withdrawn opinions are not exported).
    pub status: &'static str,
    /// The text.
    pub text: String,
    /// When it was given (written in Vietnam time).
    #[serde(serialize_with = "ser_local")]
    pub created_at: DateTime<Utc>,
    /// When it was last changed (written in Vietnam time).
    #[serde(serialize_with = "ser_local_opt")]
    pub edited_at: Option<DateTime<Utc>>,
    /// Whether the resident chose to give it anonymously.
    pub anonymous: bool,
}

/// The campaign as described at the head of a JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignHead {
    /// Database id.
    pub id: i64,
    /// Slug.
    pub slug: String,
    /// Issuing body.
    pub issuer: String,
    /// Title of the consultation.
    pub title: String,
    /// Title of the draft.
    pub document_title: String,
}

/// A whole JSON export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonExport {
    /// Always [`JSON_SCHEMA`].
    pub schema: &'static str,
    /// When the export was made, RFC 3339 in Vietnam time.
    pub exported_at: String,
    /// Which campaign.
    pub campaign: CampaignHead,
    /// The opinions, oldest first.
    pub opinions: Vec<Row>,
    /// What moderation held back (absent when nothing was).
    #[serde(skip_serializing_if = "ModerationSummary::is_empty")]
    pub moderation: ModerationSummary,
}

/// What moderation held back from an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModerationSummary {
    /// Opinions pending review: stored, neither exported nor counted until a moderator keeps
    /// them.
    pub pending_review: usize,
    /// Opinions a moderator hid: not exported, counted as excluded with the reason.
    pub excluded: Vec<Excluded>,
}

impl ModerationSummary {
    /// Whether moderation held nothing back.
    pub fn is_empty(&self) -> bool {
        self.pending_review == 0 && self.excluded.is_empty()
    }
}

/// An opinion a moderator hid, as the export counts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Excluded {
    /// The opinion's reference.
    pub reference: String,
    /// The moderator's reason.
    pub reason: String,
}

/// Splits a campaign's opinions by moderation: those that count (never flagged, or kept by
/// a moderator), and what is held back (pending review; hidden, with the reason). Withdrawn
/// opinions are left to [`rows`], which leaves them out.
pub fn moderated(
    opinions: Vec<Opinion>,
    moderation: &[crate::moderation::OpinionModeration],
) -> (Vec<Opinion>, ModerationSummary) {
    use crate::moderation::OpinionState;
    let state: std::collections::HashMap<i64, &crate::moderation::OpinionModeration> =
        moderation.iter().map(|m| (m.opinion_id, m)).collect();
    let mut summary = ModerationSummary::default();
    let mut counted = Vec::with_capacity(opinions.len());
    for o in opinions {
        match state.get(&o.id) {
            Some(m) if o.status != OpinionStatus::Withdrawn => match m.state {
                OpinionState::Kept => counted.push(o),
                OpinionState::Pending => summary.pending_review += 1,
                OpinionState::Hidden => summary.excluded.push(Excluded {
                    reference: o.reference,
                    reason: m.reason.clone().unwrap_or_default(),
                }),
            },
            _ => counted.push(o),
        }
    }
    (counted, summary)
}

/// RFC 3339 in Vietnam time (`2025-07-14T09:30:00+07:00`).
fn rfc3339_local(at: DateTime<Utc>) -> String {
    at.with_timezone(&TZ)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Serialises a time as RFC 3339 in Vietnam time.
fn ser_local<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_local(*at))
}

/// Serialises an optional time as RFC 3339 in Vietnam time, or `null`.
fn ser_local_opt<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&rfc3339_local(*at)),
        None => s.serialize_none(),
    }
}

/// A time as a spreadsheet reads it: `2025-07-14 09:30:00`, Vietnam time.
fn sheet_local(at: DateTime<Utc>) -> String {
    at.with_timezone(&TZ)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The exported rows: every opinion that is not withdrawn, oldest first, with titles and
/// names looked up in the campaign.
pub fn rows(campaign: &Campaign, opinions: &[Opinion]) -> Vec<Row> {
    let mut kept: Vec<&Opinion> = opinions
        .iter()
        .filter(|o| o.status != OpinionStatus::Withdrawn)
        .collect();
    kept.sort_by_key(|o| (o.created_at, o.id));
    kept.into_iter()
        .map(|o| Row {
            reference: o.reference.clone(),
            topic: o.topic.clone(),
            topic_title: campaign
                .topic(&o.topic)
                .map(|t| t.title.clone())
                .unwrap_or_default(),
            section: o.section.clone(),
            unit: o.unit.clone(),
            unit_name: o
                .unit
                .as_deref()
                .and_then(|u| campaign.unit(u))
                .map(|u| u.name.clone()),
            target_group: o.target_group.clone(),
            channel: o.channel.as_str(),
            source: o.source.as_str(),
            status: o.status.as_str(),
            text: o.text.clone(),
            created_at: o.created_at,
            edited_at: o.edited_at,
            anonymous: o.anonymous,
        })
        .collect()
}

/// A cell that a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`, `@`
/// (or a tab or carriage return, which some spreadsheets skip before looking) gets a leading
/// apostrophe.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The CSV export: a byte-order mark, the Vietnamese header, one line per opinion, times in
/// Vietnam time as a spreadsheet reads them.
pub fn csv(campaign: &Campaign, opinions: &[Opinion]) -> anyhow::Result<Vec<u8>> {
    let mut out = BOM.as_bytes().to_vec();
    {
        let mut w = ::csv::Writer::from_writer(&mut out);
        w.write_record(CSV_HEADER)?;
        for r in rows(campaign, opinions) {
            let opt = |v: Option<String>| v.unwrap_or_default();
            let record = [
                r.reference,
                r.topic,
                r.topic_title,
                opt(r.section),
                opt(r.unit),
                opt(r.unit_name),
                opt(r.target_group),
                r.channel.to_owned(),
                r.source.to_owned(),
                r.status.to_owned(),
                r.text,
                sheet_local(r.created_at),
                r.edited_at.map(sheet_local).unwrap_or_default(),
                if r.anonymous { "có" } else { "không" }.to_owned(),
            ];
            w.write_record(record.iter().map(|c| neutralise(c)))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// The JSON export, `{"schema": "gopy.opinions/1", "campaign": {…}, "opinions": […]}`.
pub fn json(
    campaign: &Campaign,
    opinions: &[Opinion],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    json_moderated(campaign, opinions, now, ModerationSummary::default())
}

/// The JSON export of the opinions that count, with what moderation held back
/// (`"moderation": {"pending_review": n, "excluded": [{"reference", "reason"}]}`).
pub fn json_moderated(
    campaign: &Campaign,
    opinions: &[Opinion],
    now: DateTime<Utc>,
    moderation: ModerationSummary,
) -> anyhow::Result<Vec<u8>> {
    let export = JsonExport {
        schema: JSON_SCHEMA,
        exported_at: rfc3339_local(now),
        campaign: CampaignHead {
            id: campaign.id,
            slug: campaign.slug.clone(),
            issuer: campaign.issuer.clone(),
            title: campaign.title.clone(),
            document_title: campaign.document_title.clone(),
        },
        opinions: rows(campaign, opinions),
        moderation,
    };
    let mut out = serde_json::to_vec_pretty(&export)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, OpinionSource};

    /// An opinion of the demo campaign with the given text and status.
    fn opinion(id: i64, text: &str, status: OpinionStatus) -> Opinion {
        let at = DateTime::parse_from_rfc3339("2025-07-14T02:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Opinion {
            id,
            reference: format!("R{id:05}"),
            campaign_id: 1,
            contact_id: Some(4242),
            topic: "do-thi".to_owned(),
            section: Some("II.2".to_owned()),
            unit: Some("tdp-2".to_owned()),
            target_group: Some("veteran".to_owned()),
            channel: Channel::Telegram,
            source: OpinionSource::Chat,
            anonymous: false,
            text: text.to_owned(),
            status,
            receipt: Some("GY-SECRET".to_owned()),
            created_at: at + chrono::Duration::minutes(id),
            edited_at: (id == 2).then_some(at + chrono::Duration::hours(5)),
            withdrawn_at: None,
        }
    }

    /// The demo campaign with id 1, and three opinions of which one is withdrawn.
    fn sample() -> (Campaign, Vec<Opinion>) {
        let mut c = crate::campaign::parse(crate::campaign::DEMO_TOML).unwrap();
        c.id = 1;
        let ops = vec![
            opinion(2, "=HYPERLINK(\"http://x\")", OpinionStatus::Draft),
            opinion(
                1,
                "Cần nạo vét cống ở ngõ 5, mưa là ngập.",
                OpinionStatus::Submitted,
            ),
            opinion(3, "Rút lại", OpinionStatus::Withdrawn),
        ];
        (c, ops)
    }

    #[test]
    fn formula_cells_get_a_leading_apostrophe() {
        for bad in ["=1+1", "+84", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        assert_eq!(neutralise("Đường 3/2"), "Đường 3/2");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn csv_opens_with_a_bom_and_a_vietnamese_header_and_leaves_out_withdrawn_opinions() {
        let (c, ops) = sample();
        let bytes = csv(&c, &ops).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("\u{feff}Mã ý kiến,Mã nội dung,"), "{text}");
        let mut reader = ::csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let records: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2, "the withdrawn opinion is not exported");
        let first = &records[0];
        assert_eq!(&first[0], "R00001", "oldest first");
        assert_eq!(&first[2], "Đô thị văn minh, môi trường, đời sống");
        assert_eq!(&first[5], "Tổ dân phố 2");
        assert_eq!(&first[10], "Cần nạo vét cống ở ngõ 5, mưa là ngập.");
        assert_eq!(&first[11], "2025-07-14 09:31:00", "Vietnam time");
        assert_eq!(&first[12], "");
        let second = &records[1];
        assert_eq!(&second[10], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&second[9], "draft");
        assert_eq!(&second[12], "2025-07-14 14:30:00");
        assert!(
            !text.contains("4242") && !text.contains("GY-SECRET"),
            "{text}"
        );
    }

    #[test]
    fn json_names_its_schema_and_holds_nothing_that_identifies_a_resident() {
        let (c, ops) = sample();
        let now = DateTime::parse_from_rfc3339("2025-07-21T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let bytes = json(&c, &ops, now).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["schema"], "gopy.opinions/1");
        assert_eq!(v["exported_at"], "2025-07-21T08:00:00+07:00");
        assert_eq!(v["campaign"]["slug"], c.slug);
        let opinions = v["opinions"].as_array().unwrap();
        assert_eq!(opinions.len(), 2);
        assert_eq!(opinions[0]["created_at"], "2025-07-14T09:31:00+07:00");
        assert_eq!(opinions[0]["edited_at"], serde_json::Value::Null);
        assert_eq!(opinions[0]["unit_name"], "Tổ dân phố 2");
        assert_eq!(
            opinions[1]["text"], "=HYPERLINK(\"http://x\")",
            "JSON keeps text as is"
        );
        let text = String::from_utf8(bytes).unwrap();
        for secret in ["4242", "GY-SECRET", "contact", "receipt"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn opinions_pending_review_wait_hidden_ones_are_excluded_with_reason_kept_ones_count() {
        use crate::moderation::{OpinionModeration, OpinionState};
        let (c, mut ops) = sample();
        ops.push(opinion(4, "đm", OpinionStatus::Submitted));
        ops.push(opinion(
            5,
            "Đường xấu quá, đề nghị sửa",
            OpinionStatus::Submitted,
        ));
        let state = |id, state, reason: Option<&str>| OpinionModeration {
            opinion_id: id,
            state,
            reason: reason.map(str::to_owned),
        };
        let moderation = [
            state(1, OpinionState::Kept, Some("giữ lại")),
            state(4, OpinionState::Hidden, Some("lăng mạ, tục tĩu")),
            state(5, OpinionState::Pending, None),
            // A withdrawn opinion is simply not exported, whatever moderation said.
            state(3, OpinionState::Hidden, Some("x")),
        ];
        let (counted, held) = moderated(ops, &moderation);
        let refs: Vec<&str> = counted.iter().map(|o| o.reference.as_str()).collect();
        assert_eq!(refs, ["R00002", "R00001", "R00003"]);
        assert_eq!(held.pending_review, 1);
        assert_eq!(
            held.excluded,
            [Excluded {
                reference: "R00004".to_owned(),
                reason: "lăng mạ, tục tĩu".to_owned()
            }]
        );
        let now = Utc::now();
        let v: serde_json::Value =
            serde_json::from_slice(&json_moderated(&c, &counted, now, held).unwrap()).unwrap();
        assert_eq!(v["opinions"].as_array().unwrap().len(), 2);
        assert_eq!(v["moderation"]["pending_review"], 1);
        assert_eq!(v["moderation"]["excluded"][0]["reason"], "lăng mạ, tục tĩu");
        let plain: serde_json::Value =
            serde_json::from_slice(&json(&c, &counted, now).unwrap()).unwrap();
        assert!(
            plain.get("moderation").is_none(),
            "nothing held back, no field"
        );
    }
}
