//! Masked language models on the bert fixture: pseudo-log-likelihood scoring.

mod common;

use candle_core::{Device, IndexOp, Tensor};
use retarget_fixtures::{write_fixture, Fixture};
use retarget_infer::encoder::MaskedLanguageModel;
use retarget_infer::model::{open_model, AnyModel};

fn open(dir: &std::path::Path) -> MaskedLanguageModel {
    write_fixture(Fixture::Bert, dir).unwrap();
    match open_model(dir, &Device::Cpu).unwrap() {
        AnyModel::Encoder(model) => model,
        _ => panic!("the bert fixture did not open as a masked language model"),
    }
}

#[test]
fn pseudo_log_likelihood_masks_each_ordinary_token_in_turn() {
    let dir = tempfile::tempdir().unwrap();
    let model = open(dir.path());
    let text = "the cat sat";
    let ids = model
        .tokenizer
        .encode(text, true)
        .unwrap()
        .get_ids()
        .to_vec();
    let mask = model.tokenizer.token_to_id("[MASK]").unwrap();
    let (score, plain) = model.score_line(text).unwrap();
    assert_eq!(
        score.tokens,
        ids.len() - 2,
        "[CLS] and [SEP] are not scored"
    );
    assert_eq!(
        plain.dims(),
        &[ids.len(), model.tokenizer.get_vocab_size(true)]
    );
    // Reference: mask position i alone, score token i from that row.
    let mut expected = 0.0;
    for i in 1..ids.len() - 1 {
        let mut masked = ids.clone();
        masked[i] = mask;
        let input = Tensor::new(masked.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let logits = model
            .model
            .logits(&input)
            .unwrap()
            .i((0, i..i + 1))
            .unwrap();
        expected += common::reference_nll(&logits, &ids[i..i + 1]);
    }
    assert!(
        (score.nll - expected).abs() < 1e-4 * expected,
        "{} vs {expected}",
        score.nll
    );
    // Scoring unmasked would be a different (wrong) number.
    let unmasked =
        common::reference_nll(&plain.i(1..ids.len() - 1).unwrap(), &ids[1..ids.len() - 1]);
    assert!((unmasked - expected).abs() > 1e-3);
}
