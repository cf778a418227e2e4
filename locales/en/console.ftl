## The web console for officials. Owned by `console`.
## Plain text (no HTML tags): templates escape everything.
## Keep in step with the Vietnamese file, which comes first.

console-app-name = gopy — opinions on draft documents
console-lang-switch = Tiếng Việt
console-skip = Skip to the main content

## Login, logout, password change.
console-login-title = Sign in
console-login-intro = For officials, approvers, village and group leads, and moderators.
console-login-name = User name
console-login-password = Password
console-login-submit = Sign in
console-login-failed = Wrong user name or password.
console-login-throttled-account = Signing in to this account is locked for now after too many wrong passwords. Please try again in { $minutes } minutes or ask an administrator.
console-login-throttled-address = Too many failed sign-ins from this network address. Please try again in { $minutes } minutes.
console-login-first-time = First time: use the one-time password an administrator gave you; you will then choose your own.
console-form-expired = This form has expired or is not valid. Please try again.
console-logout = Sign out
console-logged-out = You have signed out.
console-password-title = Change password
console-password-must-change = Your current password was issued by an administrator and works once only. Please choose a new one before you go on.
console-password-current = Current password
console-password-new = New password (at least { $min } characters)
console-password-confirm = New password again
console-password-submit = Save the new password
console-password-changed = Password changed. Your other sessions have been closed.
console-password-wrong = The current password is wrong.
console-password-too-short = The new password must have at least { $min } characters.
console-password-too-long = The new password is too long (at most { $max } characters).
console-password-mismatch = The two copies of the new password differ.
console-password-contains-name = The new password must not contain the user name.
console-password-unchanged = The new password must differ from the current one.
console-password-too-simple = The new password is too simple; please use more different characters.

## Page frame.
console-nav-home = Overview
console-nav-campaigns = Campaigns
console-nav-units = Units and groups
console-nav-broadcasts = Announcements
console-nav-moderation = Moderation
console-nav-opinions = Opinions
console-nav-staff = Staff
console-nav-audit = Audit log
console-nav-password = Change password
console-signed-in-as = Signed in: { $name }
console-scope-all = every unit
console-scope = Scope: { $unit }

## Roles.
console-role-admin = Administrator
console-role-official = Official
console-role-approver = Approver
console-role-unit_lead = Village / group lead
console-role-moderator = Moderator

## Errors.
console-error-title = Not possible
console-forbidden = Your account may not see this page or do this.
console-out-of-scope = This belongs to a unit outside your scope.
console-not-found = Nothing was found here.
console-unavailable = The database cannot be reached right now. Please try again in a few minutes; what you entered was not saved.
console-back-home = Back to the overview

## Overview.
console-home-title = Overview
console-home-welcome = Hello { $name }.
console-home-campaigns = Campaigns
console-campaign-opinions = { $count } opinions
console-campaign-collect = Collecting opinions: { $from } – { $to }
console-campaign-no-collect = No collection period set
console-no-campaigns = There is no campaign yet.
console-show = Show
console-phase-announce = Announcement phase
console-phase-collect = Collecting opinions
console-phase-synthesise = Synthesis phase
console-phase-report = Report phase
console-phase-before = Not started yet
console-phase-after = Finished
console-phase-none = No phases scheduled
console-countdown = { $days } days { $hours } hours left
console-queue-size = { $count } items waiting for review
console-chart-topics = Opinions per topic
console-chart-days = Opinions per day
console-chart-units = Opinions per unit
console-no-opinions = No opinion has been submitted yet.
console-no-broadcasts = No announcement yet.
console-broadcast-text = Text
console-broadcast-state = State
console-broadcast-progress = Delivery
console-delivery-counts = sent { $sent }, failed { $failed }, waiting { $pending }
console-bstate-draft = Draft
console-bstate-submitted = Waiting for approval
console-bstate-approved = Approved
console-bstate-scheduled = Scheduled
console-bstate-sending = Sending
console-bstate-sent = Sent
console-bstate-partly_failed = Partly failed
console-bstate-cancelled = Cancelled
console-updated = Updated
console-broadcast-new = Compose an announcement
console-broadcast-title = Announcement { $id }
console-broadcast-units = Receiving units
console-broadcast-subunits = including the units below them
console-broadcast-campaign = Campaign
console-broadcast-preview = Preview
console-broadcast-save = Save as draft
console-broadcast-submit = Submit for approval
console-broadcast-approve = Approve
console-broadcast-cancel = Cancel the announcement
console-broadcast-schedule = Schedule
console-broadcast-revision = Revision { $revision }
console-broadcast-author = Written by: { $name }
console-broadcast-approver = Approved by: { $name }
console-schedule-now = Send now
console-schedule-at = Send at (Vietnam time, year-month-day hour:minute)
console-schedule-windows = Send only within daily time windows
console-chars = { $count }/{ $limit } characters
console-broadcast-no-units = Please enter at least one receiving unit code.
console-broadcast-unknown-unit = A unit code does not exist. Please check.
console-broadcast-wrong-state = This is not possible in the announcement's present state.
console-broadcast-self-approval = The author may not approve their own announcement; another approver must.
console-broadcast-not-approved = The text changed after approval; it needs approving again.
console-broadcast-bad-text = The text must have 1 to { $max } characters.
console-broadcast-changed = Someone else just changed this announcement; please look again.
console-broadcast-bad-time = The time is not in the right form, e.g. 2026-11-22 07:00.
console-broadcast-bad-windows = The time windows are not in the right form, e.g. 07:00-09:00, 19:00-21:00.
