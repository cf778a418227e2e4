//! What each step shows: its paragraphs and its options, computed from the state, the
//! campaign, the collection window and the resident's opinions. The same view decides which
//! buttons and typed answers are valid, so what is shown and what is accepted never differ.

use chrono::{DateTime, Utc};

use super::choices::Opt;
use super::{Context, DialogState, Msg, Step};
use crate::domain::{
    Campaign, CollectionWindow, MAX_OPINION_CHARS, Opinion, OpinionStatus, TargetGroup,
};

/// Characters of an opinion shown in the review and in acknowledgements.
pub const PREVIEW_CHARS: usize = 200;

/// Characters of an opinion shown on its button in `/my`.
const LABEL_PREVIEW_CHARS: usize = 40;

/// Characters of opinions and titles the review shows before it says "… and N more"; keeps
/// the whole reply well under Telegram's 4,096 characters.
const REVIEW_BUDGET: usize = 2800;

/// Opinions listed by `/my` (the newest); older ones are counted, not listed.
pub const MY_LIMIT: usize = 20;

/// An opinion longer than this is sent in a message of its own before its details, so that
/// neither message passes Telegram's 4,096 characters.
const LONG_OPINION_CHARS: usize = 3000;

/// How much of a step to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything, as when the resident arrives at the step.
    Full,
    /// A short reminder with the options, after an error or a command in the middle of a step.
    Compact,
}

/// What a step shows and accepts.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// Paragraphs sent as a message of their own before the main one (a very long opinion).
    pub lead: Vec<Msg>,
    /// The paragraphs of the main message.
    pub paragraphs: Vec<Msg>,
    /// The options, in order.
    pub options: Vec<Opt>,
    /// Whether free text is taken as content here (an opinion, or the new text of one).
    pub free_text: bool,
}

impl View {
    /// A view of paragraphs with no options.
    fn text(paragraphs: Vec<Msg>) -> View {
        View {
            paragraphs,
            ..View::default()
        }
    }
}

/// Whether the step interrupts the flow (entered by a command; left back to `state.resume`).
pub fn is_interrupt(step: &Step) -> bool {
    matches!(
        step,
        Step::MyOpinions
            | Step::MyOpinion { .. }
            | Step::EditOpinion { .. }
            | Step::ConfirmWithdraw { .. }
            | Step::ConfirmDelete
            | Step::ChooseLanguage
    )
}

/// Whether showing the step, or acting on one of its options, reads the resident's opinions.
pub fn uses_opinions(step: &Step) -> bool {
    matches!(
        step,
        Step::Menu
            | Step::Review
            | Step::MyOpinions
            | Step::MyOpinion { .. }
            | Step::EditOpinion { .. }
            | Step::ConfirmWithdraw { .. }
    )
}

/// A date and time as residents read them: `dd/mm/yyyy HH:MM`, Asia/Ho_Chi_Minh.
pub fn local_time(at: DateTime<Utc>) -> String {
    crate::domain::format_local(at)
}

/// The end of a period (collection closing): a midnight end reads `26/11/2026 24:00`.
pub fn local_end(at: DateTime<Utc>) -> String {
    crate::domain::format_local_end(at)
}

/// The first `max` characters of a text on one line, with `…` when cut.
pub fn preview(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut = cut.trim_end().to_owned();
    cut.push('…');
    cut
}

/// Whether the collection window is open now.
pub fn is_open(ctx: &Context<'_>) -> bool {
    ctx.campaign
        .is_some_and(|c| matches!(c.window(ctx.now), CollectionWindow::Open(_)))
}

/// The target groups of the campaign whose names `locales/` has.
pub fn target_groups(c: &Campaign) -> Vec<&str> {
    c.target_groups
        .iter()
        .map(|g| g.code.as_str())
        .filter(|code| TargetGroup::KNOWN.contains(code))
        .collect()
}

/// Topic title for a code, or the code itself when the campaign no longer has the topic.
pub fn topic_title<'a>(ctx: &Context<'a>, code: &'a str) -> &'a str {
    ctx.campaign
        .and_then(|c| c.topic(code))
        .map_or(code, |t| t.title.as_str())
}

/// The view of the resident's current step.
pub fn view(state: &DialogState, ctx: &Context<'_>, opinions: &[Opinion], detail: Detail) -> View {
    if !is_interrupt(&state.step)
        && let Some(gate) = gate(ctx)
    {
        return gate;
    }
    let Some(c) = ctx.campaign else {
        // Only interrupt steps get here without a campaign.
        return interrupt_view(state, ctx, opinions, detail);
    };
    match &state.step {
        Step::Idle => View {
            paragraphs: vec![Msg::new("idle-prompt").text("title", &c.title)],
            options: vec![Opt::new("start", Msg::new("choice-start"))],
            ..View::default()
        },
        Step::Consent => consent(c, detail),
        Step::ChooseUnit => units(c),
        Step::ChooseTargetGroup => groups(c),
        Step::AskNotices => notices_question(),
        Step::Menu => menu(state, c),
        Step::Topic { topic } => topic_view(state, c, topic, detail),
        Step::Review => review(ctx, c, opinions),
        _ => interrupt_view(state, ctx, opinions, detail),
    }
}

/// What a flow step shows when the dialog cannot go on: no campaign, or outside the window.
fn gate(ctx: &Context<'_>) -> Option<View> {
    let Some(c) = ctx.campaign else {
        return Some(View::text(vec![Msg::new("no-campaign")]));
    };
    match c.window(ctx.now) {
        CollectionWindow::Open(_) => None,
        CollectionWindow::NotYetOpen(at) => Some(View::text(vec![
            Msg::new("phase-not-open")
                .text("title", &c.title)
                .text("opens", local_time(at)),
        ])),
        CollectionWindow::Closed(at) => Some(View {
            paragraphs: vec![
                Msg::new("phase-closed")
                    .text("title", &c.title)
                    .text("closed", local_end(at)),
            ],
            options: vec![Opt::new("my", Msg::new("choice-my"))],
            ..View::default()
        }),
    }
}

/// The notice and the consent question.
fn consent(c: &Campaign, detail: Detail) -> View {
    let mut paragraphs = Vec::new();
    if detail == Detail::Full {
        paragraphs.push(
            Msg::new("consent-welcome")
                .text("title", &c.title)
                .text("intro", &c.intro),
        );
        paragraphs.push(notice(c));
    }
    paragraphs.push(Msg::new("consent-question"));
    View {
        paragraphs,
        options: vec![
            Opt::new("named", Msg::new("choice-named")),
            Opt::new("anon", Msg::new("choice-anonymous")),
            Opt::new("leave", Msg::new("choice-leave")),
        ],
        ..View::default()
    }
}

/// The short privacy notice shown before consent.
pub fn notice(c: &Campaign) -> Msg {
    Msg::new("consent-notice")
        .text("issuer", &c.issuer)
        .text("document", &c.document_title)
        .text("purpose", &c.purpose)
        .num("months", i64::from(c.retention_months))
}

/// The full privacy notice (`/privacy`).
pub fn privacy(ctx: &Context<'_>) -> Msg {
    match ctx.campaign {
        Some(c) => Msg::new("privacy-full")
            .text("issuer", &c.issuer)
            .text("document", &c.document_title)
            .text("purpose", &c.purpose)
            .num("months", i64::from(c.retention_months))
            .text("closes", c.closes_at().map(local_end).unwrap_or_default()),
        None => Msg::new("privacy-general"),
    }
}

/// Choosing a unit: the units under the root, then the root itself as "elsewhere".
fn units(c: &Campaign) -> View {
    let root = c.root_unit();
    let mut options: Vec<Opt> = c
        .units
        .iter()
        .skip(1)
        .map(|u| {
            Opt::new(
                format!("u:{}", u.code),
                Msg::new("unit-choice").text("name", &u.name),
            )
            .alias(&u.code)
        })
        .collect();
    if let Some(r) = root {
        options.push(
            Opt::new(
                format!("u:{}", r.code),
                Msg::new("unit-choice-root").text("name", &r.name),
            )
            .alias(&r.name),
        );
    }
    View {
        paragraphs: vec![
            Msg::new("unit-prompt").text("name", root.map(|r| r.name.as_str()).unwrap_or("")),
        ],
        options,
        ..View::default()
    }
}

/// Choosing a target group, or skipping the question.
fn groups(c: &Campaign) -> View {
    let mut options: Vec<Opt> = target_groups(c)
        .into_iter()
        .map(|code| {
            Opt::new(
                format!("g:{code}"),
                Msg::new(&format!("target-group-{code}")),
            )
        })
        .collect();
    options.push(Opt::new("gskip", Msg::new("choice-skip-target-group")));
    View {
        paragraphs: vec![Msg::new("target-group-prompt")],
        options,
        ..View::default()
    }
}

/// Asked once after consent: announcements in this chat, yes or no.
fn notices_question() -> View {
    View {
        paragraphs: vec![Msg::new("notices-ask")],
        options: vec![
            Opt::new("notices:on", Msg::new("choice-notices-yes"))
                .alias("co")
                .alias("yes"),
            Opt::new("notices:off", Msg::new("choice-notices-no"))
                .alias("khong")
                .alias("no"),
        ],
        ..View::default()
    }
}

/// The topic menu with progress marks.
fn menu(state: &DialogState, c: &Campaign) -> View {
    let given = c
        .topics
        .iter()
        .filter(|t| state.given.get(&t.code).is_some_and(|n| *n > 0))
        .count();
    let mut options: Vec<Opt> = c
        .topics
        .iter()
        .map(|t| {
            let n = state.given.get(&t.code).copied().unwrap_or(0);
            let label = if n > 0 {
                Msg::new("menu-topic-given")
                    .text("title", &t.title)
                    .num("count", i64::from(n))
            } else if state.skipped.contains(&t.code) {
                Msg::new("menu-topic-skipped").text("title", &t.title)
            } else {
                Msg::new("menu-topic-new").text("title", &t.title)
            };
            Opt::new(format!("t:{}", t.code), label)
                .alias(&t.title)
                .alias(&t.code)
        })
        .collect();
    options.push(Opt::new("review", Msg::new("choice-review")));
    View {
        paragraphs: vec![
            Msg::new("menu-header")
                .num("given", count(given))
                .num("total", count(c.topics.len())),
            Msg::new("menu-legend"),
        ],
        options,
        ..View::default()
    }
}

/// One topic: its sections, the question, and what to do next.
fn topic_view(state: &DialogState, c: &Campaign, code: &str, detail: Detail) -> View {
    let Some((index, topic)) = c.topics.iter().enumerate().find(|(_, t)| t.code == code) else {
        return View {
            paragraphs: vec![Msg::new("topic-missing")],
            options: vec![Opt::new("menu", Msg::new("choice-menu"))],
            ..View::default()
        };
    };
    let given = state.given.get(code).copied().unwrap_or(0);
    let mut paragraphs = vec![
        Msg::new("topic-header")
            .num("index", count(index + 1))
            .num("total", count(c.topics.len()))
            .text("title", &topic.title),
    ];
    if detail == Detail::Full {
        for reference in &topic.sections {
            if let Some(s) = c.section(reference) {
                paragraphs.push(
                    Msg::new("topic-section")
                        .text("reference", &s.reference)
                        .text("title", &s.title)
                        .text("summary", &s.summary),
                );
            }
        }
        paragraphs.push(Msg::new("topic-question").text("question", &topic.question));
    }
    paragraphs.push(if given > 0 {
        Msg::new("topic-prompt-more").num("count", i64::from(given))
    } else {
        Msg::new("topic-prompt").num("max", count(MAX_OPINION_CHARS))
    });
    View {
        paragraphs,
        options: topic_options(given),
        free_text: true,
        ..View::default()
    }
}

/// The options under a topic: skipping makes sense only before anything is given.
fn topic_options(given: u32) -> Vec<Opt> {
    let mut options = vec![
        Opt::new("next", Msg::new("choice-next-topic")),
        Opt::new("menu", Msg::new("choice-menu")),
    ];
    if given == 0 {
        options.push(Opt::new("skip", Msg::new("choice-skip")));
    }
    options
}

/// Everything given and not yet submitted, grouped by topic, within the length budget.
fn review(ctx: &Context<'_>, c: &Campaign, opinions: &[Opinion]) -> View {
    let drafts: Vec<&Opinion> = opinions
        .iter()
        .filter(|o| o.status == OpinionStatus::Draft)
        .collect();
    if drafts.is_empty() {
        return View {
            paragraphs: vec![Msg::new("review-empty")],
            options: vec![Opt::new("menu", Msg::new("choice-menu"))],
            ..View::default()
        };
    }
    let mut codes: Vec<&str> = c.topics.iter().map(|t| t.code.as_str()).collect();
    for o in &drafts {
        if !codes.contains(&o.topic.as_str()) {
            codes.push(&o.topic);
        }
    }
    let mut paragraphs = vec![Msg::new("review-header").num("count", count(drafts.len()))];
    let mut used = 0;
    let mut more = 0;
    for code in codes {
        let mine: Vec<&&Opinion> = drafts.iter().filter(|o| o.topic == code).collect();
        if mine.is_empty() {
            continue;
        }
        let title = topic_title(ctx, code);
        used += title.chars().count() + 20;
        let mut items = Vec::new();
        for o in &mine {
            let p = preview(&o.text, PREVIEW_CHARS);
            let cost = p.chars().count() + 3;
            if used + cost > REVIEW_BUDGET {
                more += 1;
                continue;
            }
            used += cost;
            items.push(format!("• {p}"));
        }
        if !items.is_empty() {
            paragraphs.push(
                Msg::new("review-topic")
                    .text("title", title)
                    .num("count", count(mine.len()))
                    .text("items", items.join("\n")),
            );
        }
    }
    if more > 0 {
        paragraphs.push(Msg::new("review-more").num("count", count(more)));
    }
    paragraphs.push(
        Msg::new("review-footer").text("closes", c.closes_at().map(local_end).unwrap_or_default()),
    );
    View {
        paragraphs,
        options: vec![
            Opt::new("submit", Msg::new("choice-submit")),
            Opt::new("menu", Msg::new("choice-menu")),
        ],
        ..View::default()
    }
}

/// The steps entered by a command: `/my` and its sub-steps, `/delete_me`, `/language`.
fn interrupt_view(state: &DialogState, ctx: &Context<'_>, opinions: &[Opinion], _: Detail) -> View {
    let open = is_open(ctx);
    let back = || Opt::new("back", Msg::new("choice-back"));
    match &state.step {
        Step::MyOpinions => my_list(ctx, opinions, open),
        Step::MyOpinion { reference } => {
            let Some(o) = find(opinions, reference) else {
                return not_found(reference);
            };
            let mut v = View::default();
            let details = Msg::new("my-opinion")
                .text("reference", &o.reference)
                .text("title", topic_title(ctx, &o.topic))
                .text("status", o.status.as_str())
                .text("created", local_time(o.created_at));
            let text = Msg::new("my-opinion-text").text("text", &o.text);
            let edited = o
                .edited_at
                .map(|at| Msg::new("my-opinion-edited").text("edited", local_time(at)));
            if o.text.chars().count() > LONG_OPINION_CHARS {
                v.lead.push(text);
                v.paragraphs.push(details);
                v.paragraphs.extend(edited);
            } else {
                v.paragraphs.push(details);
                v.paragraphs.extend(edited);
                v.paragraphs.push(text);
            }
            if open && o.status != OpinionStatus::Withdrawn {
                v.options.push(Opt::new("edit", Msg::new("choice-edit")));
                v.options.push(Opt::new("wd", Msg::new("choice-withdraw")));
            } else if !open {
                v.paragraphs.push(Msg::new("my-closed-note"));
            }
            v.options.push(back());
            v
        }
        Step::EditOpinion { reference } | Step::ConfirmWithdraw { reference } => {
            let Some(o) = find(opinions, reference) else {
                return not_found(reference);
            };
            if !open || o.status == OpinionStatus::Withdrawn {
                let note = if open {
                    Msg::new("my-already-withdrawn").text("reference", &o.reference)
                } else {
                    Msg::new("my-closed-note")
                };
                return View {
                    paragraphs: vec![note],
                    options: vec![back()],
                    ..View::default()
                };
            }
            let p = preview(&o.text, PREVIEW_CHARS);
            if matches!(state.step, Step::EditOpinion { .. }) {
                View {
                    paragraphs: vec![
                        Msg::new("edit-prompt")
                            .text("reference", &o.reference)
                            .text("preview", p)
                            .num("max", count(MAX_OPINION_CHARS)),
                    ],
                    options: vec![Opt::new("back", Msg::new("choice-cancel-edit"))],
                    free_text: true,
                    ..View::default()
                }
            } else {
                View {
                    paragraphs: vec![
                        Msg::new("withdraw-confirm")
                            .text("reference", &o.reference)
                            .text("preview", p),
                    ],
                    options: vec![
                        Opt::new("wdyes", Msg::new("choice-withdraw-confirm")),
                        Opt::new("back", Msg::new("choice-withdraw-keep")),
                    ],
                    ..View::default()
                }
            }
        }
        Step::ConfirmDelete => {
            let mut v = View {
                paragraphs: vec![Msg::new("delete-explain")],
                options: vec![
                    Opt::new("delw", Msg::new("choice-delete-withdraw")),
                    Opt::new("delk", Msg::new("choice-delete-keep")),
                ],
                ..View::default()
            };
            // A resident linked across channels may undo only the link.
            if ctx.link.is_some_and(|l| l.person.is_some()) {
                v.paragraphs.push(Msg::new("delete-linked"));
                v.options
                    .push(Opt::new("unlink", Msg::new("choice-delete-unlink")));
            }
            v.options
                .push(Opt::new("back", Msg::new("choice-delete-cancel")));
            v
        }
        Step::ChooseLanguage => View {
            paragraphs: vec![Msg::new("language-prompt")],
            options: vec![
                Opt::new("lang:vi", Msg::new("language-vi")).alias("vi"),
                Opt::new("lang:en", Msg::new("language-en")).alias("en"),
                back(),
            ],
            ..View::default()
        },
        // Flow steps without a campaign are caught by the gate; this is never reached.
        _ => View::text(vec![Msg::new("no-campaign")]),
    }
}

/// The resident's opinions as choices, newest last.
fn my_list(ctx: &Context<'_>, opinions: &[Opinion], open: bool) -> View {
    let back = Opt::new("back", Msg::new("choice-back"));
    if opinions.is_empty() {
        return View {
            paragraphs: vec![Msg::new("my-empty")],
            options: vec![back],
            ..View::default()
        };
    }
    let mut paragraphs = vec![Msg::new("my-header").num("count", count(opinions.len()))];
    let skip = opinions.len().saturating_sub(MY_LIMIT);
    if skip > 0 {
        paragraphs.push(Msg::new("my-older").num("count", count(skip)));
    }
    if !open {
        paragraphs.push(Msg::new("my-closed-note"));
    }
    let mut options: Vec<Opt> = opinions
        .iter()
        .skip(skip)
        .map(|o| {
            let key = match o.status {
                OpinionStatus::Draft => "my-item-draft",
                OpinionStatus::Submitted => "my-item-submitted",
                OpinionStatus::Withdrawn => "my-item-withdrawn",
            };
            Opt::new(
                format!("o:{}", o.reference),
                Msg::new(key)
                    .text("title", topic_title(ctx, &o.topic))
                    .text("preview", preview(&o.text, LABEL_PREVIEW_CHARS)),
            )
            .alias(&o.reference)
        })
        .collect();
    options.push(back);
    View {
        paragraphs,
        options,
        ..View::default()
    }
}

/// An opinion the resident named is not (or no longer) theirs to see.
fn not_found(reference: &str) -> View {
    View {
        paragraphs: vec![Msg::new("my-not-found").text("reference", reference)],
        options: vec![Opt::new("back", Msg::new("choice-back"))],
        ..View::default()
    }
}

/// The resident's opinion with this reference.
pub fn find<'a>(opinions: &'a [Opinion], reference: &str) -> Option<&'a Opinion> {
    opinions.iter().find(|o| o.reference == reference)
}

/// A count as a Fluent number argument.
pub fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
