//! Language-specific neurons as LAPE finds them (Tang et al. 2024,
//! "Language-Specific Neurons: The Key to Multilingual Capabilities in
//! Large Language Models"; reference code RUCAIBox/Language-Specific-Neurons,
//! `activation.py` and `identify.py`).
//!
//! Counting, as `activation.py`: each language's text is tokenized without
//! special tokens, concatenated and cut into windows of `window` tokens (the
//! reference drops the last partial window; here it is counted too), each
//! window run on its own; for every MLP neuron (layer, index) the number of
//! tokens whose activation `act_fn(gate)` is positive.
//!
//! Selection, as `identify.py`, in f32 like the reference: activation
//! probabilities `p = count / tokens` per language; their entropy across
//! languages after normalising to sum 1; neurons with no probability above
//! the `filter_rate` quantile of all probabilities dismissed; the `top_rate`
//! share of all neurons with the lowest entropy kept; each kept neuron
//! assigned to every language whose probability is above the
//! `activation_bar_rate` quantile. Quantiles are `kthvalue(round(N × rate))`
//! with Python's rounding; ties in entropy go to the lower (layer, index).

use candle_core::Tensor;
use retarget_infer::decoder::KvCache;
use retarget_infer::model::LanguageModel;
use retarget_infer::probe::{Probe, Site};
use serde::Serialize;

use crate::error::{ControlError, Result};

/// Fewest tokens of a language's text for its statistics.
pub const MIN_TOKENS: usize = 100;

/// The reference's selection settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Share of all neurons kept, lowest entropy first (reference: 0.01).
    pub top_rate: f64,
    /// Quantile of all activation probabilities a neuron must pass in at
    /// least one language to be considered (reference: 0.95).
    pub filter_rate: f64,
    /// Quantile a kept neuron's probability must pass for a language to
    /// own it (reference: 0.95).
    pub activation_bar_rate: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            top_rate: 0.01,
            filter_rate: 0.95,
            activation_bar_rate: 0.95,
        }
    }
}

/// One language's activation counts.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationCounts {
    /// Decoder layers.
    pub layers: usize,
    /// MLP neurons per layer.
    pub neurons: usize,
    /// Tokens counted over.
    pub tokens: u64,
    /// Tokens with a positive activation, `layer * neurons + index`.
    pub over_zero: Vec<u64>,
    /// Sum of the activations over the tokens, same layout.
    pub activation_sum: Vec<f64>,
}

impl ActivationCounts {
    /// The mean activation of each neuron over the tokens.
    pub fn mean_activation(&self) -> Vec<f32> {
        let tokens = self.tokens.max(1) as f64;
        self.activation_sum
            .iter()
            .map(|&s| (s / tokens) as f32)
            .collect()
    }
}

/// The token ids LAPE counts over for `lines`: each line without special
/// tokens, concatenated, at most `max_tokens` of them.
pub fn token_ids(
    model: &LanguageModel,
    lines: &[String],
    max_tokens: Option<usize>,
) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    for line in lines {
        if max_tokens.is_some_and(|max| ids.len() >= max) {
            break;
        }
        ids.extend(model.encode_plain(line)?);
    }
    if let Some(max) = max_tokens {
        ids.truncate(max);
    }
    Ok(ids)
}

/// Counts the positive activations of every MLP neuron over `ids`, run in
/// windows of `window` tokens (the last one shorter); `on_window()` after
/// each.
pub fn count_activations(
    model: &LanguageModel,
    ids: &[u32],
    window: usize,
    mut on_window: impl FnMut(),
) -> Result<ActivationCounts> {
    let config = model.decoder.config();
    if window == 0 || window > config.max_positions {
        return Err(ControlError::Usage(format!(
            "--window {window} must be between 1 and the model's context of {}",
            config.max_positions
        )));
    }
    let mut probe = CountPositive {
        neurons: config.intermediate_size,
        over_zero: vec![0; config.num_layers * config.intermediate_size],
        activation_sum: vec![0.0; config.num_layers * config.intermediate_size],
    };
    for chunk in ids.chunks(window) {
        let input = Tensor::new(chunk, model.decoder.device())?.unsqueeze(0)?;
        let mut cache = KvCache::new(config.num_layers);
        model
            .decoder
            .residual_stream(&input, &mut cache, &mut probe)?;
        on_window();
    }
    Ok(ActivationCounts {
        layers: config.num_layers,
        neurons: config.intermediate_size,
        tokens: ids.len() as u64,
        over_zero: probe.over_zero,
        activation_sum: probe.activation_sum,
    })
}

/// The probe that counts positive MLP activations and sums them.
struct CountPositive {
    neurons: usize,
    over_zero: Vec<u64>,
    activation_sum: Vec<f64>,
}

impl Probe for CountPositive {
    fn wants(&self, site: Site) -> bool {
        matches!(site, Site::MlpActivation(_))
    }

    fn visit(&mut self, site: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        if let Site::MlpActivation(layer) = site {
            let values: Vec<f32> = states.flatten_all()?.to_vec1()?;
            let range = layer * self.neurons..(layer + 1) * self.neurons;
            let counts = &mut self.over_zero[range.clone()];
            let sums = &mut self.activation_sum[range];
            for token in values.chunks_exact(self.neurons) {
                for ((count, sum), &v) in counts.iter_mut().zip(sums.iter_mut()).zip(token) {
                    *count += u64::from(v > 0.0);
                    *sum += f64::from(v);
                }
            }
        }
        Ok(states)
    }
}

/// The neurons LAPE selects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    /// Per language (in the order counted), per layer, the neuron indices
    /// it owns, ascending (the reference's `activation_mask` layout).
    pub neurons: Vec<Vec<Vec<u32>>>,
    /// The `filter_rate` quantile of all activation probabilities.
    pub filter_value: f32,
    /// The `activation_bar_rate` quantile.
    pub activation_bar: f32,
    /// Neurons kept by entropy before assignment to languages.
    pub candidates: usize,
}

/// Selects the language-specific neurons from each language's counts (all
/// from the same model).
pub fn select(counts: &[ActivationCounts], settings: &Settings) -> Result<Selection> {
    let Some(first) = counts.first() else {
        return Err(ControlError::Usage("no languages to compare".into()));
    };
    let (layers, neurons, languages) = (first.layers, first.neurons, counts.len());
    if counts
        .iter()
        .any(|c| c.layers != layers || c.neurons != neurons)
    {
        return Err(ControlError::Usage(
            "activation counts of differently shaped models".into(),
        ));
    }
    let units = layers * neurons;
    // probabilities[unit * languages + language], as the reference's
    // (layer, neuron, language) tensor, in f32.
    let mut probabilities = vec![0f32; units * languages];
    for (k, c) in counts.iter().enumerate() {
        let tokens = c.tokens as f32;
        for (unit, &n) in c.over_zero.iter().enumerate() {
            probabilities[unit * languages + k] = n as f32 / tokens;
        }
    }
    let mut sorted = probabilities.clone();
    sorted.sort_unstable_by(f32::total_cmp);
    let quantile =
        |rate: f64| sorted[python_round(sorted.len() as f64 * rate).clamp(1, sorted.len()) - 1];
    let filter_value = quantile(settings.filter_rate);
    let activation_bar = quantile(settings.activation_bar_rate);
    let entropy: Vec<f32> = probabilities
        .chunks_exact(languages)
        .map(|p| {
            if !p.iter().any(|&v| v > filter_value) {
                return f32::INFINITY;
            }
            let total: f32 = p.iter().sum();
            -p.iter()
                .map(|&v| {
                    let normed = if total > 0.0 { v / total } else { 0.0 };
                    if normed > 0.0 {
                        normed * normed.ln()
                    } else {
                        0.0
                    }
                })
                .sum::<f32>()
        })
        .collect();
    let keep = python_round(units as f64 * settings.top_rate).min(units);
    let mut order: Vec<usize> = (0..units).collect();
    order.sort_by(|&a, &b| entropy[a].total_cmp(&entropy[b]).then(a.cmp(&b)));
    let mut selected = vec![vec![Vec::new(); layers]; languages];
    for &unit in &order[..keep] {
        for (k, owned) in selected.iter_mut().enumerate() {
            if probabilities[unit * languages + k] > activation_bar {
                owned[unit / neurons].push((unit % neurons) as u32);
            }
        }
    }
    for per_layer in selected.iter_mut().flatten() {
        per_layer.sort_unstable();
    }
    Ok(Selection {
        neurons: selected,
        filter_value,
        activation_bar,
        candidates: keep,
    })
}

/// Python's `round()` of a non-negative float to an integer: halves to even.
fn python_round(x: f64) -> usize {
    x.round_ties_even() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(over_zero: Vec<u64>, tokens: u64) -> ActivationCounts {
        ActivationCounts {
            layers: 2,
            neurons: over_zero.len() / 2,
            tokens,
            activation_sum: vec![0.0; over_zero.len()],
            over_zero,
        }
    }

    #[test]
    fn a_neuron_active_in_one_language_only_is_that_languages() {
        // 2 layers × 50 neurons; neuron (1, 7) fires for language 0 only,
        // (0, 3) for language 1 only, the rest weakly everywhere.
        let mut a = vec![10u64; 100];
        let mut b = vec![10u64; 100];
        a[50 + 7] = 90;
        b[50 + 7] = 0;
        a[3] = 0;
        b[3] = 95;
        let settings = Settings {
            top_rate: 0.02,
            ..Settings::default()
        };
        let got = select(&[counts(a, 100), counts(b, 100)], &settings).unwrap();
        assert_eq!(got.candidates, 2);
        assert_eq!(got.neurons[0], vec![vec![], vec![7]]);
        assert_eq!(got.neurons[1], vec![vec![3], vec![]]);
    }

    #[test]
    fn neurons_common_to_all_languages_are_dismissed() {
        // Every neuron fires equally in both languages: maximal entropy,
        // and no probability above the 95 % quantile (all are equal).
        let a = vec![40u64; 100];
        let got = select(
            &[counts(a.clone(), 100), counts(a, 100)],
            &Settings::default(),
        )
        .unwrap();
        assert!(got.neurons.iter().flatten().all(|l| l.is_empty()));
    }

    #[test]
    fn python_rounding_goes_to_even() {
        assert_eq!(python_round(2.5), 2);
        assert_eq!(python_round(3.5), 4);
        assert_eq!(python_round(3.4999), 3);
    }
}
