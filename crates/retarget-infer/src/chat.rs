//! Chat prompts: the model's own chat template (`chat_template` in
//! `tokenizer_config.json`, Jinja) rendered with minijinja the way
//! `transformers`' `apply_chat_template(..., add_generation_prompt=True)`
//! renders it (Python string methods through minijinja-contrib's pycompat).

use std::path::Path;

use minijinja::{context, Environment, Error, ErrorKind};
use serde_json::Value;

use crate::error::{InferError, Result};

/// A chat template and the special tokens it may refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
}

/// A special token as `tokenizer_config.json` writes it: a string or
/// `{"content": …}`.
fn token_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

impl ChatTemplate {
    /// The template of a parsed `tokenizer_config.json`, if it has one (a
    /// single string; named template lists take the one called `default`).
    pub fn from_tokenizer_config(
        path: &Path,
        config: &serde_json::Map<String, Value>,
    ) -> Result<Option<Self>> {
        let source = match config.get("chat_template") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
                .and_then(|t| t.get("template").and_then(Value::as_str))
                .ok_or_else(|| {
                    InferError::model(path, "`chat_template` lists no template named `default`")
                })?
                .to_string(),
            Some(_) => {
                return Err(InferError::model(
                    path,
                    "`chat_template` is neither a string nor a list",
                ))
            }
        };
        Ok(Some(ChatTemplate {
            source,
            bos_token: token_text(config.get("bos_token")),
            eos_token: token_text(config.get("eos_token")),
        }))
    }

    /// The prompt of one user message, ready for the assistant's answer.
    pub fn user_prompt(&self, message: &str) -> Result<String> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> std::result::Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        let fail = |e: Error| InferError::Request(format!("the chat template failed: {e}"));
        env.add_template("chat", &self.source).map_err(fail)?;
        let template = env.get_template("chat").map_err(fail)?;
        template
            .render(context! {
                messages => vec![context! { role => "user", content => message }],
                add_generation_prompt => true,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_chatml_template_with_a_generation_prompt() {
        let config = serde_json::json!({
            "chat_template": "{% for m in messages %}{{ bos_token }}{{ m['role'] }}\n{{ m['content'] | trim }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}{{ bos_token }}assistant\n{% endif %}",
            "bos_token": "<|im_start|>",
            "eos_token": {"content": "<|im_end|>"},
        });
        let template =
            ChatTemplate::from_tokenizer_config(Path::new("t.json"), config.as_object().unwrap())
                .unwrap()
                .unwrap();
        assert_eq!(
            template.user_prompt("  Habari?  ").unwrap(),
            "<|im_start|>user\nHabari?<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn python_string_methods_and_raise_exception_work() {
        let config = serde_json::json!({
            "chat_template": "{% if messages[0]['role'] != 'user' %}{{ raise_exception('user first') }}{% endif %}{{ messages[0]['content'].strip().upper() }}",
        });
        let template =
            ChatTemplate::from_tokenizer_config(Path::new("t.json"), config.as_object().unwrap())
                .unwrap()
                .unwrap();
        assert_eq!(template.user_prompt(" hi ").unwrap(), "HI");
        let broken = serde_json::json!({"chat_template": "{{ raise_exception('no system prompt allowed') }}"});
        let template =
            ChatTemplate::from_tokenizer_config(Path::new("t.json"), broken.as_object().unwrap())
                .unwrap()
                .unwrap();
        let err = template.user_prompt("hi").unwrap_err().to_string();
        assert!(err.contains("no system prompt allowed"), "{err}");
    }
}
