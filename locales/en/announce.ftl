## Replies to staff commands in Telegram (/link, /bind, /unbind). Owned by `announce`.
## Keep in step with the Vietnamese file.

## /link CODE in private chat: links this Telegram account to a staff account.
announce-link-done = This Telegram account is now linked to the staff account <b>{ $name }</b>. You can use the staff commands from now on.
announce-link-unknown = This link code is wrong or has been used already. Please check it, or ask an administrator for a new one.
announce-link-expired = This link code has expired. Please ask an administrator for a new one.
announce-link-usage = Please send the command with the link code an administrator gave you, for example: /link K7QX3MZP

## /bind UNIT_CODE and /unbind in a group.
announce-bind-done = This group is now bound to <b>{ $unit }</b> ({ $code }). Announcements for that unit will be sent here.
announce-unbind-done = This group is no longer bound to a unit. It will receive no announcements until it is bound again.
announce-bind-usage = Please send the command with a unit code, for example: /bind TDP-1
announce-not-staff = Sorry, this command is only for staff who have linked their account.
announce-refused-role = Sorry, your account may not bind groups to units.
announce-refused-scope = Sorry, this unit is outside the area you are responsible for.
announce-unknown-unit = There is no unit with the code { $code }. Please check the code.
announce-unknown-group = This group is not registered yet. Please remove the bot from the group and add it again.
reminder-groups = { $days ->
        [0] { $hours } hours
        [one] 1 day
       *[other] { $days } days
    } left to give opinions on “{ $title }” (closes { $closes }). Residents who have not yet given theirs: send /start in this group to be shown how, in a private chat with the bot.
reminder-residents = You started giving opinions on “{ $title }” but have not sent them. { $days ->
        [0] { $hours } hours
        [one] 1 day
       *[other] { $days } days
    } left (closes { $closes }). Send /start to carry on; send /notices off if you do not want reminders.

## Assisted posting: groups residents made themselves (no bot can post there). gopy sends the post to the group's lead in private; the lead posts it and confirms.
assisted-intro = The group “{ $group }” was made by residents, so gopy cannot post there itself. Please copy the next message exactly as it is and post it in “{ $group }”.
assisted-reminder-intro = Reminder: the announcement below has not been confirmed as posted in “{ $group }”. Please post the next message in the group exactly as it is, then confirm.
assisted-confirm-button-hint = Once it is posted, press “Posted” below so that gopy records it (announcement no. { $number }).
assisted-confirm-text-hint = Once it is posted, reply to this message with: ĐÃ ĐĂNG { $number }
assisted-button-posted = ✅ Posted
assisted-confirmed = Recorded: the announcement was posted in “{ $group }”. Thank you!
assisted-already = This announcement was already recorded as posted in “{ $group }”.
assisted-unknown = No announcement no. { $number } is waiting for confirmation. Please check the number.
assisted-not-yours = This announcement belongs to a group another official is responsible for, so you cannot confirm it.

## /link CODE sent to the Zalo bot.
zalo-link-done = This Zalo account is now linked to the staff account { $name }. You can use the staff commands and receive the announcements to post for gopy from now on.

## Submitting and approving announcements in Telegram.
approval-submit-usage = To submit an announcement: send its text to the bot, then reply to that message with /trinh and the unit code, for example: /trinh TDP-1
approval-submitted = Announcement no. { $id } ({ $chars } characters) was submitted to the approvers. You will be told when it is approved.
approval-refused = Not done: { $reason }
approval-request = 📣 <b>Announcement no. { $id } awaits approval</b>
    Written by: { $author }. Goes to: { $audience }.
    
    { $text }
approval-button-approve = ✅ Approve
approval-approved = Announcement no. { $id } is approved. Its author has been told, to send it.
approval-approved-author = Announcement no. { $id } was approved by { $approver }. Press “Send now” to send it, or schedule it in the console.
approval-button-send = 📣 Send now
approval-scheduled = Announcement no. { $id } is scheduled to go now to { $targets } targets.
approval-stale = Announcement no. { $id } was changed or dealt with already; the version you got no longer awaits approval.
