//! The logit lens and the language of vocabulary tokens.

use candle_core::{Device, IndexOp, Tensor};
use retarget_eval::language::Language;
use retarget_fixtures::tokenizers_train::word_level;
use retarget_fixtures::{write_fixture, Fixture};
use retarget_infer::decoder::{KvCache, Positions};
use retarget_infer::token_languages::TokenLanguages;
use retarget_infer::LanguageModel;

fn languages(codes: &[&str]) -> Vec<Language> {
    codes.iter().map(|c| Language::parse(c).unwrap()).collect()
}

#[test]
fn tokens_get_the_language_their_script_or_lingua_says() {
    let words = [
        "привет",
        "こんにちは",
        "ひらがな",
        "123",
        "!",
        "hello",
        "the",
        "ubinadamu",
        "haki",
        "中国",
    ];
    let tokenizer = word_level(&words, "!");
    let langs = languages(&["eng", "rus", "jpn", "swh"]);
    let assigned = TokenLanguages::assign(&tokenizer, words.len(), &langs).unwrap();
    let of = |word: &str| {
        let id = words.iter().position(|w| *w == word).unwrap();
        assigned.assignment[id].map(|l| assigned.languages[l as usize].as_str())
    };
    assert_eq!(of("привет"), Some("rus"));
    assert_eq!(of("こんにちは"), Some("jpn"));
    assert_eq!(of("ひらがな"), Some("jpn"));
    assert_eq!(
        of("中国"),
        Some("jpn"),
        "Han is Japanese when Chinese is not asked for"
    );
    assert_eq!(of("123"), None);
    assert_eq!(of("!"), None);
    assert_eq!(of("hello"), Some("eng"));
    assert_eq!(of("ubinadamu"), Some("swh"));
    // Han with both Chinese and Japanese asked for: lingua decides or leaves it.
    let both =
        TokenLanguages::assign(&tokenizer, words.len(), &languages(&["zho", "jpn"])).unwrap();
    let han = both.assignment[9].map(|l| both.languages[l as usize].as_str());
    assert!(matches!(han, None | Some("zho") | Some("jpn")));
    assert_eq!(both.assignment[0], None, "Cyrillic is neither");
}

#[test]
fn the_last_layer_reads_the_models_own_logits() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(Fixture::LlamaUntied, dir.path()).unwrap();
    let model = LanguageModel::open(dir.path(), &Device::Cpu).unwrap();
    let config = model.decoder.config().clone();
    let langs = TokenLanguages::assign(
        &model.tokenizer,
        config.vocab_size,
        &languages(&["eng", "swh"]),
    )
    .unwrap();
    let report = model.lens("the cat sat on the mat", 3, &langs).unwrap();
    let positions = report.prompt_ids.len();
    assert_eq!(report.readings.len(), (config.num_layers + 1) * positions);
    let input = Tensor::new(report.prompt_ids.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let logits = model
        .decoder
        .forward(&input, &mut KvCache::new(config.num_layers), Positions::All)
        .unwrap();
    for reading in report
        .readings
        .iter()
        .filter(|r| r.layer == config.num_layers)
    {
        let row: Vec<f32> = logits.i((0, reading.position)).unwrap().to_vec1().unwrap();
        let best = (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        assert_eq!(reading.top[0].id as usize, best);
        assert_eq!(reading.top.len(), 3);
        assert!(reading.top[0].probability >= reading.top[1].probability);
        let mass: f64 = reading.language_mass.iter().sum();
        assert!((0.0..=1.0 + 1e-6).contains(&mass));
    }
    // Layers differ: the lens is not reading the same state each time.
    let first = &report.readings[positions - 1];
    let last = report.readings.last().unwrap();
    assert_ne!(first.top, last.top);
}
