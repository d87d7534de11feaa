//! Token ids outside `tokenizer.json`: `*_token_id(s)` in `config.json` and
//! `generation_config.json` (nested sections such as `text_config` too), and
//! the id keys of `added_tokens_decoder` in `tokenizer_config.json`.

use serde_json::{Map, Value};

fn is_id_key(key: &str) -> bool {
    key.ends_with("_token_id") || key.ends_with("_token_ids")
}

/// Every token id a config refers to.
pub fn referenced_ids(value: &Value, out: &mut Vec<usize>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if is_id_key(k) {
                    collect_numbers(v, out);
                } else {
                    referenced_ids(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| referenced_ids(v, out)),
        _ => {}
    }
}

fn collect_numbers(value: &Value, out: &mut Vec<usize>) {
    match value {
        Value::Number(n) => out.extend(n.as_u64().map(|n| n as usize)),
        Value::Array(items) => items.iter().for_each(|v| collect_numbers(v, out)),
        _ => {}
    }
}

fn remap_numbers(value: &mut Value, remap: &[Option<usize>]) {
    match value {
        Value::Number(n) => {
            if let Some(new) = n
                .as_u64()
                .and_then(|o| remap.get(o as usize).copied().flatten())
            {
                *value = Value::from(new);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| remap_numbers(v, remap)),
        _ => {}
    }
}

/// Renumbers every `*_token_id(s)` value (kept ids are guaranteed by the caller).
pub fn remap_ids(value: &mut Value, remap: &[Option<usize>]) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_id_key(k) {
                    remap_numbers(v, remap);
                } else {
                    remap_ids(v, remap);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| remap_ids(v, remap)),
        _ => {}
    }
}

/// Renumbers the keys of `added_tokens_decoder` in a `tokenizer_config.json`.
pub fn remap_added_tokens_decoder(config: &mut Value, remap: &[Option<usize>]) {
    let Some(Value::Object(decoder)) = config.get_mut("added_tokens_decoder") else {
        return;
    };
    let old = std::mem::take(decoder);
    let mut entries: Vec<(usize, Value)> = old
        .into_iter()
        .filter_map(|(k, v)| {
            let new = remap.get(k.parse::<usize>().ok()?).copied().flatten()?;
            Some((new, v))
        })
        .collect();
    entries.sort_by_key(|(k, _)| *k);
    *decoder = entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect::<Map<_, _>>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_renumbers_nested_and_listed_ids() {
        let mut config = serde_json::json!({
            "bos_token_id": 1, "eos_token_id": [2, 7], "vocab_size": 9,
            "text_config": {"pad_token_id": 7}, "hidden_size": 7
        });
        let mut ids = Vec::new();
        referenced_ids(&config, &mut ids);
        assert_eq!(ids, [1, 2, 7, 7]);
        let remap = vec![
            None,
            Some(0),
            Some(1),
            None,
            None,
            None,
            None,
            Some(2),
            None,
        ];
        remap_ids(&mut config, &remap);
        assert_eq!(config["eos_token_id"], serde_json::json!([1, 2]));
        assert_eq!(config["text_config"]["pad_token_id"], 2);
        assert_eq!(config["hidden_size"], 7);
        let mut tc = serde_json::json!({"added_tokens_decoder": {"7": {"content": "<x>"}, "1": {"content": "<s>"}}});
        remap_added_tokens_decoder(&mut tc, &remap);
        assert_eq!(tc["added_tokens_decoder"]["2"]["content"], "<x>");
        assert_eq!(tc["added_tokens_decoder"]["0"]["content"], "<s>");
    }
}
