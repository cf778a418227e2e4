//! The Zalo webhook run of the dialog benchmark: gopy (a separate process) in Zalo webhook
//! mode against the fake Zalo Bot API from `tests/fake_zalo`, driven by simulated residents
//! in a closed loop. Each step is an HTTP POST of a Zalo event (flat and wrapped bodies in
//! turn) from the harness to gopy's `/zalo/webhook`; gopy answers 200 once the step is
//! committed and sends its replies with `sendMessage` to the fake. Measured per step: the
//! acknowledgement (POST sent → response received; Zalo wants it within 2 s) and the step
//! latency (POST sent → the first message to that resident arriving at the fake). The open
//! loop ([`open`]) offers a fixed rate of such POSTs to residents whose think time has
//! passed, as the Telegram open loop does, and measures the same two things.
//!
//! Each resident's Zalo redelivers as Zalo does ([`REDELIVERY`]): an event answered 503, not
//! answered within Zalo's 2 s, or whose connection failed is POSTed again — the same body,
//! so the same `message_id` — after a pause that grows and is capped, to the next replica in
//! turn, up to a bounded number of tries. Redeliveries, 503s and unanswered POSTs are counted
//! ([`SenderCounts`]); an event still not taken after the last try is *lost to the sender*
//! (counted and printed, not a gopy loss: gopy never acknowledged it) and its resident stops.
//! A step's latency counts from its FIRST POST.
//!
//! Residents play the whole demo dialog as the Telegram residents do (the same
//! [`driver::plans`], so the step counts match), replying with the NUMBER of the choice they
//! want: the numbered lines of gopy's reply are matched against the labels read from
//! `locales/vi/dialog.ftl` through gopy's own [`Localizer`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use gopy::dialog::Msg;
use gopy::domain::{Channel, Locale};
use gopy::i18n::{Localizer, Markup};

use crate::driver::{
    self, BASE_ID, Limits, OPINIONS, OpenLoad, Outcome, PLANNED_TOPICS, Plan, STEP_TIMEOUT, short,
};
use crate::fake_zalo::{FakeZalo, Resident, Sent, TOKEN};
use crate::procs::{self, Backend, Db, Proc};
use crate::report::{CpuSplit, Run, SenderCounts, kib_to_mb};
use crate::verify;

/// The webhook secret gopy is given (`ZALO_WEBHOOK_SECRET`).
pub const SECRET: &str = "bi-mat-benchmark-zalo-2026";

/// Zalo wants each webhook call answered within this.
pub const ACK_LIMIT: Duration = Duration::from_secs(2);

/// At most this many anomalies are kept for the report.
const MAX_ANOMALIES: usize = 12;

/// How a resident's Zalo sends an event again when gopy did not take it.
#[derive(Debug, Clone, Copy)]
pub struct Redelivery {
    /// An attempt not answered within this counts as failed (Zalo's limit): it is abandoned
    /// and the event sent again (gopy recognises a kept one by its `message_id`).
    pub answer_within: Duration,
    /// The pause before the first redelivery; each later pause is twice the one before.
    pub first_pause: Duration,
    /// No pause is longer than this.
    pub max_pause: Duration,
    /// POSTs of one event at most (the first and the redeliveries); then it is given up.
    pub tries: u32,
}

/// The redelivery every resident's Zalo follows: 200 ms, 400 ms, … capped at 5 s (each
/// pause drawn uniformly from its upper half, so that residents refused together do not
/// come back together), up to 30 POSTs — about two minutes of patience, enough that a
/// closed loop of thousands of residents all starting at once completes instead of
/// measuring how many gave up.
pub const REDELIVERY: Redelivery = Redelivery {
    answer_within: ACK_LIMIT,
    first_pause: Duration::from_millis(200),
    max_pause: Duration::from_secs(5),
    tries: 30,
};

impl Redelivery {
    /// The upper bound of the pause after the `tried`-th POST failed (1 = the first POST).
    fn pause(&self, tried: u32) -> Duration {
        let doubled = self
            .first_pause
            .saturating_mul(1u32 << tried.saturating_sub(1).min(16));
        doubled.min(self.max_pause)
    }
}

/// How long gopy may take to start serving its webhook.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The labels of the choices a resident looks for, as gopy renders them in Vietnamese.
#[derive(Debug, Clone)]
pub struct Labels {
    /// `choice-named`.
    named: String,
    /// `choice-anonymous`.
    anonymous: String,
    /// `choice-skip-target-group`.
    skip_group: String,
    /// `choice-review`.
    review: String,
    /// `choice-next-topic`.
    next_topic: String,
    /// `choice-submit`.
    submit: String,
    /// `choice-notices-no`, when the locale has it (a question after consent).
    notices_no: Option<String>,
}

impl Labels {
    /// Reads the labels through gopy's localizer (the embedded `locales/vi/dialog.ftl`).
    pub fn read() -> Result<Labels> {
        let l = Localizer::new().context("gopy's locale files do not load")?;
        let get = |key: &str| {
            l.msg(Locale::Vi, &Msg::new(key), Markup::Plain)
                .trim()
                .to_owned()
        };
        Ok(Labels {
            named: get("choice-named"),
            anonymous: get("choice-anonymous"),
            skip_group: get("choice-skip-target-group"),
            review: get("choice-review"),
            next_topic: get("choice-next-topic"),
            submit: get("choice-submit"),
            notices_no: l
                .has(Locale::Vi, "choice-notices-no")
                .then(|| get("choice-notices-no")),
        })
    }
}

/// The numbered choices at the end of a reply (`1. …`, `2. …`, a paragraph of their own),
/// labels only; empty when the reply offers none.
fn choices(text: &str) -> Vec<String> {
    let last = text.rsplit("\n\n").next().unwrap_or_default();
    let mut out = Vec::new();
    for (k, line) in last.lines().enumerate() {
        match line.split_once(". ") {
            Some((n, label)) if n == (k + 1).to_string() => out.push(label.trim().to_owned()),
            _ => return Vec::new(),
        }
    }
    out
}

/// What a resident does once a step is answered.
#[derive(Debug, Clone)]
enum Decision {
    /// Sends this text next (a number, an opinion).
    Send {
        /// The text.
        text: String,
        /// Whether it is an opinion.
        opinion: bool,
        /// Whether it is the number of "submit" (the reply is the receipt).
        submit: bool,
    },
    /// The receipt came: the dialog is over.
    Done,
    /// A reply it could not understand.
    Fail(String),
}

/// A step sent and not yet complete (answered with its choices and acknowledged).
#[derive(Debug)]
struct Pending {
    /// Which of the resident's steps (acknowledgements of older ones are told apart).
    seq: u64,
    /// When the event's first POST was sent (latency counts from here, redeliveries or not).
    at: Instant,
    /// When a POST of it was answered 200 (the step timeout counts from here: before, the
    /// sender's redeliveries bound the wait).
    acked_at: Option<Instant>,
    /// Whether a first message arrived (its latency is recorded once).
    replied: bool,
    /// What to do next, once a usable reply arrived.
    decided: Option<Decision>,
    /// Whether the step is an opinion.
    opinion: bool,
    /// Whether the step is the choice "submit" (the reply is the receipt).
    submit: bool,
    /// The last message seen for this step that did not decide it (for the report).
    last_text: Option<String>,
    /// What was sent, for the report.
    what: String,
    /// Whether it was sent in the measured window (not during an open loop's warm-up).
    measured: bool,
}

/// A step a resident decided on and will send once its think time has passed (open loop).
#[derive(Debug, Clone)]
struct NextStep {
    /// The text.
    text: String,
    /// Whether it is an opinion.
    opinion: bool,
    /// Whether it is the number of "submit".
    submit: bool,
}

/// One simulated Zalo resident.
struct Sim {
    /// As Zalo describes them (id: `BASE_ID + i` as 20 hex digits).
    who: Resident,
    /// What they will do.
    plan: Plan,
    /// Whether the unit question was answered.
    unit_chosen: bool,
    /// Topics finished ("next topic" chosen after the last opinion).
    topics_done: usize,
    /// Opinions given on the current topic.
    given_here: u8,
    /// Steps sent.
    seq: u64,
    /// The step in flight.
    pending: Option<Pending>,
    /// The step decided on and not yet sent (open loop: the resident is thinking).
    next: Option<NextStep>,
    /// Whether it is still going (false: finished or failed).
    active: bool,
    /// Whether it got its receipt.
    finished: bool,
    /// Opinions sent.
    sent_opinions: u32,
    /// Opinions acknowledged (their POST answered 200: committed).
    acked_opinions: u32,
}

/// One webhook POST answered (or failed); every POST of an event, redeliveries too.
#[derive(Debug)]
struct Ack {
    /// The resident.
    i: usize,
    /// Their step.
    seq: u64,
    /// Which POST of the event this was (1 = the first).
    attempt: u32,
    /// Whether the sender is done with the event after this POST (taken, rejected, or the
    /// last try failed); otherwise a redelivery follows.
    last: bool,
    /// The HTTP status, 0 when the request failed or was not answered in time.
    status: u16,
    /// From the POST sent to the response received (or to giving up on it).
    took: Duration,
    /// Why the request failed, if it did.
    error: Option<String>,
}

/// The acknowledgement times of one run.
#[derive(Debug, Default)]
pub struct Acks {
    /// Microseconds from each POST sent to its response.
    pub us: Vec<u32>,
    /// POSTs answered with something other than 200 (or not at all), redeliveries included.
    pub refused: u64,
    /// Redeliveries, 503s, unanswered POSTs, events given up.
    pub sender: SenderCounts,
}

/// The residents of one run, the webhook they post to, and what they measured.
struct Fleet<'a> {
    /// The fake (it makes the events).
    fake: &'a FakeZalo,
    /// The labels to look for.
    labels: &'a Labels,
    /// HTTP client for the webhook.
    client: reqwest::Client,
    /// `http://<gopy>/zalo/webhook` of each replica; POSTs go to them in turn (an event's
    /// redeliveries to the replicas after the one its first POST went to).
    urls: Arc<[String]>,
    /// Where the POST tasks report.
    acks_tx: UnboundedSender<Ack>,
    /// Where their reports arrive, until a loop takes it.
    acks_rx: Option<UnboundedReceiver<Ack>>,
    /// Residents by index.
    sims: Vec<Sim>,
    /// Resident index by Zalo id.
    by_chat: HashMap<String, usize>,
    /// Residents still going.
    active: usize,
    /// POSTs sent so far (flat and wrapped bodies alternate).
    posts: u64,
    /// Measurements.
    out: Outcome,
    /// Acknowledgements.
    acks: Acks,
    /// When the first step was sent.
    started: Option<Instant>,
    /// When the last step was complete.
    last_done: Option<Instant>,
    /// The origin of `queued_at_ms`.
    created: Instant,
    /// Whether steps sent now are measured (false during an open loop's warm-up).
    measuring: bool,
    /// Open loop: a completed step's successor is kept in [`Sim::next`] and the resident
    /// put in `thinking` instead of being sent at once.
    open: bool,
    /// Open loop: residents whose step completed and who have a next step to send.
    thinking: Vec<usize>,
}

/// Delivers one event as a resident's Zalo does: POSTs `body` to the replica `first`, and
/// after a 503, no answer within [`Redelivery::answer_within`] or a failed connection, POSTs
/// it again to the next replica in turn after a pause (see [`REDELIVERY`]), until it is
/// answered 200, answered with another status (not sent again), or the tries run out.
/// Every POST is reported on `tx`.
async fn deliver(
    client: reqwest::Client,
    urls: Arc<[String]>,
    first: usize,
    body: String,
    (i, seq): (usize, u64),
    tx: UnboundedSender<Ack>,
) {
    let policy = REDELIVERY;
    // Each event draws its own pauses, reproducibly.
    let mut rng = StdRng::seed_from_u64(((i as u64) << 24) ^ seq);
    for attempt in 1..=policy.tries {
        let url = &urls[(first + attempt as usize - 1) % urls.len()];
        let at = Instant::now();
        let sent = client
            .post(url)
            .timeout(policy.answer_within)
            .header("content-type", "application/json")
            .header("X-Bot-Api-Secret-Token", SECRET)
            .body(body.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(r) => (r.status().as_u16(), None),
            Err(e) if e.is_timeout() => (
                0,
                Some(format!("no answer within {:?}", policy.answer_within)),
            ),
            Err(e) => (0, Some(e.to_string())),
        };
        let again = matches!(status, 0 | 503) && attempt < policy.tries;
        let _ = tx.send(Ack {
            i,
            seq,
            attempt,
            last: !again,
            status,
            took: at.elapsed(),
            error,
        });
        if !again {
            return;
        }
        let pause = policy.pause(attempt);
        let half = pause / 2;
        tokio::time::sleep(half + half.mul_f64(rng.random::<f64>())).await;
    }
}

impl<'a> Fleet<'a> {
    /// Sends resident `i` the text `text` as a webhook POST.
    fn issue(&mut self, i: usize, text: String, opinion: bool, submit: bool) {
        let Some(sim) = self.sims.get_mut(i) else {
            return;
        };
        let event = self.fake.text_event(&sim.who, &text);
        self.posts += 1;
        let body = if self.posts.is_multiple_of(2) {
            json!({"ok": true, "result": event})
        } else {
            event
        };
        let measured = self.measuring;
        let mix = &mut self.out.mix;
        let (what, submit) = if opinion {
            sim.sent_opinions += 1;
            mix.opinions += u64::from(measured);
            ("an opinion".to_owned(), false)
        } else if text.starts_with('/') {
            mix.commands += u64::from(measured);
            (text.clone(), false)
        } else {
            mix.buttons += u64::from(measured);
            (format!("choice {text}"), submit)
        };
        sim.seq += 1;
        let seq = sim.seq;
        let at = Instant::now();
        sim.pending = Some(Pending {
            seq,
            at,
            acked_at: None,
            replied: false,
            decided: None,
            opinion,
            submit,
            last_text: None,
            what,
            measured,
        });
        if measured {
            self.started.get_or_insert(at);
            self.out.issued += 1;
        }
        let first = self.posts as usize % self.urls.len();
        tokio::spawn(deliver(
            self.client.clone(),
            Arc::clone(&self.urls),
            first,
            body.to_string(),
            (i, seq),
            self.acks_tx.clone(),
        ));
    }

    /// Takes in one message gopy sent.
    fn on_sent(&mut self, sent: Sent) {
        let Some(&i) = self.by_chat.get(&sent.chat) else {
            self.out.strays += 1;
            return;
        };
        let labels = self.labels;
        let Some(sim) = self.sims.get_mut(i) else {
            return;
        };
        let Some(p) = sim.pending.as_mut() else {
            self.out.strays += 1;
            return;
        };
        if !p.replied {
            p.replied = true;
            // Only the first message of a step is timed, and only in the measured window.
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
        if p.decided.is_some() {
            // A further part of a reply already understood.
            return;
        }
        let found = choices(&sent.text);
        let decision = if p.submit {
            Decision::Done
        } else if found.is_empty() {
            // A message without choices: wait for the one that carries them.
            p.last_text = Some(short(&sent.text));
            return;
        } else {
            let opinion_k = sim.sent_opinions as usize;
            decide(sim, i, &found, labels, opinion_k, &sent.text)
        };
        if let Some(p) = sim.pending.as_mut() {
            p.decided = Some(decision);
        }
        self.try_complete(i, sent.at);
    }

    /// Takes in one webhook answer (of a first POST or a redelivery).
    fn on_ack(&mut self, ack: Ack) {
        self.acks
            .us
            .push(u32::try_from(ack.took.as_micros()).unwrap_or(u32::MAX));
        let counts = &mut self.acks.sender;
        counts.redelivered += u64::from(ack.attempt > 1);
        match ack.status {
            200 => {}
            503 => counts.busy += 1,
            0 => counts.unanswered += 1,
            _ => counts.rejected += 1,
        }
        if ack.status != 200 {
            self.acks.refused += 1;
        }
        let lost = ack.last && matches!(ack.status, 0 | 503);
        counts.lost_to_sender += u64::from(lost);
        let Some(sim) = self.sims.get_mut(ack.i) else {
            return;
        };
        let Some(p) = sim.pending.as_mut().filter(|p| p.seq == ack.seq) else {
            return;
        };
        if ack.status == 200 {
            if p.acked_at.is_none() {
                p.acked_at = Some(Instant::now());
                if p.opinion {
                    sim.acked_opinions += 1;
                }
            }
        } else if ack.last {
            let why = if lost {
                format!(
                    "given up by the sender after {} POSTs, the last answered {} ({}): lost to \
                     the sender",
                    ack.attempt,
                    ack.status,
                    ack.error.as_deref().unwrap_or("no error")
                )
            } else {
                format!(
                    "the webhook answered {} ({})",
                    ack.status,
                    ack.error.as_deref().unwrap_or("no error")
                )
            };
            p.decided = Some(Decision::Fail(why));
            p.acked_at = Some(Instant::now());
        } else {
            // A redelivery follows.
            return;
        }
        self.try_complete(ack.i, Instant::now());
    }

    /// Completes resident `i`'s step once it is both acknowledged and answered, and sends the
    /// next one.
    fn try_complete(&mut self, i: usize, now: Instant) {
        let Some(sim) = self.sims.get_mut(i) else {
            return;
        };
        let ready = sim
            .pending
            .as_ref()
            .is_some_and(|p| p.acked_at.is_some() && p.decided.is_some());
        if !ready {
            return;
        }
        let Some(p) = sim.pending.take() else { return };
        let failed = matches!(p.decided, Some(Decision::Fail(_)));
        if !failed && p.measured {
            self.out.completed += 1;
            self.last_done = Some(now);
        }
        match p.decided {
            Some(Decision::Send {
                text,
                opinion,
                submit,
            }) if self.open => {
                sim.next = Some(NextStep {
                    text,
                    opinion,
                    submit,
                });
                self.thinking.push(i);
            }
            Some(Decision::Send {
                text,
                opinion,
                submit,
            }) => self.issue(i, text, opinion, submit),
            Some(Decision::Done) => {
                sim.active = false;
                sim.finished = true;
                self.active -= 1;
                self.out.finished += 1;
            }
            Some(Decision::Fail(why)) => {
                sim.active = false;
                self.active -= 1;
                self.out.failed += 1;
                if self.out.anomalies.len() < MAX_ANOMALIES {
                    self.out
                        .anomalies
                        .push(format!("resident {i}: after {}, {why}", p.what));
                }
            }
            None => {}
        }
    }

    /// Marks steps not complete within `timeout` of being acknowledged as timeouts; their
    /// residents stop. A step not acknowledged yet is still with its sender, whose tries are
    /// bounded.
    fn check_timeouts(&mut self, timeout: Duration) {
        let now = Instant::now();
        for (i, sim) in self.sims.iter_mut().enumerate() {
            let Some(p) = &sim.pending else { continue };
            let Some(acked_at) = p.acked_at else { continue };
            if now.duration_since(acked_at) < timeout {
                continue;
            }
            self.out.timeouts += 1;
            if self.out.anomalies.len() < MAX_ANOMALIES {
                self.out.anomalies.push(format!(
                    "resident {i}: {} to {} within {timeout:?} of its acknowledgement{}",
                    if p.replied {
                        "no usable reply"
                    } else {
                        "no reply"
                    },
                    p.what,
                    p.last_text
                        .as_ref()
                        .map(|t| format!(" (last message: {t:?})"))
                        .unwrap_or_default()
                ));
            }
            sim.pending = None;
            sim.active = false;
            self.active -= 1;
            self.out.failed += 1;
        }
    }

    /// The measurements.
    fn finish(mut self) -> (Outcome, Acks) {
        self.out.elapsed = match (self.started, self.last_done) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        };
        self.out.residents = self
            .sims
            .iter()
            .enumerate()
            .map(|(i, s)| driver::ResidentResult {
                id: BASE_ID + i as i64,
                sent_opinions: s.sent_opinions,
                acked_opinions: s.acked_opinions,
                finished: s.finished,
                planned_opinions: s.plan.opinions(),
            })
            .collect();
        (self.out, self.acks)
    }
}

/// Chooses the next step from the numbered choices of a reply.
fn decide(
    sim: &mut Sim,
    i: usize,
    found: &[String],
    labels: &Labels,
    opinion_k: usize,
    text: &str,
) -> Decision {
    let number = |k: usize| (k + 1).to_string();
    let position = |label: &str| found.iter().position(|l| l == label);
    let others = |known: &str| -> Vec<usize> {
        (0..found.len())
            .filter(|k| found[*k] != known)
            .collect::<Vec<_>>()
    };
    let choose = |k: usize| Decision::Send {
        text: number(k),
        opinion: false,
        submit: false,
    };

    if let (Some(named), Some(anon)) = (position(&labels.named), position(&labels.anonymous)) {
        return choose(if sim.plan.named { named } else { anon });
    }
    if let Some(skip) = position(&labels.skip_group) {
        let groups = others(&labels.skip_group);
        return match sim.plan.group {
            Some(g) if !groups.is_empty() => choose(groups[g % groups.len()]),
            _ => choose(skip),
        };
    }
    if let Some(submit) = position(&labels.submit) {
        return Decision::Send {
            text: number(submit),
            opinion: false,
            submit: true,
        };
    }
    if let Some(review) = position(&labels.review) {
        let topics = others(&labels.review);
        if sim.topics_done >= topics.len() {
            return choose(review);
        }
        sim.given_here = 0;
        return choose(topics[sim.topics_done]);
    }
    if let Some(next) = position(&labels.next_topic) {
        let planned = sim.plan.per_topic[sim.topics_done.min(PLANNED_TOPICS - 1)];
        if sim.given_here < planned {
            sim.given_here += 1;
            return Decision::Send {
                text: format!(
                    "{} (ý kiến {} của cư dân {i})",
                    OPINIONS[opinion_k % OPINIONS.len()],
                    opinion_k + 1
                ),
                opinion: true,
                submit: false,
            };
        }
        sim.topics_done += 1;
        sim.given_here = 0;
        return choose(next);
    }
    // A question this resident does not know: "no notices" if offered (a question after
    // consent), the unit (the first unknown question after consent), else the first choice.
    if let Some(no) = labels.notices_no.as_deref().and_then(position) {
        return choose(no);
    }
    if !sim.unit_chosen {
        sim.unit_chosen = true;
        return choose(sim.plan.unit % found.len());
    }
    if found.is_empty() {
        return Decision::Fail(format!("no choices in {:?}", short(text)));
    }
    choose(0)
}

impl<'a> Fleet<'a> {
    /// Residents for `plans`, posting to the gopy replicas at `http` in turn.
    fn new(
        fake: &'a FakeZalo,
        labels: &'a Labels,
        http: &[String],
        plans: &[Plan],
    ) -> Result<Self> {
        anyhow::ensure!(!http.is_empty(), "no gopy to post to");
        let (acks_tx, acks_rx) = unbounded_channel();
        // The receiver is handed out by [`Fleet::take_acks`]; keep it until then.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let sims: Vec<Sim> = plans
            .iter()
            .enumerate()
            .map(|(i, plan)| Sim {
                who: Resident::new(
                    u64::try_from(BASE_ID).unwrap_or_default() + i as u64,
                    &format!("Nguyễn Cư Dân {i}"),
                ),
                plan: plan.clone(),
                unit_chosen: false,
                topics_done: 0,
                given_here: 0,
                seq: 0,
                pending: None,
                next: None,
                active: true,
                finished: false,
                sent_opinions: 0,
                acked_opinions: 0,
            })
            .collect();
        let by_chat = sims
            .iter()
            .enumerate()
            .map(|(i, s)| (s.who.id.clone(), i))
            .collect();
        Ok(Fleet {
            fake,
            labels,
            client,
            urls: http
                .iter()
                .map(|h| format!("http://{h}/zalo/webhook"))
                .collect::<Vec<_>>()
                .into(),
            acks_tx,
            acks_rx: Some(acks_rx),
            active: sims.len(),
            sims,
            by_chat,
            posts: 0,
            out: Outcome::default(),
            acks: Acks::default(),
            started: None,
            last_done: None,
            created: Instant::now(),
            measuring: true,
            open: false,
            thinking: Vec::new(),
        })
    }

    /// The receiver of the POSTs' answers (once).
    fn take_acks(&mut self) -> Result<UnboundedReceiver<Ack>> {
        self.acks_rx
            .take()
            .context("the acknowledgements are already being read")
    }

    /// Whether any step is in flight.
    fn in_flight(&self) -> bool {
        self.sims.iter().any(|s| s.pending.is_some())
    }

    /// Sends resident `i` its next step: `/start` first, then what it decided on.
    fn send_next(&mut self, i: usize) {
        let Some(sim) = self.sims.get_mut(i) else {
            return;
        };
        if !sim.active || sim.pending.is_some() {
            return;
        }
        if sim.seq == 0 {
            self.issue(i, "/start".to_owned(), false, false);
        } else if let Some(next) = sim.next.take() {
            self.issue(i, next.text, next.opinion, next.submit);
        }
    }
}

/// Closed loop: every resident sends `/start` at once and each next step as soon as the
/// previous one is acknowledged and answered, until every resident finished or failed. POSTs
/// go to the replicas at `http` in turn.
pub async fn closed(
    fake: &FakeZalo,
    rx: &mut UnboundedReceiver<Sent>,
    http: &[String],
    plans: &[Plan],
    labels: &Labels,
    limits: Limits,
    alive: &mut dyn FnMut() -> Result<()>,
) -> Result<(Outcome, Acks)> {
    let mut fleet = Fleet::new(fake, labels, http, plans)?;
    let mut acks_rx = fleet.take_acks()?;
    let start = Instant::now();
    for i in 0..fleet.sims.len() {
        fleet.issue(i, "/start".to_owned(), false, false);
    }
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while fleet.active > 0 {
        tokio::select! {
            biased;
            sent = rx.recv() => {
                let Some(sent) = sent else { break };
                fleet.on_sent(sent);
                while let Ok(sent) = rx.try_recv() {
                    fleet.on_sent(sent);
                }
            }
            ack = acks_rx.recv() => {
                let Some(ack) = ack else { break };
                fleet.on_ack(ack);
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
    // Acknowledgements of the last steps may still be on their way.
    while let Ok(ack) = acks_rx.try_recv() {
        fleet.on_ack(ack);
    }
    Ok(fleet.finish())
}

/// Open loop: a scheduler offers `load.rate` steps per second for the warm-up and then the
/// measured window, each a webhook POST for a random resident whose think time has passed
/// (an offer with no such resident is counted as unserved, in the window); then every step
/// in flight is awaited until it completes or times out. Latencies and the step mix count
/// only what was sent in the window; acknowledgements count every POST of the run. POSTs go
/// to the replicas at `http` in turn.
pub async fn open(
    fake: &FakeZalo,
    rx: &mut UnboundedReceiver<Sent>,
    http: &[String],
    plans: &[Plan],
    labels: &Labels,
    load: OpenLoad,
    alive: &mut dyn FnMut() -> Result<()>,
) -> Result<(Outcome, Acks)> {
    let limits = Limits {
        step_timeout: STEP_TIMEOUT,
        deadline: load.warmup + load.duration + STEP_TIMEOUT + Duration::from_secs(20),
    };
    let mut fleet = Fleet::new(fake, labels, http, plans)?;
    let mut acks_rx = fleet.take_acks()?;
    fleet.open = true;
    fleet.measuring = load.warmup.is_zero();
    let mut rng = StdRng::seed_from_u64(2);
    let think = |rng: &mut StdRng| {
        let (lo, hi) = load.think;
        if hi <= lo {
            return lo;
        }
        Duration::from_secs_f64(rng.random_range(lo.as_secs_f64()..hi.as_secs_f64()))
    };
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
                fleet.on_sent(sent);
                while let Ok(sent) = rx.try_recv() {
                    fleet.on_sent(sent);
                }
            }
            ack = acks_rx.recv() => {
                let Some(ack) = ack else { break };
                fleet.on_ack(ack);
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
                        let k = rng.random_range(0..ready.len());
                        let i = ready.swap_remove(k);
                        fleet.send_next(i);
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
        // Residents whose step just completed think before their next one.
        if !fleet.thinking.is_empty() {
            let now = Instant::now();
            for i in std::mem::take(&mut fleet.thinking) {
                thinking.push(Reverse((now + think(&mut rng), i)));
            }
        }
    }
    while let Ok(ack) = acks_rx.try_recv() {
        fleet.on_ack(ack);
    }
    fleet.out.offered = offered - offered_before_window;
    fleet.out.window = load.duration;
    Ok(fleet.finish())
}

/// Waits until gopy serves its webhook (a POST without the secret is refused with 401).
pub async fn wait_webhook(proc: &mut Proc, http: &str) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let started = Instant::now();
    loop {
        proc.check_alive()?;
        let answered = client
            .post(format!("http://{http}/zalo/webhook"))
            .body("{}")
            .send()
            .await;
        if answered.is_ok_and(|r| r.status().as_u16() == 401) {
            return Ok(());
        }
        if started.elapsed() > READY_TIMEOUT {
            bail!(
                "gopy did not serve its Zalo webhook within {READY_TIMEOUT:?}; the end of its log:\n{}",
                proc.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts gopy in Zalo webhook mode on a fresh database against a fresh fake Zalo, drives the
/// residents in a closed loop (or an open loop with `load`), stops it and checks its database.
pub async fn run(
    gopy: &Path,
    gopy_log: &str,
    backend: Backend,
    plans: &[Plan],
    load: Option<OpenLoad>,
    logs: &Path,
) -> Result<Run> {
    let scenario = if load.is_some() { "open" } else { "closed" };
    let labels = Labels::read()?;
    let db = Db::fresh(backend).await?;
    let fake = FakeZalo::start().await;
    let http = format!("127.0.0.1:{}", procs::free_port()?);
    let log = logs.join(format!(
        "gopy-zalo-{}-{scenario}-{}.log",
        backend.name(),
        plans.len()
    ));
    let mut proc = Proc::spawn(
        "gopy",
        gopy,
        &["serve".to_owned()],
        &[
            ("DATABASE_URL", db.url.clone()),
            ("ZALO_BOT_TOKEN", TOKEN.to_owned()),
            ("ZALO_BOT_API_URL", fake.api_url().to_string()),
            ("ZALO_WEBHOOK_SECRET", SECRET.to_owned()),
            ("GOPY_HTTP_ADDR", http.clone()),
            ("GOPY_DEMO", "on".to_owned()),
            ("RUST_LOG", gopy_log.to_owned()),
        ],
        log,
    )?;
    let result = drive(&fake, &mut proc, &http, plans, &labels, load).await;
    let rss = proc.peak_rss_kib();
    let inside = procs::step_metrics(&http).await.unwrap_or_default();
    // The readiness probe's POST without the secret is refused on purpose: not a warning.
    let mut warnings = proc.log_warnings(9);
    if let Some(k) = warnings
        .iter()
        .position(|w| w.contains("without the right secret"))
    {
        warnings.remove(k);
    }
    warnings.truncate(8);
    proc.stop().await?;
    let (outcome, acks, cpu) = match result {
        Ok(o) => o,
        Err(e) => {
            let _ = db.remove().await;
            return Err(e);
        }
    };
    let mut run = Run::new(
        "gopy-zalo",
        Some(backend.name()),
        scenario,
        plans.len(),
        &outcome,
    );
    run.set_acks(&acks.us, acks.refused, ACK_LIMIT);
    run.sender = Some(acks.sender);
    run.inside_p50_ms = inside.p50_ms;
    run.inside_p99_ms = inside.p99_ms;
    run.inside_max_ms = inside.max_ms;
    run.inside_mean_ms = inside.mean_ms;
    run.peak_rss_mb = rss.map(kib_to_mb);
    cpu.fill(&mut run);
    run.warnings = warnings;
    let check = verify::gopy(&db.url, &outcome.residents, Channel::Zalo).await;
    db.remove().await?;
    let check = check?;
    check.fill(&mut run, load.is_none().then_some(plans.len()));
    Ok(run)
}

/// Waits for the webhook, subscribes to the messages sent, and runs the closed loop (or the
/// open loop with `load`).
async fn drive(
    fake: &FakeZalo,
    proc: &mut Proc,
    http: &str,
    plans: &[Plan],
    labels: &Labels,
    load: Option<OpenLoad>,
) -> Result<(Outcome, Acks, CpuSplit)> {
    wait_webhook(proc, http).await?;
    let mut rx = fake.subscribe_sent();
    fake.set_lean();
    let before = CpuSplit::now(&[&*proc]);
    let targets = [http.to_owned()];
    let mut alive = || proc.check_alive();
    let (outcome, acks) = match load {
        None => {
            let limits = Limits {
                step_timeout: STEP_TIMEOUT,
                deadline: Duration::from_secs(900),
            };
            closed(fake, &mut rx, &targets, plans, labels, limits, &mut alive).await?
        }
        Some(load) => open(fake, &mut rx, &targets, plans, labels, load, &mut alive).await?,
    };
    let spent = before.until(CpuSplit::now(&[&*proc]));
    Ok((outcome, acks, spent))
}
