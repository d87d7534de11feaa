//! Beam search with `transformers`' semantics (its vectorised `_beam_search`):
//! the top 2×beams continuations by accumulated log-probability, finished
//! hypotheses scored by sum / length^length_penalty, and its three
//! `early_stopping` modes, so that the same model gives the same output.
//! Scores are f32 as in PyTorch, so that ties and orderings agree.

use candle_core::Tensor;

use super::model::{log_probs, Encoded};
use super::network::Seq2SeqModel;

/// `transformers`' `early_stopping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyStopping {
    /// `True`: stop a sentence as soon as `beams` hypotheses are finished.
    Yes,
    /// `False`: stop when no running beam can beat the worst finished one at
    /// the current length (the default heuristic).
    No,
    /// `"never"`: the same check at the longest allowed length when the
    /// length penalty is positive.
    Never,
}

/// How to search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Beams per sentence; 1 is greedy decoding.
    pub beams: usize,
    /// Most tokens to generate after the decoder start token.
    pub max_new_tokens: usize,
    /// Exponent of the length normalisation of finished hypotheses.
    pub length_penalty: f64,
    /// When a sentence stops.
    pub early_stopping: EarlyStopping,
    /// Tokens never generated.
    pub banned: Vec<u32>,
    /// Tokens forced at the first generated position (the target language
    /// of m2m_100 / NLLB).
    pub forced_first: Option<u32>,
    /// Token forced at the last allowed position.
    pub forced_last: Option<u32>,
}

/// The best hypothesis of one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Generated ids after the decoder start (forced tokens and the final
    /// end-of-sequence included when generated).
    pub ids: Vec<u32>,
    /// Its score: the length-normalised log-probability (beam search) or the
    /// summed log-probability (greedy).
    pub score: f32,
}

struct Candidate {
    beam: usize,
    token: u32,
    score: f32,
}

/// One sentence's search state.
struct Sentence {
    running: Vec<Vec<u32>>,
    running_scores: Vec<f32>,
    finished: Vec<(f32, Vec<u32>)>,
    heuristic_unsatisfied: bool,
    done: bool,
}

/// Log-probabilities of one row after the logits processors `transformers`
/// applies (banned tokens, forced first/last tokens).
fn process(row: &mut [f32], step: usize, options: &SearchOptions, max_length: usize) {
    for &t in &options.banned {
        if let Some(v) = row.get_mut(t as usize) {
            *v = f32::NEG_INFINITY;
        }
    }
    // The decoder prompt is one token, so `cur_len` = step + 1.
    let forced = match (step, options.forced_first, options.forced_last) {
        (0, Some(first), _) => Some(first),
        (s, _, Some(last)) if s + 2 == max_length => Some(last),
        _ => None,
    };
    if let Some(token) = forced {
        row.iter_mut().for_each(|v| *v = f32::NEG_INFINITY);
        if let Some(v) = row.get_mut(token as usize) {
            *v = 0.0;
        }
    }
}

impl Seq2SeqModel {
    /// Searches the best translation of every encoded sentence: greedy for
    /// one beam (as `transformers` decodes with `num_beams=1`), else beam
    /// search.
    pub fn search(
        &self,
        encoded: &Encoded,
        options: &SearchOptions,
    ) -> candle_core::Result<Vec<Hypothesis>> {
        if options.beams <= 1 {
            return self.greedy(encoded, options);
        }
        let sentences = encoded.states.dim(0)?;
        let beams = options.beams;
        let eos = self.config().eos_token_id;
        let start = self.config().decoder_start_token_id;
        let max_length = options.max_new_tokens + 1;
        // Rows are (sentence, beam); every beam of a sentence starts from its encoding.
        let rows: Vec<u32> = (0..sentences as u32)
            .flat_map(|s| std::iter::repeat_n(s, beams))
            .collect();
        let rows = Tensor::new(rows.as_slice(), self.device())?;
        let expanded = Encoded {
            states: encoded.states.index_select(&rows, 0)?,
            mask: encoded
                .mask
                .as_ref()
                .map(|m| m.index_select(&rows, 0))
                .transpose()?,
        };
        let mut state = self.start_decoding(&expanded)?;
        let mut all: Vec<Sentence> = (0..sentences)
            .map(|_| Sentence {
                running: vec![Vec::new(); beams],
                running_scores: (0..beams)
                    .map(|b| if b == 0 { 0.0 } else { -1e9 })
                    .collect(),
                finished: Vec::new(),
                heuristic_unsatisfied: true,
                done: false,
            })
            .collect();
        let mut input = vec![start; sentences * beams];
        for step in 0..options.max_new_tokens {
            let ids = Tensor::from_vec(input.clone(), (sentences * beams, 1), self.device())?;
            let logits = self.decode(&ids, &mut state)?;
            let vocab = logits.dim(2)?;
            let mut scores: Vec<f32> = log_probs(&logits)?.flatten_all()?.to_vec1()?;
            let cur_len = step + 1;
            let mut order: Vec<u32> = (0..(sentences * beams) as u32).collect();
            for (s, sentence) in all.iter_mut().enumerate() {
                if sentence.done {
                    continue;
                }
                let base = s * beams;
                let mut candidates = Vec::with_capacity(beams * vocab);
                for b in 0..beams {
                    let row = &mut scores[(base + b) * vocab..(base + b + 1) * vocab];
                    process(row, step, options, max_length);
                    let offset = sentence.running_scores[b];
                    candidates.extend(row.iter().enumerate().map(|(t, &lp)| Candidate {
                        beam: b,
                        token: t as u32,
                        score: lp + offset,
                    }));
                }
                let keep = (2 * beams).min(candidates.len());
                candidates.select_nth_unstable_by(keep - 1, |a, b| b.score.total_cmp(&a.score));
                candidates.truncate(keep);
                candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
                let stops: Vec<bool> = candidates
                    .iter()
                    .map(|c| c.token == eos || cur_len + 1 >= max_length)
                    .collect();
                // Finished hypotheses: among the top `beams` candidates only.
                let penalty = ((cur_len + 1 - 1) as f64).powf(options.length_penalty) as f32;
                let full = sentence.finished.len() == beams
                    && options.early_stopping == EarlyStopping::Yes;
                if sentence.heuristic_unsatisfied && !full {
                    for (c, _) in candidates
                        .iter()
                        .zip(&stops)
                        .take(beams)
                        .filter(|(_, &stop)| stop)
                    {
                        let mut ids = sentence.running[c.beam].clone();
                        ids.push(c.token);
                        sentence.finished.push((c.score / penalty, ids));
                    }
                    sentence.finished.sort_by(|a, b| b.0.total_cmp(&a.0));
                    sentence.finished.truncate(beams);
                }
                // Running beams: the best continuations that did not stop.
                let mut next: Vec<(f32, usize)> = candidates
                    .iter()
                    .zip(&stops)
                    .enumerate()
                    .map(|(i, (c, &stop))| (if stop { c.score - 1e9 } else { c.score }, i))
                    .collect();
                next.sort_by(|a, b| b.0.total_cmp(&a.0));
                next.truncate(beams);
                let previous = std::mem::take(&mut sentence.running);
                sentence.running = next
                    .iter()
                    .map(|&(_, i)| {
                        let mut ids = previous[candidates[i].beam].clone();
                        ids.push(candidates[i].token);
                        ids
                    })
                    .collect();
                sentence.running_scores = next.iter().map(|&(score, _)| score).collect();
                for (b, &(_, i)) in next.iter().enumerate() {
                    order[base + b] = (base + candidates[i].beam) as u32;
                    input[base + b] = candidates[i].token;
                }
                // The early-stop heuristic, then whether the sentence goes on.
                let new_len = cur_len + 1;
                let hypothetical = if options.early_stopping == EarlyStopping::Never
                    && options.length_penalty > 0.0
                {
                    max_length - 1
                } else {
                    new_len - 1
                };
                let best_possible = sentence.running_scores[0]
                    / (hypothetical as f64).powf(options.length_penalty) as f32;
                let worst_finished = if sentence.finished.len() == beams {
                    sentence
                        .finished
                        .iter()
                        .map(|f| f.0)
                        .fold(f32::INFINITY, f32::min)
                } else {
                    -1e9
                };
                sentence.heuristic_unsatisfied &= best_possible > worst_finished;
                let all_finished = sentence.finished.len() == beams;
                sentence.done = !sentence.heuristic_unsatisfied
                    || (all_finished && options.early_stopping == EarlyStopping::Yes)
                    || stops.iter().all(|&s| s);
            }
            if all.iter().all(|s| s.done) {
                break;
            }
            state.reorder(&Tensor::from_vec(order, sentences * beams, self.device())?)?;
        }
        Ok(all
            .into_iter()
            .map(|s| {
                let (score, ids) = s.finished.into_iter().next().unwrap_or((
                    s.running_scores[0],
                    s.running.into_iter().next().unwrap_or_default(),
                ));
                Hypothesis { ids, score }
            })
            .collect())
    }
}

impl Seq2SeqModel {
    /// Greedy decoding: the most likely token at each step until the end of
    /// the sequence.
    fn greedy(
        &self,
        encoded: &Encoded,
        options: &SearchOptions,
    ) -> candle_core::Result<Vec<Hypothesis>> {
        let sentences = encoded.states.dim(0)?;
        let eos = self.config().eos_token_id;
        let max_length = options.max_new_tokens + 1;
        let mut state = self.start_decoding(encoded)?;
        let mut out: Vec<Hypothesis> = (0..sentences)
            .map(|_| Hypothesis {
                ids: Vec::new(),
                score: 0.0,
            })
            .collect();
        let mut done = vec![false; sentences];
        let mut input = vec![self.config().decoder_start_token_id; sentences];
        for step in 0..options.max_new_tokens {
            let ids = Tensor::from_vec(input.clone(), (sentences, 1), self.device())?;
            let logits = self.decode(&ids, &mut state)?;
            let vocab = logits.dim(2)?;
            let mut scores: Vec<f32> = log_probs(&logits)?.flatten_all()?.to_vec1()?;
            for s in 0..sentences {
                if done[s] {
                    // Finished rows are fed padding, as transformers does.
                    input[s] = self.config().pad_token_id;
                    continue;
                }
                let row = &mut scores[s * vocab..(s + 1) * vocab];
                process(row, step, options, max_length);
                let token = crate::sampling::argmax(row);
                out[s].ids.push(token);
                out[s].score += row[token as usize];
                input[s] = token;
                done[s] = token == eos;
            }
            if done.iter().all(|&d| d) {
                break;
            }
        }
        Ok(out)
    }
}
