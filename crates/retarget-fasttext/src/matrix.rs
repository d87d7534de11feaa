//! fastText's two matrix kinds: dense `f32` rows (read in place from the
//! memory-mapped file) and product-quantized rows (`.ftz`).
//!
//! Arithmetic follows fastText's `DenseMatrix`, `QuantMatrix` and
//! `ProductQuantizer` in `f32`, element by element in the same order, so that
//! probabilities agree with the C++ implementation to float rounding.

use std::sync::Arc;

use memmap2::Mmap;

use crate::reader::Reader;
use crate::Result;

/// Centroids per sub-quantizer: fastText always uses 8-bit codes.
const KSUB: usize = 256;

/// A matrix of `rows × cols` `f32`.
pub(crate) enum Matrix {
    Dense(DenseMatrix),
    Quantized(QuantMatrix),
}

impl Matrix {
    pub(crate) fn read(
        reader: &mut Reader<'_>,
        map: &Arc<Mmap>,
        quantized: bool,
    ) -> Result<Matrix> {
        Ok(if quantized {
            Matrix::Quantized(QuantMatrix::read(reader)?)
        } else {
            Matrix::Dense(DenseMatrix::read(reader, map)?)
        })
    }

    pub(crate) fn rows(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.rows,
            Matrix::Quantized(m) => m.rows,
        }
    }

    pub(crate) fn cols(&self) -> usize {
        match self {
            Matrix::Dense(m) => m.cols,
            Matrix::Quantized(m) => m.pq.dim,
        }
    }

    /// `x += row i`.
    pub(crate) fn add_row_to(&self, x: &mut [f32], i: usize) {
        match self {
            Matrix::Dense(m) => {
                for (xj, value) in x.iter_mut().zip(m.row(i)) {
                    *xj += value;
                }
            }
            Matrix::Quantized(m) => m.pq.add_code(x, m.code(i), m.norm(i)),
        }
    }

    /// `x += row i`, in `f64` (word vectors are averaged in `f64`).
    pub(crate) fn add_row_to_f64(&self, x: &mut [f64], i: usize) {
        match self {
            Matrix::Dense(m) => {
                for (xj, value) in x.iter_mut().zip(m.row(i)) {
                    *xj += value as f64;
                }
            }
            Matrix::Quantized(m) => {
                let mut row = vec![0.0f32; x.len()];
                m.pq.add_code(&mut row, m.code(i), m.norm(i));
                for (xj, value) in x.iter_mut().zip(row) {
                    *xj += value as f64;
                }
            }
        }
    }

    /// A dense matrix of these rows (`values.len() / cols` of them).
    pub(crate) fn dense(values: &[f32], cols: usize) -> Matrix {
        Matrix::Dense(DenseMatrix {
            bytes: Storage::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            offset: 0,
            rows: values.len() / cols.max(1),
            cols,
        })
    }

    /// `row i · x`.
    pub(crate) fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match self {
            Matrix::Dense(m) => {
                let mut d = 0.0f32;
                for (xj, value) in x.iter().zip(m.row(i)) {
                    d += value * xj;
                }
                d
            }
            Matrix::Quantized(m) => m.pq.mul_code(x, m.code(i), m.norm(i)),
        }
    }
}

/// Dense rows, read in place from the mapped file (or owned, for word
/// vectors read from text).
pub(crate) struct DenseMatrix {
    bytes: Storage,
    offset: usize,
    rows: usize,
    cols: usize,
}

impl DenseMatrix {
    fn read(reader: &mut Reader<'_>, map: &Arc<Mmap>) -> Result<DenseMatrix> {
        let m = reader.i64("matrix rows")?;
        let rows = reader.count(m, "matrix rows", i32::MAX as i64)?;
        let n = reader.i64("matrix columns")?;
        let cols = reader.count(n, "matrix columns", 1 << 20)?;
        let offset = reader.pos();
        let len = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| reader.invalid("matrix size overflows"))?;
        reader.take(len, "matrix values")?;
        Ok(DenseMatrix {
            bytes: Storage::Mapped(Arc::clone(map)),
            offset,
            rows,
            cols,
        })
    }

    fn row(&self, i: usize) -> impl Iterator<Item = f32> + '_ {
        let start = self.offset + i * self.cols * 4;
        self.bytes.as_slice()[start..start + self.cols * 4]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("chunks of 4")))
    }
}

/// Where dense values live.
enum Storage {
    Mapped(Arc<Mmap>),
    Owned(Vec<u8>),
}

impl Storage {
    fn as_slice(&self) -> &[u8] {
        match self {
            Storage::Mapped(map) => map,
            Storage::Owned(bytes) => bytes,
        }
    }
}

/// Product-quantized rows with optional quantized norms (fastText `-qnorm`).
pub(crate) struct QuantMatrix {
    rows: usize,
    codes: Vec<u8>,
    pq: ProductQuantizer,
    norms: Option<(Vec<u8>, ProductQuantizer)>,
}

impl QuantMatrix {
    fn read(reader: &mut Reader<'_>) -> Result<QuantMatrix> {
        let qnorm = reader.bool("quantized-norm flag")?;
        let m = reader.i64("matrix rows")?;
        let rows = reader.count(m, "matrix rows", i32::MAX as i64)?;
        let n = reader.i64("matrix columns")?;
        let cols = reader.count(n, "matrix columns", 1 << 20)?;
        let size = reader.i32("code size")?;
        let size = reader.count(size.into(), "code size", i32::MAX as i64)?;
        let codes = reader.take(size, "codes")?.to_vec();
        let pq = ProductQuantizer::read(reader)?;
        if pq.dim != cols || size != rows * pq.nsubq {
            return Err(reader.invalid(format!(
                "quantizer for {} columns in {} parts does not fit a {rows}×{cols} matrix with {size} codes",
                pq.dim, pq.nsubq
            )));
        }
        let norms = if qnorm {
            let norm_codes = reader.take(rows, "norm codes")?.to_vec();
            let npq = ProductQuantizer::read(reader)?;
            if npq.dim != 1 {
                return Err(
                    reader.invalid(format!("norm quantizer has dimension {}, not 1", npq.dim))
                );
            }
            Some((norm_codes, npq))
        } else {
            None
        };
        Ok(QuantMatrix {
            rows,
            codes,
            pq,
            norms,
        })
    }

    fn code(&self, i: usize) -> &[u8] {
        &self.codes[i * self.pq.nsubq..(i + 1) * self.pq.nsubq]
    }

    fn norm(&self, i: usize) -> f32 {
        match &self.norms {
            Some((codes, npq)) => npq.centroid(0, codes[i])[0],
            None => 1.0,
        }
    }
}

/// fastText's `ProductQuantizer`: `nsubq` sub-vectors of `dsub` values (the
/// last one `lastdsub`), each one of 256 centroids.
struct ProductQuantizer {
    dim: usize,
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

impl ProductQuantizer {
    fn read(reader: &mut Reader<'_>) -> Result<ProductQuantizer> {
        let mut field = |what: &str| -> Result<usize> {
            let value = reader.i32(what)?;
            reader.count(value.into(), what, 1 << 20)
        };
        let dim = field("quantizer dimension")?;
        let nsubq = field("quantizer sub-vectors")?;
        let dsub = field("quantizer sub-vector size")?;
        let lastdsub = field("quantizer last sub-vector size")?;
        if nsubq == 0 || dsub == 0 || lastdsub == 0 || (nsubq - 1) * dsub + lastdsub != dim {
            return Err(reader.invalid(format!(
                "quantizer of dimension {dim} cannot have {nsubq} parts of {dsub} (last {lastdsub})"
            )));
        }
        let centroids = reader.f32s(dim * KSUB, "quantizer centroids")?;
        Ok(ProductQuantizer {
            dim,
            nsubq,
            dsub,
            lastdsub,
            centroids,
        })
    }

    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        let i = usize::from(i);
        if m == self.nsubq - 1 {
            let start = m * KSUB * self.dsub + i * self.lastdsub;
            &self.centroids[start..start + self.lastdsub]
        } else {
            let start = (m * KSUB + i) * self.dsub;
            &self.centroids[start..start + self.dsub]
        }
    }

    fn add_code(&self, x: &mut [f32], code: &[u8], alpha: f32) {
        for (m, &c) in code.iter().enumerate() {
            let part = &mut x[m * self.dsub..];
            for (xn, cn) in part.iter_mut().zip(self.centroid(m, c)) {
                *xn += alpha * cn;
            }
        }
    }

    fn mul_code(&self, x: &[f32], code: &[u8], alpha: f32) -> f32 {
        let mut res = 0.0f32;
        for (m, &c) in code.iter().enumerate() {
            let part = &x[m * self.dsub..];
            for (xn, cn) in part.iter().zip(self.centroid(m, c)) {
                res += xn * cn;
            }
        }
        res * alpha
    }
}
