//! The overview's figures, pure: opinions per topic, per day and per unit, and the geometry
//! of the bar charts the templates draw as inline SVG (no script, no external library).
//! Withdrawn opinions and drafts not yet submitted are not counted; opinions outside the
//! viewer's unit scope are not counted either (the caller says which units it may see).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Campaign, Opinion, OpinionStatus, PhaseKind, TZ};

/// Width of the bar area of a chart, in SVG units.
const BAR_AREA: f64 = 260.0;

/// Height of one bar row.
const ROW: f64 = 26.0;

/// Width of the label column.
const LABEL: f64 = 200.0;

/// One bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// What it counts.
    pub label: String,
    /// How many.
    pub count: i64,
    /// Top of the row.
    pub y: f64,
    /// Width of the bar.
    pub width: f64,
}

/// A horizontal bar chart, ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// The bars, in order.
    pub bars: Vec<Bar>,
    /// The SVG's height.
    pub height: f64,
    /// The SVG's width.
    pub width: f64,
    /// Where bars start.
    pub label_width: f64,
    /// The total of every bar.
    pub total: i64,
}

/// Lays out a chart from (label, count) pairs, longest bar = the whole bar area.
pub fn chart(rows: Vec<(String, i64)>) -> Chart {
    let max = rows.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1) as f64;
    let total = rows.iter().map(|(_, c)| *c).sum();
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, count))| Bar {
            label,
            count,
            y: i as f64 * ROW,
            width: (count as f64 / max * BAR_AREA).round(),
        })
        .collect();
    Chart {
        height: (bars.len().max(1) as f64) * ROW,
        width: LABEL + BAR_AREA + 50.0,
        label_width: LABEL,
        bars,
        total,
    }
}

/// A campaign's figures for the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Submitted opinions per topic, in menu order.
    pub per_topic: Chart,
    /// Submitted opinions per day (Vietnam time), oldest first, the last 14 days with any.
    pub per_day: Chart,
    /// Submitted opinions per unit (the unit residents chose; `—` for none), largest first.
    pub per_unit: Chart,
    /// Opinions that count (submitted and visible).
    pub counted: i64,
}

/// Counts a campaign's opinions that `visible` lets the viewer see.
pub fn figures(
    campaign: &Campaign,
    opinions: &[Opinion],
    visible: impl Fn(Option<&str>) -> bool,
) -> Figures {
    let counted: Vec<&Opinion> = opinions
        .iter()
        .filter(|o| o.status == OpinionStatus::Submitted && visible(o.unit.as_deref()))
        .collect();
    let per_topic = campaign
        .topics
        .iter()
        .map(|t| {
            let n = counted.iter().filter(|o| o.topic == t.code).count() as i64;
            (t.title.clone(), n)
        })
        .collect();
    let mut days: BTreeMap<chrono::NaiveDate, i64> = BTreeMap::new();
    for o in &counted {
        *days
            .entry(o.created_at.with_timezone(&TZ).date_naive())
            .or_default() += 1;
    }
    let skip = days.len().saturating_sub(14);
    let per_day = days
        .into_iter()
        .skip(skip)
        .map(|(d, n)| (d.format("%d/%m").to_string(), n))
        .collect();
    let mut units: BTreeMap<String, i64> = BTreeMap::new();
    for o in &counted {
        let name = match &o.unit {
            Some(code) => campaign
                .units
                .iter()
                .find(|u| &u.code == code)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| code.clone()),
            None => "—".to_owned(),
        };
        *units.entry(name).or_default() += 1;
    }
    let mut per_unit: Vec<(String, i64)> = units.into_iter().collect();
    per_unit.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Figures {
        per_topic: chart(per_topic),
        per_day: chart(per_day),
        per_unit: chart(per_unit),
        counted: counted.len() as i64,
    }
}

/// Where a campaign stands: its current phase (if any) and the time left in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseNow {
    /// The phase's name (`announce`, `collect`, …), or `before` / `after`.
    pub phase: String,
    /// Whole days left in it (or until the first phase), if any.
    pub days_left: Option<i64>,
    /// Hours left beyond the days.
    pub hours_left: Option<i64>,
}

/// The phase of `campaign` at `now` and the time left in it.
pub fn phase_now(campaign: &Campaign, now: DateTime<Utc>) -> PhaseNow {
    let split = |until: DateTime<Utc>| {
        let left = (until - now).num_hours().max(0);
        (Some(left / 24), Some(left % 24))
    };
    if let Some(p) = campaign
        .phases
        .iter()
        .find(|p| p.starts_at <= now && now < p.ends_at)
    {
        let (days_left, hours_left) = split(p.ends_at);
        return PhaseNow {
            phase: p.kind.as_str().to_owned(),
            days_left,
            hours_left,
        };
    }
    match campaign.phases.iter().map(|p| p.starts_at).min() {
        Some(first) if now < first => {
            let (days_left, hours_left) = split(first);
            PhaseNow {
                phase: "before".to_owned(),
                days_left,
                hours_left,
            }
        }
        _ => PhaseNow {
            phase: if campaign.phase(PhaseKind::Report).is_some() || !campaign.phases.is_empty() {
                "after".to_owned()
            } else {
                "none".to_owned()
            },
            days_left: None,
            hours_left: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_bar_fills_the_bar_area_and_others_scale_with_it() {
        let c = chart(vec![
            ("a".to_owned(), 10),
            ("b".to_owned(), 5),
            ("c".to_owned(), 0),
        ]);
        assert_eq!(c.bars[0].width, BAR_AREA);
        assert_eq!(c.bars[1].width, BAR_AREA / 2.0);
        assert_eq!(c.bars[2].width, 0.0);
        assert_eq!(c.bars[2].y, 2.0 * ROW);
        assert_eq!(c.total, 15);
        assert_eq!(c.height, 3.0 * ROW);
        let empty = chart(Vec::new());
        assert_eq!(empty.total, 0);
        assert_eq!(empty.height, ROW);
    }
}
