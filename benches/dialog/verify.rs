//! After a run: reads gopy's database through its own store and checks that every opinion
//! the bot acknowledged is there, once, and that every resident who got a receipt has all of
//! their opinions submitted.

use std::collections::HashMap;

use anyhow::{Context as _, Result};

use gopy::domain::{Channel, ContactKey, OpinionStatus};

use crate::driver::ResidentResult;
use crate::report::Run;

/// At most this many problems are named in the report.
const MAX_NAMED: usize = 8;

/// What the database holds compared with what the residents were told.
#[derive(Debug, Default, Clone)]
pub struct Check {
    /// Opinions the bot acknowledged.
    pub acked: u64,
    /// Opinions stored for the simulated residents (not withdrawn).
    pub stored: u64,
    /// Acknowledged opinions missing from the database (must be 0).
    pub losses: u64,
    /// Opinions stored beyond those sent (doubled; must be 0).
    pub doubled: u64,
    /// Residents that got a receipt.
    pub finished: usize,
    /// Of those, how many have exactly their 6–12 planned opinions submitted and no drafts.
    pub complete: usize,
    /// The first few residents whose stored opinions do not match, in words.
    pub problems: Vec<String>,
}

impl Check {
    /// Puts the findings into a run's result; `everyone` is the number of residents who had
    /// to finish with all their opinions submitted (a closed loop), if any.
    pub fn fill(self, run: &mut Run, everyone: Option<usize>) {
        run.losses = Some(self.losses);
        run.doubled = Some(self.doubled);
        run.complete = Some(self.complete);
        run.problems = self.problems;
        if let Some(n) = everyone
            && self.complete != n
        {
            run.problems.push(format!(
                "{} of {n} residents have all their 6–12 opinions submitted",
                self.complete
            ));
        }
        if self.doubled > 0 {
            run.problems.push(format!(
                "{} opinions stored more often than sent",
                self.doubled
            ));
        }
    }
}

/// Opinion counts of one contact by status.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Drafts.
    draft: u64,
    /// Submitted.
    submitted: u64,
}

/// Checks gopy's database at `url` (gopy must have stopped, for SQLite) against the residents,
/// who talked to gopy on `channel` (Telegram: the user id; Zalo: the id as 20 hex digits).
pub async fn gopy(url: &str, residents: &[ResidentResult], channel: Channel) -> Result<Check> {
    let store = gopy::store::open(url)
        .await
        .context("cannot open gopy's database to check it")?;
    let mut by_contact: HashMap<i64, Counts> = HashMap::new();
    for campaign in store.campaigns().await? {
        for o in store.campaign_opinions(campaign.id).await? {
            let Some(contact) = o.contact_id else {
                continue;
            };
            let c = by_contact.entry(contact).or_default();
            match o.status {
                OpinionStatus::Draft => c.draft += 1,
                OpinionStatus::Submitted => c.submitted += 1,
                OpinionStatus::Withdrawn => {}
            }
        }
    }
    let mut check = Check::default();
    for r in residents {
        let key = ContactKey {
            channel,
            external_id: match channel {
                Channel::Zalo => format!("{:020x}", r.id),
                _ => r.id.to_string(),
            },
        };
        let counts = match store.find_contact(&key).await? {
            Some(contact) => by_contact.get(&contact.id).copied().unwrap_or_default(),
            None => Counts::default(),
        };
        let stored = counts.draft + counts.submitted;
        let acked = u64::from(r.acked_opinions);
        check.acked += acked;
        check.stored += stored;
        check.losses += acked.saturating_sub(stored);
        check.doubled += stored.saturating_sub(u64::from(r.sent_opinions));
        if stored < acked || stored > u64::from(r.sent_opinions) {
            name(
                &mut check.problems,
                format!(
                    "resident {}: {acked} acknowledged, {} sent, {stored} stored",
                    r.id, r.sent_opinions
                ),
            );
        }
        if r.finished {
            check.finished += 1;
            let planned = u64::from(r.planned_opinions);
            if counts.submitted == planned && counts.draft == 0 && (6..=12).contains(&planned) {
                check.complete += 1;
            } else {
                name(
                    &mut check.problems,
                    format!(
                        "resident {} got a receipt but has {} submitted and {} drafts (planned {planned})",
                        r.id, counts.submitted, counts.draft
                    ),
                );
            }
        }
    }
    Ok(check)
}

/// Adds a problem to the list while it is short.
fn name(problems: &mut Vec<String>, problem: String) {
    if problems.len() < MAX_NAMED {
        problems.push(problem);
    }
}
