//! `expand` on the byte-level BPE fixtures: old ids and rows unchanged, new
//! tokens built by appended merges, FVT rows, fewer tokens on the corpus.

mod common;

use std::path::Path;

use retarget_fixtures::{write_fixture, Fixture};
use retarget_vocab::trim::read_corpus;
use retarget_vocab::{ExpandOptions, Init, InitInputs, InitKind};
use tokenizers::{Model, Tokenizer};

use common::expand;

fn floats(dir: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    common::f32_tensor(dir, name)
}

/// A corpus with words the fixture tokenizer splits (Swahili-like text).
fn corpus(dir: &Path) -> std::path::PathBuf {
    let text = "kwaheri rafiki yangu habari za asubuhi tunakwenda sokoni leo\n".repeat(20)
        + &"watoto wanasoma vitabu shuleni kila siku\n".repeat(20);
    let path = dir.join("swahili.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn appends_tokens_keeps_old_ids_and_rows_and_initialises_with_fvt() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaUntied, &model).unwrap();
    let options = ExpandOptions {
        corpus: read_corpus(&[corpus(dir.path())]).unwrap(),
        add: 12,
        tokens: None,
        init: Init::Mean,
        max_shard_bytes: 5_000_000_000,
    };
    let out = dir.path().join("out");
    let report = expand(&model, &out, &options).unwrap();
    assert_eq!(report.tokens_after, report.tokens_before + 12);
    assert!(
        report.corpus_tokens.1 < report.corpus_tokens.0,
        "{report:?}"
    );
    let old = Tokenizer::from_file(model.join("tokenizer.json")).unwrap();
    let new = Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    for (token, id) in old.get_vocab(true) {
        assert_eq!(new.token_to_id(&token), Some(id), "{token}");
    }
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        let (shape_a, a) = floats(&model, name);
        let (shape_b, b) = floats(&out, name);
        let width = shape_a[1];
        assert_eq!(shape_b[0], report.rows_after);
        assert_eq!(&b[..a.len()], &a[..], "{name}: old rows unchanged");
        // FVT: each new row is the mean of the old rows of the old pieces.
        for id in report.tokens_before..report.tokens_after {
            let token = new.id_to_token(id as u32).unwrap();
            let pieces: Vec<usize> = old
                .get_model()
                .tokenize(&token)
                .unwrap()
                .iter()
                .map(|t| t.id as usize)
                .collect();
            for j in 0..width {
                let mean = pieces.iter().map(|&p| a[p * width + j] as f64).sum::<f64>()
                    / pieces.len() as f64;
                assert!(
                    (b[id * width + j] as f64 - mean).abs() < 1e-6,
                    "{token} dim {j}"
                );
            }
        }
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], report.rows_after);
}

#[test]
fn random_init_is_seeded_and_bad_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let text = corpus(dir.path());
    let run = |name: &str, add: usize, seed: u64| {
        let options = ExpandOptions {
            corpus: read_corpus(std::slice::from_ref(&text)).unwrap(),
            add,
            tokens: None,
            init: Init::Random { seed },
            max_shard_bytes: 5_000_000_000,
        };
        expand(&model, &dir.path().join(name), &options)
    };
    run("a", 5, 1).unwrap();
    run("b", 5, 1).unwrap();
    run("c", 5, 2).unwrap();
    let rows = |n: &str| floats(&dir.path().join(n), "model.embed_tokens.weight").1;
    assert_eq!(rows("a"), rows("b"));
    assert_ne!(rows("a"), rows("c"));
    let too_many = run("d", 100_000, 1).unwrap_err();
    assert!(
        too_many.is_bad_input() && too_many.to_string().contains("larger than"),
        "{too_many}"
    );
    assert!(!dir.path().join("d").exists());
}

/// Unigram (T5) and WordPiece (BERT): new pieces are real vocabulary that
/// the tokenizer uses on the corpus; old ids, pieces and rows stay.
#[test]
fn unigram_and_wordpiece_vocabularies_grow_too() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus(dir.path());
    for (fixture, embedding) in [
        (Fixture::T5, "shared.weight"),
        (Fixture::Bert, "bert.embeddings.word_embeddings.weight"),
    ] {
        let model = dir.path().join(format!("{fixture:?}"));
        write_fixture(fixture, &model).unwrap();
        let out = dir.path().join(format!("{fixture:?}-out"));
        let options = ExpandOptions {
            corpus: read_corpus(std::slice::from_ref(&text)).unwrap(),
            add: 10,
            tokens: None,
            init: Init::Mean,
            max_shard_bytes: 5_000_000_000,
        };
        let report = expand(&model, &out, &options).unwrap();
        assert_eq!(
            report.tokens_after,
            report.tokens_before + 10,
            "{fixture:?}"
        );
        assert!(
            report.corpus_tokens.1 < report.corpus_tokens.0,
            "{fixture:?}: {report:?}"
        );
        let old = Tokenizer::from_file(model.join("tokenizer.json")).unwrap();
        let new = Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
        for (token, id) in old.get_vocab(true) {
            assert_eq!(new.token_to_id(&token), Some(id), "{fixture:?} {token}");
        }
        let line = std::fs::read_to_string(&text).unwrap();
        let ids = new.encode(line.lines().next().unwrap(), false).unwrap();
        assert!(
            ids.get_ids()
                .iter()
                .any(|&id| id as usize >= report.tokens_before),
            "{fixture:?}: the new tokens are used: {:?}",
            ids.get_tokens()
        );
        let (shape_a, a) = floats(&model, embedding);
        let (_, b) = floats(&out, embedding);
        let width = shape_a[1];
        assert_eq!(&b[..a.len()], &a[..], "{fixture:?}: old rows unchanged");
        // FVT: a new row is the mean of the rows of the old pieces.
        let id = report.tokens_before;
        let token = new.id_to_token(id as u32).unwrap();
        let pieces: Vec<usize> = if let Some(rest) = token.strip_prefix("##") {
            // A continuation: its old pieces, as WordPiece splits a word's inside.
            let inner = old.encode(format!("a{rest}"), false).unwrap();
            inner.get_ids()[1..].iter().map(|&i| i as usize).collect()
        } else {
            old.get_model()
                .tokenize(&token)
                .unwrap()
                .iter()
                .map(|t| t.id as usize)
                .collect()
        };
        for j in 0..width {
            let mean =
                pieces.iter().map(|&p| a[p * width + j] as f64).sum::<f64>() / pieces.len() as f64;
            assert!(
                (b[id * width + j] as f64 - mean).abs() < 1e-6,
                "{fixture:?} {token} {pieces:?} dim {j}"
            );
        }
    }
}

#[test]
fn transtok_rows_come_from_the_parallel_corpus_and_need_one() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let target = corpus(dir.path());
    let source = dir.path().join("english.txt");
    let english = "goodbye my friend good morning we go to the market today\n".repeat(20)
        + &"children read books at school every day\n".repeat(20);
    std::fs::write(&source, english).unwrap();
    let options = |init| ExpandOptions {
        corpus: read_corpus(std::slice::from_ref(&target)).unwrap(),
        add: 12,
        tokens: None,
        init,
        max_shard_bytes: 5_000_000_000,
    };
    let fvt = dir.path().join("fvt");
    expand(&model, &fvt, &options(Init::Mean)).unwrap();
    let aligned = dir.path().join("transtok");
    let report = expand(
        &model,
        &aligned,
        &options(
            Init::new(
                InitKind::TransTok,
                &InitInputs {
                    parallel: Some((source.clone(), target.clone())),
                    ..InitInputs::default()
                },
            )
            .unwrap(),
        ),
    )
    .unwrap();
    let n = report.aligned_tokens.unwrap();
    assert!(n > 0 && n <= 12, "{report:?}");
    let (shape, a) = floats(&fvt, "model.embed_tokens.weight");
    let (_, b) = floats(&aligned, "model.embed_tokens.weight");
    let old = shape[1] * report.tokens_before;
    assert_eq!(&a[..old], &b[..old], "old rows unchanged");
    assert_ne!(&a[old..], &b[old..], "aligned rows differ from FVT rows");
    // Without its parallel corpus trans-tokenization cannot be built.
    let err = Init::new(InitKind::TransTok, &InitInputs::default()).unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("--parallel"),
        "{err}"
    );
    // Nor can a replacement's initialisation serve appended tokens.
    let err = Init::new(InitKind::Focus, &InitInputs::default()).unwrap_err();
    assert!(err.to_string().contains("--replace"), "{err}");
}
