//! Table tests with real Vietnamese evasions, and property tests (idempotent, never panics).

use proptest::prelude::*;

use super::*;

fn text(s: &str) -> String {
    normalize(s).text()
}

#[track_caller]
fn same(a: &str, b: &str) {
    assert_eq!(text(a), text(b), "{a:?} and {b:?} should normalise alike");
}

#[test]
fn nfc_and_nfd_input_give_the_same_words() {
    let nfc = "Tôi đồng ý với dự thảo";
    let nfd: String = nfc.nfd().collect();
    assert_ne!(nfc, nfd);
    same(nfc, &nfd);
    assert_eq!(text(nfc), "tôi đồng ý với dự thảo");
}

#[test]
fn old_and_new_tone_placement_become_one_form() {
    for (new, old) in [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("hoá", "hóa"),
        ("luỹ", "lũy"),
        ("Hoà bình", "hòa bình"),
        ("toà án", "tòa án"),
    ] {
        assert_eq!(text(new), text(old), "{new} / {old}");
        assert_eq!(text(new), old.to_lowercase());
    }
}

#[test]
fn tone_placement_keeps_what_is_already_right() {
    for word in [
        "người",
        "được",
        "quý",
        "quả",
        "già",
        "giữa",
        "giường",
        "khuyến",
        "ngoài",
        "khuỷu",
        "hoàng",
        "huỳnh",
        "tuổi",
        "điều",
        "xoáy",
        "của",
        "mía",
        "gì",
        "thuở",
        "yêu",
        "quyển",
        "xoắn",
        "nghĩa",
        "trường",
        "việt",
    ] {
        assert_eq!(text(word), word, "{word}");
    }
}

#[test]
fn tone_typed_on_the_wrong_vowel_moves_to_the_right_one() {
    assert_eq!(text("ngòai"), "ngoài");
    assert_eq!(
        text("nguời"),
        "nguời",
        "no horn: not the word người, left alone"
    );
    assert_eq!(text("hóan"), "hoán");
    assert_eq!(text("qúy"), "quý");
    assert_eq!(text("gìa"), "già");
}

#[test]
fn capital_and_small_letters_and_dd_are_one() {
    same("ĐỒNG Ý", "đồng ý");
    same("Đụ", "đụ");
    assert_eq!(normalize("Đm").tokens()[0].folded, "dm");
    // An Icelandic eth looks like Đ and is read as one.
    same("ðm", "đm");
    same("Ðụ", "đụ");
}

#[test]
fn accents_are_kept_apart_from_the_folded_form() {
    let n = normalize("Cá kho");
    assert!(n.has_diacritics());
    assert_eq!(n.text(), "cá kho");
    assert_eq!(n.folded(), "ca kho");
    let plain = normalize("ca kho");
    assert!(!plain.has_diacritics());
    assert_eq!(plain.folded(), "ca kho");
    assert!(!normalize("ok 123 !!!").has_diacritics());
    assert!(normalize("đi").has_diacritics(), "đ alone is an accent");
}

#[test]
fn repeated_letters_count_once() {
    same("đẹpppp", "đẹp");
    same("nguuuuu", "ngu");
    same("ngu quáaaaa", "ngu quá");
    same("điiiii", "đi");
    same("ơiiii", "ơi");
    assert_eq!(
        text("xoong nồi"),
        "xoong nồi",
        "a doubled o is a real spelling"
    );
    assert_eq!(text("1000 đồng"), "1000 đồng", "digits are never collapsed");
    assert_eq!(text("nhééééé"), "nhé");
    assert_eq!(
        text("cc"),
        "cc",
        "an abbreviation of one letter twice is not one letter"
    );
    assert_eq!(text("cccc"), "cc");
    assert_eq!(text("c.c"), "cc");
}

#[test]
fn separators_inside_a_word_are_removed() {
    same("đ.m", "đm");
    same("Đ.M", "đm");
    same("đ-m", "đm");
    same("d_m", "dm");
    same("n.g.u", "ngu");
    same("c*c", "cc");
    same("đ.ịt", "địt");
    same("l.ồ.n", "lồn");
    same("v c l", "vcl");
    same("V C L", "vcl");
    same("đ m", "đm");
    // A full stop between two real words keeps them apart.
    assert_eq!(text("đồng ý.Nhưng"), "đồng ý nhưng");
    assert_eq!(text("Điều 5.Khoản 2"), "điều 5 khoản 2");
}

#[test]
fn zero_width_and_look_alike_characters_are_undone() {
    same("đ\u{200B}m", "đm");
    same("n\u{200D}g\u{FEFF}u", "ngu");
    same("ngu\u{AD}", "ngu");
    // Cyrillic о and а, Greek ο.
    same("lоn", "lon");
    same("ngu vаi", "ngu vai");
    same("cοn chó", "con chó");
    // Full-width letters.
    same("ｎｇｕ", "ngu");
}

#[test]
fn digits_inside_words_and_teen_code_are_read() {
    same("ch3t", "chet");
    same("l0n", "lon");
    same("ng4o", "ngao");
    assert_eq!(text("0912345678"), "0912345678", "a number stays a number");
    assert_eq!(text("10k"), "10k");
    same("ko đồng ý", "không đồng ý");
    same("k đồng ý", "không đồng ý");
    same("hk bít j", "không bít gì");
    same("dc ko", "được không");
    same("fải làm", "phải làm");
    same("wá đẹp", "quá đẹp");
    same("jờ này", "giờ này");
    same("ntn", "như thế nào");
}

#[test]
fn words_keep_their_boundaries() {
    let n = normalize("Bán cá, ma túy và lon bia ở chợ");
    let words: Vec<&str> = n.tokens().iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        words,
        ["bán", "cá", "ma", "túy", "và", "lon", "bia", "ở", "chợ"]
    );
    let n = normalize("long lanh");
    assert_eq!(n.tokens()[0].text, "long", "lon is not found inside long");
}

#[test]
fn spans_point_into_the_original_text() {
    let input = "Tôi nói: Đ.M thật!";
    let n = normalize(input);
    let dm = n
        .tokens()
        .iter()
        .find(|t| t.text == "đm")
        .expect("đm found");
    assert_eq!(&input[dm.span.clone()], "Đ.M");
    let nfd: String = "Hoà".nfd().collect();
    let n = normalize(&nfd);
    assert_eq!(&nfd[n.tokens()[0].span.clone()], nfd);
}

#[test]
fn fold_strips_every_accent() {
    assert_eq!(fold("Đồng Ý với Dự Thảo"), "dong y voi du thao");
    assert_eq!(fold("người được"), "nguoi duoc");
}

#[test]
fn teen_code_replacements_are_canonical() {
    for key in [
        "k", "j", "dc", "vs", "mk", "mn", "ng", "ntn", "r", "cx", "ms", "bik", "trc", "thik", "iu",
        "z", "ck", "vk", "sdt", "bh", "lm",
    ] {
        let expansion = teen_word(key).expect("a teen key");
        assert_eq!(text(expansion), expansion, "{key} → {expansion}");
        assert!(
            expansion.split(' ').all(|w| teen_word(w).is_none()),
            "{expansion} must not be a key itself"
        );
    }
}

#[test]
fn empty_and_symbol_only_input_has_no_words() {
    assert!(normalize("").is_empty());
    assert!(normalize("  ... !!! 😀 ").is_empty());
    assert!(normalize("\u{301}\u{301}").is_empty());
}

/// Strings made of Vietnamese letters, look-alikes, separators, digits and invisible marks:
/// what the normaliser really sees.
fn vietnamese_like() -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĐÊƠfwjz0134579 .-_*\u{200B}\u{301}\u{300}\u{309}\u{303}\u{323}\u{302}\u{31B}\u{306}áàảãạấầẩẫậắằẳẵặéèẻẽẹíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵоаð"
        .chars()
        .collect();
    proptest::collection::vec(proptest::sample::select(alphabet), 0..40)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalising_twice_changes_nothing_on_vietnamese_like_text(s in vietnamese_like()) {
        let once = normalize(&s);
        let twice = normalize(&once.text());
        prop_assert_eq!(twice.text(), once.text());
        prop_assert_eq!(twice.folded(), once.folded());
    }

    #[test]
    fn normalising_twice_changes_nothing_on_any_text(s in any::<String>()) {
        let once = normalize(&s);
        let twice = normalize(&once.text());
        prop_assert_eq!(twice.text(), once.text());
        prop_assert_eq!(twice.folded(), once.folded());
    }

    #[test]
    fn spans_are_always_inside_the_input_on_char_boundaries(s in any::<String>()) {
        for t in normalize(&s).tokens() {
            prop_assert!(t.span.start <= t.span.end && t.span.end <= s.len());
            prop_assert!(s.is_char_boundary(t.span.start) && s.is_char_boundary(t.span.end));
        }
    }

    #[test]
    fn output_is_nfc_and_lower_case(s in vietnamese_like()) {
        let out = normalize(&s).text();
        prop_assert!(unicode_normalization::is_nfc(&out));
        prop_assert_eq!(out.to_lowercase(), out.clone());
    }
}
