//! The synthesis as officials read it, built purely from the store's aggregates (GROUP BY
//! rows, never one row per opinion): counts by topic and section, by unit rolled up the unit
//! tree, by target group and by source, cross-tables of topic against each, opinions per
//! day, participants against opinions, and what was excluded and why.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::dialog::Msg;
use crate::domain::{Campaign, Locale};
use crate::i18n::Markup;

/// One GROUP BY row of kept opinions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountRow {
    /// Topic code.
    pub topic: String,
    /// Section reference.
    pub section: Option<String>,
    /// Unit code.
    pub unit: Option<String>,
    /// Target group code.
    pub target_group: Option<String>,
    /// Source as reports name it: telegram, zalo, web, terminal, meeting, import.
    pub source: String,
    /// Kept opinions.
    pub opinions: i64,
}

/// Opinions not counted, by reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExclusionRow {
    /// withdrawn, draft, pending (moderation), hidden (moderation), duplicate.
    pub reason: String,
    /// The moderator's reason, for hidden opinions.
    pub detail: Option<String>,
    /// How many.
    pub opinions: i64,
}

/// Everything the store aggregates for one synthesis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Aggregates {
    /// Kept opinions by topic × section × unit × target group × source (their own topic).
    pub counts: Vec<CountRow>,
    /// Kept opinions by the extra topics and sections officials added.
    pub labels: Vec<CountRow>,
    /// Kept opinions per Vietnamese calendar day (YYYY-MM-DD).
    pub days: Vec<(String, i64)>,
    /// Excluded opinions by reason.
    pub exclusions: Vec<ExclusionRow>,
    /// Kept opinions by topic and stance (`None` = not set).
    pub stances: Vec<(String, Option<String>, i64)>,
    /// Kept opinions.
    pub opinions: i64,
    /// Distinct people who gave them.
    pub participants: i64,
    /// Agreements replied in groups (an emoji, a sticker, "đồng ý"), by topic code
    /// (`unclassified` for the campaign's post): each resident once per post.
    pub agreements: Vec<(String, i64)>,
}

/// A count under a code, with the name officials read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The code (topic code, unit code, …); empty for "not given".
    pub code: String,
    /// The name shown.
    pub name: String,
    /// Opinions.
    pub opinions: i64,
}

/// A unit's line: its own opinions and those of every unit below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitCount {
    /// Unit code.
    pub code: String,
    /// Unit name.
    pub name: String,
    /// Depth in the tree (0 = the root of the report).
    pub depth: usize,
    /// Opinions given in this unit itself.
    pub own: i64,
    /// Opinions of this unit and every unit below it.
    pub total: i64,
}

/// One topic's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicCount {
    /// Topic code.
    pub code: String,
    /// Topic title.
    pub title: String,
    /// Kept opinions with this topic as their own.
    pub opinions: i64,
    /// Opinions an official also filed under this topic.
    pub also: i64,
    /// By section (the topic's own opinions).
    pub sections: Vec<Count>,
    /// By stance: agree, change, disagree, other, and "" for not set.
    pub stances: Vec<Count>,
}

/// A cross-table: one row per topic, one column per value of the other dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossTable {
    /// Column codes and names.
    pub columns: Vec<Count>,
    /// Per topic: (code, title, one count per column, row total).
    pub rows: Vec<(String, String, Vec<i64>, i64)>,
}

/// The synthesis of a campaign, or of one unit and the units below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Synthesis {
    /// The unit the report is for (`None` = the whole campaign).
    pub unit: Option<Count>,
    /// Kept opinions.
    pub opinions: i64,
    /// Distinct people who gave them.
    pub participants: i64,
    /// By topic and section.
    pub topics: Vec<TopicCount>,
    /// By unit, rolled up the tree, in tree order.
    pub units: Vec<UnitCount>,
    /// Opinions with no unit given.
    pub no_unit: i64,
    /// By target group (code "" = not given).
    pub target_groups: Vec<Count>,
    /// By source.
    pub sources: Vec<Count>,
    /// Topic × unit (the units one level below the report's root, rolled up).
    pub topic_by_unit: CrossTable,
    /// Topic × target group.
    pub topic_by_group: CrossTable,
    /// Topic × source.
    pub topic_by_source: CrossTable,
    /// Per day.
    pub days: Vec<(String, i64)>,
    /// Excluded opinions by reason.
    pub exclusions: Vec<ExclusionRow>,
    /// How many were excluded.
    pub excluded: i64,
    /// Agreements replied in groups, by topic (counted apart from opinions).
    pub agreements: Vec<Count>,
}

/// The sources in report order.
pub const SOURCES: [&str; 6] = ["telegram", "zalo", "web", "terminal", "meeting", "import"];

/// A label of `locales/*/synthesis.ftl` (reports are written in Vietnamese; the English
/// file serves `--lang en`).
pub fn label(locale: Locale, key: &str) -> String {
    label_msg(locale, &Msg::new(key))
}

/// A message of `locales/*/synthesis.ftl` with arguments, as plain text.
pub fn label_msg(locale: Locale, msg: &Msg) -> String {
    crate::i18n::shared()
        .map(|l| l.msg(locale, msg, Markup::Plain))
        .unwrap_or_else(|| msg.key.clone())
}

/// The name of a source.
pub fn source_name(locale: Locale, code: &str) -> String {
    if SOURCES.contains(&code) {
        label(locale, &format!("syn-source-{code}"))
    } else {
        code.to_owned()
    }
}

/// The name of a target group: the dialog's label for it (`target-group-<code>`), else
/// the code.
pub fn group_name(locale: Locale, code: &str) -> String {
    let key = format!("target-group-{code}");
    match crate::i18n::shared() {
        Some(l) if l.has(locale, &key) => l.msg(locale, &Msg::new(&key), Markup::Plain),
        _ => code.to_owned(),
    }
}

/// The name of a stance code ("" = not set).
pub fn stance_name(locale: Locale, code: &str) -> String {
    match code {
        "agree" | "change" | "disagree" | "other" => label(locale, &format!("syn-stance-{code}")),
        _ => label(locale, "syn-stance-none"),
    }
}

/// The name of an exclusion reason.
pub fn exclusion_name(locale: Locale, code: &str) -> String {
    match code {
        "withdrawn" | "draft" | "pending" | "hidden" | "duplicate" => {
            label(locale, &format!("syn-excluded-{code}"))
        }
        _ => code.to_owned(),
    }
}

/// The parent of each of the campaign's units.
fn parents(campaign: &Campaign) -> HashMap<&str, Option<&str>> {
    campaign
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.parent.as_deref()))
        .collect()
}

/// Whether `unit` is `root` or lies below it (stops on a cycle).
fn within(parents: &HashMap<&str, Option<&str>>, unit: &str, root: &str) -> bool {
    let mut at = Some(unit);
    for _ in 0..=parents.len() {
        match at {
            Some(code) if code == root => return true,
            Some(code) => at = parents.get(code).copied().flatten(),
            None => return false,
        }
    }
    false
}

/// The unit `root` and every unit of the campaign below it, in campaign order.
pub fn subtree(campaign: &Campaign, root: &str) -> Vec<String> {
    let parents = parents(campaign);
    campaign
        .units
        .iter()
        .filter(|u| within(&parents, &u.code, root))
        .map(|u| u.code.clone())
        .collect()
}

fn depth(parents: &HashMap<&str, Option<&str>>, unit: &str, root: Option<&str>) -> usize {
    let mut d = 0;
    let mut at = parents.get(unit).copied().flatten();
    while let Some(code) = at {
        if Some(code) == root || d > parents.len() {
            break;
        }
        d += 1;
        at = parents.get(code).copied().flatten();
    }
    if root.is_some() && Some(unit) != root {
        d + 1
    } else {
        d
    }
}

impl Synthesis {
    /// Builds the report for the campaign, or for `unit` and the units below it (the
    /// aggregates must already be restricted to those units).
    pub fn build(
        campaign: &Campaign,
        unit: Option<&str>,
        agg: &Aggregates,
        locale: Locale,
    ) -> Self {
        let parents = parents(campaign);
        let topic_title = |code: &str| {
            campaign
                .topics
                .iter()
                .find(|t| t.code == code)
                .map(|t| t.title.clone())
                .unwrap_or_else(|| {
                    if code == crate::replies::UNCLASSIFIED {
                        label(locale, "syn-topic-unclassified")
                    } else {
                        code.to_owned()
                    }
                })
        };
        let section_title = |r: &str| {
            campaign
                .sections
                .iter()
                .find(|s| s.reference == r)
                .map(|s| format!("{r}. {}", s.title))
                .unwrap_or_else(|| r.to_owned())
        };
        let unit_name = |code: &str| {
            campaign
                .units
                .iter()
                .find(|u| u.code == code)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| code.to_owned())
        };

        // Topics in campaign order, then any code officials used that the campaign lacks.
        let mut topic_codes: Vec<String> = campaign.topics.iter().map(|t| t.code.clone()).collect();
        for r in agg.counts.iter().chain(&agg.labels) {
            if !topic_codes.contains(&r.topic) {
                topic_codes.push(r.topic.clone());
            }
        }
        let topics = topic_codes
            .iter()
            .map(|code| {
                let own: Vec<&CountRow> = agg.counts.iter().filter(|r| &r.topic == code).collect();
                let mut sections: BTreeMap<String, i64> = BTreeMap::new();
                for r in &own {
                    *sections
                        .entry(r.section.clone().unwrap_or_default())
                        .or_default() += r.opinions;
                }
                let stances = ["agree", "change", "disagree", "other", ""]
                    .iter()
                    .map(|s| Count {
                        code: (*s).to_owned(),
                        name: stance_name(locale, s),
                        opinions: agg
                            .stances
                            .iter()
                            .filter(|(t, st, _)| t == code && st.as_deref().unwrap_or("") == *s)
                            .map(|(_, _, n)| n)
                            .sum(),
                    })
                    .collect();
                TopicCount {
                    code: code.clone(),
                    title: topic_title(code),
                    opinions: own.iter().map(|r| r.opinions).sum(),
                    also: agg
                        .labels
                        .iter()
                        .filter(|r| &r.topic == code)
                        .map(|r| r.opinions)
                        .sum(),
                    sections: sections
                        .into_iter()
                        .map(|(r, n)| Count {
                            name: if r.is_empty() {
                                label(locale, "syn-no-section")
                            } else {
                                section_title(&r)
                            },
                            code: r,
                            opinions: n,
                        })
                        .collect(),
                    stances,
                }
            })
            .collect();

        // Units: own counts, then rolled up over the tree.
        let mut own: HashMap<&str, i64> = HashMap::new();
        let mut no_unit = 0;
        for r in &agg.counts {
            match &r.unit {
                Some(u) => *own.entry(u.as_str()).or_default() += r.opinions,
                None => no_unit += r.opinions,
            }
        }
        let in_report: Vec<&crate::domain::Unit> = campaign
            .units
            .iter()
            .filter(|u| unit.is_none_or(|root| within(&parents, &u.code, root)))
            .collect();
        let units = in_report
            .iter()
            .map(|u| UnitCount {
                code: u.code.clone(),
                name: u.name.clone(),
                depth: depth(
                    &parents,
                    &u.code,
                    unit.and_then(|r| parents.get(r).copied().flatten()),
                ),
                own: own.get(u.code.as_str()).copied().unwrap_or(0),
                total: own
                    .iter()
                    .filter(|(c, _)| within(&parents, c, &u.code))
                    .map(|(_, n)| n)
                    .sum(),
            })
            .collect::<Vec<_>>();

        // The columns of the topic × unit table: the report root's children (or the roots'
        // children for the whole campaign), each rolled up.
        let root_codes: Vec<&str> = match unit {
            Some(r) => vec![r],
            None => campaign
                .units
                .iter()
                .filter(|u| u.parent.is_none())
                .map(|u| u.code.as_str())
                .collect(),
        };
        let mut columns: Vec<&str> = campaign
            .units
            .iter()
            .filter(|u| u.parent.as_deref().is_some_and(|p| root_codes.contains(&p)))
            .map(|u| u.code.as_str())
            .collect();
        // The root's own opinions get a column of their own.
        let root_own: Vec<&str> = root_codes.clone();
        let mut unit_cols: Vec<Count> = Vec::new();
        for r in &root_own {
            unit_cols.push(Count {
                code: (*r).to_owned(),
                name: label_msg(
                    locale,
                    &Msg::new("syn-unit-direct").text("unit", unit_name(r)),
                ),
                opinions: 0,
            });
        }
        for c in &columns {
            unit_cols.push(Count {
                code: (*c).to_owned(),
                name: unit_name(c),
                opinions: 0,
            });
        }
        columns.splice(0..0, root_own.iter().copied());
        let n_roots = root_own.len();
        let topic_by_unit = cross(&topic_codes, &topic_title, unit_cols, agg, |r, i, col| {
            let Some(u) = r.unit.as_deref() else {
                return false;
            };
            if i < n_roots {
                u == col
            } else {
                within(&parents, u, col)
            }
        });

        let mut groups: Vec<Count> = campaign
            .target_groups
            .iter()
            .map(|g| Count {
                code: g.code.clone(),
                name: group_name(locale, &g.code),
                opinions: 0,
            })
            .collect();
        groups.push(Count {
            code: String::new(),
            name: label(locale, "syn-not-given"),
            opinions: 0,
        });
        let topic_by_group = cross(&topic_codes, &topic_title, groups, agg, |r, _, col| {
            r.target_group.as_deref().unwrap_or("") == col
        });
        let target_groups = totals(&topic_by_group);

        let mut source_cols: Vec<Count> = Vec::new();
        for code in SOURCES {
            if agg.counts.iter().any(|r| r.source == code) {
                source_cols.push(Count {
                    code: code.to_owned(),
                    name: source_name(locale, code),
                    opinions: 0,
                });
            }
        }
        for r in &agg.counts {
            if !source_cols.iter().any(|c| c.code == r.source) {
                source_cols.push(Count {
                    code: r.source.clone(),
                    name: source_name(locale, &r.source),
                    opinions: 0,
                });
            }
        }
        let topic_by_source = cross(&topic_codes, &topic_title, source_cols, agg, |r, _, col| {
            r.source == col
        });
        let sources = totals(&topic_by_source);

        Synthesis {
            unit: unit.map(|u| Count {
                code: u.to_owned(),
                name: unit_name(u),
                opinions: agg.opinions,
            }),
            opinions: agg.opinions,
            participants: agg.participants,
            topics,
            units,
            no_unit,
            target_groups,
            sources,
            topic_by_unit,
            topic_by_group,
            topic_by_source,
            days: agg.days.clone(),
            excluded: agg.exclusions.iter().map(|e| e.opinions).sum(),
            exclusions: agg.exclusions.clone(),
            agreements: agg
                .agreements
                .iter()
                .map(|(code, n)| Count {
                    code: code.clone(),
                    name: topic_title(code),
                    opinions: *n,
                })
                .collect(),
        }
    }
}

/// A topic × column table from the count rows; `matches(row, column index, column code)`.
fn cross(
    topics: &[String],
    title: &dyn Fn(&str) -> String,
    columns: Vec<Count>,
    agg: &Aggregates,
    matches: impl Fn(&CountRow, usize, &str) -> bool,
) -> CrossTable {
    let rows = topics
        .iter()
        .map(|t| {
            let cells: Vec<i64> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    agg.counts
                        .iter()
                        .filter(|r| &r.topic == t && matches(r, i, &c.code))
                        .map(|r| r.opinions)
                        .sum()
                })
                .collect();
            let total = agg
                .counts
                .iter()
                .filter(|r| &r.topic == t)
                .map(|r| r.opinions)
                .sum();
            (t.clone(), title(t), cells, total)
        })
        .collect();
    CrossTable { columns, rows }
}

/// The column totals of a cross-table, as counts.
fn totals(table: &CrossTable) -> Vec<Count> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| Count {
            code: c.code.clone(),
            name: c.name.clone(),
            opinions: table.rows.iter().map(|r| r.2[i]).sum(),
        })
        .collect()
}

impl Synthesis {
    /// The synthesis as plain text for the terminal (`gopy synthesis show`).
    pub fn to_text(&self, campaign: &Campaign, locale: Locale) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let l = |key: &str| label(locale, key);
        let scope = match &self.unit {
            Some(u) => u.name.clone(),
            None => campaign.title.clone(),
        };
        let _ = writeln!(out, "{}: {scope}", l("syn-h-title"));
        let _ = writeln!(
            out,
            "{}",
            label_msg(
                locale,
                &Msg::new("syn-h-totals")
                    .num("opinions", self.opinions)
                    .num("participants", self.participants)
                    .num("excluded", self.excluded)
            )
        );
        let _ = writeln!(out, "\n{}", l("syn-h-topics"));
        for t in &self.topics {
            let _ = writeln!(out, "  {:>6}  {} [{}]", t.opinions, t.title, t.code);
            for s in &t.sections {
                let _ = writeln!(out, "  {:>6}    {}", s.opinions, s.name);
            }
            if t.also > 0 {
                let _ = writeln!(out, "  {:>6}    {}", t.also, l("syn-h-also"));
            }
            let stances: Vec<String> = t
                .stances
                .iter()
                .filter(|s| s.opinions > 0)
                .map(|s| format!("{} {}", s.name, s.opinions))
                .collect();
            if !stances.is_empty() {
                let _ = writeln!(out, "            {}", stances.join(" · "));
            }
        }
        let _ = writeln!(out, "\n{}", l("syn-h-units"));
        for u in &self.units {
            let _ = writeln!(
                out,
                "  {:>6}  {}{} [{}]",
                u.total,
                "  ".repeat(u.depth),
                u.name,
                u.code
            );
        }
        if self.no_unit > 0 {
            let _ = writeln!(out, "  {:>6}  {}", self.no_unit, l("syn-not-given"));
        }
        for (heading, counts) in [
            ("syn-h-groups", &self.target_groups),
            ("syn-h-sources", &self.sources),
        ] {
            let _ = writeln!(out, "\n{}", l(heading));
            for c in counts {
                let _ = writeln!(out, "  {:>6}  {}", c.opinions, c.name);
            }
        }
        let _ = writeln!(out, "\n{}", l("syn-h-topic-by-unit"));
        let table = &self.topic_by_unit;
        let _ = writeln!(
            out,
            "  {:<28}{}",
            "",
            table
                .columns
                .iter()
                .map(|c| format!("{:>12}", cut(&c.name, 11)))
                .collect::<String>()
        );
        for (_, title, cells, total) in &table.rows {
            let _ = writeln!(
                out,
                "  {:<28}{}{:>8}",
                cut(title, 27),
                cells.iter().map(|n| format!("{n:>12}")).collect::<String>(),
                total
            );
        }
        let _ = writeln!(out, "\n{}", l("syn-h-days"));
        for (day, n) in &self.days {
            let shown = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_else(|_| day.clone());
            let _ = writeln!(out, "  {shown}  {n:>6}");
        }
        if !self.agreements.is_empty() {
            let _ = writeln!(out, "\n{}", l("syn-h-agreements"));
            for c in &self.agreements {
                let _ = writeln!(out, "  {:>6}  {} [{}]", c.opinions, c.name, c.code);
            }
        }
        let _ = writeln!(out, "\n{}", l("syn-h-excluded"));
        if self.exclusions.is_empty() {
            let _ = writeln!(out, "  0");
        }
        for e in &self.exclusions {
            let detail = e
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:>6}  {}{detail}",
                e.opinions,
                exclusion_name(locale, &e.reason)
            );
        }
        out
    }
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
