//! Files residents give as (part of) an opinion — voice notes, audio, photos, documents: what
//! is accepted (type and size, decided purely by [`accept`]) and the local directory they are
//! kept in ([`FileStore`]: content-addressed, written atomically, swept of files no opinion
//! names any more).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Telegram lets a bot download files up to 20 MB; gopy keeps to that by default.
pub const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Where files are kept and how large they may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    /// `GOPY_MEDIA_DIR`; by default a `media` folder beside the SQLite database, or in the
    /// working directory with Postgres.
    pub dir: PathBuf,
    /// `GOPY_MEDIA_MAX_BYTES` (default 20 MB).
    pub max_bytes: u64,
}

impl MediaSettings {
    /// The settings from the environment, for the store at `database_url`.
    pub fn for_database(database_url: &str) -> Self {
        let dir = std::env::var_os("GOPY_MEDIA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| beside(database_url));
        let max_bytes = std::env::var("GOPY_MEDIA_MAX_BYTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MAX_BYTES);
        Self { dir, max_bytes }
    }
}

/// `media` beside a SQLite database file, else `media` in the working directory.
fn beside(database_url: &str) -> PathBuf {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p));
    match path.map(Path::new).and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("media"),
        _ => PathBuf::from("media"),
    }
}

/// What kind of file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A voice note.
    Voice,
    /// An audio file.
    Audio,
    /// A photo.
    Photo,
    /// A document (PDF or picture sent as a file).
    Document,
}

impl FileKind {
    /// Name used in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Voice => "voice",
            FileKind::Audio => "audio",
            FileKind::Photo => "photo",
            FileKind::Document => "document",
        }
    }
}

/// The opinion text of a file given without words (a voice note, a photo without caption),
/// as reports show it until an official transcribes it (Fluent, `locales/*/synthesis.ftl`).
pub fn placeholder(kind: FileKind) -> String {
    let key = match kind {
        FileKind::Voice | FileKind::Audio => "syn-file-voice-untranscribed",
        FileKind::Photo => "syn-file-photo",
        FileKind::Document => "syn-file-document",
    };
    crate::synthesis::report::label(crate::domain::Locale::Vi, key)
}

/// A transcription as the opinion's text, marked as such.
pub fn transcribed(text: &str) -> String {
    crate::synthesis::report::label_msg(
        crate::domain::Locale::Vi,
        &crate::dialog::Msg::new("syn-file-transcribed").text("text", text.to_owned()),
    )
}

/// Why a file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than the limit.
    TooLarge,
    /// A type gopy does not keep.
    Type,
}

/// The types kept, by kind.
const ACCEPTED: &[(FileKind, &[&str])] = &[
    (FileKind::Voice, &["audio/ogg", "audio/mpeg", "audio/mp4"]),
    (
        FileKind::Audio,
        &[
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
            "audio/x-m4a",
            "audio/aac",
            "audio/wav",
        ],
    ),
    (FileKind::Photo, &["image/jpeg"]),
    (
        FileKind::Document,
        &["application/pdf", "image/jpeg", "image/png"],
    ),
];

/// Whether a file of this kind, type and size (when known) is kept.
pub fn accept(kind: FileKind, mime: &str, size: Option<u64>, max: u64) -> Result<(), Refusal> {
    if size.is_some_and(|s| s > max) {
        return Err(Refusal::TooLarge);
    }
    let ok = ACCEPTED
        .iter()
        .any(|(k, types)| *k == kind && types.contains(&mime));
    if ok { Ok(()) } else { Err(Refusal::Type) }
}

/// The file extension for a type.
pub fn extension(mime: &str) -> &'static str {
    match mime {
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/x-m4a" => "m4a",
        "audio/aac" => "aac",
        "audio/wav" => "wav",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// Files kept in a local directory under their SHA-256 (the same file twice is kept once).
#[derive(Debug, Clone)]
pub struct FileStore {
    /// The directory.
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir` (created when the first file is saved).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Saves the bytes and returns their key (`<sha256>.<ext>`). Written to a temporary file
    /// and renamed, so a key never names half a file.
    pub async fn save(&self, bytes: &[u8], ext: &str) -> std::io::Result<String> {
        let key = format!("{}.{ext}", hex::encode(Sha256::digest(bytes)));
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.dir.join(&key);
        if tokio::fs::try_exists(&path).await? {
            return Ok(key);
        }
        let tmp = self
            .dir
            .join(format!(".{key}.{}.tmp", rand::random::<u32>()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(key)
    }

    /// The bytes kept under a key (`None` when there is no such file, or the key is not one
    /// this store makes).
    pub async fn read(&self, key: &str) -> std::io::Result<Option<Vec<u8>>> {
        if !is_key(key) {
            return Ok(None);
        }
        match tokio::fs::read(self.dir.join(key)).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes every kept file whose key is not in `keep` and that is older than `min_age`;
    /// returns how many.
    pub async fn sweep(
        &self,
        keep: &HashSet<String>,
        min_age: std::time::Duration,
    ) -> std::io::Result<usize> {
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = match entry.metadata().await {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let old_enough = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_none_or(|age| age >= min_age);
            if is_key(&name) && !keep.contains(&name) && old_enough {
                // Replicas sharing one media folder sweep it side by side: a file another
                // one removed first is not an error.
                match tokio::fs::remove_file(entry.path()).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }
}

/// Whether a name is a key this store makes (64 hex digits, a dot, a short extension): never
/// a path.
fn is_key(name: &str) -> bool {
    let Some((hash, ext)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 64
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && (1..=4).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_sizes_are_checked() {
        let max = 1000;
        assert_eq!(accept(FileKind::Voice, "audio/ogg", Some(999), max), Ok(()));
        assert_eq!(accept(FileKind::Photo, "image/jpeg", None, max), Ok(()));
        assert_eq!(
            accept(FileKind::Voice, "audio/ogg", Some(1001), max),
            Err(Refusal::TooLarge)
        );
        assert_eq!(
            accept(FileKind::Document, "application/zip", Some(10), max),
            Err(Refusal::Type)
        );
        assert_eq!(extension("audio/ogg"), "ogg");
    }

    #[test]
    fn the_media_folder_is_beside_a_sqlite_database() {
        assert_eq!(
            beside("sqlite:///var/lib/gopy/gopy.db?mode=rwc"),
            PathBuf::from("/var/lib/gopy/media")
        );
        assert_eq!(beside("sqlite://gopy.db"), PathBuf::from("media"));
        assert_eq!(beside("postgres://db/gopy"), PathBuf::from("media"));
    }

    #[test]
    fn fuzz_media_keys_never_name_a_path_outside_the_folder() {
        use proptest::prelude::*;
        let names = prop_oneof![
            crate::fuzzing::hostile_string(),
            "[0-9a-f]{60,66}[./\\\\]{1,3}[a-z0-9./\\\\]{0,6}",
            "(\\.\\./|/|[A-Z]:\\\\)?[0-9a-f]{64}\\.[a-z]{1,4}",
        ];
        crate::fuzzing::check("media_key", names, |name| {
            if is_key(&name) {
                let parts: Vec<_> = std::path::Path::new(&name).components().collect();
                prop_assert!(
                    matches!(parts.as_slice(), [std::path::Component::Normal(_)]),
                    "{name:?} is a key but not one plain file name"
                );
                prop_assert!(!name.contains(['/', '\\']) && !name.starts_with('.'));
            }
            Ok(())
        });
    }

    #[tokio::test]
    async fn files_are_saved_once_read_back_and_swept_when_no_longer_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FileStore::new(dir.path().join("media"));
        let a = store.save(b"voice", "ogg").await.expect("saved");
        let again = store.save(b"voice", "ogg").await.expect("saved");
        assert_eq!(a, again);
        let b = store.save(b"photo", "jpg").await.expect("saved");
        assert_eq!(store.read(&a).await.expect("read"), Some(b"voice".to_vec()));
        assert_eq!(store.read("../etc/passwd").await.expect("read"), None);
        let keep: HashSet<String> = [a.clone()].into_iter().collect();
        let young = std::time::Duration::from_secs(3600);
        assert_eq!(store.sweep(&keep, young).await.expect("swept"), 0);
        assert_eq!(
            store
                .sweep(&keep, std::time::Duration::ZERO)
                .await
                .expect("swept"),
            1
        );
        assert_eq!(store.read(&b).await.expect("read"), None);
        assert!(store.read(&a).await.expect("read").is_some());
    }
}
