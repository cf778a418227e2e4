//! Near-duplicate grouping across residents: opinions that say nearly the same thing.
//!
//! Pure: texts in, groups out. Each text is normalised by [`crate::text::normalize`] (tones,
//! case, spacing, evasions), cut into shingles (pairs of consecutive words; a one-word text is
//! its word; words compared without accents), and summarised by a MinHash signature of [`HASHES`] values, whose share of
//! equal positions estimates the Jaccard similarity of two shingle sets. Locality-sensitive
//! hashing ([`BANDS`] bands of [`ROWS`] values) finds candidate pairs without comparing every
//! pair; a candidate is joined when its estimated similarity reaches the threshold. Groups
//! are the connected components (union-find); a group's representative is its most central
//! member (the highest total similarity to the others).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// MinHash values per text.
pub const HASHES: usize = 32;
/// LSH bands; [`BANDS`] × [`ROWS`] = [`HASHES`]. A pair with similarity 0.5 becomes a
/// candidate with probability 1 − (1 − 0.5²)¹⁶ ≈ 0.99; candidates are then checked against
/// the threshold, so recall costs only comparisons.
pub const BANDS: usize = 16;
/// Values per band.
pub const ROWS: usize = 2;
/// The similarity from which two opinions are grouped by default.
pub const DEFAULT_THRESHOLD: f64 = 0.6;
/// At most this many members are compared when choosing a large group's representative.
const CENTRALITY_SAMPLE: usize = 200;

/// A text's MinHash signature; `None` for a text with no words.
pub type Signature = [u32; HASHES];

/// The coefficients of the hash family (fixed, so groupings are reproducible).
fn coefficients() -> [(u64, u64); HASHES] {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut out = [(0, 0); HASHES];
    for c in &mut out {
        *c = (next() | 1, next());
    }
    out
}

/// The shingles of a text: hashes of its pairs of consecutive normalised words.
pub fn shingles(text: &str) -> Vec<u64> {
    let norm = crate::text::normalize(text);
    // Accent-stripped words, so a resident typing without accents says the same thing.
    let words: Vec<&str> = norm.tokens().iter().map(|t| t.folded.as_str()).collect();
    let hash = |parts: &[&str]| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        parts.hash(&mut h);
        h.finish()
    };
    match words.len() {
        0 => Vec::new(),
        1 => vec![hash(&words)],
        _ => {
            let mut s: Vec<u64> = words.windows(2).map(hash).collect();
            s.sort_unstable();
            s.dedup();
            s
        }
    }
}

/// The MinHash signature of a text, `None` when it has no words.
pub fn signature(text: &str, coeffs: &[(u64, u64); HASHES]) -> Option<Signature> {
    let shingles = shingles(text);
    if shingles.is_empty() {
        return None;
    }
    let mut sig = [u32::MAX; HASHES];
    for s in shingles {
        for (slot, (a, b)) in sig.iter_mut().zip(coeffs) {
            let v = (a.wrapping_mul(s).wrapping_add(*b) >> 32) as u32;
            if v < *slot {
                *slot = v;
            }
        }
    }
    Some(sig)
}

/// The estimated Jaccard similarity of two signatures.
pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / HASHES as f64
}

/// A group found: its members (ids, ascending) and its most central member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Member ids, ascending.
    pub members: Vec<i64>,
    /// The most central member.
    pub representative: i64,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Groups `(id, text)` pairs whose estimated similarity reaches `threshold`; only groups of
/// two or more are returned, largest first.
pub fn group(items: &[(i64, String)], threshold: f64) -> Vec<Found> {
    let coeffs = coefficients();
    let sigs: Vec<Option<Signature>> = items.iter().map(|(_, t)| signature(t, &coeffs)).collect();
    let mut parent: Vec<usize> = (0..items.len()).collect();
    for band in 0..BANDS {
        let mut buckets: HashMap<&[u32], Vec<usize>> = HashMap::new();
        for (i, sig) in sigs.iter().enumerate() {
            if let Some(sig) = sig {
                buckets
                    .entry(&sig[band * ROWS..(band + 1) * ROWS])
                    .or_default()
                    .push(i);
            }
        }
        for members in buckets.values().filter(|m| m.len() > 1) {
            // Each member is compared with the bucket's first and its predecessor: linear in
            // the bucket's size even when thousands of texts are identical.
            for w in 1..members.len() {
                for other in [members[0], members[w - 1]] {
                    let (i, j) = (members[w], other);
                    if let (Some(a), Some(b)) = (&sigs[i], &sigs[j])
                        && similarity(a, b) >= threshold
                    {
                        let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                        if ri != rj {
                            parent[ri.max(rj)] = ri.min(rj);
                        }
                    }
                }
            }
        }
    }
    let mut components: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..items.len() {
        let root = find(&mut parent, i);
        components.entry(root).or_default().push(i);
    }
    let mut groups: Vec<Found> = components
        .into_values()
        .filter(|m| m.len() > 1)
        .map(|members| {
            let sample = &members[..members.len().min(CENTRALITY_SAMPLE)];
            let score = |i: usize| -> f64 {
                sample
                    .iter()
                    .filter(|&&j| j != i)
                    .filter_map(|&j| Some(similarity(sigs[i].as_ref()?, sigs[j].as_ref()?)))
                    .sum()
            };
            // The most central member; on a tie, the earliest opinion.
            let central = members
                .iter()
                .map(|&i| (score(i), std::cmp::Reverse(items[i].0), i))
                .max_by(|a, b| {
                    a.0.partial_cmp(&b.0)
                        .unwrap_or(std::cmp::Ordering::Equal)
                        .then(a.1.cmp(&b.1))
                })
                .map(|(_, _, i)| i)
                .unwrap_or(members[0]);
            let mut ids: Vec<i64> = members.iter().map(|&i| items[i].0).collect();
            ids.sort_unstable();
            Found {
                members: ids,
                representative: items[central].0,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].cmp(&b.members[0]))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(texts: &[&str]) -> Vec<(i64, String)> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 + 1, (*t).to_owned()))
            .collect()
    }

    #[test]
    fn residents_saying_the_same_thing_in_their_own_spelling_are_one_group() {
        let got = group(
            &items(&[
                "Đề nghị nâng cấp đường ngõ 5 vì mưa là ngập.",
                "de nghi nang cap duong ngo 5 vi mua la ngap",
                "ĐỀ NGHỊ nâng cấp đường ngõ 5, vì mưa là ngập!!!",
                "Đề nghị nâng cấp đường ngõ 5 vì mưa là ngập nặng",
                "Cần thêm thùng rác ở chợ phường.",
                "Cần thêm thùng rác ở chợ phường",
                "Tán thành dự thảo.",
            ]),
            DEFAULT_THRESHOLD,
        );
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].members, vec![1, 2, 3, 4]);
        assert_eq!(got[1].members, vec![5, 6]);
        assert_eq!(got[1].representative, 5);
    }

    #[test]
    fn different_requests_stay_apart() {
        let got = group(
            &items(&[
                "Đề nghị nâng cấp đường ngõ 5.",
                "Đề nghị lắp đèn chiếu sáng ngõ 7.",
                "Đề nghị tăng chuyến thu gom rác buổi tối.",
                "Cần làm rõ trách nhiệm người đứng đầu.",
            ]),
            DEFAULT_THRESHOLD,
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn the_representative_is_the_most_central_member() {
        let got = group(
            &items(&[
                "Đề nghị mở rộng đường Trường Chinh đoạn qua chợ phường",
                "Đề nghị mở rộng đường Trường Chinh đoạn qua chợ phường và lát vỉa hè",
                "Đề nghị mở rộng đường Trường Chinh đoạn qua chợ",
                "Đề nghị mở rộng đường Trường Chinh đoạn qua chợ phường ngay năm nay",
            ]),
            0.5,
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].members.len(), 4, "{got:?}");
        assert_eq!(got[0].representative, 1);
    }

    #[test]
    fn thousands_of_identical_texts_group_in_linear_time() {
        let texts: Vec<(i64, String)> = (0..5_000)
            .map(|i| (i, "Đề nghị nâng cấp đường ngõ 5".to_owned()))
            .collect();
        let got = group(&texts, DEFAULT_THRESHOLD);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].members.len(), 5_000);
    }
}
