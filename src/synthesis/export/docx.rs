//! The DOCX export: the synthesis laid out as a Vietnamese administrative report (Decree
//! 30/2020/NĐ-CP): A4 with 20–30 mm left and 15–20 mm other margins, Times New Roman 13–14
//! pt; the two-column header (issuing body and number on the left; the national title and
//! motto, then place and date on the right); "BÁO CÁO" and its summary line; numbered
//! sections with tables; every kept opinion in full under its topic and section; and
//! "Nơi nhận" beside the signature block.

use std::io::{Seek, Write};

use chrono::Datelike as _;
use docx_rs::{
    AlignmentType, Docx, LineSpacing, PageMargin, Paragraph, Run, RunFonts, Table, TableBorders,
    TableCell, TableRow, WidthType,
};
use futures::TryStreamExt as _;

use super::{DocHeader, Input, Opinions};
use crate::dialog::Msg;
use crate::synthesis::report::{CrossTable, exclusion_name, label_msg, source_name};

/// A4 in twentieths of a point.
const A4: (u32, u32) = (11_906, 16_838);
/// The text width between the margins (A4 minus 30 mm left and 15 mm right), in twips.
const TEXT_WIDTH: usize = 11_906 - 1_701 - 850;
/// Body text: 14 pt (half-points).
const BODY: usize = 28;
/// Tables and the header block: 13 pt.
const SMALL: usize = 26;
/// The national title and the issuing body: 12 pt, as Decree 30 allows (12–13 pt).
const TITLE: usize = 24;
/// "Nơi nhận" list: 12 pt italics for the label, 11 pt for the list.
const NOTE: usize = 22;

fn run(text: impl Into<String>, size: usize) -> Run {
    Run::new().add_text(text.into()).size(size)
}

fn centered(runs: Vec<Run>) -> Paragraph {
    runs.into_iter()
        .fold(Paragraph::new(), |p, r| p.add_run(r))
        .align(AlignmentType::Center)
}

fn body(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(run(text, BODY))
        .align(AlignmentType::Both)
        .indent(Some(567), None, None, None)
        .line_spacing(LineSpacing::new().before(60).after(60))
}

fn heading(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(run(text, BODY).bold())
        .align(AlignmentType::Both)
        .indent(Some(567), None, None, None)
        .line_spacing(LineSpacing::new().before(120).after(60))
}

fn cell(text: impl Into<String>, bold: bool, width: usize) -> TableCell {
    let mut r = run(text, SMALL);
    if bold {
        r = r.bold();
    }
    TableCell::new()
        .add_paragraph(Paragraph::new().add_run(r))
        .width(width, WidthType::Dxa)
}

/// A table with a header row; the first column takes what the others leave.
fn table(head: Vec<String>, rows: Vec<Vec<String>>, first_share: usize) -> Table {
    let n = head.len().max(1);
    let first = TEXT_WIDTH * first_share / 100;
    let other = if n > 1 {
        (TEXT_WIDTH - first) / (n - 1)
    } else {
        0
    };
    let width = |i: usize| if i == 0 { first } else { other };
    let mut all = vec![TableRow::new(
        head.into_iter()
            .enumerate()
            .map(|(i, h)| cell(h, true, width(i)))
            .collect(),
    )];
    for r in rows {
        all.push(TableRow::new(
            r.into_iter()
                .enumerate()
                .map(|(i, c)| cell(c, false, width(i)))
                .collect(),
        ));
    }
    Table::new(all).set_grid((0..n).map(width).collect())
}

/// A cross-table turned for a portrait page: one row per value of the other dimension
/// (rows with no opinion left out; the XLSX keeps them), one narrow column per topic
/// numbered as in the legend above it, and the total.
fn cross(input: &Input<'_>, t: &CrossTable, first: &str) -> Table {
    let mut head = vec![first.to_owned()];
    head.extend((1..=t.rows.len()).map(|i| format!("{i}")));
    head.push(input.label("syn-col-total"));
    let rows = t
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, col)| {
            let cells: Vec<i64> = t.rows.iter().map(|r| r.2[i]).collect();
            let total: i64 = cells.iter().sum();
            (total > 0).then(|| {
                let mut r = vec![col.name.clone()];
                r.extend(cells.iter().map(i64::to_string));
                r.push(total.to_string());
                r
            })
        })
        .collect();
    table(head, rows, 40)
}

/// The legend of the topic numbers used by the cross-tables.
fn topic_legend(input: &Input<'_>) -> Paragraph {
    let legend: Vec<String> = input
        .synthesis
        .topic_by_unit
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{}: {}", i + 1, r.1))
        .collect();
    Paragraph::new()
        .add_run(run(format!("({})", legend.join("; ")), NOTE).italic())
        .align(AlignmentType::Both)
        .indent(Some(567), None, None, None)
}

/// The two-column header block of an administrative document, without borders.
fn header_block(input: &Input<'_>, header: &DocHeader) -> Table {
    let c = input.campaign;
    let issuer = c.issuer.to_uppercase();
    let date = input.generated_at.with_timezone(&crate::domain::TZ);
    let place_date = label_msg(
        input.locale,
        &Msg::new("syn-doc-place-date")
            .text("place", &input.place)
            .text("day", format!("{:02}", date.day()))
            // Decree 30: days below 10 and the months January and February take a 0.
            .text(
                "month",
                if date.month() < 3 {
                    format!("{:02}", date.month())
                } else {
                    date.month().to_string()
                },
            )
            .text("year", date.year().to_string()),
    );
    let left_w = TEXT_WIDTH * 38 / 100;
    let right_w = TEXT_WIDTH - left_w;
    let left = TableCell::new()
        .add_paragraph(centered(vec![run(issuer, TITLE).bold()]))
        .add_paragraph(centered(vec![run("*", SMALL)]))
        .add_paragraph(centered(vec![run(
            header.number.clone().unwrap_or_default(),
            SMALL,
        )]))
        .width(left_w, WidthType::Dxa);
    let right = TableCell::new()
        .add_paragraph(centered(vec![
            run(input.label("syn-doc-nation"), SMALL).bold(),
        ]))
        .add_paragraph(centered(vec![
            run(input.label("syn-doc-motto"), BODY)
                .bold()
                .underline("single"),
        ]))
        .add_paragraph(centered(vec![]))
        .add_paragraph(centered(vec![run(place_date, BODY).italic()]))
        .width(right_w, WidthType::Dxa);
    Table::new(vec![TableRow::new(vec![left, right])])
        .set_grid(vec![left_w, right_w])
        .set_borders(TableBorders::with_empty())
}

/// The "Nơi nhận" list beside the signature block, without borders.
fn closing(input: &Input<'_>, header: &DocHeader) -> Table {
    let left_w = TEXT_WIDTH / 2;
    let right_w = TEXT_WIDTH - left_w;
    let mut left = TableCell::new()
        .add_paragraph(
            Paragraph::new().add_run(run(input.label("syn-doc-recipients"), 24).bold().italic()),
        )
        .width(left_w, WidthType::Dxa);
    for line in &header.recipients {
        left = left.add_paragraph(Paragraph::new().add_run(run(line.as_str(), NOTE)));
    }
    let mut right = TableCell::new();
    for line in &header.signer_title {
        right = right.add_paragraph(centered(vec![run(line.as_str(), BODY).bold()]));
    }
    match &header.signer_name {
        // Decree 30: the signer's name in bold, below the space left for the signature.
        Some(name) => {
            for _ in 0..3 {
                right = right.add_paragraph(Paragraph::new());
            }
            right = right.add_paragraph(centered(vec![run(name.as_str(), BODY).bold()]));
        }
        None => {
            right = right.add_paragraph(centered(vec![
                run(input.label("syn-doc-sign-hint"), BODY).italic(),
            ]));
        }
    }
    let right = right.width(right_w, WidthType::Dxa);
    Table::new(vec![TableRow::new(vec![left, right])])
        .set_grid(vec![left_w, right_w])
        .set_borders(TableBorders::with_empty())
}

/// Writes the report to `out`; returns how many opinions it lists.
pub async fn write<W: Write + Seek>(
    input: &Input<'_>,
    mut opinions: Opinions<'_>,
    out: W,
) -> anyhow::Result<u64> {
    let s = input.synthesis;
    let c = input.campaign;
    let l = |key: &str| input.label(key);
    let header = input
        .header
        .resolved(c, s.unit.as_ref().map(|u| u.code.as_str()), input.locale);
    let fonts = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .east_asia("Times New Roman")
        .cs("Times New Roman");
    let mut doc = Docx::new()
        .page_size(A4.0, A4.1)
        .page_margin(
            PageMargin::new()
                .top(1_134)
                .bottom(1_134)
                .left(1_701)
                .right(850),
        )
        .default_fonts(fonts)
        .default_size(BODY)
        .add_table(header_block(input, &header))
        .add_paragraph(centered(vec![]))
        .add_paragraph(centered(vec![run(l("syn-doc-kind"), 30).bold()]))
        .add_paragraph(centered(vec![
            run(
                label_msg(
                    input.locale,
                    &Msg::new("syn-doc-summary").text("document", &c.document_title),
                ),
                BODY,
            )
            .bold(),
        ]));
    if let Some(u) = &s.unit {
        doc = doc.add_paragraph(centered(vec![
            run(
                label_msg(
                    input.locale,
                    &Msg::new("syn-doc-unit").text("unit", &u.name),
                ),
                BODY,
            )
            .italic(),
        ]));
    }
    doc = doc.add_paragraph(centered(vec![run("-----", BODY)]));

    // I. The figures.
    doc = doc
        .add_paragraph(heading(l("syn-doc-part-1")))
        .add_paragraph(body(label_msg(
            input.locale,
            &Msg::new("syn-doc-totals")
                .text("title", &c.title)
                .num("opinions", s.opinions)
                .num("participants", s.participants)
                .num("excluded", s.excluded),
        )));
    doc = doc.add_paragraph(heading(format!("1. {}", l("syn-h-topics"))));
    let stance_head: Vec<String> = s
        .topics
        .first()
        .map(|t| t.stances.iter().map(|st| st.name.clone()).collect())
        .unwrap_or_default();
    let mut head = vec![l("syn-col-topic"), l("syn-col-count")];
    head.extend(stance_head);
    let mut rows = Vec::new();
    for t in &s.topics {
        let mut r = vec![t.title.clone(), t.opinions.to_string()];
        r.extend(t.stances.iter().map(|st| st.opinions.to_string()));
        rows.push(r);
        for sec in &t.sections {
            let mut r = vec![format!("  – {}", sec.name), sec.opinions.to_string()];
            r.extend(t.stances.iter().map(|_| String::new()));
            rows.push(r);
        }
    }
    doc = doc.add_table(table(head, rows, 36));
    doc = doc
        .add_paragraph(heading(format!("2. {}", l("syn-h-units"))))
        .add_table(table(
            vec![l("syn-col-unit"), l("syn-col-count")],
            s.units
                .iter()
                .map(|u| {
                    vec![
                        format!("{}{}", "    ".repeat(u.depth), u.name),
                        u.total.to_string(),
                    ]
                })
                .chain((s.no_unit > 0).then(|| vec![l("syn-not-given"), s.no_unit.to_string()]))
                .collect(),
            70,
        ))
        .add_paragraph(heading(format!("3. {}", l("syn-h-topic-by-unit"))))
        .add_paragraph(topic_legend(input))
        .add_table(cross(input, &s.topic_by_unit, &l("syn-col-unit")))
        .add_paragraph(heading(format!("4. {}", l("syn-h-groups"))))
        .add_table(cross(input, &s.topic_by_group, &l("syn-col-group")))
        .add_paragraph(heading(format!("5. {}", l("syn-h-sources"))))
        .add_table(cross(input, &s.topic_by_source, &l("syn-col-source")))
        .add_paragraph(heading(format!("6. {}", l("syn-h-days"))))
        .add_table(table(
            vec![l("syn-col-day"), l("syn-col-count")],
            s.days
                .iter()
                .map(|(d, n)| {
                    let shown = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_else(|_| d.clone());
                    vec![shown, n.to_string()]
                })
                .collect(),
            50,
        ));

    // II. Every kept opinion, under its topic and section.
    doc = doc.add_paragraph(heading(l("syn-doc-part-2")));
    let mut n = 0u64;
    let mut topic_no = 0;
    let mut at: Option<(String, Option<String>)> = None;
    let mut item = 0;
    while let Some(o) = opinions.try_next().await? {
        let here = (o.topic.clone(), o.section.clone());
        if at.as_ref().map(|a| &a.0) != Some(&o.topic) {
            topic_no += 1;
            let count = s
                .topics
                .iter()
                .find(|t| t.code == o.topic)
                .map(|t| t.opinions)
                .unwrap_or(0);
            doc = doc.add_paragraph(heading(format!(
                "{topic_no}. {} ({count} {})",
                input.topic_title(&o.topic),
                l("syn-doc-opinions-word")
            )));
            at = None;
        }
        if at.as_ref() != Some(&here) {
            let section = match &o.section {
                Some(r) => c
                    .sections
                    .iter()
                    .find(|x| &x.reference == r)
                    .map(|x| format!("{r}. {}", x.title))
                    .unwrap_or_else(|| r.clone()),
                None => l("syn-no-section"),
            };
            doc = doc.add_paragraph(
                Paragraph::new()
                    .add_run(run(format!("– {section}"), BODY).italic())
                    .indent(Some(567), None, None, None),
            );
            at = Some(here);
            item = 0;
        }
        item += 1;
        let mut meta = vec![
            input.unit_name(o.unit.as_deref()),
            source_name(input.locale, &o.source),
            crate::domain::format_local(o.created_at),
        ];
        if let Some(st) = &o.stance {
            meta.push(crate::synthesis::report::stance_name(input.locale, st));
        }
        if let Some((name, _)) = input.names.and_then(|names| names.get(&o.id)) {
            meta.push(name.clone().unwrap_or_default());
        }
        let meta: Vec<String> = meta.into_iter().filter(|m| !m.is_empty()).collect();
        doc = doc.add_paragraph(
            Paragraph::new()
                .add_run(run(format!("{item}) {}", o.text), BODY))
                .add_run(run(format!(" ({}; {})", o.reference, meta.join(", ")), SMALL).italic())
                .align(AlignmentType::Both)
                .indent(Some(567), None, None, None),
        );
        n += 1;
    }
    if n == 0 {
        doc = doc.add_paragraph(body(l("syn-doc-none")));
    }

    // III. What was not counted.
    doc = doc.add_paragraph(heading(l("syn-doc-part-3")));
    if s.exclusions.is_empty() {
        doc = doc.add_paragraph(body(l("syn-doc-none-excluded")));
    } else {
        doc = doc.add_table(table(
            vec![l("syn-col-reason"), l("syn-col-count")],
            s.exclusions
                .iter()
                .map(|e| {
                    let detail = e
                        .detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default();
                    vec![
                        format!("{}{detail}", exclusion_name(input.locale, &e.reason)),
                        e.opinions.to_string(),
                    ]
                })
                .collect(),
            75,
        ));
    }
    doc = doc
        .add_paragraph(body(l("syn-doc-closing")))
        .add_paragraph(Paragraph::new())
        .add_table(closing(input, &header));
    doc.build().pack(out)?;
    Ok(n)
}
