//! The distinct n-grams of a batch of lines, looked up in every candidate
//! language's FST by a single walk over all of them.
//!
//! lingua looks every n-gram up from the FST's root, and on a miss looks up
//! its prefixes one by one, again from the root, for every order it scores.
//! The n-grams of all orders that start at one position are prefixes of the
//! longest one there, so one walk along the longest, with the FST node of
//! each prefix kept, answers them all; walking the line's sequences in
//! sorted order visits each distinct n-gram once, sharing every common
//! prefix. The FST nodes visited are those lingua's lookups visit, minus the
//! repeats.

use fst::raw::{Fst, Node, Output};

/// The longest n-gram lingua scores.
pub(super) const LONGEST: usize = 5;

/// What a walk reports, in order.
pub(super) enum Visit<'v> {
    /// A distinct n-gram of `length` characters, with its value in each FST
    /// where it is a key. Its line counts follow, before any longer n-gram.
    Gram {
        length: usize,
        values: &'v [Option<u64>],
    },
    /// Line `line` has the n-gram of `length` characters last reported
    /// (once per line and n-gram).
    Line { line: usize, length: usize },
}

/// The character sequences the n-grams of a batch of lines are prefixes of:
/// from each start position in each word, up to the line's longest order,
/// each with its line, sorted. Lines share most of their n-grams (a batch
/// of 64 UDHR paragraphs has 4x fewer distinct n-grams than its lines
/// together), so one walk serves them all.
pub(super) struct Grams<'t> {
    walks: Vec<(&'t str, usize)>,
    lines: usize,
}

impl<'t> Grams<'t> {
    /// The sequences of each line of `lines` (numbered from 0): its words,
    /// the longest n-gram scored and whether only that length is (then only
    /// sequences of exactly that many characters are taken).
    pub(super) fn new<'w>(lines: impl IntoIterator<Item = (&'w [&'t str], usize, bool)>) -> Self
    where
        't: 'w,
    {
        let mut walks = Vec::new();
        let mut count = 0;
        let mut bounds: Vec<usize> = Vec::new();
        for (line, (words, longest, exact)) in lines.into_iter().enumerate() {
            count = line + 1;
            for word in words {
                bounds.clear();
                bounds.extend(word.char_indices().map(|(i, _)| i));
                bounds.push(word.len());
                let chars = bounds.len() - 1;
                for start in 0..chars {
                    let len = (chars - start).min(longest);
                    if exact && len < longest {
                        break;
                    }
                    walks.push((&word[bounds[start]..bounds[start + len]], line));
                }
            }
        }
        walks.sort_unstable();
        walks.dedup();
        Grams {
            walks,
            lines: count,
        }
    }

    /// Walks every FST of `fsts` along the sequences together, reporting
    /// each distinct n-gram (of every length up to the longest) once,
    /// parents before children, followed by the lines that have it.
    pub(super) fn walk(&self, fsts: &[&Fst<&'static [u8]>], mut visit: impl FnMut(Visit)) {
        let n = fsts.len();
        // path[d * n + f]: the node of FST f reached by the current
        // sequence's first d characters, with the output gathered on the
        // way; None once the sequence has left that FST.
        let mut path: Vec<Option<(Node, Output)>> = vec![None; (LONGEST + 1) * n];
        for (slot, fst) in path.iter_mut().zip(fsts) {
            *slot = Some((fst.root(), Output::zero()));
        }
        // gram[d]: a number for the current n-gram of d characters;
        // counted[line][d]: the last such number counted for that line.
        let mut gram = [0usize; LONGEST + 1];
        let mut counted = vec![[usize::MAX; LONGEST + 1]; self.lines];
        let mut fresh = 0usize;
        let mut next = vec![0usize; n];
        let mut values = vec![None; n];
        let mut previous: &str = "";
        for &(walk, line) in &self.walks {
            let mut shared = previous
                .bytes()
                .zip(walk.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            while !walk.is_char_boundary(shared) {
                shared -= 1;
            }
            let mut depth = 0;
            for (at, c) in walk.char_indices() {
                depth += 1;
                if at >= shared {
                    let (parents, children) = path.split_at_mut(depth * n);
                    let current = &mut children[..n];
                    current.copy_from_slice(&parents[(depth - 1) * n..]);
                    step(fsts, current, &mut next, c);
                    for (value, state) in values.iter_mut().zip(current.iter()) {
                        *value = state
                            .filter(|(node, _)| node.is_final())
                            .map(|(node, out)| out.cat(node.final_output()).value());
                    }
                    fresh += 1;
                    gram[depth] = fresh;
                    visit(Visit::Gram {
                        length: depth,
                        values: &values,
                    });
                }
                if counted[line][depth] != gram[depth] {
                    counted[line][depth] = gram[depth];
                    visit(Visit::Line {
                        line,
                        length: depth,
                    });
                }
            }
            previous = walk;
        }
    }
}

/// Moves every state of `states` (one per FST of `fsts`) along `c`'s UTF-8
/// bytes. Byte by byte, every FST's transition is found first and the
/// target node's memory asked for, then the nodes are read: the FSTs are
/// megabytes each, so most nodes past the first characters are cache
/// misses, which this overlaps instead of taking one after another.
fn step<'f>(
    fsts: &[&'f Fst<&'static [u8]>],
    states: &mut [Option<(Node<'f>, Output)>],
    next: &mut [usize],
    c: char,
) {
    let mut utf8 = [0; 4];
    for &b in c.encode_utf8(&mut utf8).as_bytes() {
        for ((state, fst), next) in states.iter_mut().zip(fsts).zip(next.iter_mut()) {
            let Some((node, out)) = state else { continue };
            match node.find_input(b) {
                Some(i) => {
                    let transition = node.transition(i);
                    *out = out.cat(transition.out);
                    *next = transition.addr;
                    prefetch(fst.as_bytes(), transition.addr);
                }
                None => *state = None,
            }
        }
        for ((state, fst), &next) in states.iter_mut().zip(fsts).zip(next.iter()) {
            if let Some((node, _)) = state {
                *node = fst.node(next);
            }
        }
    }
}

/// Asks the CPU for the cache line holding `bytes[at]` (a node's first
/// byte; the node extends to lower addresses from there).
fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = bytes.get(at) {
        // SAFETY: a prefetch is a hint and never faults; the address is
        // inside `bytes` anyway.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((byte as *const u8).cast());
            _mm_prefetch::<_MM_HINT_T0>((byte as *const u8).wrapping_sub(48).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}
