//! BLEU exactly as sacrebleu 2.6 computes it: closest reference length,
//! clipped n-gram counts against the per-n-gram maximum over references,
//! smoothing methods `none`, `floor`, `add-k` and `exp`, effective order.

use crate::fixed::push_fixed;
use crate::ngrams::{
    for_each_ngram, padded_key, token_key, KeyCounts, PackedKey, TokenTable, KEY_PADDING,
};
use crate::sacre_tokenizers::BleuTokenizer;
use crate::score::{Score, Signature};
use retarget_model::text::python;

/// Highest n-gram order.
pub const MAX_NGRAM_ORDER: usize = 4;

/// Smoothing of zero n-gram matches (Chen & Cherry 2014).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// No smoothing.
    None,
    /// Method 1: a floor for zero counts (default 0.1).
    Floor(f64),
    /// Method 2: add k to counts of orders above one (default 1).
    AddK(f64),
    /// Method 3: NIST-style exponential smoothing (sacrebleu's default).
    Exp,
}

impl Smoothing {
    /// Parses sacrebleu's `-s` / `-sv` pair.
    pub fn parse(method: &str, value: Option<f64>) -> Result<Self, String> {
        Ok(match method {
            "none" => Smoothing::None,
            "floor" => Smoothing::Floor(value.unwrap_or(0.1)),
            "add-k" => Smoothing::AddK(value.unwrap_or(1.0)),
            "exp" => Smoothing::Exp,
            other => {
                return Err(format!(
                    "unknown smoothing method `{other}`: expected exp, floor, add-k, none"
                ))
            }
        })
    }

    fn signature(self) -> String {
        match self {
            Smoothing::None => "none".into(),
            Smoothing::Exp => "exp".into(),
            Smoothing::Floor(v) => format!("floor[{v:.2}]"),
            Smoothing::AddK(v) => format!("add-k[{v:.2}]"),
        }
    }
}

/// BLEU settings.
#[derive(Debug, Clone)]
pub struct Bleu {
    /// Lowercase before tokenizing.
    pub lowercase: bool,
    /// The tokenizer.
    pub tokenizer: BleuTokenizer,
    /// Smoothing.
    pub smoothing: Smoothing,
    /// Stop at the highest order with matches (sentence-level BLEU).
    pub effective_order: bool,
}

impl Default for Bleu {
    fn default() -> Self {
        Bleu {
            lowercase: false,
            tokenizer: BleuTokenizer::V13a,
            smoothing: Smoothing::Exp,
            effective_order: false,
        }
    }
}

/// Sufficient statistics of one segment (or, summed, of a corpus).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BleuStats {
    /// Hypothesis length in tokens.
    pub hyp_len: u64,
    /// Closest reference length.
    pub ref_len: u64,
    /// Clipped matches per order.
    pub correct: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order.
    pub total: [u64; MAX_NGRAM_ORDER],
}

impl BleuStats {
    /// sacrebleu's row for n-gram orders `1..=order`: `[hyp_len, ref_len,
    /// correct…, total…]`.
    pub fn row(&self, order: usize) -> Vec<f64> {
        let mut row = vec![self.hyp_len as f64, self.ref_len as f64];
        row.extend(self.correct[..order].iter().map(|&c| c as f64));
        row.extend(self.total[..order].iter().map(|&t| t as f64));
        row
    }

    /// The statistics of a (summed) [`BleuStats::row`] of `order` orders.
    pub fn from_row(row: &[f64], order: usize) -> Self {
        let int = |v: f64| v.round() as u64;
        let mut stats = BleuStats {
            hyp_len: int(row[0]),
            ref_len: int(row[1]),
            ..BleuStats::default()
        };
        for n in 0..order {
            stats.correct[n] = int(row[2 + n]);
            stats.total[n] = int(row[2 + order + n]);
        }
        stats
    }
}

impl std::ops::AddAssign for BleuStats {
    fn add_assign(&mut self, o: Self) {
        self.hyp_len += o.hyp_len;
        self.ref_len += o.ref_len;
        for n in 0..MAX_NGRAM_ORDER {
            self.correct[n] += o.correct[n];
            self.total[n] += o.total[n];
        }
    }
}

/// sacrebleu's `my_log`: log with a floor for zero.
fn my_log(x: f64) -> f64 {
    if x == 0.0 {
        -9999999999.0
    } else {
        x.ln()
    }
}

/// Per-thread scratch space of [`Bleu::segment_stats`], reused from one
/// segment to the next (sentence-level BLEU of short segments spent a
/// fifth of its time in the allocator).
#[derive(Default)]
struct Scratch {
    /// One side's tokenized text, and the tokenizer's scratch space.
    text: Vec<u8>,
    tmp: Vec<u8>,
    vocab: TokenTable,
    /// Token ids of every side (references first, the hypothesis last),
    /// and where each side ends in `ids`.
    ids: Vec<u32>,
    ends: Vec<usize>,
    /// The count tables for keys of 16-bit ids (a pair with fewer than
    /// 2^16 distinct tokens: nearly all).
    tables: KeyScratch<u64>,
    /// Unigram and bigram counts of [`dense_matches`].
    dense: Dense,
    /// One side's line, followed by [`KEY_PADDING`] bytes.
    padded: Vec<u8>,
}

/// The most distinct tokens of a pair that [`dense_matches`] handles: its
/// bigram array then has at most 128 × 128 entries (32 KiB).
const DENSE_TOKENS: usize = 127;

/// The longest reference [`dense_matches`] handles: its trigram and 4-gram
/// arrays then have at most 512 × 128 entries (128 KiB) each.
const DENSE_REFERENCE: usize = 512;

/// The arrays of [`dense_matches`], indexed by ids; all zero between pairs
/// (but `bigram_counts` and `trigram_counts`, set when an id is given).
#[derive(Default)]
struct Dense {
    /// Per token id: its count in the reference.
    unigrams: Vec<u16>,
    /// At `first * width + second`: the id of that reference bigram (from
    /// 1; 0 for none).
    bigram_ids: Vec<u16>,
    /// At `bigram id * width + third`: the id of that reference trigram.
    trigram_ids: Vec<u16>,
    /// At `trigram id * width + fourth`: that reference 4-gram's count.
    fourgrams: Vec<u16>,
    /// Per bigram id, per trigram id: the count in the reference (index 0,
    /// no n-gram, stays 0).
    bigram_counts: Vec<u16>,
    trigram_counts: Vec<u16>,
    /// Per reference position: the ids of the bigram and the trigram that
    /// end there (0 where none), to put the arrays back to zero.
    ends: Vec<(u16, u16)>,
}

/// [`clipped_matches`] of one reference (`ids[..ref_end]`, at most
/// [`DENSE_REFERENCE`] tokens) and a hypothesis (the rest) with at most
/// [`DENSE_TOKENS`] distinct tokens, `width` = their number + 1, without a
/// hash table: each reference bigram gets an id, each trigram an id from
/// its first bigram's id and its last token, and each 4-gram a count from
/// its first trigram's id and its last token, all in arrays. A hypothesis
/// n-gram that is not in the reference reads id 0, whose rows are zero, so
/// the hypothesis is matched without a branch per n-gram.
fn dense_matches(
    ids: &[u32],
    ref_end: usize,
    width: usize,
    d: &mut Dense,
) -> [u64; MAX_NGRAM_ORDER] {
    let (reference, hypothesis) = ids.split_at(ref_end);
    let rows = reference.len() + 1;
    for (array, len) in [
        (&mut d.unigrams, width),
        (&mut d.bigram_ids, width * width),
        (&mut d.trigram_ids, rows * width),
        (&mut d.fourgrams, rows * width),
    ] {
        if array.len() < len {
            array.resize(len, 0);
        }
    }
    d.bigram_counts.resize(rows, 0);
    d.trigram_counts.resize(rows, 0);
    d.ends.clear();
    let (mut bigrams, mut trigrams) = (0u16, 0u16);
    // The previous token, and the ids of the bigram and trigram ending there.
    let (mut previous, mut bigram, mut trigram) = (0usize, 0usize, 0usize);
    for (i, &id) in reference.iter().enumerate() {
        let id = id as usize;
        d.unigrams[id] += 1;
        let (mut b, mut t) = (0, 0);
        if i >= 3 {
            d.fourgrams[trigram * width + id] += 1;
        }
        if i >= 2 {
            let slot = &mut d.trigram_ids[bigram * width + id];
            t = counted_id(slot, &mut trigrams, &mut d.trigram_counts);
        }
        if i >= 1 {
            let slot = &mut d.bigram_ids[previous * width + id];
            b = counted_id(slot, &mut bigrams, &mut d.bigram_counts);
        }
        d.ends.push((b, t));
        (previous, bigram, trigram) = (id, usize::from(b), usize::from(t));
    }
    let take = |count: &mut u16| {
        let taken = *count > 0;
        *count -= u16::from(taken);
        u64::from(taken)
    };
    let mut correct = [0u64; MAX_NGRAM_ORDER];
    // Before the first token: token 0, bigram 0, trigram 0 (rows of zeros:
    // no reference n-gram starts with token id 0).
    let (mut previous, mut bigram, mut trigram) = (0usize, 0usize, 0usize);
    for &id in hypothesis {
        let id = id as usize;
        correct[0] += take(&mut d.unigrams[id]);
        correct[3] += take(&mut d.fourgrams[trigram * width + id]);
        let t = usize::from(d.trigram_ids[bigram * width + id]);
        correct[2] += take(&mut d.trigram_counts[t]);
        let b = usize::from(d.bigram_ids[previous * width + id]);
        correct[1] += take(&mut d.bigram_counts[b]);
        (previous, bigram, trigram) = (id, b, t);
    }
    // Back to zero: only the reference's entries were set.
    let (mut previous, mut bigram, mut trigram) = (0usize, 0usize, 0usize);
    for (&id, &(b, t)) in reference.iter().zip(&d.ends) {
        let id = id as usize;
        d.unigrams[id] = 0;
        d.fourgrams[trigram * width + id] = 0;
        d.trigram_ids[bigram * width + id] = 0;
        d.bigram_ids[previous * width + id] = 0;
        (previous, bigram, trigram) = (id, usize::from(b), usize::from(t));
    }
    correct
}

/// The id in `slot`, given it (the one after `last`, its count in `counts`
/// set to 0) if it has none yet; its count is raised by one.
#[inline(always)]
fn counted_id(slot: &mut u16, last: &mut u16, counts: &mut [u16]) -> u16 {
    if *slot == 0 {
        *last += 1;
        *slot = *last;
        counts[usize::from(*last)] = 0;
    }
    counts[usize::from(*slot)] += 1;
    *slot
}

/// Tables of [`clipped_matches`] for one key type.
#[derive(Default)]
struct KeyScratch<K> {
    /// Per reference n-gram: its highest count in one reference.
    max: KeyCounts<K>,
    /// One reference's counts (with several references).
    counts: KeyCounts<K>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Clipped matches per order of the last side of `ids` (split at `ends`,
/// every id below 2^`K::ID_BITS`) against the others: each hypothesis
/// n-gram counts at most as often as in the reference where it is most
/// frequent.
fn clipped_matches<K: PackedKey>(
    ids: &[u32],
    ends: &[usize],
    s: &mut KeyScratch<K>,
) -> [u64; MAX_NGRAM_ORDER] {
    let ref_ends = &ends[..ends.len() - 1];
    let hyp_start = ref_ends.last().copied().unwrap_or(0);
    s.max.clear();
    s.max.reserve(0);
    let mut start = 0;
    for (i, &end) in ref_ends.iter().enumerate() {
        let reference = &ids[start..end];
        start = end;
        let table = if i == 0 {
            &mut s.max
        } else {
            s.counts.clear();
            &mut s.counts
        };
        table.reserve(reference.len() * MAX_NGRAM_ORDER);
        for_each_ngram(reference, MAX_NGRAM_ORDER, |_, key| table.add(key));
        if i > 0 {
            s.max.reserve(reference.len() * MAX_NGRAM_ORDER);
            for (key, count) in s.counts.entries() {
                s.max.raise(key, count);
            }
        }
    }
    // Each hypothesis n-gram matches while the reference count lasts: the
    // matches of an n-gram seen h times are min(h, its reference count).
    let mut correct = [0u64; MAX_NGRAM_ORDER];
    for_each_ngram::<K>(&ids[hyp_start..], MAX_NGRAM_ORDER, |n, key| {
        correct[n - 1] += u64::from(s.max.take(key));
    });
    correct
}

impl Bleu {
    /// Appends the token ids of one side (lowercased when asked, stripped
    /// on the right, tokenized) to `ids`, numbered in `vocab`.
    fn number(&self, sent: &str, s: &mut Scratch) {
        let lowered;
        let sent = if self.lowercase {
            lowered = sent.to_lowercase();
            &lowered
        } else {
            sent
        };
        let Scratch {
            text,
            tmp,
            vocab,
            ids,
            padded,
            ..
        } = s;
        // The line with room after it, for the tokens' keys (see
        // `TokenTable`); the tokens of 13a's scan are slices of the line,
        // and their place in it is where their key is read. Tokens from
        // elsewhere (the tokenizer's own buffer) have theirs copied.
        let line = python::rstrip(sent);
        padded.clear();
        padded.extend_from_slice(line.as_bytes());
        padded.extend_from_slice(&[0; KEY_PADDING]);
        let base = line.as_ptr() as usize;
        self.tokenizer.for_each_token(line, text, tmp, |token| {
            let start = (token.as_ptr() as usize).wrapping_sub(base);
            let key = if start <= line.len() && token.len() <= line.len() - start {
                padded_key(padded, start, token.len())
            } else {
                token_key(token)
            };
            ids.push(vocab.id_of(key, token))
        });
        s.ends.push(s.ids.len());
    }

    /// Statistics of one hypothesis against its references.
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> BleuStats {
        SCRATCH.with_borrow_mut(|s| {
            s.vocab.clear();
            s.ids.clear();
            s.ends.clear();
            for side in references.iter().chain([&hypothesis]) {
                self.number(side, s);
            }
            let correct = if s.vocab.len() <= DENSE_TOKENS
                && s.ends.len() == 2
                && s.ends[0] <= DENSE_REFERENCE
            {
                dense_matches(&s.ids, s.ends[0], s.vocab.len() + 1, &mut s.dense)
            } else if s.vocab.len() < 1 << u64::ID_BITS {
                clipped_matches(&s.ids, &s.ends, &mut s.tables)
            } else {
                clipped_matches::<u128>(&s.ids, &s.ends, &mut KeyScratch::default())
            };
            let ref_ends = &s.ends[..s.ends.len() - 1];
            let hyp_len = (s.ids.len() - ref_ends.last().copied().unwrap_or(0)) as u64;
            // Closest reference length; ties go to the shorter reference.
            let mut closest: Option<(u64, u64)> = None;
            let mut start = 0;
            for &end in ref_ends {
                let len = (end - start) as u64;
                start = end;
                let diff = hyp_len.abs_diff(len);
                closest = match closest {
                    Some((d, l)) if d < diff || (d == diff && l <= len) => Some((d, l)),
                    _ => Some((diff, len)),
                };
            }
            BleuStats {
                hyp_len,
                ref_len: closest.map_or(0, |(_, l)| l),
                correct,
                // Every window of n tokens is an n-gram.
                total: std::array::from_fn(|n| (hyp_len + 1).saturating_sub(n as u64 + 1)),
            }
        })
    }

    /// The score of (summed) statistics.
    pub fn score(&self, stats: &BleuStats) -> BleuScore {
        self.score_upto(stats, MAX_NGRAM_ORDER)
    }

    /// The score of (summed) statistics over n-gram orders `1..=order`
    /// (sacrebleu's `max_ngram_order`, at most [`MAX_NGRAM_ORDER`]); the
    /// precisions of higher orders are left at zero.
    pub fn score_upto(&self, stats: &BleuStats, order: usize) -> BleuScore {
        let order = order.clamp(1, MAX_NGRAM_ORDER);
        let sys_len = stats.hyp_len as f64;
        let ref_len = stats.ref_len as f64;
        let mut bp = 1.0;
        if stats.hyp_len < stats.ref_len {
            bp = if stats.hyp_len > 0 {
                (1.0 - ref_len / sys_len).exp()
            } else {
                0.0
            };
        }
        let mut correct = stats.correct.map(|c| c as f64);
        let mut total = stats.total.map(|t| t as f64);
        let mut precisions = [0.0f64; MAX_NGRAM_ORDER];
        let mut value = 0.0;
        if stats.correct[..order].iter().any(|&c| c > 0) {
            let mut smooth_mteval = 1.0f64;
            let mut eff_order = order;
            for n in 1..=order {
                if let Smoothing::AddK(k) = self.smoothing {
                    if n > 1 {
                        correct[n - 1] += k;
                        total[n - 1] += k;
                    }
                }
                if total[n - 1] == 0.0 {
                    break;
                }
                if self.effective_order {
                    eff_order = n;
                }
                if correct[n - 1] == 0.0 {
                    match self.smoothing {
                        Smoothing::Exp => {
                            smooth_mteval *= 2.0;
                            precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1]);
                        }
                        Smoothing::Floor(v) => precisions[n - 1] = 100.0 * v / total[n - 1],
                        _ => {}
                    }
                } else {
                    precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
                }
            }
            let log_sum = precisions[..eff_order]
                .iter()
                .fold(0.0, |acc, &p| acc + my_log(p));
            value = bp * (log_sum / eff_order as f64).exp();
        }
        BleuScore {
            score: value,
            precisions,
            bp,
            sys_len: stats.hyp_len,
            ref_len: stats.ref_len,
        }
    }

    /// sacrebleu's signature fields (without `nrefs` and `version`).
    pub fn signature_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("case", if self.lowercase { "lc" } else { "mixed" }.into()),
            (
                "eff",
                if self.effective_order { "yes" } else { "no" }.into(),
            ),
            ("tok", self.tokenizer.signature().into()),
            ("smooth", self.smoothing.signature()),
        ]
    }
}

/// A BLEU score with sacrebleu's verbose details.
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScore {
    /// The score, 0–100.
    pub score: f64,
    /// n-gram precisions, 0–100.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis length.
    pub sys_len: u64,
    /// Reference length.
    pub ref_len: u64,
}

impl BleuScore {
    /// As a generic score, with sacrebleu's verbose string.
    pub fn into_score(self, signature: Signature) -> Score {
        let mut verbose = String::with_capacity(80);
        self.write_verbose(&mut verbose);
        Score {
            name: "BLEU".into(),
            score: self.score,
            verbose,
            signature,
        }
    }

    /// Appends sacrebleu's verbose string: "P1/P2/P3/P4 (BP = … ratio = …
    /// hyp_len = … ref_len = …)".
    pub fn write_verbose(&self, out: &mut String) {
        let ratio = if self.ref_len > 0 {
            self.sys_len as f64 / self.ref_len as f64
        } else {
            0.0
        };
        for (i, p) in self.precisions.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            push_fixed(out, *p, 1);
        }
        out.push_str(" (BP = ");
        push_fixed(out, self.bp, 3);
        out.push_str(" ratio = ");
        push_fixed(out, ratio, 3);
        let mut digits = itoa::Buffer::new();
        out.push_str(" hyp_len = ");
        out.push_str(digits.format(self.sys_len));
        out.push_str(" ref_len = ");
        out.push_str(digits.format(self.ref_len));
        out.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_matches_equal_plain_counting_with_one_to_three_references() {
        use std::collections::HashMap;
        let counts = |words: &[&'static str], n: usize| {
            let mut table: HashMap<Vec<&str>, u64> = HashMap::new();
            for w in words.windows(n) {
                *table.entry(w.to_vec()).or_default() += 1;
            }
            table
        };
        let mut state = 3u64;
        let mut draw = |below: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % below
        };
        let bleu = Bleu::default();
        // Four words in short sentences (one reference: the arrays of
        // `dense_matches`), 100 in sentences of up to 600 (the arrays, and
        // the hash tables for references over DENSE_REFERENCE tokens), and
        // 300 in long ones (more than DENSE_TOKENS distinct tokens: the
        // hash tables).
        let words: Vec<&'static str> = (0..300)
            .map(|i| &*Box::leak(format!("w{i}").into_boxed_str()))
            .collect();
        for round in 0..3600 {
            let (vocab, length) = match round {
                0..3000 => (4, 13),
                3000..3300 => (100, 600),
                _ => (300, 400),
            };
            let sentence = |draw: &mut dyn FnMut(u64) -> u64| -> Vec<&'static str> {
                (0..draw(length))
                    .map(|_| words[draw(vocab) as usize])
                    .collect()
            };
            let hyp = sentence(&mut draw);
            let refs: Vec<Vec<&str>> = (0..1 + draw(3)).map(|_| sentence(&mut draw)).collect();
            let joined: Vec<String> = refs.iter().map(|r| r.join(" ")).collect();
            let ref_strs: Vec<&str> = joined.iter().map(String::as_str).collect();
            let stats = bleu.segment_stats(&hyp.join(" "), &ref_strs);
            for n in 1..=MAX_NGRAM_ORDER {
                let mut max: HashMap<Vec<&str>, u64> = HashMap::new();
                for r in &refs {
                    for (k, c) in counts(r, n) {
                        let m = max.entry(k).or_default();
                        *m = (*m).max(c);
                    }
                }
                let expected: u64 = counts(&hyp, n)
                    .iter()
                    .map(|(k, c)| (*c).min(*max.get(k).unwrap_or(&0)))
                    .sum();
                assert_eq!(
                    stats.correct[n - 1],
                    expected,
                    "{hyp:?} / {refs:?}, order {n}"
                );
                assert_eq!(stats.total[n - 1], (hyp.len() + 1).saturating_sub(n) as u64);
            }
        }
    }

    #[test]
    fn pairs_of_more_than_65535_distinct_tokens_use_wide_keys() {
        // 70,000 distinct tokens do not fit 16-bit ids; the counts must be
        // those of the narrow keys' rule: every window of the hypothesis
        // that the reference has, here all but those around one changed token.
        let reference: Vec<String> = (0..70_000).map(|i| format!("w{i}")).collect();
        let mut hypothesis = reference.clone();
        hypothesis[100] = "changed".into();
        let bleu = Bleu::default();
        let stats = bleu.segment_stats(&hypothesis.join(" "), &[&reference.join(" ")]);
        assert_eq!(stats.hyp_len, 70_000);
        assert_eq!(stats.total, [70_000, 69_999, 69_998, 69_997]);
        // Order n loses the n windows that contain token 100.
        assert_eq!(stats.correct, [69_999, 69_997, 69_995, 69_993]);
        // The thread's scratch space serves a short pair next, unchanged.
        let short = bleu.segment_stats("a b a b", &["a b a", "b a b a b"]);
        assert_eq!(short.correct, [4, 3, 2, 1]);
        assert_eq!((short.hyp_len, short.ref_len), (4, 3));
    }
}
