## Zalo-specific strings. Owned by the Zalo adapter. Keep in step with locales/vi/zalo.ftl.

## Zalo asks bots to tell users that they are talking to automated software.
zalo-bot-disclosure = You are talking to the automated software (a bot) of the consultation system; no official reads the messages in this chat.

## Zalo withheld the message's content (a protected account): answer politely, store nothing.
zalo-unsupported = Sorry, the system did not receive the content of this message, so it cannot be recorded. Please give your opinion to your residential group's officials or the ward or commune People's Committee directly. Thank you!

## When the system fails to process a message.
zalo-error = Sorry, the system ran into a problem with your last message. Opinions confirmed earlier are kept. Please try again in a few minutes.

## Replies in Zalo groups (issue 9): the campaign post's last line, instead of Telegram's link.
zalo-gr-thread-private = To give your opinion privately and in full, message this bot directly and type: /start { $slug }
## The private notice the first time a reply in a group is recorded (Zalo has no buttons: type the choice).
zalo-gr-notice = Thank you for your reply in the group { $group } about “{ $campaign }”. It was recorded as an opinion and will be reported anonymously. You may answer this message with one of these words:
    • GIỮ (keep): keep your opinion as given;
    • ẨN DANH (anonymous): remove every link between your opinions and your Zalo account;
    • RÚT (withdraw): your opinion is kept on record but not counted.
zalo-gr-notice-link = To give a fuller opinion, type: /start { $slug }
