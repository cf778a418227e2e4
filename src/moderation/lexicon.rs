//! Word lists: the data files in `data/moderation/` (one per category), parsed into phrases
//! normalised exactly like messages, and indexed by their first word.
//!
//! The lists built into the binary are the ones in the repository at build time;
//! [`Lexicon::load_dir`] reads a folder at run time so administrators can edit the lists
//! without a rebuild.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::text::normalize;

/// What kind of abuse a phrase (or another signal) is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Insults and profanity.
    Insult,
    /// Hate against a group (region, ethnicity, religion, gender, sexuality, disability).
    Hate,
    /// Threats or incitement to violence.
    Threat,
    /// Flooding, repetition and advertising.
    Spam,
    /// Scams, gambling, loan sharks and suspicious links.
    Scam,
    /// Someone's phone number, identity number or address.
    PersonalData,
    /// A term on the officials' watch list: only queued for review.
    Watch,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 7] = [
        Category::Insult,
        Category::Hate,
        Category::Threat,
        Category::Spam,
        Category::Scam,
        Category::PersonalData,
        Category::Watch,
    ];

    /// The code used in files, the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Insult => "insult",
            Category::Hate => "hate",
            Category::Threat => "threat",
            Category::Spam => "spam",
            Category::Scam => "scam",
            Category::PersonalData => "personal_data",
            Category::Watch => "watch",
        }
    }

    /// Parses a code.
    pub fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The word-list file of this category, if it has one (the watch list lives in the
    /// database, maintained by officials).
    pub fn file_name(self) -> Option<&'static str> {
        match self {
            Category::Insult => Some("insult.txt"),
            Category::Hate => Some("hate.txt"),
            Category::Threat => Some("threat.txt"),
            Category::Spam => Some("spam.txt"),
            Category::Scam => Some("scam.txt"),
            Category::PersonalData => Some("personal.txt"),
            Category::Watch => None,
        }
    }

    /// The Vietnamese name shown to moderators.
    pub fn label_vi(self) -> &'static str {
        match self {
            Category::Insult => "lăng mạ, tục tĩu",
            Category::Hate => "kỳ thị nhóm người",
            Category::Threat => "đe dọa, kích động bạo lực",
            Category::Spam => "spam, quảng cáo",
            Category::Scam => "lừa đảo, đường link đáng ngờ",
            Category::PersonalData => "lộ thông tin cá nhân",
            Category::Watch => "danh sách theo dõi",
        }
    }
}

/// The lists compiled into the binary: (category, file name, contents).
const BUILT_IN: [(Category, &str, &str); 6] = [
    (
        Category::Insult,
        "insult.txt",
        include_str!("../../data/moderation/insult.txt"),
    ),
    (
        Category::Hate,
        "hate.txt",
        include_str!("../../data/moderation/hate.txt"),
    ),
    (
        Category::Threat,
        "threat.txt",
        include_str!("../../data/moderation/threat.txt"),
    ),
    (
        Category::Spam,
        "spam.txt",
        include_str!("../../data/moderation/spam.txt"),
    ),
    (
        Category::Scam,
        "scam.txt",
        include_str!("../../data/moderation/scam.txt"),
    ),
    (
        Category::PersonalData,
        "personal.txt",
        include_str!("../../data/moderation/personal.txt"),
    ),
];

/// The file of ordinary phrases that contain a listed word.
const ALLOW_FILE: &str = "allow.txt";

/// The built-in `allow.txt`.
const BUILT_IN_ALLOW: &str = include_str!("../../data/moderation/allow.txt");

/// A word list that cannot be used, with where.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `<weight> <phrase>`.
    #[error("{file}:{line}: {message}")]
    Line {
        /// The file name.
        file: String,
        /// The line number (from 1).
        line: usize,
        /// What is wrong, in English.
        message: String,
    },
}

/// One phrase of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its category; `None` for an ordinary phrase of `allow.txt` that contains a listed word
    /// (`sáng sủa` contains `sủa`): where it matches, the words inside it do not count.
    pub category: Option<Category>,
    /// How much it counts (1–3; 0 for watch-list terms, which only queue).
    pub weight: u8,
    /// The phrase as written in the list.
    pub phrase: String,
    /// Its normalised words.
    tokens: Vec<String>,
    /// Its accent-stripped words.
    folded: Vec<String>,
    /// Whether only a message typed with accents may match it (`=` in the file): its
    /// stripped form, or the phrase itself typed without accents, is an ordinary word.
    accents_required: bool,
}

impl Entry {
    /// Builds an entry; `None` when the phrase has no words.
    pub fn new(category: Option<Category>, weight: u8, phrase: &str) -> Option<Self> {
        let (accents_required, phrase) = match phrase.strip_prefix('=') {
            Some(rest) => (true, rest.trim()),
            None => (false, phrase.trim()),
        };
        let n = normalize(phrase);
        if n.is_empty() {
            return None;
        }
        Some(Entry {
            category,
            weight,
            phrase: phrase.to_owned(),
            tokens: n.tokens().iter().map(|t| t.text.clone()).collect(),
            folded: n.tokens().iter().map(|t| t.folded.clone()).collect(),
            accents_required,
        })
    }

    /// Its normalised words.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Its accent-stripped words (matched only in messages typed without accents).
    pub fn folded(&self) -> &[String] {
        &self.folded
    }

    /// Whether it may match a message typed without accents (by its stripped form).
    pub fn matches_folded(&self) -> bool {
        !self.accents_required
    }
}

/// Every phrase of every list, indexed by first word.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// The phrases.
    entries: Vec<Entry>,
    /// Entry indices by their first normalised word.
    by_first: HashMap<String, Vec<usize>>,
    /// Entry indices (accent-stripped matching allowed) by their first stripped word.
    by_first_folded: HashMap<String, Vec<usize>>,
}

impl Lexicon {
    /// The lists compiled into this binary.
    pub fn built_in() -> Result<Self, LexiconError> {
        let mut entries = Vec::new();
        for (category, file, text) in BUILT_IN {
            entries.extend(parse(category, file, text)?);
        }
        entries.extend(parse_allow(ALLOW_FILE, BUILT_IN_ALLOW)?);
        Ok(Lexicon::from_entries(entries))
    }

    /// Reads the lists from a folder (`insult.txt`, `hate.txt`, …); a missing file is an
    /// empty list.
    pub fn load_dir(dir: &Path) -> Result<Self, LexiconError> {
        let mut entries = Vec::new();
        for category in Category::ALL {
            let Some(file) = category.file_name() else {
                continue;
            };
            let path = dir.join(file);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(LexiconError::Read { path, source }),
            };
            entries.extend(parse(category, file, &text)?);
        }
        let path = dir.join(ALLOW_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => entries.extend(parse_allow(ALLOW_FILE, &text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(LexiconError::Read { path, source }),
        }
        Ok(Lexicon::from_entries(entries))
    }

    /// Indexes a list of entries.
    pub fn from_entries(entries: Vec<Entry>) -> Self {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_first_folded: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if let Some(first) = e.tokens.first() {
                by_first.entry(first.clone()).or_default().push(i);
            }
            if e.matches_folded()
                && let Some(first) = e.folded.first()
            {
                by_first_folded.entry(first.clone()).or_default().push(i);
            }
        }
        Lexicon {
            entries,
            by_first,
            by_first_folded,
        }
    }

    /// This lexicon with the officials' watch-list terms added (weight 0: they only queue).
    pub fn with_watch_terms<'a>(&self, terms: impl IntoIterator<Item = &'a str>) -> Self {
        let mut entries = self.entries.clone();
        entries.extend(
            terms
                .into_iter()
                .filter_map(|t| Entry::new(Some(Category::Watch), 0, t)),
        );
        Lexicon::from_entries(entries)
    }

    /// Every phrase.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entries whose first word is this normalised word.
    pub(super) fn starting_with(&self, word: &str) -> &[usize] {
        self.by_first.get(word).map_or(&[], Vec::as_slice)
    }

    /// The entries (stripped matching allowed) whose first stripped word is this.
    pub(super) fn starting_with_folded(&self, word: &str) -> &[usize] {
        self.by_first_folded.get(word).map_or(&[], Vec::as_slice)
    }

    /// One entry by index.
    pub(super) fn entry(&self, i: usize) -> &Entry {
        &self.entries[i]
    }
}

/// Parses one list file: `<weight 1–3> <phrase>` per line, `#` comments, blank lines.
pub fn parse(category: Category, file: &str, text: &str) -> Result<Vec<Entry>, LexiconError> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let err = |message: &str| LexiconError::Line {
            file: file.to_owned(),
            line: n + 1,
            message: message.to_owned(),
        };
        let (weight, phrase) = line
            .split_once(char::is_whitespace)
            .ok_or_else(|| err("expected `<weight> <phrase>`"))?;
        let weight: u8 = weight
            .parse()
            .ok()
            .filter(|w| (1..=3).contains(w))
            .ok_or_else(|| err("the weight must be 1, 2 or 3"))?;
        let entry = Entry::new(Some(category), weight, phrase)
            .ok_or_else(|| err("the phrase has no words after normalisation"))?;
        out.push(entry);
    }
    Ok(out)
}

/// Parses `allow.txt`: one ordinary phrase a line, `#` comments, blank lines.
pub fn parse_allow(file: &str, text: &str) -> Result<Vec<Entry>, LexiconError> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(Entry::new(None, 0, line).ok_or_else(|| LexiconError::Line {
            file: file.to_owned(),
            line: n + 1,
            message: "the phrase has no words after normalisation".to_owned(),
        })?);
    }
    Ok(out)
}

/// The lists of a folder, read again whenever one of its files changes, so administrators
/// can edit them while gopy runs. A broken edit keeps the last good lists (and says why).
#[derive(Debug)]
pub struct ReloadingLexicon {
    /// The folder.
    dir: PathBuf,
    /// The newest modification time seen among its files when last read.
    stamp: Option<std::time::SystemTime>,
    /// The lists last read successfully.
    current: Lexicon,
}

impl ReloadingLexicon {
    /// Reads the folder once; fails if it cannot be used now.
    pub fn open(dir: &Path) -> Result<Self, LexiconError> {
        let current = Lexicon::load_dir(dir)?;
        Ok(ReloadingLexicon {
            dir: dir.to_owned(),
            stamp: newest_change(dir),
            current,
        })
    }

    /// The lists, read again first if a file changed since. On a broken edit the previous
    /// lists stay in use and the error is returned beside them.
    pub fn current(&mut self) -> (&Lexicon, Option<LexiconError>) {
        let stamp = newest_change(&self.dir);
        if stamp == self.stamp {
            return (&self.current, None);
        }
        match Lexicon::load_dir(&self.dir) {
            Ok(lexicon) => {
                self.current = lexicon;
                self.stamp = stamp;
                (&self.current, None)
            }
            Err(e) => (&self.current, Some(e)),
        }
    }
}

/// The newest modification time among the folder's list files.
fn newest_change(dir: &Path) -> Option<std::time::SystemTime> {
    Category::ALL
        .iter()
        .filter_map(|c| c.file_name())
        .chain(std::iter::once(ALLOW_FILE))
        .filter_map(|f| {
            std::fs::metadata(dir.join(f))
                .and_then(|m| m.modified())
                .ok()
        })
        .max()
}
