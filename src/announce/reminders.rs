//! Automatic reminders before a campaign's collection closes ("còn 2 ngày"): to the bound
//! groups of its units, and in private chat only to residents who consented but have
//! submitted nothing and have not turned notices off. Each reminder is scheduled once (the
//! store records it in the same transaction as its broadcast, so several gopy processes can
//! run this side by side), goes through the outbox like any broadcast, and only between 07:00
//! and 21:00 Vietnam time, never at night.
//!
//! The lead of an assisted group who has not confirmed a post within a day gets it again, once,
//! also by day only.
//!
//! [`due`] is pure; [`tick`] looks at every campaign once; [`run`] ticks every minute, in
//! this process's turn when several share the database ([`tick_in_turn`]).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use tokio_util::sync::CancellationToken;

use super::broadcast::first_send_time;
use crate::dialog::Msg;
use crate::domain::{Campaign, Locale, PhaseKind};
use crate::i18n::{Localizer, Markup};
use crate::store::announce::{NewReminder, ReminderKind, Schedule};
use crate::store::{Store, StoreResult};

/// Hours before the close at which a campaign reminds when no official has set them: two
/// days, as the plans' announcements do ("còn 2 ngày").
pub const DEFAULT_HOURS: [i64; 1] = [48];

/// The longest lead an official may set: thirty days.
pub const MAX_HOURS: i64 = 720;

/// How long the lead of an assisted group has to confirm a post before gopy sends it to them
/// again (once).
pub const LEAD_REMINDER_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// How often [`run`] looks.
const TICK: Duration = Duration::from_secs(60);

/// The daily window reminders go out in (Vietnam time): never at night.
pub fn daytime() -> Schedule {
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
    Schedule::Windows {
        windows: vec![(t(7), t(21))],
    }
}

/// The reminders (hours before the close) that are due at `now` for a collection open from
/// `opens` to `closes`: those whose moment has come while collection is still open. A
/// reminder whose moment fell before collection opened is not sent (it would say "two days
/// left" on the first day).
pub fn due(
    opens: DateTime<Utc>,
    closes: DateTime<Utc>,
    hours: &[i64],
    now: DateTime<Utc>,
) -> Vec<i64> {
    if now < opens || now >= closes {
        return Vec::new();
    }
    let mut out: Vec<i64> = hours
        .iter()
        .copied()
        .filter(|h| *h > 0)
        .filter(|h| {
            let at = closes - chrono::Duration::hours(*h);
            at <= now && at >= opens
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What a reminder says, in Vietnamese (residents' chats and village groups are Vietnamese
/// first; the text is one per broadcast).
pub fn text(
    l10n: &Localizer,
    c: &Campaign,
    closes: DateTime<Utc>,
    now: DateTime<Utc>,
    kind: ReminderKind,
) -> String {
    let left = closes - now;
    let days = left.num_days();
    let hours = left.num_hours().max(1);
    let local = closes.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh);
    let key = match kind {
        ReminderKind::Groups => "reminder-groups",
        ReminderKind::Residents => "reminder-residents",
    };
    let msg = Msg::new(key)
        .text("title", c.title.clone())
        .num("days", days)
        .num("hours", hours)
        .text("closes", local.format("%H:%M ngày %d/%m/%Y").to_string());
    l10n.msg(Locale::Vi, &msg, Markup::Plain)
}

/// Schedules every reminder due now across all campaigns; returns the broadcasts scheduled.
pub async fn tick(
    store: &Arc<dyn Store>,
    l10n: &Localizer,
    now: DateTime<Utc>,
) -> StoreResult<Vec<i64>> {
    let mut scheduled = Vec::new();
    // Posts the leads of assisted groups have not confirmed go to them again, by day only.
    if first_send_time(&daytime(), now) <= now {
        let n = store
            .remind_unconfirmed(now - LEAD_REMINDER_AFTER, now)
            .await?;
        if n > 0 {
            tracing::info!(posts = n, "leads reminded of posts they have not confirmed");
        }
    }
    for c in store.campaigns().await? {
        let Some(collect) = c.phase(PhaseKind::Collect) else {
            continue;
        };
        let hours = store
            .reminder_hours(c.id)
            .await?
            .unwrap_or_else(|| DEFAULT_HOURS.to_vec());
        for h in due(collect.starts_at, collect.ends_at, &hours, now) {
            for kind in [ReminderKind::Groups, ReminderKind::Residents] {
                let schedule = daytime();
                let r = NewReminder {
                    campaign_id: c.id,
                    hours_before: h,
                    kind,
                    text: text(l10n, &c, collect.ends_at, now, kind),
                    not_before: first_send_time(&schedule, now),
                    schedule,
                };
                if let Some(id) = store.schedule_reminder(&r, now).await? {
                    tracing::info!(
                        campaign = c.id,
                        hours_before = h,
                        kind = kind.as_str(),
                        broadcast = id,
                        "reminder scheduled"
                    );
                    scheduled.push(id);
                }
            }
        }
    }
    Ok(scheduled)
}

/// How recently another process must have ticked for this one to leave the minute to it.
const TURN_EVERY: chrono::Duration = chrono::Duration::seconds(50);

/// [`tick`] in this process's turn (see [`crate::store::jobs::in_turn`]): with several
/// processes on one database, one of them ticks each minute. Returns `None` when it was not
/// this process's turn. (Each reminder would go once anyway, being recorded with its
/// broadcast; the turn spares the others the work.)
pub async fn tick_in_turn(
    store: &Arc<dyn Store>,
    l10n: &Localizer,
    now: DateTime<Utc>,
) -> StoreResult<Option<Vec<i64>>> {
    use crate::store::jobs::{Job, in_turn};
    in_turn(
        store.as_ref(),
        Job::Reminders,
        now,
        TURN_EVERY,
        tick(store, l10n, now),
    )
    .await?
    .transpose()
}

/// Ticks every minute until shutdown; a database that is away is tried again next minute.
pub async fn run(store: Arc<dyn Store>, l10n: Arc<Localizer>, shutdown: CancellationToken) {
    let mut trouble = false;
    while !shutdown.is_cancelled() {
        match tick_in_turn(&store, &l10n, Utc::now()).await {
            Ok(_) => trouble = false,
            Err(e) => {
                if !trouble {
                    tracing::warn!(error = %e, "cannot schedule reminders; trying again in a minute");
                }
                trouble = true;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        use chrono::TimeZone as _;
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
            .single()
            .expect("a valid time")
    }

    #[test]
    fn a_reminder_is_due_from_its_moment_until_the_close_and_never_before_opening() {
        let (opens, closes) = (at(1, 0), at(20, 0));
        assert!(due(opens, closes, &[48], at(17, 23)).is_empty());
        assert_eq!(due(opens, closes, &[48], at(18, 0)), vec![48]);
        assert_eq!(due(opens, closes, &[48, 6], at(19, 18)), vec![6, 48]);
        assert!(due(opens, closes, &[48], at(20, 0)).is_empty(), "closed");
        assert!(due(opens, closes, &[48], at(1, 0) - chrono::Duration::hours(1)).is_empty());
        // Collection shorter than the lead: "two days left" would come before it opened.
        assert!(due(at(19, 0), closes, &[48], at(19, 12)).is_empty());
        assert!(due(opens, closes, &[0, -5], at(19, 12)).is_empty());
        assert!(due(opens, closes, &[], at(19, 12)).is_empty());
    }

    #[test]
    fn reminders_go_by_day_only() {
        let now = at(21, 22);
        assert_eq!(first_send_time(&daytime(), now), at(22, 0));
        assert_eq!(first_send_time(&daytime(), at(22, 3)), at(22, 3));
    }
}
