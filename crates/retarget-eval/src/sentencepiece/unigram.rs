//! SentencePiece's unigram segmentation (`unigram::Model::EncodeOptimized`):
//! Viterbi over byte positions with `f32` path scores, an unknown node of
//! score `min_score - 10` where no single-character piece exists, and
//! user-defined symbols scored so that they always win.

use super::{PieceTable, Segment};

/// `kUnkPenalty`.
const UNK_PENALTY: f32 = 10.0;
/// `kScoreResetThreshold`: path scores are re-centred past this magnitude.
const SCORE_RESET_THRESHOLD: f32 = 100_000.0;

#[derive(Clone, Copy)]
struct BestPath {
    id: Option<usize>,
    score: f32,
    starts_at: Option<usize>,
}

/// The best segmentation of `normalized` (pieces with their ids; `None` is
/// the unknown piece).
pub(super) fn encode<'a>(table: &PieceTable, normalized: &'a str) -> Vec<Segment<'a>> {
    let size = normalized.len();
    if size == 0 {
        return Vec::new();
    }
    let unk_score = table.min_normal_score - UNK_PENALTY;
    let mut best = vec![
        BestPath {
            id: None,
            score: 0.0,
            starts_at: None,
        };
        size + 1
    ];
    let mut max_frontier = 0;
    let mut starts_at = 0;
    while starts_at < size {
        let mut till_here = best[starts_at].score;
        if !(-SCORE_RESET_THRESHOLD..=SCORE_RESET_THRESHOLD).contains(&till_here) {
            let offset = till_here;
            for (i, node) in best
                .iter_mut()
                .enumerate()
                .take(max_frontier + 1)
                .skip(starts_at)
            {
                if i == starts_at || node.starts_at.is_some() {
                    node.score -= offset;
                }
            }
            till_here = 0.0;
        }
        let char_len = normalized[starts_at..]
            .chars()
            .next()
            .map_or(1, char::len_utf8);
        let mut has_single_node = false;
        let rest = &normalized[starts_at..];
        let ends = rest
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain(std::iter::once(rest.len()));
        for end in ends {
            if end > table.max_piece_len {
                break;
            }
            let Some(&id) = table.ids.get(&rest[..end]) else {
                continue;
            };
            let kind = table.kinds[id];
            if kind == super::PieceKind::Unused {
                continue;
            }
            let key_pos = starts_at + end;
            max_frontier = max_frontier.max(key_pos);
            let score = if kind == super::PieceKind::UserDefined {
                (0.1 * (end as f64 - 1.0)) as f32
            } else {
                table.scores[id]
            };
            let candidate = score + till_here;
            let target = &mut best[key_pos];
            if target.starts_at.is_none() || candidate > target.score {
                *target = BestPath {
                    id: Some(id),
                    score: candidate,
                    starts_at: Some(starts_at),
                };
            }
            if end == char_len {
                has_single_node = true;
            }
        }
        if !has_single_node {
            max_frontier = max_frontier.max(starts_at + char_len);
            let candidate = unk_score + till_here;
            let target = &mut best[starts_at + char_len];
            if target.starts_at.is_none() || candidate > target.score {
                *target = BestPath {
                    id: table.unk_id,
                    score: candidate,
                    starts_at: Some(starts_at),
                };
            }
        }
        starts_at += char_len;
    }
    let mut out = Vec::new();
    let mut end = size;
    while end > 0 {
        let node = best[end];
        let start = node.starts_at.expect("every position is reachable");
        out.push(Segment {
            piece: &normalized[start..end],
            id: node.id,
        });
        end = start;
    }
    out.reverse();
    out
}
