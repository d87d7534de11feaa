//! Trans-tokenization / Tik-to-Tok: a parallel corpus, source side read with
//! the old tokenizer and target side with the new one, aligned with IBM
//! Model 1 and a diagonal prior ([`crate::init::align`]); each new token's row is
//! the mix of the old rows of the source tokens aligned with it, weighted
//! by their expected alignment counts.

use std::path::{Path, PathBuf};

use crate::error::{Result, VocabError};

/// For each new token (ids `first_new..first_new + added`): the old source
/// tokens a parallel corpus aligns it with, weighted by their share of its
/// expected alignment counts; empty for tokens never aligned.
pub fn alignment_mixtures(
    old: &tokenizers::Tokenizer,
    new: &tokenizers::Tokenizer,
    (source_file, target_file): &(PathBuf, PathBuf),
    first_new: usize,
    added: usize,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let sources = retarget_model::text::read_lines(source_file)?;
    let targets = retarget_model::text::read_lines(target_file)?;
    if sources.len() != targets.len() {
        return Err(VocabError::invalid(
            target_file,
            format!(
                "{} lines, but {} has {}: the parallel corpus must be aligned line by line",
                targets.len(),
                source_file.display(),
                sources.len()
            ),
        ));
    }
    let ids = |t: &tokenizers::Tokenizer, line: &str, file: &Path| -> Result<Vec<u32>> {
        t.encode(line, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| VocabError::invalid(file, format!("cannot tokenize: {e}")))
    };
    let mut pairs = Vec::with_capacity(sources.len());
    for (s, t) in sources.iter().zip(&targets) {
        let (s, t) = (ids(old, s, source_file)?, ids(new, t, target_file)?);
        if !s.is_empty() && !t.is_empty() {
            pairs.push((s, t));
        }
    }
    if pairs.is_empty() {
        return Err(VocabError::invalid(
            target_file,
            "the parallel corpus has no pair of non-empty lines",
        ));
    }
    let counts =
        crate::init::align::alignment_counts(&pairs, crate::init::align::AlignOptions::default());
    let mut mixtures = vec![Vec::new(); added];
    for (&(s, t), &c) in &counts {
        if let Some(k) = (t as usize).checked_sub(first_new).filter(|&k| k < added) {
            mixtures[k].push((s as usize, c));
        }
    }
    for mixture in &mut mixtures {
        let total: f64 = mixture.iter().map(|(_, c)| c).sum();
        mixture.sort_unstable_by_key(|&(s, _)| s);
        mixture.iter_mut().for_each(|(_, c)| *c /= total);
    }
    Ok(mixtures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use retarget_fixtures::tokenizers_train::word_level;

    #[test]
    fn new_tokens_take_the_rows_of_the_source_tokens_they_align_with() {
        let old = word_level(&["<unk>", "cat", "dog", "the", "runs"], "<unk>");
        let new = word_level(
            &[
                "<unk>", "cat", "dog", "the", "runs", "paka", "mbwa", "unseen",
            ],
            "<unk>",
        );
        let dir = tempfile::tempdir().unwrap();
        let (src, tgt) = (dir.path().join("en.txt"), dir.path().join("sw.txt"));
        let (mut en, mut sw) = (String::new(), String::new());
        for k in 0..30 {
            let (animal, word) = if k % 2 == 0 {
                ("cat", "paka")
            } else {
                ("dog", "mbwa")
            };
            en += &format!("the {animal} runs\n");
            sw += &format!("{word} runs\n");
        }
        std::fs::write(&src, en).unwrap();
        std::fs::write(&tgt, sw).unwrap();
        let mixtures = alignment_mixtures(&old, &new, &(src.clone(), tgt.clone()), 5, 3).unwrap();
        let weight = |k: usize, id: usize| {
            mixtures[k]
                .iter()
                .find(|(s, _)| *s == id)
                .map_or(0.0, |(_, w)| *w)
        };
        // "the" comes with both animals, so it keeps a share; the animal that
        // never co-occurs gets none.
        let top = |k: usize| {
            mixtures[k]
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap()
                .0
        };
        assert_eq!(top(0), 1, "paka → cat: {:?}", mixtures[0]);
        assert_eq!(top(1), 2, "mbwa → dog: {:?}", mixtures[1]);
        assert!(
            weight(0, 1) > 0.6 && weight(0, 2) < 0.01,
            "{:?}",
            mixtures[0]
        );
        assert!((mixtures[0].iter().map(|(_, w)| w).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(mixtures[2].is_empty(), "never aligned: falls back to FVT");
        std::fs::write(&tgt, "paka runs\n").unwrap();
        let err = alignment_mixtures(&old, &new, &(src.clone(), tgt.clone()), 5, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("aligned line by line"), "{err}");
    }
}
