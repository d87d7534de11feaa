//! fastText's output layers at prediction time: softmax, one-vs-all /
//! negative sampling (sigmoid per label) and hierarchical softmax (a Huffman
//! tree over label counts, searched depth-first).
//!
//! Scores are `log(p + 1e-5)` as in fastText's `std_log`, and a caller
//! receives `exp(score)`, exactly what the Python bindings return.

use crate::matrix::Matrix;

/// fastText's `loss_name` numbering in the model header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LossKind {
    HierarchicalSoftmax,
    NegativeSampling,
    Softmax,
    OneVsAll,
}

impl LossKind {
    pub(crate) fn from_code(code: i32) -> Option<LossKind> {
        match code {
            1 => Some(LossKind::HierarchicalSoftmax),
            2 => Some(LossKind::NegativeSampling),
            3 => Some(LossKind::Softmax),
            4 => Some(LossKind::OneVsAll),
            _ => None,
        }
    }
}

fn std_log(x: f32) -> f32 {
    (f64::from(x) + 1e-5).ln() as f32
}

/// The output layer: how hidden vectors become label scores.
pub(crate) enum Loss {
    Softmax,
    Sigmoid(SigmoidTable),
    Hierarchical(HuffmanTree),
}

impl Loss {
    pub(crate) fn new(kind: LossKind, label_counts: &[i64]) -> Loss {
        match kind {
            LossKind::Softmax => Loss::Softmax,
            LossKind::NegativeSampling | LossKind::OneVsAll => Loss::Sigmoid(SigmoidTable::new()),
            LossKind::HierarchicalSoftmax => Loss::Hierarchical(HuffmanTree::new(label_counts)),
        }
    }

    /// The `k` best `(score, label)` pairs with probability ≥ `threshold`,
    /// best first, where score = `std_log(p)`.
    pub(crate) fn predict(
        &self,
        output: &Matrix,
        hidden: &[f32],
        k: usize,
        threshold: f32,
    ) -> Vec<(f32, usize)> {
        let mut best = TopK::new(k);
        match self {
            Loss::Softmax | Loss::Sigmoid(_) => {
                let mut out: Vec<f32> = (0..output.rows())
                    .map(|i| output.dot_row(hidden, i))
                    .collect();
                match self {
                    Loss::Sigmoid(table) => out.iter_mut().for_each(|o| *o = table.sigmoid(*o)),
                    _ => softmax(&mut out),
                }
                for (label, &p) in out.iter().enumerate() {
                    if p >= threshold {
                        best.offer(std_log(p), label);
                    }
                }
            }
            Loss::Hierarchical(tree) => {
                let root = tree.nodes.len() - 1;
                tree.search(output, hidden, root, 0.0, std_log(threshold), &mut best);
            }
        }
        best.into_sorted()
    }
}

/// `SoftmaxLoss::computeOutput`, in `f32`.
fn softmax(out: &mut [f32]) {
    let max = out.iter().copied().fold(out[0], f32::max);
    let mut z = 0.0f32;
    for o in out.iter_mut() {
        *o = (f64::from(*o - max)).exp() as f32;
        z += *o;
    }
    for o in out.iter_mut() {
        *o /= z;
    }
}

/// fastText's table-driven sigmoid (512 steps over [-8, 8]).
pub(crate) struct SigmoidTable(Vec<f32>);

const SIGMOID_TABLE_SIZE: usize = 512;
const MAX_SIGMOID: f32 = 8.0;

impl SigmoidTable {
    fn new() -> SigmoidTable {
        SigmoidTable(
            (0..=SIGMOID_TABLE_SIZE)
                .map(|i| {
                    let x =
                        (i as f32 * 2.0 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE as f32 - MAX_SIGMOID;
                    (1.0 / (1.0 + (-f64::from(x)).exp())) as f32
                })
                .collect(),
        )
    }

    fn sigmoid(&self, x: f32) -> f32 {
        if x < -MAX_SIGMOID {
            0.0
        } else if x > MAX_SIGMOID {
            1.0
        } else {
            let i = ((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE as f32 / MAX_SIGMOID / 2.0) as usize;
            self.0[i]
        }
    }
}

/// The Huffman tree of `HierarchicalSoftmaxLoss::buildTree`: leaves are the
/// labels (sorted by decreasing count), inner node `i` uses output row
/// `i - labels`.
pub(crate) struct HuffmanTree {
    nodes: Vec<Node>,
    labels: usize,
}

#[derive(Clone, Copy)]
struct Node {
    left: Option<usize>,
    right: Option<usize>,
    count: i64,
}

impl HuffmanTree {
    fn new(counts: &[i64]) -> HuffmanTree {
        let osz = counts.len();
        let mut nodes = vec![
            Node {
                left: None,
                right: None,
                count: 1_000_000_000_000_000,
            };
            (2 * osz).saturating_sub(1)
        ];
        for (node, &count) in nodes.iter_mut().zip(counts) {
            node.count = count;
        }
        // Two cursors: leaves from the rarest up, inner nodes in creation order.
        let mut leaf = osz as isize - 1;
        let mut next = osz;
        for i in osz..nodes.len() {
            let mut mini = [0usize; 2];
            for m in &mut mini {
                // fastText compares with `tree_[node]` even when that node is
                // not built yet (count 1e15). Only built nodes (< i) may be
                // chosen here, so that label counts out of order (a broken
                // file) cannot make a cycle or read past the tree.
                let leaf_ok = leaf >= 0;
                let next_ok = next < i;
                let take_leaf =
                    leaf_ok && (!next_ok || nodes[leaf as usize].count < nodes[next].count);
                if take_leaf {
                    *m = leaf as usize;
                    leaf -= 1;
                } else if next_ok {
                    *m = next;
                    next += 1;
                }
            }
            nodes[i].left = Some(mini[0]);
            nodes[i].right = Some(mini[1]);
            nodes[i].count = nodes[mini[0]].count.saturating_add(nodes[mini[1]].count);
        }
        HuffmanTree { nodes, labels: osz }
    }

    /// `HierarchicalSoftmaxLoss::dfs`.
    fn search(
        &self,
        output: &Matrix,
        hidden: &[f32],
        node: usize,
        score: f32,
        min_score: f32,
        best: &mut TopK,
    ) {
        if score < min_score || best.rejects(score) {
            return;
        }
        let Node { left, right, .. } = self.nodes[node];
        let (Some(left), Some(right)) = (left, right) else {
            best.offer(score, node);
            return;
        };
        let f = output.dot_row(hidden, node - self.labels);
        let f = (1.0 / (1.0 + (-f64::from(f)).exp())) as f32;
        self.search(
            output,
            hidden,
            left,
            score + std_log(1.0 - f),
            min_score,
            best,
        );
        self.search(output, hidden, right, score + std_log(f), min_score, best);
    }
}

/// The `k` highest scores seen, as fastText's heap keeps them.
struct TopK {
    k: usize,
    items: Vec<(f32, usize)>,
}

impl TopK {
    fn new(k: usize) -> TopK {
        TopK {
            k,
            items: Vec::new(),
        }
    }

    fn worst(&self) -> Option<f32> {
        self.items.iter().map(|&(s, _)| s).reduce(f32::min)
    }

    /// True when a full list cannot take `score`.
    fn rejects(&self, score: f32) -> bool {
        self.items.len() == self.k && self.worst().is_some_and(|w| score < w)
    }

    fn offer(&mut self, score: f32, label: usize) {
        if self.k == 0 || self.rejects(score) {
            return;
        }
        self.items.push((score, label));
        if self.items.len() > self.k {
            let (worst, _) = self
                .items
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .expect("non-empty");
            self.items.swap_remove(worst);
        }
    }

    fn into_sorted(mut self) -> Vec<(f32, usize)> {
        self.items.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.items
    }
}
