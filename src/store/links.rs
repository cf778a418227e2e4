//! Identity across channels in storage: one-time link codes (kept hashed), the contacts
//! linked to one person, and the audit of every link and unlink. The SQL is written once and
//! expanded per backend (`$N` placeholders work on both); the [`super::Tx`] implementations
//! call these inside the step's transaction.

/// Writes the link functions for one backend's connection type.
macro_rules! contact_links_fns {
    ($conn:ty) => {
        use chrono::{DateTime, Utc};

        use $crate::domain::{ContactId, LinkCodeCheck, LinkStatus};
        use $crate::store::{StoreError, StoreResult};

        /// The contact's person, and what the code with this hash is.
        pub(crate) async fn link_status(
            conn: &mut $conn,
            contact: ContactId,
            code_hash: Option<&str>,
            now: DateTime<Utc>,
        ) -> StoreResult<LinkStatus> {
            let person = person_of(conn, contact).await?;
            let code = match code_hash {
                None => None,
                Some(hash) => {
                    let row: Option<(i64, DateTime<Utc>, Option<DateTime<Utc>>, Option<i64>)> =
                        sqlx::query_as(
                            "SELECT c.contact_id, c.expires_at, c.used_at, l.person_id \
                             FROM contact_link_codes c \
                             LEFT JOIN contact_links l ON l.contact_id = c.contact_id \
                             WHERE c.code_hash = $1",
                        )
                        .bind(hash)
                        .fetch_optional(&mut *conn)
                        .await?;
                    Some(match row {
                        None => LinkCodeCheck::Unknown,
                        Some((_, _, Some(_), _)) => LinkCodeCheck::Used,
                        Some((_, expires, None, _)) if expires <= now => LinkCodeCheck::Expired,
                        Some((other, _, None, person)) => LinkCodeCheck::Valid {
                            contact: other,
                            person,
                        },
                    })
                }
            };
            Ok(LinkStatus {
                contact,
                person,
                code,
            })
        }

        /// The person a contact is linked to.
        async fn person_of(conn: &mut $conn, contact: ContactId) -> StoreResult<Option<i64>> {
            let person: Option<i64> =
                sqlx::query_scalar("SELECT person_id FROM contact_links WHERE contact_id = $1")
                    .bind(contact)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(person)
        }

        /// Keeps a new code's hash for the contact, dropping the contact's unused codes and
        /// every code expired for a day. A hash already kept is a `Conflict` (the step runs
        /// again with a fresh code).
        pub(crate) async fn issue_link_code(
            conn: &mut $conn,
            contact: ContactId,
            code_hash: &str,
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> StoreResult<()> {
            sqlx::query(
                "DELETE FROM contact_link_codes \
                 WHERE (contact_id = $1 AND used_at IS NULL) OR expires_at < $2",
            )
            .bind(contact)
            .bind(now - chrono::Duration::days(1))
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO contact_link_codes (code_hash, contact_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(code_hash)
            .bind(contact)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Uses the code and links `contact` with `other` (the code's owner) as one person,
        /// merging the persons either was linked to; audited with contact ids only. Returns the
        /// person. A code used meanwhile is a `Conflict` (the step runs again and says so).
        pub(crate) async fn link_contacts(
            conn: &mut $conn,
            contact: ContactId,
            code_hash: &str,
            other: ContactId,
            now: DateTime<Utc>,
        ) -> StoreResult<i64> {
            let used = sqlx::query(
                "UPDATE contact_link_codes SET used_at = $2 \
                 WHERE code_hash = $1 AND used_at IS NULL AND contact_id = $3",
            )
            .bind(code_hash)
            .bind(now)
            .bind(other)
            .execute(&mut *conn)
            .await?;
            if used.rows_affected() == 0 {
                return Err(StoreError::Conflict("the link code was used meanwhile".into()));
            }
            let mine = person_of(conn, contact).await?;
            let theirs = person_of(conn, other).await?;
            let insert = "INSERT INTO contact_links (contact_id, person_id, linked_at) \
                          VALUES ($1, $2, $3)";
            let person = match (mine, theirs) {
                (Some(a), Some(b)) if a == b => a,
                (Some(a), Some(b)) => {
                    sqlx::query("UPDATE contact_links SET person_id = $1 WHERE person_id = $2")
                        .bind(a)
                        .bind(b)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("DELETE FROM linked_persons WHERE id = $1")
                        .bind(b)
                        .execute(&mut *conn)
                        .await?;
                    a
                }
                (Some(p), None) | (None, Some(p)) => {
                    let newcomer = if mine.is_some() { other } else { contact };
                    sqlx::query(insert)
                        .bind(newcomer)
                        .bind(p)
                        .bind(now)
                        .execute(&mut *conn)
                        .await?;
                    p
                }
                (None, None) => {
                    let p: i64 = sqlx::query_scalar(
                        "INSERT INTO linked_persons (created_at) VALUES ($1) RETURNING id",
                    )
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?;
                    for c in [other, contact] {
                        sqlx::query(insert)
                            .bind(c)
                            .bind(p)
                            .bind(now)
                            .execute(&mut *conn)
                            .await?;
                    }
                    p
                }
            };
            let detail = serde_json::json!({ "contact": contact, "with": other, "person": person });
            audit(conn, now, "contact.link", detail).await?;
            Ok(person)
        }

        /// Unlinks the contact from its person (the person goes when fewer than two contacts
        /// remain); audited with `why`. Returns whether it was linked.
        pub(crate) async fn unlink_contact(
            conn: &mut $conn,
            contact: ContactId,
            why: &str,
            now: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let person: Option<i64> = sqlx::query_scalar(
                "DELETE FROM contact_links WHERE contact_id = $1 RETURNING person_id",
            )
            .bind(contact)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(person) = person else {
                return Ok(false);
            };
            let left: i64 =
                sqlx::query_scalar("SELECT count(*) FROM contact_links WHERE person_id = $1")
                    .bind(person)
                    .fetch_one(&mut *conn)
                    .await?;
            if left < 2 {
                // The last contact's link goes with the person (ON DELETE CASCADE).
                sqlx::query("DELETE FROM linked_persons WHERE id = $1")
                    .bind(person)
                    .execute(&mut *conn)
                    .await?;
            }
            let detail = serde_json::json!({ "contact": contact, "person": person, "reason": why });
            audit(conn, now, "contact.unlink", detail).await?;
            Ok(true)
        }

        /// One audit entry by the resident (identified by contact ids in `detail` only).
        async fn audit(
            conn: &mut $conn,
            now: DateTime<Utc>,
            action: &str,
            detail: serde_json::Value,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)",
            )
            .bind(now)
            .bind("resident")
            .bind(action)
            .bind(sqlx::types::Json(detail))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}

/// The link functions on SQLite.
pub(crate) mod sqlite {
    contact_links_fns!(sqlx::SqliteConnection);
}

/// The link functions on Postgres.
pub(crate) mod postgres {
    contact_links_fns!(sqlx::PgConnection);
}
