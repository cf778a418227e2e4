//! The baseline bots, run in a process of their own (the bench binary re-executed with
//! `--baseline`): a bare teloxide echo bot, and the same bot doing one Postgres INSERT per
//! update before it replies. Both use teloxide's own dispatcher and long polling, so they meet
//! the fake exactly as gopy does.

use std::error::Error;

use anyhow::{Context as _, Result};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use teloxide::dispatching::UpdateFilterExt as _;
use teloxide::prelude::*;

/// What the handlers return: any error is logged by teloxide and the update is dropped.
type HandlerResult = Result<(), Box<dyn Error + Send + Sync>>;

/// The pool size of the INSERT baseline: the same as gopy's Postgres store.
const PG_CONNECTIONS: u32 = 16;

/// Which baseline to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Answers each text with the same text.
    Echo,
    /// Inserts each text into a Postgres table, then answers with the same text.
    EchoInsert,
}

impl Kind {
    /// The name printed in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Echo => "echo",
            Kind::EchoInsert => "echo+INSERT",
        }
    }
}

/// Runs a baseline bot until the process is stopped.
pub async fn run(kind: Kind, api: &str, token: &str, db: Option<&str>) -> Result<()> {
    let api = url::Url::parse(api).context("--api is not a URL")?;
    let bot = Bot::new(token).set_api_url(api);
    match kind {
        Kind::Echo => {
            let handler = Update::filter_message().endpoint(echo);
            Dispatcher::builder(bot, handler).build().dispatch().await;
        }
        Kind::EchoInsert => {
            let url = db.context("--db is required for echo-insert")?;
            let pool = PgPoolOptions::new()
                .max_connections(PG_CONNECTIONS)
                .connect(url)
                .await
                .context("cannot connect to Postgres")?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS heard (
                    id BIGSERIAL PRIMARY KEY,
                    chat_id BIGINT NOT NULL,
                    message_id INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    at TIMESTAMPTZ NOT NULL DEFAULT now()
                )",
            )
            .execute(&pool)
            .await
            .context("cannot create the table")?;
            let handler = Update::filter_message().endpoint(echo_insert);
            Dispatcher::builder(bot, handler)
                .dependencies(dptree::deps![pool])
                .build()
                .dispatch()
                .await;
        }
    }
    Ok(())
}

/// Answers a text with the same text.
async fn echo(bot: Bot, msg: Message) -> HandlerResult {
    if let Some(text) = msg.text() {
        bot.send_message(msg.chat.id, text).await?;
    }
    Ok(())
}

/// Stores a text, then answers with the same text.
async fn echo_insert(bot: Bot, msg: Message, pool: PgPool) -> HandlerResult {
    if let Some(text) = msg.text() {
        sqlx::query("INSERT INTO heard (chat_id, message_id, text) VALUES ($1, $2, $3)")
            .bind(msg.chat.id.0)
            .bind(msg.id.0)
            .bind(text)
            .execute(&pool)
            .await?;
        bot.send_message(msg.chat.id, text).await?;
    }
    Ok(())
}

/// How many rows the INSERT baseline stored (to check it lost nothing).
pub async fn stored_rows(db: &str) -> Result<i64> {
    let pool = PgPoolOptions::new().max_connections(1).connect(db).await?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM heard")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(n)
}
