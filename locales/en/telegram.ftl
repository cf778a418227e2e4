## Telegram-specific strings (bot command descriptions, group replies). Owned by the Telegram adapter.
## Vietnamese comes first; keep the two files in step.

## Command descriptions in Telegram's menu (at most 256 characters, no markup), worded as in /help.
tg-cmd-start = Start, or carry on where you left off
tg-cmd-my = See, change or withdraw your opinions
tg-cmd-help = Show how to use this bot
tg-cmd-language = Change the language (Tiếng Việt / English)
tg-cmd-privacy = How your personal data is handled
tg-cmd-cancel = Leave the current step
tg-cmd-delete-me = Erase your data
tg-cmd-notices = Turn announcements on or off (on / off)
tg-cmd-link-account = Link your Zalo and Telegram accounts
tg-cmd-appeal = Ask for a hidden post or opinion to be looked at again

## Answer to /start sent in a group: opinions are given in a private chat with the bot only.
tg-group-start = To keep opinions confidential, they are given in a private chat with the bot. Please follow this link to begin: { $link }
tg-group-start-button = Open the private chat to give opinions

## When gopy cannot process a message because of an internal error.
tg-error = Sorry, something went wrong while processing your last message. Opinions confirmed earlier are safely kept. Please try again in a few minutes.

## Prompt shown when a message has only buttons.
tg-choose = Please choose:
