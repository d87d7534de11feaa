//! The decoder on the tiny llama fixtures: the key/value cache gives the same
//! logits as a full pass, scores follow from the logits, generation is
//! reproducible, and configurations are read (or refused) correctly.

use std::path::Path;

mod common;

use candle_core::{Device, IndexOp, Tensor};
use retarget_fixtures::{write_fixture, Fixture};
use retarget_infer::decoder::{KvCache, Positions};
use retarget_infer::generate::GenerationOptions;
use retarget_infer::sampling::Sampling;
use retarget_infer::{InferError, LanguageModel};

fn fixture(kind: Fixture, dir: &Path) -> LanguageModel {
    write_fixture(kind, dir).unwrap();
    LanguageModel::open(dir, &Device::Cpu).unwrap()
}

fn options(max_new_tokens: usize, sampling: Sampling) -> GenerationOptions {
    GenerationOptions {
        max_new_tokens,
        sampling,
        ignore_eos: false,
        chat: false,
    }
}

#[test]
fn cached_decoding_equals_one_full_pass() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture(Fixture::LlamaUntied, dir.path());
    let ids = model
        .encode("Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.")
        .unwrap();
    assert!(ids.len() > 6);
    let (_, full) = model
        .line_logits("Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.")
        .unwrap();
    let mut cache = KvCache::new(model.decoder.config().num_layers);
    let prefix = Tensor::new(&ids[..4], &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let first = model
        .decoder
        .forward(&prefix, &mut cache, Positions::All)
        .unwrap();
    assert!(common::max_abs_diff(&first.squeeze(0).unwrap(), &full.i(..4).unwrap()) < 1e-5);
    for (position, &id) in ids.iter().enumerate().skip(4) {
        let step = Tensor::new(&[id], &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let logits = model
            .decoder
            .forward(&step, &mut cache, Positions::Last)
            .unwrap();
        let diff = common::max_abs_diff(&logits.i((0, 0)).unwrap(), &full.i(position).unwrap());
        assert!(diff < 1e-5, "position {position}: {diff}");
    }
    assert_eq!(cache.len(), ids.len());
}

#[test]
fn line_score_is_the_sum_of_next_token_log_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture(Fixture::LlamaTied, dir.path());
    let text = "the cat sat on the mat";
    let (ids, logits) = model.line_logits(text).unwrap();
    let expected = common::reference_nll(&logits, &ids[1..]);
    let (score, kept) = model.score_line(text, false).unwrap();
    assert!(kept.is_none());
    assert_eq!(score.tokens, ids.len() - 1);
    assert!(
        (score.nll - expected).abs() < 1e-4 * expected,
        "{} vs {expected}",
        score.nll
    );
    let (empty, _) = model.score_line("", false).unwrap();
    assert_eq!((empty.tokens, empty.nll), (0, 0.0));
}

#[test]
fn greedy_generation_follows_the_argmax_and_sampling_follows_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = fixture(Fixture::LlamaTied, dir.path());
    model.eos_token_ids.clear();
    let mut streamed = String::new();
    let greedy = model
        .generate("the cat", options(8, Sampling::greedy()), &mut |p| {
            streamed.push_str(p)
        })
        .unwrap();
    assert_eq!(greedy.ids.len(), 8);
    assert_eq!(streamed, greedy.text);
    // Each greedy token is the argmax of a full pass over everything before it.
    let mut ids = greedy.prompt_ids.clone();
    for &next in &greedy.ids {
        let input = Tensor::new(ids.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let mut cache = KvCache::new(model.decoder.config().num_layers);
        let logits = model
            .decoder
            .forward(&input, &mut cache, Positions::Last)
            .unwrap();
        let best = logits
            .i((0, 0))
            .unwrap()
            .argmax(0)
            .unwrap()
            .to_scalar::<u32>()
            .unwrap();
        assert_eq!(best, next);
        ids.push(next);
    }
    let sampling = |seed| Sampling {
        temperature: 1.5,
        top_p: 0.95,
        seed,
    };
    let run = |seed| {
        model
            .generate("the cat", options(16, sampling(seed)), &mut |_| {})
            .unwrap()
            .ids
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn prompts_longer_than_the_context_and_empty_prompts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture(Fixture::LlamaTied, dir.path());
    let long = "word ".repeat(model.decoder.config().max_positions + 10);
    let err = model
        .generate(&long, options(4, Sampling::greedy()), &mut |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("context is 256"), "{err}");
    assert!(err.is_bad_input());
    let err = model.score_line(&long, false).err().unwrap();
    assert!(err.to_string().contains("context of 256"), "{err}");
    let err = model
        .generate("", options(4, Sampling::greedy()), &mut |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn unsupported_architectures_are_named_with_the_supported_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(Fixture::LlamaTied, dir.path()).unwrap();
    edit_config(dir.path(), |c| {
        c.insert("model_type".into(), serde_json::json!("gpt_neox"));
    });
    let err = LanguageModel::open(dir.path(), &Device::Cpu).err().unwrap();
    assert!(matches!(err, InferError::UnsupportedArchitecture { .. }));
    let text = err.to_string();
    assert!(
        text.contains("`gpt_neox`")
            && text.contains("llama, mistral, qwen2, qwen3, gemma, gemma3_text, bert"),
        "{text}"
    );
    // A supported model of another kind is pointed to the command that runs it.
    let bert = tempfile::tempdir().unwrap();
    write_fixture(Fixture::Bert, bert.path()).unwrap();
    let err = LanguageModel::open(bert.path(), &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("masked language model"), "{err}");
}

fn edit_config(dir: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(config.as_object_mut().unwrap());
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
}

#[test]
fn rope_parameters_are_read_and_scaled_rope_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(Fixture::LlamaTied, dir.path());
    let (_, before) = base.line_logits("the cat sat").unwrap();
    // transformers 5 writes the base inside `rope_parameters`.
    edit_config(dir.path(), |c| {
        c.remove("rope_theta");
        c.insert(
            "rope_parameters".into(),
            serde_json::json!({"rope_type": "default", "rope_theta": 10000.0}),
        );
    });
    let model = LanguageModel::open(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(model.decoder.config().rope_theta, 10000.0);
    let (_, after) = model.line_logits("the cat sat").unwrap();
    assert_eq!(common::max_abs_diff(&before, &after), 0.0);
    edit_config(dir.path(), |c| {
        c.insert(
            "rope_parameters".into(),
            serde_json::json!({"rope_type": "theta", "rope_theta": 500.0}),
        );
    });
    let changed = LanguageModel::open(dir.path(), &Device::Cpu);
    let err = changed.err().unwrap().to_string();
    assert!(err.contains("rotary scaling `theta`"), "{err}");
    edit_config(dir.path(), |c| {
        c.insert(
            "rope_parameters".into(),
            serde_json::json!({"rope_type": "default", "rope_theta": 500.0}),
        );
    });
    let (_, other) = LanguageModel::open(dir.path(), &Device::Cpu)
        .unwrap()
        .line_logits("the cat sat")
        .unwrap();
    assert!(
        common::max_abs_diff(&before, &other) > 1e-4,
        "rope_theta is not used"
    );
}

#[test]
fn a_misshaped_tensor_is_reported_with_the_folder_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(Fixture::LlamaTied, dir.path()).unwrap();
    edit_config(dir.path(), |c| {
        c.insert("intermediate_size".into(), serde_json::json!(96));
    });
    let err = LanguageModel::open(dir.path(), &Device::Cpu).err().unwrap();
    let text = err.to_string();
    assert!(err.is_bad_input());
    assert!(
        text.contains(&dir.path().display().to_string()) && text.contains("gate_proj.weight"),
        "{text}"
    );
}

#[test]
fn a_padded_batch_generates_what_each_prompt_generates_alone() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture(Fixture::LlamaUntied, dir.path());
    let prompts: Vec<String> = ["the cat", "habari ya asubuhi rafiki yangu wa zamani", "x"]
        .map(String::from)
        .to_vec();
    let lengths: Vec<usize> = prompts
        .iter()
        .map(|p| model.encode(p).unwrap().len())
        .collect();
    assert!(
        lengths[1] > lengths[0] + 3,
        "{lengths:?}: the batch needs padding"
    );
    let opts = GenerationOptions {
        max_new_tokens: 12,
        sampling: Sampling::greedy(),
        ignore_eos: true,
        chat: false,
    };
    let batch = model.generate_batch(&prompts, opts).unwrap();
    for (prompt, together) in prompts.iter().zip(&batch) {
        let alone = model.generate(prompt, opts, &mut |_| {}).unwrap();
        assert_eq!(together.ids, alone.ids, "{prompt}");
        assert_eq!(together.text, alone.text);
        assert_eq!(together.ids.len(), 12);
    }
}
