//! Translation models on the tiny m2m_100 (NLLB-style) and marian fixtures:
//! the target language is forced the family's way, batches equal single
//! sentences, teacher-forced scores follow from the logits, bad requests are
//! refused by name.

mod common;

use std::path::Path;

use retarget_eval::language::Language;
use retarget_fixtures::{write_fixture, Fixture};
use retarget_infer::model::{open_model, AnyModel};
use retarget_infer::seq2seq::translate::TranslateOptions;
use retarget_infer::seq2seq::TranslationModel;
use retarget_infer::Device;

fn open(kind: Fixture, dir: &std::path::Path) -> TranslationModel {
    write_fixture(kind, dir).unwrap();
    match open_model(dir, &Device::Cpu).unwrap() {
        AnyModel::Seq2Seq(model) => model,
        _ => panic!("a translation fixture opened as another kind of model"),
    }
}

fn options(src: Option<&str>, tgt: &str, beams: usize, batch: usize) -> TranslateOptions {
    TranslateOptions {
        src: src.map(|s| Language::parse(s).unwrap()),
        tgt: Language::parse(tgt).unwrap(),
        beams: Some(beams),
        max_new_tokens: Some(12),
        batch,
    }
}

const LINES: [&str; 3] = [
    "the cat sat on the mat",
    "habari",
    "watu wote wamezaliwa huru na sawa",
];

#[test]
fn nllb_style_models_mark_the_source_and_force_the_target_language() {
    let dir = tempfile::tempdir().unwrap();
    let model = open(Fixture::M2m100, dir.path());
    let swh = model.tokenizer.token_to_id("swh_Latn").unwrap();
    let eng = model.tokenizer.token_to_id("eng_Latn").unwrap();
    let lines: Vec<String> = LINES.map(String::from).to_vec();
    for beams in [1, 4] {
        let one_by_one = model
            .translate(
                Path::new("lines.txt"),
                &lines,
                &options(Some("eng"), "swh", beams, 1),
                &|_| {},
            )
            .unwrap();
        let batched = model
            .translate(
                Path::new("lines.txt"),
                &lines,
                &options(Some("eng"), "swh", beams, 3),
                &|_| {},
            )
            .unwrap();
        for (a, b) in one_by_one.iter().zip(&batched) {
            assert_eq!(a.ids, b.ids, "beams {beams}");
            assert!((a.score - b.score).abs() < 1e-4);
            assert_eq!(a.source_ids[0], eng, "source language first");
            assert_eq!(
                *a.source_ids.last().unwrap(),
                model.model.config().eos_token_id
            );
            assert_eq!(a.ids[0], swh, "target language forced first");
            assert!(a.ids.len() <= 12);
        }
    }
    let err = model
        .translate(
            Path::new("lines.txt"),
            &lines,
            &options(None, "swh", 1, 1),
            &|_| {},
        )
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("lines.txt: line 1: m2m_100")
            && err.to_string().contains("give --src"),
        "{err}"
    );
    let err = model
        .translate(
            Path::new("lines.txt"),
            &lines,
            &options(Some("eng"), "deu", 1, 1),
            &|_| {},
        )
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("no token for deu") && text.contains("swh_Latn"),
        "{text}"
    );
}

#[test]
fn marian_reads_a_target_prefix_and_never_generates_padding() {
    let dir = tempfile::tempdir().unwrap();
    let model = open(Fixture::Marian, dir.path());
    let prefix = model.tokenizer.token_to_id(">>fra<<").unwrap();
    let pad = model.model.config().pad_token_id;
    let lines: Vec<String> = LINES.map(String::from).to_vec();
    let out = model
        .translate(
            Path::new("lines.txt"),
            &lines,
            &options(None, "fra", 4, 2),
            &|_| {},
        )
        .unwrap();
    for t in &out {
        assert_eq!(t.source_ids[0], prefix);
        assert!(!t.ids.contains(&pad), "{:?}", t.ids);
    }
}

#[test]
fn teacher_forced_scores_sum_the_label_log_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let model = open(Fixture::M2m100, dir.path());
    let opts = options(Some("eng"), "swh", 1, 1);
    let (score, logits) = model.score_pair("the cat", "paka", &opts).unwrap();
    let mut labels = vec![model.tokenizer.token_to_id("swh_Latn").unwrap()];
    labels.extend(model.tokenizer.encode("paka", false).unwrap().get_ids());
    labels.push(model.model.config().eos_token_id);
    assert_eq!(score.tokens, labels.len());
    let expected = common::reference_nll(&logits, &labels);
    assert!(
        (score.nll - expected).abs() < 1e-4 * expected,
        "{} vs {expected}",
        score.nll
    );
}

#[test]
fn t5_translates_without_language_tokens_and_scores_by_teacher_forcing() {
    let dir = tempfile::tempdir().unwrap();
    let model = open(Fixture::T5, dir.path());
    assert!(model.languages.is_empty());
    let lines: Vec<String> = LINES.map(String::from).to_vec();
    let one = model
        .translate(
            Path::new("lines.txt"),
            &lines,
            &options(None, "deu", 3, 1),
            &|_| {},
        )
        .unwrap();
    let all = model
        .translate(
            Path::new("lines.txt"),
            &lines,
            &options(None, "deu", 3, 3),
            &|_| {},
        )
        .unwrap();
    for (a, b) in one.iter().zip(&all) {
        assert_eq!(a.ids, b.ids);
        assert_eq!(
            *a.source_ids.last().unwrap(),
            model.model.config().eos_token_id
        );
    }
    let (score, logits) = model
        .score_pair("the cat", "die Katze", &options(None, "deu", 1, 1))
        .unwrap();
    assert_eq!(logits.dims()[0], score.tokens);
    assert!(score.nll > 0.0);
}
