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
