//! How often each token occurs when a corpus is tokenized (all cores), and
//! which tokens a trimmed vocabulary keeps.

use rayon::prelude::*;
use tokenizers::Tokenizer;

use crate::error::{Result, VocabError};

/// Lines per parallel work item.
const LINES_PER_TASK: usize = 256;

/// Occurrences of every token id in `lines` (special tokens not added).
pub fn count_tokens(tokenizer: &Tokenizer, lines: &[String], vocab_len: usize) -> Result<Vec<u64>> {
    count_ids(lines, vocab_len, |line, _: &mut (), ids| {
        let encoding = tokenizer
            .encode(line, false)
            .map_err(|e| VocabError::Internal(format!("tokenizing the corpus: {e}")))?;
        ids.extend_from_slice(encoding.get_ids());
        Ok(())
    })
}

/// Occurrences of every id below `vocab_len` that `encode` gives the lines
/// of `lines` (it appends a line's ids to the vector it is handed, with
/// scratch space of its own per work item), all cores.
pub(crate) fn count_ids<S: Default>(
    lines: &[String],
    vocab_len: usize,
    encode: impl Fn(&str, &mut S, &mut Vec<u32>) -> Result<()> + Sync,
) -> Result<Vec<u64>> {
    lines
        .par_chunks(LINES_PER_TASK)
        .map(|chunk| {
            let mut counts = vec![0u64; vocab_len];
            let (mut scratch, mut ids) = (S::default(), Vec::new());
            for line in chunk {
                ids.clear();
                encode(line, &mut scratch, &mut ids)?;
                for &id in &ids {
                    if let Some(c) = counts.get_mut(id as usize) {
                        *c += 1;
                    }
                }
            }
            Ok(counts)
        })
        .try_reduce(
            || vec![0u64; vocab_len],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                Ok(a)
            },
        )
}

/// Tokens in `lines` (special tokens not added), all cores.
pub fn count_all(tokenizer: &Tokenizer, lines: &[String]) -> Result<usize> {
    lines
        .par_iter()
        .map(|line| {
            tokenizer
                .encode(line.as_str(), false)
                .map(|e| e.len())
                .map_err(|e| VocabError::Internal(format!("tokenizing the corpus: {e}")))
        })
        .sum()
}

/// Which used tokens to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every token seen at least this often.
    MinCount(u64),
    /// The most frequent tokens (ties: the lower id first).
    Top(usize),
}

/// Marks in `keep` the tokens `selection` picks among those not yet kept.
/// Returns how many it added.
pub fn select(counts: &[u64], selection: Selection, keep: &mut [bool]) -> usize {
    let candidates = (0..counts.len()).filter(|&i| !keep[i] && counts[i] > 0);
    let chosen: Vec<usize> = match selection {
        Selection::MinCount(k) => candidates.filter(|&i| counts[i] >= k.max(1)).collect(),
        Selection::Top(n) => {
            let mut by_count: Vec<usize> = candidates.collect();
            by_count.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
            by_count.truncate(n);
            by_count
        }
    };
    for &i in &chosen {
        keep[i] = true;
    }
    chosen.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_and_min_count_pick_among_the_not_yet_kept() {
        let counts = [5, 0, 3, 3, 9, 1];
        let mut keep = [true, false, false, false, false, false];
        assert_eq!(select(&counts, Selection::Top(2), &mut keep), 2);
        assert_eq!(keep, [true, false, true, false, true, false]);
        let mut keep = [false; 6];
        assert_eq!(select(&counts, Selection::MinCount(3), &mut keep), 4);
        assert_eq!(keep, [true, false, true, true, true, false]);
    }
}
