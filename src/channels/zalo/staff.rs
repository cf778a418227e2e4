//! What staff do through the Zalo bot: a group message (one that mentions the bot or replies
//! to it) registers the group, and `/bind UNIT` or `/unbind` there binds it, as on Telegram;
//! `/link CODE` in private links the Zalo account to a staff account; `ĐÃ ĐĂNG <số>` from a
//! lead confirms an assisted post; any other post in a bound group is screened for moderation.
//! Each answer is a [`Reply`] sent back where it came from.

use chrono::Utc;

use crate::announce::groups::{
    GroupCommand, command_answer, confirm_posted, group_command, link, posted_answer,
};
use crate::dialog::{Input, Msg, Reply};
use crate::domain::{Channel, ContactKey, Locale};
use crate::moderation::group::{GroupPost, screen_counted};
use crate::moderation::with_watch_list;
use crate::service::ServiceError;
use crate::store::announce::{BotMembership, BotStatus, GroupKind, GroupState, LinkOutcome};

use super::Core;
use super::inbound::DialogEvent;

/// One answer in Vietnamese (groups and staff read the ward's language).
fn answer(msg: Msg) -> Vec<Reply> {
    vec![Reply {
        locale: Locale::Vi,
        paragraphs: vec![msg],
        choices: vec![],
    }]
}

/// The command in a group message, wherever the mention put it: `@Bot /bind TDP-1` gives
/// (`bind`, `TDP-1`). Only `/bind` and `/unbind` are staff commands in a group.
pub(super) fn group_command_in(text: &str) -> Option<(String, String)> {
    let start = text
        .split_whitespace()
        .find(|w| w.starts_with('/'))
        .and_then(|w| text.find(w))?;
    let tail = &text[start..];
    let word = tail.split_whitespace().next()?;
    let name = word.trim_start_matches('/').to_lowercase();
    let rest = tail[word.len()..].trim().to_owned();
    matches!(name.as_str(), "bind" | "unbind").then_some((name, rest))
}

impl Core {
    /// A message in a group: the group is registered the first time the bot hears of it
    /// (pending until an official binds it), and `/bind` or `/unbind` from a linked staff
    /// user is run. Anything else in a group is not for the bot.
    pub(super) async fn group_step(
        &self,
        ev: &DialogEvent,
        title: &str,
    ) -> Result<Vec<Reply>, ServiceError> {
        let store = self.dialogs.store();
        let now = Utc::now();
        if store
            .group_by_external(Channel::Zalo, &ev.chat)
            .await?
            .is_none()
        {
            let title = if title.trim().is_empty() {
                let tail: String = ev
                    .chat
                    .chars()
                    .rev()
                    .take(6)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("Nhóm Zalo …{tail}")
            } else {
                title.trim().to_owned()
            };
            let seen = BotMembership {
                channel: Channel::Zalo,
                external_id: ev.chat.clone(),
                kind: GroupKind::Group,
                title,
                status: BotStatus::Member,
                can_delete: false,
                can_restrict: false,
            };
            store.record_membership(&seen, None, now).await?;
            tracing::info!("a Zalo group was registered (pending until an official binds it)");
        }
        let Input::Text(text) = &ev.input else {
            return Ok(Vec::new());
        };
        let Some((name, rest)) = group_command_in(text) else {
            self.screen_group_post(ev, text, now).await?;
            return Ok(Vec::new());
        };
        let cmd = GroupCommand {
            channel: Channel::Zalo,
            chat: ev.chat.clone(),
            user: ev.user.clone(),
            unit: (name == "bind").then_some(rest),
            update: Some(format!("group:{}", ev.message_id)),
        };
        Ok(command_answer(group_command(store, &cmd, now).await?)
            .map(answer)
            .unwrap_or_default())
    }

    /// Screens a post the bot heard in a bound group (a mention or a reply to it), like a
    /// Telegram group post: a flagged one is queued for a moderator with its author's contact.
    /// The bot cannot delete on Zalo, so nothing is hidden automatically; a person decides.
    async fn screen_group_post(
        &self,
        ev: &DialogEvent,
        text: &str,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let Some(m) = &self.moderation else {
            return Ok(());
        };
        let store = self.dialogs.store();
        let bound = store
            .group_by_external(Channel::Zalo, &ev.chat)
            .await?
            .is_some_and(|g| g.state == GroupState::Bound);
        if !bound {
            return Ok(());
        }
        let post = GroupPost {
            channel: Channel::Zalo,
            chat_id: ev.chat.clone(),
            message_id: ev.message_id.clone(),
            author_platform_id: ev.user.clone(),
            author: None,
            text: text.to_owned(),
            forwarded: false,
            at: ev.date.unwrap_or(now),
        };
        let detector = match with_watch_list(store.as_ref(), &m.base).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the watch list; screening with the word lists only");
                m.base.clone()
            }
        };
        let flooding = m.limits.flooding(store.as_ref(), &post).await?;
        let queued = screen_counted(&detector, flooding, &post);
        let Some(mut item) = queued else {
            return Ok(());
        };
        let mut tx = store.begin().await?;
        let author = tx
            .contact(
                &ContactKey {
                    channel: Channel::Zalo,
                    external_id: ev.user.clone(),
                },
                Locale::Vi,
            )
            .await?;
        tx.commit().await?;
        item.author = Some(author.id);
        if store.queue_item(&item).await?.is_some() {
            metrics::counter!("gopy_moderation_queued_total", "source" => "zalo_group")
                .increment(1);
        }
        Ok(())
    }

    /// `/link CODE` or a lead's `ĐÃ ĐĂNG <số>` in a private chat; `None` when the message is
    /// neither (it is the dialog's), or when a resident who is not staff typed the latter.
    pub(super) async fn staff_step(
        &self,
        ev: &DialogEvent,
    ) -> Result<Option<Vec<Reply>>, ServiceError> {
        let Some(delivery) = ev.posted else {
            return self.link_step(ev).await;
        };
        let store = self.dialogs.store();
        let outcome = confirm_posted(store, Channel::Zalo, &ev.user, delivery, Utc::now()).await?;
        if outcome.is_none() {
            return Ok(None);
        }
        Ok(Some(answer(posted_answer(outcome, delivery))))
    }

    /// `/link CODE`: links this Zalo account to the staff account holding the code.
    async fn link_step(&self, ev: &DialogEvent) -> Result<Option<Vec<Reply>>, ServiceError> {
        let Some(code) = &ev.link else {
            return Ok(None);
        };
        let msg = if code.is_empty() {
            Msg::new("announce-link-usage")
        } else {
            let store = self.dialogs.store();
            let update = format!("link:{}", ev.message_id);
            match link(
                store,
                Channel::Zalo,
                code,
                &ev.user,
                Some(&update),
                Utc::now(),
            )
            .await?
            {
                None => return Ok(Some(Vec::new())),
                Some(LinkOutcome::Linked(staff)) => {
                    Msg::new("zalo-link-done").text("name", staff.name)
                }
                Some(LinkOutcome::Unknown) => Msg::new("announce-link-unknown"),
                Some(LinkOutcome::Expired) => Msg::new("announce-link-expired"),
            }
        };
        Ok(Some(answer(msg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_command_is_found_after_the_mention() {
        assert_eq!(
            group_command_in("@Bot Góp ý /bind TDP-1"),
            Some(("bind".to_owned(), "TDP-1".to_owned()))
        );
        assert_eq!(
            group_command_in("/UNBIND"),
            Some(("unbind".to_owned(), String::new()))
        );
        assert_eq!(group_command_in("@Bot /start"), None);
        assert_eq!(group_command_in("@Bot chào cả nhà"), None);
        assert_eq!(
            group_command_in("a/b /bind X"),
            Some(("bind".to_owned(), "X".to_owned()))
        );
    }
}
