## Zalo-specific strings. Owned by the Zalo adapter. Keep in step with locales/vi/zalo.ftl.

## Zalo asks bots to tell users that they are talking to automated software.
zalo-bot-disclosure = You are talking to the automated software (a bot) of the consultation system; no official reads the messages in this chat.

## Zalo withheld the message's content (a protected account): answer politely, store nothing.
zalo-unsupported = Sorry, the system did not receive the content of this message, so it cannot be recorded. Please give your opinion to your residential group's officials or the ward or commune People's Committee directly. Thank you!

## When the system fails to process a message.
zalo-error = Sorry, the system ran into a problem with your last message. Opinions confirmed earlier are kept. Please try again in a few minutes.
