//! `replace`: the vocabulary of the llama fixture replaced by the tokenizer
//! of an expanded copy (old tokens shared, Swahili tokens new). FVT rows
//! must equal what `expand` wrote; CLP rows follow the similarity formula;
//! configs that name tokens the new tokenizer lacks are refused.

mod common;

use std::path::{Path, PathBuf};

use retarget_fixtures::{write_fixture, Fixture};
use retarget_vocab::trim::read_corpus;
use retarget_vocab::{
    ExpandOptions, Init, InitInputs, InitKind, ReplaceOptions, ReplaceReport, Replacement,
    VocabModel, WechselInputs,
};

use common::expand;

fn replace(
    model: &Path,
    out: &Path,
    options: &ReplaceOptions,
) -> retarget_vocab::Result<ReplaceReport> {
    retarget_vocab::replace(&VocabModel::open(model, "replacement")?, out, options)
}

/// The initialisation `kind` of a replaced vocabulary, with `inputs`.
fn init(kind: InitKind, inputs: InitInputs) -> Init {
    Init::new(
        kind,
        &InitInputs {
            replacing: true,
            ..inputs
        },
    )
    .unwrap()
}

fn rows(dir: &Path, name: &str) -> (usize, Vec<f32>) {
    let (shape, values) = common::f32_tensor(dir, name);
    (shape[1], values)
}

/// The llama fixture and a copy expanded with 12 Swahili tokens (FVT rows).
fn model_and_expanded(dir: &Path) -> (PathBuf, PathBuf) {
    let model = dir.join("llama");
    write_fixture(Fixture::LlamaUntied, &model).unwrap();
    let corpus = dir.join("swahili.txt");
    std::fs::write(
        &corpus,
        "kwaheri rafiki yangu habari za asubuhi tunakwenda sokoni leo\n".repeat(20),
    )
    .unwrap();
    let expanded = dir.join("expanded");
    let options = ExpandOptions {
        corpus: read_corpus(&[corpus]).unwrap(),
        add: 12,
        tokens: None,
        init: Init::Mean,
        max_shard_bytes: 5_000_000_000,
    };
    expand(&model, &expanded, &options).unwrap();
    (model, expanded)
}

fn options(init: Init, tokenizer: Option<PathBuf>, helper: Option<PathBuf>) -> ReplaceOptions {
    ReplaceOptions {
        replacement: Replacement {
            tokenizer,
            helper,
            ..Replacement::default()
        },
        init,
        corpus: Vec::new(),
        max_shard_bytes: 5_000_000_000,
    }
}

#[test]
fn fvt_rows_of_a_replacement_equal_the_expansion_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (model, expanded) = model_and_expanded(dir.path());
    let out = dir.path().join("replaced");
    let report = replace(
        &model,
        &out,
        &options(Init::Mean, Some(expanded.join("tokenizer.json")), None),
    )
    .unwrap();
    assert_eq!(report.shared_tokens, report.tokens_before);
    assert_eq!(report.tokens_after, report.tokens_before + 12);
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        assert_eq!(rows(&out, name), rows(&expanded, name), "{name}");
    }
    assert_eq!(
        std::fs::read(out.join("tokenizer.json")).unwrap(),
        std::fs::read(expanded.join("tokenizer.json")).unwrap()
    );
}

#[test]
fn clp_rows_are_similarity_weighted_sums_of_shared_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (model, helper) = model_and_expanded(dir.path());
    let out = dir.path().join("clp");
    let report = replace(
        &model,
        &out,
        &options(
            init(
                InitKind::Clp,
                InitInputs {
                    helper: Some(helper.clone()),
                    ..InitInputs::default()
                },
            ),
            None,
            Some(helper.clone()),
        ),
    )
    .unwrap();
    let (n_old, n_new) = (report.tokens_before, report.tokens_after);
    let (hw, h) = rows(&helper, "model.embed_tokens.weight");
    let unit = |i: usize| {
        let v = &h[i * hw..(i + 1) * hw];
        let norm = v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        v.iter().map(|x| *x as f64 / norm).collect::<Vec<f64>>()
    };
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        let (w, old) = rows(&model, name);
        let (_, new) = rows(&out, name);
        assert_eq!(
            &new[..n_old * w],
            &old[..n_old * w],
            "{name}: shared rows copied"
        );
        for m in n_old..n_new {
            let hm = unit(m);
            let sims: Vec<f64> = (0..n_old)
                .map(|o| unit(o).iter().zip(&hm).map(|(a, b)| a * b).sum())
                .collect();
            let total: f64 = sims.iter().sum();
            for j in 0..w {
                let expected: f64 = (0..n_old)
                    .map(|o| sims[o] / total * old[o * w + j] as f64)
                    .sum();
                let got = new[m * w + j] as f64;
                assert!(
                    (got - expected).abs() <= 1e-4 * expected.abs().max(1e-2),
                    "{name} token {m} dim {j}: {got} vs {expected}"
                );
            }
        }
    }
}

#[test]
fn bad_replacements_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (model, expanded) = model_and_expanded(dir.path());
    let t5 = dir.path().join("t5");
    write_fixture(Fixture::T5, &t5).unwrap();
    let out = dir.path().join("out");
    // The T5 tokenizer lacks the llama config's special tokens.
    let err = replace(
        &model,
        &out,
        &options(Init::Mean, Some(t5.join("tokenizer.json")), None),
    )
    .unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("config.json"),
        "{err}"
    );
    // A helper whose tokenizer is not the new one.
    let err = replace(
        &model,
        &out,
        &options(
            init(
                InitKind::Clp,
                InitInputs {
                    helper: Some(model.clone()),
                    ..InitInputs::default()
                },
            ),
            Some(expanded.join("tokenizer.json")),
            Some(model.clone()),
        ),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("is not the new tokenizer"),
        "{err}"
    );
    let err = replace(&model, &out, &options(Init::Mean, None, None)).unwrap_err();
    assert!(err.to_string().contains("--tokenizer"), "{err}");
    assert!(!out.exists());
}

/// Without a tokenizer, one of the old kind is trained on the corpus: the
/// old added tokens come first, special-token ids follow them, shared
/// tokens keep their rows and the corpus needs fewer tokens.
#[test]
fn a_replacement_trained_on_the_corpus_keeps_the_special_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("swahili.txt");
    std::fs::write(
        &corpus,
        "kwaheri rafiki yangu habari za asubuhi tunakwenda sokoni leo\n".repeat(20)
            + &"watoto wanasoma vitabu shuleni kila siku\n".repeat(20),
    )
    .unwrap();
    // Byte-level BPE starts from 256 byte symbols.
    for (fixture, embedding, size) in [
        (Fixture::LlamaTied, "model.embed_tokens.weight", 350),
        (Fixture::T5, "shared.weight", 150),
        (Fixture::Bert, "bert.embeddings.word_embeddings.weight", 150),
    ] {
        let model = dir.path().join(format!("{fixture:?}"));
        write_fixture(fixture, &model).unwrap();
        let out = dir.path().join(format!("{fixture:?}-replaced"));
        let mut options = options(Init::Mean, None, None);
        options.corpus = read_corpus(std::slice::from_ref(&corpus)).unwrap();
        options.replacement.vocab_size = Some(size);
        let report = replace(&model, &out, &options).unwrap();
        let (before, after) = report.corpus_tokens.unwrap();
        assert!(after < before, "{fixture:?}: {report:?}");
        assert!(
            report.shared_tokens > 0 && report.tokens_after <= size,
            "{report:?}"
        );
        let old = tokenizers::Tokenizer::from_file(model.join("tokenizer.json")).unwrap();
        let new = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
        let specials: Vec<String> = old
            .get_added_tokens_decoder()
            .into_values()
            .map(|t| t.content)
            .collect();
        for special in &specials {
            assert!(new.token_to_id(special).is_some(), "{fixture:?} {special}");
        }
        // The post-processor's special tokens carry their new ids.
        let with_specials = new.encode("kwaheri rafiki", true).unwrap();
        for (token, id) in with_specials
            .get_tokens()
            .iter()
            .zip(with_specials.get_ids())
        {
            assert_eq!(new.token_to_id(token), Some(*id), "{fixture:?} {token}");
        }
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
        let old_config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(model.join("config.json")).unwrap()).unwrap();
        if let Some(eos) = old_config["eos_token_id"].as_u64() {
            let token = old.id_to_token(eos as u32).unwrap();
            assert_eq!(
                config["eos_token_id"].as_u64(),
                new.token_to_id(&token).map(u64::from)
            );
        }
        // Shared tokens keep their rows.
        let (w, old_rows) = rows(&model, embedding);
        let (_, new_rows) = rows(&out, embedding);
        for (token, id) in new.get_vocab(true) {
            if let Some(o) = old.token_to_id(&token) {
                let (o, n) = (o as usize, id as usize);
                assert_eq!(
                    &new_rows[n * w..(n + 1) * w],
                    &old_rows[o * w..(o + 1) * w],
                    "{fixture:?} {token}"
                );
            }
        }
    }
}

/// FOCUS on constructed auxiliary vectors: a new token whose vector points
/// at one shared token takes that token's row; one halfway between two
/// takes their mean (sparsemax [0.5, 0.5]); one without a vector is random.
#[test]
fn focus_rows_follow_the_sparsemax_of_auxiliary_similarities() {
    let dir = tempfile::tempdir().unwrap();
    let (model, expanded) = model_and_expanded(dir.path());
    let new = tokenizers::Tokenizer::from_file(expanded.join("tokenizer.json")).unwrap();
    let (n_old, n_new) = (400usize, new.get_vocab_size(true));
    let token = |id: usize| new.id_to_token(id as u32).unwrap();
    let (a, b, c) = (10, 20, 30);
    let vec_file = dir.path().join("aux.vec");
    let lines = [
        format!("{} 1 0 0", token(a)),
        format!("{} 0 1 0", token(b)),
        format!("{} 0 0 1", token(c)),
        format!("{} 2 0 0", token(n_old)),
        format!("{} 1 1 0", token(n_old + 1)),
    ];
    std::fs::write(&vec_file, format!("5 3\n{}\n", lines.join("\n"))).unwrap();
    let out = dir.path().join("focus");
    let focus = options(
        init(
            InitKind::Focus,
            InitInputs {
                aux_vectors: Some(vec_file),
                ..InitInputs::default()
            },
        ),
        Some(expanded.join("tokenizer.json")),
        None,
    );
    let report = replace(&model, &out, &focus).unwrap();
    assert_eq!(report.shared_tokens, n_old, "{report:?}");
    assert_eq!(report.random_rows, n_new - n_old - 2, "{report:?}");
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        let (w, old) = rows(&model, name);
        let (_, got) = rows(&out, name);
        let row = |v: &[f32], i: usize| v[i * w..(i + 1) * w].to_vec();
        assert_eq!(row(&got, n_old), row(&old, a), "{name}");
        let mean: Vec<f32> = row(&old, a)
            .iter()
            .zip(row(&old, b))
            .map(|(x, y)| (0.5 * *x as f64 + 0.5 * y as f64) as f32)
            .collect();
        assert_eq!(row(&got, n_old + 1), mean, "{name}");
        // Shared tokens keep the row of an old token with their canonical
        // form (byte-level pieces of split characters share one).
        for t in [a, b, c] {
            assert!(row(&got, t) == row(&old, t), "{name}: shared row {t}");
        }
    }
    let err = replace(
        &model,
        &dir.path().join("x"),
        &options(
            init(InitKind::Focus, InitInputs::default()),
            Some(expanded.join("tokenizer.json")),
            None,
        ),
    )
    .unwrap_err();
    assert!(err.to_string().contains("--aux-vectors"), "{err}");
}

/// A fastText `.bin` model with the given words and rows and no n-grams
/// (bucket 0), written in fastText's layout.
fn fasttext_bin(path: &Path, words: &[(&str, Vec<f32>)]) {
    let dim = words[0].1.len() as i32;
    let mut b = Vec::new();
    b.extend(793_712_314i32.to_le_bytes());
    b.extend(12i32.to_le_bytes());
    // dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate, t
    for a in [dim, 5, 1, 1, 5, 1, 2, 2, 0, 3, 6, 100] {
        b.extend(a.to_le_bytes());
    }
    b.extend(1e-4f64.to_le_bytes());
    let n = words.len() as i32;
    b.extend(n.to_le_bytes());
    b.extend(n.to_le_bytes());
    b.extend(0i32.to_le_bytes());
    b.extend(100i64.to_le_bytes());
    b.extend((-1i64).to_le_bytes());
    for (word, _) in words {
        b.extend(word.as_bytes());
        b.push(0);
        b.extend(10i64.to_le_bytes());
        b.push(0);
    }
    b.push(0); // not quantized
    b.extend((n as i64).to_le_bytes());
    b.extend((dim as i64).to_le_bytes());
    for (_, row) in words {
        for x in row {
            b.extend(x.to_le_bytes());
        }
    }
    std::fs::write(path, b).unwrap();
}

/// WECHSEL on constructed fastText models (one space, no dictionary): with
/// one neighbour, a new token whose vector points at an old token's takes
/// that token's row; new tokens without a vector are random; a truncated
/// model is refused by name.
#[test]
fn wechsel_rows_come_from_the_nearest_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let (model, expanded) = model_and_expanded(dir.path());
    let old = tokenizers::Tokenizer::from_file(model.join("tokenizer.json")).unwrap();
    let new = tokenizers::Tokenizer::from_file(expanded.join("tokenizer.json")).unwrap();
    let text = |t: &tokenizers::Tokenizer, id: usize| {
        t.decode(&[id as u32], false).unwrap().trim().to_string()
    };
    let n_old = 400;
    // Old tokens 40 and 41 and the first two new tokens, in a 3-d space.
    let (a, b) = (40, 41);
    let words = [
        (text(&old, a), vec![1.0, 0.0, 0.0]),
        (text(&old, b), vec![0.0, 1.0, 0.0]),
        (text(&new, n_old), vec![0.9, 0.1, 0.0]),
        (text(&new, n_old + 1), vec![0.1, 0.9, 0.0]),
    ];
    let borrowed: Vec<(&str, Vec<f32>)> =
        words.iter().map(|(w, v)| (w.as_str(), v.clone())).collect();
    let bin = dir.path().join("multilingual.bin");
    fasttext_bin(&bin, &borrowed);
    let vectors = |path: &Path| {
        Some(WechselInputs {
            source_vectors: path.to_path_buf(),
            target_vectors: path.to_path_buf(),
            dictionary: None,
            neighbors: 1,
            temperature: 0.1,
        })
    };
    let with = |kind, wechsel| {
        options(
            init(
                kind,
                InitInputs {
                    wechsel,
                    ..InitInputs::default()
                },
            ),
            Some(expanded.join("tokenizer.json")),
            None,
        )
    };
    let wechsel = with(InitKind::Wechsel, vectors(&bin));
    let out = dir.path().join("wechsel");
    let report = replace(&model, &out, &wechsel).unwrap();
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        let (w, old_rows) = rows(&model, name);
        let (_, got) = rows(&out, name);
        let row = |v: &[f32], i: usize| v[i * w..(i + 1) * w].to_vec();
        assert_eq!(row(&got, n_old), row(&old_rows, a), "{name}");
        assert_eq!(row(&got, n_old + 1), row(&old_rows, b), "{name}");
    }
    // OFA-style is WECHSEL's rule in one multilingual space: the same rows.
    let ofa = with(InitKind::Ofa, vectors(&bin));
    let ofa_out = dir.path().join("ofa");
    replace(&model, &ofa_out, &ofa).unwrap();
    assert_eq!(
        std::fs::read(ofa_out.join("model.safetensors")).unwrap(),
        std::fs::read(out.join("model.safetensors")).unwrap()
    );
    // The same words as a .vec text file: a model without n-grams, as the
    // .bin (bucket 0) is: the same rows.
    let vec_file = dir.path().join("multilingual.vec");
    let lines: Vec<String> = words
        .iter()
        .map(|(w, v)| {
            format!(
                "{w} {}",
                v.iter().map(f32::to_string).collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    std::fs::write(
        &vec_file,
        format!("{} 3\n{}\n", lines.len(), lines.join("\n")),
    )
    .unwrap();
    let from_vec = with(InitKind::Ofa, vectors(&vec_file));
    let vec_out = dir.path().join("ofa-vec");
    replace(&model, &vec_out, &from_vec).unwrap();
    assert_eq!(
        std::fs::read(vec_out.join("model.safetensors")).unwrap(),
        std::fs::read(out.join("model.safetensors")).unwrap()
    );
    let mut with_dictionary = vectors(&bin);
    with_dictionary.as_mut().unwrap().dictionary = Some(bin.clone());
    let err = Init::new(
        InitKind::Ofa,
        &InitInputs {
            replacing: true,
            wechsel: with_dictionary,
            ..InitInputs::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("one multilingual"), "{err}");
    // Every token whose text has no vector is random (both vectors' texts may
    // also name other tokens, which then get rows from them too).
    assert!(
        report.random_rows > 0 && report.random_rows < report.tokens_after - 2,
        "{report:?}"
    );
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() - 7]).unwrap();
    let err = replace(&model, &dir.path().join("x"), &wechsel).unwrap_err();
    assert!(
        err.is_bad_input()
            && err.to_string().contains("multilingual.bin")
            && err.to_string().contains("file ends"),
        "{err}"
    );
    assert!(!dir.path().join("x").exists());
}

/// Without --aux-vectors, FOCUS trains token vectors on the corpus
/// tokenized with the new tokenizer: the new tokens the corpus uses often
/// get FOCUS rows (convex combinations of shared rows), the others random.
#[test]
fn focus_trains_its_auxiliary_vectors_on_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let (model, expanded) = model_and_expanded(dir.path());
    let mut focus = options(
        init(InitKind::Focus, InitInputs::default()),
        Some(expanded.join("tokenizer.json")),
        None,
    );
    focus.corpus = read_corpus(&[dir.path().join("swahili.txt")]).unwrap();
    let out = dir.path().join("focus-trained");
    let report = replace(&model, &out, &focus).unwrap();
    let new_tokens = report.tokens_after - report.shared_tokens;
    assert!(
        report.random_rows < new_tokens,
        "some new tokens get FOCUS rows: {report:?}"
    );
}
