//! A tensor's inputs, read piece by piece (chunks) from the memory-mapped
//! files, so that no input is ever decoded whole: statistics passes fold over
//! chunks in parallel, and the output is computed chunk by chunk and written
//! as it comes.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use retarget_model::dtype::{from_f32_into, round_to, to_f32_into, FloatType};

use super::Kernel;

/// Elements per chunk (256 KiB of f32 per input).
pub const CHUNK: usize = 1 << 16;

/// Chunks computed in parallel before they are written in order.
const CHUNKS_IN_FLIGHT: usize = 32;

/// One input tensor.
#[derive(Debug)]
pub enum Source<'a> {
    /// Bytes in a memory map, decoded on read and optionally rounded through
    /// the configured `dtype`.
    Mapped {
        /// The tensor's bytes.
        bytes: &'a [u8],
        /// Their type.
        dtype: FloatType,
        /// Round the values to this type after decoding (mergekit's `dtype`).
        round: Option<FloatType>,
    },
    /// Values already in memory (e.g. rows permuted onto a merged vocabulary).
    Owned(Vec<f32>),
}

impl Source<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Source::Mapped { bytes, dtype, .. } => bytes.len() / dtype.size(),
            Source::Owned(v) => v.len(),
        }
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads elements `start..start + out.len()` as f32.
    pub fn read(&self, start: usize, out: &mut [f32]) {
        match self {
            Source::Mapped {
                bytes,
                dtype,
                round,
            } => {
                let size = dtype.size();
                to_f32_into(
                    *dtype,
                    &bytes[start * size..(start + out.len()) * size],
                    out,
                );
                if let Some(r) = round.filter(|r| r != dtype) {
                    round_to(r, out);
                }
            }
            Source::Owned(values) => out.copy_from_slice(&values[start..start + out.len()]),
        }
    }
}

/// All inputs of one tensor (same number of elements each).
#[derive(Debug)]
pub struct Sources<'a> {
    /// The inputs, in configuration order.
    pub inputs: Vec<Source<'a>>,
}

/// Per-thread buffers for the selected inputs of one chunk.
struct Scratch {
    buffers: Vec<Vec<f32>>,
}

impl Scratch {
    fn new(count: usize, chunk_len: usize) -> Self {
        Scratch {
            buffers: vec![vec![0f32; chunk_len]; count],
        }
    }

    fn fill<'s>(
        &'s mut self,
        sources: &Sources,
        which: &[usize],
        start: usize,
        len: usize,
    ) -> Vec<&'s [f32]> {
        for (buffer, &i) in self.buffers.iter_mut().zip(which) {
            sources.inputs[i].read(start, &mut buffer[..len]);
        }
        self.buffers.iter().map(|b| &b[..len]).collect()
    }
}

impl Sources<'_> {
    /// Elements per input.
    pub fn len(&self) -> usize {
        self.inputs.first().map_or(0, Source::len)
    }

    /// Whether the tensors are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn chunk_count(&self, chunk_len: usize) -> usize {
        self.len().div_ceil(chunk_len)
    }

    /// Folds `fold(acc, chunk index, start, values of the inputs `which`)`
    /// over all chunks in parallel and combines the per-thread results with `reduce`.
    pub fn fold_chunks<T: Send>(
        &self,
        chunk_len: usize,
        which: &[usize],
        identity: impl Fn() -> T + Sync + Send,
        fold: impl Fn(T, usize, usize, &[&[f32]]) -> T + Sync + Send,
        reduce: impl Fn(T, T) -> T + Sync + Send,
    ) -> T {
        let n = self.len();
        (0..self.chunk_count(chunk_len))
            .into_par_iter()
            .fold(
                || (identity(), Scratch::new(which.len(), chunk_len.min(n))),
                |(acc, mut scratch), c| {
                    let start = c * chunk_len;
                    let len = chunk_len.min(n - start);
                    let values = scratch.fill(self, which, start, len);
                    (fold(acc, c, start, &values), scratch)
                },
            )
            .map(|(acc, _)| acc)
            .reduce(&identity, reduce)
    }

    /// `f(chunk index, start, values of the inputs `which`)` for every chunk, in chunk order.
    pub fn map_chunks<T: Send>(
        &self,
        chunk_len: usize,
        which: &[usize],
        f: impl Fn(usize, usize, &[&[f32]]) -> T + Sync + Send,
    ) -> Vec<T> {
        let n = self.len();
        (0..self.chunk_count(chunk_len))
            .into_par_iter()
            .map_init(
                || Scratch::new(which.len(), chunk_len.min(n)),
                |scratch, c| {
                    let start = c * chunk_len;
                    let len = chunk_len.min(n - start);
                    f(c, start, &scratch.fill(self, which, start, len))
                },
            )
            .collect()
    }

    /// Computes the output chunk by chunk with `kernel`, encodes it as
    /// `dtype` and writes it in order.
    pub fn stream(
        &self,
        kernel: &dyn Kernel,
        dtype: FloatType,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let n = self.len();
        let chunk_len = kernel.chunk_len().max(1);
        let all: Vec<usize> = (0..self.inputs.len()).collect();
        let chunks = self.chunk_count(chunk_len);
        let mut encoded: Vec<Vec<u8>> = vec![Vec::new(); CHUNKS_IN_FLIGHT.min(chunks)];
        let nonfinite = AtomicBool::new(false);
        for first in (0..chunks).step_by(CHUNKS_IN_FLIGHT.max(1)) {
            let batch = CHUNKS_IN_FLIGHT.min(chunks - first);
            encoded[..batch].par_iter_mut().enumerate().for_each_init(
                || {
                    (
                        Scratch::new(all.len(), chunk_len.min(n)),
                        vec![0f32; chunk_len.min(n)],
                    )
                },
                |(scratch, values), (offset, bytes)| {
                    let c = first + offset;
                    let start = c * chunk_len;
                    let len = chunk_len.min(n - start);
                    let inputs = scratch.fill(self, &all, start, len);
                    kernel.chunk(c, &inputs, &mut values[..len]);
                    if values[..len].iter().any(|v| !v.is_finite()) {
                        nonfinite.store(true, Ordering::Relaxed);
                    }
                    bytes.resize(len * dtype.size(), 0);
                    from_f32_into(dtype, &values[..len], bytes);
                },
            );
            if nonfinite.load(Ordering::Relaxed) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the merge produced NaN or infinite values (non-finite input weights, or \
                     parameters such as linear weights that sum to 0 with normalize: true)",
                ));
            }
            for bytes in &encoded[..batch] {
                out.write_all(bytes)?;
            }
        }
        Ok(())
    }
}
