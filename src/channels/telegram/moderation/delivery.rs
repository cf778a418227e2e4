//! The delivery loop beside the poller: notices owed to authors, and cards no moderator got
//! yet, each taken in the store before it is sent.

use super::*;

/// How often the delivery loop looks for notices and cards to send.
const DELIVERY_PAUSE: Duration = Duration::from_secs(1);

/// How long an item waits before the delivery loop sends its cards: the path that queued it
/// sends them at once, with what it knows (report counts, an automatic hide).
const CARD_GRACE: chrono::Duration = chrono::Duration::seconds(3);

/// Runs until shutdown, beside the polling loop: sends the notices owed to authors whose
/// opinion or post was hidden (by a button or by `gopy moderation decide`), and the cards of
/// queued items no moderator got yet (opinions screened in the background, items queued by
/// the CLI or while the bot was down). Each notice and card is taken before it is sent, so
/// none goes twice.
pub(in crate::channels::telegram) async fn deliver(
    out: Outbound,
    store: Arc<dyn Store>,
    moderation: Arc<Moderation>,
    shutdown: CancellationToken,
) {
    let ctx = Ctx {
        out: &out,
        store,
        moderation: &moderation,
    };
    let mut failing = false;
    loop {
        match deliver_once(&ctx).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("moderation notices and cards are delivered again");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot deliver moderation notices and cards right now; retrying");
                }
                failing = true;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DELIVERY_PAUSE) => {}
        }
    }
}

async fn deliver_once(ctx: &Ctx<'_>) -> StoreResult<()> {
    // Flood control forgets people who went quiet, so it does not grow with everyone seen.
    ctx.moderation.limits.forget_idle(Utc::now());
    for n in ctx.store.unsent_notices(Channel::Telegram, 20).await? {
        if !ctx.store.take_notice(n.id, Utc::now()).await? {
            continue;
        }
        let Some(reply) = notice::owed(&n) else {
            continue;
        };
        let Ok(chat) = n.external_id.parse::<i64>() else {
            continue;
        };
        ctx.out.send_replies(ChatId(chat), &[reply]).await;
    }
    for item in ctx
        .store
        .uncarded_items(Utc::now() - CARD_GRACE, 20)
        .await?
    {
        let group = group_of(ctx, &item).await?;
        cards::send_cards(ctx, item.id, group.as_ref(), None, Vec::new()).await?;
    }
    Ok(())
}
