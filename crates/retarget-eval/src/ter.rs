//! TER exactly as sacrebleu 2.6 computes it (its port of TERCOM): greedy
//! block shifts chosen by edit-distance gain, a beam-limited Levenshtein
//! distance, and the same candidate limits and tie-breaking.

use crate::sacre_tokenizers::TercomTokenizer;
use crate::score::{Score, Signature};
use retarget_model::text::python;

const MAX_SHIFT_SIZE: usize = 10;
const MAX_SHIFT_DIST: usize = 50;
const BEAM_WIDTH: usize = 25;
const MAX_SHIFT_CANDIDATES: usize = 1000;
const INFINITY: i64 = 10_000_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ins,
    Del,
    Nop,
    Sub,
    Undef,
}

/// TER settings (sacrebleu's defaults replicate TERCOM).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ter {
    /// The tokenizer options.
    pub tokenizer: TercomTokenizer,
}

/// Edit-distance computation against one reference (sacrebleu's
/// `BeamEditDistance`, without its prefix cache, which never changes results).
struct EditDistance<'r> {
    reference: &'r [&'r str],
}

impl EditDistance<'_> {
    /// Edit distance and the trace of operations from hypothesis to reference.
    fn compute(&self, hyp: &[&str]) -> (i64, Vec<Op>) {
        let n_h = hyp.len();
        let n_r = self.reference.len();
        let mut dist: Vec<Vec<(i64, Op)>> = Vec::with_capacity(n_h + 1);
        dist.push((0..=n_r).map(|j| (j as i64, Op::Ins)).collect());
        for _ in 0..n_h {
            dist.push(vec![(INFINITY, Op::Undef); n_r + 1]);
        }
        let length_ratio = if n_h > 0 {
            n_r as f64 / n_h as f64
        } else {
            1.0
        };
        let beam = if (BEAM_WIDTH as f64) < length_ratio / 2.0 {
            (length_ratio / 2.0 + BEAM_WIDTH as f64).ceil() as i64
        } else {
            BEAM_WIDTH as i64
        };
        for i in 1..=n_h {
            let pseudo_diag = (i as f64 * length_ratio).floor() as i64;
            let min_j = (pseudo_diag - beam).max(0) as usize;
            let mut max_j = (pseudo_diag + beam).min(n_r as i64 + 1).max(0) as usize;
            if i == n_h {
                max_j = n_r + 1;
            }
            for j in min_j..max_j {
                if j == 0 {
                    dist[i][j] = (dist[i - 1][j].0 + 1, Op::Del);
                    continue;
                }
                let (cost_sub, op_sub) = if hyp[i - 1] == self.reference[j - 1] {
                    (0, Op::Nop)
                } else {
                    (1, Op::Sub)
                };
                let candidates = [
                    (dist[i - 1][j - 1].0 + cost_sub, op_sub),
                    (dist[i - 1][j].0 + 1, Op::Del),
                    (dist[i][j - 1].0 + 1, Op::Ins),
                ];
                for (cost, op) in candidates {
                    if dist[i][j].0 > cost {
                        dist[i][j] = (cost, op);
                    }
                }
            }
        }
        let mut trace = Vec::new();
        let (mut i, mut j) = (n_h, n_r);
        while i > 0 || j > 0 {
            let op = dist[i][j].1;
            trace.push(op);
            match op {
                Op::Sub | Op::Nop => {
                    i -= 1;
                    j -= 1;
                }
                Op::Ins => j -= 1,
                Op::Del => i -= 1,
                Op::Undef => unreachable!("the beam always reaches the last cell"),
            }
        }
        trace.reverse();
        (dist[n_h][n_r].0, trace)
    }
}

/// Alignment of reference positions to hypothesis positions, and error flags,
/// from a trace flipped to the hypothesis' point of view.
struct Alignment {
    align: Vec<Option<i64>>,
    ref_err: Vec<u8>,
    hyp_err: Vec<u8>,
}

fn alignment(inv_trace: &[Op], n_ref: usize) -> Alignment {
    let (mut pos_h, mut pos_r) = (-1i64, -1i64);
    let mut a = Alignment {
        align: vec![None; n_ref],
        ref_err: Vec::new(),
        hyp_err: Vec::new(),
    };
    for op in inv_trace {
        // On the flipped trace an insertion consumes a hypothesis word and a
        // deletion a reference word.
        match op {
            Op::Nop | Op::Sub => {
                pos_h += 1;
                pos_r += 1;
                a.align[pos_r as usize] = Some(pos_h);
                let e = u8::from(*op == Op::Sub);
                a.hyp_err.push(e);
                a.ref_err.push(e);
            }
            Op::Ins => {
                pos_h += 1;
                a.hyp_err.push(1);
            }
            Op::Del => {
                pos_r += 1;
                a.align[pos_r as usize] = Some(pos_h);
                a.ref_err.push(1);
            }
            Op::Undef => unreachable!("complete trace"),
        }
    }
    a
}

/// Python's `words[a:b]`: bounds clamp, an inverted range is empty.
fn py_slice<'w, 's>(words: &'w [&'s str], a: usize, b: usize) -> &'w [&'s str] {
    let a = a.min(words.len());
    &words[a..b.clamp(a, words.len())]
}

/// sacrebleu's `_perform_shift`: move `length` words from `start` to `target`.
fn perform_shift<'s>(
    words: &[&'s str],
    start: usize,
    length: usize,
    target: usize,
) -> Vec<&'s str> {
    let end = start + length;
    let pieces: [(usize, usize); 4] = if target < start {
        [
            (0, target),
            (start, end),
            (target, start),
            (end, usize::MAX),
        ]
    } else if target > end {
        [
            (0, start),
            (end, target),
            (start, end),
            (target, usize::MAX),
        ]
    } else {
        [
            (0, start),
            (end, length + target),
            (start, end),
            (length + target, usize::MAX),
        ]
    };
    pieces
        .iter()
        .flat_map(|&(a, b)| py_slice(words, a, b).iter().copied())
        .collect()
}

/// Matching blocks (start in hypothesis, start in reference, length).
fn shifted_pairs(h: &[&str], r: &[&str]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for start_h in 0..h.len() {
        for start_r in 0..r.len() {
            if start_r.abs_diff(start_h) > MAX_SHIFT_DIST {
                continue;
            }
            let mut length = 0;
            while h[start_h + length] == r[start_r + length] && length < MAX_SHIFT_SIZE {
                length += 1;
                out.push((start_h, start_r, length));
                if h.len() == start_h + length || r.len() == start_r + length {
                    break;
                }
            }
        }
    }
    out
}

type Candidate<'s> = (i64, usize, i64, i64, Vec<&'s str>);

/// One round of sacrebleu's `_shift`: the best shift and its gain.
fn best_shift<'s>(
    words_h: &[&'s str],
    words_r: &[&str],
    ed: &EditDistance<'_>,
    checked: &mut usize,
) -> (i64, Option<Vec<&'s str>>) {
    let (pre_score, trace) = ed.compute(words_h);
    let inv: Vec<Op> = trace
        .iter()
        .map(|op| match op {
            Op::Ins => Op::Del,
            Op::Del => Op::Ins,
            other => *other,
        })
        .collect();
    let a = alignment(&inv, words_r.len());
    let mut best: Option<Candidate<'s>> = None;
    for (start_h, start_r, length) in shifted_pairs(words_h, words_r) {
        if a.hyp_err[start_h..start_h + length].iter().all(|&e| e == 0) {
            continue;
        }
        if a.ref_err[start_r..start_r + length].iter().all(|&e| e == 0) {
            continue;
        }
        let aligned = a.align[start_r].expect("every reference position is aligned");
        if start_h as i64 <= aligned && aligned < (start_h + length) as i64 {
            continue;
        }
        let mut prev_idx: i64 = -1;
        for offset in -1..length as i64 {
            let pos = start_r as i64 + offset;
            let idx = if pos == -1 {
                0
            } else if (pos as usize) < a.align.len() {
                a.align[pos as usize].expect("aligned") + 1
            } else {
                break;
            };
            if idx == prev_idx {
                continue;
            }
            prev_idx = idx;
            let shifted = perform_shift(words_h, start_h, length, idx as usize);
            let candidate = (
                pre_score - ed.compute(&shifted).0,
                length,
                -(start_h as i64),
                -idx,
                shifted,
            );
            *checked += 1;
            if best.as_ref().is_none_or(|b| candidate > *b) {
                best = Some(candidate);
            }
        }
        if *checked >= MAX_SHIFT_CANDIDATES {
            break;
        }
    }
    match best {
        None => (0, None),
        Some((gain, _, _, _, words)) => (gain, Some(words)),
    }
}

/// sacrebleu's `translation_edit_rate`: (edits, reference length).
pub fn translation_edit_rate(words_h: &[&str], words_r: &[&str]) -> (i64, usize) {
    if words_r.is_empty() {
        return (words_h.len() as i64, 0);
    }
    let ed = EditDistance { reference: words_r };
    let mut shifts = 0;
    let mut input: Vec<&str> = words_h.to_vec();
    let mut checked = 0;
    loop {
        let (delta, shifted) = best_shift(&input, words_r, &ed, &mut checked);
        if checked >= MAX_SHIFT_CANDIDATES || delta <= 0 {
            break;
        }
        shifts += 1;
        input = shifted.expect("a positive gain comes with a shift");
    }
    (shifts + ed.compute(&input).0, words_r.len())
}

/// Per-segment statistics: best edit count and average reference length.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TerStats {
    /// Fewest edits over the references.
    pub edits: f64,
    /// Average reference length.
    pub ref_len: f64,
}

impl Ter {
    /// Statistics of one hypothesis against its references.
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> TerStats {
        let hyp = self.tokenizer.tokenize(python::rstrip(hypothesis));
        let words_h: Vec<&str> = python::split(&hyp).collect();
        let mut best = i64::MAX;
        let mut ref_lengths = 0usize;
        for reference in references {
            // sacrebleu tokenizes references twice (once when caching them,
            // once more when extracting their words); with `--ter-normalized`
            // the second pass can split further (`it's ,` → `it 's ,`).
            let once = self.tokenizer.tokenize(python::rstrip(reference));
            let r = self.tokenizer.tokenize(python::rstrip(&once));
            let words_r: Vec<&str> = python::split(&r).collect();
            let (edits, len) = translation_edit_rate(&words_h, &words_r);
            ref_lengths += len;
            best = best.min(edits);
        }
        TerStats {
            edits: best as f64,
            ref_len: ref_lengths as f64 / references.len() as f64,
        }
    }

    /// The score of summed statistics.
    pub fn score(&self, total_edits: f64, total_ref_len: f64, signature: Signature) -> Score {
        let score = if total_ref_len > 0.0 {
            total_edits / total_ref_len
        } else if total_edits > 0.0 {
            1.0
        } else {
            0.0
        };
        Score {
            name: "TER".into(),
            score: 100.0 * score,
            verbose: String::new(),
            signature,
        }
    }

    /// sacrebleu's signature fields (without `nrefs` and `version`).
    pub fn signature_fields(&self) -> Vec<(&'static str, String)> {
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        let t = self.tokenizer;
        vec![
            ("case", if t.case_sensitive { "mixed" } else { "lc" }.into()),
            ("tok", "tercom".into()),
            ("norm", yn(t.normalized)),
            ("punct", yn(!t.no_punct)),
            ("asian", yn(t.asian_support)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ter(h: &str, r: &str) -> (i64, usize) {
        let h: Vec<&str> = h.split(' ').filter(|w| !w.is_empty()).collect();
        let r: Vec<&str> = r.split(' ').filter(|w| !w.is_empty()).collect();
        translation_edit_rate(&h, &r)
    }

    #[test]
    fn edits_with_shifts() {
        assert_eq!(ter("a b c", "a b c"), (0, 3));
        assert_eq!(ter("", "a b"), (2, 2));
        assert_eq!(ter("a b", ""), (2, 0));
        // One block shift fixes the order.
        assert_eq!(ter("c d a b", "a b c d"), (1, 4));
    }
}
