//! `cargo bench --bench dialog -- [options]`: the dialog benchmark. It starts the fake
//! Telegram Bot API from `tests/fake_telegram`, runs the real `gopy serve` against it as a
//! separate process (SQLite and Postgres, a fresh database each run), and drives simulated
//! residents through complete six-topic dialogs: a closed loop (throughput) and an open loop
//! at a fixed offered rate (latency). In the same run, with the same fake and the same
//! delivery (long polling), it drives two baselines: a bare teloxide echo bot and the same bot
//! doing one Postgres INSERT per update. The `zalo` scenario runs the same dialogs over the
//! Zalo Bot API in webhook mode (the fake Zalo from `tests/fake_zalo`; the harness POSTs each
//! event to gopy's webhook and times its acknowledgement). Figures go to stdout as text and
//! as one JSON line, and to `target/bench-dialog.json`. A missed target is reported, never a
//! failure.
//!
//! Layout: `dialog/driver.rs` (residents and the loops), `dialog/procs.rs` (processes,
//! databases, memory), `dialog/baseline.rs` (the baseline bots, run via `--baseline`),
//! `dialog/verify.rs` (the database check), `dialog/report.rs` (tables, targets, JSON),
//! `dialog/zalo.rs` (the Zalo webhook run: residents replying by numbers, acknowledgements).

#[path = "../tests/fake_telegram/mod.rs"]
mod fake_telegram;
#[path = "../tests/fake_zalo/mod.rs"]
mod fake_zalo;

#[path = "dialog/baseline.rs"]
mod baseline;
#[path = "dialog/driver.rs"]
mod driver;
#[path = "dialog/procs.rs"]
mod procs;
#[path = "dialog/report.rs"]
mod report;
#[path = "dialog/verify.rs"]
mod verify;
#[path = "dialog/zalo.rs"]
mod zalo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Parser, ValueEnum};
use serde_json::json;

use baseline::Kind;
use driver::{Bot, Limits, OpenArgs, OpenLoad, Plan, STEP_TIMEOUT};
use fake_telegram::{FakeTelegram, TOKEN};
use gopy::domain::Channel;
use procs::{Backend, Db, Proc};
use report::{CpuSplit, HarnessArgs, Machine, Run, kib_to_mb};

/// How updates reach the bots in every run.
const DELIVERY: &str = "long polling (getUpdates) against a fake Bot API on 127.0.0.1";

/// The fake keeps at most about twice this many sent messages during a run.
const KEEP_SENT: usize = 20_000;

/// The dialog benchmark: gopy against the fake Telegram server, with baselines.
#[derive(Debug, Parser)]
#[command(name = "dialog", about)]
struct Args {
    /// Small numbers, for a smoke run in seconds.
    #[arg(long)]
    quick: bool,
    /// Which database gopy runs on.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendArg,
    /// Which scenarios to run (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    scenario: Vec<Scenario>,
    /// Where to write the JSON document (default: target/bench-dialog.json).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Closed-loop resident counts (comma-separated; default 100,1000, quick 10,50).
    #[arg(long, value_delimiter = ',')]
    residents: Option<Vec<usize>>,
    /// Open-loop residents (default 10000, quick 300).
    #[arg(long)]
    open_residents: Option<usize>,
    /// Write every gopy step's queue time and latency (ms, µs) to a file per run in this
    /// folder, to look for stalls.
    #[arg(long)]
    dump_latencies: Option<PathBuf>,
    /// Open-loop load (defaults: 1000 steps/s, 45 s measured after 30 s, think time 3,9;
    /// quick: 50 steps/s, 5 s after 2 s, 0.5,1.5).
    #[command(flatten)]
    open: OpenArgs,
    /// gopy, its logs, the harness.
    #[command(flatten)]
    harness: HarnessArgs,
    /// Internal: run a baseline bot in this process.
    #[arg(long, hide = true, value_enum)]
    baseline: Option<Kind>,
    /// Internal: the Bot API URL for a baseline bot.
    #[arg(long, hide = true)]
    api: Option<String>,
    /// Internal: the bot token for a baseline bot.
    #[arg(long, hide = true)]
    token: Option<String>,
    /// Internal: the Postgres URL for the INSERT baseline.
    #[arg(long, hide = true)]
    db: Option<String>,
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// SQLite only.
    Sqlite,
    /// Postgres only.
    Postgres,
    /// Both.
    Both,
}

/// `--scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// gopy, closed loop.
    Closed,
    /// gopy, open loop.
    Open,
    /// The echo and echo+INSERT baselines, closed loop.
    Baselines,
    /// gopy over Zalo (webhook), closed and open loop.
    Zalo,
    /// gopy over Zalo (webhook), closed loop only.
    ZaloClosed,
    /// gopy over Zalo (webhook), open loop only.
    ZaloOpen,
    /// All of them.
    All,
}

/// The numbers of one benchmark run.
#[derive(Debug, Clone)]
struct Sizes {
    /// Closed-loop resident counts.
    closed: Vec<usize>,
    /// Open-loop residents.
    open_residents: usize,
    /// Open-loop load.
    load: OpenLoad,
}

impl Sizes {
    /// From the options.
    fn from(args: &Args) -> Result<Sizes> {
        let (closed, open_residents, load) = if args.quick {
            (vec![10, 50], 300, (50.0, 2.0, 5.0, (0.5, 1.5)))
        } else {
            (vec![100, 1000], 10_000, (1000.0, 30.0, 45.0, (3.0, 9.0)))
        };
        Ok(Sizes {
            closed: args.residents.clone().unwrap_or(closed),
            open_residents: args.open_residents.unwrap_or(open_residents),
            load: args.open.load(load)?,
        })
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(kind) = args.baseline {
        // A baseline bot gets tokio's default runtime, like any teloxide bot (and gopy).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build();
        let result = runtime.map_err(anyhow::Error::from).and_then(|rt| {
            rt.block_on(baseline::run(
                kind,
                args.api.as_deref().unwrap_or_default(),
                args.token.as_deref().unwrap_or_default(),
                args.db.as_deref(),
            ))
        });
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("baseline {}: {e:#}", kind.name());
                ExitCode::FAILURE
            }
        };
    }
    // The harness (fake server and driver) runs on as few threads as asked, one by default.
    let runtime = report::harness_runtime(args.harness.harness_threads);
    let result = runtime
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(bench(&args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dialog benchmark: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every chosen scenario and reports.
async fn bench(args: &Args) -> Result<()> {
    let sizes = Sizes::from(args)?;
    let machine = Machine::read();
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let commit = report::git_commit();
    let backends: Vec<Backend> = match args.backend {
        BackendArg::Sqlite => vec![Backend::Sqlite],
        BackendArg::Postgres => vec![Backend::Postgres],
        BackendArg::Both => vec![Backend::Sqlite, Backend::Postgres],
    };
    let wants = |s: Scenario| args.scenario.contains(&s) || args.scenario.contains(&Scenario::All);
    let scratch = tempfile::Builder::new()
        .prefix("gopy-bench-logs-")
        .tempdir()
        .context("cannot create a folder for logs")?;
    let logs = report::logs_dir(args.harness.logs.as_deref(), scratch.path())?;

    println!("gopy dialog benchmark — {date}, commit {commit}");
    println!(
        "machine: {} CPUs ({}), {:.1} GiB memory, Linux {}",
        machine.nproc, machine.cpu, machine.memory_gib, machine.kernel
    );
    if machine.load_at_start > 0.5 {
        println!(
            "WARNING: load average {:.2} at start: other work on this machine skews the figures \
             (see the 'other' CPU column)",
            machine.load_at_start
        );
    }
    println!(
        "updates arrive by {DELIVERY} (the zalo scenario: webhook POSTs from the harness); \
         every bot is a separate process"
    );
    if args.quick {
        println!("--quick: small numbers, for a smoke run; not the figures the targets are about");
    }
    println!();

    let gopy = report::gopy_copy(args.harness.gopy.as_deref(), scratch.path())?;

    let mut runs: Vec<Run> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut record = |label: String, result: Result<Run>| match result {
        Ok(run) => {
            eprintln!(
                "  done: {label}: {:.0} steps/s, p99 {} ms, {} timeouts",
                run.steps_per_s,
                run.p99_ms.map_or("-".to_owned(), |v| format!("{v:.2}")),
                run.timeouts
            );
            runs.push(run);
        }
        Err(e) => {
            eprintln!("  FAILED: {label}: {e:#}");
            errors.push(format!("{label}: {e:#}"));
        }
    };

    if wants(Scenario::Baselines) {
        for &n in &sizes.closed {
            let plans = driver::plans(n, 42);
            for kind in [Kind::Echo, Kind::EchoInsert] {
                let label = format!("{} closed loop, {n} residents", kind.name());
                eprintln!("running {label}");
                record(label, run_baseline(kind, &plans, &logs).await);
            }
        }
    }
    if wants(Scenario::Closed) {
        for &backend in &backends {
            for &n in &sizes.closed {
                let plans = driver::plans(n, 42);
                let label = format!("gopy/{} closed loop, {n} residents", backend.name());
                eprintln!("running {label}");
                record(
                    label,
                    run_gopy(
                        &gopy,
                        &args.harness.gopy_log,
                        args.dump_latencies.as_deref(),
                        backend,
                        &plans,
                        None,
                        &logs,
                    )
                    .await,
                );
            }
        }
    }
    if wants(Scenario::Zalo) || wants(Scenario::ZaloClosed) {
        for &backend in &backends {
            for &n in &sizes.closed {
                let plans = driver::plans(n, 42);
                let label = format!("gopy-zalo/{} closed loop, {n} residents", backend.name());
                eprintln!("running {label}");
                record(
                    label,
                    zalo::run(&gopy, &args.harness.gopy_log, backend, &plans, None, &logs).await,
                );
            }
        }
    }
    if wants(Scenario::Open) {
        for &backend in &backends {
            let plans = driver::plans(sizes.open_residents, 43);
            let label = format!(
                "gopy/{} open loop, {} residents at {} steps/s",
                backend.name(),
                sizes.open_residents,
                sizes.load.rate
            );
            eprintln!("running {label}");
            record(
                label,
                run_gopy(
                    &gopy,
                    &args.harness.gopy_log,
                    args.dump_latencies.as_deref(),
                    backend,
                    &plans,
                    Some(sizes.load),
                    &logs,
                )
                .await,
            );
        }
    }

    if wants(Scenario::Zalo) || wants(Scenario::ZaloOpen) {
        for &backend in &backends {
            let plans = driver::plans(sizes.open_residents, 43);
            let label = format!(
                "gopy-zalo/{} open loop, {} residents at {} steps/s",
                backend.name(),
                sizes.open_residents,
                sizes.load.rate
            );
            eprintln!("running {label}");
            record(
                label,
                zalo::run(
                    &gopy,
                    &args.harness.gopy_log,
                    backend,
                    &plans,
                    Some(sizes.load),
                    &logs,
                )
                .await,
            );
        }
    }

    let ratios = report::ratios(&runs);
    let targets = report::targets(&runs);
    if runs.iter().any(|r| r.scenario == "closed") {
        println!(
            "Closed loop: each resident sends its next step as soon as the previous reply arrives"
        );
        println!(
            "(gopy: complete six-topic dialogs by buttons; gopy-zalo: the same dialogs by numbered \
             replies; baselines: the same number of texts)"
        );
        print!("{}", report::closed_table(&runs));
        println!();
    }
    if runs.iter().any(|r| r.acks.is_some()) {
        println!(
            "Zalo webhook acknowledgements: each step is a POST from the harness to gopy's \
             /zalo/webhook, answered once the step is committed (Zalo allows 2 s); gopy-zalo's \
             step latency is the event's FIRST POST sent → first sendMessage to that resident at \
             the fake; in the open loop every POST counts, the warm-up's too. Residents \
             redeliver as Zalo does: after a 503, no answer within 2 s or a failed connection, \
             the same event again after {}–{} ms (doubling, capped at {} s), at most {} POSTs; \
             an event still not taken is lost to the sender (not a gopy loss)",
            zalo::REDELIVERY.first_pause.as_millis() / 2,
            zalo::REDELIVERY.first_pause.as_millis(),
            zalo::REDELIVERY.max_pause.as_secs(),
            zalo::REDELIVERY.tries
        );
        print!("{}", report::ack_table(&runs));
        println!();
    }
    if runs.iter().any(|r| r.scenario == "open") {
        println!(
            "{}",
            report::open_heading(sizes.open_residents, &sizes.load)
        );
        print!("{}", report::open_table(&runs));
        for r in runs.iter().filter(|r| r.scenario == "open") {
            println!(
                "{} steps sent: {} /start, {} button presses (numbered replies on Zalo), {} opinions; {} offers unserved \
                 (no resident done thinking); {} steps over 25 ms, in {} episode(s)",
                r.label(),
                r.mix.commands,
                r.mix.buttons,
                r.mix.opinions,
                r.unserved.unwrap_or(0),
                r.slow_steps,
                r.slow_episodes
            );
        }
        println!();
    }
    if runs.iter().any(|r| r.is_gopy()) {
        println!(
            "Where gopy's latency goes: end to end (update queued → first reply) beside gopy's own \
             step time (gopy_dialog_step_seconds: the step handled and its replies sent; \
             percentiles over its last ≤60 s)"
        );
        print!("{}", report::inside_table(&runs));
        println!();
    }
    if !ratios.is_empty() {
        println!("gopy's closed-loop throughput as a ratio of each baseline");
        print!("{}", report::ratio_table(&ratios));
        println!();
    }
    println!("Targets (a benchmark reports; a MISS does not fail the run)");
    print!("{}", report::target_table(&targets));
    report::print_notes(&runs);
    if !errors.is_empty() {
        println!();
        println!("Runs that failed:");
        for e in &errors {
            println!("  {e}");
        }
    }

    let doc = json!({
        "benchmark": "gopy dialog",
        "date": date,
        "commit": commit,
        "delivery": DELIVERY,
        "machine": machine,
        "options": {
            "quick": args.quick,
            "closed_residents": sizes.closed,
            "open_residents": sizes.open_residents,
            "open_rate": sizes.load.rate,
            "open_seconds": sizes.load.duration.as_secs_f64(),
            "open_warmup_seconds": sizes.load.warmup.as_secs_f64(),
            "think_seconds": [sizes.load.think.0.as_secs_f64(), sizes.load.think.1.as_secs_f64()],
            "step_timeout_seconds": STEP_TIMEOUT.as_secs_f64(),
        },
        "runs": runs,
        "ratios": ratios,
        "targets": targets,
        "errors": errors,
    });
    report::write_json(args.json.as_deref(), "bench-dialog.json", &doc)
}

/// Starts gopy on a fresh database, waits until it polls, drives the residents (closed loop,
/// or open loop with `load`), then stops it and checks its database.
async fn run_gopy(
    gopy: &Path,
    gopy_log: &str,
    dump: Option<&Path>,
    backend: Backend,
    plans: &[Plan],
    load: Option<OpenLoad>,
    logs: &Path,
) -> Result<Run> {
    let scenario = if load.is_some() { "open" } else { "closed" };
    let db = Db::fresh(backend).await?;
    let fake = FakeTelegram::start().await;
    let http = format!("127.0.0.1:{}", procs::free_port()?);
    let log = logs.join(format!(
        "gopy-{}-{scenario}-{}.log",
        backend.name(),
        plans.len()
    ));
    let mut proc = Proc::spawn(
        "gopy",
        gopy,
        &["serve".to_owned()],
        &[
            ("DATABASE_URL", db.url.clone()),
            ("TELEGRAM_BOT_TOKEN", TOKEN.to_owned()),
            ("TELEGRAM_API_URL", fake.api_url().to_string()),
            ("GOPY_HTTP_ADDR", http.clone()),
            ("GOPY_DEMO", "on".to_owned()),
            ("RUST_LOG", gopy_log.to_owned()),
        ],
        log,
    )?;
    let result = drive(&fake, &mut proc, Bot::Gopy, plans, load).await;
    let rss = proc.peak_rss_kib();
    let inside = procs::step_metrics(&http).await.unwrap_or_default();
    let warnings = proc.log_warnings(8);
    proc.stop().await?;
    let (outcome, cpu) = match result {
        Ok(o) => o,
        Err(e) => {
            let _ = db.remove().await;
            return Err(e);
        }
    };
    if let Some(dir) = dump {
        dump_latencies(
            dir,
            &format!("gopy-{}-{scenario}-{}", backend.name(), plans.len()),
            &outcome,
        );
    }
    let mut run = Run::new(
        "gopy",
        Some(backend.name()),
        scenario,
        plans.len(),
        &outcome,
    );
    run.inside_p50_ms = inside.p50_ms;
    run.inside_p99_ms = inside.p99_ms;
    run.inside_max_ms = inside.max_ms;
    run.inside_mean_ms = inside.mean_ms;
    run.peak_rss_mb = rss.map(kib_to_mb);
    cpu.fill(&mut run);
    run.warnings = warnings;
    let check = verify::gopy(&db.url, &outcome.residents, Channel::Telegram).await;
    db.remove().await?;
    let check = check?;
    check.fill(&mut run, load.is_none().then_some(plans.len()));
    Ok(run)
}

/// Starts a baseline bot as a separate process (this binary with `--baseline`) and drives
/// the residents against it, each sending as many texts as its gopy dialog has steps.
async fn run_baseline(kind: Kind, plans: &[Plan], logs: &Path) -> Result<Run> {
    let db = match kind {
        Kind::Echo => None,
        Kind::EchoInsert => Some(Db::fresh(Backend::Postgres).await?),
    };
    let fake = FakeTelegram::start().await;
    let exe = std::env::current_exe().context("cannot find the benchmark binary")?;
    let mut args = vec![
        "--baseline".to_owned(),
        match kind {
            Kind::Echo => "echo",
            Kind::EchoInsert => "echo-insert",
        }
        .to_owned(),
        "--api".to_owned(),
        fake.api_url().to_string(),
        "--token".to_owned(),
        TOKEN.to_owned(),
    ];
    if let Some(db) = &db {
        args.push("--db".to_owned());
        args.push(db.url.clone());
    }
    let log = logs.join(format!("baseline-{}-{}.log", kind.name(), plans.len()));
    let mut proc = Proc::spawn(
        kind.name(),
        &exe,
        &args,
        &[("RUST_LOG", "warn".to_owned())],
        log,
    )?;
    let result = drive(&fake, &mut proc, Bot::Echo, plans, None).await;
    let rss = proc.peak_rss_kib();
    let warnings = proc.log_warnings(8);
    proc.stop().await?;
    let (outcome, cpu) = match result {
        Ok(o) => o,
        Err(e) => {
            if let Some(db) = db {
                let _ = db.remove().await;
            }
            return Err(e);
        }
    };
    let backend = db.as_ref().map(|_| "postgres");
    let mut run = Run::new(kind.name(), backend, "closed", plans.len(), &outcome);
    run.peak_rss_mb = rss.map(kib_to_mb);
    cpu.fill(&mut run);
    run.warnings = warnings;
    if let Some(db) = db {
        let stored = baseline::stored_rows(&db.url).await;
        db.remove().await?;
        let stored = u64::try_from(stored?).unwrap_or_default();
        run.losses = Some(outcome.completed.saturating_sub(stored));
        run.doubled = Some(stored.saturating_sub(outcome.issued));
    }
    Ok(run)
}

/// Waits until the bot polls, switches the fake to lean recording, and runs the loop.
/// Returns what the driver measured and the CPU each party spent meanwhile.
async fn drive(
    fake: &FakeTelegram,
    proc: &mut Proc,
    bot: Bot,
    plans: &[Plan],
    load: Option<OpenLoad>,
) -> Result<(driver::Outcome, CpuSplit)> {
    proc.wait_polling(fake).await?;
    let mut rx = fake.subscribe_sent();
    fake.set_lean(KEEP_SENT);
    let before = CpuSplit::now(&[&*proc]);
    let outcome = drive_loop(fake, &mut rx, proc, bot, plans, load).await?;
    let spent = before.until(CpuSplit::now(&[&*proc]));
    Ok((outcome, spent))
}

/// The closed or the open loop, bounded in time.
async fn drive_loop(
    fake: &FakeTelegram,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<fake_telegram::Sent>,
    proc: &mut Proc,
    bot: Bot,
    plans: &[Plan],
    load: Option<OpenLoad>,
) -> Result<driver::Outcome> {
    let mut alive = || proc.check_alive();
    match load {
        None => {
            let limits = Limits {
                step_timeout: STEP_TIMEOUT,
                deadline: Duration::from_secs(900),
            };
            driver::closed(fake, rx, bot, plans, limits, &mut alive).await
        }
        Some(load) => {
            let limits = Limits {
                step_timeout: STEP_TIMEOUT,
                deadline: load.warmup + load.duration + STEP_TIMEOUT + Duration::from_secs(20),
            };
            driver::open(fake, rx, plans, load, limits, &mut alive).await
        }
    }
}

/// Writes `queued_at_ms latency_us` lines for one run (best effort: a failure is reported).
fn dump_latencies(dir: &Path, name: &str, o: &driver::Outcome) {
    let mut text = String::with_capacity(o.latencies_us.len() * 16);
    for (at, us) in o.queued_at_ms.iter().zip(&o.latencies_us) {
        text.push_str(&format!("{at} {us}\n"));
    }
    let path = dir.join(format!("{name}.txt"));
    let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, text));
    if let Err(e) = written {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
