//! The SQL of [`super::AnnounceStore`], written once for both backends. It uses `$N`
//! placeholders (both drivers accept them), binds times as `DateTime<Utc>` (SQLite stores them
//! as RFC 3339 text in UTC, which sorts like the instants it names) and JSON through
//! [`sqlx::types::Json`]. A macro rather than generic code because each backend's rows decode
//! through its own driver.

/// The columns of `chat_groups` in the order [`super::GroupRow`] names them.
pub(super) const GROUP_COLUMNS: &str = "id, channel, external_id, kind, title, state, unit_code, \
     bot_status, can_delete, can_restrict, migrated_to, migrated_from, updated_at";

/// The columns of `staff_users` in the order [`super::StaffRow`] names them.
pub(super) const STAFF_COLUMNS: &str =
    "id, name, roles, unit_code, telegram_user_id, linked_at, created_at";

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

/// Implements [`super::AnnounceStore`] for a store type that has `announce_write()` (a write
/// transaction) and `announce_read()` (a pool for reads).
macro_rules! announce_store {
    ($store:ty) => {
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
                Ok(staff_where!(self.announce_read(), "TRUE"))
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
                use $crate::store::announce::LinkOutcome;
                let mut tx = self.announce_write().await?;
                claim_update!(tx, $crate::domain::Channel::Telegram, update, now);
                let found: Option<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
                    "SELECT id, name, link_code_expires_at FROM staff_users \
                     WHERE link_code = $1 AND disabled_at IS NULL",
                )
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
                let outcome = match found {
                    None => LinkOutcome::Unknown,
                    Some((_, _, expires)) if expires.is_none_or(|e| e <= now) => LinkOutcome::Expired,
                    Some((id, name, _)) => {
                        sqlx::query(
                            "UPDATE staff_users SET telegram_user_id = NULL \
                             WHERE telegram_user_id = $1 AND id <> $2",
                        )
                        .bind(user_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "UPDATE staff_users SET telegram_user_id = $1, linked_at = $2, \
                             link_code = NULL, link_code_expires_at = NULL WHERE id = $3",
                        )
                        .bind(user_id)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        audit_in!(tx, now, &name, "staff.link_telegram", serde_json::json!({ "staff": id }));
                        match staff_where!(&mut *tx, "id = $1", id).pop() {
                            Some(user) => LinkOutcome::Linked(user),
                            None => LinkOutcome::Unknown,
                        }
                    }
                };
                tx.commit().await?;
                Ok(Some(outcome))
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
        }
    };
}
