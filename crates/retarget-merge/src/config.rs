//! mergekit's YAML merge configuration: `merge_method`, `models` or `slices`,
//! `base_model`, `parameters`, `dtype`, `out_dtype`, `tokenizer_source` /
//! `tokenizer`, `chat_template`. Unknown keys are errors (mergekit ignores
//! them silently, which hides typos such as `base_modle`).

use std::path::{Path, PathBuf};

use retarget_model::dtype::FloatType;
use retarget_model::ModelError;
use serde_yaml_ng::{Mapping, Value};

use crate::error::{MergeError, Result};
use crate::parameters::{parse_parameters, Parameters};

/// One entry of `models:`.
#[derive(Debug, Clone)]
pub struct InputModel {
    /// Model reference (a local HF folder or GGUF file).
    pub model: String,
    /// Its parameters.
    pub parameters: Parameters,
}

/// One entry of a slice's `sources:`.
#[derive(Debug, Clone)]
pub struct InputSlice {
    /// Model reference.
    pub model: String,
    /// Half-open range of the model's layers.
    pub layer_range: (usize, usize),
    /// Its parameters.
    pub parameters: Parameters,
}

/// One entry of `slices:`.
#[derive(Debug, Clone)]
pub struct OutputSlice {
    /// The models whose layers are merged into this slice.
    pub sources: Vec<InputSlice>,
    /// Overrides the global `base_model` for this slice.
    pub base_model: Option<String>,
    /// Slice-level parameters.
    pub parameters: Parameters,
}

/// Where the output tokenizer comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerSource {
    /// The base model's tokenizer.
    Base,
    /// The base tokenizer plus every token of the other models.
    Union,
    /// One model's tokenizer.
    Model(String),
}

/// Where a configured token's embedding comes from (`tokenizer.tokens`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenEmbeddingSource {
    /// The token's row in this model.
    Model(String),
    /// Another token's row in a model (by id or by text).
    ModelToken {
        /// The model.
        model: String,
        /// Token id in that model.
        token_id: Option<usize>,
        /// Token text in that model.
        token: Option<String>,
    },
    /// Zeros.
    Zero,
}

/// One entry of `tokenizer.tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEmbedding {
    /// The source, when given.
    pub source: Option<TokenEmbeddingSource>,
    /// Use the source even for models that have the token.
    pub force: bool,
}

/// The `tokenizer:` section (or `tokenizer_source:`).
#[derive(Debug, Clone)]
pub struct TokenizerConfig {
    /// Where the vocabulary comes from.
    pub source: TokenizerSource,
    /// Per-token embedding sources.
    pub tokens: Vec<(String, TokenEmbedding)>,
    /// Pad the vocabulary to a multiple of this.
    pub pad_to_multiple_of: Option<usize>,
}

/// A whole merge configuration.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    /// The YAML text, saved beside the output as `mergekit_config.yml`.
    pub text: String,
    /// `merge_method`.
    pub merge_method: String,
    /// `base_model`.
    pub base_model: Option<String>,
    /// `models:` (empty when `slices:` is used).
    pub models: Vec<InputModel>,
    /// `slices:` (empty when `models:` is used).
    pub slices: Vec<OutputSlice>,
    /// Global `parameters`.
    pub parameters: Parameters,
    /// Type the inputs are converted to before merging.
    pub dtype: Option<FloatType>,
    /// Type of the written tensors.
    pub out_dtype: Option<FloatType>,
    /// Tokenizer handling, when configured.
    pub tokenizer: Option<TokenizerConfig>,
    /// A literal chat template for the output tokenizer.
    pub chat_template: Option<String>,
}

impl MergeConfig {
    /// Reads and checks a configuration file.
    pub fn read(path: &Path) -> Result<Self> {
        let err = |problem: String| MergeError::config(path, problem);
        let meta = std::fs::metadata(path).map_err(|e| MergeError::Io(ModelError::io(path, e)))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(err(format!(
                "{} bytes; a merge configuration is at most {MAX_CONFIG_BYTES}",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| MergeError::Io(ModelError::io(path, e)))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            err(format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Self::parse(path, &text)
    }

    /// Parses configuration text; `path` is used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let err = |problem: String| MergeError::config(path, problem);
        if nesting_depth(text) > MAX_NESTING {
            return Err(err(format!(
                "nested more than {MAX_NESTING} levels deep; a merge configuration is a few levels deep"
            )));
        }
        let value: Value =
            serde_yaml_ng::from_str(text).map_err(|e| err(format!("not valid YAML: {e}")))?;
        let Value::Mapping(top) = value else {
            return Err(err("the configuration must be a YAML mapping".into()));
        };
        let mut config = MergeConfig {
            path: path.to_path_buf(),
            text: text.to_string(),
            merge_method: String::new(),
            base_model: None,
            models: Vec::new(),
            slices: Vec::new(),
            parameters: Vec::new(),
            dtype: None,
            out_dtype: None,
            tokenizer: None,
            chat_template: None,
        };
        let mut tokenizer_source = None;
        for (key, value) in &top {
            let key = key
                .as_str()
                .ok_or_else(|| err(format!("key {key:?} is not text")))?;
            let field = |problem: String| err(format!("`{key}`: {problem}"));
            match key {
                "merge_method" => config.merge_method = text_of(value).map_err(field)?,
                "base_model" => config.base_model = optional_text(value).map_err(field)?,
                "models" => config.models = parse_models(value).map_err(field)?,
                "slices" => config.slices = parse_slices(value).map_err(field)?,
                "parameters" => config.parameters = parse_parameters(value).map_err(field)?,
                "dtype" => config.dtype = optional_dtype(value).map_err(field)?,
                "out_dtype" => config.out_dtype = optional_dtype(value).map_err(field)?,
                "tokenizer_source" => tokenizer_source = optional_text(value).map_err(field)?,
                "tokenizer" if !value.is_null() => {
                    config.tokenizer = Some(parse_tokenizer(value).map_err(field)?)
                }
                "tokenizer" => {}
                "chat_template" => config.chat_template = optional_text(value).map_err(field)?,
                "modules" => {
                    return Err(err(
                        "`modules:` (per-module merges of multi-module models) is not supported; use `models:` or `slices:`".into(),
                    ))
                }
                other => {
                    return Err(err(format!(
                        "unknown key `{other}` (known: merge_method, base_model, models, slices, parameters, dtype, out_dtype, tokenizer_source, tokenizer, chat_template)"
                    )))
                }
            }
        }
        if config.merge_method.is_empty() {
            return Err(err("`merge_method` is missing".into()));
        }
        match (config.models.is_empty(), config.slices.is_empty()) {
            (true, true) => return Err(err("give either `models:` or `slices:`".into())),
            (false, false) => {
                return Err(err("give either `models:` or `slices:`, not both".into()))
            }
            _ => {}
        }
        if let Some(source) = tokenizer_source {
            if config.tokenizer.is_some() {
                return Err(err(
                    "give either `tokenizer_source` or `tokenizer`, not both".into(),
                ));
            }
            config.tokenizer = Some(TokenizerConfig {
                source: tokenizer_source_of(&source),
                tokens: Vec::new(),
                pad_to_multiple_of: None,
            });
        }
        if let Some(template) = &config.chat_template {
            if !template.contains('{') {
                return Err(err(format!(
                    "`chat_template: {template}`: only a literal Jinja template is supported (mergekit's named templates are not bundled)"
                )));
            }
        }
        Ok(config)
    }

    /// Every model the configuration names, base first, each once, in file order.
    pub fn referenced_models(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |m: &str| {
            if !out.iter().any(|x| x == m) {
                out.push(m.to_string());
            }
        };
        if let Some(base) = &self.base_model {
            add(base);
        }
        for m in &self.models {
            add(&m.model);
        }
        for s in &self.slices {
            if let Some(base) = &s.base_model {
                add(base);
            }
            for src in &s.sources {
                add(&src.model);
            }
        }
        out
    }
}

/// Largest configuration read: mergekit configurations are a few kilobytes.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Deepest nesting accepted, checked before parsing: the YAML parser's time
/// grows with the square of the depth.
const MAX_NESTING: usize = 64;

/// An upper bound on the YAML nesting depth of `text`, without parsing it:
/// open flow collections (`[`, `{`) outside quotes and comments, plus, per
/// line, its indentation and the block indicators (`- `, `? `) that open
/// collections on that line.
fn nesting_depth(text: &str) -> usize {
    let mut flow = 0usize;
    let mut deepest = 0;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let mut rest = line.trim_start();
        let mut indicators = 0;
        while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            indicators += 1;
            rest = r.trim_start();
        }
        let mut quote: Option<char> = None;
        for c in rest.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            deepest = deepest.max(flow + indicators);
        }
        deepest = deepest.max(flow + indicators + indent / 2);
    }
    deepest
}

fn tokenizer_source_of(text: &str) -> TokenizerSource {
    match text {
        "base" => TokenizerSource::Base,
        "union" => TokenizerSource::Union,
        model => TokenizerSource::Model(model.to_string()),
    }
}

fn text_of(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("expected text, found {other:?}")),
    }
}

fn optional_text(value: &Value) -> Result<Option<String>, String> {
    if value.is_null() {
        Ok(None)
    } else {
        text_of(value).map(Some)
    }
}

fn optional_dtype(value: &Value) -> Result<Option<FloatType>, String> {
    let Some(name) = optional_text(value)? else {
        return Ok(None);
    };
    let bare = name.strip_prefix("torch.").unwrap_or(&name);
    match bare {
        "float32" | "float" | "fp32" | "f32" => Ok(Some(FloatType::F32)),
        "float16" | "half" | "fp16" | "f16" => Ok(Some(FloatType::F16)),
        "bfloat16" | "bf16" => Ok(Some(FloatType::BF16)),
        _ => Err(format!(
            "unsupported dtype `{name}` (float32, float16 or bfloat16)"
        )),
    }
}

fn mapping<'a>(value: &'a Value, what: &str) -> Result<&'a Mapping, String> {
    value
        .as_mapping()
        .ok_or_else(|| format!("each {what} must be a mapping"))
}

fn list<'a>(value: &'a Value, what: &str) -> Result<&'a [Value], String> {
    match value {
        Value::Sequence(items) => Ok(items),
        _ => Err(format!("expected a list of {what}")),
    }
}

fn parse_models(value: &Value) -> Result<Vec<InputModel>, String> {
    list(value, "models")?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let map = mapping(item, "model entry")?;
            let mut model = None;
            let mut parameters = Vec::new();
            for (key, v) in map {
                match key.as_str() {
                    Some("model") => model = Some(model_reference(v)?),
                    Some("parameters") => parameters = parse_parameters(v)?,
                    _ => {
                        return Err(format!(
                            "entry {}: unknown key {key:?} (expected `model`, `parameters`)",
                            i + 1
                        ))
                    }
                }
            }
            let model = model.ok_or_else(|| format!("entry {} has no `model`", i + 1))?;
            Ok(InputModel { model, parameters })
        })
        .collect()
}

fn model_reference(value: &Value) -> Result<String, String> {
    let text = text_of(value)?;
    if text.contains('+') && !Path::new(&text).exists() {
        return Err(format!(
            "`{text}`: LoRA references (`model+lora`) are not supported; merge the adapter first"
        ));
    }
    Ok(text)
}

fn parse_layer_range(value: &Value) -> Result<(usize, usize), String> {
    let items = list(value, "two layer numbers")?;
    let numbers: Option<Vec<usize>> = items
        .iter()
        .map(|v| v.as_u64().map(|n| n as usize))
        .collect();
    match numbers.as_deref() {
        Some([start, end]) if start < end => Ok((*start, *end)),
        _ => Err(format!(
            "`layer_range` must be [start, end] with start < end (layers start..end, at least one), found {value:?}"
        )),
    }
}

fn parse_slices(value: &Value) -> Result<Vec<OutputSlice>, String> {
    list(value, "slices")?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |e: String| format!("slice {}: {e}", i + 1);
            let map = mapping(item, "slice").map_err(at)?;
            let mut slice = OutputSlice {
                sources: Vec::new(),
                base_model: None,
                parameters: Vec::new(),
            };
            for (key, v) in map {
                match key.as_str() {
                    Some("sources") => {
                        slice.sources = list(v, "sources")
                            .and_then(|items| items.iter().map(parse_source).collect())
                            .map_err(at)?
                    }
                    Some("base_model") => slice.base_model = optional_text(v).map_err(at)?,
                    Some("parameters") => slice.parameters = parse_parameters(v).map_err(at)?,
                    Some("residual_weight") => {
                        return Err(at("`residual_weight` is not supported".into()))
                    }
                    _ => {
                        return Err(at(format!(
                            "unknown key {key:?} (expected `sources`, `base_model`, `parameters`)"
                        )))
                    }
                }
            }
            if slice.sources.is_empty() {
                return Err(at("no `sources`".into()));
            }
            Ok(slice)
        })
        .collect()
}

fn parse_source(value: &Value) -> Result<InputSlice, String> {
    let map = mapping(value, "source")?;
    let mut model = None;
    let mut layer_range = None;
    let mut parameters = Vec::new();
    for (key, v) in map {
        match key.as_str() {
            Some("model") => model = Some(model_reference(v)?),
            Some("layer_range") => layer_range = Some(parse_layer_range(v)?),
            Some("parameters") => parameters = parse_parameters(v)?,
            _ => {
                return Err(format!(
                "unknown key {key:?} in a source (expected `model`, `layer_range`, `parameters`)"
            ))
            }
        }
    }
    Ok(InputSlice {
        model: model.ok_or("a source has no `model`")?,
        layer_range: layer_range.ok_or("a source has no `layer_range`")?,
        parameters,
    })
}

fn parse_tokenizer(value: &Value) -> Result<TokenizerConfig, String> {
    let map = mapping(value, "tokenizer section")?;
    let mut config = TokenizerConfig {
        source: TokenizerSource::Union,
        tokens: Vec::new(),
        pad_to_multiple_of: None,
    };
    for (key, v) in map {
        match key.as_str() {
            Some("source") => config.source = tokenizer_source_of(&text_of(v)?),
            Some("pad_to_multiple_of") => {
                config.pad_to_multiple_of = match v {
                    Value::Null => None,
                    v => Some(
                        v.as_u64()
                            .filter(|&n| n > 0 && n <= 1 << 16)
                            .ok_or("`pad_to_multiple_of` must be an integer from 1 to 65536")?
                            as usize,
                    ),
                }
            }
            Some("tokens") => {
                let tokens = match v {
                    Value::Null => Mapping::new(),
                    v => mapping(v, "`tokens` section")?.clone(),
                };
                for (token, cfg) in &tokens {
                    let token = token.as_str().ok_or("token names must be text")?;
                    config.tokens.push((
                        token.to_string(),
                        parse_token_embedding(cfg).map_err(|e| format!("token {token:?}: {e}"))?,
                    ));
                }
            }
            _ => {
                return Err(format!(
                    "unknown key {key:?} (expected `source`, `tokens`, `pad_to_multiple_of`)"
                ))
            }
        }
    }
    Ok(config)
}

fn parse_token_embedding(value: &Value) -> Result<TokenEmbedding, String> {
    let map = mapping(value, "token entry")?;
    let mut out = TokenEmbedding {
        source: None,
        force: false,
    };
    for (key, v) in map {
        match key.as_str() {
            Some("force") => out.force = v.as_bool().ok_or("`force` must be true or false")?,
            Some("source") => {
                out.source = Some(match v {
                    Value::String(model) => TokenEmbeddingSource::Model(model.clone()),
                    Value::Mapping(m) => {
                        let get = |k: &str| m.get(k);
                        match get("kind").and_then(Value::as_str) {
                            Some("zero") => TokenEmbeddingSource::Zero,
                            Some("model_token") => {
                                let model = get("model")
                                    .map(text_of)
                                    .transpose()?
                                    .ok_or("`model_token` needs `model`")?;
                                let token_id =
                                    get("token_id").and_then(Value::as_u64).map(|n| n as usize);
                                let token = get("token").map(text_of).transpose()?;
                                if token_id.is_some() == token.is_some() {
                                    return Err("give exactly one of `token_id` and `token`".into());
                                }
                                TokenEmbeddingSource::ModelToken {
                                    model,
                                    token_id,
                                    token,
                                }
                            }
                            _ => return Err("`source.kind` must be `zero` or `model_token`".into()),
                        }
                    }
                    _ => return Err("`source` must be a model or a mapping with `kind`".into()),
                })
            }
            _ => return Err(format!("unknown key {key:?} (expected `source`, `force`)")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MergeConfig> {
        MergeConfig::parse(Path::new("merge.yml"), text)
    }

    #[test]
    fn deep_huge_and_non_utf8_documents_are_refused_quickly() {
        let deep = format!(
            "merge_method: linear\nmodels: {}{}\n",
            "[".repeat(200_000),
            "]".repeat(200_000)
        );
        let start = std::time::Instant::now();
        let e = parse(&deep).unwrap_err().to_string();
        assert!(e.contains("nested more than"), "{e}");
        assert!(start.elapsed().as_secs_f64() < 1.0);
        let dashes = format!("merge_method: linear\nmodels:\n{}x\n", "- ".repeat(100_000));
        assert!(parse(&dashes)
            .unwrap_err()
            .to_string()
            .contains("nested more than"));
        assert_eq!(nesting_depth("a: {b: [1, '[[[', \"{{\"]} # [[[\n"), 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("merge.yml");
        std::fs::write(&path, b"merge_method: linear\nmodels: [\xff]\n").unwrap();
        let e = MergeConfig::read(&path).unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().contains("not UTF-8"),
            "{e}"
        );
        std::fs::write(&path, vec![b'#'; (MAX_CONFIG_BYTES + 1) as usize]).unwrap();
        assert!(MergeConfig::read(&path)
            .unwrap_err()
            .to_string()
            .contains("at most"));
        let e = MergeConfig::read(dir.path()).unwrap_err();
        assert!(
            e.is_bad_input() && e.to_string().contains("not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn reads_mergekit_ties_example_shape() {
        let c = parse(
            "models:\n  - model: a\n    parameters:\n      density: [1, 0.7, 0.1]\n      weight: 1.0\n  - model: b\n    parameters:\n      weight:\n        - filter: mlp\n          value: 0.5\n        - value: 0\nmerge_method: ties\nbase_model: base\nparameters:\n  normalize: true\n  int8_mask: true\ndtype: float16\n",
        )
        .unwrap();
        assert_eq!(c.merge_method, "ties");
        assert_eq!(c.models.len(), 2);
        assert_eq!(c.dtype, Some(FloatType::F16));
        assert_eq!(c.referenced_models(), ["base", "a", "b"]);
    }

    #[test]
    fn reads_slices_and_tokenizer_sections() {
        let c = parse(
            "slices:\n  - sources:\n    - model: a\n      layer_range: [0, 24]\n  - sources:\n    - model: b\n      layer_range: [20, 40]\nmerge_method: passthrough\ntokenizer:\n  source: union\n  pad_to_multiple_of: 64\n  tokens:\n    '<x>':\n      source: b\n      force: true\n",
        )
        .unwrap();
        assert_eq!(c.slices[1].sources[0].layer_range, (20, 40));
        let t = c.tokenizer.unwrap();
        assert_eq!(t.source, TokenizerSource::Union);
        assert_eq!(t.pad_to_multiple_of, Some(64));
        assert_eq!(
            t.tokens[0].1.source,
            Some(TokenEmbeddingSource::Model("b".into()))
        );
    }

    #[test]
    fn rejects_typos_conflicts_and_missing_parts() {
        let cases = [
            ("merge_method: linear\nmodels: [{model: a}]\nbase_modle: x\n", "unknown key `base_modle`"),
            ("models: [{model: a}]\n", "`merge_method` is missing"),
            ("merge_method: linear\n", "either `models:` or `slices:`"),
            ("merge_method: linear\nmodels: [{model: a}]\ntokenizer_source: base\ntokenizer: {source: union}\n", "not both"),
            ("merge_method: linear\nmodels: [{model: a}]\ndtype: int8\n", "unsupported dtype"),
            ("merge_method: passthrough\nslices: [{sources: [{model: a, layer_range: [4, 2]}]}]\n", "start < end"),
            ("merge_method: passthrough\nslices: [{sources: [{model: a, layer_range: [3, 3]}]}]\n", "start < end"),
            ("merge_method: linear\nmodels: [{model: a}]\n: [\n", "not valid YAML"),
        ];
        for (text, expected) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(
                e.contains(expected) && e.starts_with("merge.yml"),
                "{text:?} -> {e}"
            );
        }
    }
}
