//! Vietnamese text normalisation: one canonical spelling of what a person typed, so that a
//! word list can match it however it was disguised.
//!
//! [`normalize`] undoes, in this order:
//! 1. zero-width characters (removed, so `đ\u{200B}m` is `đm`), compatibility forms
//!    (full-width and mathematical letters), upper case, and look-alike letters from other
//!    scripts (Cyrillic `о`, Greek `α`, Icelandic `ð` for `đ`);
//! 2. digits standing in for letters inside a word (`ch3t` → `chet`);
//! 3. repeated letters (`đẹpppp` → `đẹp`; a doubled `oo` is kept, as in `xoong`, and a
//!    word of one repeated letter keeps two: `ccc` → `cc`);
//! 4. separators inside a word (`đ.m`, `n-g-u`) and words spelled letter by letter (`v c l`);
//! 5. teen-code letters in accented words (`fải` → `phải`, `wá` → `quá`, `jờ` → `giờ`);
//! 6. old and new tone placement (`hoà`/`hòa`, `thuỷ`/`thủy`): the tone goes where the
//!    traditional rule puts it, so both spellings become `hòa`, `thủy`;
//! 7. teen-code words (`ko` → `không`, `dc` → `được`, `j` → `gì`).
//!
//! The result is a list of [`Token`]s, each with its canonical text (NFC), its
//! accent-stripped form (`đ` → `d`) and the byte range of the input it came from, so a match
//! can be shown highlighted in the original. Whether the input itself carried any Vietnamese
//! accent is kept too: a message typed without accents may be matched by accent-stripped
//! forms, a message with accents only by the accented ones (so `cá` never matches `cà`).
//!
//! Normalisation is pure, never panics, and is idempotent: normalising the text of a
//! [`Normalized`] gives the same tokens again.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{
    canonical_combining_class, decompose_compatible, is_combining_mark,
};

/// A normalised text: its tokens in order and whether the original had Vietnamese accents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The words, in order.
    tokens: Vec<Token>,
    /// Whether the original text carried any Vietnamese accent (a tone, a vowel mark or `đ`).
    has_diacritics: bool,
}

/// One normalised word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The canonical spelling: lower case, NFC, tone on the traditional vowel.
    pub text: String,
    /// The same without accents (`đ` written `d`), for text typed without them.
    pub folded: String,
    /// The bytes of the original text this word came from (for highlighting).
    pub span: Range<usize>,
}

impl Normalized {
    /// The words, in order.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Whether the original text carried any Vietnamese accent. When it did not, the person
    /// typed without accents and accent-stripped matching is meaningful.
    pub fn has_diacritics(&self) -> bool {
        self.has_diacritics
    }

    /// The canonical text: the tokens joined by single spaces.
    pub fn text(&self) -> String {
        join(self.tokens.iter().map(|t| t.text.as_str()))
    }

    /// The accent-stripped text: the folded tokens joined by single spaces.
    pub fn folded(&self) -> String {
        join(self.tokens.iter().map(|t| t.folded.as_str()))
    }

    /// Whether there are no words at all.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

fn join<'a>(words: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Strips Vietnamese (and any other) accents and lower-cases: `Đồng Ý` → `dong y`. Keeps
/// everything else as it is.
pub fn fold(s: &str) -> String {
    s.nfkd()
        .flat_map(char::to_lowercase)
        .filter(|c| !is_combining_mark(*c))
        .map(|c| if c == 'đ' || c == 'ð' { 'd' } else { c })
        .collect()
}

/// Normalises a text for matching (see the module documentation for what is undone).
pub fn normalize(input: &str) -> Normalized {
    let pieces = scan(input);
    let has_diacritics = pieces.iter().any(|p| match p {
        Piece::Letter(l) => l.is_vietnamese_accented(),
        _ => false,
    });
    let words = words(pieces);
    let words = join_spelled_out(words);
    let mut tokens = Vec::with_capacity(words.len());
    for mut word in words {
        if teen_letters(&mut word.letters) {
            collapse_repeats(&mut word.letters);
        }
        place_tone(&mut word.letters);
        let text = compose(&word.letters);
        match teen_word(&text) {
            Some(expansion) => {
                for w in expansion.split(' ') {
                    tokens.push(Token {
                        text: w.to_owned(),
                        folded: fold(w),
                        span: word.span.clone(),
                    });
                }
            }
            None => tokens.push(Token {
                folded: word.letters.iter().map(Letter::folded).collect(),
                text,
                span: word.span,
            }),
        }
    }
    Normalized {
        tokens,
        has_diacritics,
    }
}

/// The five Vietnamese tones other than the level one, as combining marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    /// huyền: `à`
    Grave,
    /// sắc: `á`
    Acute,
    /// hỏi: `ả`
    Hook,
    /// ngã: `ã`
    Tilde,
    /// nặng: `ạ`
    Dot,
}

impl Tone {
    fn from_mark(c: char) -> Option<Self> {
        match c {
            '\u{300}' => Some(Tone::Grave),
            '\u{301}' => Some(Tone::Acute),
            '\u{309}' => Some(Tone::Hook),
            '\u{303}' => Some(Tone::Tilde),
            '\u{323}' => Some(Tone::Dot),
            _ => None,
        }
    }

    fn mark(self) -> char {
        match self {
            Tone::Grave => '\u{300}',
            Tone::Acute => '\u{301}',
            Tone::Hook => '\u{309}',
            Tone::Tilde => '\u{303}',
            Tone::Dot => '\u{323}',
        }
    }
}

/// The marks that make a different Vietnamese vowel: `â ê ô`, `ă`, `ơ ư`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    Circumflex,
    Breve,
    Horn,
}

impl Modifier {
    /// The modifier this mark is on this base letter, if it is a Vietnamese vowel.
    fn on(base: char, mark: char) -> Option<Self> {
        match (base, mark) {
            ('a' | 'e' | 'o', '\u{302}') => Some(Modifier::Circumflex),
            ('a', '\u{306}') => Some(Modifier::Breve),
            ('o' | 'u', '\u{31B}') => Some(Modifier::Horn),
            _ => None,
        }
    }

    fn mark(self) -> char {
        match self {
            Modifier::Circumflex => '\u{302}',
            Modifier::Breve => '\u{306}',
            Modifier::Horn => '\u{31B}',
        }
    }
}

/// One letter (or digit) with its marks taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Letter {
    /// The base character, lower case (`đ` is a base of its own).
    base: char,
    /// The vowel mark, if any.
    modifier: Option<Modifier>,
    /// The tone, if any.
    tone: Option<Tone>,
    /// Any other combining marks, in the order they came.
    marks: Vec<char>,
    /// The bytes of the input it came from.
    span: Range<usize>,
}

impl Letter {
    fn new(base: char, span: Range<usize>) -> Self {
        Letter {
            base,
            modifier: None,
            tone: None,
            marks: Vec::new(),
            span,
        }
    }

    fn add_mark(&mut self, mark: char) {
        if self.modifier.is_none()
            && let Some(m) = Modifier::on(self.base, mark)
        {
            self.modifier = Some(m);
        } else if self.tone.is_none()
            && self.base.is_alphabetic()
            && let Some(t) = Tone::from_mark(mark)
        {
            self.tone = Some(t);
        } else {
            self.marks.push(mark);
        }
    }

    /// Sorts the marks into canonical order and reads them again: the first vowel mark a
    /// letter can take becomes its modifier, the first tone its tone. Canonical order makes
    /// this the same whatever order the marks were typed in, and on the composed output.
    fn settle(&mut self) {
        let mut marks = std::mem::take(&mut self.marks);
        marks.extend(self.modifier.take().map(Modifier::mark));
        marks.extend(self.tone.take().map(Tone::mark));
        marks.sort_by_key(|m| canonical_combining_class(*m));
        for mark in marks {
            self.add_mark(mark);
        }
    }

    fn is_vietnamese_accented(&self) -> bool {
        self.base == 'đ'
            || (self.base.is_ascii_alphabetic() && (self.modifier.is_some() || self.tone.is_some()))
    }

    fn is_vowel(&self) -> bool {
        matches!(self.base, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
    }

    /// The same letter for the purpose of "repeated letters": the tone does not count.
    fn same_as(&self, other: &Letter) -> bool {
        self.base == other.base && self.modifier == other.modifier && self.marks == other.marks
    }

    fn folded(&self) -> char {
        if self.base == 'đ' { 'd' } else { self.base }
    }

    fn push_to(&self, out: &mut String) {
        out.push(self.base);
        if let Some(m) = self.modifier {
            out.push(m.mark());
        }
        if let Some(t) = self.tone {
            out.push(t.mark());
        }
        out.extend(self.marks.iter());
    }
}

/// What the scanner sees: a letter, a space, or another separator.
#[derive(Debug, Clone)]
enum Piece {
    Letter(Letter),
    Space,
    Separator,
}

/// Characters that are invisible and only ever used to split a word without showing it.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{AD}' | '\u{34F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Letters of other scripts that look like Latin ones (lower case), mapped to them.
fn look_alike(c: char) -> char {
    match c {
        'а' | 'α' | 'ɑ' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'ð' | 'ɗ' | 'đ' => 'đ',
        'е' | 'ε' => 'e',
        'һ' => 'h',
        'і' | 'ι' | 'ı' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' => 'u',
        'ν' => 'v',
        'ѡ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        other => other,
    }
}

/// Step 1: the input as letters (marks attached), spaces and separators.
fn scan(input: &str) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = Vec::with_capacity(input.len());
    for (at, c) in input.char_indices() {
        if is_invisible(c) {
            continue;
        }
        let span = at..at + c.len_utf8();
        let mut expanded = Vec::new();
        decompose_compatible(c, |d| {
            for l in d.to_lowercase() {
                decompose_compatible(l, |e| expanded.push(look_alike(e)));
            }
        });
        for e in expanded {
            if is_combining_mark(e) {
                if let Some(Piece::Letter(letter)) = pieces.last_mut() {
                    letter.marks.push(e);
                    letter.span.end = span.end;
                }
            } else if e.is_alphanumeric() {
                pieces.push(Piece::Letter(Letter::new(e, span.clone())));
            } else if e.is_whitespace() {
                pieces.push(Piece::Space);
            } else {
                pieces.push(Piece::Separator);
            }
        }
    }
    for piece in &mut pieces {
        if let Piece::Letter(letter) = piece {
            letter.settle();
        }
    }
    pieces
}

/// A word on its way to becoming a token.
#[derive(Debug, Clone)]
struct Word {
    letters: Vec<Letter>,
    span: Range<usize>,
}

impl Word {
    fn new(letters: Vec<Letter>) -> Self {
        let start = letters.first().map_or(0, |l| l.span.start);
        let end = letters.last().map_or(0, |l| l.span.end);
        Word {
            letters,
            span: start..end,
        }
    }

    /// A single letter standing alone (a candidate for a spelled-out word).
    fn is_single_letter(&self) -> bool {
        self.letters.len() == 1 && self.letters[0].base.is_alphabetic()
    }

    fn all_alphabetic(&self) -> bool {
        self.letters.iter().all(|l| l.base.is_alphabetic())
    }

    fn merge(words: Vec<Word>) -> Word {
        let start = words.first().map_or(0, |w| w.span.start);
        let end = words.last().map_or(0, |w| w.span.end);
        let mut letters: Vec<Letter> = words.into_iter().flat_map(|w| w.letters).collect();
        collapse_repeats(&mut letters);
        Word {
            letters,
            span: start..end,
        }
    }
}

/// Steps 2–4 within one run of non-space characters: the fragments between separators get
/// their digits read as letters and their repeats collapsed; a run made only of fragments of
/// one or two letters (`đ.m`, `n.g.u`, `đ.ịt`) is one word.
fn words(pieces: Vec<Piece>) -> Vec<Word> {
    let mut out = Vec::new();
    let mut chunk: Vec<Word> = Vec::new();
    let mut fragment: Vec<Letter> = Vec::new();
    for piece in pieces.into_iter().chain(std::iter::once(Piece::Space)) {
        match piece {
            Piece::Letter(l) => fragment.push(l),
            Piece::Separator | Piece::Space => {
                if !fragment.is_empty() {
                    let mut letters = std::mem::take(&mut fragment);
                    digits_as_letters(&mut letters);
                    collapse_repeats(&mut letters);
                    chunk.push(Word::new(letters));
                }
                if matches!(piece, Piece::Space) && !chunk.is_empty() {
                    let parts = std::mem::take(&mut chunk);
                    if parts.len() > 1
                        && parts
                            .iter()
                            .all(|w| w.all_alphabetic() && w.letters.len() <= 2)
                    {
                        out.push(Word::merge(parts));
                    } else {
                        out.extend(parts);
                    }
                }
            }
        }
    }
    out
}

/// Step 4, across spaces: two or more single letters in a row are one word (`v c l` → `vcl`).
fn join_spelled_out(words: Vec<Word>) -> Vec<Word> {
    let mut out = Vec::with_capacity(words.len());
    let mut run: Vec<Word> = Vec::new();
    for word in words {
        if word.is_single_letter() {
            run.push(word);
            continue;
        }
        flush_run(&mut run, &mut out);
        out.push(word);
    }
    flush_run(&mut run, &mut out);
    out
}

fn flush_run(run: &mut Vec<Word>, out: &mut Vec<Word>) {
    match run.len() {
        0 => {}
        1 => out.append(run),
        _ => out.push(Word::merge(std::mem::take(run))),
    }
}

/// Step 2: digits between letters stand for letters (`ch3t`, `l0n`, `d1t`).
fn digits_as_letters(letters: &mut [Letter]) {
    let mut i = 0;
    while i < letters.len() {
        if !letters[i].base.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < letters.len() && letters[i].base.is_ascii_digit() {
            i += 1;
        }
        let letter_before = start > 0 && letters[start - 1].base.is_alphabetic();
        let letter_after = i < letters.len() && letters[i].base.is_alphabetic();
        if letter_before && letter_after {
            for l in &mut letters[start..i] {
                if let Some(c) = digit_letter(l.base) {
                    // Marks typed on the digit now belong to a letter: read them again.
                    l.base = c;
                    l.settle();
                }
            }
        }
    }
}

fn digit_letter(d: char) -> Option<char> {
    match d {
        '0' => Some('o'),
        '1' => Some('i'),
        '3' => Some('e'),
        '4' => Some('a'),
        '5' => Some('s'),
        '7' => Some('t'),
        _ => None,
    }
}

/// Step 3: a letter typed several times counts once; a tone on any of them is kept. A doubled
/// plain `o` stays (`xoong`, `boong`), a tripled one does not; a word made of one letter only
/// keeps two (`cc`, `ccc` → `cc`).
fn collapse_repeats(letters: &mut Vec<Letter>) {
    let mut out: Vec<Letter> = Vec::with_capacity(letters.len());
    let mut i = 0;
    while i < letters.len() {
        let mut j = i + 1;
        while j < letters.len()
            && letters[j].same_as(&letters[i])
            && letters[i].base.is_alphabetic()
        {
            j += 1;
        }
        let run = j - i;
        let keep_double = run == 2 && letters[i].base == 'o' && letters[i].modifier.is_none();
        if run >= 2 && run == letters.len() {
            // A word that is one letter typed again and again (`cc`, `kkkk`) keeps two: as a
            // single letter it would be another word.
            out.extend(letters[i..i + 2].iter().cloned());
        } else if run == 1 || keep_double {
            out.extend(letters[i..j].iter().cloned());
        } else {
            let mut first = letters[i].clone();
            first.tone = letters[i..j].iter().find_map(|l| l.tone);
            first.span.end = letters[j - 1].span.end;
            out.push(first);
        }
        i = j;
    }
    *letters = out;
}

/// Step 5: in a word that carries Vietnamese accents, a leading `f`, `w` or `j` is teen code
/// for `ph`, `qu`, `gi`.
/// Returns whether it changed anything.
fn teen_letters(letters: &mut Vec<Letter>) -> bool {
    if !letters.iter().any(Letter::is_vietnamese_accented) || letters.len() < 2 {
        return false;
    }
    let (first, second) = match letters[0].base {
        'f' => ('p', 'h'),
        'w' => ('q', 'u'),
        'j' => ('g', 'i'),
        _ => return false,
    };
    if !letters[0].marks.is_empty() {
        return false;
    }
    let span = letters[0].span.clone();
    letters[0].base = first;
    letters.insert(1, Letter::new(second, span));
    true
}

/// Step 6: a word with exactly one tone that is spelled like a Vietnamese syllable gets its
/// tone on the vowel the traditional rule names. Anything else is left as it is.
fn place_tone(letters: &mut [Letter]) {
    let toned: Vec<usize> = (0..letters.len())
        .filter(|&i| letters[i].tone.is_some())
        .collect();
    let [only] = toned[..] else { return };
    if !letters
        .iter()
        .all(|l| l.marks.is_empty() && (l.base.is_ascii_lowercase() || l.base == 'đ'))
    {
        return;
    }
    let Some(first_vowel) = letters.iter().position(Letter::is_vowel) else {
        return;
    };
    let end = letters[first_vowel..]
        .iter()
        .position(|l| !l.is_vowel())
        .map_or(letters.len(), |p| first_vowel + p);
    if letters[end..].iter().any(Letter::is_vowel) {
        return;
    }
    let mut start = first_vowel;
    // In `qu…` the u and in `gi…` the i belong to the consonant (`quý`, `già`).
    if end - start >= 2 && start >= 1 {
        let (prev, cur) = (letters[start - 1].base, letters[start].base);
        let plain = letters[start].modifier.is_none();
        if plain && ((prev == 'q' && cur == 'u') || (prev == 'g' && start == 1 && cur == 'i')) {
            start += 1;
        }
    }
    let nucleus = start..end;
    let target = if let Some(p) = nucleus
        .clone()
        .rev()
        .find(|&i| letters[i].modifier.is_some())
    {
        p
    } else {
        match nucleus.len() {
            1 => nucleus.start,
            2 | 3 if end < letters.len() => nucleus.end - 1,
            3 => nucleus.start + 1,
            2 => nucleus.start,
            _ => return,
        }
    };
    let tone = letters[only].tone.take();
    letters[target].tone = tone;
}

/// The NFC text of a word.
fn compose(letters: &[Letter]) -> String {
    let mut raw = String::with_capacity(letters.len() * 2);
    for l in letters {
        l.push_to(&mut raw);
    }
    raw.nfc().collect()
}

/// Step 7: common teen-code words and abbreviations, spelled out. Every replacement is in
/// canonical form (tested), and no replacement is itself a key.
fn teen_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "k" | "ko" | "kg" | "kh" | "hk" | "hok" | "khg" | "hem" => "không",
        "j" | "ji" => "gì",
        "dc" | "đc" | "dk" | "đk" | "đựoc" => "được",
        "vs" => "với",
        "mk" | "mik" | "mjk" | "mjnh" => "mình",
        "mn" | "mng" => "mọi người",
        "ng" => "người",
        "ntn" => "như thế nào",
        "r" => "rồi",
        "cx" => "cũng",
        "ms" => "mới",
        "bik" | "bjk" => "biết",
        "trc" => "trước",
        "thik" => "thích",
        "iu" => "yêu",
        "z" | "zậy" => "vậy",
        "ck" => "chồng",
        "vk" => "vợ",
        "sđt" | "sdt" => "số điện thoại",
        "bh" => "bao giờ",
        "lm" => "làm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fuzz;
