//! The simulated residents and the two ways of driving them: a closed loop (each resident
//! sends its next step as soon as the reply to the previous one arrives) and an open loop (a
//! scheduler offers steps at a fixed rate to residents whose think time has passed).
//!
//! Residents talk to the bot only through the fake Telegram server: the driver pushes updates
//! into its queue (the bot fetches them by long polling) and learns of every reply from the
//! fake's stream of sent messages, with the time each arrived.
//!
//! Against gopy a resident plays a whole six-topic dialog by pressing buttons: it reads the
//! inline keyboard of the reply and picks the callback data by its action (`<nonce>:<action>`).
//! Against an echo baseline it sends texts and waits for each echo.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use anyhow::Result;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::fake_telegram::{FakeTelegram, Resident, Sent};

/// Telegram user ids of simulated residents start here (resident `i` is `BASE_ID + i`).
pub const BASE_ID: i64 = 700_000_000;

/// Topics in the demo campaign, for planning; the driver reads the real count off the menu.
pub const PLANNED_TOPICS: usize = 6;

/// A step with no reply within this is a timeout.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many anomalies are kept for the report.
const MAX_ANOMALIES: usize = 12;

/// Opinion texts residents send (a counter makes each one different).
pub const OPINIONS: [&str; 6] = [
    "Đề nghị phường lắp thêm đèn chiếu sáng ở ngõ nhỏ và sửa rãnh thoát nước trước mùa mưa.",
    "Cần công khai tiến độ giải ngân vốn đầu tư công trên bảng tin của tổ dân phố.",
    "Nên tổ chức lớp dạy nghề ngắn hạn cho thanh niên chưa có việc làm ổn định.",
    "Đề nghị tăng cường kiểm tra vệ sinh an toàn thực phẩm ở chợ dân sinh.",
    "Mong phường hướng dẫn người cao tuổi làm thủ tục hành chính trên mạng.",
    "Cần bố trí thêm thùng rác phân loại và lịch thu gom rõ ràng cho từng tổ.",
];

/// Which bot the residents talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bot {
    /// gopy: a dialog driven by buttons and opinion texts.
    Gopy,
    /// A baseline that echoes each text.
    Echo,
}

/// What one resident will do in a dialog: decided in advance from a seed, so the baselines
/// can be given exactly as many steps as gopy's residents take.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Give opinions with name (true) or anonymously.
    pub named: bool,
    /// Which unit button to press (modulo how many there are).
    pub unit: usize,
    /// Which target group button to press, or skip the question.
    pub group: Option<usize>,
    /// How many opinions to give on each topic (one or two).
    pub per_topic: [u8; PLANNED_TOPICS],
}

impl Plan {
    /// Opinions in the whole dialog (6–12).
    pub fn opinions(&self) -> u32 {
        self.per_topic.iter().map(|n| u32::from(*n)).sum()
    }

    /// Updates in the whole dialog: `/start`, consent, unit, group, the first topic, for each
    /// topic its opinions and "next", then review and submit.
    pub fn steps(&self) -> u32 {
        5 + self.opinions() + PLANNED_TOPICS as u32 + 2
    }
}

/// `n` plans from a seed.
pub fn plans(n: usize, seed: u64) -> Vec<Plan> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut per_topic = [1u8; PLANNED_TOPICS];
            for p in &mut per_topic {
                *p = rng.random_range(1..=2);
            }
            Plan {
                named: rng.random_bool(0.5),
                unit: rng.random_range(0..64),
                group: rng.random_bool(0.7).then(|| rng.random_range(0..64)),
                per_topic,
            }
        })
        .collect()
}

/// The next update a resident will send.
#[derive(Debug, Clone)]
enum Next {
    /// A text (a command, an opinion, or a text for the echo bot).
    Text {
        /// The text.
        text: String,
        /// Whether it is an opinion (its acknowledgement counts as one stored).
        opinion: bool,
    },
    /// A button press on one of the bot's messages.
    Press {
        /// The message with the button.
        message_id: i64,
        /// The button's callback data.
        data: String,
        /// Whether this is the "submit" button (the reply is the receipt).
        submit: bool,
    },
}

/// A step sent and not yet answered.
#[derive(Debug)]
struct Pending {
    /// When the update was queued at the fake.
    at: Instant,
    /// Whether a first reply arrived (its latency is recorded once).
    replied: bool,
    /// Whether the step is an opinion.
    opinion: bool,
    /// Whether the step is "submit".
    submit: bool,
    /// For the echo bot: the text expected back.
    echo: Option<String>,
    /// The highest button nonce seen before this step: a keyboard with a nonce not above it
    /// is a leftover of an earlier step.
    floor: Option<u32>,
    /// The last message seen for this step that did not complete it (for the report).
    last_text: Option<String>,
    /// What was sent, for the report.
    what: String,
    /// Whether it was sent in the measured window (not during the warm-up).
    measured: bool,
}

/// Where a resident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// Still sending steps.
    Active,
    /// Finished its dialog (or its echo budget).
    Done,
    /// Stopped: a timeout or a reply it could not understand.
    Failed,
}

/// One simulated resident.
struct Sim {
    /// As Telegram describes them.
    who: Resident,
    /// What they will do.
    plan: Plan,
    /// Topics finished ("next" pressed after the last opinion).
    topics_done: usize,
    /// Opinions given on the current topic.
    given_here: u8,
    /// The highest button nonce seen.
    nonce: Option<u32>,
    /// The step in flight.
    pending: Option<Pending>,
    /// The step to send next.
    next: Option<Next>,
    /// Steps left for the echo bot.
    echo_left: u32,
    /// Life.
    life: Life,
    /// Opinions sent.
    sent_opinions: u32,
    /// Opinions acknowledged (the reply to the opinion arrived).
    acked_opinions: u32,
}

/// What one resident did, for checking the database afterwards.
#[derive(Debug, Clone)]
pub struct ResidentResult {
    /// Telegram user id.
    pub id: i64,
    /// Opinions sent.
    pub sent_opinions: u32,
    /// Opinions acknowledged by the bot.
    pub acked_opinions: u32,
    /// Whether the resident got its receipt (gopy) or all its echoes (baseline).
    pub finished: bool,
    /// Opinions the plan gives in a whole dialog.
    pub planned_opinions: u32,
}

/// What a run of the driver measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Steps sent.
    pub issued: u64,
    /// Steps answered.
    pub completed: u64,
    /// From the first step sent to the last step answered.
    pub elapsed: Duration,
    /// For every answered step: microseconds from the update being queued to the first reply.
    pub latencies_us: Vec<u32>,
    /// For every latency, when its update was queued: ms since the driver started.
    pub queued_at_ms: Vec<u32>,
    /// Residents that finished.
    pub finished: usize,
    /// Residents that stopped on a timeout or an unexpected reply.
    pub failed: usize,
    /// Steps with no reply within the step timeout.
    pub timeouts: u64,
    /// The first few anomalies, in words.
    pub anomalies: Vec<String>,
    /// Messages that arrived for a resident with no step in flight, or leftovers.
    pub strays: u64,
    /// Per resident, for the database check.
    pub residents: Vec<ResidentResult>,
    /// Open loop: steps offered by the scheduler.
    pub offered: u64,
    /// Open loop: offers dropped because no resident was ready.
    pub unserved: u64,
    /// Open loop: how long the scheduler offered steps.
    pub window: Duration,
    /// Whether the run stopped at its overall deadline.
    pub hit_deadline: bool,
    /// Steps sent by kind: commands, button presses, opinions, other texts.
    pub mix: StepMix,
}

/// How many steps of each kind were sent.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct StepMix {
    /// Commands (`/start`).
    pub commands: u64,
    /// Button presses.
    pub buttons: u64,
    /// Opinion texts.
    pub opinions: u64,
    /// Other texts (the baselines' texts).
    pub texts: u64,
}

/// Limits that keep every run bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A step with no reply within this is a timeout.
    pub step_timeout: Duration,
    /// The whole run stops after this.
    pub deadline: Duration,
}

/// Open-loop settings.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoad {
    /// Steps offered per second.
    pub rate: f64,
    /// How long steps are offered before the measured window (residents spread out over
    /// their dialogs instead of all being at `/start`); nothing sent then is measured.
    pub warmup: Duration,
    /// How long steps are offered and measured.
    pub duration: Duration,
    /// Think time between a reply and the resident's next step: uniform in this range.
    pub think: (Duration, Duration),
}

/// The open-loop options of a benchmark (each has its own defaults, and smaller ones with
/// `--quick`; `--help` of the benchmark's doc comment says which).
#[derive(Debug, Clone, clap::Args)]
pub struct OpenArgs {
    /// Open-loop offered steps per second (default 1000).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Open-loop measured window in seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Open-loop warm-up in seconds before the measured window.
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Open-loop think time range in seconds, `MIN,MAX`.
    #[arg(long, value_delimiter = ',')]
    pub think: Option<Vec<f64>>,
}

impl OpenArgs {
    /// The load asked for; each value not given is taken from `default` (rate, warm-up,
    /// duration, think time range, in seconds).
    pub fn load(&self, default: (f64, f64, f64, (f64, f64))) -> anyhow::Result<OpenLoad> {
        let (rate, warmup, duration, think) = default;
        let (lo, hi) = match self.think.as_deref() {
            None => think,
            Some([lo, hi]) => (lo.max(0.0), hi.max(*lo).max(0.0)),
            Some(_) => anyhow::bail!("--think takes MIN,MAX in seconds, e.g. --think 5,15"),
        };
        Ok(OpenLoad {
            rate: self.rate.unwrap_or(rate),
            warmup: Duration::from_secs_f64(self.warmup.unwrap_or(warmup).max(0.0)),
            duration: Duration::from_secs_f64(self.duration.unwrap_or(duration).max(0.0)),
            think: (Duration::from_secs_f64(lo), Duration::from_secs_f64(hi)),
        })
    }
}

/// The residents of one run and what they measured so far.
struct Fleet<'a> {
    /// The fake the bot polls.
    fake: &'a FakeTelegram,
    /// Which bot.
    bot: Bot,
    /// Residents by index (`id - BASE_ID`).
    sims: Vec<Sim>,
    /// Residents still active.
    active: usize,
    /// Measurements.
    out: Outcome,
    /// When the first step was sent.
    started: Option<Instant>,
    /// When the last step was answered.
    last_done: Option<Instant>,
    /// Randomness for think times and choices.
    rng: StdRng,
    /// Whether steps sent now are measured (false during an open loop's warm-up).
    measuring: bool,
    /// When the driver started (the origin of `queued_at_ms`).
    created: Instant,
}

impl<'a> Fleet<'a> {
    /// Residents for these plans; each starts with `/start` (gopy) or its first text (echo).
    fn new(fake: &'a FakeTelegram, bot: Bot, plans: &[Plan], seed: u64) -> Self {
        let sims: Vec<Sim> = plans
            .iter()
            .enumerate()
            .map(|(i, plan)| {
                let id = BASE_ID + i as i64;
                let who = Resident::new(id, &format!("Cư dân {i}")).last_name("Nguyễn");
                let next = match bot {
                    Bot::Gopy => Next::Text {
                        text: "/start".to_owned(),
                        opinion: false,
                    },
                    Bot::Echo => Next::Text {
                        text: echo_text(i, 0),
                        opinion: false,
                    },
                };
                Sim {
                    who,
                    plan: plan.clone(),
                    topics_done: 0,
                    given_here: 0,
                    nonce: None,
                    pending: None,
                    next: Some(next),
                    echo_left: plan.steps(),
                    life: Life::Active,
                    sent_opinions: 0,
                    acked_opinions: 0,
                }
            })
            .collect();
        let active = sims.len();
        Fleet {
            fake,
            bot,
            sims,
            active,
            out: Outcome::default(),
            started: None,
            last_done: None,
            rng: StdRng::seed_from_u64(seed),
            measuring: true,
            created: Instant::now(),
        }
    }

    /// Sends resident `i`'s next step.
    fn issue(&mut self, i: usize) {
        let Some(sim) = self.sims.get_mut(i) else {
            return;
        };
        let Some(next) = sim.next.take() else { return };
        let (update, pending) = match next {
            Next::Text { text, opinion } => {
                if opinion {
                    sim.sent_opinions += 1;
                }
                if self.measuring {
                    if opinion {
                        self.out.mix.opinions += 1;
                    } else if text.starts_with('/') {
                        self.out.mix.commands += 1;
                    } else {
                        self.out.mix.texts += 1;
                    }
                }
                let update = self.fake.text_update(&sim.who, &text);
                let echo = (self.bot == Bot::Echo).then(|| text.clone());
                let what = if opinion {
                    "an opinion".to_owned()
                } else if text.starts_with('/') {
                    text.clone()
                } else {
                    "a text".to_owned()
                };
                (update, (opinion, false, echo, what))
            }
            Next::Press {
                message_id,
                data,
                submit,
            } => {
                let (update, _) = self.fake.callback_update(&sim.who, message_id, &data);
                if self.measuring {
                    self.out.mix.buttons += 1;
                }
                (update, (false, submit, None, format!("button {data}")))
            }
        };
        let (opinion, submit, echo, what) = pending;
        let at = Instant::now();
        self.fake.push(update);
        sim.pending = Some(Pending {
            at,
            replied: false,
            opinion,
            submit,
            echo,
            floor: sim.nonce,
            last_text: None,
            what,
            measured: self.measuring,
        });
        if self.measuring {
            self.started.get_or_insert(at);
            self.out.issued += 1;
        }
    }

    /// Takes in one message the bot sent. Returns the resident whose step it completed.
    fn on_sent(&mut self, sent: Sent) -> Option<usize> {
        let i = usize::try_from(sent.chat_id - BASE_ID).ok()?;
        let bot = self.bot;
        let Some(sim) = self.sims.get_mut(i) else {
            self.out.strays += 1;
            return None;
        };
        let Some(p) = sim.pending.as_mut() else {
            self.out.strays += 1;
            return None;
        };
        // Only the first reply to a step is timed, and only in the measured window.
        if !p.replied {
            p.replied = true;
            if p.measured {
                let us = sent.at.saturating_duration_since(p.at).as_micros();
                self.out
                    .latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
                let at = p.at.saturating_duration_since(self.created).as_millis();
                self.out
                    .queued_at_ms
                    .push(u32::try_from(at).unwrap_or(u32::MAX));
            }
        }
        let decision = match bot {
            Bot::Echo => {
                if p.echo.as_deref() != Some(sent.text.as_str()) {
                    p.last_text = Some(short(&sent.visible));
                    self.out.strays += 1;
                    return None;
                }
                sim.echo_left = sim.echo_left.saturating_sub(1);
                Ok((sim.echo_left > 0).then(|| Next::Text {
                    text: echo_text(i, sim.echo_left),
                    opinion: false,
                }))
            }
            Bot::Gopy => {
                let buttons: Vec<(u32, String)> = sent
                    .buttons()
                    .into_iter()
                    .filter_map(|b| {
                        let data = b.callback_data?;
                        let (nonce, _) = data.split_once(':')?;
                        Some((nonce.parse().ok()?, data))
                    })
                    .collect();
                let nonce = buttons.iter().map(|(n, _)| *n).max();
                if let Some(n) = nonce {
                    sim.nonce = Some(sim.nonce.map_or(n, |m| m.max(n)));
                }
                let fresh = match (nonce, p.floor) {
                    (Some(n), Some(floor)) => n > floor,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if p.submit && (fresh || buttons.is_empty()) {
                    Ok(None)
                } else if !fresh {
                    // A message without buttons (or a leftover keyboard): wait for the reply
                    // that carries the next choices.
                    p.last_text = Some(short(&sent.visible));
                    if nonce.is_some() {
                        self.out.strays += 1;
                    }
                    return None;
                } else {
                    let data: Vec<String> = buttons.into_iter().map(|(_, d)| d).collect();
                    decide(sim, i, sent.message_id, &data, &sent.visible)
                }
            }
        };
        let p = sim.pending.take()?;
        if p.opinion {
            sim.acked_opinions += 1;
        }
        if p.measured {
            self.out.completed += 1;
            self.last_done = Some(sent.at);
        }
        match decision {
            Ok(Some(next)) => sim.next = Some(next),
            Ok(None) => {
                sim.life = Life::Done;
                self.active -= 1;
                self.out.finished += 1;
            }
            Err(why) => {
                sim.life = Life::Failed;
                self.active -= 1;
                self.out.failed += 1;
                if self.out.anomalies.len() < MAX_ANOMALIES {
                    self.out
                        .anomalies
                        .push(format!("resident {i}: after {}, {why}", p.what));
                }
            }
        }
        Some(i)
    }

    /// Marks steps with no reply within `timeout` as timeouts; their residents stop.
    fn check_timeouts(&mut self, timeout: Duration) {
        let now = Instant::now();
        for (i, sim) in self.sims.iter_mut().enumerate() {
            let Some(p) = &sim.pending else { continue };
            if now.duration_since(p.at) < timeout {
                continue;
            }
            self.out.timeouts += 1;
            if self.out.anomalies.len() < MAX_ANOMALIES {
                self.out.anomalies.push(format!(
                    "resident {i}: no {} to {} within {timeout:?}{}",
                    if p.replied { "usable reply" } else { "reply" },
                    p.what,
                    p.last_text
                        .as_ref()
                        .map(|t| format!(" (last message: {t:?})"))
                        .unwrap_or_default()
                ));
            }
            sim.pending = None;
            sim.life = Life::Failed;
            self.active -= 1;
            self.out.failed += 1;
        }
    }

    /// Whether any step is in flight.
    fn in_flight(&self) -> bool {
        self.sims.iter().any(|s| s.pending.is_some())
    }

    /// A think time in the range.
    fn think(&mut self, range: (Duration, Duration)) -> Duration {
        let (lo, hi) = range;
        if hi <= lo {
            return lo;
        }
        Duration::from_secs_f64(self.rng.random_range(lo.as_secs_f64()..hi.as_secs_f64()))
    }

    /// The measurements, with the per-resident results.
    fn finish(mut self) -> Outcome {
        self.out.elapsed = match (self.started, self.last_done) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        };
        self.out.residents = self
            .sims
            .iter()
            .map(|s| ResidentResult {
                id: s.who.id,
                sent_opinions: s.sent_opinions,
                acked_opinions: s.acked_opinions,
                finished: s.life == Life::Done,
                planned_opinions: s.plan.opinions(),
            })
            .collect();
        self.out
    }
}

/// Chooses the next step of a gopy dialog from the buttons of the reply. `Ok(None)` never
/// comes from here (the receipt is recognised by the caller); an error names what was shown.
fn decide(
    sim: &mut Sim,
    i: usize,
    message_id: i64,
    data: &[String],
    visible: &str,
) -> Result<Option<Next>, String> {
    let action = |d: &String| {
        d.split_once(':')
            .map_or(String::new(), |(_, a)| a.to_owned())
    };
    let actions: Vec<String> = data.iter().map(action).collect();
    let find = |a: &str| {
        data.iter()
            .zip(&actions)
            .find(|(_, x)| *x == a)
            .map(|(d, _)| d.clone())
    };
    let with_prefix = |p: &str| -> Vec<String> {
        data.iter()
            .zip(&actions)
            .filter(|(_, x)| x.starts_with(p))
            .map(|(d, _)| d.clone())
            .collect()
    };
    let press = |data: String| {
        Ok(Some(Next::Press {
            message_id,
            submit: data.ends_with(":submit"),
            data,
        }))
    };

    if let (Some(named), Some(anon)) = (find("named"), find("anon")) {
        return press(if sim.plan.named { named } else { anon });
    }
    let units = with_prefix("u:");
    if !units.is_empty() {
        return press(units[sim.plan.unit % units.len()].clone());
    }
    let groups = with_prefix("g:");
    if let Some(skip) = find("gskip") {
        return match sim.plan.group {
            Some(g) if !groups.is_empty() => press(groups[g % groups.len()].clone()),
            _ => press(skip),
        };
    }
    // Asked once after consent (and the unit and group questions): announcements, yes or no.
    if let (Some(yes), Some(no)) = (find("notices:on"), find("notices:off")) {
        return press(if i.is_multiple_of(2) { yes } else { no });
    }
    if let Some(submit) = find("submit") {
        return press(submit);
    }
    let topics = with_prefix("t:");
    if !topics.is_empty() {
        if sim.topics_done >= topics.len() {
            return match find("review") {
                Some(review) => press(review),
                None => Err(format!("a menu without \"review\": {}", short(visible))),
            };
        }
        sim.given_here = 0;
        return press(topics[sim.topics_done].clone());
    }
    if let Some(next) = find("next") {
        let planned = sim.plan.per_topic[sim.topics_done.min(PLANNED_TOPICS - 1)];
        if sim.given_here < planned {
            sim.given_here += 1;
            let k = sim.sent_opinions as usize;
            return Ok(Some(Next::Text {
                text: format!(
                    "{} (ý kiến {} của cư dân {i})",
                    OPINIONS[k % OPINIONS.len()],
                    k + 1
                ),
                opinion: true,
            }));
        }
        sim.topics_done += 1;
        sim.given_here = 0;
        return press(next);
    }
    Err(format!(
        "no known action among {actions:?} in {:?}",
        short(visible)
    ))
}

/// The `k`-th text an echo resident sends.
fn echo_text(i: usize, k: u32) -> String {
    format!(
        "{} (tin {k} của cư dân {i})",
        OPINIONS[k as usize % OPINIONS.len()]
    )
}

/// The start of a text, for reports.
pub fn short(text: &str) -> String {
    let t: String = text.chars().take(100).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// Takes every message already waiting, then returns.
fn drain(
    fleet: &mut Fleet<'_>,
    rx: &mut UnboundedReceiver<Sent>,
    mut on_done: impl FnMut(&mut Fleet<'_>, usize),
) {
    while let Ok(sent) = rx.try_recv() {
        if let Some(i) = fleet.on_sent(sent) {
            on_done(fleet, i);
        }
    }
}

/// Closed loop: every resident sends its first step at once and each next step as soon as
/// the reply to the previous one arrives, until every resident finished or failed.
/// `alive` is called every tick and stops the run with its error (the bot process died).
pub async fn closed(
    fake: &FakeTelegram,
    rx: &mut UnboundedReceiver<Sent>,
    bot: Bot,
    plans: &[Plan],
    limits: Limits,
    alive: &mut dyn FnMut() -> Result<()>,
) -> Result<Outcome> {
    let mut fleet = Fleet::new(fake, bot, plans, 1);
    let start = Instant::now();
    for i in 0..fleet.sims.len() {
        fleet.issue(i);
    }
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let on_done = |f: &mut Fleet<'_>, i: usize| f.issue(i);
    while fleet.active > 0 {
        tokio::select! {
            biased;
            sent = rx.recv() => {
                let Some(sent) = sent else { break };
                if let Some(i) = fleet.on_sent(sent) {
                    on_done(&mut fleet, i);
                }
                drain(&mut fleet, rx, on_done);
            }
            _ = tick.tick() => {
                fleet.check_timeouts(limits.step_timeout);
                alive()?;
                if start.elapsed() > limits.deadline {
                    fleet.out.hit_deadline = true;
                    break;
                }
            }
        }
    }
    Ok(fleet.finish())
}

/// Open loop: a scheduler offers `load.rate` steps per second for `load.duration`, each to a
/// random resident whose think time has passed (an offer with no such resident is counted as
/// unserved); replies are awaited until every step in flight is answered or timed out.
pub async fn open(
    fake: &FakeTelegram,
    rx: &mut UnboundedReceiver<Sent>,
    plans: &[Plan],
    load: OpenLoad,
    limits: Limits,
    alive: &mut dyn FnMut() -> Result<()>,
) -> Result<Outcome> {
    let mut fleet = Fleet::new(fake, Bot::Gopy, plans, 2);
    fleet.measuring = load.warmup.is_zero();
    let mut ready: Vec<usize> = (0..fleet.sims.len()).collect();
    let mut thinking: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
    let start = Instant::now();
    let window = start + load.warmup;
    let end = window + load.duration;
    let mut offered_before_window: u64 = 0;
    let mut offered: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_check = start;
    loop {
        tokio::select! {
            biased;
            sent = rx.recv() => {
                let Some(sent) = sent else { break };
                let mut done = Vec::new();
                if let Some(i) = fleet.on_sent(sent) {
                    done.push(i);
                }
                drain(&mut fleet, rx, |_, i| done.push(i));
                let now = Instant::now();
                for i in done {
                    if fleet.sims[i].next.is_some() {
                        let t = fleet.think(load.think);
                        thinking.push(Reverse((now + t, i)));
                    }
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                while let Some(Reverse((at, i))) = thinking.peek().copied() {
                    if at > now {
                        break;
                    }
                    thinking.pop();
                    ready.push(i);
                }
                if !fleet.measuring && now >= window {
                    fleet.measuring = true;
                    offered_before_window = offered;
                }
                if now < end {
                    let due = (now.duration_since(start).as_secs_f64() * load.rate) as u64;
                    while offered < due {
                        offered += 1;
                        if ready.is_empty() {
                            if fleet.measuring {
                                fleet.out.unserved += 1;
                            }
                            continue;
                        }
                        let k = fleet.rng.random_range(0..ready.len());
                        let i = ready.swap_remove(k);
                        fleet.issue(i);
                    }
                }
                if now.duration_since(last_check) >= Duration::from_millis(100) {
                    last_check = now;
                    fleet.check_timeouts(limits.step_timeout);
                    alive()?;
                    if now >= end && !fleet.in_flight() {
                        break;
                    }
                    if now.duration_since(start) > limits.deadline {
                        fleet.out.hit_deadline = true;
                        break;
                    }
                }
            }
        }
    }
    fleet.out.offered = offered - offered_before_window;
    fleet.out.window = load.duration;
    Ok(fleet.finish())
}
