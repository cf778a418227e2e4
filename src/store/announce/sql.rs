//! The SQL of [`super::AnnounceStore`], written once for both backends. It uses `$N`
//! placeholders (both drivers accept them), binds times as `DateTime<Utc>` (SQLite stores them
//! as RFC 3339 text in UTC, which sorts like the instants it names) and JSON through
//! [`sqlx::types::Json`]. A macro rather than generic code because each backend's rows decode
//! through its own driver.

/// The columns of `chat_groups` in the order [`super::GroupRow`] names them.
pub(super) const GROUP_COLUMNS: &str = "id, channel, external_id, kind, title, state, unit_code, \
     bot_status, can_delete, can_restrict, migrated_to, migrated_from, posting, lead_staff_id, \
     updated_at";

/// The columns of `staff_users` in the order [`super::StaffRow`] names them.
pub(super) const STAFF_COLUMNS: &str =
    "id, name, roles, unit_code, telegram_user_id, linked_at, zalo_user_id, created_at";

/// Records an update as processed inside `$tx`; returns `Ok(None)` from the enclosing
/// function when it was processed before.
macro_rules! claim_update {
    ($tx:expr, $channel:expr, $update:expr, $now:expr) => {
        if let Some(key) = $update {
            let done = sqlx::query(
                "INSERT INTO processed_updates (channel, update_key, processed_at) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind($channel.as_str())
            .bind(key)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
        }
    };
}

/// Appends one audit entry inside `$tx`.
macro_rules! audit_in {
    ($tx:expr, $now:expr, $actor:expr, $action:expr, $detail:expr) => {
        sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
            .bind($now)
            .bind($actor)
            .bind($action)
            .bind(sqlx::types::Json($detail))
            .execute(&mut *$tx)
            .await?;
    };
}

/// Reads one group by a condition on `$1`.
macro_rules! group_where {
    ($conn:expr, $cond:literal, $($bind:expr),+) => {{
        let sql = format!("SELECT {} FROM chat_groups WHERE {}", $crate::store::announce::sql::GROUP_COLUMNS, $cond);
        let row: Option<$crate::store::announce::GroupRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))$(.bind($bind))+.fetch_optional($conn).await?;
        row.map($crate::store::announce::ChatGroup::try_from).transpose()?
    }};
}

/// Reads staff users by a condition.
macro_rules! staff_where {
    ($conn:expr, $cond:literal $(, $bind:expr)*) => {{
        let sql = format!("SELECT {} FROM staff_users WHERE {} ORDER BY name", $crate::store::announce::sql::STAFF_COLUMNS, $cond);
        let rows: Vec<$crate::store::announce::StaffRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))$(.bind($bind))*.fetch_all($conn).await?;
        rows.into_iter()
            .map($crate::store::announce::StaffUser::try_from)
            .collect::<$crate::store::StoreResult<Vec<_>>>()?
    }};
}

/// Links the chat account `$user` (in column `$column`) to the staff user holding `$code`
/// and uses the code up; the account is unlinked from any other staff user first.
macro_rules! link_account {
    ($self:expr, $channel:expr, $column:literal, $code:expr, $user:expr, $update:expr, $now:expr) => {{
        use $crate::store::announce::LinkOutcome;
        let mut tx = $self.announce_write().await?;
        claim_update!(tx, $channel, $update, $now);
        let found: Option<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
            "SELECT id, name, link_code_expires_at FROM staff_users \
             WHERE link_code = $1 AND disabled_at IS NULL",
        )
        .bind($code)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match found {
            None => LinkOutcome::Unknown,
            Some((_, _, expires)) if expires.is_none_or(|e| e <= $now) => LinkOutcome::Expired,
            Some((id, name, _)) => {
                sqlx::query(sqlx::AssertSqlSafe(concat!(
                    "UPDATE staff_users SET ", $column, " = NULL WHERE ", $column, " = $1 AND id <> $2"
                )))
                .bind($user)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(concat!(
                    "UPDATE staff_users SET ", $column, " = $1, linked_at = $2, \
                     link_code = NULL, link_code_expires_at = NULL WHERE id = $3"
                )))
                .bind($user)
                .bind($now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let action = if $channel == $crate::domain::Channel::Zalo { "staff.link_zalo" } else { "staff.link_telegram" };
                audit_in!(tx, $now, &name, action, serde_json::json!({ "staff": id }));
                match staff_where!(&mut *tx, "id = $1", id).pop() {
                    Some(user) => LinkOutcome::Linked(user),
                    None => LinkOutcome::Unknown,
                }
            }
        };
        tx.commit().await?;
        Ok(Some(outcome))
    }};
}

/// Sets which worker sends each pending delivery of broadcast `$id` (its route, see
/// [`crate::announce::outbox::Route`]): a group's own platform; an assisted group's lead's
/// (Zalo when the lead linked a Zalo account, else Telegram); a resident's private chat's;
/// the Zalo OA for its own groups and followers (`oa:` ids).
macro_rules! route_deliveries {
    ($tx:expr, $id:expr) => {{
        sqlx::query(
            "UPDATE deliveries SET channel = COALESCE(\
             (SELECT CASE WHEN g.posting = 'assisted' THEN \
               (SELECT CASE WHEN s.zalo_user_id IS NOT NULL THEN 'zalo' ELSE 'telegram' END \
                FROM staff_users s WHERE s.id = g.lead_staff_id) \
              WHEN g.channel = 'zalo' AND g.external_id LIKE 'oa:%' THEN 'zalo_oa' \
              ELSE g.channel END FROM chat_groups g WHERE g.id = deliveries.chat_group_id), \
             (SELECT CASE WHEN c.channel = 'zalo' AND c.external_id LIKE 'oa:%' THEN 'zalo_oa' \
              ELSE c.channel END FROM contacts c WHERE c.id = deliveries.contact_id), 'telegram') \
             WHERE broadcast_id = $1 AND state = 'pending'",
        )
        .bind($id)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// The route of a new delivery to chat group `v.target` (the expression and the `FROM` part
/// over the targets `v(target, not_before)`), as [`route_deliveries!`] chooses it.
pub(super) const ROUTE_GROUP: &str = "COALESCE(CASE WHEN g.posting = 'assisted' THEN \
     (CASE WHEN s.zalo_user_id IS NOT NULL THEN 'zalo' ELSE 'telegram' END) \
     WHEN g.channel = 'zalo' AND g.external_id LIKE 'oa:%' THEN 'zalo_oa' \
     ELSE g.channel END, 'telegram') FROM v LEFT JOIN chat_groups g ON g.id = v.target \
     LEFT JOIN staff_users s ON g.posting = 'assisted' AND s.id = g.lead_staff_id";

/// The route of a new delivery to resident `v.target`'s private chat, as
/// [`route_deliveries!`] chooses it.
pub(super) const ROUTE_CONTACT: &str = "COALESCE(CASE WHEN c.channel = 'zalo' AND \
     c.external_id LIKE 'oa:%' THEN 'zalo_oa' ELSE c.channel END, 'telegram') \
     FROM v LEFT JOIN contacts c ON c.id = v.target";

/// The columns of `broadcasts` in the order [`super::BroadcastRow`] names them.
pub(super) const BROADCAST_COLUMNS: &str = "id, campaign_id, text, audience, schedule, state, \
     revision, created_by, submitted_by, approved_by, approved_revision, button_unit, created_at, updated_at";

/// Stores (or replaces) a broadcast's attachment inside the transaction `$tx`.
macro_rules! put_attachment {
    ($tx:ident, $broadcast:expr, $a:expr, $now:expr) => {{
        let a: &$crate::store::announce::Attachment = $a;
        sqlx::query(
            "INSERT INTO broadcast_attachments (broadcast_id, token, file_name, media_type, sha256, \
             size, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (broadcast_id) DO UPDATE SET token = excluded.token, \
             file_name = excluded.file_name, media_type = excluded.media_type, \
             sha256 = excluded.sha256, size = excluded.size, bytes = excluded.bytes, \
             created_at = excluded.created_at",
        )
        .bind($broadcast)
        .bind(&a.token)
        .bind(&a.file_name)
        .bind(&a.media_type)
        .bind(&a.sha256)
        .bind(i64::try_from(a.bytes.len()).unwrap_or(i64::MAX))
        .bind(&a.bytes)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Moves every scheduled or sending broadcast with nothing pending left to `sent` or
/// `partly_failed`, auditing each.
macro_rules! finish_broadcasts {
    ($tx:expr, $now:expr) => {{
        let done: Vec<(i64, String)> = sqlx::query_as(
            "UPDATE broadcasts SET state = CASE WHEN EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.broadcast_id = broadcasts.id AND d.state = 'failed') THEN 'partly_failed' \
             ELSE 'sent' END, finished_at = $1, updated_at = $1 \
             WHERE state IN ('scheduled', 'sending') AND NOT EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.broadcast_id = broadcasts.id AND d.state = 'pending') RETURNING id, state",
        )
        .bind($now)
        .fetch_all(&mut *$tx)
        .await?;
        for (id, state) in done {
            audit_in!($tx, $now, "system", "broadcast.finish", serde_json::json!({
                "broadcast": id, "to": state,
            }));
        }
    }};
}

/// Moves broadcast `$id` to `sent` or `partly_failed` if it is scheduled or sending and has
/// nothing pending left, auditing it. The pending check is an index probe
/// (`deliveries_pending_broadcast`), so recording a batch costs the same at the first message
/// of a broadcast as at the ten-thousandth.
///
/// Recorders on several replicas record a broadcast's last deliveries side by side: each
/// would see the other's still pending (not committed yet) and neither would finish the
/// broadcast, left `sending` for good (seen in the replicas bench). So the broadcast's row is
/// locked first (`$for_update`; callers finish several broadcasts in id order): the second
/// recorder waits for the first's commit, and its check, a new statement, sees those done.
macro_rules! finish_broadcast {
    ($tx:expr, $now:expr, $id:expr, $for_update:literal) => {{
        sqlx::query(concat!("SELECT id FROM broadcasts WHERE id = $1 ", $for_update))
            .bind($id)
            .fetch_optional(&mut *$tx)
            .await?;
        let done: Option<(i64, String)> = sqlx::query_as(
            "UPDATE broadcasts SET state = CASE WHEN EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.broadcast_id = broadcasts.id AND d.state = 'failed') THEN 'partly_failed' \
             ELSE 'sent' END, finished_at = $1, updated_at = $1 \
             WHERE id = $2 AND state IN ('scheduled', 'sending') AND NOT EXISTS (SELECT 1 FROM deliveries d \
             WHERE d.broadcast_id = broadcasts.id AND d.state = 'pending') RETURNING id, state",
        )
        .bind($now)
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await?;
        if let Some((id, state)) = done {
            audit_in!($tx, $now, "system", "broadcast.finish", serde_json::json!({
                "broadcast": id, "to": state,
            }));
        }
    }};
}

/// Implements [`super::AnnounceStore`] for a store type that has `announce_write()` (a write
/// transaction) and `announce_read()` (a pool for reads). `$skip_locked` and `$for_update`
/// are the row-locking clauses of the backend (empty on SQLite, whose write transactions
/// exclude each other); `$claim_lock` a statement that serialises claimers (a transaction
/// advisory lock on Postgres, a no-op on SQLite).
macro_rules! announce_store {
    ($store:ty, $db:ty, $skip_locked:literal, $for_update:literal, $claim_lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::announce::AnnounceStore for $store {
            async fn unit_nodes(&self) -> $crate::store::StoreResult<Vec<$crate::store::announce::UnitNode>> {
                let rows: Vec<(String, String, Option<String>)> =
                    sqlx::query_as("SELECT code, name, parent_code FROM units ORDER BY code")
                        .fetch_all(self.announce_read())
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(code, name, parent)| $crate::store::announce::UnitNode { code, name, parent })
                    .collect())
            }

            async fn add_staff(
                &self,
                new: &$crate::store::announce::NewStaff,
                link: &$crate::store::announce::LinkCode,
                actor: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::announce::StaffUser> {
                let mut tx = self.announce_write().await?;
                let roles = $crate::store::announce::roles_text(&new.roles);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO staff_users (name, roles, unit_code, link_code, \
                     link_code_expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&new.name)
                .bind(&roles)
                .bind(&new.unit)
                .bind(&link.code)
                .bind(link.expires_at)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                audit_in!(tx, now, actor, "staff.add", serde_json::json!({
                    "staff": id, "name": new.name, "roles": roles, "unit": new.unit,
                }));
                let mut users = staff_where!(&mut *tx, "id = $1", id);
                tx.commit().await?;
                users.pop().ok_or_else(|| $crate::store::StoreError::Corrupt("staff user vanished".into()))
            }

            async fn staff(&self) -> $crate::store::StoreResult<Vec<$crate::store::announce::StaffUser>> {
                Ok(staff_where!(self.announce_read(), "name <> 'gopy-system'"))
            }

            async fn staff_by_name(&self, name: &str) -> $crate::store::StoreResult<Option<$crate::store::announce::StaffUser>> {
                Ok(staff_where!(self.announce_read(), "name = $1", name).pop())
            }

            async fn staff_by_telegram(&self, user_id: i64) -> $crate::store::StoreResult<Option<$crate::store::announce::StaffUser>> {
                Ok(staff_where!(self.announce_read(), "telegram_user_id = $1 AND disabled_at IS NULL", user_id).pop())
            }

            async fn set_link_code(
                &self,
                staff: i64,
                link: &$crate::store::announce::LinkCode,
                actor: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.announce_write().await?;
                let done = sqlx::query(
                    "UPDATE staff_users SET link_code = $1, link_code_expires_at = $2 WHERE id = $3",
                )
                .bind(&link.code)
                .bind(link.expires_at)
                .bind(staff)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                audit_in!(tx, now, actor, "staff.link_code", serde_json::json!({ "staff": staff }));
                tx.commit().await?;
                Ok(true)
            }

            async fn link_telegram(
                &self,
                code: &str,
                user_id: i64,
                update: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::LinkOutcome>> {
                link_account!(self, $crate::domain::Channel::Telegram, "telegram_user_id", code, user_id, update, now)
            }

            async fn link_zalo(
                &self,
                code: &str,
                user_id: &str,
                update: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::LinkOutcome>> {
                link_account!(self, $crate::domain::Channel::Zalo, "zalo_user_id", code, user_id, update, now)
            }

            async fn staff_by_zalo(&self, user_id: &str) -> $crate::store::StoreResult<Option<$crate::store::announce::StaffUser>> {
                Ok(staff_where!(self.announce_read(), "zalo_user_id = $1 AND disabled_at IS NULL", user_id).pop())
            }

            async fn record_membership(
                &self,
                m: &$crate::store::announce::BotMembership,
                update: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::ChatGroup>> {
                use $crate::store::announce::GroupState;
                let mut tx = self.announce_write().await?;
                claim_update!(tx, m.channel, update, now);
                let channel = m.channel.as_str();
                let existing = group_where!(&mut *tx, "channel = $1 AND external_id = $2", channel, &m.external_id);
                let present = m.status.is_present();
                let (id, action) = match existing {
                    None => {
                        // A chat known under this id only as the old id of a migrated group:
                        // the migration was followed already; nothing to record.
                        if let Some(g) = group_where!(&mut *tx, "channel = $1 AND migrated_from = $2", channel, &m.external_id) {
                            tx.commit().await?;
                            return Ok(Some(g));
                        }
                        let state = if present { GroupState::Pending } else { GroupState::Inactive };
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO chat_groups (channel, external_id, kind, title, state, \
                             bot_status, can_delete, can_restrict, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                        )
                        .bind(channel)
                        .bind(&m.external_id)
                        .bind(m.kind.as_str())
                        .bind(&m.title)
                        .bind(state.as_str())
                        .bind(m.status.as_str())
                        .bind(m.can_delete)
                        .bind(m.can_restrict)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                        (id, if present { "group.added" } else { "group.removed" })
                    }
                    Some(g) => {
                        let (state, unit, action) = match (g.state, present) {
                            (GroupState::Inactive, true) => (GroupState::Pending, None, "group.added"),
                            (_, false) => (GroupState::Inactive, g.unit.clone(), "group.removed"),
                            (s, true) => (s, g.unit.clone(), "group.rights"),
                        };
                        sqlx::query(
                            "UPDATE chat_groups SET kind = $1, title = $2, state = $3, unit_code = $4, \
                             bot_status = $5, can_delete = $6, can_restrict = $7, updated_at = $8 \
                             WHERE id = $9",
                        )
                        .bind(m.kind.as_str())
                        .bind(&m.title)
                        .bind(state.as_str())
                        .bind(unit)
                        .bind(m.status.as_str())
                        .bind(m.can_delete)
                        .bind(m.can_restrict)
                        .bind(now)
                        .bind(g.id)
                        .execute(&mut *tx)
                        .await?;
                        (g.id, action)
                    }
                };
                audit_in!(tx, now, "system", action, serde_json::json!({
                    "group": id, "status": m.status.as_str(),
                    "can_delete": m.can_delete, "can_restrict": m.can_restrict,
                }));
                let group = group_where!(&mut *tx, "id = $1", id);
                tx.commit().await?;
                Ok(group)
            }

            async fn record_title(
                &self,
                channel: $crate::domain::Channel,
                external_id: &str,
                title: &str,
                update: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::ChatGroup>> {
                let mut tx = self.announce_write().await?;
                claim_update!(tx, channel, update, now);
                let Some(g) = group_where!(&mut *tx, "channel = $1 AND external_id = $2", channel.as_str(), external_id) else {
                    tx.commit().await?;
                    return Ok(None);
                };
                sqlx::query("UPDATE chat_groups SET title = $1, updated_at = $2 WHERE id = $3")
                    .bind(title)
                    .bind(now)
                    .bind(g.id)
                    .execute(&mut *tx)
                    .await?;
                audit_in!(tx, now, "system", "group.title", serde_json::json!({
                    "group": g.id, "from": g.title, "to": title,
                }));
                let group = group_where!(&mut *tx, "id = $1", g.id);
                tx.commit().await?;
                Ok(group)
            }

            async fn record_migration(
                &self,
                channel: $crate::domain::Channel,
                from: &str,
                to: &str,
                update: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::ChatGroup>> {
                use $crate::store::announce::GroupState;
                let mut tx = self.announce_write().await?;
                claim_update!(tx, channel, update, now);
                let ch = channel.as_str();
                let old = group_where!(&mut *tx, "channel = $1 AND external_id = $2", ch, from);
                let new = group_where!(&mut *tx, "channel = $1 AND external_id = $2", ch, to);
                let id = match (old, new) {
                    (None, None) => {
                        tx.commit().await?;
                        return Ok(None);
                    }
                    (None, Some(n)) => {
                        if n.migrated_from.is_none() {
                            sqlx::query("UPDATE chat_groups SET migrated_from = $1, updated_at = $2 WHERE id = $3")
                                .bind(from)
                                .bind(now)
                                .bind(n.id)
                                .execute(&mut *tx)
                                .await?;
                        }
                        n.id
                    }
                    (Some(o), None) => {
                        sqlx::query(
                            "UPDATE chat_groups SET external_id = $1, migrated_from = $2, \
                             kind = 'supergroup', updated_at = $3 WHERE id = $4",
                        )
                        .bind(to)
                        .bind(from)
                        .bind(now)
                        .bind(o.id)
                        .execute(&mut *tx)
                        .await?;
                        audit_in!(tx, now, "system", "group.migrated", serde_json::json!({
                            "group": o.id, "from": from, "to": to,
                        }));
                        o.id
                    }
                    (Some(o), Some(n)) => {
                        // Both rows exist: the new chat was seen before the migration was.
                        // The new row takes the old one's binding and its pending deliveries.
                        let (state, unit) = match (n.state, o.state, &o.unit) {
                            (GroupState::Bound, _, _) => (n.state, n.unit.clone()),
                            (GroupState::Pending, GroupState::Bound, Some(u)) => (GroupState::Bound, Some(u.clone())),
                            _ => (n.state, n.unit.clone()),
                        };
                        sqlx::query(
                            "UPDATE chat_groups SET state = $1, unit_code = $2, migrated_from = $3, \
                             updated_at = $4 WHERE id = $5",
                        )
                        .bind(state.as_str())
                        .bind(unit)
                        .bind(from)
                        .bind(now)
                        .bind(n.id)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE chat_groups SET state = 'inactive', migrated_to = $1, \
                             updated_at = $2 WHERE id = $3",
                        )
                        .bind(to)
                        .bind(now)
                        .bind(o.id)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE deliveries SET chat_group_id = $1 WHERE chat_group_id = $2 \
                             AND state = 'pending' AND broadcast_id NOT IN \
                             (SELECT broadcast_id FROM deliveries WHERE chat_group_id = $1)",
                        )
                        .bind(n.id)
                        .bind(o.id)
                        .execute(&mut *tx)
                        .await?;
                        audit_in!(tx, now, "system", "group.migrated", serde_json::json!({
                            "group": n.id, "merged": o.id, "from": from, "to": to,
                        }));
                        n.id
                    }
                };
                let group = group_where!(&mut *tx, "id = $1", id);
                tx.commit().await?;
                Ok(group)
            }

            async fn groups(&self) -> $crate::store::StoreResult<Vec<$crate::store::announce::ChatGroup>> {
                let sql = format!("SELECT {} FROM chat_groups ORDER BY id", $crate::store::announce::sql::GROUP_COLUMNS);
                let rows: Vec<$crate::store::announce::GroupRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(self.announce_read()).await?;
                rows.into_iter().map($crate::store::announce::ChatGroup::try_from).collect()
            }

            async fn group(&self, id: i64) -> $crate::store::StoreResult<Option<$crate::store::announce::ChatGroup>> {
                Ok(group_where!(self.announce_read(), "id = $1", id))
            }

            async fn group_by_external(
                &self,
                channel: $crate::domain::Channel,
                external_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::ChatGroup>> {
                let found = group_where!(self.announce_read(), "channel = $1 AND external_id = $2", channel.as_str(), external_id);
                Ok(match found {
                    Some(g) => Some(g),
                    None => group_where!(self.announce_read(), "channel = $1 AND migrated_from = $2", channel.as_str(), external_id),
                })
            }

            async fn bind_group(
                &self,
                group: i64,
                unit: Option<&str>,
                actor: &str,
                update: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::ChatGroup>> {
                use $crate::store::announce::GroupState;
                let mut tx = self.announce_write().await?;
                claim_update!(tx, $crate::domain::Channel::Telegram, update, now);
                let Some(g) = group_where!(&mut *tx, "id = $1", group) else {
                    tx.commit().await?;
                    return Ok(None);
                };
                let state = match (g.state, unit) {
                    (GroupState::Inactive, _) => GroupState::Inactive,
                    (_, Some(_)) => GroupState::Bound,
                    (_, None) => GroupState::Pending,
                };
                sqlx::query(
                    "UPDATE chat_groups SET state = $1, unit_code = $2, bound_at = $3, bound_by = $4, \
                     updated_at = $3 WHERE id = $5",
                )
                .bind(state.as_str())
                .bind(unit)
                .bind(now)
                .bind(actor)
                .bind(group)
                .execute(&mut *tx)
                .await?;
                let action = if unit.is_some() { "group.bind" } else { "group.unbind" };
                audit_in!(tx, now, actor, action, serde_json::json!({
                    "group": group, "unit": unit, "previous_unit": g.unit,
                }));
                let group = group_where!(&mut *tx, "id = $1", group);
                tx.commit().await?;
                Ok(group)
            }
            async fn create_broadcast(
                &self,
                new: &$crate::store::announce::NewBroadcast,
                actor: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::announce::Broadcast> {
                let mut tx = self.announce_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO broadcasts (campaign_id, text, audience, schedule, state, revision, \
                     created_by, created_at, updated_at, button_unit) \
                     VALUES ($1, $2, $3, $4, 'draft', 1, $5, $6, $6, $7) RETURNING id",
                )
                .bind(new.campaign_id)
                .bind(&new.text)
                .bind(sqlx::types::Json(&new.audience))
                .bind(sqlx::types::Json($crate::store::announce::Schedule::Now))
                .bind(new.created_by)
                .bind(now)
                .bind(&new.button_unit)
                .fetch_one(&mut *tx)
                .await?;
                if let Some(a) = &new.attachment {
                    put_attachment!(tx, id, a, now);
                }
                audit_in!(tx, now, actor, "broadcast.create", serde_json::json!({
                    "broadcast": id, "audience": new.audience, "chars": new.text.chars().count(),
                    "button_unit": new.button_unit,
                    "attachment": new.attachment.as_ref().map(|a| serde_json::json!({
                        "file_name": a.file_name, "media_type": a.media_type,
                        "size": a.bytes.len(), "sha256": a.sha256,
                    })),
                }));
                let sql = format!("SELECT {} FROM broadcasts WHERE id = $1", $crate::store::announce::sql::BROADCAST_COLUMNS);
                let row: $crate::store::announce::BroadcastRow =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn broadcast(&self, id: i64) -> $crate::store::StoreResult<Option<$crate::store::announce::Broadcast>> {
                let sql = format!("SELECT {} FROM broadcasts WHERE id = $1", $crate::store::announce::sql::BROADCAST_COLUMNS);
                let row: Option<$crate::store::announce::BroadcastRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.announce_read()).await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn broadcast_attachment(
                &self,
                broadcast: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::Attachment>> {
                let row: Option<$crate::store::announce::AttachmentRow> = sqlx::query_as(
                    "SELECT token, file_name, media_type, sha256, bytes FROM broadcast_attachments \
                     WHERE broadcast_id = $1",
                )
                .bind(broadcast)
                .fetch_optional(self.announce_read())
                .await?;
                Ok(row.map(Into::into))
            }

            async fn attachment_by_token(
                &self,
                token: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::announce::Attachment>> {
                let row: Option<$crate::store::announce::AttachmentRow> = sqlx::query_as(
                    "SELECT token, file_name, media_type, sha256, bytes FROM broadcast_attachments \
                     WHERE token = $1",
                )
                .bind(token)
                .fetch_optional(self.announce_read())
                .await?;
                Ok(row.map(Into::into))
            }

            async fn transition(
                &self,
                t: &$crate::store::announce::Transition,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::announce::BroadcastState;
                let mut tx = self.announce_write().await?;
                let sql = concat!("SELECT state, revision, text FROM broadcasts WHERE id = $1 ", $for_update);
                let current: Option<(String, i64, String)> =
                    sqlx::query_as(sql).bind(t.broadcast).fetch_optional(&mut *tx).await?;
                let Some((state, rev, previous_text)) = current else {
                    return Ok(false);
                };
                if (state.as_str(), rev) != (t.from.0.as_str(), t.from.1) {
                    return Ok(false);
                }
                let revision = t.from.1 + i64::from(t.text.is_some() || t.attachment.is_some());
                let mut previous_attachment: Option<String> = None;
                if let Some(a) = &t.attachment {
                    previous_attachment = sqlx::query_scalar(
                        "SELECT sha256 FROM broadcast_attachments WHERE broadcast_id = $1",
                    )
                    .bind(t.broadcast)
                    .fetch_optional(&mut *tx)
                    .await?;
                    put_attachment!(tx, t.broadcast, a, now);
                }
                sqlx::query(
                    "UPDATE broadcasts SET state = $1, text = COALESCE($2, text), \
                     schedule = COALESCE($3, schedule), revision = $4, \
                     submitted_by = COALESCE($5, submitted_by), \
                     approved_by = COALESCE($6, approved_by), \
                     approved_revision = CASE WHEN $6 IS NULL THEN approved_revision ELSE $4 END, \
                     updated_at = $7, \
                     finished_at = CASE WHEN $1 = 'cancelled' THEN $7 ELSE finished_at END \
                     WHERE id = $8",
                )
                .bind(t.to.as_str())
                .bind(&t.text)
                .bind(t.schedule.as_ref().map(sqlx::types::Json))
                .bind(revision)
                .bind(t.submitted_by)
                .bind(t.approved_by)
                .bind(now)
                .bind(t.broadcast)
                .execute(&mut *tx)
                .await?;
                // The outbox rows go in one statement per kind of target on Postgres (arrays
                // bound whole) and a thousand rows a statement on SQLite, never one round trip
                // per target; each row is written once, its route already chosen (see
                // `ROUTE_GROUP` and `ROUTE_CONTACT`).
                let mut inserted = 0u64;
                for (column, route, targets) in [
                    ("contact_id", $crate::store::announce::sql::ROUTE_CONTACT, &t.resident_deliveries),
                    ("chat_group_id", $crate::store::announce::sql::ROUTE_GROUP, &t.deliveries),
                ] {
                    let head = format!(
                        "INSERT INTO deliveries (broadcast_id, {column}, state, not_before, updated_at, channel) \
                         SELECT $1, v.target, 'pending', v.not_before, $2, {route} WHERE true ON CONFLICT DO NOTHING"
                    );
                    inserted += <$store>::insert_deliveries(&mut tx, &head, t.broadcast, targets, now).await?;
                }
                // A target that already had a row (scheduled again) keeps it; its route is
                // chosen afresh, as the lead may have linked another account since.
                let targets = t.deliveries.len() + t.resident_deliveries.len();
                if usize::try_from(inserted).unwrap_or(usize::MAX) < targets {
                    route_deliveries!(tx, t.broadcast);
                }
                let mut cancelled = 0;
                if t.to == BroadcastState::Cancelled {
                    cancelled = sqlx::query(
                        "UPDATE deliveries SET state = 'cancelled', lease_until = NULL, updated_at = $1 \
                         WHERE broadcast_id = $2 AND state = 'pending'",
                    )
                    .bind(now)
                    .bind(t.broadcast)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                audit_in!(tx, now, &t.actor, t.action, serde_json::json!({
                    "broadcast": t.broadcast, "from": t.from.0.as_str(), "to": t.to.as_str(),
                    "revision": revision,
                    "text": t.text.as_ref().map(|new| serde_json::json!({"from": previous_text, "to": new})),
                    "schedule": t.schedule, "deliveries": t.deliveries.len(),
                    "cancelled_deliveries": cancelled,
                    "attachment": t.attachment.as_ref().map(|a| serde_json::json!({
                        "file_name": a.file_name, "media_type": a.media_type,
                        "size": a.bytes.len(), "sha256": a.sha256,
                        "previous_sha256": previous_attachment,
                    })),
                }));
                if t.to == BroadcastState::Scheduled {
                    finish_broadcasts!(tx, now);
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn claim_deliveries(
                &self,
                route: &str,
                worker: &str,
                limit: i64,
                per_second: Option<i64>,
                lease_until: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Vec<$crate::store::announce::ClaimedDelivery>> {
                // A look on the read side first: an idle outbox costs no write transaction.
                let due: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM deliveries WHERE state = 'pending' AND channel = $1 \
                     AND not_before <= $2 AND (lease_until IS NULL OR lease_until <= $2) LIMIT 1",
                )
                .bind(route)
                .bind(now)
                .fetch_optional(self.announce_read())
                .await?;
                if due.is_none() {
                    return Ok(Vec::new());
                }
                let called = std::time::Instant::now();
                let mut tx = self.announce_write().await?;
                let mut limit = limit;
                // With a budget, when each claimed row may go, in claim order.
                let mut send_from: Vec<chrono::DateTime<chrono::Utc>> = Vec::new();
                if let Some(per_second) = per_second {
                    use $crate::store::announce::{BUDGET_AHEAD, RATE_WINDOW};
                    // One claimer at a time counts the budget (SQLite: the write lock).
                    sqlx::query($claim_lock).execute(&mut *tx).await?;
                    // Counted as of now, not as of the call: with several replicas a claim
                    // may have waited for the lock, and sends that went out meanwhile have
                    // freed their slots.
                    let at = now + chrono::Duration::from_std(called.elapsed()).unwrap_or_default();
                    let busy: i64 = sqlx::query_scalar(
                        "SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending' AND channel = $3 \
                         AND lease_until > $1) \
                         + (SELECT count(*) FROM deliveries WHERE state = 'sent' AND channel = $3 AND sent_at > $2)",
                    )
                    .bind(now)
                    .bind(at - RATE_WINDOW)
                    .bind(route)
                    .fetch_one(&mut *tx)
                    .await?;
                    // The slots that free within BUDGET_AHEAD are claimed too, each to go
                    // the moment its send leaves the window: a freed slot is used then, not
                    // after the next claim's round trips.
                    let freeing: Vec<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
                        "SELECT sent_at FROM deliveries WHERE state = 'sent' AND channel = $1 \
                         AND sent_at > $2 AND sent_at <= $3 ORDER BY sent_at LIMIT $4",
                    )
                    .bind(route)
                    .bind(at - RATE_WINDOW)
                    .bind(at + BUDGET_AHEAD - RATE_WINDOW)
                    .bind(per_second)
                    .fetch_all(&mut *tx)
                    .await?;
                    // Over budget now (an earlier claim took slots ahead that are still
                    // counted as sent): the first slots to free are already taken.
                    let free = per_second - busy;
                    send_from = std::iter::repeat_n(at, usize::try_from(free).unwrap_or(0))
                        .chain(
                            freeing
                                .into_iter()
                                .skip(usize::try_from(-free).unwrap_or(0))
                                .map(|sent| sent + RATE_WINDOW),
                        )
                        .collect();
                    limit = limit.min(send_from.len() as i64);
                    if limit <= 0 {
                        return Ok(Vec::new());
                    }
                }
                let sql = concat!(
                    "UPDATE deliveries SET lease_until = $1, leased_by = $2, attempts = attempts + 1, \
                     updated_at = $3 WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' \
                     AND channel = $5 AND not_before <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
                     ORDER BY not_before, id LIMIT $4 ", $skip_locked, ") RETURNING id"
                );
                let claimed: Vec<i64> = sqlx::query_scalar(sql)
                    .bind(lease_until)
                    .bind(worker)
                    .bind(now)
                    .bind(limit)
                    .bind(route)
                    .fetch_all(&mut *tx)
                    .await?;
                if claimed.is_empty() {
                    tx.commit().await?;
                    return Ok(Vec::new());
                }
                // What to send, read by the claimed ids (one statement, however many rows are
                // pending elsewhere), with the reason a target can no longer be reached: its
                // group is gone, an assisted group's lead has no chat account, or a resident
                // asked to stop (or erased themselves) since it was scheduled.
                let mut read: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "SELECT d.id, d.broadcast_id, d.chat_group_id, d.contact_id, \
                     CASE WHEN g.posting = 'assisted' THEN (CASE WHEN d.channel = 'zalo' \
                     THEN s.zalo_user_id ELSE CAST(s.telegram_user_id AS TEXT) END) \
                     ELSE COALESCE(g.external_id, c.external_id) END AS chat, \
                     b.text, d.attempts, b.schedule, g.posting, g.title, d.reminded_at, \
                     cp.slug, b.button_unit, b.state AS broadcast_state, \
                     (SELECT count(*) FROM broadcast_attachments a WHERE a.broadcast_id = b.id) AS attachments, \
                     CASE WHEN g.state = 'inactive' THEN 'group inactive' \
                     WHEN g.posting = 'assisted' AND (s.id IS NULL OR s.disabled_at IS NOT NULL \
                      OR (s.zalo_user_id IS NULL AND s.telegram_user_id IS NULL)) \
                     THEN 'assisted group without a linked lead' \
                     WHEN d.chat_group_id IS NULL AND (d.contact_id IS NULL OR n.subscribed = ",
                );
                read.push_bind(false);
                read.push(
                    ") THEN 'resident opted out' END AS gone \
                     FROM deliveries d LEFT JOIN chat_groups g ON g.id = d.chat_group_id \
                     LEFT JOIN staff_users s ON s.id = g.lead_staff_id \
                     LEFT JOIN contacts c ON c.id = d.contact_id \
                     LEFT JOIN resident_notices n ON n.contact_id = d.contact_id \
                     JOIN broadcasts b ON b.id = d.broadcast_id \
                     LEFT JOIN campaigns cp ON cp.id = b.campaign_id WHERE d.id IN (",
                );
                let mut ids = read.separated(", ");
                for id in &claimed {
                    ids.push_bind(*id);
                }
                read.push(") ORDER BY d.not_before, d.id");
                let rows: Vec<$crate::store::announce::ClaimRow> =
                    read.build_query_as().fetch_all(&mut *tx).await?;
                // Targets that cannot be reached end here: failed, or cancelled for a resident
                // who asked to stop.
                let mut ended: Vec<i64> = Vec::new();
                for (reason, state) in [
                    ("group inactive", "failed"),
                    ("assisted group without a linked lead", "failed"),
                    ("resident opted out", "cancelled"),
                ] {
                    let gone: Vec<i64> = rows
                        .iter()
                        .filter(|r| r.gone.as_deref() == Some(reason))
                        .map(|r| r.id)
                        .collect();
                    if gone.is_empty() {
                        continue;
                    }
                    let mut end: sqlx::QueryBuilder<$db> =
                        sqlx::QueryBuilder::new("UPDATE deliveries SET state = ");
                    end.push_bind(state)
                        .push(", error = ")
                        .push_bind(reason)
                        .push(", lease_until = NULL, updated_at = ")
                        .push_bind(now)
                        .push(" WHERE id IN (");
                    let mut ids = end.separated(", ");
                    for id in &gone {
                        ids.push_bind(*id);
                    }
                    end.push(")");
                    end.build().execute(&mut *tx).await?;
                    for r in rows.iter().filter(|r| r.gone.as_deref() == Some(reason)) {
                        if !ended.contains(&r.broadcast_id) {
                            ended.push(r.broadcast_id);
                        }
                    }
                }
                // Broadcasts whose first deliveries these are start sending.
                let mut starting: Vec<i64> = Vec::new();
                for r in rows.iter().filter(|r| r.gone.is_none() && r.broadcast_state == "scheduled") {
                    if !starting.contains(&r.broadcast_id) {
                        starting.push(r.broadcast_id);
                    }
                }
                for id in starting {
                    let started = sqlx::query(
                        "UPDATE broadcasts SET state = 'sending', updated_at = $1 WHERE state = 'scheduled' AND id = $2",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if started > 0 {
                        audit_in!(tx, now, "system", "broadcast.sending", serde_json::json!({ "broadcast": id }));
                    }
                }
                let with_files: std::collections::HashSet<i64> = rows
                    .iter()
                    .filter(|r| r.gone.is_none() && r.attachments > 0)
                    .map(|r| r.broadcast_id)
                    .collect();
                let mut out: Vec<$crate::store::announce::ClaimedDelivery> = rows
                    .into_iter()
                    .filter(|r| r.gone.is_none())
                    .filter_map($crate::store::announce::ClaimRow::into_claimed)
                    .collect();
                // Each broadcast's attachment is read once and shared by its deliveries.
                let mut files: std::collections::HashMap<i64, Option<std::sync::Arc<$crate::store::announce::Attachment>>> =
                    std::collections::HashMap::new();
                for d in &mut out {
                    if !with_files.contains(&d.broadcast_id) {
                        continue;
                    }
                    if !files.contains_key(&d.broadcast_id) {
                        let row: Option<$crate::store::announce::AttachmentRow> = sqlx::query_as(
                            "SELECT token, file_name, media_type, sha256, bytes FROM broadcast_attachments \
                             WHERE broadcast_id = $1",
                        )
                        .bind(d.broadcast_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                        files.insert(d.broadcast_id, row.map(|r| std::sync::Arc::new(r.into())));
                    }
                    d.attachment = files.get(&d.broadcast_id).cloned().flatten();
                }
                for (d, from) in out.iter_mut().zip(send_from) {
                    d.send_from = Some(from);
                }
                ended.sort_unstable();
                ended.dedup();
                for b in ended {
                    finish_broadcast!(tx, now, b, $for_update);
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn extend_deliveries(
                &self,
                worker: &str,
                deliveries: &[i64],
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                if deliveries.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.announce_write().await?;
                let mut moved = 0;
                // A worker holds at most a claim and a queue's worth; a thousand ids a
                // statement stays far below either backend's limit on bound values. On
                // Postgres a row another transaction has locked is skipped, not waited for:
                // the recorder finishing it locks its batch in its own order, and waiting
                // could deadlock with it (a row skipped now is extended at the next tick).
                for chunk in deliveries.chunks(1000) {
                    let mut extend: sqlx::QueryBuilder<$db> =
                        sqlx::QueryBuilder::new("UPDATE deliveries SET lease_until = ");
                    extend
                        .push_bind(lease_until)
                        .push(" WHERE id IN (SELECT id FROM deliveries WHERE leased_by = ")
                        .push_bind(worker)
                        .push(" AND state = 'pending' AND lease_until IS NOT NULL AND id IN (");
                    let mut ids = extend.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    extend.push(concat!(") ", $skip_locked, ")"));
                    moved += extend.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(moved)
            }

            async fn finish_deliveries(
                &self,
                results: &[(i64, $crate::store::announce::DeliveryResult)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use $crate::store::announce::DeliveryResult;
                if results.is_empty() {
                    return Ok(());
                }
                let mut tx = self.announce_write().await?;
                // The usual result, a message sent, is recorded for the whole batch at once.
                let sent: Vec<(i64, &str, chrono::DateTime<chrono::Utc>)> = results
                    .iter()
                    .filter_map(|(d, r)| match r {
                        DeliveryResult::Sent { message, at } => Some((*d, message.as_str(), *at)),
                        _ => None,
                    })
                    .collect();
                let mut broadcasts: Vec<i64> = <$store>::mark_sent(&mut tx, &sent, now).await?;
                for (delivery, result) in results {
                    let delivery = *delivery;
                    let broadcast: Option<i64> = match result {
                        DeliveryResult::Sent { .. } => None,
                        DeliveryResult::Retry(at, error) => {
                            sqlx::query_scalar(
                                "UPDATE deliveries SET not_before = $1, error = $2, lease_until = NULL, \
                                 updated_at = $3 WHERE id = $4 AND state = 'pending' RETURNING broadcast_id",
                            )
                            .bind(at)
                            .bind(error)
                            .bind(now)
                            .bind(delivery)
                            .fetch_optional(&mut *tx)
                            .await?
                        }
                        DeliveryResult::Failed { reason, deactivate } => {
                            let row: Option<(Option<i64>, Option<i64>, i64)> = sqlx::query_as(
                                "UPDATE deliveries SET state = 'failed', error = $1, lease_until = NULL, \
                                 updated_at = $2 WHERE id = $3 RETURNING chat_group_id, contact_id, broadcast_id",
                            )
                            .bind(reason)
                            .bind(now)
                            .bind(delivery)
                            .fetch_optional(&mut *tx)
                            .await?;
                            if let (Some((_, Some(contact), _)), true) = (row, *deactivate) {
                                // A resident who blocked the bot asked, in effect, to stop.
                                sqlx::query(
                                    "UPDATE resident_notices SET subscribed = $1, reason = 'blocked', \
                                     changed_at = $2 WHERE contact_id = $3",
                                )
                                .bind(false)
                                .bind(now)
                                .bind(contact)
                                .execute(&mut *tx)
                                .await?;
                            }
                            if let (Some((Some(group), _, _)), true) = (row, *deactivate) {
                                sqlx::query(
                                    "UPDATE chat_groups SET state = 'inactive', updated_at = $1 WHERE id = $2",
                                )
                                .bind(now)
                                .bind(group)
                                .execute(&mut *tx)
                                .await?;
                                audit_in!(tx, now, "system", "group.deactivated", serde_json::json!({
                                    "group": group, "reason": reason,
                                }));
                            }
                            row.map(|(_, _, b)| b)
                        }
                    };
                    if let Some(b) = broadcast
                        && !broadcasts.contains(&b)
                    {
                        broadcasts.push(b);
                    }
                }
                broadcasts.sort_unstable();
                for b in broadcasts {
                    finish_broadcast!(tx, now, b, $for_update);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn delivery_report(&self, broadcast: i64) -> $crate::store::StoreResult<Vec<(String, String, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT COALESCE(g.unit_code, n.unit_code, '-') AS unit, \
                     CASE WHEN d.state = 'sent' AND g.posting = 'assisted' AND d.confirmed_at IS NULL \
                     THEN 'awaiting_confirmation' ELSE d.state END AS st, count(*) FROM deliveries d \
                     LEFT JOIN chat_groups g ON g.id = d.chat_group_id \
                     LEFT JOIN resident_notices n ON n.contact_id = d.contact_id \
                     WHERE d.broadcast_id = $1 \
                     GROUP BY unit, st ORDER BY 1, 2",
                )
                .bind(broadcast)
                .fetch_all(self.announce_read())
                .await?)
            }

            async fn notice_subscribers(&self, units: Option<&[String]>) -> $crate::store::StoreResult<Vec<i64>> {
                // The private chats the outboxes reach: Telegram's and the Zalo bot's.
                let all: Vec<(i64, Option<String>)> = sqlx::query_as(
                    "SELECT n.contact_id, n.unit_code FROM resident_notices n \
                     JOIN contacts c ON c.id = n.contact_id \
                     WHERE n.subscribed = $1 AND c.channel IN ('telegram', 'zalo') ORDER BY n.contact_id",
                )
                .bind(true)
                .fetch_all(self.announce_read())
                .await?;
                Ok(all
                    .into_iter()
                    .filter(|(_, unit)| match units {
                        None => true,
                        Some(units) => unit.as_ref().is_some_and(|u| units.contains(u)),
                    })
                    .map(|(c, _)| c)
                    .collect())
            }

            async fn reminder_hours(&self, campaign: i64) -> $crate::store::StoreResult<Option<Vec<i64>>> {
                let row: Option<sqlx::types::Json<Vec<i64>>> = sqlx::query_scalar(
                    "SELECT hours_before FROM reminder_settings WHERE campaign_id = $1",
                )
                .bind(campaign)
                .fetch_optional(self.announce_read())
                .await?;
                Ok(row.map(|h| h.0))
            }

            async fn set_reminder_hours(
                &self,
                campaign: i64,
                hours: &[i64],
                actor: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.announce_write().await?;
                sqlx::query(
                    "INSERT INTO reminder_settings (campaign_id, hours_before, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (campaign_id) DO UPDATE SET \
                     hours_before = excluded.hours_before, updated_by = excluded.updated_by, \
                     updated_at = excluded.updated_at",
                )
                .bind(campaign)
                .bind(sqlx::types::Json(hours))
                .bind(actor)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                audit_in!(tx, now, actor, "reminder.settings", serde_json::json!({
                    "campaign": campaign, "hours_before": hours,
                }));
                tx.commit().await?;
                Ok(())
            }

            async fn schedule_reminder(
                &self,
                r: &$crate::store::announce::NewReminder,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<Option<i64>> {
                use $crate::store::announce::ReminderKind;
                let mut tx = self.announce_write().await?;
                let first = sqlx::query(
                    "INSERT INTO reminders_sent (campaign_id, hours_before, kind, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(r.campaign_id)
                .bind(r.hours_before)
                .bind(r.kind.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if first == 0 {
                    return Ok(None);
                }
                let audience = $crate::store::announce::Audience {
                    residents: r.kind == ReminderKind::Residents,
                    ..Default::default()
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO broadcasts (campaign_id, text, audience, schedule, state, revision, \
                     created_by, created_at, updated_at) SELECT $1, $2, $3, $4, 'scheduled', 1, id, $5, $5 \
                     FROM staff_users WHERE name = 'gopy-system' RETURNING id",
                )
                .bind(r.campaign_id)
                .bind(&r.text)
                .bind(sqlx::types::Json(&audience))
                .bind(sqlx::types::Json(&r.schedule))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE reminders_sent SET broadcast_id = $1 WHERE campaign_id = $2 \
                     AND hours_before = $3 AND kind = $4",
                )
                .bind(id)
                .bind(r.campaign_id)
                .bind(r.hours_before)
                .bind(r.kind.as_str())
                .execute(&mut *tx)
                .await?;
                let targets = match r.kind {
                    ReminderKind::Groups => {
                        sqlx::query(
                            "INSERT INTO deliveries (broadcast_id, chat_group_id, state, not_before, updated_at) \
                             SELECT $1, g.id, 'pending', $2, $3 FROM chat_groups g \
                             WHERE g.state = 'bound' AND g.channel = 'telegram' AND g.unit_code IN \
                             (SELECT unit_code FROM campaign_units WHERE campaign_id = $4)",
                        )
                        .bind(id)
                        .bind(r.not_before)
                        .bind(now)
                        .bind(r.campaign_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                    }
                    ReminderKind::Residents => {
                        sqlx::query(
                            "INSERT INTO deliveries (broadcast_id, contact_id, state, not_before, updated_at) \
                             SELECT DISTINCT $1, k.contact_id, 'pending', $2, $3 FROM consents k \
                             JOIN contacts c ON c.id = k.contact_id \
                             WHERE k.campaign_id = $4 AND c.channel IN ('telegram', 'zalo') \
                             AND NOT EXISTS (SELECT 1 FROM opinions o WHERE o.contact_id = k.contact_id \
                             AND o.campaign_id = $4 AND o.status = 'submitted') \
                             AND NOT EXISTS (SELECT 1 FROM resident_notices n \
                             WHERE n.contact_id = k.contact_id AND n.subscribed = $5)",
                        )
                        .bind(id)
                        .bind(r.not_before)
                        .bind(now)
                        .bind(r.campaign_id)
                        .bind(false)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                    }
                };
                if targets > 0 {
                    route_deliveries!(tx, id);
                }
                audit_in!(tx, now, "system", "reminder.schedule", serde_json::json!({
                    "broadcast": id, "campaign": r.campaign_id, "hours_before": r.hours_before,
                    "kind": r.kind.as_str(), "targets": targets,
                }));
                if targets == 0 {
                    finish_broadcast!(tx, now, id, $for_update);
                }
                tx.commit().await?;
                Ok(Some(id))
            }

            async fn broadcasts_for_approvers(&self) -> $crate::store::StoreResult<Vec<$crate::store::announce::Broadcast>> {
                let sql = format!(
                    "SELECT {} FROM broadcasts WHERE state = 'submitted' AND \
                     (approvers_told_revision IS NULL OR approvers_told_revision < revision) ORDER BY id",
                    $crate::store::announce::sql::BROADCAST_COLUMNS
                );
                let rows: Vec<$crate::store::announce::BroadcastRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(self.announce_read()).await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn approvers_told(&self, broadcast: i64, revision: i64) -> $crate::store::StoreResult<bool> {
                let mut tx = self.announce_write().await?;
                let done = sqlx::query(
                    "UPDATE broadcasts SET approvers_told_revision = $1 WHERE id = $2 \
                     AND state = 'submitted' AND revision = $1 \
                     AND (approvers_told_revision IS NULL OR approvers_told_revision < $1)",
                )
                .bind(revision)
                .bind(broadcast)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done == 1)
            }

            async fn add_assisted_group(
                &self,
                new: &$crate::store::announce::NewAssistedGroup,
                actor: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::announce::ChatGroup> {
                let mut tx = self.announce_write().await?;
                // An assisted group has no platform id: it gets one of gopy's own.
                let external = format!("assisted-{}-{:08x}", now.timestamp(), rand::random::<u32>());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO chat_groups (channel, external_id, kind, title, state, unit_code, \
                     bot_status, can_delete, can_restrict, posting, lead_staff_id, created_at, \
                     updated_at, bound_at, bound_by) \
                     VALUES ($1, $2, 'group', $3, 'bound', $4, 'left', $5, $5, 'assisted', $6, $7, $7, $7, $8) \
                     RETURNING id",
                )
                .bind(new.channel.as_str())
                .bind(&external)
                .bind(&new.title)
                .bind(&new.unit)
                .bind(false)
                .bind(new.lead)
                .bind(now)
                .bind(actor)
                .fetch_one(&mut *tx)
                .await?;
                audit_in!(tx, now, actor, "group.add_assisted", serde_json::json!({
                    "group": id, "unit": new.unit, "lead": new.lead, "title": new.title,
                }));
                let group = group_where!(&mut *tx, "id = $1", id);
                tx.commit().await?;
                group.ok_or_else(|| $crate::store::StoreError::Corrupt("an assisted group vanished".to_owned()))
            }

            async fn confirm_assisted(
                &self,
                delivery: i64,
                staff: Option<i64>,
                actor: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<$crate::store::announce::ConfirmOutcome> {
                use $crate::store::announce::ConfirmOutcome;
                let mut tx = self.announce_write().await?;
                let sql = concat!(
                    "SELECT g.title, g.lead_staff_id, d.confirmed_at FROM deliveries d \
                     JOIN chat_groups g ON g.id = d.chat_group_id \
                     WHERE d.id = $1 AND g.posting = 'assisted' AND d.sent_at IS NOT NULL \
                     AND d.state IN ('sent', 'pending') ", $for_update
                );
                let found: Option<(String, Option<i64>, Option<chrono::DateTime<chrono::Utc>>)> =
                    sqlx::query_as(sql).bind(delivery).fetch_optional(&mut *tx).await?;
                let outcome = match found {
                    None => ConfirmOutcome::Unknown,
                    Some((_, lead, _)) if staff.is_some() && staff != lead => ConfirmOutcome::NotYours,
                    Some((title, _, Some(_))) => ConfirmOutcome::Already(title),
                    Some((title, _, None)) => {
                        sqlx::query(
                            "UPDATE deliveries SET confirmed_at = $1, confirmed_by = $2, updated_at = $1, \
                             state = 'sent', lease_until = NULL WHERE id = $3",
                        )
                        .bind(now)
                        .bind(actor)
                        .bind(delivery)
                        .execute(&mut *tx)
                        .await?;
                        audit_in!(tx, now, actor, "delivery.confirm_posted", serde_json::json!({
                            "delivery": delivery, "group": title,
                        }));
                        ConfirmOutcome::Confirmed(title)
                    }
                };
                tx.commit().await?;
                Ok(outcome)
            }

            async fn remind_unconfirmed(
                &self,
                sent_before: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                let mut tx = self.announce_write().await?;
                let ids: Vec<i64> = sqlx::query_scalar(
                    "UPDATE deliveries SET state = 'pending', not_before = $1, reminded_at = $1, \
                     lease_until = NULL, updated_at = $1 \
                     WHERE state = 'sent' AND confirmed_at IS NULL AND reminded_at IS NULL \
                     AND sent_at < $2 AND chat_group_id IN \
                     (SELECT id FROM chat_groups WHERE posting = 'assisted') RETURNING id",
                )
                .bind(now)
                .bind(sent_before)
                .fetch_all(&mut *tx)
                .await?;
                for id in &ids {
                    audit_in!(tx, now, "system", "delivery.remind_lead", serde_json::json!({ "delivery": id }));
                }
                tx.commit().await?;
                Ok(ids.len() as u64)
            }

            async fn delivery_counts(&self, broadcast: i64) -> $crate::store::StoreResult<$crate::store::announce::DeliveryCounts> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT state, count(*) FROM deliveries WHERE broadcast_id = $1 GROUP BY state",
                )
                .bind(broadcast)
                .fetch_all(self.announce_read())
                .await?;
                let mut counts = $crate::store::announce::DeliveryCounts::default();
                for (state, n) in rows {
                    match state.as_str() {
                        "pending" => counts.pending = n,
                        "sent" => counts.sent = n,
                        "failed" => counts.failed = n,
                        _ => counts.cancelled += n,
                    }
                }
                counts.awaiting_confirmation = sqlx::query_scalar(
                    "SELECT count(*) FROM deliveries d JOIN chat_groups g ON g.id = d.chat_group_id \
                     WHERE d.broadcast_id = $1 AND d.state = 'sent' AND g.posting = 'assisted' \
                     AND d.confirmed_at IS NULL",
                )
                .bind(broadcast)
                .fetch_one(self.announce_read())
                .await?;
                counts.reasons = sqlx::query_as(
                    "SELECT COALESCE(error, ''), count(*) FROM deliveries WHERE broadcast_id = $1 \
                     AND state = 'failed' GROUP BY error ORDER BY count(*) DESC, 1",
                )
                .bind(broadcast)
                .fetch_all(self.announce_read())
                .await?;
                Ok(counts)
            }
        }
    };
}
