//! `cargo bench --bench broadcast -- [--groups N] [--backend sqlite|postgres|both]
//! [--rates 1000,0]`: the broadcast benchmark. For each backend and rate it makes a fresh
//! database with N groups bound to one unit, starts the fake Telegram Bot API (enforcing that
//! overall rate, 20/min per group; `0` is no limit) and the real `gopy serve` against it,
//! schedules one approved broadcast to every group, and reports the achieved rate, the time to
//! deliver all (from the `schedule` call to the platform holding a message for every group),
//! duplicates, losses, 429s and gopy's peak RSS. A missed target is reported,
//! never a failure.

#[path = "../tests/fake_telegram/mod.rs"]
mod fake_telegram;

#[allow(dead_code)]
#[path = "dialog/procs.rs"]
mod procs;

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use chrono::Utc;
use clap::Parser;
use gopy::announce::broadcast::{Action, act, create};
use gopy::domain::Channel;
use gopy::store::announce::{
    Audience, BotMembership, BotStatus, BroadcastState, GroupKind, LinkCode, NewStaff, Role,
    Schedule,
};
use serde_json::json;

use fake_telegram::{FakeLimits, FakeTelegram, TOKEN};
use procs::{Backend, Db, Proc};

/// Options.
#[derive(Debug, Parser)]
struct Args {
    /// Groups to send to.
    #[arg(long, default_value_t = 10_000)]
    groups: usize,
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Overall rates the fake enforces (messages a second); 0 is no limit.
    #[arg(long, value_delimiter = ',', default_value = "1000,0")]
    rates: Vec<u32>,
    /// Accepted for `cargo bench`'s own flag.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The figures of one run.
#[derive(Debug)]
struct Figures {
    backend: &'static str,
    rate: u32,
    seconds: f64,
    achieved: f64,
    duplicates: usize,
    losses: usize,
    too_many: u64,
    rss_mib: f64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let backends: Vec<Backend> = match args.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let mut all = Vec::new();
    for backend in backends {
        for &rate in &args.rates {
            let f = one(backend, rate, args.groups).await?;
            println!(
                "{:8} rate {:>5}: {} groups in {:.2} s = {:.0}/s ({:.0}% of the limit), duplicates {}, losses {}, 429s {}, peak RSS {:.1} MiB",
                f.backend,
                if f.rate == 0 {
                    "none".to_owned()
                } else {
                    f.rate.to_string()
                },
                args.groups,
                f.seconds,
                f.achieved,
                if f.rate == 0 {
                    0.0
                } else {
                    100.0 * f.achieved / f64::from(f.rate)
                },
                f.duplicates,
                f.losses,
                f.too_many,
                f.rss_mib
            );
            all.push(f);
        }
    }
    let json: Vec<_> = all
        .iter()
        .map(|f| {
            json!({"backend": f.backend, "rate": f.rate, "seconds": f.seconds,
                   "achieved_per_second": f.achieved, "duplicates": f.duplicates,
                   "losses": f.losses, "too_many_requests": f.too_many, "peak_rss_mib": f.rss_mib})
        })
        .collect();
    println!(
        "{}",
        json!({"bench": "broadcast", "groups": args.groups, "runs": json})
    );
    Ok(())
}

/// One run: a fresh database and fake, `groups` groups, one broadcast.
async fn one(backend: Backend, rate: u32, groups: usize) -> Result<Figures> {
    let db = Db::fresh(backend).await?;
    let store = gopy::store::open(&db.url).await?;
    store.migrate().await?;
    let campaign = gopy::campaign::demo(Utc::now())?;
    let unit = campaign.units[0].code.clone();
    store.insert_campaign(&campaign).await?;
    for (i, (name, role)) in [("lan", Role::Official), ("minh", Role::Approver)]
        .into_iter()
        .enumerate()
    {
        let new = NewStaff {
            name: name.to_owned(),
            roles: vec![role],
            unit: None,
        };
        let link = LinkCode {
            code: format!("BENCH00{i}"),
            expires_at: Utc::now() + chrono::Duration::hours(1),
        };
        store.add_staff(&new, &link, "bench", Utc::now()).await?;
    }
    let fake = FakeTelegram::start().await;
    let chats: Vec<i64> = (0..groups as i64).map(|i| -1_000_000 - i).collect();
    for chat in &chats {
        let m = BotMembership {
            channel: Channel::Telegram,
            external_id: chat.to_string(),
            kind: GroupKind::Supergroup,
            title: format!("Nhóm {chat}"),
            status: BotStatus::Member,
            can_delete: false,
            can_restrict: false,
        };
        let g = store
            .record_membership(&m, None, Utc::now())
            .await?
            .context("group recorded")?;
        store
            .bind_group(g.id, Some(&unit), "bench", None, Utc::now())
            .await?;
        fake.add_chat(json!({"id": chat, "type": "supergroup", "title": "Nhóm"}));
    }
    let received: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    // When the fake had a message for every group: the broadcast is delivered then.
    let delivered_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut sent = fake.subscribe_sent();
    let counter = received.clone();
    let last = delivered_at.clone();
    let counting = tokio::spawn(async move {
        while let Some(s) = sent.recv().await {
            if let Ok(mut m) = counter.lock() {
                *m.entry(s.chat_id).or_default() += 1;
                if m.len() == groups
                    && let Ok(mut at) = last.lock()
                {
                    at.get_or_insert_with(Instant::now);
                }
            }
        }
    });
    if rate > 0 {
        fake.enforce_limits(FakeLimits {
            per_second: rate as usize,
            group_per_minute: 20,
            private_per_second: 1,
        });
    }
    let logs = tempfile::tempdir()?;
    let outbox_rate = if rate == 0 { 1_000_000 } else { rate };
    let mut gopy = Proc::spawn(
        "gopy",
        Path::new(env!("CARGO_BIN_EXE_gopy")),
        &["serve".to_owned()],
        &[
            ("DATABASE_URL", db.url.clone()),
            ("TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
            ("TELEGRAM_API_URL", fake.api_url().to_string()),
            ("GOPY_HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("GOPY_DEMO", "off".to_owned()),
            ("GOPY_OUTBOX_RATE", outbox_rate.to_string()),
            ("RUST_LOG", "warn".to_owned()),
        ],
        logs.path().join("gopy.log"),
    )?;
    gopy.wait_polling(&fake).await?;
    // Calls are not recorded from here on: memory stays flat over 10,000 messages.
    fake.set_lean(1000);

    let audience = Audience {
        units: vec![unit],
        subunits: false,
        groups: vec![],
        residents: false,
    };
    let b = create(
        &store,
        "lan",
        "Thông báo thử tải / benchmark",
        audience,
        None,
        Utc::now(),
    )
    .await?;
    act(&store, b.id, "lan", Action::Submit, Utc::now()).await?;
    act(&store, b.id, "minh", Action::Approve, Utc::now()).await?;
    let started = Instant::now();
    act(
        &store,
        b.id,
        "lan",
        Action::Schedule(Schedule::Now),
        Utc::now(),
    )
    .await?;
    let scheduled = started.elapsed().as_secs_f64();
    let limit = Duration::from_secs(120 + groups as u64 / 10);
    loop {
        gopy.check_alive()?;
        let state = store.broadcast(b.id).await?.context("broadcast")?.state;
        if matches!(state, BroadcastState::Sent | BroadcastState::PartlyFailed) {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "not delivered within {limit:?}: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded = started.elapsed().as_secs_f64();
    // Delivered when the last group's message reached the platform; gopy records the
    // broadcast as sent a moment later (the bench looks every 50 ms).
    let seconds = delivered_at
        .lock()
        .ok()
        .and_then(|at| *at)
        .map_or(recorded, |at| at.duration_since(started).as_secs_f64());
    println!(
        "{:8} rate {:>5}: scheduling {:.3} s of the {:.2} s to deliver to every group ({:.2} s until gopy recorded the broadcast as sent)",
        backend.name(),
        rate,
        scheduled,
        seconds,
        recorded
    );
    let rss_mib = gopy.peak_rss_kib().unwrap_or_default() as f64 / 1024.0;
    gopy.stop().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    counting.abort();
    let got = received.lock().map(|m| m.clone()).unwrap_or_default();
    let losses = chats.iter().filter(|c| !got.contains_key(c)).count();
    let duplicates = got.values().map(|n| n.saturating_sub(1)).sum();
    let too_many = fake.rate_limited_count();
    db.remove().await?;
    Ok(Figures {
        backend: backend.name(),
        rate,
        seconds,
        achieved: groups as f64 / seconds,
        duplicates,
        losses,
        too_many,
        rss_mib,
    })
}
