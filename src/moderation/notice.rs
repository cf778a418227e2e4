//! What moderation says to people, as localised [`Reply`]s (pure): the notice to an author
//! whose opinion or post was hidden (with the reason and how to appeal), the answers to
//! `/appeal` and `/report`, and the card a moderator reads for a queue item. The strings are
//! in `locales/*/moderation.ftl`.

use super::queue::Item;
use crate::dialog::{Msg, Reply};
use crate::domain::Locale;

fn reply(locale: Locale, paragraphs: Vec<Msg>) -> Reply {
    Reply {
        locale,
        paragraphs,
        choices: Vec::new(),
    }
}

/// To the author of an opinion a moderator hid: which opinion, why, and how to appeal.
pub fn opinion_hidden(locale: Locale, reference: &str, reason: &str) -> Reply {
    hidden(
        locale,
        Msg::new("mod-hidden-opinion").text("reference", reference),
        reason,
    )
}

/// To the author of a group post a moderator hid: which group, why, and how to appeal.
pub fn post_hidden(locale: Locale, group: &str, reason: &str) -> Reply {
    hidden(
        locale,
        Msg::new("mod-hidden-post").text("group", group),
        reason,
    )
}

fn hidden(locale: Locale, what: Msg, reason: &str) -> Reply {
    reply(
        locale,
        vec![what.text("reason", reason), Msg::new("mod-appeal-how")],
    )
}

/// To the author after their appeal: the hide stands, and why (of a post when `group` is
/// given, else of the opinion `reference`).
pub fn appeal_kept(locale: Locale, group: Option<&str>, reference: &str, reason: &str) -> Reply {
    let msg = match group {
        Some(g) => Msg::new("mod-appeal-kept-post").text("group", g),
        None => Msg::new("mod-appeal-kept-opinion").text("reference", reference),
    };
    reply(locale, vec![msg.text("reason", reason)])
}

/// To the author of a post hidden pending review after enough reports: a moderator will
/// decide and they will be told.
pub fn post_pending(locale: Locale, group: &str) -> Reply {
    reply(
        locale,
        vec![Msg::new("mod-pending-post").text("group", group)],
    )
}

/// To the author when a hide was undone or their appeal granted (a post when `group` is
/// given, else the opinion `reference`).
pub fn restored(locale: Locale, group: Option<&str>, reference: &str) -> Reply {
    let msg = match group {
        Some(g) => Msg::new("mod-restored-post").text("group", g),
        None => Msg::new("mod-restored-opinion").text("reference", reference),
    };
    reply(locale, vec![msg])
}

/// The notice owed to an author, as stored: a hide (after an appeal: that it stands) or a
/// restoration, of a post in a group or of an opinion. `None` when neither the group nor the
/// opinion is known any more.
pub fn owed(n: &crate::store::PendingNotice) -> Option<Reply> {
    let group = n.group_title.as_deref();
    let reference = n.opinion_reference.as_deref();
    if group.is_none() && reference.is_none() {
        return None;
    }
    let reference = reference.unwrap_or_default();
    use crate::store::NoticeKind;
    Some(match (n.kind, n.appealed, group) {
        (NoticeKind::Restored, _, _) => restored(n.locale, group, reference),
        (NoticeKind::PendingReview, _, Some(g)) => post_pending(n.locale, g),
        (NoticeKind::PendingReview, _, None) => return None,
        (NoticeKind::Hidden, true, _) => appeal_kept(n.locale, group, reference, &n.reason),
        (NoticeKind::Hidden, false, Some(g)) => post_hidden(n.locale, g, &n.reason),
        (NoticeKind::Hidden, false, None) => opinion_hidden(n.locale, reference, &n.reason),
    })
}

/// The answer to `/appeal`: received, or nothing to appeal.
pub fn appeal_answer(locale: Locale, received: bool) -> Reply {
    let key = if received {
        "mod-appeal-received"
    } else {
        "mod-appeal-nothing"
    };
    reply(locale, vec![Msg::new(key)])
}

/// The answer to `/report`: counted (with the count so far and, once reached, that the post
/// went to a moderator) or already reported by this person.
pub fn report_answer(
    locale: Locale,
    counted: bool,
    reports: i64,
    threshold: i64,
    queued: bool,
) -> Reply {
    if !counted {
        return reply(locale, vec![Msg::new("mod-report-duplicate")]);
    }
    let mut paragraphs = vec![
        Msg::new("mod-report-received")
            .num("reports", reports)
            .num("threshold", threshold),
    ];
    if queued {
        paragraphs.push(Msg::new("mod-report-queued"));
    }
    reply(locale, paragraphs)
}

/// The card a moderator reads for an item: number, categories (in the moderator's language),
/// score, the text with the matches marked, and how often the author was flagged before
/// (never who they are beyond what the platform shows).
pub fn moderator_card(locale: Locale, item: &Item, prior_flags: i64) -> Reply {
    let categories: Vec<&str> = item
        .categories
        .iter()
        .map(|code| {
            super::Category::parse(code).map_or(code.as_str(), |c| match locale {
                Locale::Vi => c.label_vi(),
                Locale::En => c.as_str(),
            })
        })
        .collect();
    reply(
        locale,
        vec![
            Msg::new("mod-card")
                .num("id", item.id)
                .text("categories", categories.join(", "))
                .num("score", item.score)
                .text("text", item.highlighted())
                .num("prior", prior_flags),
        ],
    )
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::i18n::{Localizer, Markup};
    use crate::moderation::{Source, Status, StoredMatch, Target};

    fn render(r: &Reply) -> String {
        let l = Localizer::new().expect("locales");
        for p in &r.paragraphs {
            assert!(
                l.has(r.locale, &p.key),
                "{} missing in {:?}",
                p.key,
                r.locale
            );
        }
        l.reply(r, Markup::TelegramHtml, true).text
    }

    #[test]
    fn an_author_is_told_why_and_how_to_appeal_in_their_language() {
        let vi = render(&opinion_hidden(Locale::Vi, "GY-7K3QH2", "Lăng mạ <cán bộ>"));
        assert!(vi.contains("<b>GY-7K3QH2</b>"), "{vi}");
        assert!(
            vi.contains("Lý do: Lăng mạ &lt;cán bộ&gt;"),
            "reason escaped: {vi}"
        );
        assert!(vi.contains("/appeal"), "{vi}");
        assert!(vi.contains("Quý vị"), "{vi}");
        let en = render(&post_hidden(Locale::En, "Tổ dân phố 3", "Spam"));
        assert!(
            en.contains("Tổ dân phố 3") && en.contains("Reason: Spam"),
            "{en}"
        );
        assert!(en.contains("/appeal"), "{en}");
    }

    #[test]
    fn an_author_learns_how_their_appeal_ended_and_when_a_hide_is_undone() {
        let kept = render(&appeal_kept(Locale::Vi, Some("Tổ 3"), "", "Lăng mạ"));
        assert!(
            kept.contains("giữ nguyên") && kept.contains("Lăng mạ"),
            "{kept}"
        );
        let kept = render(&appeal_kept(Locale::En, None, "GY-7K3QH2", "Spam"));
        assert!(
            kept.contains("GY-7K3QH2") && kept.contains("stands"),
            "{kept}"
        );
        let back = render(&restored(Locale::Vi, None, "GY-7K3QH2"));
        assert!(
            back.contains("khôi phục") && back.contains("GY-7K3QH2"),
            "{back}"
        );
        let back = render(&restored(Locale::En, Some("Tổ 3"), ""));
        assert!(
            back.contains("Tổ 3") && back.contains("post it again"),
            "{back}"
        );
    }

    #[test]
    fn appeals_and_reports_are_answered() {
        assert!(render(&appeal_answer(Locale::Vi, true)).contains("người kiểm duyệt khác"));
        assert!(render(&appeal_answer(Locale::En, false)).contains("appealed once"));
        let counted = render(&report_answer(Locale::Vi, true, 2, 3, false));
        assert!(counted.contains("2 / 3"), "{counted}");
        let queued = render(&report_answer(Locale::En, true, 3, 3, true));
        assert!(queued.contains("3 / 3") && queued.contains("passed to a moderator"));
        let twice = render(&report_answer(Locale::Vi, false, 3, 3, false));
        assert!(twice.contains("một lần"), "{twice}");
    }

    #[test]
    fn a_moderator_card_shows_the_matches_highlighted_and_prior_flags() {
        let item = Item {
            id: 12,
            target: Target::Opinion { opinion_id: 5 },
            text: "đm <b>".to_owned(),
            author: Some(1),
            source: Source::Detector,
            categories: vec!["insult".to_owned()],
            score: 3,
            matches: vec![StoredMatch {
                category: "insult".to_owned(),
                term: "đm".to_owned(),
                weight: 3,
                start: 0,
                end: 3,
            }],
            status: Status::Queued,
            created_at: Utc::now(),
            decision: None,
            appeal: None,
            previous_moderator: None,
        };
        let vi = render(&moderator_card(Locale::Vi, &item, 2));
        assert!(vi.contains("Mục #12"), "{vi}");
        assert!(vi.contains("lăng mạ, tục tĩu"), "{vi}");
        assert!(vi.contains("[[đm]] &lt;b&gt;"), "text escaped: {vi}");
        assert!(vi.contains("2 lần"), "{vi}");
        let en = render(&moderator_card(Locale::En, &item, 0));
        assert!(en.starts_with("<b>Item #12</b> — insult (score 3)"), "{en}");
    }
}
