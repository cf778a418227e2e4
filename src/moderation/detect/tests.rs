//! Detection tests: what must be flagged, with what, and ordinary Vietnamese that must not be.

use super::*;

fn detector() -> Detector {
    Detector::new(
        Lexicon::built_in().expect("built-in lists parse"),
        DEFAULT_THRESHOLD,
    )
}

#[track_caller]
fn flagged_as(text: &str, category: Category) -> Assessment {
    let a = detector().assess(text);
    assert!(a.flagged, "{text:?} should be flagged: {a:?}");
    assert!(
        a.categories.contains(&category),
        "{text:?} should be {category:?}: {a:?}"
    );
    a
}

#[track_caller]
fn not_flagged(text: &str) {
    let a = detector().assess(text);
    assert!(!a.flagged, "{text:?} must not be flagged: {a:?}");
}

#[test]
fn profanity_is_flagged_however_it_is_disguised() {
    for text in [
        "đm thằng kia",
        "Đ.M cái bọn này",
        "đ m",
        "ĐM",
        "vcl thật",
        "v c l",
        "đ\u{200B}m",
        "đụ má",
        "du ma may",
        "xạo lồnnnn",
        "đéo hiểu kiểu gì",
        "l.ồ.n",
    ] {
        flagged_as(text, Category::Insult);
    }
}

#[test]
fn insults_at_a_person_are_flagged() {
    flagged_as("Ông chủ tịch ngu như bò", Category::Insult);
    flagged_as("mày im mồm đi", Category::Insult);
    flagged_as("đồ súc vật", Category::Insult);
    flagged_as("thằng này mất dạy", Category::Insult);
}

#[test]
fn hate_against_a_group_is_its_own_category() {
    flagged_as("bọn bắc kỳ", Category::Hate);
    flagged_as("lũ ba que", Category::Hate);
    flagged_as("đồ mọi rợ", Category::Hate);
}

#[test]
fn threats_and_incitement_are_flagged() {
    flagged_as("tao biết nhà mày ở đâu", Category::Threat);
    flagged_as("đốt nhà nó đi", Category::Threat);
    flagged_as("cả xóm kéo nhau đi đánh nó", Category::Threat);
}

#[test]
fn scams_and_suspicious_links_are_flagged() {
    flagged_as("Việc nhẹ lương cao, inbox ngay", Category::Scam);
    flagged_as("Chúc mừng bạn trúng thưởng, bấm vào link", Category::Scam);
    flagged_as("xem tại bit.ly/abc123", Category::Scam);
    flagged_as("nhận thưởng tại https://qua-tang.xyz/nhan", Category::Scam);
    // A plain link alone only counts 1; a government site not at all.
    not_flagged("Dự thảo đăng tại https://example.com/du-thao");
    let a = detector().assess("Xem toàn văn tại https://bacgiang.gov.vn/du-thao.");
    assert_eq!(a.score, 0, "{a:?}");
}

#[test]
fn personal_data_of_others_is_flagged() {
    for text in [
        "số của nó đây 0912345678",
        "gọi 0912.345.678 mà chửi",
        "sđt: 091 234 5678",
        "+84912345678",
        "cccd của bà ta 001085012345",
    ] {
        flagged_as(text, Category::PersonalData);
    }
    // Money, dates, article numbers and ordinary counts are not phone numbers.
    not_flagged("Kinh phí 500.000.000 đồng, chia 12 tháng");
    not_flagged("Theo Điều 12 khoản 3, ngày 15/08/2025");
    not_flagged("Mã hồ sơ ABC0912345678XYZ");
}

#[test]
fn flooding_the_same_words_is_spam() {
    flagged_as("mua đi mua đi mua đi mua đi mua đi mua đi", Category::Spam);
    not_flagged("tôi đồng ý");
}

#[test]
fn watch_list_terms_always_queue_even_with_no_score() {
    let lexicon = Lexicon::built_in()
        .expect("lists")
        .with_watch_terms(["dự án khu đô thị Tây Hồ"]);
    let d = Detector::new(lexicon, DEFAULT_THRESHOLD);
    let a = d.assess("Tôi hỏi về Dự án khu đô thị Tây Hồ ạ");
    assert!(a.flagged);
    assert_eq!(a.score, 0);
    assert_eq!(a.categories, [Category::Watch]);
    assert!(!d.assess("Tôi hỏi về dự án khác").flagged);
}

#[test]
fn criticism_of_a_draft_is_an_opinion_not_a_violation() {
    for text in [
        "Dự thảo này chưa hợp lý.",
        "Tôi không đồng ý với mục 3 của dự thảo.",
        "tôi ko đồng ý, dự thảo viết quá chung chung",
        "Báo cáo chưa nói gì về ô nhiễm ở thôn tôi, đề nghị bổ sung.",
        "Đề nghị làm rõ trách nhiệm của cán bộ để xảy ra tham nhũng, lãng phí.",
        "Chính quyền xã làm việc chậm, dân phải đi lại nhiều lần mới xong thủ tục.",
        "Phản đối việc thu hồi đất mà không đền bù thỏa đáng.",
        "Lãnh đạo phường cần lắng nghe dân hơn, đừng chỉ họp cho có.",
        "Mục tiêu tăng trưởng 10% là phi thực tế, tôi e rằng không đạt được.",
        "Cán bộ, công chức, viên chức (CB, CC, VC) cần được đào tạo lại.",
        "Kiến nghị xử lý nghiêm các vi phạm trật tự xây dựng, lấn chiếm vỉa hè.",
        "Việc quản lý chó thả rông còn lỏng lẻo, con chó nhà bên cắn trẻ con.",
        "Mùa lũ năm nào thôn tôi cũng ngập, đề nghị nạo vét kênh.",
        "Trời sáng sủa thì đi họp đông hơn.",
        "Nhà tôi ở ngõ 5, số nhà 12, góp ý về đường điện.",
        "Tôi 65 tuổi, nuôi 2 con bò, mong có chính sách hỗ trợ nông dân.",
        "Phần đánh giá kết quả nhiệm kỳ còn chung chung, thiếu số liệu.",
        "Thằng bé nhà tôi học lớp 5, trường xa quá.",
        "toi khong dong y voi du thao nay vi chua sat thuc te",
        "nha toi lon, can ho tro sua duong",
        "Giá điện tăng mà lương không tăng, người dân rất khó khăn.",
    ] {
        not_flagged(text);
    }
}

#[test]
fn common_words_do_not_match_inside_or_without_accents() {
    // "cá", "ma", "lon" in ordinary sentences.
    not_flagged("Chợ cá mở cửa từ 5 giờ sáng");
    not_flagged("Phòng chống ma túy ở khu dân cư");
    not_flagged("mua 2 lon bia và một lon nước ngọt");
    not_flagged("long lanh, cho tôi hỏi");
    not_flagged("Đề nghị sửa chữa điện chiếu sáng");
    not_flagged("Tôi buồn ngủ lắm rồi");
    not_flagged("Tạo điều kiện cho người dân");
}

#[test]
fn matches_point_at_the_words_and_are_highlighted() {
    let text = "Ông ấy nói: Đ.M cái thằng này";
    let a = flagged_as(text, Category::Insult);
    let dm = a
        .matches
        .iter()
        .find(|m| m.term == "đm")
        .expect("đm matched");
    assert_eq!(&text[dm.span.clone()], "Đ.M");
    assert_eq!(a.highlight(text), "Ông ấy nói: [[Đ.M]] cái [[thằng này]]");
}

#[test]
fn the_longest_phrase_wins_and_each_phrase_counts_once() {
    let a = detector().assess("con mẹ mày");
    assert_eq!(a.matches.len(), 1, "{a:?}");
    assert_eq!(a.matches[0].term, "con mẹ mày");
    let once = detector().assess("đm").score;
    assert_eq!(detector().assess("đm đm đm").score, once);
}

#[test]
fn a_broken_list_says_where() {
    let err = super::super::lexicon::parse(Category::Insult, "insult.txt", "2 ngu\nngu\n")
        .expect_err("a line without a weight");
    assert_eq!(
        err.to_string(),
        "insult.txt:2: expected `<weight> <phrase>`"
    );
    let err = super::super::lexicon::parse(Category::Insult, "insult.txt", "7 ngu\n")
        .expect_err("weight out of range");
    assert!(err.to_string().contains("1, 2 or 3"), "{err}");
}

#[test]
fn a_folder_of_lists_is_read_again_when_a_file_changes() {
    use super::super::lexicon::ReloadingLexicon;
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("insult.txt"), "2 khỉ gió\n").expect("write");
    let mut lists = ReloadingLexicon::open(dir.path()).expect("lists");
    let flagged = |l: &Lexicon, text: &str| {
        Detector::new(l.clone(), DEFAULT_THRESHOLD)
            .assess(text)
            .flagged
    };
    let (l, err) = lists.current();
    assert!(err.is_none());
    assert!(flagged(l, "đồ khỉ gió"));
    assert!(!flagged(l, "đồ khỉ đột"));

    // An edit (with a later modification time) is picked up without a restart.
    let path = dir.path().join("insult.txt");
    let edit = |text: &str, seconds_later: u64| {
        std::fs::write(&path, text).expect("write");
        let at = std::time::SystemTime::now() + std::time::Duration::from_secs(seconds_later);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(at))
            .expect("touch");
    };
    edit("2 khỉ đột\n", 5);
    let (l, err) = lists.current();
    assert!(err.is_none());
    assert!(flagged(l, "đồ khỉ đột"));
    assert!(!flagged(l, "đồ khỉ gió"));

    // A broken edit keeps the last good lists and says where the problem is.
    edit("khỉ đột\n", 10);
    let (l, err) = lists.current();
    assert!(flagged(l, "đồ khỉ đột"), "the last good lists stay in use");
    assert!(
        err.expect("an error")
            .to_string()
            .starts_with("insult.txt:1:")
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

    /// Any text at all: no panic, every span inside the text on character boundaries, and
    /// highlighting keeps every character of the text.
    #[test]
    fn assessing_any_text_never_panics_and_spans_are_valid(s in proptest::prelude::any::<String>()) {
        let d = detector();
        let a = d.assess(&s);
        for m in &a.matches {
            proptest::prop_assert!(m.span.start <= m.span.end && m.span.end <= s.len());
            proptest::prop_assert!(s.is_char_boundary(m.span.start) && s.is_char_boundary(m.span.end));
        }
        let marked = a.highlight(&s);
        proptest::prop_assert_eq!(marked.replace("[[", "").replace("]]", ""), s.replace("[[", "").replace("]]", ""));
    }

    /// Abuse hidden in ordinary text is still found, wherever it is put.
    #[test]
    fn a_swear_word_is_found_wherever_it_stands(before in "[a-zàáâãèéêìíòóôõùúăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ ]{0,30}", after in "[a-zàáđơư ]{0,30}") {
        let text = format!("{before} đm {after}");
        proptest::prop_assert!(detector().assess(&text).flagged, "{}", text);
    }
}
