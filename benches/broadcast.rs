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
#[path = "broadcast/setup.rs"]
mod setup;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
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
    let unit = setup::campaign_and_staff(&store).await?;
    let fake = FakeTelegram::start().await;
    let chats = setup::chats(groups);
    setup::bind_groups(&store, &unit, &chats).await?;
    for chat in &chats {
        fake.add_chat(json!({"id": chat, "type": "supergroup", "title": "Nhóm"}));
    }
    let tally = setup::Tally::start(&fake, groups);
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

    let id = setup::approved(&store, &unit).await?;
    let started = Instant::now();
    setup::schedule_now(&store, id).await?;
    let scheduled = started.elapsed().as_secs_f64();
    let limit = Duration::from_secs(120 + groups as u64 / 10);
    while !setup::finished(&store, id).await? {
        gopy.check_alive()?;
        anyhow::ensure!(started.elapsed() < limit, "not delivered within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded = started.elapsed().as_secs_f64();
    // Delivered when the last group's message reached the platform; gopy records the
    // broadcast as sent a moment later (the bench looks every 50 ms).
    let seconds = tally
        .complete_at()
        .map_or(recorded, |at| at.duration_since(started).as_secs_f64());
    // While sending: the first group's message to the last one's (the rate held).
    let sending = tally
        .first_at()
        .zip(tally.complete_at())
        .map(|(first, last)| last.saturating_duration_since(first).as_secs_f64())
        .filter(|s| *s > 0.0)
        .map_or("-".to_owned(), |s| {
            format!("{s:.2} s, {:.0}/s", groups.saturating_sub(1) as f64 / s)
        });
    println!(
        "{:8} rate {:>5}: scheduling {:.3} s of the {:.2} s to deliver to every group ({:.2} s until gopy recorded the broadcast as sent; first message to last {sending})",
        backend.name(),
        rate,
        scheduled,
        seconds,
        recorded
    );
    let rss_mib = gopy.peak_rss_kib().unwrap_or_default() as f64 / 1024.0;
    gopy.stop().await?;
    let (duplicates, losses) = tally.finish(&chats).await;
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
