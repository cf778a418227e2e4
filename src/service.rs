//! The dialog shell: runs one inbound event through the pure engine inside one transaction,
//! applying the storage effects before anything is acknowledged to the resident.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::RwLock;

use crate::dialog::{self, Command, Context, DialogState, Effect, Input, Reply};
use crate::domain::{
    Campaign, CollectionWindow, ContactKey, Identity, IdentityMode, LINK_CODE_LEN, Locale,
    OpinionSource, link_code_hash,
};
use crate::moderation::{OpinionToScan, Screener};
use crate::store::{NewOpinion, Store, StoreError, Tx};

/// The present instant, injectable so tests can move it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// One event from a resident, already parsed by a channel adapter.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// A key unique per delivery on this channel (Telegram `update_id`, Zalo `message_id`);
    /// a redelivered key is processed once. `None` where the channel cannot redeliver
    /// (terminal).
    pub update_key: Option<String>,
    /// Who sent it.
    pub contact: ContactKey,
    /// The name the platform shows for them; stored only if they choose to be named.
    pub identity: Identity,
    /// Their client's language, used for a new contact.
    pub locale_hint: Option<Locale>,
    /// What they sent.
    pub input: Input,
    /// Whether the channel shows buttons.
    pub has_buttons: bool,
}

/// Where fresh random codes come from (opinion references, receipts); injectable so a test
/// can force a collision.
pub type CodeSource = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// How many times a step is run again when its random reference collided with a stored one.
const MAX_STEP_ATTEMPTS: usize = 5;

/// Errors of the dialog shell.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Storage failed; see [`StoreError::Unavailable`] for the retryable case.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// Whether trying the same event again later may succeed (the database was down).
    pub fn is_transient(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Unavailable(_)))
    }
}

/// How long the campaign cache is trusted before it is read again.
const CAMPAIGN_CACHE_TTL: Duration = Duration::from_secs(30);

/// Campaigns cached in memory with the time they were read.
struct CampaignCache {
    /// When they were read.
    loaded: Instant,
    /// The campaigns, oldest first.
    campaigns: Arc<Vec<Campaign>>,
}

/// Runs residents' dialogs. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Dialogs {
    /// Where everything is kept.
    store: Arc<dyn Store>,
    /// Campaigns, re-read after [`CAMPAIGN_CACHE_TTL`] or when a state names an unknown one.
    cache: Arc<RwLock<CampaignCache>>,
    /// The clock.
    clock: Clock,
    /// Fresh random codes.
    codes: CodeSource,
    /// Where new opinions go to be screened for moderation, once committed.
    screener: Option<Screener>,
    /// The process's group-commit writer into the webhook inbox, made on first use and
    /// shared by every webhook route (see [`Dialogs::inbox_writer`]).
    inbox: Arc<std::sync::OnceLock<crate::store::inbox::InboxWriter>>,
}

impl Dialogs {
    /// Builds the shell and reads the campaigns once.
    pub async fn new(store: Arc<dyn Store>, clock: Clock) -> Result<Self, ServiceError> {
        let campaigns = Arc::new(store.campaigns().await?);
        Ok(Self {
            store,
            cache: Arc::new(RwLock::new(CampaignCache {
                loaded: Instant::now(),
                campaigns,
            })),
            clock,
            codes: Arc::new(random_code),
            screener: None,
            inbox: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// The screener new opinions are handed to, if moderation runs.
    pub fn screener(&self) -> Option<&Screener> {
        self.screener.as_ref()
    }

    /// The same shell handing every new opinion, once committed, to `screener`.
    pub fn with_screener(mut self, screener: Screener) -> Self {
        self.screener = Some(screener);
        self
    }

    /// The same shell drawing its random codes from `codes` (tests force collisions).
    pub fn with_codes(mut self, codes: CodeSource) -> Self {
        self.codes = codes;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The group-commit writer into the webhook inbox that every webhook route of this
    /// process shares (so that Telegram's, the Zalo Bot's and the Zalo OA's deliveries are
    /// committed together); made on first use.
    pub fn inbox_writer(&self) -> crate::store::inbox::InboxWriter {
        self.inbox
            .get_or_init(|| crate::store::inbox::InboxWriter::new(self.store.clone()))
            .clone()
    }

    /// The present instant as this shell sees it.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The cached campaigns, re-read when stale or when `must_have` is not among them.
    pub async fn campaigns(
        &self,
        must_have: Option<i64>,
    ) -> Result<Arc<Vec<Campaign>>, ServiceError> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.loaded.elapsed() < CAMPAIGN_CACHE_TTL;
            let has = must_have.is_none_or(|id| cache.campaigns.iter().any(|c| c.id == id));
            if fresh && has {
                return Ok(cache.campaigns.clone());
            }
        }
        let campaigns = Arc::new(self.store.campaigns().await?);
        let mut cache = self.cache.write().await;
        cache.campaigns = campaigns.clone();
        cache.loaded = Instant::now();
        Ok(campaigns)
    }

    /// Runs one event: claims it (a redelivery returns no replies), steps the dialog, applies
    /// the storage effects and commits, then returns the replies to send.
    ///
    /// A random opinion reference that collides with a stored one makes the whole step roll
    /// back; it is then run again from the start with fresh codes, so the resident never
    /// sees the collision.
    pub async fn handle(&self, ev: &Inbound) -> Result<Vec<Reply>, ServiceError> {
        let mut attempt = 1;
        loop {
            match self.handle_once(ev).await {
                Err(ServiceError::Store(StoreError::Conflict(what)))
                    if attempt < MAX_STEP_ATTEMPTS =>
                {
                    tracing::debug!(attempt, conflict = %what, "a fresh code collided; running the step again");
                    metrics::counter!("gopy_step_retries_total").increment(1);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt at [`Dialogs::handle`], in one transaction.
    async fn handle_once(&self, ev: &Inbound) -> Result<Vec<Reply>, ServiceError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let stepped = self.step_in(tx.as_mut(), ev, now).await?;
        tx.commit().await?;
        Ok(self.committed(ev, stepped))
    }

    /// The topic whose opinion step the resident is at (`Step::Topic`) while its campaign
    /// collects, or `None`: a voice note, photo or document is kept as an opinion only then.
    /// A read without a lock; [`Dialogs::handle_with_file`] steps the dialog for real.
    pub async fn opinion_topic(&self, key: &ContactKey) -> Result<Option<String>, ServiceError> {
        let Some(contact) = self.store.find_contact(key).await? else {
            return Ok(None);
        };
        let Some(state) = self.store.dialog_state(contact.id).await? else {
            return Ok(None);
        };
        let crate::dialog::Step::Topic { topic } = &state.step else {
            return Ok(None);
        };
        let now = self.now();
        let open = self.campaigns(state.campaign).await?.iter().any(|c| {
            Some(c.id) == state.campaign
                && matches!(c.window(now), crate::domain::CollectionWindow::Open(_))
        });
        Ok(open.then(|| topic.clone()))
    }

    /// Runs one event like [`Dialogs::handle`] whose input is a file's caption (or the words
    /// that stand for a file without one) at a topic's opinion step, and attaches the file,
    /// already kept in the file store, to the opinion the step saved. Returns the replies and
    /// whether the file was attached (not when the step saved no opinion: a redelivery, or the
    /// dialog moved on meanwhile; the unnamed file is swept later).
    pub async fn handle_with_file(
        &self,
        ev: &Inbound,
        file: &crate::store::replies::NewFile,
    ) -> Result<(Vec<Reply>, bool), ServiceError> {
        let mut attempt = 1;
        loop {
            let now = self.now();
            let attempted = async {
                let mut tx = self.store.begin().await?;
                let stepped = self.step_in(tx.as_mut(), ev, now).await?;
                tx.commit().await?;
                Ok::<_, ServiceError>(stepped)
            }
            .await;
            let stepped = match attempted {
                Err(ServiceError::Store(StoreError::Conflict(what)))
                    if attempt < MAX_STEP_ATTEMPTS =>
                {
                    tracing::debug!(attempt, conflict = %what, "a fresh code collided; running the step again");
                    attempt += 1;
                    continue;
                }
                other => other?,
            };
            let saved = match &stepped {
                Stepped::Replies { saved, .. } => saved.first().map(|o| (o.opinion_id, o.author)),
                Stepped::Duplicate => None,
            };
            let mut attached = false;
            if let Some((opinion, author)) = saved {
                // After the step's commit: a failure leaves the opinion's words without the
                // file (logged), never the step undone.
                match self.store.attach_file(opinion, author, file, now).await {
                    Ok(()) => attached = true,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot attach a file to the opinion it came with")
                    }
                }
            }
            return Ok((self.committed(ev, stepped), attached));
        }
    }

    /// Runs a batch of events in as few transactions as the store allows and returns, for
    /// each event, its replies when its step was committed, `None` when it was not (the
    /// caller then runs it with [`Dialogs::handle`], which isolates a failing step, draws
    /// colliding codes again and lets the caller retry an outage).
    ///
    /// The events are split by resident into [`Store::batch_writers`] groups (one on SQLite,
    /// which has one writer; a few on Postgres, which runs them side by side), each run with
    /// [`Dialogs::handle_together`]: so one resident's events keep their order and are all
    /// committed or none.
    pub async fn handle_batch(&self, evs: &[Inbound]) -> Vec<Option<Vec<Reply>>> {
        let parts = self.store.batch_writers().clamp(1, evs.len().max(1));
        let mut slots: Vec<Vec<usize>> = vec![Vec::new(); parts];
        for (i, ev) in evs.iter().enumerate() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(&ev.contact.external_id, &mut h);
            let slot = usize::try_from(std::hash::Hasher::finish(&h) % parts as u64).unwrap_or(0);
            slots[slot].push(i);
        }
        let runs = slots
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|slot| async move {
                let part: Vec<&Inbound> = slot.iter().map(|&i| &evs[i]).collect();
                (slot, self.handle_together(&part).await)
            });
        let mut out = vec![None; evs.len()];
        for (slot, result) in futures::future::join_all(runs).await {
            match result {
                Ok(replies) => {
                    for (i, r) in slot.into_iter().zip(replies) {
                        out[i] = Some(r);
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, steps = slot.len(), "a batch could not be committed; its steps run one by one");
                }
            }
        }
        out
    }

    /// Runs several events in ONE transaction, in the order given, and returns each event's
    /// replies. All or nothing: when any step fails, or the commit does, nothing is stored
    /// and the error is returned. A redelivered event gets no replies.
    ///
    /// This is what makes a busy bot cheap on the database: one `BEGIN`/`COMMIT` (and on
    /// SQLite one turn at the writer) and one write of the dialog states for a whole polling
    /// batch instead of one each per update.
    pub async fn handle_together(&self, evs: &[&Inbound]) -> Result<Vec<Vec<Reply>>, ServiceError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut stepped = Vec::with_capacity(evs.len());
        for ev in evs {
            stepped.push(self.step_in(tx.as_mut(), ev, now).await?);
        }
        tx.commit().await?;
        metrics::histogram!("gopy_dialog_batch_size").record(evs.len() as f64);
        Ok(evs
            .iter()
            .zip(stepped)
            .map(|(ev, s)| self.committed(ev, s))
            .collect())
    }

    /// Counts a committed step and hands back its replies.
    fn committed(&self, ev: &Inbound, stepped: Stepped) -> Vec<Reply> {
        let channel = ev.contact.channel.as_str();
        match stepped {
            Stepped::Duplicate => {
                metrics::counter!("gopy_updates_duplicate_total", "channel" => channel)
                    .increment(1);
                Vec::new()
            }
            Stepped::Replies {
                replies,
                saved,
                edited,
            } => {
                metrics::counter!("gopy_dialog_steps_total", "channel" => channel).increment(1);
                if !saved.is_empty() {
                    metrics::counter!("gopy_opinions_total", "channel" => channel)
                        .increment(saved.len() as u64);
                }
                if let Some(screener) = &self.screener {
                    saved.into_iter().for_each(|o| screener.submit(o));
                    edited.into_iter().for_each(|o| screener.submit_edit(o));
                }
                replies
            }
        }
    }

    /// Runs one event inside an open transaction: claims it, steps the dialog and applies
    /// the storage effects. Nothing is committed here.
    async fn step_in(
        &self,
        tx: &mut dyn Tx,
        ev: &Inbound,
        now: DateTime<Utc>,
    ) -> Result<Stepped, ServiceError> {
        let update = ev
            .update_key
            .as_deref()
            .map(|key| (ev.contact.channel, key));
        let locale = ev.locale_hint.unwrap_or_default();
        let Some(contact) = tx
            .claim_and_contact(update, &ev.contact, locale, now)
            .await?
        else {
            return Ok(Stepped::Duplicate);
        };
        let state = tx
            .lock_state(contact.id, now)
            .await?
            .unwrap_or_else(|| DialogState {
                locale: contact.locale,
                ..DialogState::default()
            });

        let payload = match &ev.input {
            Input::Command(Command::Start { payload }) => payload.as_deref(),
            _ => None,
        };
        let campaigns = self.campaigns(state.campaign).await?;
        let (campaign, payload_unit) = resolve_campaign(&campaigns, &state, payload, now);

        let opinions = match campaign {
            Some(c) if dialog::needs_opinions(&state, &ev.input) => {
                tx.opinions_of(contact.id, c.id).await?
            }
            _ => Vec::new(),
        };
        let fresh_reference = (self.codes)(6);
        let fresh_receipt = format!("GY-{}", (self.codes)(6));
        let (link, fresh_link_code) = if dialog::needs_link(&state, &ev.input) {
            let hash = dialog::link_code(&ev.input).map(link_code_hash);
            let status = tx.link_status(contact.id, hash.as_deref(), now).await?;
            (Some(status), (self.codes)(LINK_CODE_LEN))
        } else {
            (None, String::new())
        };
        let ctx = Context {
            campaign,
            now,
            opinions: &opinions,
            fresh_reference: &fresh_reference,
            fresh_receipt: &fresh_receipt,
            has_buttons: ev.has_buttons,
            payload_unit,
            link: link.as_ref(),
            fresh_link_code: &fresh_link_code,
        };
        let (next, effects) = dialog::step(&state, &ev.input, &ctx);

        let mut replies = Vec::new();
        let mut erased = false;
        let mut saved = Vec::new();
        let mut edited = Vec::new();
        for effect in effects {
            match effect {
                Effect::Reply(r) => replies.push(r),
                Effect::RecordConsent {
                    mode,
                    notice_version,
                } => {
                    if let Some(c) = campaign {
                        tx.record_consent(contact.id, c.id, mode, &notice_version, now)
                            .await?;
                    }
                    let identity = (mode == IdentityMode::Named).then_some(&ev.identity);
                    tx.set_identity(contact.id, identity).await?;
                }
                Effect::SaveOpinion {
                    reference,
                    topic,
                    section,
                    text,
                } => {
                    let Some(c) = campaign else { continue };
                    let scan_text = self.screener.is_some().then(|| text.clone());
                    let id = tx
                        .insert_opinion(&NewOpinion {
                            reference,
                            campaign_id: c.id,
                            contact_id: Some(contact.id),
                            topic,
                            section,
                            unit: next.unit.clone(),
                            target_group: next.target_group.clone(),
                            channel: ev.contact.channel,
                            source: OpinionSource::Chat,
                            anonymous: next.identity != Some(IdentityMode::Named),
                            text,
                            created_at: now,
                        })
                        .await?;
                    saved.push(OpinionToScan {
                        opinion_id: id,
                        author: Some(contact.id),
                        text: scan_text.unwrap_or_default(),
                    });
                }
                Effect::SubmitDrafts { receipt } => {
                    if let Some(c) = campaign {
                        tx.submit_drafts(contact.id, c.id, &receipt, now).await?;
                    }
                }
                Effect::EditOpinion { reference, text } => {
                    if let Some(c) = campaign {
                        let changed = tx
                            .edit_opinion(contact.id, c.id, &reference, &text, now)
                            .await?;
                        // An edited opinion is screened again (moderation re-queues it when
                        // the new words are flagged, whatever was decided on the old ones).
                        let id = opinions.iter().find(|o| o.reference == reference);
                        if let (true, Some(o), true) = (changed, id, self.screener.is_some()) {
                            edited.push(OpinionToScan {
                                opinion_id: o.id,
                                author: Some(contact.id),
                                text,
                            });
                        }
                    }
                }
                Effect::WithdrawOpinion { reference } => {
                    if let Some(c) = campaign {
                        tx.withdraw_opinion(contact.id, c.id, &reference, now)
                            .await?;
                    }
                }
                Effect::EraseContact { withdraw_opinions } => {
                    tx.unlink_contact(contact.id, "erase", now).await?;
                    tx.erase_contact(contact.id, withdraw_opinions, now).await?;
                    erased = true;
                }
                Effect::SetLocale(locale) => tx.set_locale(contact.id, locale).await?,
                Effect::SetNotices { on, unit } => {
                    tx.set_notices(contact.id, on, unit.as_deref(), now).await?;
                }
                Effect::IssueLinkCode { code, expires_at } => {
                    tx.issue_link_code(contact.id, &link_code_hash(&code), now, expires_at)
                        .await?;
                }
                Effect::LinkContacts { code, other } => {
                    tx.link_contacts(contact.id, &link_code_hash(&code), other, now)
                        .await?;
                }
                Effect::UnlinkContact => {
                    tx.unlink_contact(contact.id, "command", now).await?;
                }
            }
        }
        if !erased {
            let expires = campaign.and_then(|c| c.closes_at());
            tx.save_state(contact.id, &next, expires, now).await?;
        }
        Ok(Stepped::Replies {
            replies,
            saved,
            edited,
        })
    }
}

/// What one step did inside its transaction (counted once the transaction commits).
enum Stepped {
    /// The event was processed before (a redelivery): nothing to do.
    Duplicate,
    /// The step ran.
    Replies {
        /// What to send the resident.
        replies: Vec<Reply>,
        /// The opinions it saved (their text only when they are to be screened).
        saved: Vec<OpinionToScan>,
        /// The opinions it edited, to be screened again (only when there is a screener).
        edited: Vec<OpinionToScan>,
    },
}

/// Picks the campaign for this step: the one a deep link names, else the one the resident is
/// in, else the campaign open for collection that opened last, else the newest. Returns the
/// unit code from the deep link when it names a unit of that campaign.
fn resolve_campaign<'a>(
    campaigns: &'a [Campaign],
    state: &DialogState,
    payload: Option<&'a str>,
    now: DateTime<Utc>,
) -> (Option<&'a Campaign>, Option<&'a str>) {
    if let Some(p) = payload {
        let (slug, unit) = match p.split_once('_') {
            Some((s, u)) => (s, Some(u)),
            None => (p, None),
        };
        if let Some(c) = campaigns.iter().find(|c| c.slug == slug) {
            let unit = unit.filter(|u| c.unit(u).is_some());
            return (Some(c), unit);
        }
    }
    if let Some(id) = state.campaign
        && let Some(c) = campaigns.iter().find(|c| c.id == id)
    {
        return (Some(c), None);
    }
    let open = campaigns
        .iter()
        .filter(|c| matches!(c.window(now), CollectionWindow::Open(_)))
        .max_by_key(|c| {
            c.phase(crate::domain::PhaseKind::Collect)
                .map(|p| p.starts_at)
        });
    (open.or_else(|| campaigns.last()), None)
}

/// A random code of `len` characters from `A-Z0-9` without look-alikes (0/O, 1/I).
pub fn random_code(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
