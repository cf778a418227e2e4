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
                if i == 11 {
                    ws.write_string_with_format(*rows, i as u16, c, &wrap)?;
                } else {
                    ws.write_string(*rows, i as u16, c)?;
                }
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
