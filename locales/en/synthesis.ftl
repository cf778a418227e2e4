## Synthesis of opinions: opinions recorded at meetings, tables imported from units, the report.
## Owned by src/synthesis/. Keep in step with the Vietnamese file.

syn-import-not-utf8 = The file is not UTF-8 text. Save it as "CSV UTF-8" or use an Excel file (.xlsx).
syn-import-bad-csv = Cannot read the CSV file: { $error }.
syn-import-bad-xlsx = Cannot read the Excel file: { $error }.
syn-import-empty = The file holds no opinion.
syn-import-no-text = The opinion has no text.
syn-import-too-long = The opinion is longer than { $max } characters; split it into several.
syn-import-no-topic = No topic given.
syn-import-unknown-topic = Topic "{ $value }" is not in the campaign (topics: { $known }).
syn-import-unknown-section = Section "{ $value }" is not in the draft (sections: { $known }).
syn-import-unknown-unit = Unit "{ $value }" is not in the campaign (units: { $known }).
syn-import-unknown-group = Target group "{ $value }" is not in the campaign (groups: { $known }).
syn-import-unknown-stance = Stance "{ $value }" is not valid (write agree, change, disagree or other).
syn-import-unknown-column = Column "{ $value }" is not in the template.
syn-import-missing-column = Column "{ $value }" is missing.
syn-import-bad-date = Date "{ $value }" is not valid (write day/month/year, e.g. 20/11/2026).
syn-import-row = Row { $row }: { $problem }
syn-import-refused = { $count } problem(s); nothing imported. Correct the file and import it again.
syn-import-done = Imported { $count } opinion(s) from { $file }.
syn-duplicates = { $count } opinion(s) repeat an earlier text of the same person word for word: kept, counted once.
syn-record-done = Recorded { $count } opinion(s) of the meeting "{ $meeting }".
syn-meeting-created = Created meeting { $id }: { $name }, on { $date }, at { $place }.
syn-meeting-unknown = There is no meeting { $id } in this campaign.
syn-meeting-needed = Choose a meeting (--meeting ID) or give its name, date and place (--meeting-name, --date, --place).
syn-record-needs-text = Give the topic and the text (--topic, --text) or a file (--file).
syn-unknown-campaign = There is no campaign "{ $campaign }".
syn-bad-date = Date "{ $value }" is not valid (write day/month/year, e.g. 20/11/2026).
syn-unknown-extension = Only .csv and .xlsx files are accepted.
syn-cannot-read = Cannot read { $file }: { $error }.
syn-template-written = Wrote the import template to { $file }.
syn-meetings-none = This campaign has no meetings yet.

## Names used in the synthesis report.
syn-source-telegram = Telegram
syn-source-zalo = Zalo
syn-source-web = Web page
syn-source-terminal = Command line
syn-source-meeting = Meeting
syn-source-import = Unit's table
syn-stance-agree = Agree
syn-stance-change = Suggest a change
syn-stance-disagree = Disagree
syn-stance-other = Other
syn-stance-none = Not classified
syn-excluded-withdrawn = Withdrawn by its author
syn-excluded-draft = Not submitted (draft)
syn-excluded-pending = Awaiting moderation
syn-excluded-hidden = Hidden after moderation
syn-excluded-duplicate = Repeats an earlier opinion of the same person
syn-no-section = Not tied to a section
syn-unit-direct = { $unit } (directly)
syn-not-given = Not given
syn-h-title = Synthesis of opinions
syn-h-totals = { $opinions } opinion(s) synthesised from { $participants } participant(s); { $excluded } not counted (reasons below).
syn-h-topics = By topic and section of the draft
syn-h-also = other opinions an official also filed under this topic
syn-h-units = By unit (including the units below)
syn-h-groups = By target group
syn-h-sources = By channel
syn-h-topic-by-unit = Topics by unit
syn-h-days = Opinions per day
syn-h-excluded = Opinions not counted
syn-h-listing = Every opinion in full
syn-built = Built synthesis { $id } (recorded in the audit log).
syn-staff-unknown = There is no staff user "{ $name }".
syn-named-refused = Staff user "{ $name }" has no role allowed to export names (admin or approver needed).
syn-named-scope = This staff user covers { $unit } only: choose --unit { $unit } or a unit below it.
syn-named-reason = A named export needs a reason (--reason, at least 10 characters); it is written to the audit log.
syn-exported = Exported { $count } opinion(s) to { $file } (recorded in the audit log).
syn-yes = Yes
syn-col-reference = Reference
syn-col-topic = Topic
syn-col-section = Section
syn-col-unit-code = Unit code
syn-col-unit = Unit
syn-col-group = Target group
syn-col-source = Channel
syn-col-date = Given at
syn-col-stance = Stance
syn-col-similar = Similar opinions group
syn-col-representative = Group's representative
syn-col-text = Opinion
syn-col-name = Name
syn-col-contact = Contact
syn-col-count = Opinions
syn-col-total = Total
syn-col-day = Day
syn-col-reason = Reason
syn-sheet-summary = Summary
syn-sum-opinions = Opinions synthesised
syn-sum-participants = Participants
syn-sum-excluded = Opinions not counted
syn-doc-place-date = { $place }, { $day }/{ $month }/{ $year }
syn-doc-number = No.:      -BC/…
syn-doc-number-given = No.: { $number }
syn-doc-recipient-unit = - { $unit } (for information);
syn-doc-nation = SOCIALIST REPUBLIC OF VIETNAM
syn-doc-motto = Independence - Freedom - Happiness
syn-doc-kind = REPORT
syn-doc-summary = Synthesis of residents' opinions on { $document }
syn-doc-unit = (Results of { $unit })
syn-doc-part-1 = I. OPINIONS RECEIVED
syn-doc-part-2 = II. OPINIONS BY TOPIC AND SECTION OF THE DRAFT
syn-doc-part-3 = III. OPINIONS NOT COUNTED
syn-doc-totals = In { $title }, { $opinions } opinion(s) from { $participants } participant(s) were received and synthesised; { $excluded } were not counted (see part III). The figures follow:
syn-doc-opinions-word = opinion(s)
syn-doc-none = No opinion has been synthesised yet.
syn-doc-none-excluded = No opinion was left out of the synthesis.
syn-doc-closing = This is the synthesis of residents' opinions, submitted to the competent authority for consideration./.
syn-doc-recipients = Recipients:
syn-doc-recipients-list =
    - The standing committee (to report);
    - The Fatherland Front committee;
    - The units below;
    - Office archive.
syn-doc-signer = ON BEHALF OF THE SYNTHESISING BODY
syn-doc-sign-hint = (Signature, full name)
syn-import-checked = { $file } is valid: { $count } opinion(s); nothing imported (run again without --dry-run to import).
syn-threshold = The similarity must be between 0 and 1.
syn-groups-built = Grouped { $opinions } similar opinion(s) into { $groups } group(s) (groups an official changed are kept).
syn-groups-none = There are no groups of similar opinions yet.
syn-group-unknown = There is no group { $id }.
syn-group-made = Made group { $id } of { $opinions } opinion(s).
syn-group-split = Took { $opinions } opinion(s) out of their groups.
syn-not-member = Opinion { $reference } is not in group { $id }.
syn-represent-set = Opinion { $reference } now represents group { $id }.
syn-opinion-unknown = There is no opinion { $reference } in this campaign.
syn-classify-nothing = Say what to change: --topic, --add-topic, --remove-topic or --stance.
syn-classify-unchanged = Opinion { $reference } did not change (the topic to take back was not added).
syn-classified = Re-classified opinion { $reference } ({ $changes } change(s), recorded in the audit log).
syn-rollup-no-key = No key to sign roll-up bundles: set { $var } (at least { $bytes } characters, shared by both levels).
syn-rollup-signature = The bundle's signature does not match: it was altered or signed with another key; nothing imported.
syn-rollup-format = The file is not a gopy roll-up bundle (gopy.rollup/1); nothing imported.
syn-rollup-unit = The bundle's unit { $unit } ({ $name }) is not in this campaign; add it to the campaign file.
syn-rollup-topics = The bundle has topics this campaign lacks: { $topics }; nothing imported.
syn-rollup-again = The bundle of { $name } was imported before; nothing imported again.
syn-rollup-done = Imported { $count } opinion(s) from the bundle of { $name }.
syn-screened = { $count } opinion(s) sent to the moderators for review; they count in the synthesis only once kept.

## Replies in groups: unclassified opinions and agreements.
syn-topic-unclassified = Unclassified (replies to the campaign's post)
syn-h-agreements = Agreements replied in groups (emoji, “đồng ý”, “+1”; each person once per post)
syn-file-voice-untranscribed = [Voice note, not transcribed]
syn-file-photo = [Photo without caption]
syn-file-document = [Attached file]
syn-file-transcribed = [Transcribed from a voice note] { $text }
syn-none = none

# gopy synthesis send: each unit its own report.
syn-send-queued = { $unit }: report ({ $opinions } opinions) queued for { $leads } on Telegram.
syn-send-no-lead = { $unit }: NOT sent — the unit has no lead (role unit_lead) in gopy.
syn-send-not-linked = { $unit }: NOT sent — the unit lead { $leads } has not linked a Telegram account.
syn-send-zalo-only = { $unit }: NOT sent — the unit lead { $leads } linked Zalo only, which cannot carry files yet.
syn-send-done = { $queued } report(s) of { $units } unit(s) queued; { $missing } unit(s) not delivered. The gopy Telegram bot sends each file in private chat; see the results with "gopy synthesis sent".
syn-sent-line = #{ $id } { $unit } → { $staff }: { $state ->
        [sent] sent
        [failed] failed
        [sending] sending
       *[pending] waiting
    } { $error }
