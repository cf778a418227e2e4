//! The import template and the row-by-row validation of the tables units send (CSV or
//! XLSX). Pure apart from reading the bytes given: a file becomes either every opinion it
//! holds, or every problem found, each with its row number as the spreadsheet shows it (the
//! header is row 1). Nothing is stored here; the caller stores all rows or none.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use unicode_normalization::UnicodeNormalization as _;

use super::{RecordedOpinion, Speaker, Stance};
use crate::dialog::Msg;
use crate::domain::{Campaign, MAX_OPINION_CHARS, TZ};

/// A column of the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// STT: the row's number in the sender's table (ignored).
    Number,
    /// Chủ đề: topic code or title (required).
    Topic,
    /// Mục dự thảo: section reference.
    Section,
    /// Đơn vị: unit code or name.
    Unit,
    /// Đối tượng: target group code.
    TargetGroup,
    /// Nội dung ý kiến: the text (required).
    Text,
    /// Ngày góp ý: dd/mm/yyyy or yyyy-mm-dd.
    Date,
    /// Quan điểm: stance.
    Stance,
    /// Họ và tên: the speaker's name (kept apart; only named exports show it).
    Name,
    /// Số điện thoại: the speaker's phone (kept apart likewise).
    Phone,
}

/// The template's columns in order: the Vietnamese header gopy writes, and the English
/// header it also accepts.
pub const TEMPLATE: [(Column, &str, &str); 10] = [
    (Column::Number, "STT", "no"),
    (Column::Topic, "Chủ đề", "topic"),
    (Column::Section, "Mục dự thảo", "section"),
    (Column::Unit, "Đơn vị", "unit"),
    (Column::TargetGroup, "Đối tượng", "target group"),
    (Column::Text, "Nội dung ý kiến", "opinion"),
    (Column::Date, "Ngày góp ý", "date"),
    (Column::Stance, "Quan điểm", "stance"),
    (Column::Name, "Họ và tên", "name"),
    (Column::Phone, "Số điện thoại", "phone"),
];

/// One problem in an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The spreadsheet row (1 = the header); `None` for the file as a whole.
    pub row: Option<usize>,
    /// What is wrong (a message of `locales/*/synthesis.ftl`).
    pub msg: Msg,
}

fn problem(row: Option<usize>, msg: Msg) -> Problem {
    Problem { row, msg }
}

/// Folds a header for comparison: accents, case, spaces and punctuation ignored.
fn header_key(h: &str) -> String {
    crate::text::fold(h)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The template as CSV (UTF-8 with BOM, so Excel shows the Vietnamese headers), with one
/// example row taken from the campaign.
pub fn template_csv(campaign: &Campaign) -> anyhow::Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(TEMPLATE.iter().map(|(_, vi, _)| *vi))?;
        w.write_record(example_row(campaign))?;
        w.flush()?;
    }
    Ok(out)
}

/// The template as an Excel workbook: the header and the example row on the first sheet
/// (filter on, header frozen), and a second sheet listing the campaign's topic, section,
/// unit and target group codes to copy from.
pub fn template_xlsx(campaign: &Campaign, path: &std::path::Path) -> anyhow::Result<()> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name("Ý kiến")?;
    for (i, (_, vi, _)) in TEMPLATE.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *vi, &bold)?;
        ws.set_column_width(i as u16, if i == 5 { 70 } else { 16 })?;
    }
    for (i, cell) in example_row(campaign).iter().enumerate() {
        ws.write_string(1, i as u16, cell)?;
    }
    ws.autofilter(0, 0, 1, (TEMPLATE.len() - 1) as u16)?;
    ws.set_freeze_panes(1, 0)?;
    let codes = book.add_worksheet();
    codes.set_name("Mã dùng trong bảng")?;
    codes.set_column_width(0, 20)?;
    codes.set_column_width(1, 20)?;
    codes.set_column_width(2, 60)?;
    let mut row = 0u32;
    let mut put = |kind: &str, code: &str, name: &str| -> anyhow::Result<()> {
        codes.write_string(row, 0, kind)?;
        codes.write_string(row, 1, code)?;
        codes.write_string(row, 2, name)?;
        row += 1;
        Ok(())
    };
    put("Loại", "Mã", "Tên")?;
    for t in &campaign.topics {
        put("Chủ đề", &t.code, &t.title)?;
    }
    for s in &campaign.sections {
        put("Mục dự thảo", &s.reference, &s.title)?;
    }
    for u in &campaign.units {
        put("Đơn vị", &u.code, &u.name)?;
    }
    for g in &campaign.target_groups {
        put(
            "Đối tượng",
            &g.code,
            &super::report::group_name(crate::domain::Locale::Vi, &g.code),
        )?;
    }
    for s in Stance::ALL {
        put(
            "Quan điểm",
            s.as_str(),
            &super::report::stance_name(crate::domain::Locale::Vi, s.as_str()),
        )?;
    }
    book.save(path)?;
    Ok(())
}

/// An example row for the template, using the campaign's first topic, unit and group.
pub fn example_row(campaign: &Campaign) -> Vec<String> {
    let topic = campaign.topics.first();
    vec![
        "1".to_owned(),
        topic.map(|t| t.code.clone()).unwrap_or_default(),
        topic
            .and_then(|t| t.sections.first().cloned())
            .unwrap_or_default(),
        campaign
            .units
            .get(1)
            .or(campaign.units.first())
            .map(|u| u.code.clone())
            .unwrap_or_default(),
        campaign
            .target_groups
            .first()
            .map(|g| g.code.clone())
            .unwrap_or_default(),
        "Đề nghị bổ sung kế hoạch nâng cấp tuyến đường liên tổ trong năm 2026.".to_owned(),
        "20/11/2026".to_owned(),
        "Đề nghị sửa đổi".to_owned(),
        String::new(),
        String::new(),
    ]
}

/// Reads a CSV file (UTF-8, with or without BOM; comma or semicolon) into rows of cells.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>, Problem> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text =
        std::str::from_utf8(bytes).map_err(|_| problem(None, Msg::new("syn-import-not-utf8")))?;
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            problem(
                Some(i + 1),
                Msg::new("syn-import-bad-csv").text("error", e.to_string()),
            )
        })?;
        rows.push(record.iter().map(str::to_owned).collect());
    }
    Ok(rows)
}

/// Reads the first sheet of an XLSX workbook into rows of cells (dates as dd/mm/yyyy).
pub fn read_xlsx(bytes: &[u8]) -> Result<Vec<Vec<String>>, Problem> {
    use calamine::{Data, Reader as _, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| {
        problem(
            None,
            Msg::new("syn-import-bad-xlsx").text("error", e.to_string()),
        )
    })?;
    let Some(Ok(range)) = book.worksheet_range_at(0) else {
        return Err(problem(None, Msg::new("syn-import-empty")));
    };
    // Rows as the spreadsheet numbers them, even when the used range starts lower.
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); first_row as usize];
    for row in range.rows() {
        rows.push(
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default(),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Error(e) => format!("#{e:?}"),
                })
                .collect(),
        );
    }
    Ok(rows)
}

/// Reads a date as officials write it: `20/11/2026`, `20-11-2026`, `2026-11-20`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// Noon of a Vietnamese calendar day, in UTC: the time given to opinions whose table gives
/// only the day (so every report puts them on that day).
pub fn noon(day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(12, 0, 0).unwrap_or_default();
    TZ.from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

/// Defaults a row takes when its cell is empty (from the meeting, or the command line).
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// Unit code.
    pub unit: Option<String>,
    /// Target group code.
    pub target_group: Option<String>,
    /// When the opinion was given.
    pub given_at: Option<DateTime<Utc>>,
}

/// Checks one opinion's fields against the campaign and returns it, or what is wrong with
/// it. Shared by the import and by `gopy opinions record`.
#[allow(clippy::too_many_arguments)]
pub fn check_fields(
    campaign: &Campaign,
    row: Option<usize>,
    topic: &str,
    section: &str,
    unit: &str,
    group: &str,
    text: &str,
    stance: &str,
    defaults: &Defaults,
    now: DateTime<Utc>,
) -> Result<RecordedOpinion, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut bad = |msg: Msg| problems.push(problem(row, msg));
    let text: String = text.trim().nfc().collect();
    if text.is_empty() {
        bad(Msg::new("syn-import-no-text"));
    } else if text.chars().count() > MAX_OPINION_CHARS {
        bad(Msg::new("syn-import-too-long").num("max", MAX_OPINION_CHARS as i64));
    }
    let topic_key = header_key(topic);
    let found_topic = campaign
        .topics
        .iter()
        .find(|t| t.code.eq_ignore_ascii_case(topic.trim()) || header_key(&t.title) == topic_key);
    if topic.trim().is_empty() {
        bad(Msg::new("syn-import-no-topic"));
    } else if found_topic.is_none() {
        bad(Msg::new("syn-import-unknown-topic")
            .text("value", topic.trim())
            .text(
                "known",
                join(campaign.topics.iter().map(|t| t.code.as_str())),
            ));
    }
    let section = section.trim();
    let found_section = if section.is_empty() {
        None
    } else {
        let s = campaign
            .sections
            .iter()
            .find(|s| s.reference.eq_ignore_ascii_case(section));
        if s.is_none() {
            bad(Msg::new("syn-import-unknown-section")
                .text("value", section)
                .text(
                    "known",
                    join(campaign.sections.iter().map(|s| s.reference.as_str())),
                ));
        }
        s.map(|s| s.reference.clone())
    };
    let found_unit = match unit_code(campaign, unit) {
        Ok(None) => defaults.unit.clone(),
        Ok(found) => found,
        Err(msg) => {
            bad(msg);
            None
        }
    };
    let found_group = match group_code(campaign, group) {
        Ok(None) => defaults.target_group.clone(),
        Ok(found) => found,
        Err(msg) => {
            bad(msg);
            None
        }
    };
    let stance = stance.trim();
    let found_stance = if stance.is_empty() {
        None
    } else {
        let s = Stance::parse(stance);
        if s.is_none() {
            bad(Msg::new("syn-import-unknown-stance").text("value", stance));
        }
        s
    };
    match (problems.is_empty(), found_topic) {
        (true, Some(topic)) => Ok(RecordedOpinion {
            row: row.map(|r| r as i64),
            topic: topic.code.clone(),
            section: found_section.or_else(|| match topic.sections.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            }),
            unit: found_unit,
            target_group: found_group,
            text,
            given_at: defaults.given_at.unwrap_or(now),
            speaker: Speaker::default(),
            stance: found_stance,
            origin: None,
        }),
        _ => Err(problems),
    }
}

/// The campaign's unit typed as its code or its name; `Ok(None)` when nothing was typed.
pub fn unit_code(campaign: &Campaign, typed: &str) -> Result<Option<String>, Msg> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let key = header_key(typed);
    campaign
        .units
        .iter()
        .find(|u| u.code.eq_ignore_ascii_case(typed) || header_key(&u.name) == key)
        .map(|u| Some(u.code.clone()))
        .ok_or_else(|| {
            Msg::new("syn-import-unknown-unit")
                .text("value", typed)
                .text(
                    "known",
                    join(campaign.units.iter().map(|u| u.code.as_str())),
                )
        })
}

/// The campaign's target group typed as its code; `Ok(None)` when nothing was typed.
pub fn group_code(campaign: &Campaign, typed: &str) -> Result<Option<String>, Msg> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    campaign
        .target_groups
        .iter()
        .find(|g| g.code.eq_ignore_ascii_case(typed))
        .map(|g| Some(g.code.clone()))
        .ok_or_else(|| {
            Msg::new("syn-import-unknown-group")
                .text("value", typed)
                .text(
                    "known",
                    join(campaign.target_groups.iter().map(|g| g.code.as_str())),
                )
        })
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Validates every row of a table against the campaign. Returns every opinion, or every
/// problem (then nothing may be stored). Empty rows are skipped.
pub fn validate(
    campaign: &Campaign,
    rows: &[Vec<String>],
    defaults: &Defaults,
    now: DateTime<Utc>,
) -> Result<Vec<RecordedOpinion>, Vec<Problem>> {
    let Some(header) = rows
        .iter()
        .position(|r| r.iter().any(|c| !c.trim().is_empty()))
    else {
        return Err(vec![problem(None, Msg::new("syn-import-empty"))]);
    };
    let mut columns: Vec<Option<Column>> = Vec::new();
    let mut problems = Vec::new();
    for cell in &rows[header] {
        let key = header_key(cell);
        let col = TEMPLATE
            .iter()
            .find(|(_, vi, en)| header_key(vi) == key || header_key(en) == key)
            .map(|(c, _, _)| *c);
        if col.is_none() && !key.is_empty() {
            problems.push(problem(
                Some(header + 1),
                Msg::new("syn-import-unknown-column").text("value", cell.trim()),
            ));
        }
        columns.push(col);
    }
    for needed in [Column::Topic, Column::Text] {
        if !columns.contains(&Some(needed)) {
            let vi = TEMPLATE
                .iter()
                .find(|(c, _, _)| *c == needed)
                .map(|(_, vi, _)| *vi)
                .unwrap_or_default();
            problems.push(problem(
                Some(header + 1),
                Msg::new("syn-import-missing-column").text("value", vi),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut opinions = Vec::new();
    for (i, cells) in rows.iter().enumerate().skip(header + 1) {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let row = i + 1;
        let cell = |want: Column| -> &str {
            columns
                .iter()
                .position(|c| *c == Some(want))
                .and_then(|p| cells.get(p))
                .map(String::as_str)
                .unwrap_or_default()
        };
        let mut row_defaults = defaults.clone();
        let date = cell(Column::Date).trim();
        let mut date_ok = true;
        if !date.is_empty() {
            match parse_date(date) {
                Some(day) => row_defaults.given_at = Some(noon(day)),
                None => {
                    date_ok = false;
                    problems.push(problem(
                        Some(row),
                        Msg::new("syn-import-bad-date").text("value", date),
                    ));
                }
            }
        }
        let checked = check_fields(
            campaign,
            Some(row),
            cell(Column::Topic),
            cell(Column::Section),
            cell(Column::Unit),
            cell(Column::TargetGroup),
            cell(Column::Text),
            cell(Column::Stance),
            &row_defaults,
            now,
        );
        match checked {
            Ok(mut o) if date_ok => {
                o.speaker = Speaker {
                    name: Some(cell(Column::Name).trim().nfc().collect::<String>())
                        .filter(|s| !s.is_empty()),
                    phone: Some(cell(Column::Phone).trim().to_owned()).filter(|s| !s.is_empty()),
                };
                opinions.push(o);
            }
            Ok(_) => {}
            Err(mut p) => problems.append(&mut p),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if opinions.is_empty() {
        return Err(vec![problem(None, Msg::new("syn-import-empty"))]);
    }
    Ok(opinions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        use crate::domain::{Section, TargetGroup, Topic, Unit};
        Campaign {
            id: 1,
            slug: "bk".to_owned(),
            issuer: "Đảng ủy phường".to_owned(),
            title: "t".to_owned(),
            document_title: "d".to_owned(),
            intro: String::new(),
            purpose: String::new(),
            retention_months: 12,
            notice_version: "1".to_owned(),
            units: vec![
                Unit {
                    code: "P".to_owned(),
                    name: "Phường Bắc Kạn".to_owned(),
                    parent: None,
                    kind: "ward".to_owned(),
                },
                Unit {
                    code: "TDP-1".to_owned(),
                    name: "Tổ dân phố 1".to_owned(),
                    parent: Some("P".to_owned()),
                    kind: "residential-group".to_owned(),
                },
            ],
            target_groups: vec![TargetGroup {
                code: "youth".to_owned(),
            }],
            sections: vec![Section {
                reference: "II.3".to_owned(),
                title: "Đô thị".to_owned(),
                summary: String::new(),
            }],
            topics: vec![Topic {
                code: "do-thi".to_owned(),
                title: "Chỉnh trang đô thị".to_owned(),
                question: String::new(),
                sections: vec!["II.3".to_owned()],
            }],
            phases: vec![],
        }
    }

    fn rows(csv: &str) -> Vec<Vec<String>> {
        read_csv(csv.as_bytes()).expect("csv")
    }

    #[test]
    fn the_template_reads_back_as_one_valid_row() {
        let c = campaign();
        let bytes = template_csv(&c).expect("template");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let got = validate(
            &c,
            &read_csv(&bytes).expect("csv"),
            &Defaults::default(),
            Utc::now(),
        )
        .expect("valid");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].topic, "do-thi");
        assert_eq!(got[0].stance, Some(Stance::Change));
        assert_eq!(got[0].unit.as_deref(), Some("TDP-1"));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_spreadsheet_row_number() {
        let c = campaign();
        let table = rows(
            "Chủ đề,Nội dung ý kiến,Đơn vị,Ngày góp ý\n\
             do-thi,Tốt,TDP-1,20/11/2026\n\
             giao-thong,Sửa đường,,\n\
             Chỉnh trang đô thị,,Tổ dân phố 9,31/02/2026\n",
        );
        let problems = validate(&c, &table, &Defaults::default(), Utc::now()).expect_err("bad");
        let got: Vec<(Option<usize>, &str)> = problems
            .iter()
            .map(|p| (p.row, p.msg.key.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(3), "syn-import-unknown-topic"),
                (Some(4), "syn-import-bad-date"),
                (Some(4), "syn-import-no-text"),
                (Some(4), "syn-import-unknown-unit"),
            ]
        );
    }

    #[test]
    fn english_headers_semicolons_and_titles_are_accepted() {
        let c = campaign();
        let table = rows("topic;opinion;name\nchinh trang do thi;Cần thêm cây xanh;Lê Thị B\n");
        let got = validate(&c, &table, &Defaults::default(), Utc::now()).expect("valid");
        assert_eq!(got[0].topic, "do-thi");
        assert_eq!(got[0].section.as_deref(), Some("II.3"));
        assert_eq!(got[0].speaker.name.as_deref(), Some("Lê Thị B"));
    }

    #[test]
    fn a_table_without_the_text_column_is_refused_at_the_header() {
        let c = campaign();
        let problems = validate(
            &c,
            &rows("Chủ đề,Ghi chú\ndo-thi,x\n"),
            &Defaults::default(),
            Utc::now(),
        )
        .expect_err("bad");
        let keys: Vec<&str> = problems.iter().map(|p| p.msg.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["syn-import-unknown-column", "syn-import-missing-column"]
        );
        assert!(problems.iter().all(|p| p.row == Some(1)));
    }
}
