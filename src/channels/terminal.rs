//! `gopy chat`: the dialog in a terminal, as one resident, choices shown as numbered lines.

use std::sync::Arc;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use unicode_normalization::UnicodeNormalization;

use crate::dialog::{Command, Input};
use crate::domain::{Channel, ContactKey, Identity, Locale};
use crate::i18n::{Localizer, Markup};
use crate::service::{Dialogs, Inbound};

/// Runs the dialog for one terminal resident until end of input. Starts with `/start`
/// (and the payload, if given), then reads one line per input.
pub async fn run<R, W>(
    dialogs: &Dialogs,
    l10n: &Arc<Localizer>,
    user: &str,
    payload: Option<String>,
    locale: Option<Locale>,
    input: R,
    mut output: W,
) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let contact = ContactKey {
        channel: Channel::Terminal,
        external_id: user.to_owned(),
    };
    let mut lines = input.lines();
    let mut next = Some(Input::Command(Command::Start { payload }));
    while let Some(input) = next.take() {
        let ev = Inbound {
            update_key: None,
            contact: contact.clone(),
            identity: Identity {
                display_name: Some(user.to_owned()),
                username: None,
            },
            locale_hint: locale,
            input,
            has_buttons: false,
        };
        let replies = dialogs.handle(&ev).await?;
        for reply in &replies {
            let rendered = l10n.reply(reply, Markup::Plain, false);
            output.write_all(rendered.text.as_bytes()).await?;
            output.write_all(b"\n\n").await?;
        }
        output.write_all(b"> ").await?;
        output.flush().await?;
        next = match lines.next_line().await? {
            Some(line) => {
                let line: String = line.nfc().collect();
                Some(Input::from_text(&line))
            }
            None => None,
        };
    }
    output.write_all(b"\n").await?;
    output.flush().await?;
    Ok(())
}
