//! Tests of the dialog engine: every step against every kind of input in every phase, and
//! whole dialogs played through a small simulated shell that applies the effects.

use chrono::{DateTime, Duration, TimeZone, Utc};
use unicode_normalization::UnicodeNormalization;

use super::{link_code, needs_link, needs_opinions, step};
use crate::dialog::choices::{self, MAX_DATA_BYTES};
use crate::dialog::render::{self, Detail};
use crate::dialog::{
    Command, Context, DialogState, Effect, Input, LinkArg, MediaKind, Msg, Reply, Step,
};
use crate::domain::{
    Campaign, Channel, IdentityMode, LinkCodeCheck, LinkStatus, Locale, Opinion, OpinionSource,
    OpinionStatus, Phase, PhaseKind, Section, TargetGroup, Topic, Unit,
};
use crate::i18n::{self, Localizer, Markup};

/// The fixed present of every test: 15/07/2025 10:00 in Ho Chi Minh City.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 15, 3, 0, 0)
        .single()
        .expect("date")
}

/// Where `now` stands against the test campaign's collection window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Win {
    /// Collection opened two days ago and closes in five.
    Open,
    /// Collection opens tomorrow.
    NotYet,
    /// Collection closed yesterday.
    Closed,
    /// There is no campaign at all.
    NoCampaign,
}

const WINDOWS: [Win; 4] = [Win::Open, Win::NotYet, Win::Closed, Win::NoCampaign];

fn unit(code: &str, name: &str, parent: Option<&str>) -> Unit {
    Unit {
        code: code.into(),
        name: name.into(),
        parent: parent.map(Into::into),
        kind: if parent.is_some() {
            "residential-group".into()
        } else {
            "ward".into()
        },
    }
}

fn topic(code: &str, title: &str, question: &str, sections: &[&str]) -> Topic {
    Topic {
        code: code.into(),
        title: title.into(),
        question: question.into(),
        sections: sections.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn section(reference: &str, title: &str, summary: &str) -> Section {
    Section {
        reference: reference.into(),
        title: title.into(),
        summary: summary.into(),
    }
}

/// A small campaign modelled on a ward's consultation, with the collection window placed
/// around [`now`] as `win` says.
fn campaign(win: Win) -> Campaign {
    let (opens, closes) = match win {
        Win::Open | Win::NoCampaign => (now() - Duration::days(2), now() + Duration::days(5)),
        Win::NotYet => (now() + Duration::days(1), now() + Duration::days(8)),
        Win::Closed => (now() - Duration::days(8), now() - Duration::days(1)),
    };
    Campaign {
        id: 1,
        slug: "dh-2025".into(),
        issuer: "Đảng ủy phường Bắc Kạn".into(),
        title: "Lấy ý kiến Nhân dân vào dự thảo Văn kiện Đại hội".into(),
        document_title: "Báo cáo chính trị Đại hội Đảng bộ phường nhiệm kỳ 2025–2030".into(),
        intro: "Kính mời bà con đóng góp ý kiến vào dự thảo văn kiện.".into(),
        purpose: "Tổng hợp ý kiến để hoàn thiện dự thảo trước Đại hội.".into(),
        retention_months: 12,
        notice_version: "2025-07-01".into(),
        units: vec![
            unit("p-bac-kan", "Phường Bắc Kạn", None),
            unit("to-1", "Tổ dân phố 1", Some("p-bac-kan")),
            unit("to-2", "Tổ dân phố 2", Some("p-bac-kan")),
            unit("na-lang", "Thôn Nà Làng", Some("p-bac-kan")),
        ],
        target_groups: ["farmer", "veteran", "youth", "other"]
            .iter()
            .map(|c| TargetGroup { code: (*c).into() })
            .collect(),
        sections: vec![
            section(
                "II.3.1",
                "Phát triển kinh tế",
                "Tăng trưởng bình quân 8%/năm; phát triển du lịch & dịch vụ.",
            ),
            section(
                "II.3.2",
                "Văn hóa – xã hội",
                "Giữ gìn bản sắc, nâng cao đời sống.",
            ),
            section(
                "II.3.3",
                "Quốc phòng – an ninh",
                "Giữ vững an ninh trật tự.",
            ),
        ],
        topics: vec![
            topic(
                "kinh-te",
                "Phát triển kinh tế",
                "Ông/Bà có ý kiến gì về mục tiêu tăng trưởng?",
                &["II.3.1"],
            ),
            topic(
                "van-hoa",
                "Văn hóa – xã hội",
                "Cần làm gì để giữ gìn bản sắc văn hóa?",
                &["II.3.2"],
            ),
            topic(
                "an-ninh",
                "Quốc phòng – an ninh",
                "Ý kiến về an ninh trật tự?",
                &["II.3.3"],
            ),
            topic(
                "do-thi",
                "Chỉnh trang đô thị",
                "Ý kiến về chỉnh trang đô thị?",
                &[],
            ),
            topic(
                "cai-cach",
                "Cải cách hành chính",
                "Ý kiến về cải cách hành chính?",
                &[],
            ),
            topic(
                "xay-dung-dang",
                "Xây dựng Đảng",
                "Ý kiến về công tác xây dựng Đảng?",
                &["II.3.1", "II.3.2"],
            ),
        ],
        phases: vec![
            Phase {
                kind: PhaseKind::Announce,
                starts_at: opens - Duration::days(5),
                ends_at: opens,
            },
            Phase {
                kind: PhaseKind::Collect,
                starts_at: opens,
                ends_at: closes,
            },
            Phase {
                kind: PhaseKind::Synthesise,
                starts_at: closes,
                ends_at: closes + Duration::days(3),
            },
        ],
    }
}

fn l10n() -> &'static Localizer {
    i18n::shared().expect("locales parse")
}

/// A resident and the part of the shell the engine relies on: it loads opinions only when
/// [`needs_opinions`] says so, applies the effects and keeps the state.
struct Sim {
    /// The campaign the shell resolved, if any.
    campaign: Option<Campaign>,
    /// The persisted dialog state.
    state: DialogState,
    /// The resident's opinions as the store would hold them.
    opinions: Vec<Opinion>,
    /// The clock.
    now: DateTime<Utc>,
    /// Whether the channel shows buttons.
    has_buttons: bool,
    /// Counts steps, to make fresh references and receipts.
    counter: u32,
    /// The effects of the last step.
    effects: Vec<Effect>,
    /// Consents recorded so far.
    consents: Vec<IdentityMode>,
    /// Set when the resident erased themselves: whether their opinions were withdrawn.
    erased: Option<bool>,
    /// Link codes given to this resident.
    link_codes: Vec<String>,
    /// The person this resident's contact (id 1) is linked to.
    person: Option<i64>,
    /// What the store would say of codes typed with `/lienket CODE` (unknown otherwise).
    known_codes: Vec<(String, LinkCodeCheck)>,
}

impl Sim {
    fn new(win: Win) -> Sim {
        Sim {
            campaign: (win != Win::NoCampaign).then(|| campaign(win)),
            state: DialogState::default(),
            opinions: Vec::new(),
            now: now(),
            has_buttons: true,
            counter: 0,
            effects: Vec::new(),
            consents: Vec::new(),
            erased: None,
            link_codes: Vec::new(),
            person: None,
            known_codes: Vec::new(),
        }
    }

    /// The link status the shell would read for this input (the resident is contact 1).
    fn link_status(&self, input: &Input) -> LinkStatus {
        let code = link_code(input).map(|typed| {
            self.known_codes
                .iter()
                .find(|(c, _)| c == typed)
                .map_or(LinkCodeCheck::Unknown, |(_, check)| *check)
        });
        LinkStatus {
            contact: 1,
            person: self.person,
            code,
        }
    }

    fn window(&self) -> Option<crate::domain::CollectionWindow> {
        self.campaign.as_ref().map(|c| c.window(self.now))
    }

    fn send(&mut self, input: Input) -> Vec<Effect> {
        self.counter += 1;
        let reference = format!("R{:05}", self.counter);
        let receipt = format!("GY-{:06}", self.counter);
        let payload_unit = match &input {
            Input::Command(Command::Start { payload: Some(p) }) => {
                p.split_once('_').map(|(_, u)| u.to_owned())
            }
            _ => None,
        };
        let payload_unit =
            payload_unit.filter(|u| self.campaign.as_ref().is_some_and(|c| c.unit(u).is_some()));
        let loaded = needs_opinions(&self.state, &input);
        let all = self.opinions.clone();
        let link = needs_link(&self.state, &input).then(|| self.link_status(&input));
        let ctx = Context {
            campaign: self.campaign.as_ref(),
            now: self.now,
            opinions: if loaded { &all } else { &[] },
            fresh_reference: &reference,
            fresh_receipt: &receipt,
            has_buttons: self.has_buttons,
            payload_unit: payload_unit.as_deref(),
            link: link.as_ref(),
            fresh_link_code: "LNK234",
        };
        let (next, effects) = step(&self.state, &input, &ctx);
        if !loaded {
            let full = Context {
                opinions: &all,
                ..ctx
            };
            assert_eq!(
                step(&self.state, &input, &full),
                (next.clone(), effects.clone()),
                "needs_opinions said no, but the opinions change the outcome of {input:?} at {:?}",
                self.state.step
            );
        }
        check(&effects, &next, self.window(), &input, &self.state);
        self.apply(&effects, &next);
        self.state = next;
        if self.erased.is_some() {
            self.state = DialogState::default();
        }
        self.effects = effects.clone();
        effects
    }

    fn apply(&mut self, effects: &[Effect], next: &DialogState) {
        for e in effects {
            match e {
                Effect::Reply(_) | Effect::SetLocale(_) | Effect::SetNotices { .. } => {}
                Effect::IssueLinkCode { code, .. } => self.link_codes.push(code.clone()),
                Effect::LinkContacts { other, .. } => self.person = Some(*other),
                Effect::UnlinkContact => self.person = None,
                Effect::RecordConsent { mode, .. } => self.consents.push(*mode),
                Effect::SaveOpinion {
                    reference,
                    topic,
                    section,
                    text,
                } => {
                    let id = i64::try_from(self.opinions.len()).expect("len") + 1;
                    self.opinions.push(Opinion {
                        id,
                        reference: reference.clone(),
                        campaign_id: 1,
                        contact_id: Some(1),
                        topic: topic.clone(),
                        section: section.clone(),
                        unit: next.unit.clone(),
                        target_group: next.target_group.clone(),
                        channel: Channel::Telegram,
                        source: OpinionSource::Chat,
                        anonymous: next.identity != Some(IdentityMode::Named),
                        text: text.clone(),
                        status: OpinionStatus::Draft,
                        receipt: None,
                        created_at: self.now,
                        edited_at: None,
                        withdrawn_at: None,
                    });
                }
                Effect::SubmitDrafts { receipt } => {
                    for o in &mut self.opinions {
                        if o.status == OpinionStatus::Draft {
                            o.status = OpinionStatus::Submitted;
                            o.receipt = Some(receipt.clone());
                        }
                    }
                }
                Effect::EditOpinion { reference, text } => {
                    let o = self
                        .opinions
                        .iter_mut()
                        .find(|o| &o.reference == reference)
                        .expect("edited opinion exists");
                    assert_ne!(o.status, OpinionStatus::Withdrawn);
                    o.text = text.clone();
                    o.edited_at = Some(self.now);
                }
                Effect::WithdrawOpinion { reference } => {
                    let o = self
                        .opinions
                        .iter_mut()
                        .find(|o| &o.reference == reference)
                        .expect("withdrawn opinion exists");
                    o.status = OpinionStatus::Withdrawn;
                    o.withdrawn_at = Some(self.now);
                }
                Effect::EraseContact { withdraw_opinions } => {
                    self.erased = Some(*withdraw_opinions);
                }
            }
        }
    }

    fn replies(&self) -> Vec<&Reply> {
        replies(&self.effects)
    }

    fn last(&self) -> &Reply {
        self.replies().last().copied().expect("a reply")
    }

    /// Every message of the last step, rendered as plain text.
    fn shown(&self) -> String {
        self.replies()
            .iter()
            .map(|r| l10n().reply(r, Markup::Plain, false).text)
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    fn keys(&self) -> Vec<String> {
        self.replies()
            .iter()
            .flat_map(|r| r.paragraphs.iter().map(|m| m.key.clone()))
            .collect()
    }

    fn has_key(&self, key: &str) -> bool {
        self.keys().iter().any(|k| k == key)
    }

    /// The button data of the last reply for this action.
    fn button(&self, action: &str) -> String {
        self.last()
            .choices
            .iter()
            .find(|c| choices::parse_data(&c.data).is_some_and(|(_, a)| a == action))
            .unwrap_or_else(|| panic!("no {action} button in {:#?}", self.last()))
            .data
            .clone()
    }

    fn press(&mut self, action: &str) -> Vec<Effect> {
        let data = self.button(action);
        self.send(Input::Button(data))
    }

    fn text(&mut self, text: &str) -> Vec<Effect> {
        self.send(Input::Text(text.to_owned()))
    }

    fn cmd(&mut self, cmd: Command) -> Vec<Effect> {
        self.send(Input::Command(cmd))
    }

    fn start(&mut self) -> Vec<Effect> {
        self.cmd(Command::Start { payload: None })
    }
}

fn replies(effects: &[Effect]) -> Vec<&Reply> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn storage_effects(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::SaveOpinion { .. }
                    | Effect::EditOpinion { .. }
                    | Effect::WithdrawOpinion { .. }
                    | Effect::SubmitDrafts { .. }
            )
        })
        .count()
}

fn messages(r: &Reply) -> impl Iterator<Item = &Msg> {
    r.paragraphs
        .iter()
        .chain(r.choices.iter().map(|c| &c.label))
}

/// What must hold after every step, whatever came in.
fn check(
    effects: &[Effect],
    next: &DialogState,
    window: Option<crate::domain::CollectionWindow>,
    input: &Input,
    before: &DialogState,
) {
    let rs = replies(effects);
    assert!(!rs.is_empty(), "no reply to {input:?} at {:?}", before.step);
    let with_choices = rs.iter().filter(|r| !r.choices.is_empty()).count();
    assert!(with_choices <= 1, "several replies carry choices: {rs:#?}");
    for r in &rs {
        for c in &r.choices {
            assert!(
                c.data.len() <= MAX_DATA_BYTES,
                "data over 64 bytes: {}",
                c.data
            );
            let (nonce, _) = choices::parse_data(&c.data).expect("our own data parses");
            assert_eq!(
                nonce, next.nonce,
                "a choice carries a nonce other than the state's"
            );
        }
        for m in messages(r) {
            for locale in [Locale::Vi, Locale::En] {
                assert!(
                    l10n().has(locale, &m.key),
                    "{} is missing in {}",
                    m.key,
                    locale.as_str()
                );
            }
        }
        for markup in [Markup::Plain, Markup::TelegramHtml] {
            for buttons in [true, false] {
                let text = l10n().reply(r, markup, buttons).text;
                if markup == Markup::Plain && buttons {
                    assert!(
                        text.chars().count() <= 4096,
                        "reply over 4,096 characters ({})",
                        text.chars().count()
                    );
                }
            }
        }
    }
    if !matches!(window, Some(crate::domain::CollectionWindow::Open(_))) {
        assert_eq!(
            storage_effects(effects),
            0,
            "storage effect outside the window for {input:?} at {:?}: {effects:#?}",
            before.step
        );
    }
}

/// An opinion of the resident, for states built directly.
fn opinion(reference: &str, topic: &str, status: OpinionStatus, text: &str) -> Opinion {
    Opinion {
        id: 0,
        reference: reference.into(),
        campaign_id: 1,
        contact_id: Some(1),
        topic: topic.into(),
        section: None,
        unit: Some("to-1".into()),
        target_group: None,
        channel: Channel::Telegram,
        source: OpinionSource::Chat,
        anonymous: false,
        text: text.into(),
        status,
        receipt: (status != OpinionStatus::Draft).then(|| "GY-OLD".into()),
        created_at: now() - Duration::hours(5),
        edited_at: None,
        withdrawn_at: (status == OpinionStatus::Withdrawn).then(|| now() - Duration::hours(1)),
    }
}

fn every_step() -> Vec<Step> {
    let r = |s: &str| s.to_owned();
    vec![
        Step::Idle,
        Step::Consent,
        Step::ChooseUnit,
        Step::ChooseTargetGroup,
        Step::AskNotices,
        Step::Menu,
        Step::Topic {
            topic: r("van-hoa"),
        },
        Step::Topic { topic: r("gone") },
        Step::Review,
        Step::MyOpinions,
        Step::MyOpinion {
            reference: r("AAAAAA"),
        },
        Step::MyOpinion {
            reference: r("CCCCCC"),
        },
        Step::MyOpinion {
            reference: r("NOPE00"),
        },
        Step::EditOpinion {
            reference: r("AAAAAA"),
        },
        Step::EditOpinion {
            reference: r("CCCCCC"),
        },
        Step::ConfirmWithdraw {
            reference: r("BBBBBB"),
        },
        Step::ConfirmDelete,
        Step::ChooseLanguage,
    ]
}

/// A resident half-way through the dialog, on `step`.
fn sim_at(win: Win, step: &Step, has_buttons: bool) -> Sim {
    let mut sim = Sim::new(win);
    sim.has_buttons = has_buttons;
    let consented = !matches!(step, Step::Idle | Step::Consent);
    sim.state = DialogState {
        campaign: Some(1),
        step: step.clone(),
        resume: render::is_interrupt(step).then(|| Box::new(Step::Menu)),
        identity: consented.then_some(IdentityMode::Named),
        unit: consented.then(|| "to-1".into()),
        target_group: None,
        target_group_asked: consented && *step != Step::ChooseTargetGroup,
        notices_asked: consented && *step != Step::AskNotices,
        given: [("kinh-te".to_owned(), 1)].into_iter().collect(),
        skipped: vec!["an-ninh".into()],
        locale: Locale::Vi,
        nonce: 41,
        last_receipt: None,
    };
    if *step == Step::ChooseUnit {
        sim.state.unit = None;
    }
    sim.opinions = vec![
        opinion(
            "AAAAAA",
            "kinh-te",
            OpinionStatus::Draft,
            "Cần hỗ trợ hộ kinh doanh.",
        ),
        opinion(
            "BBBBBB",
            "van-hoa",
            OpinionStatus::Submitted,
            "Giữ gìn lễ hội <truyền thống> & nhà sàn.",
        ),
        opinion(
            "CCCCCC",
            "an-ninh",
            OpinionStatus::Withdrawn,
            "Tăng cường tuần tra.",
        ),
    ];
    sim
}

/// Every kind of input, for a resident at `sim`'s step.
fn inputs(sim: &Sim) -> Vec<Input> {
    let mut out: Vec<Input> = [
        "Tôi đề nghị mở rộng đường vào thôn.",
        "",
        "    ",
        "👍🎉🙏",
        "?!…",
        "1",
        "99",
        "<b>&amp;</b>",
    ]
    .iter()
    .map(|t| Input::Text((*t).to_owned()))
    .collect();
    out.push(Input::Text("a".repeat(4001)));
    for kind in [
        MediaKind::Sticker,
        MediaKind::Photo,
        MediaKind::Voice,
        MediaKind::Video,
        MediaKind::File,
        MediaKind::Other,
    ] {
        out.push(Input::Media(kind));
    }
    for cmd in [
        Command::Start { payload: None },
        Command::Start {
            payload: Some("dh-2025_to-2".into()),
        },
        Command::Start {
            payload: Some("unknown-campaign".into()),
        },
        Command::Help,
        Command::Cancel,
        Command::Language(None),
        Command::Language(Some("en".into())),
        Command::Language(Some("fr".into())),
        Command::Privacy,
        Command::My,
        Command::DeleteMe,
        Command::Notices(Some(true)),
        Command::Notices(Some(false)),
        Command::Notices(None),
        Command::LinkAccount(LinkArg::Issue),
        Command::LinkAccount(LinkArg::Off),
        Command::LinkAccount(LinkArg::Code("ab3k7p".into())),
        Command::Unknown("foo".into()),
    ] {
        out.push(Input::Command(cmd));
    }
    let nonce = sim.state.nonce;
    out.push(Input::Button(format!("{}:next", nonce.wrapping_sub(1))));
    out.push(Input::Button("zz".into()));
    out.push(Input::Button("x".repeat(70)));
    out.push(Input::Button(format!("{nonce}:t:no-such-topic")));
    out.push(Input::Button(format!("{nonce}:{}", "9".repeat(70))));
    out
}

/// The options the resident's current step offers, as the engine computes them.
fn options(sim: &Sim) -> Vec<choices::Opt> {
    let ctx = Context {
        campaign: sim.campaign.as_ref(),
        now: sim.now,
        opinions: &sim.opinions,
        fresh_reference: "ZZZZZZ",
        fresh_receipt: "GY-ZZZZZZ",
        has_buttons: sim.has_buttons,
        payload_unit: None,
        link: None,
        fresh_link_code: "",
    };
    render::view(&sim.state, &ctx, &sim.opinions, Detail::Compact).options
}

#[test]
fn every_step_answers_every_input_in_every_phase() {
    let mut cases = 0;
    for win in WINDOWS {
        for step in every_step() {
            for has_buttons in [true, false] {
                let base = sim_at(win, &step, has_buttons);
                let mut all = inputs(&base);
                for o in options(&base) {
                    all.push(Input::Button(choices::data(base.state.nonce, &o.action)));
                    let label = l10n().msg(Locale::Vi, &o.label, Markup::Plain);
                    all.push(Input::Text(label));
                }
                for input in all {
                    let mut sim = sim_at(win, &step, has_buttons);
                    sim.send(input.clone());
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 3000, "{cases}");
}

#[test]
fn every_offered_button_acts_and_no_other_does() {
    for win in WINDOWS {
        for step in every_step() {
            let base = sim_at(win, &step, true);
            for o in options(&base) {
                let mut sim = sim_at(win, &step, true);
                sim.send(Input::Button(choices::data(base.state.nonce, &o.action)));
                assert!(
                    !sim.has_key("button-stale"),
                    "{:?} at {step:?} ({win:?}) was refused",
                    o.action
                );
            }
            for data in [
                "zz".to_owned(),
                "40:next".to_owned(),
                "41:t:no-such".to_owned(),
            ] {
                let mut sim = sim_at(win, &step, true);
                let effects = sim.send(Input::Button(data.clone()));
                assert!(sim.has_key("button-stale"), "{data} at {step:?} was taken");
                assert!(
                    effects.iter().all(|e| matches!(e, Effect::Reply(_))),
                    "{data} at {step:?} had effects: {effects:#?}"
                );
            }
        }
    }
}

#[test]
fn a_named_resident_goes_through_every_topic_to_a_receipt() {
    let mut sim = Sim::new(Win::Open);
    sim.start();
    assert_eq!(sim.state.step, Step::Consent);
    let notice = sim.shown();
    assert!(notice.contains("Đảng ủy phường Bắc Kạn"), "{notice}");
    assert!(notice.contains("Báo cáo chính trị Đại hội"), "{notice}");
    assert!(notice.contains("Tổng hợp ý kiến để hoàn thiện"), "{notice}");
    assert!(notice.contains("13/2023/NĐ-CP"), "{notice}");
    assert!(notice.contains("12 tháng"), "{notice}");
    assert!(
        notice.contains("/delete_me") && notice.contains("/privacy"),
        "{notice}"
    );

    sim.press("named");
    assert_eq!(sim.consents, vec![IdentityMode::Named]);
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::RecordConsent { notice_version, .. }) if notice_version == "2025-07-01"
    ));
    assert_eq!(sim.state.step, Step::ChooseUnit);
    sim.press("u:to-2");
    assert_eq!(sim.state.step, Step::ChooseTargetGroup);
    sim.press("g:veteran");
    sim.press("notices:off");
    assert_eq!(sim.state.step, Step::Menu);
    assert!(sim.shown().contains("0/6"), "{}", sim.shown());

    sim.press("t:kinh-te");
    let topic = sim.shown();
    assert!(
        topic.contains("II.3.1") && topic.contains("Tăng trưởng bình quân 8%/năm"),
        "{topic}"
    );
    assert!(topic.contains("mục tiêu tăng trưởng"), "{topic}");
    let codes: Vec<String> = campaign(Win::Open)
        .topics
        .iter()
        .map(|t| t.code.clone())
        .collect();
    for (i, code) in codes.iter().enumerate() {
        assert_eq!(
            sim.state.step,
            Step::Topic {
                topic: code.clone()
            }
        );
        let effects = sim.text(&format!("Ý kiến số {i} về {code}."));
        assert!(matches!(
            &effects[0],
            Effect::SaveOpinion { topic, text, .. } if topic == code && text == &format!("Ý kiến số {i} về {code}.")
        ));
        assert!(
            sim.shown().contains(&format!("R{:05}", sim.counter)),
            "{}",
            sim.shown()
        );
        if i == 0 {
            sim.text("Thêm một ý kiến nữa & <quan trọng>.");
            assert!(
                sim.shown().contains("Thêm một ý kiến nữa & <quan trọng>."),
                "{}",
                sim.shown()
            );
            let html = l10n().reply(sim.last(), Markup::TelegramHtml, true).text;
            assert!(html.contains("&amp; &lt;quan trọng&gt;"), "{html}");
        }
        sim.press("next");
    }
    assert_eq!(sim.state.step, Step::Menu);
    assert!(sim.has_key("menu-all-visited"));
    assert!(sim.shown().contains("6/6"), "{}", sim.shown());
    assert_eq!(sim.opinions.len(), 7);
    assert_eq!(sim.opinions[0].section.as_deref(), Some("II.3.1"));
    assert_eq!(sim.opinions[4].section, None);

    sim.press("review");
    let review = sim.shown();
    assert!(review.contains("7 ý kiến"), "{review}");
    assert!(
        review.contains("Phát triển kinh tế") && review.contains("Xây dựng Đảng"),
        "{review}"
    );
    assert!(
        review.contains("Thêm một ý kiến nữa & <quan trọng>."),
        "{review}"
    );
    let effects = sim.press("submit");
    assert!(
        matches!(&effects[0], Effect::SubmitDrafts { receipt } if receipt == &format!("GY-{:06}", sim.counter))
    );
    let receipt = sim.shown();
    assert!(
        receipt.contains(&format!("GY-{:06}", sim.counter)),
        "{receipt}"
    );
    assert!(receipt.contains("20/07/2025 10:00"), "{receipt}");
    assert!(
        sim.opinions
            .iter()
            .all(|o| o.status == OpinionStatus::Submitted)
    );
    assert!(sim.opinions.iter().all(|o| !o.anonymous
        && o.unit.as_deref() == Some("to-2")
        && o.target_group.as_deref() == Some("veteran")));
    assert_eq!(sim.state.step, Step::Menu);

    sim.start();
    assert!(
        sim.shown().contains(&format!("GY-{:06}", sim.counter - 1)),
        "{}",
        sim.shown()
    );
}

#[test]
fn an_anonymous_resident_in_a_terminal_types_numbers_and_labels() {
    let mut sim = Sim::new(Win::Open);
    sim.has_buttons = false;
    sim.text("xin chào");
    assert_eq!(sim.state.step, Step::Consent);
    let shown = sim.shown();
    assert!(shown.contains("\n1. Đồng ý, góp ý có tên"), "{shown}");
    sim.text("dong y, gop y an danh");
    assert_eq!(sim.consents, vec![IdentityMode::Anonymous]);
    sim.text("thôn nà làng");
    assert_eq!(sim.state.unit.as_deref(), Some("na-lang"));
    sim.text("99");
    assert!(sim.has_key("error-choose"));
    assert_eq!(sim.state.step, Step::ChooseTargetGroup);
    sim.text("5");
    assert_eq!(sim.state.target_group, None);
    assert!(sim.state.target_group_asked);
    assert_eq!(sim.state.step, Step::AskNotices);
    assert!(
        sim.shown().contains("\n2. Không, cảm ơn"),
        "{}",
        sim.shown()
    );
    sim.text("Không");
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::SetNotices { on: false, unit: Some(u) }) if u == "na-lang"
    ));
    assert!(sim.state.notices_asked);
    assert_eq!(sim.state.step, Step::Menu);
    sim.text("Văn hoá - xã hội");
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "van-hoa".into()
        }
    );
    sim.text("3");
    assert!(sim.state.skipped.contains(&"van-hoa".to_owned()));
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "an-ninh".into()
        }
    );
    sim.text("Cần thêm đèn đường ở ngõ 5.");
    sim.text("2");
    assert_eq!(sim.state.step, Step::Menu);
    assert!(
        sim.shown().contains("⏭ Văn hóa – xã hội"),
        "{}",
        sim.shown()
    );
    assert!(
        sim.shown().contains("✅ Quốc phòng – an ninh (1)"),
        "{}",
        sim.shown()
    );
    sim.text("7");
    assert_eq!(sim.state.step, Step::Review);
    sim.text("1");
    assert!(
        sim.effects
            .iter()
            .any(|e| matches!(e, Effect::SubmitDrafts { .. }))
    );
    assert!(
        sim.opinions
            .iter()
            .all(|o| o.anonymous && o.status == OpinionStatus::Submitted)
    );
}

#[test]
fn a_lone_number_on_a_topic_is_an_opinion_where_there_are_buttons() {
    let mut sim = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "do-thi".into(),
        },
        true,
    );
    let effects = sim.text("2");
    assert!(matches!(&effects[0], Effect::SaveOpinion { text, .. } if text == "2"));
    let mut sim = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "do-thi".into(),
        },
        false,
    );
    let effects = sim.text("2");
    assert_eq!(storage_effects(&effects), 0);
    assert_eq!(sim.state.step, Step::Menu);
}

#[test]
fn notices_are_switched_at_any_step_with_the_residents_unit_and_the_step_kept() {
    assert_eq!(
        Command::parse("/thongbao bật"),
        Some(Command::Notices(Some(true)))
    );
    assert_eq!(
        Command::parse("/notices OFF"),
        Some(Command::Notices(Some(false)))
    );
    assert_eq!(Command::parse("/notices"), Some(Command::Notices(None)));
    assert_eq!(Command::parse("/thongbao gi"), Some(Command::Notices(None)));
    let mut sim = Sim::new(Win::Open);
    sim.start();
    sim.press("anon");
    sim.press("u:to-1");
    sim.press("gskip");
    sim.press("notices:off");
    sim.press("t:do-thi");
    let step = sim.state.step.clone();
    sim.cmd(Command::Notices(Some(true)));
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::SetNotices { on: true, unit: Some(u) }) if u == "to-1"
    ));
    assert!(
        sim.shown().contains("đã đăng ký nhận thông báo"),
        "{}",
        sim.shown()
    );
    assert_eq!(sim.state.step, step);
    sim.cmd(Command::Notices(Some(false)));
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::SetNotices { on: false, .. })
    ));
    sim.cmd(Command::Notices(None));
    assert!(
        !sim.effects
            .iter()
            .any(|e| matches!(e, Effect::SetNotices { .. }))
    );
    assert!(sim.shown().contains("/thongbao bat"), "{}", sim.shown());
}

#[test]
fn start_resumes_exactly_where_the_resident_was() {
    let mut sim = Sim::new(Win::Open);
    sim.start();
    sim.press("anon");
    sim.press("u:to-1");
    sim.press("gskip");
    sim.press("notices:off");
    sim.press("t:do-thi");
    sim.text("Ý kiến thứ nhất.");
    let state = sim.state.clone();
    sim.start();
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "do-thi".into()
        }
    );
    assert!(
        sim.shown().contains("Chỉnh trang đô thị"),
        "{}",
        sim.shown()
    );
    assert!(sim.shown().contains("đã góp 1 ý kiến"), "{}", sim.shown());
    assert_eq!(sim.state.given, state.given);
    assert_eq!(storage_effects(&sim.effects), 0);
    sim.cmd(Command::Help);
    assert_eq!(sim.replies().len(), 2);
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "do-thi".into()
        }
    );
    sim.text("Ý kiến thứ hai.");
    assert_eq!(sim.state.given.get("do-thi"), Some(&2));
    assert_eq!(sim.opinions.len(), 2);
}

#[test]
fn a_deep_link_unit_skips_the_unit_question_and_a_new_campaign_asks_consent_again() {
    let mut sim = Sim::new(Win::Open);
    sim.cmd(Command::Start {
        payload: Some("dh-2025_na-lang".into()),
    });
    assert_eq!(sim.state.unit.as_deref(), Some("na-lang"));
    sim.press("named");
    assert_eq!(sim.state.step, Step::ChooseTargetGroup);
    sim.press("g:farmer");
    sim.press("notices:off");
    sim.press("t:kinh-te");
    sim.text("Một ý kiến.");

    let mut other = campaign(Win::Open);
    other.id = 2;
    other.slug = "quy-hoach".into();
    sim.campaign = Some(other);
    sim.cmd(Command::Start {
        payload: Some("quy-hoach".into()),
    });
    assert_eq!(sim.state.campaign, Some(2));
    assert_eq!(sim.state.step, Step::Consent);
    assert_eq!(sim.state.identity, None);
    assert!(sim.state.given.is_empty());
}

#[test]
fn opinions_can_be_changed_and_withdrawn_through_my() {
    let mut sim = Sim::new(Win::Open);
    sim.start();
    sim.press("named");
    sim.press("u:to-1");
    sim.press("gskip");
    sim.press("notices:off");
    sim.press("t:cai-cach");
    sim.text("Rút ngắn thời gian cấp giấy phép.");
    let reference = sim.opinions[0].reference.clone();
    sim.cmd(Command::My);
    assert_eq!(sim.state.step, Step::MyOpinions);
    assert!(
        sim.shown().contains("Rút ngắn thời gian"),
        "{}",
        sim.shown()
    );
    sim.press(&format!("o:{reference}"));
    assert!(sim.shown().contains("chưa gửi"), "{}", sim.shown());
    sim.press("edit");
    assert_eq!(
        sim.state.step,
        Step::EditOpinion {
            reference: reference.clone()
        }
    );
    sim.text("👍");
    assert!(sim.has_key("error-no-letters"));
    let effects = sim.text("  Rút ngắn thời gian cấp phép xây dựng.  ");
    assert!(matches!(
        &effects[0],
        Effect::EditOpinion { reference: r, text } if r == &reference && text == "Rút ngắn thời gian cấp phép xây dựng."
    ));
    assert_eq!(
        sim.state.step,
        Step::MyOpinion {
            reference: reference.clone()
        }
    );
    assert!(sim.shown().contains("cấp phép xây dựng"), "{}", sim.shown());
    sim.press("wd");
    assert_eq!(
        sim.state.step,
        Step::ConfirmWithdraw {
            reference: reference.clone()
        }
    );
    let tap = sim.button("wdyes");
    let effects = sim.send(Input::Button(tap.clone()));
    assert!(matches!(&effects[0], Effect::WithdrawOpinion { reference: r } if r == &reference));
    assert_eq!(sim.opinions[0].status, OpinionStatus::Withdrawn);
    assert_eq!(sim.state.step, Step::MyOpinions);
    assert!(sim.state.given.is_empty());
    let effects = sim.send(Input::Button(tap));
    assert_eq!(storage_effects(&effects), 0);
    assert!(sim.has_key("button-stale"));
    sim.press(&format!("o:{reference}"));
    assert!(
        sim.last().choices.len() == 1,
        "a withdrawn opinion can only be left"
    );
    sim.press("back");
    sim.press("back");
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "cai-cach".into()
        }
    );
    assert_eq!(sim.state.resume, None);
}

#[test]
fn delete_me_erases_with_or_without_withdrawing_and_can_be_cancelled() {
    for (action, withdraw) in [("delw", true), ("delk", false)] {
        let mut sim = sim_at(Win::Open, &Step::Menu, true);
        sim.cmd(Command::DeleteMe);
        assert_eq!(sim.state.step, Step::ConfirmDelete);
        let effects = sim.press(action);
        assert!(matches!(
            effects[0],
            Effect::EraseContact { withdraw_opinions } if withdraw_opinions == withdraw
        ));
        assert_eq!(sim.erased, Some(withdraw));
        assert!(sim.last().choices.is_empty());
    }
    let mut sim = sim_at(Win::Closed, &Step::Menu, true);
    sim.cmd(Command::DeleteMe);
    let effects = sim.press("back");
    assert!(effects.iter().all(|e| matches!(e, Effect::Reply(_))));
    assert_eq!(sim.state.step, Step::Menu);
}

#[test]
fn the_language_can_be_switched_by_choice_or_directly() {
    let mut sim = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "kinh-te".into(),
        },
        true,
    );
    sim.cmd(Command::Language(None));
    assert_eq!(sim.state.step, Step::ChooseLanguage);
    let effects = sim.press("lang:en");
    assert_eq!(effects[0], Effect::SetLocale(Locale::En));
    assert_eq!(sim.state.locale, Locale::En);
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "kinh-te".into()
        }
    );
    assert_eq!(sim.last().locale, Locale::En);
    assert!(
        sim.shown().contains("Switched to English"),
        "{}",
        sim.shown()
    );
    let effects = sim.cmd(Command::Language(Some("vi".into())));
    assert_eq!(effects[0], Effect::SetLocale(Locale::Vi));
    assert_eq!(sim.state.locale, Locale::Vi);
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "kinh-te".into()
        }
    );
}

#[test]
fn a_button_pressed_twice_acts_once() {
    let mut sim = Sim::new(Win::Open);
    sim.start();
    let named = sim.button("named");
    sim.send(Input::Button(named.clone()));
    sim.send(Input::Button(named));
    assert_eq!(sim.consents.len(), 1);
    assert!(sim.has_key("button-stale"));
    assert_eq!(sim.state.step, Step::ChooseUnit);

    let mut sim = sim_at(Win::Open, &Step::Review, true);
    sim.start();
    let submit = sim.button("submit");
    let first = sim.send(Input::Button(submit.clone()));
    let second = sim.send(Input::Button(submit));
    assert_eq!(storage_effects(&first), 1);
    assert_eq!(storage_effects(&second), 0);
    assert!(sim.has_key("button-stale"));
}

#[test]
fn bad_text_on_a_topic_is_refused_politely_and_loses_nothing() {
    let mut sim = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "kinh-te".into(),
        },
        true,
    );
    let given = sim.state.given.clone();
    let long = "ý".repeat(4001);
    for (text, key) in [
        (long.as_str(), "error-too-long"),
        ("", "error-empty"),
        (" \n\t ", "error-empty"),
        ("🙂🙂", "error-no-letters"),
        ("...!!!", "error-no-letters"),
    ] {
        let effects = sim.text(text);
        assert_eq!(storage_effects(&effects), 0, "{text:?}");
        assert!(sim.has_key(key), "{text:?}: {:?}", sim.keys());
        assert!(!sim.last().choices.is_empty());
        assert_eq!(sim.state.given, given);
        assert_eq!(
            sim.state.step,
            Step::Topic {
                topic: "kinh-te".into()
            }
        );
    }
    sim.text(&long);
    assert!(
        sim.shown().contains("4.001") && sim.shown().contains("4.000"),
        "{}",
        sim.shown()
    );
    sim.send(Input::Media(MediaKind::Voice));
    assert!(sim.has_key("error-media"));
    sim.cmd(Command::Unknown("abc".into()));
    assert!(sim.shown().contains("/abc"), "{}", sim.shown());
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "kinh-te".into()
        }
    );

    let exact = "a".repeat(4000);
    let effects = sim.text(&exact);
    assert_eq!(storage_effects(&effects), 1);
    let decomposed: String = "  Hoà bình, ấm no.  ".nfd().collect();
    let effects = sim.text(&decomposed);
    assert!(
        matches!(&effects[0], Effect::SaveOpinion { text, .. } if text == "Hoà bình, ấm no." && text.nfc().collect::<String>() == *text)
    );
}

#[test]
fn outside_the_window_nothing_is_collected() {
    let mut sim = Sim::new(Win::NotYet);
    sim.start();
    let shown = sim.shown();
    assert!(shown.contains("16/07/2025 10:00"), "{shown}");
    assert!(sim.last().choices.is_empty());
    sim.text("Một ý kiến sớm.");
    assert!(sim.opinions.is_empty());

    let mut sim = sim_at(
        Win::Closed,
        &Step::Topic {
            topic: "kinh-te".into(),
        },
        true,
    );
    sim.text("Một ý kiến muộn.");
    assert!(sim.opinions.len() == 3 && sim.has_key("phase-closed"));
    assert!(sim.shown().contains("14/07/2025 10:00"), "{}", sim.shown());
    sim.press("my");
    assert_eq!(sim.state.step, Step::MyOpinions);
    assert!(
        sim.shown().contains("Cần hỗ trợ hộ kinh doanh"),
        "{}",
        sim.shown()
    );
    sim.press("o:AAAAAA");
    assert!(sim.has_key("my-closed-note"));
    assert_eq!(sim.last().choices.len(), 1);

    let mut sim = sim_at(
        Win::Closed,
        &Step::Topic {
            topic: "kinh-te".into(),
        },
        true,
    );
    sim.text("1");
    assert_eq!(
        sim.state.step,
        Step::MyOpinions,
        "typing 1 picks /my after the close"
    );
    assert!(
        sim.shown().contains("Cần hỗ trợ hộ kinh doanh"),
        "{}",
        sim.shown()
    );

    let mut sim = Sim::new(Win::NoCampaign);
    sim.start();
    assert!(sim.has_key("no-campaign"));
    sim.cmd(Command::Privacy);
    assert!(sim.has_key("privacy-general"));
}

#[test]
fn the_review_stays_under_telegram_s_limit_and_counts_what_it_leaves_out() {
    let mut sim = sim_at(Win::Open, &Step::Menu, true);
    sim.opinions = (0..60)
        .map(|i| {
            opinion(
                &format!("X{i:05}"),
                ["kinh-te", "van-hoa", "do-thi"][i % 3],
                OpinionStatus::Draft,
                &"Ý kiến rất dài <&> ".repeat(220),
            )
        })
        .collect();
    sim.start();
    sim.press("review");
    assert!(sim.has_key("review-more"));
    for r in sim.replies() {
        for markup in [Markup::Plain, Markup::TelegramHtml] {
            let text = l10n().reply(r, markup, false).text;
            let plain_len = l10n().reply(r, Markup::Plain, false).text.chars().count();
            assert!(plain_len < 3800, "{plain_len}");
            assert!(!text.is_empty());
        }
    }
    let shown = sim.shown();
    assert!(shown.contains("60 ý kiến"), "{shown}");
}

#[test]
fn a_long_opinion_is_shown_in_full_in_a_message_of_its_own() {
    let mut sim = sim_at(Win::Open, &Step::MyOpinions, true);
    sim.opinions[0].text = "Nội dung dài. ".repeat(285);
    sim.start();
    sim.press("o:AAAAAA");
    assert_eq!(sim.replies().len(), 2);
    assert_eq!(
        l10n().reply(sim.replies()[0], Markup::Plain, true).text,
        sim.opinions[0].text
    );
    assert!(sim.replies()[0].choices.is_empty());
    assert!(!sim.replies()[1].choices.is_empty());
}

#[test]
fn cancel_goes_back_to_the_menu_or_out() {
    let mut sim = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "kinh-te".into(),
        },
        true,
    );
    sim.cmd(Command::Cancel);
    assert_eq!(sim.state.step, Step::Menu);
    let mut sim = sim_at(Win::Open, &Step::Consent, true);
    sim.cmd(Command::Cancel);
    assert_eq!(sim.state.step, Step::Idle);
    let mut sim = sim_at(Win::Open, &Step::ConfirmDelete, true);
    sim.cmd(Command::Cancel);
    assert_eq!(sim.state.step, Step::Menu);
    let mut sim = sim_at(Win::Open, &Step::Consent, true);
    sim.start();
    sim.press("leave");
    assert_eq!(sim.state.step, Step::Idle);
    assert!(sim.consents.is_empty());
}

#[test]
fn choice_data_fits_in_64_bytes_even_with_the_longest_codes() {
    let mut c = campaign(Win::Open);
    c.units.push(unit(
        &"u".repeat(24),
        "Tổ dân phố có mã rất dài",
        Some("p-bac-kan"),
    ));
    c.topics
        .push(topic(&"t".repeat(16), "Chủ đề có mã dài", "?", &[]));
    let mut sim = Sim::new(Win::Open);
    sim.campaign = Some(c);
    sim.state.nonce = u32::MAX - 1;
    sim.start();
    sim.press("named");
    assert!(
        sim.last()
            .choices
            .iter()
            .any(|ch| ch.data.ends_with(&"u".repeat(24)))
    );
    for ch in &sim.last().choices {
        assert!(ch.data.len() <= MAX_DATA_BYTES, "{}", ch.data);
    }
    sim.press(&format!("u:{}", "u".repeat(24)));
    sim.press("gskip");
    sim.press("notices:off");
    sim.press(&format!("t:{}", "t".repeat(16)));
    assert_eq!(
        sim.state.step,
        Step::Topic {
            topic: "t".repeat(16)
        }
    );
}

#[test]
fn my_lists_the_newest_twenty_and_counts_the_rest() {
    for has_buttons in [true, false] {
        let mut sim = sim_at(Win::Open, &Step::Menu, has_buttons);
        sim.opinions = (0..25)
            .map(|i| {
                opinion(
                    &format!("M{i:05}"),
                    "kinh-te",
                    OpinionStatus::Submitted,
                    &format!("Ý kiến số {i}: {}", "nội dung ".repeat(400)),
                )
            })
            .collect();
        sim.cmd(Command::My);
        assert!(sim.has_key("my-older"));
        assert_eq!(sim.last().choices.len(), 21);
        assert!(sim.last().choices[0].data.ends_with("o:M00005"));
        let text = l10n().reply(sim.last(), Markup::Plain, false).text;
        assert!(text.chars().count() < 4096, "{}", text.chars().count());
        assert!(text.contains("\n21. "), "{text}");
        sim.text("M00007");
        assert_eq!(
            sim.state.step,
            Step::MyOpinion {
                reference: "M00007".into()
            }
        );
    }
}

#[test]
fn an_opinion_on_a_topic_needs_no_opinions_loaded_but_the_review_does() {
    let topic = sim_at(
        Win::Open,
        &Step::Topic {
            topic: "kinh-te".into(),
        },
        true,
    );
    let opinion = Input::Text("Cần mở rộng đường liên thôn.".into());
    assert!(!needs_opinions(&topic.state, &opinion));
    assert!(!needs_opinions(
        &topic.state,
        &Input::Command(Command::Help)
    ));
    assert!(needs_opinions(&topic.state, &Input::Command(Command::My)));
    assert!(needs_opinions(&topic.state, &Input::Button("41:my".into())));
    let menu = sim_at(Win::Open, &Step::Menu, true);
    assert!(needs_opinions(
        &menu.state,
        &Input::Button("41:review".into())
    ));
    let delete = sim_at(Win::Open, &Step::ConfirmDelete, true);
    let mut review = delete.state.clone();
    review.resume = Some(Box::new(Step::Review));
    assert!(needs_opinions(&review, &Input::Command(Command::Cancel)));
}

#[test]
fn after_consent_the_notices_question_is_asked_once_and_sets_the_subscription() {
    let mut sim = Sim::new(Win::Open);
    sim.start();
    sim.press("anon");
    sim.press("u:to-2");
    sim.press("gskip");
    assert_eq!(sim.state.step, Step::AskNotices);
    assert!(
        sim.shown().contains("thông báo của địa phương"),
        "{}",
        sim.shown()
    );
    sim.press("notices:on");
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::SetNotices { on: true, unit: Some(u) }) if u == "to-2"
    ));
    assert!(sim.has_key("notices-on"));
    assert_eq!(sim.state.step, Step::Menu);
    // Never again: /cancel, /start and a stale button leave it answered.
    sim.cmd(Command::Cancel);
    sim.start();
    assert_eq!(sim.state.step, Step::Menu);
    assert!(!sim.has_key("notices-ask"));
}

#[test]
fn link_account_gives_a_code_and_redeems_codes_with_a_clear_answer_for_each_case() {
    assert_eq!(
        Command::parse("/lienket"),
        Some(Command::LinkAccount(LinkArg::Issue))
    );
    assert_eq!(
        Command::parse("/link_account ab3 k7p"),
        Some(Command::LinkAccount(LinkArg::Code("ab3 k7p".into())))
    );
    assert_eq!(
        Command::parse("/liênkết Hủy"),
        Some(Command::LinkAccount(LinkArg::Off))
    );
    assert_eq!(
        Command::parse("/link_account off"),
        Some(Command::LinkAccount(LinkArg::Off))
    );
    assert!(matches!(
        Command::parse("/link X"),
        Some(Command::Unknown(_))
    ));

    let mut sim = Sim::new(Win::Open);
    sim.start();
    sim.press("named");
    let step = sim.state.step.clone();
    sim.cmd(Command::LinkAccount(LinkArg::Issue));
    assert_eq!(sim.link_codes, vec!["LNK234".to_owned()]);
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::IssueLinkCode { expires_at, .. }) if *expires_at == now() + Duration::minutes(15)
    ));
    let shown = sim.shown();
    assert!(
        shown.contains("LNK234") && shown.contains("15 phút"),
        "{shown}"
    );
    assert!(shown.contains("giữ nguyên kênh gửi"), "{shown}");
    assert_eq!(sim.state.step, step, "the dialog goes on where it was");

    let valid = |contact, person| LinkCodeCheck::Valid { contact, person };
    sim.known_codes = vec![
        ("OLD111".into(), LinkCodeCheck::Expired),
        ("USED22".into(), LinkCodeCheck::Used),
        ("MINE33".into(), valid(1, None)),
        ("GOOD44".into(), valid(7, None)),
    ];
    let code = |c: &str| Command::LinkAccount(LinkArg::Code(c.into()));
    for (typed, key) in [
        ("NOPE99", "link-unknown"),
        ("OLD111", "link-expired"),
        ("USED22", "link-used"),
        ("MINE33", "link-own-code"),
    ] {
        let effects = sim.cmd(code(typed));
        assert!(sim.has_key(key), "{typed}: {:?}", sim.keys());
        assert!(
            effects.iter().all(|e| matches!(e, Effect::Reply(_))),
            "{typed} acted: {effects:?}"
        );
    }
    sim.cmd(code("GOOD44"));
    assert!(sim.has_key("link-done"));
    assert!(matches!(
        sim.effects.first(),
        Some(Effect::LinkContacts { code, other: 7 }) if code == "GOOD44"
    ));
    sim.known_codes = vec![("AGAIN5".into(), valid(7, Some(7)))];
    sim.cmd(code("AGAIN5"));
    assert!(sim.has_key("link-already"), "{:?}", sim.keys());

    // /delete_me offers to undo only the link; choosing it unlinks and goes back.
    sim.cmd(Command::DeleteMe);
    assert!(sim.has_key("delete-linked"));
    sim.press("unlink");
    assert!(matches!(sim.effects.first(), Some(Effect::UnlinkContact)));
    assert!(sim.has_key("link-removed"));
    assert_eq!(sim.state.step, step);
    sim.cmd(Command::DeleteMe);
    assert!(!sim.has_key("delete-linked"), "not linked any more");
    sim.cmd(Command::Cancel);
    sim.cmd(Command::LinkAccount(LinkArg::Off));
    assert!(sim.has_key("link-none"));
}

mod fuzz;
