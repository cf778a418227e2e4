## Moderation: notices to authors, appeals, reports. Owned by src/moderation/notice.rs.
## Keep in step with the Vietnamese file.

mod-hidden-opinion = Your opinion <b>{ $reference }</b> has been hidden from the synthesis by a moderator. Reason: { $reason }. Its text is still kept as you wrote it and is counted as "excluded, with reason".

mod-hidden-post = Your message in the group <b>{ $group }</b> has been hidden by a moderator. Reason: { $reason }. Its text is still kept in the system's records.

mod-appeal-how = If you think this decision is wrong, you can appeal by sending /appeal with your reason. A different moderator will review it.

mod-appeal-received = We have received your appeal. A different moderator will review it and let you know the outcome.

mod-appeal-nothing = There is no decision you can appeal at the moment. Each decision can be appealed once.

mod-report-received = Thank you for your report. The post now has { $reports } / { $threshold } reports and will be reviewed by a moderator.
mod-report-duplicate = You have reported this post already. Each person can report a post once.
mod-report-queued = The post has reached the number of reports needed and has been passed to a moderator.

mod-card = <b>Item #{ $id }</b> — { $categories } (score { $score })
    { $text }
    The author was flagged before: { $prior } times.

mod-card-where = Group: <b>{ $group }</b> · Posted by: { $author }
mod-card-source-detector = Source: detected automatically.
mod-card-source-report = Source: reported by { $reports } residents.
mod-card-source-moderator = Source: flagged by the moderator <b>{ $by }</b>. Reason: { $reason }
mod-card-source-reported = Source: reports by residents.
mod-card-appeal = <b>The author's appeal:</b> { $appeal }
    The moderator who decided before ({ $previous }) does not review this appeal.
mod-card-no-delete = The bot may not delete messages in this group: "Hide" only takes effect in gopy's records.
mod-card-auto-hidden = The post was hidden from the group pending your review, as enough residents reported it.
mod-card-left-visible = The post was not hidden automatically: { $why ->
        [right] the bot may not delete messages in the group
        [staff] it was posted by staff or a group administrator, which only a gopy administrator acts on
       *[cap] the limit on automatic actions was reached, so a person looks first
    }.
mod-card-decided = <b>Decided:</b> { $action } — by { $by }.
mod-action = { $action ->
        [keep] kept
        [hide] hidden
        [restrict] hidden, author restricted
        [ban] hidden, author banned from the group
        [dismiss] flag dismissed
       *[undo] undone (restored)
    }

mod-btn-keep = Keep
mod-btn-hide = Hide
mod-btn-restrict = Restrict { $hours } h
mod-btn-ban = Ban from group
mod-btn-dismiss = Dismiss
mod-btn-undo = Undo

mod-done-deleted = The message was deleted from the group; its text is kept in gopy.
mod-done-gone = The message is no longer in the group (deleted before); its text is kept in gopy.
mod-done-not-deleted = Telegram refused to delete the message (the bot lacks the right); it is hidden in gopy's records only.
mod-done-restricted = The author may not post in the group for { $hours } hours.
mod-done-banned = The author was banned from the group.
mod-done-refused = Telegram refused: the bot must be a group administrator allowed to restrict members (and restricting needs a supergroup).
mod-done-restored = Restored in gopy: the item counts again as usual.
mod-done-not-restorable = A message deleted on Telegram cannot be brought back to the group.
mod-done-unrestricted = The author's restriction was lifted.
mod-done-unbanned = The ban was lifted; the author may join the group again.

mod-press-done = Recorded: { $action }.
mod-press-not-moderator = Only a moderator with a linked account can act on this item.
mod-press-out-of-scope = This group is outside the unit you look after.
mod-press-old-card = This card is out of date: the item was appealed and sent again on a new card.
mod-press-already = This item was decided already ({ $status ->
        [upheld] hidden
        [dismissed] kept
       *[queued] waiting
    }) by { $by }.
mod-press-nothing-to-undo = Nothing to undo: this item is not hidden.
mod-press-staff = The author is staff or a group administrator: only a gopy administrator may hide, restrict or ban.
mod-press-same-moderator = This item was appealed against your decision: a different moderator will review it.

mod-report-usage = To report a message, reply to that message with /report, optionally with a reason.
mod-flag-usage = To flag a message, reply to it with /flag and a reason.
mod-flag-not-moderator = Only a moderator with a linked account (for this group's unit) can use /flag.
mod-flag-queued = The message was queued for moderation (item #{ $id }).
mod-flag-already = This message is already in the moderation queue (item #{ $id }).

mod-reason-reports = reported by several residents
mod-reason-default = a breach of the group's rules

mod-card-opinion = Opinion <b>{ $reference }</b>.

mod-card-report-reasons = Reasons given in reports: { $reasons }

mod-appeal-kept-post = A different moderator reviewed your appeal about your message in the group <b>{ $group }</b>: the decision to hide it stands. Reason: { $reason }.
mod-appeal-kept-opinion = A different moderator reviewed your appeal about your opinion <b>{ $reference }</b>: the decision to hide it stands. Reason: { $reason }.
mod-restored-post = The decision to hide your message in the group <b>{ $group }</b> was withdrawn. A message deleted from the group cannot reappear there; you may post it again.
mod-restored-opinion = Your opinion <b>{ $reference }</b> was restored and counts in the synthesis as usual.

mod-pending-post = Your message in the group <b>{ $group }</b> was hidden for now because several residents reported it. A moderator will review it and let you know; its text is kept in the system's records.
