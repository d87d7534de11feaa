//! The Unigram counter (no `tokenizers` model built) against the
//! `tokenizers` crate's own encoding: the same count for every token id, on
//! the fixture tokenizer and on tokenizers made to reach every rule of the
//! search (pieces listed twice, the unknown piece in the text, runs of
//! unknown characters fused, byte fallback with and without every byte
//! piece, added tokens normalised or not, a normaliser).

use std::path::Path;

use retarget_fixtures::corpus::lines;
use retarget_vocab::tokenizer::json::TokenizerFile;
use retarget_vocab::tokenizer::unigram_count::UnigramCounter;
use retarget_vocab::tokenizer::usage::count_tokens;
use serde_json::{json, Value};
use tokenizers::Tokenizer;

/// Text in many scripts, with what trips tokenizers up: special-token text,
/// characters no vocabulary has, runs of spaces, an empty line.
fn texts() -> Vec<String> {
    let mut texts: Vec<String> = lines().iter().map(|l| l.to_string()).collect();
    texts.extend(
        [
            "Kila mtu ana haki ya kuishi, uhuru na usalama wa maisha yake.",
            "Jedermann hat das Recht auf Leben, Freiheit und Sicherheit der Person.",
            "Все люди рождаются свободными и равными в своем достоинстве и правах.",
            "لكل فرد الحق في الحياة والحرية وسلامة شخصه.",
            "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता प्राप्त है।",
            "人人生而自由，在尊严和权利上一律平等。 ทุกคนมีสิทธิในการดำรงชีวิต",
            "<unk> </s> <pad>a<unk>b</s>c  <s>",
            "ab\u{1F600}\u{1F601}cd \u{0}\u{7}  \t tabs\tand   spaces ",
            "ÉCOLE école ＡＢＣ ﬁne ℌ x\u{0301}",
            "",
            "▁▁▁ ▁ under_scores__",
        ]
        .map(String::from),
    );
    texts
}

/// Counts by the counter and by `tokenizers` for the tokenizer in `json`.
fn both(dir: &Path, json: &Value, texts: &[String]) -> (Vec<u64>, Vec<u64>) {
    let path = dir.join("tokenizer.json");
    std::fs::write(&path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    let file = TokenizerFile::read(&path).unwrap();
    let counter = UnigramCounter::new(&file)
        .unwrap()
        .expect("a Unigram tokenizer");
    let tokenizer = Tokenizer::from_file(&path).unwrap();
    let ours = counter.count(texts, file.len()).unwrap();
    let theirs = count_tokens(&tokenizer, texts, file.len()).unwrap();
    (ours, theirs)
}

fn assert_same_counts(json: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let texts = texts();
    let (ours, theirs) = both(dir.path(), json, &texts);
    assert!(theirs.iter().sum::<u64>() > 0);
    assert_eq!(ours, theirs);
    // Line by line too: a per-line difference cannot cancel out.
    for text in &texts {
        let (ours, theirs) = both(dir.path(), json, std::slice::from_ref(text));
        assert_eq!(ours, theirs, "{text:?}");
    }
}

fn fixture() -> Value {
    serde_json::from_str(
        &retarget_fixtures::tokenizers_train::embedded::unigram()
            .to_string(false)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn the_fixture_tokenizer_counts_like_tokenizers() {
    assert_same_counts(&fixture());
}

/// A hand-made Unigram tokenizer: NFKC and lower-casing, Metaspace words,
/// `unk_id` not 0, pieces listed twice with different scores, equal scores.
fn handmade(byte_fallback: bool, all_bytes: bool) -> Value {
    let mut vocab = vec![
        json!(["a", -2.0]),
        json!(["<unk>", 0.0]),
        json!(["<s>", 0.0]),
        json!(["▁", -1.0]),
        json!(["b", -2.0]),
        json!(["ab", -3.5]),
        json!(["▁a", -2.5]),
        json!(["ab", -1.0]),
        json!(["c", -3.0]),
        json!(["bc", -5.0]),
        json!(["abc", -5.0]),
        json!(["▁ab", -4.5]),
        json!(["d", -3.0]),
        json!(["e", -2.0]),
        json!(["é", -2.0]),
        json!(["ec", -5.0]),
        json!(["co", -4.0]),
        json!(["o", -3.0]),
        json!(["l", -3.0]),
        json!(["ol", -5.5]),
        json!(["le", -4.0]),
        json!(["x", -7.0]),
        json!(["и", -2.0]),
        json!(["ли", -3.0]),
        json!(["ю", -2.0]),
        json!(["д", -2.0]),
        json!(["т", -2.0]),
        json!(["к", -2.0]),
        json!(["▁к", -3.0]),
        json!(["ال", -2.0]),
        json!(["人", -2.0]),
        json!(["人人", -3.0]),
        json!(["<mask>", 0.0]),
    ];
    if byte_fallback {
        let bytes: Vec<u8> = if all_bytes {
            (0..=255).collect()
        } else {
            // Enough for some characters and not for others.
            vec![0xF0, 0x9F, 0x98, 0x80, 0xE0, 0xA4]
        };
        vocab.extend(bytes.iter().map(|b| json!([format!("<0x{b:02X}>"), -10.0])));
    }
    let mask = 32;
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [
            {"id": 2, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true},
            {"id": 1, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true},
            {"id": mask, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": false,
             "normalized": true, "special": true},
        ],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                          "split": true},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [2], "tokens": ["<s>"]}}},
        "decoder": null,
        "model": {"type": "Unigram", "unk_id": 1, "vocab": vocab, "byte_fallback": byte_fallback}
    })
}

#[test]
fn a_handmade_tokenizer_counts_like_tokenizers() {
    assert_same_counts(&handmade(false, false));
}

#[test]
fn byte_fallback_counts_like_tokenizers_with_some_or_all_byte_pieces() {
    assert_same_counts(&handmade(true, false));
    assert_same_counts(&handmade(true, true));
}

#[test]
fn truncation_padding_and_other_models_are_left_to_tokenizers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    let mut truncated = handmade(false, false);
    truncated["truncation"] =
        json!({"direction": "Right", "max_length": 4, "strategy": "LongestFirst", "stride": 0});
    let mut padded = handmade(false, false);
    padded["padding"] = json!({"strategy": {"Fixed": 64}, "direction": "Right", "pad_to_multiple_of": null,
                               "pad_id": 0, "pad_type_id": 0, "pad_token": "a"});
    let bpe: Value = serde_json::from_str(
        &retarget_fixtures::tokenizers_train::embedded::byte_level_bpe()
            .to_string(false)
            .unwrap(),
    )
    .unwrap();
    for json in [truncated, padded, bpe] {
        std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
        let file = TokenizerFile::read(&path).unwrap();
        assert!(UnigramCounter::new(&file).unwrap().is_none());
    }
}

#[test]
fn an_unknown_id_outside_the_vocabulary_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    let mut json = handmade(false, false);
    json["model"]["unk_id"] = json!(999);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    let file = TokenizerFile::read(&path).unwrap();
    let message = UnigramCounter::new(&file).err().unwrap().to_string();
    assert!(
        message.contains("tokenizer.json") && message.contains("unk_id 999"),
        "{message}"
    );
}
