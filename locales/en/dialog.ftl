## The feedback dialog, in English (Vietnamese comes first; keep the two files in step).
## Only <b> and <i> tags; arguments are escaped by the renderer.

## Before the dialog

no-campaign = There is no consultation at the moment. When a new one opens, the ward will announce it in your residential group's chat. Thank you!
phase-not-open =
    <b>{ $title }</b>
    The consultation opens at <b>{ $opens }</b>. Please come back then and send /start to give your opinions.
phase-closed =
    <b>{ $title }</b>
    The consultation closed at { $closed } and no more opinions are taken. You can still see your opinions with /my. Thank you for your interest!
idle-prompt =
    <b>{ $title }</b>
    You are warmly invited to give your opinions. Choose “Start” or send /start.
choice-my = 📋 See my opinions
choice-start = Start

## Notice and consent

consent-welcome =
    <b>{ $title }</b>
    { $intro }
consent-notice =
    <b>How your personal data is handled</b>
    • Collected by: { $issuer }.
    • What: your opinions on { $document }.
    • Purpose: { $purpose }
    • Opinions on political documents are sensitive personal data under Decree 13/2023/NĐ-CP and are processed only with your consent.
    • If you give opinions with your name, your display name is kept apart from your opinions and erased { $months ->
        [one] one month
       *[other] { $months } months
    } after the consultation closes. If you give them anonymously, your name is not kept.
    • Your rights: see, change or withdraw your opinions (/my); erase your data (/delete_me); read the full notice (/privacy).
consent-question = Do you agree to take part on these terms?
choice-named = I agree, with my name
choice-anonymous = I agree, anonymously
choice-leave = No, leave
consent-thanks-named = Thank you for agreeing. Your opinions will be recorded with your display name.
consent-thanks-anonymous = Thank you for agreeing. Your opinions will be recorded anonymously.
consent-left = You chose not to take part; nothing you said has been kept. Send /start whenever you would like to give your opinions. Thank you!

## Unit and target group

unit-prompt = Which residential group or village of { $name } do you live or work in?
unit-choice = { $name }
unit-choice-root = Elsewhere in { $name }
unit-chosen = Area noted: <b>{ $name }</b>.
target-group-prompt = Which of these groups do you belong to? It helps us summarise opinions by group; you may skip this question.
choice-skip-target-group = Skip this question
target-group-farmer = Farmer
target-group-worker = Worker, employee
target-group-woman = Woman
target-group-veteran = Veteran
target-group-youth = Youth Union member, young person
target-group-intellectual = Intellectual
target-group-business = Business owner, household business
target-group-ethnic-minority = Ethnic minority
target-group-religious = Religious dignitary or follower
target-group-party-member = Party member
target-group-other = Other

## The topic menu

menu-header =
    <b>Topics for your opinion</b>
    You have given opinions on { $given }/{ $total } topics. Choose a topic to read and comment on; when you are done, choose “Review and submit”.
menu-legend = ✅ given · ⏭ skipped · ▫️ not yet
menu-topic-given = ✅ { $title } ({ $count })
menu-topic-skipped = ⏭ { $title }
menu-topic-new = ▫️ { $title }
choice-review = 📝 Review and submit
menu-all-visited = You have been through every topic. Choose “Review and submit” to send your opinions, or choose a topic to add more.
menu-last-receipt = The receipt of your last submission: <b>{ $receipt }</b>.

## One topic

topic-header = <b>Topic { $index }/{ $total }: { $title }</b>
topic-section =
    <b>Section { $reference }. { $title }</b>
    { $summary }
topic-question = ❓ <i>{ $question }</i>
topic-prompt = Please type your opinion and send it as an ordinary message. You can send several messages; each one is one opinion (at most { $max } characters).
topic-prompt-more = You have given { $count ->
        [one] one opinion
       *[other] { $count } opinions
    } on this topic. You can send more, or choose below.
topic-missing = This topic is no longer part of the consultation. Please go back to the list of topics.
choice-next-topic = Next topic ➡️
choice-menu = Back to the topics
choice-skip = Skip this topic
opinion-saved =
    ✅ Recorded your opinion no. { $count } on this topic (reference <b>{ $reference }</b>):
    <i>{ $preview }</i>
    You can send another, or choose below.

## Review and receipt

review-empty = You have no opinions waiting to be submitted. Please choose a topic to give one.
review-header =
    <b>Review before submitting</b>
    You have { $count ->
        [one] one opinion
       *[other] { $count } opinions
    } not yet submitted:
review-topic =
    <b>{ $title }</b> ({ $count ->
        [one] 1 opinion
       *[other] { $count } opinions
    })
    { $items }
review-more = … and { $count } more (see them all with /my).
review-footer = After submitting, you can still change or withdraw your opinions with /my until { $closes }.
choice-submit = ✅ Submit
receipt =
    <b>Thank you for your opinions!</b>
    { $count ->
        [one] One opinion
       *[other] { $count } opinions
    } submitted. Receipt: <b>{ $receipt }</b>
    You can see, change or withdraw your opinions with /my until { $closes }. To add more, choose a topic below.

## The resident's opinions (/my)

my-empty = You have no opinions in this consultation yet.
my-header =
    <b>Your opinions</b> ({ $count })
    📝 not submitted · ✅ submitted · 🚫 withdrawn. Choose one to read it in full.
my-older = { $count } older opinions are not shown here.
my-closed-note = The consultation is not open now, so opinions cannot be changed or withdrawn.
my-item-draft = 📝 { $title }: { $preview }
my-item-submitted = ✅ { $title }: { $preview }
my-item-withdrawn = 🚫 { $title }: { $preview }
my-opinion =
    <b>Opinion { $reference }</b> · { $title }
    Status: { $status ->
        [draft] not submitted (waiting for review)
        [submitted] submitted
       *[withdrawn] withdrawn
    }
    Given: { $created }
my-opinion-edited = Last changed: { $edited }
my-opinion-text = { $text }
my-not-found = Opinion { $reference } was not found.
my-already-withdrawn = Opinion { $reference } has been withdrawn.
choice-edit = ✏️ Change
choice-withdraw = ↩️ Withdraw
choice-back = ⬅️ Back
edit-prompt =
    Please send the new text for opinion <b>{ $reference }</b> (at most { $max } characters). It now reads:
    <i>{ $preview }</i>
choice-cancel-edit = Keep it as it is
edit-done = Opinion <b>{ $reference }</b> has been changed.
withdraw-confirm =
    Do you really want to withdraw opinion <b>{ $reference }</b>? A withdrawn opinion is not counted in the summary.
    <i>{ $preview }</i>
choice-withdraw-confirm = Yes, withdraw it
choice-withdraw-keep = No, keep it
withdraw-done = Opinion <b>{ $reference }</b> has been withdrawn.

## Deleting one's data (/delete_me)

delete-explain =
    <b>Erase your data</b>
    This erases your display name, the state of this conversation, your consents and your chat account record. It cannot be undone.
    For the opinions you gave, choose whether to withdraw them all (not counted in the summary) or keep them anonymously, with no link to you.
choice-delete-withdraw = Erase and withdraw my opinions
choice-delete-keep = Erase, keep opinions anonymously
choice-delete-cancel = Cancel, erase nothing
deleted-withdrawn = Your data has been erased and all your opinions withdrawn. Send /start if you would like to take part again.
deleted-kept = Your data has been erased. Your opinions are kept anonymously, with no link to you. Send /start if you would like to take part again.

## Language

language-prompt = Quý vị muốn nhận tin nhắn bằng ngôn ngữ nào? / Which language would you like?
language-vi = Tiếng Việt
language-en = English
language-set = Switched to English.

## Commands, privacy and errors

help =
    <b>How to use this bot</b>
    /start: start, or carry on where you left off
    /my: see, change or withdraw your opinions
    /privacy: how your personal data is handled
    /delete_me: erase your data
    /notices on or /notices off: get, or stop getting, your locality's announcements in this chat
    /link_account: link your Zalo and Telegram accounts so you count as one person (/link_account off to undo)
    /language: change the language (Tiếng Việt / English)
    /cancel: leave the current step
    /help: show this help
    When there are choices, tap a button or type its number. Opinions are sent as text messages.
privacy-full =
    <b>How your personal data is handled</b>
    <b>Collected and processed by:</b> { $issuer }.
    <b>What is collected:</b> your opinions on { $document }; your residential group or village and your group, if you give them; your display name, if you choose to give opinions with your name; your chat account id, used only so that you can see, change or withdraw your opinions.
    <b>Purpose:</b> { $purpose }
    <b>Sensitive data:</b> opinions on political documents are sensitive personal data under Decree 13/2023/NĐ-CP and are processed only with your consent. You may give them anonymously.
    <b>How long:</b> identifying details are kept apart from your opinions and erased { $months ->
        [one] one month
       *[other] { $months } months
    } after the consultation closes ({ $closes }). Summary reports never name the people who gave opinions.
    <b>Your rights:</b> see, change or withdraw your opinions while the consultation is open (/my); withdraw your consent and erase your data at any time (/delete_me).
    <b>Linking Zalo and Telegram:</b> only if you link them yourself (/link_account), your two chat accounts are recorded as one person so that the summary counts you once; no name or opinion is copied between them; undo it at any time (/link_account off).
privacy-general =
    <b>How your personal data is handled</b>
    Your opinions are kept only if you agree to take part in a consultation. Opinions on political documents are sensitive personal data under Decree 13/2023/NĐ-CP. You may give them anonymously, see, change or withdraw them (/my), and erase your data at any time (/delete_me).
unknown-command = There is no command { $command }. Send /help to see the commands.
cancelled = Cancelled.
cancelled-to-menu = You left that step. The opinions already recorded are kept.
cancelled-out = You have left. Send /start whenever you would like to give your opinions.
button-stale = That button is out of date. Please use the new choices below.
error-choose = Please choose one of the options below (tap a button or type its number).
error-choose-topic-first = To give an opinion, please choose a topic first, then send it.
error-media = Only text messages can be taken as opinions. Please type your opinion instead of sending a photo, sticker, voice note or file.
error-empty = That message is empty. Please type your opinion in words.
error-too-long = Your opinion is { $length } characters long, over the limit of { $max }. Please split it into several shorter messages. Everything you gave before is kept.
error-no-letters = That message has only emoji or punctuation. Please type your opinion in words.
notices-on = You will now get your locality's announcements in this chat. To stop, send /notices off.
notices-off = You will no longer get your locality's announcements in this chat. To start again, send /notices on.
notices-usage = To get your locality's announcements in this chat, send /notices on; to stop, send /notices off.

## Notices question after consent, and identity across channels (/link_account)

notices-ask = Would you like to get your locality's announcements (consultation dates, reminders before the deadline, what was taken on board) in this chat? You can change your mind at any time with /notices on or /notices off.
choice-notices-yes = Yes, send me announcements
choice-notices-no = No, thank you
notices-declined = You will not get your locality's announcements in this chat. To get them, send /notices on.
link-code =
    <b>Link your Zalo and Telegram accounts</b>
    Your link code: <b>{ $code }</b>
    Open your chat with gopy on the other channel (Zalo or Telegram) and send: /link_account { $code }
    The code works once, within { $minutes } minutes.
    Linking only makes the summary count you as one person, whichever channels you use. Your opinions keep the channel they were sent on; no name or other detail is copied between the two. You can undo the link at any time with /link_account off.
link-status-linked = This account is already linked with your account on another channel.
link-done = Your two accounts are linked. The summary counts you as one person; your opinions keep the channel they were sent on. To undo the link, send /link_account off.
link-already = These two accounts are already linked.
link-own-code = This code was made in this very chat. Please type it on the other channel (Zalo or Telegram).
link-unknown = That link code is not right. Check it, or send /link_account on the other channel for a new one.
link-expired = That link code has expired (a code works for { $minutes } minutes). Send /link_account on the other channel for a new one.
link-used = That link code was used already; each code works once. Send /link_account on the other channel for a new one.
link-removed = The link is undone. This account now counts on its own; the opinions you sent do not change.
link-none = This account is not linked with any other channel. To link it, send /link_account.
delete-linked = This account is linked with your account on another channel. Erasing your data also erases the link (the other account stays). To undo only the link, choose "Undo the link only".
choice-delete-unlink = Undo the link only, erase nothing
