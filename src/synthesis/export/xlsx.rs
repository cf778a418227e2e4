//! The XLSX export: a summary sheet with the cross-tables, then one sheet per topic with
//! every kept opinion of that topic (autofilter on, header frozen). Every sheet is written
//! in rust_xlsxwriter's constant-memory mode: each row goes to a temporary file as soon as
//! the next one starts, so memory stays bounded however many opinions there are.

use std::collections::HashSet;
use std::path::Path;

use futures::TryStreamExt as _;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::{Input, Opinions, cells, header};
use crate::synthesis::report::{CrossTable, exclusion_name};

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(wanted: &str, taken: &mut HashSet<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .collect();
    let base: String = clean.trim().chars().take(28).collect();
    let base = if base.is_empty() {
        "Sheet".to_owned()
    } else {
        base
    };
    let mut name = base.clone();
    let mut i = 2;
    while taken.contains(&name.to_lowercase()) {
        name = format!("{base} {i}");
        i += 1;
    }
    taken.insert(name.to_lowercase());
    name
}

/// Whether a spreadsheet would read `text` as a formula if it were typed into a cell: it
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return (the characters
/// [`crate::campaign::export::neutralise`] guards in CSV).
fn looks_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Writes a cross-table at `row`; returns the next free row.
fn write_table(
    ws: &mut Worksheet,
    mut row: u32,
    title: &str,
    table: &CrossTable,
    input: &Input<'_>,
    bold: &Format,
    cell: &Format,
) -> Result<u32, XlsxError> {
    ws.write_string_with_format(row, 0, title, bold)?;
    row += 1;
    ws.write_string_with_format(row, 0, input.label("syn-col-topic"), bold)?;
    for (i, c) in table.columns.iter().enumerate() {
        ws.write_string_with_format(row, (i + 1) as u16, &c.name, bold)?;
    }
    ws.write_string_with_format(
        row,
        (table.columns.len() + 1) as u16,
        input.label("syn-col-total"),
        bold,
    )?;
    row += 1;
    for (_, topic, counts, total) in &table.rows {
        ws.write_string_with_format(row, 0, topic, cell)?;
        for (i, n) in counts.iter().enumerate() {
            ws.write_number_with_format(row, (i + 1) as u16, *n as f64, cell)?;
        }
        ws.write_number_with_format(row, (counts.len() + 1) as u16, *total as f64, cell)?;
        row += 1;
    }
    Ok(row + 1)
}

/// Writes the workbook to `path`; returns how many opinions it holds.
pub async fn write(
    input: &Input<'_>,
    mut opinions: Opinions<'_>,
    path: &Path,
) -> anyhow::Result<u64> {
    let s = input.synthesis;
    let mut book = Workbook::new();
    let bold = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::Top);
    let cell = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Top);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let wrap_quoted = wrap.clone().set_quote_prefix();
    let plain = Format::new();
    let quoted = Format::new().set_quote_prefix();
    let mut taken = HashSet::new();

    {
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet_name(&input.label("syn-sheet-summary"), &mut taken))?;
        ws.set_column_width(0, 40)?;
        for col in 1..12u16 {
            ws.set_column_width(col, 14)?;
        }
        let mut row = 0u32;
        let scope = match &s.unit {
            Some(u) => u.name.clone(),
            None => input.campaign.title.clone(),
        };
        ws.write_string_with_format(
            row,
            0,
            format!("{}: {scope}", input.label("syn-h-title")),
            &Format::new().set_bold(),
        )?;
        row += 1;
        ws.write_string(row, 0, &input.campaign.document_title)?;
        row += 2;
        for (key, n) in [
            ("syn-sum-opinions", s.opinions),
            ("syn-sum-participants", s.participants),
            ("syn-sum-excluded", s.excluded),
        ] {
            ws.write_string_with_format(row, 0, input.label(key), &cell)?;
            ws.write_number_with_format(row, 1, n as f64, &cell)?;
            row += 1;
        }
        row += 1;
        // Topic and section, with stances.
        ws.write_string_with_format(
            row,
            0,
            input.label("syn-h-topics"),
            &Format::new().set_bold(),
        )?;
        row += 1;
        ws.write_string_with_format(row, 0, input.label("syn-col-topic"), &bold)?;
        ws.write_string_with_format(row, 1, input.label("syn-col-count"), &bold)?;
        for (i, st) in s
            .topics
            .first()
            .map(|t| t.stances.clone())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(row, (i + 2) as u16, &st.name, &bold)?;
        }
        row += 1;
        for t in &s.topics {
            ws.write_string_with_format(row, 0, &t.title, &bold)?;
            ws.write_number_with_format(row, 1, t.opinions as f64, &cell)?;
            for (i, st) in t.stances.iter().enumerate() {
                ws.write_number_with_format(row, (i + 2) as u16, st.opinions as f64, &cell)?;
            }
            row += 1;
            for sec in &t.sections {
                ws.write_string_with_format(row, 0, format!("   {}", sec.name), &cell)?;
                ws.write_number_with_format(row, 1, sec.opinions as f64, &cell)?;
                row += 1;
            }
        }
        row += 1;
        // Units rolled up the tree.
        ws.write_string_with_format(
            row,
            0,
            input.label("syn-h-units"),
            &Format::new().set_bold(),
        )?;
        row += 1;
        for u in &s.units {
            ws.write_string_with_format(
                row,
                0,
                format!("{}{}", "   ".repeat(u.depth), u.name),
                &cell,
            )?;
            ws.write_number_with_format(row, 1, u.total as f64, &cell)?;
            row += 1;
        }
        if s.no_unit > 0 {
            ws.write_string_with_format(row, 0, input.label("syn-not-given"), &cell)?;
            ws.write_number_with_format(row, 1, s.no_unit as f64, &cell)?;
            row += 1;
        }
        row += 1;
        row = write_table(
            ws,
            row,
            &input.label("syn-h-topic-by-unit"),
            &s.topic_by_unit,
            input,
            &bold,
            &cell,
        )?;
        row = write_table(
            ws,
            row,
            &input.label("syn-h-groups"),
            &s.topic_by_group,
            input,
            &bold,
            &cell,
        )?;
        row = write_table(
            ws,
            row,
            &input.label("syn-h-sources"),
            &s.topic_by_source,
            input,
            &bold,
            &cell,
        )?;
        ws.write_string_with_format(row, 0, input.label("syn-h-days"), &Format::new().set_bold())?;
        row += 1;
        for (day, n) in &s.days {
            let shown = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|_| day.clone());
            ws.write_string_with_format(row, 0, shown, &cell)?;
            ws.write_number_with_format(row, 1, *n as f64, &cell)?;
            row += 1;
        }
        row += 1;
        ws.write_string_with_format(
            row,
            0,
            input.label("syn-h-excluded"),
            &Format::new().set_bold(),
        )?;
        row += 1;
        for e in &s.exclusions {
            let detail = e
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            ws.write_string_with_format(
                row,
                0,
                format!("{}{detail}", exclusion_name(input.locale, &e.reason)),
                &cell,
            )?;
            ws.write_number_with_format(row, 1, e.opinions as f64, &cell)?;
            row += 1;
        }
    }

    // One sheet per topic, filled as the opinions stream in (they come topic by topic).
    let head = header(input);
    let last_col = (head.len() - 1) as u16;
    let mut current: Option<(String, usize, u32)> = None;
    let mut n = 0u64;
    let finish = |book: &mut Workbook, sheet: usize, rows: u32| -> Result<(), XlsxError> {
        let ws = book.worksheet_from_index(sheet)?;
        ws.autofilter(0, 0, rows.max(1) - 1, last_col)?;
        Ok(())
    };
    while let Some(o) = opinions.try_next().await? {
        if current.as_ref().map(|c| c.0.as_str()) != Some(o.topic.as_str()) {
            if let Some((_, sheet, rows)) = current.take() {
                finish(&mut book, sheet, rows)?;
            }
            let ws = book.add_worksheet_with_constant_memory()?;
            ws.set_name(sheet_name(&input.topic_title(&o.topic), &mut taken))?;
            for (i, h) in head.iter().enumerate() {
                ws.write_string_with_format(0, i as u16, h, &bold)?;
                ws.set_column_width(i as u16, if i == 11 { 80 } else { 16 })?;
            }
            ws.set_freeze_panes(1, 0)?;
            let index = book.worksheets_mut().len() - 1;
            current = Some((o.topic.clone(), index, 1));
        }
        if let Some((_, sheet, rows)) = current.as_mut() {
            let ws = book.worksheet_from_index(*sheet)?;
            for (i, c) in cells(input, &o).iter().enumerate() {
                // Every cell is a text cell, never a formula; one that a spreadsheet would
                // take for a formula once edited also gets Excel's quote prefix.
                let format = match (i == 11, looks_like_formula(c)) {
                    (true, false) => &wrap,
                    (true, true) => &wrap_quoted,
                    (false, false) => &plain,
                    (false, true) => &quoted,
                };
                ws.write_string_with_format(*rows, i as u16, c, format)?;
            }
            *rows += 1;
        }
        n += 1;
    }
    if let Some((_, sheet, rows)) = current.take() {
        finish(&mut book, sheet, rows)?;
    }
    book.save(path)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use chrono::Utc;

    use super::*;
    use crate::domain::Locale;
    use crate::synthesis::export::Listed;
    use crate::synthesis::report::{Aggregates, Synthesis};

    /// The `s` (style) attribute of the cell whose text is `text`, in a sheet's XML.
    fn style_of(sheet: &str, text: &str) -> Option<usize> {
        let escaped = text.replace('&', "&amp;").replace('<', "&lt;");
        let at = sheet.find(&format!(">{escaped}<"))?;
        let open = sheet[..at].rfind("<c ")?;
        let tag = &sheet[open..sheet[open..].find('>')? + open];
        let s = tag.split("s=\"").nth(1)?.split('"').next()?;
        s.parse().ok()
    }

    #[tokio::test]
    async fn opinions_that_look_like_formulas_are_text_cells_with_a_quote_prefix() {
        let campaign = crate::campaign::demo(Utc::now()).expect("demo");
        let synthesis = Synthesis::build(&campaign, None, &Aggregates::default(), Locale::Vi);
        let input = Input {
            campaign: &campaign,
            synthesis: &synthesis,
            names: None,
            locale: Locale::Vi,
            generated_at: Utc::now(),
            place: "Hòa Bình".to_owned(),
            header: Default::default(),
        };
        let risky = [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2",
            "@SUM(A1)",
            "\tx",
        ];
        let safe = ["Đường ngõ 5 cần sửa.", "a <b & c"];
        let texts: Vec<&str> = risky.iter().copied().chain(safe).collect();
        let topic = campaign.topics[0].code.clone();
        let rows: Vec<crate::store::StoreResult<Listed>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Ok(Listed {
                    id: i as i64 + 1,
                    reference: format!("R{i:05}"),
                    topic: topic.clone(),
                    section: None,
                    unit: None,
                    target_group: None,
                    source: "chat".to_owned(),
                    created_at: Utc::now(),
                    text: (*t).to_owned(),
                    stance: None,
                    group: None,
                    representative: false,
                })
            })
            .collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.xlsx");
        let written = write(&input, Box::pin(futures::stream::iter(rows)), &path)
            .await
            .expect("written");
        assert_eq!(written, texts.len() as u64);

        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).expect("open")).expect("zip");
        let mut read = |name: &str| {
            let mut s = String::new();
            zip.by_name(name)
                .expect(name)
                .read_to_string(&mut s)
                .expect("read");
            s
        };
        let sheet = read("xl/worksheets/sheet2.xml");
        let styles = read("xl/styles.xml");
        assert!(!sheet.contains("<f>"), "no formula in the sheet");
        let xfs = styles
            .split("<cellXfs")
            .nth(1)
            .and_then(|s| s.split("</cellXfs>").next())
            .expect("cellXfs");
        let xf: Vec<&str> = xfs.split("<xf ").skip(1).collect();
        let quoted = |text: &str| {
            let s = style_of(&sheet, text).unwrap_or_else(|| panic!("{text} in {sheet}"));
            xf[s].contains("quotePrefix=\"1\"")
        };
        for t in risky {
            assert!(quoted(t), "{t} has no quote prefix");
        }
        // Ordinary text has no prefix; markup is escaped XML (found by its escaped form).
        for t in safe {
            assert!(!quoted(t), "{t} has a quote prefix");
        }
    }
}
