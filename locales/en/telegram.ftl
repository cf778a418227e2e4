## Telegram-specific strings (bot command descriptions, group replies). Owned by the Telegram adapter.

## Command descriptions in Telegram's menu (at most 256 characters, no markup).
tg-cmd-start = Start or continue giving your opinions
tg-cmd-my = See, change or withdraw the opinions you gave
tg-cmd-help = How to use this bot
tg-cmd-language = Choose a language (Tiếng Việt / English)
tg-cmd-privacy = What is kept and how it is protected
tg-cmd-cancel = Cancel the current step
tg-cmd-delete-me = Delete your personal data

## Answer to /start sent in a group: opinions are given in the private chat only.
tg-group-start = To protect your privacy, opinions are given in a private chat with the bot. Please follow this link: { $link }
tg-group-start-button = Open the private chat to give opinions

## When gopy cannot process a message because of an internal error.
tg-error = Sorry, something went wrong while processing your message. Opinions confirmed earlier are safely kept. Please try again in a few minutes.

## Prompt shown when a message has only buttons.
tg-choose = Please choose:
