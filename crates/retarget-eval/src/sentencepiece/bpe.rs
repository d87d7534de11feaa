//! SentencePiece's BPE segmentation (`bpe::Model::SampleEncode` without
//! dropout): start from characters (user-defined symbols whole and frozen),
//! repeatedly merge the adjacent pair whose concatenation is the
//! highest-scoring piece (leftmost on ties), then split pieces marked
//! unused back into the pair they were merged from.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use super::{PieceKind, PieceTable, Segment};

/// `kMaxBpeResegmentDepth`.
const MAX_RESEGMENT_DEPTH: usize = 100;

struct Symbol {
    prev: Option<usize>,
    next: Option<usize>,
    frozen: bool,
    start: usize,
    len: usize,
}

/// A candidate merge; ordered by score, then by the leftmost position.
struct Pair {
    score: f32,
    left: usize,
    right: usize,
    len: usize,
}

impl PartialEq for Pair {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pair {}
impl PartialOrd for Pair {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pair {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// The id of a mergeable piece: known and not reserved (control, unknown, byte).
fn mergeable(table: &PieceTable, piece: &str) -> Option<usize> {
    let &id = table.ids_all.get(piece)?;
    (Some(id) != table.unk_id && !table.kinds[id].is_reserved()).then_some(id)
}

pub(super) fn encode<'a>(table: &PieceTable, normalized: &'a str) -> Vec<Segment<'a>> {
    let mut symbols = Vec::new();
    let mut pos = 0;
    while pos < normalized.len() {
        let rest = &normalized[pos..];
        let (len, frozen) = match table
            .user_defined
            .iter()
            .find(|s| rest.starts_with(s.as_str()))
        {
            Some(symbol) => (symbol.len(), true),
            None => (rest.chars().next().map_or(1, char::len_utf8), false),
        };
        let index = symbols.len();
        symbols.push(Symbol {
            prev: index.checked_sub(1),
            next: (pos + len < normalized.len()).then_some(index + 1),
            frozen,
            start: pos,
            len,
        });
        pos += len;
    }
    let mut agenda = BinaryHeap::new();
    let mut rev_merge: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut consider =
        |symbols: &[Symbol], left: usize, right: usize, agenda: &mut BinaryHeap<Pair>| {
            let (l, r) = (&symbols[left], &symbols[right]);
            if l.frozen || r.frozen {
                return;
            }
            let piece = &normalized[l.start..l.start + l.len + r.len];
            let Some(id) = mergeable(table, piece) else {
                return;
            };
            agenda.push(Pair {
                score: table.scores[id],
                left,
                right,
                len: piece.len(),
            });
            if table.kinds[id] == PieceKind::Unused {
                rev_merge.insert(
                    piece,
                    (
                        &normalized[l.start..l.start + l.len],
                        &normalized[r.start..r.start + r.len],
                    ),
                );
            }
        };
    for left in 0..symbols.len().saturating_sub(1) {
        consider(&symbols, left, left + 1, &mut agenda);
    }
    while let Some(top) = agenda.pop() {
        let (l, r) = (&symbols[top.left], &symbols[top.right]);
        if l.len == 0 || r.len == 0 || l.len + r.len != top.len {
            continue; // stale: one side was merged away or grew
        }
        let right_next = r.next;
        symbols[top.left].len += symbols[top.right].len;
        symbols[top.left].next = right_next;
        if let Some(next) = right_next {
            symbols[next].prev = Some(top.left);
        }
        symbols[top.right].len = 0;
        if let Some(prev) = symbols[top.left].prev {
            consider(&symbols, prev, top.left, &mut agenda);
        }
        if let Some(next) = symbols[top.left].next {
            consider(&symbols, top.left, next, &mut agenda);
        }
    }
    let mut out = Vec::new();
    let mut index = (!symbols.is_empty()).then_some(0);
    while let Some(i) = index {
        let s = &symbols[i];
        resegment(
            table,
            &rev_merge,
            &normalized[s.start..s.start + s.len],
            &mut out,
            0,
        );
        index = s.next;
    }
    out
}

fn resegment<'a>(
    table: &PieceTable,
    rev_merge: &HashMap<&'a str, (&'a str, &'a str)>,
    piece: &'a str,
    out: &mut Vec<Segment<'a>>,
    depth: usize,
) {
    let id = table.ids_all.get(piece).copied();
    let known = id.filter(|&id| Some(id) != table.unk_id && !table.kinds[id].is_reserved());
    if depth > MAX_RESEGMENT_DEPTH {
        out.push(Segment {
            piece,
            id: id.or(table.unk_id),
        });
        return;
    }
    let Some(id) = known else {
        out.push(Segment {
            piece,
            id: table.unk_id,
        });
        return;
    };
    if table.kinds[id] != PieceKind::Unused {
        out.push(Segment {
            piece,
            id: Some(id),
        });
        return;
    }
    match rev_merge.get(piece) {
        Some(&(left, right)) => {
            resegment(table, rev_merge, left, out, depth + 1);
            resegment(table, rev_merge, right, out, depth + 1);
        }
        None => out.push(Segment {
            piece,
            id: table.unk_id,
        }),
    }
}
