//! FOCUS (Dobler & de Melo, 2023), the way the authors' `deepfocus` package
//! computes it: tokens of the new vocabulary whose canonical form (the
//! decoded text, a word start marked `▁`) matches an old token's keep that
//! token's rows; every other token gets a convex combination of the shared
//! tokens' old rows, weighted by the sparsemax of its cosine similarities to
//! them in an auxiliary embedding space (static token vectors trained on
//! target-language text tokenized with the new tokenizer, a `.vec` file).
//! Tokens without an auxiliary vector get random rows, as in `deepfocus`.

use std::collections::HashMap;

use rayon::prelude::*;
use tokenizers::Tokenizer;

use retarget_model::text::python::is_py_space;

use crate::error::{Result, VocabError};
use crate::tokenizer::json::TokenizerFile;

/// Python's `str.lstrip()`.
fn lstrip(text: &str) -> &str {
    text.trim_start_matches(is_py_space)
}

fn is_byte_piece(token: &str) -> bool {
    // deepfocus matches `<0x[0-9,A-F]{2}>` at the start of the token.
    let b = token.as_bytes();
    b.len() >= 6
        && token.starts_with("<0x")
        && b[3..5]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c) || *c == b',')
        && b[5] == b'>'
}

/// Every token's canonical form, by id: its decoded text without leading
/// whitespace, prefixed with `▁` when the token starts a word. The style
/// follows deepfocus's heuristic: SentencePiece-like when more than 100
/// tokens start with `▁`, WordPiece-like when more than 100 start with `##`.
pub fn canonical_forms(file: &TokenizerFile, tokenizer: &Tokenizer) -> Result<Vec<String>> {
    let tokens: Vec<&str> = (0..file.len()).map(|i| file.token(i)).collect();
    let sentencepiece = tokens.iter().filter(|t| t.starts_with('▁')).count() > 100;
    let wordpiece = !sentencepiece && tokens.iter().filter(|t| t.starts_with("##")).count() > 100;
    tokens
        .iter()
        .enumerate()
        .map(|(id, token)| {
            if sentencepiece && is_byte_piece(token) {
                return Ok(token.to_string());
            }
            let decoded = tokenizer
                .decode(&[id as u32], false)
                .map_err(|e| VocabError::Internal(format!("decoding {token:?}: {e}")))?;
            Ok(if wordpiece {
                match decoded.strip_prefix("##") {
                    Some(rest) => rest.to_string(),
                    None => format!("▁{decoded}"),
                }
            } else {
                let word_start = token.starts_with(if sentencepiece { "▁" } else { "Ġ" });
                let text = lstrip(&decoded);
                if word_start {
                    format!("▁{text}")
                } else {
                    text.to_string()
                }
            })
        })
        .collect()
}

/// For each new token, the old token with the same canonical form; among
/// several, the highest id, as deepfocus picks (its vocabulary view puts
/// each later token first).
pub fn overlap(old_forms: &[String], new_forms: &[String]) -> Vec<Option<usize>> {
    let by_form: HashMap<&str, usize> = old_forms
        .iter()
        .enumerate()
        .map(|(id, form)| (form.as_str(), id))
        .collect();
    new_forms
        .iter()
        .map(|f| by_form.get(f.as_str()).copied())
        .collect()
}

/// Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of `z`
/// onto the probability simplex; small entries become exactly zero.
pub fn sparsemax(z: &[f64]) -> Vec<f64> {
    let mut sorted = z.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let (mut cumulative, mut tau) = (0.0, 0.0);
    for (k, &v) in sorted.iter().enumerate() {
        cumulative += v;
        let k = (k + 1) as f64;
        if 1.0 + k * v > cumulative {
            tau = (cumulative - 1.0) / k;
        } else {
            break;
        }
    }
    z.iter().map(|&v| (v - tau).max(0.0)).collect()
}

/// A vector usable by FOCUS: present and not all zeros.
fn usable<'a>(vectors: &'a HashMap<String, Vec<f32>>, token: &str) -> Option<&'a [f32]> {
    vectors
        .get(token)
        .map(Vec::as_slice)
        .filter(|v| v.iter().any(|x| *x != 0.0))
}

fn unit(v: &[f32]) -> Vec<f64> {
    let norm = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    v.iter().map(|x| *x as f64 / norm).collect()
}

/// FOCUS mixtures of the tokens `missing` (new ids): (old id, weight) of
/// the shared tokens (`shared`: new id → old id) that have auxiliary
/// vectors; empty (a random row) for tokens without a vector.
pub fn mixtures(
    new: &TokenizerFile,
    shared: &[Option<usize>],
    missing: &[usize],
    vectors: &HashMap<String, Vec<f32>>,
) -> Vec<Vec<(usize, f64)>> {
    let anchors: Vec<(usize, Vec<f64>)> = shared
        .iter()
        .enumerate()
        .filter_map(|(id, old)| Some(((*old)?, unit(usable(vectors, new.token(id))?))))
        .collect();
    missing
        .par_iter()
        .map(|&id| {
            let Some(v) = usable(vectors, new.token(id)) else {
                return Vec::new();
            };
            let v = unit(v);
            let sims: Vec<f64> = anchors
                .iter()
                .map(|(_, a)| a.iter().zip(&v).map(|(x, y)| x * y).sum())
                .collect();
            sparsemax(&sims)
                .into_iter()
                .zip(&anchors)
                .filter(|(w, _)| *w > 0.0)
                .map(|(w, (old, _))| (*old, w))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparsemax_projects_onto_the_simplex_and_zeroes_small_entries() {
        let p = sparsemax(&[0.9, 0.8, 0.1, -0.5]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((p[0] - 0.55).abs() < 1e-12 && (p[1] - 0.45).abs() < 1e-12);
        assert_eq!(&p[2..], &[0.0, 0.0]);
        // Far apart: all weight on the largest.
        assert_eq!(sparsemax(&[3.0, 0.5, 0.2]), vec![1.0, 0.0, 0.0]);
        // Equal: uniform.
        assert_eq!(sparsemax(&[0.3, 0.3]), vec![0.5, 0.5]);
    }
}
