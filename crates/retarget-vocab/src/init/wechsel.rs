//! WECHSEL (Minixhofer, Paischer & Rekabsaz, 2022), as the authors'
//! `wechsel` package computes it from fastText models: source- and
//! target-language word vectors (`.bin`, with subword information) aligned
//! by orthogonal Procrustes on the pairs of a bilingual dictionary; every
//! token of either tokenizer embedded as the fastText vector of its decoded
//! text; each new token's row the softmax(similarity / temperature)-weighted
//! sum of the rows of its `neighbors` most similar old tokens. New tokens
//! without a vector get random rows; special tokens of the old vocabulary
//! keep their rows. With one multilingual vector file for both sides and no
//! dictionary, the spaces are taken as aligned (as OFA's multilingual
//! vectors are).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use nalgebra::DMatrix;
use rayon::prelude::*;
use tokenizers::Tokenizer;

use retarget_model::text::python::is_py_space;

use crate::error::{Result, VocabError};
use crate::tokenizer::json::TokenizerFile;
use retarget_fasttext::FastTextModel;

/// WECHSEL's inputs.
#[derive(Debug, Clone)]
pub struct WechselInputs {
    /// Source-language fastText model (`.bin`).
    pub source_vectors: PathBuf,
    /// Target-language fastText model (`.bin`); the same file for a
    /// multilingual space.
    pub target_vectors: PathBuf,
    /// Bilingual dictionary (`source<TAB>target` per line); without it the
    /// two spaces are taken as aligned.
    pub dictionary: Option<PathBuf>,
    /// Old tokens each new token is built from (WECHSEL's default 10).
    pub neighbors: usize,
    /// Softmax temperature (WECHSEL's default 0.1).
    pub temperature: f64,
}

/// Reads a bilingual dictionary: a source and a target word per line,
/// separated by a tab (or, failing that, by whitespace).
pub fn read_dictionary(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read(path)
        .map_err(|e| VocabError::Model(retarget_model::ModelError::io(path, e)))?;
    let text = String::from_utf8(text)
        .map_err(|e| VocabError::invalid(path, format!("not UTF-8 text: {e}")))?;
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let fields: Vec<&str> = match line.split('\t').collect::<Vec<_>>() {
            tab if tab.len() == 2 => tab,
            _ => line.split_whitespace().collect(),
        };
        match fields.as_slice() {
            [source, target] => pairs.push((source.to_string(), target.to_string())),
            _ => {
                return Err(VocabError::invalid(
                    path,
                    format!("line {}: not a source and a target word: {line:?}", n + 1),
                ))
            }
        }
    }
    if pairs.is_empty() {
        return Err(VocabError::invalid(path, "has no word pairs"));
    }
    Ok(pairs)
}

/// Python's `str.title()`: each run of letters starts upper case, the rest
/// lower case.
fn title(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut after_letter = false;
    for c in word.chars() {
        if after_letter {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        after_letter = c.is_alphabetic();
    }
    out
}

/// The orthogonal map (dims × dims, applied as `x · R`) that best takes the
/// source vectors of the dictionary's pairs onto the target vectors
/// (Procrustes: R = U Vᵀ for UΣVᵀ = AᵀB), every pair tried as written,
/// lower-cased and title-cased on either side, as WECHSEL does.
pub fn align(
    source: &FastTextModel,
    target: &FastTextModel,
    dictionary: &[(String, String)],
    path: &Path,
) -> Result<DMatrix<f64>> {
    let d = source.dims();
    let mut cross = DMatrix::<f64>::zeros(d, d);
    let mut pairs = 0;
    for (s, t) in dictionary {
        for sw in [s.clone(), s.to_lowercase(), title(s)] {
            for tw in [t.clone(), t.to_lowercase(), title(t)] {
                if !(source.knows(&sw) && target.knows(&tw)) {
                    continue;
                }
                let (a, b) = (source.word_vector(&sw), target.word_vector(&tw));
                for i in 0..d {
                    for j in 0..d {
                        cross[(i, j)] += a[i] * b[j];
                    }
                }
                pairs += 1;
            }
        }
    }
    if pairs == 0 {
        return Err(VocabError::invalid(
            path,
            "no pair of the dictionary has both words in the fastText models; check the languages",
        ));
    }
    let svd = cross.svd(true, true);
    let (u, v_t) = (svd.u.expect("requested"), svd.v_t.expect("requested"));
    Ok(u * v_t)
}

/// Python's `str.strip()`.
fn strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// Every token's vector, as WECHSEL embeds it: the fastText vector of its
/// decoded, stripped text, mapped by `align`, over (norm + 1e-8); zeros
/// where fastText has none.
fn token_vectors(
    file: &TokenizerFile,
    tokenizer: &Tokenizer,
    vectors: &FastTextModel,
    align: Option<&DMatrix<f64>>,
) -> Result<Vec<f64>> {
    let d = vectors.dims();
    let rows: Vec<Vec<f64>> = (0..file.len())
        .into_par_iter()
        .map(|id| {
            let text = tokenizer
                .decode(&[id as u32], false)
                .map_err(|e| VocabError::Internal(format!("decoding token {id}: {e}")))?;
            let mut v = vectors.word_vector(strip(&text));
            if let Some(r) = align {
                v = (0..d)
                    .map(|j| (0..d).map(|i| v[i] * r[(i, j)]).sum())
                    .collect();
            }
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt() + 1e-8;
            Ok(v.iter().map(|x| x / norm).collect())
        })
        .collect::<Result<_>>()?;
    Ok(rows.concat())
}

/// WECHSEL's mixtures for the new tokens `missing` (new ids): (old id,
/// weight) of each one's nearest old tokens; empty (a random row) for new
/// tokens without a vector.
pub fn mixtures(
    old: (&TokenizerFile, &Tokenizer),
    new: (&TokenizerFile, &Tokenizer),
    missing: &[usize],
    inputs: &WechselInputs,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let source = FastTextModel::open_word_vectors(&inputs.source_vectors)?;
    let target = if inputs.target_vectors == inputs.source_vectors {
        None
    } else {
        Some(FastTextModel::open_word_vectors(&inputs.target_vectors)?)
    };
    let target_ref = target.as_ref().unwrap_or(&source);
    if source.dims() != target_ref.dims() {
        return Err(VocabError::invalid(
            target_ref.path(),
            format!(
                "has {}-dimensional vectors but {} has {}; WECHSEL needs one dimension",
                target_ref.dims(),
                source.path().display(),
                source.dims()
            ),
        ));
    }
    let rotation = match &inputs.dictionary {
        Some(path) => Some(align(&source, target_ref, &read_dictionary(path)?, path)?),
        None => None,
    };
    let d = source.dims();
    let old_exact = token_vectors(old.0, old.1, &source, rotation.as_ref())?;
    let new_exact = token_vectors(new.0, new.1, target_ref, None)?;
    let old_vectors: Vec<f32> = old_exact.iter().map(|x| *x as f32).collect();
    let new_vectors: Vec<f32> = new_exact.iter().map(|x| *x as f32).collect();
    let internal =
        |e: candle_core::Error| VocabError::Internal(format!("WECHSEL similarities: {e}"));
    let old_matrix =
        Tensor::from_vec(old_vectors, (old.0.len(), d), &Device::Cpu).map_err(internal)?;
    let old_t = old_matrix.t().map_err(internal)?;
    let k = inputs.neighbors.clamp(1, old.0.len());
    let mut out = Vec::with_capacity(missing.len());
    for chunk in missing.chunks(1024) {
        let rows: Vec<f32> = chunk
            .iter()
            .flat_map(|&id| new_vectors[id * d..(id + 1) * d].iter().copied())
            .collect();
        let sims = Tensor::from_vec(rows, (chunk.len(), d), &Device::Cpu)
            .and_then(|m| m.matmul(&old_t))
            .and_then(|s| s.to_vec2::<f32>())
            .map_err(internal)?;
        let part: Vec<Vec<(usize, f64)>> = chunk
            .par_iter()
            .zip(sims)
            .map(|(&id, sims)| {
                if new_vectors[id * d..(id + 1) * d].iter().all(|x| *x == 0.0) {
                    return Vec::new();
                }
                // Candidates by the float32 product, then the exact float64
                // similarity decides, ties (old tokens with the same text,
                // hence the same vector) going to the lower id.
                let mut order: Vec<usize> = (0..sims.len()).collect();
                order.select_nth_unstable_by(k - 1, |a, b| sims[*b].total_cmp(&sims[*a]));
                // Everything within float32 noise of the k-th (whole groups
                // of tied tokens included).
                let floor = sims[order[k - 1]] - 1e-4;
                let v = &new_exact[id * d..(id + 1) * d];
                let mut scored: Vec<(usize, f64)> = (0..sims.len())
                    .filter(|&o| sims[o] >= floor)
                    .map(|o| {
                        let u = &old_exact[o * d..(o + 1) * d];
                        (o, u.iter().zip(v).map(|(a, b)| a * b).sum())
                    })
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                scored.truncate(k);
                let order: Vec<usize> = scored.iter().map(|(o, _)| *o).collect();
                let top = scored[0].1 / inputs.temperature;
                let exps: Vec<f64> = scored
                    .iter()
                    .map(|(_, sim)| (sim / inputs.temperature - top).exp())
                    .collect();
                let total: f64 = exps.iter().sum();
                order
                    .into_iter()
                    .zip(exps)
                    .map(|(o, e)| (o, e / total))
                    .collect()
            })
            .collect();
        out.extend(part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_follows_python() {
        assert_eq!(title("hello world"), "Hello World");
        assert_eq!(title("HELLO"), "Hello");
        assert_eq!(title("o'neil"), "O'Neil");
        assert_eq!(title("straße2x"), "Straße2X");
    }

    #[test]
    fn dictionaries_are_read_and_malformed_lines_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("en-de.txt");
        std::fs::write(&path, "house\tHaus\ndog Hund\n").unwrap();
        assert_eq!(
            read_dictionary(&path).unwrap(),
            vec![
                ("house".into(), "Haus".into()),
                ("dog".into(), "Hund".into())
            ]
        );
        std::fs::write(&path, "house\tHaus\nthree words here\n").unwrap();
        let err = read_dictionary(&path).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("en-de.txt"), "{err}");
    }
}
