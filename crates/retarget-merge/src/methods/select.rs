//! Which magnitudes of a task vector survive a magnitude cut, found without
//! sorting or holding the tensor: a two-pass radix select over the bit
//! patterns of |d| (non-negative floats order like their bits), then
//! per-chunk counts of the values at the cut so that ties are broken by
//! position (the earliest win, as a stable sort would) while chunks are
//! processed in parallel.

/// Bits of a magnitude, ordered like the magnitude.
pub fn magnitude_bits(v: f32) -> u32 {
    v.to_bits() & 0x7fff_ffff
}

/// The value at one ascending rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankValue {
    /// Bits of the magnitude at that rank.
    pub bits: u32,
    /// How many magnitudes are smaller.
    pub below: usize,
    /// How many magnitudes equal it.
    pub equal: usize,
}

/// Finds the magnitude at ascending `rank` (0-based) given a way to count
/// magnitudes `m` into 65,536 bins: `histogram(None)` counts by `m >> 16`,
/// `histogram(Some(h))` counts those with `m >> 16 == h` by `m & 0xffff`.
pub fn value_at_rank(rank: usize, histogram: &dyn Fn(Option<u32>) -> Vec<usize>) -> RankValue {
    let high = histogram(None);
    let (h, below_high) = locate(&high, rank);
    let low = histogram(Some(h as u32));
    let (l, below_low) = locate(&low, rank - below_high);
    RankValue {
        bits: ((h as u32) << 16) | l as u32,
        below: below_high + below_low,
        equal: low[l],
    }
}

/// The bin holding the element of `rank`, and how many elements precede the bin.
fn locate(counts: &[usize], rank: usize) -> (usize, usize) {
    let mut below = 0;
    for (bin, &count) in counts.iter().enumerate() {
        if below + count > rank {
            return (bin, below);
        }
        below += count;
    }
    (counts.len() - 1, below - counts[counts.len() - 1])
}

/// Occurrences of one value at the cut that are kept: those numbered
/// `skip..skip + keep` in order of position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Bits of the magnitude.
    pub bits: u32,
    /// Occurrences skipped first.
    pub skip: usize,
    /// Occurrences kept after them.
    pub keep: usize,
}

/// The magnitudes that survive: strictly between `lower` and `upper`, plus
/// the chosen occurrences of the values at the edges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Exclusive lower bound (none: no bound).
    pub lower: Option<u32>,
    /// Exclusive upper bound (none: no bound).
    pub upper: Option<u32>,
    /// Values at the cut.
    pub edges: Vec<Edge>,
}

impl Selection {
    /// The `k` largest magnitudes of `n` (stable: among equals the earliest).
    pub fn largest(k: usize, n: usize, at_rank: impl Fn(usize) -> RankValue) -> Selection {
        let v = at_rank(n - k);
        let greater = n - v.below - v.equal;
        Selection {
            lower: Some(v.bits),
            upper: None,
            edges: vec![Edge {
                bits: v.bits,
                skip: 0,
                keep: k - greater,
            }],
        }
    }

    /// The magnitudes of ascending ranks `lo..hi` (stable), `lo < hi <= n`.
    pub fn ranks(lo: usize, hi: usize, at_rank: impl Fn(usize) -> RankValue) -> Selection {
        let first = at_rank(lo);
        let last = at_rank(hi - 1);
        let skip = lo - first.below;
        if first.bits == last.bits {
            return Selection {
                lower: Some(first.bits),
                upper: Some(first.bits),
                edges: vec![Edge {
                    bits: first.bits,
                    skip,
                    keep: hi - lo,
                }],
            };
        }
        Selection {
            lower: Some(first.bits),
            upper: Some(last.bits),
            edges: vec![
                Edge {
                    bits: first.bits,
                    skip,
                    keep: first.equal - skip,
                },
                Edge {
                    bits: last.bits,
                    skip: 0,
                    keep: hi - last.below,
                },
            ],
        }
    }

    /// Whether a magnitude survives; `seen` counts earlier occurrences of
    /// each edge value and is advanced. (The edges are the bounds, so values
    /// strictly between them are decided without looking at the edges.)
    #[inline]
    pub fn keeps(&self, bits: u32, seen: &mut [usize]) -> bool {
        if self.lower.is_none_or(|l| bits > l) && self.upper.is_none_or(|u| bits < u) {
            return true;
        }
        match self.edges.iter().position(|e| e.bits == bits) {
            Some(e) => {
                let edge = self.edges[e];
                let n = seen[e];
                seen[e] += 1;
                n >= edge.skip && n < edge.skip + edge.keep
            }
            None => false,
        }
    }
}

impl Selection {
    /// Decides a chunk of magnitudes `d` at once: first the open interval
    /// (vectorised), then the rare values at the edges in order of position.
    pub fn apply(&self, d: &[f32], seen: &mut [usize], keep: &mut [bool]) {
        let low = self.lower.map_or(0, |l| l.saturating_add(1));
        let high = self.upper.map_or(u32::MAX, |u| u.wrapping_sub(1));
        let empty = self.upper == Some(0);
        for (k, v) in keep.iter_mut().zip(d) {
            let bits = magnitude_bits(*v);
            *k = !empty && bits >= low && bits <= high;
        }
        for (e, edge) in self.edges.iter().enumerate() {
            for (k, v) in keep.iter_mut().zip(d) {
                if magnitude_bits(*v) == edge.bits {
                    let n = seen[e];
                    seen[e] += 1;
                    *k = n >= edge.skip && n < edge.skip + edge.keep;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(values: &[f32], rank: usize) -> RankValue {
        let bits: Vec<u32> = values.iter().map(|v| magnitude_bits(*v)).collect();
        value_at_rank(rank, &|high| {
            let mut counts = vec![0; 1 << 16];
            for &b in &bits {
                match high {
                    None => counts[(b >> 16) as usize] += 1,
                    Some(h) if b >> 16 == h => counts[(b & 0xffff) as usize] += 1,
                    Some(_) => {}
                }
            }
            counts
        })
    }

    fn kept(values: &[f32], s: &Selection) -> Vec<bool> {
        let mut seen = vec![0; s.edges.len()];
        values
            .iter()
            .map(|v| s.keeps(magnitude_bits(*v), &mut seen))
            .collect()
    }

    #[test]
    fn radix_select_agrees_with_sorting() {
        let values: Vec<f32> = (0..5000)
            .map(|i| (((i * 7919) % 1013) as f32 - 500.0) * 1e-3)
            .collect();
        let mut sorted: Vec<f32> = values.iter().map(|v| v.abs()).collect();
        sorted.sort_by(f32::total_cmp);
        for rank in [0, 1, 17, 2500, 4998, 4999] {
            let r = select(&values, rank);
            assert_eq!(f32::from_bits(r.bits), sorted[rank]);
            assert_eq!(
                r.below,
                sorted.iter().filter(|v| **v < sorted[rank]).count()
            );
            assert_eq!(
                r.equal,
                sorted.iter().filter(|v| **v == sorted[rank]).count()
            );
        }
    }

    #[test]
    fn largest_breaks_ties_by_position() {
        let values = [1.0, -2.0, 2.0, 0.5, 2.0, -3.0];
        let s = Selection::largest(3, values.len(), |r| select(&values, r));
        assert_eq!(kept(&values, &s), [false, true, true, false, false, true]);
    }

    #[test]
    fn rank_bands_keep_exactly_their_ranks() {
        let values = [1.0, 1.0, 1.0, 2.0, 2.0, 3.0];
        // Ranks 1..4: the 2nd and 3rd 1.0 and the first 2.0.
        let s = Selection::ranks(1, 4, |r| select(&values, r));
        assert_eq!(kept(&values, &s), [false, true, true, true, false, false]);
        // All within one value.
        let s = Selection::ranks(1, 2, |r| select(&values, r));
        assert_eq!(kept(&values, &s), [false, true, false, false, false, false]);
    }
}
