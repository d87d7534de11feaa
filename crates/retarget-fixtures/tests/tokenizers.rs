//! The committed fixture tokenizers are what the `tokenizers` trainers make.

use retarget_fixtures::tokenizers_train::{self as train, embedded};
use tokenizers::Tokenizer;

fn model_type(t: &Tokenizer) -> String {
    let json: serde_json::Value = serde_json::from_str(&t.to_string(false).unwrap()).unwrap();
    json["model"]["type"].as_str().unwrap().to_string()
}

#[test]
fn retraining_gives_tokenizers_like_the_committed_ones() {
    let pairs = [
        (
            train::byte_level_bpe(train::BPE_VOCAB),
            embedded::byte_level_bpe(),
        ),
        (
            train::wordpiece(train::WORDPIECE_VOCAB),
            embedded::wordpiece(),
        ),
        (train::unigram(train::UNIGRAM_VOCAB), embedded::unigram()),
    ];
    for (fresh, committed) in pairs {
        assert_eq!(model_type(&fresh), model_type(&committed));
        assert_eq!(fresh.get_vocab_size(true), committed.get_vocab_size(true));
        // Both segment the training text into known tokens only.
        for text in retarget_fixtures::corpus::lines() {
            for t in [&fresh, &committed] {
                let enc = t.encode(text, false).unwrap();
                assert!(!enc.get_ids().is_empty());
                let unk = t.token_to_id("[UNK]").or_else(|| t.token_to_id("<unk>"));
                assert!(unk.is_none_or(|u| !enc.get_ids().contains(&u)), "{text}");
            }
        }
    }
}
