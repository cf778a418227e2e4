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

## Replies in a group become opinions: a campaign's thread, the private notice the first time,
## the resident's choices and the short acknowledgement in the group.
gr-thread-campaign = 📢 <b>{ $issuer }</b> asks residents for their views: <b>{ $title }</b>
    { $intro }
gr-thread-consent = You can give your opinion right here: <b>reply</b> to the message of the topic you care about below. Every reply is recorded as an opinion and reported <b>anonymously</b> (reports never name who said what). An emoji, a sticker, “đồng ý” or “+1” counts as agreement. A reply to this message is a general opinion that officials will classify.
gr-thread-link = To give your opinions privately and in full, follow: { $link }
gr-thread-topic = 🗂 <b>Topic: { $title }</b>
gr-thread-section = <i>{ $reference }. { $title }</i>: { $summary }
gr-thread-question = ❓ { $question }
gr-thread-reply-here = ↩️ Reply to this message to give your opinion on this topic.
gr-thread-topic-gone = The topic { $code } is no longer in the campaign.
gr-notice = Thank you for your opinion in <b>{ $group }</b> on “{ $campaign }”. Your reply has been recorded and will be reported anonymously. You can choose to:
    • <b>Keep it</b> as you gave it;
    • <b>Make it fully anonymous</b>: remove every link between it and your Telegram account;
    • <b>Withdraw it</b>: it is kept on record but not counted.
gr-notice-link = To give your opinions in full in a private chat, follow: { $link }
gr-choice-keep = Keep it
gr-choice-anonymous = Fully anonymous
gr-choice-withdraw = Withdraw
gr-chosen-keep = Your opinion is kept as given and reported anonymously. Thank you.
gr-chosen-anonymous = Your replies in the group are no longer linked to your account. From now on, your replies in this campaign are stored fully anonymously.
gr-chosen-withdraw = { $count } of your replies were withdrawn; they are not counted.
gr-ack = Your opinion has been recorded. Thank you!
gr-file-too-large = Your file is larger than { $mb } MB, so it was not recorded. Please send a smaller file or write your opinion as text.
gr-file-type = This kind of file is not accepted. Please send a voice note, a photo (JPEG) or a PDF, or write your opinion as text.
dm-file-kept = Your file (a voice note, photo or document) was received and kept with your opinion on this topic. Only authorised officials listen to it, view it and transcribe it; you may add more in writing.
dm-file-not-received = Sorry, the system could not download the file you sent, so it was not recorded. Please send it again in a few minutes, or write your opinion.

## Reports on their due dates, sent privately to the officials who subscribed.
rp-report = 📊 <b>Scheduled synthesis report</b> of { $day }
    { $title } — scope: { $scope }
    Opinions counted: <b>{ $opinions }</b>; participants: { $participants }; excluded: { $excluded }; agreements replied in groups: { $agreements }.
    The full report is in the attached file.
rp-report-file = The full synthesis report (text file).
rp-unit-report = 📄 <b>Synthesis of opinions for { $unit }</b>
    { $title }
    Opinions synthesised: <b>{ $opinions }</b>. The unit's report is in the attached file.
rp-unit-report-file = Synthesis report of { $unit }.
rp-digest = 🗓 <b>Daily consultation digest</b>: { $title }
    Scope: { $scope }
    Residents who took part: <b>{ $participants }</b>, { $opinions } opinions counted.
    Topics with few opinions: { $thin }.
    Groups not yet reached by the campaign's posts or announcements: { $unreached }.
