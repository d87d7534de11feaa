//! A little-endian cursor over a fastText model file that names the file,
//! the offset and the field when the file ends early.

use std::path::Path;

use crate::Result;
use retarget_model::ModelError;

/// Reads fastText's binary fields in order.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], path: &'a Path) -> Self {
        Reader {
            bytes,
            pos: 0,
            path,
        }
    }

    /// The current offset in the file.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// An `Invalid` error naming the file and the current offset.
    pub(crate) fn invalid(&self, problem: impl std::fmt::Display) -> ModelError {
        ModelError::invalid(
            self.path,
            format!(
                "not a valid fastText model: {problem} (at byte {})",
                self.pos
            ),
        )
    }

    /// Bytes left after the current offset.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Fails when `count` items of at least `min_bytes` each cannot fit in
    /// the rest of the file (so that a lying count never sizes an
    /// allocation).
    pub(crate) fn check_fits(&self, count: usize, min_bytes: usize, what: &str) -> Result<()> {
        if count.saturating_mul(min_bytes) > self.remaining() {
            return Err(self.invalid(format!(
                "{count} {what} cannot fit in the {} bytes left",
                self.remaining()
            )));
        }
        Ok(())
    }

    /// The next `len` bytes.
    pub(crate) fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.invalid(format!(
                "file ends while reading {what} ({len} bytes needed, {} left)",
                self.bytes.len() - self.pos
            )));
        };
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self
            .take(N, what)?
            .try_into()
            .expect("take returns N bytes"))
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn bool(&mut self, what: &str) -> Result<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.invalid(format!("{what} is {other}, not a boolean"))),
        }
    }

    pub(crate) fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn i64(&mut self, what: &str) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(crate) fn f64(&mut self, what: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A count or size that must lie in `0..=max`.
    pub(crate) fn count(&mut self, value: i64, what: &str, max: i64) -> Result<usize> {
        if !(0..=max).contains(&value) {
            return Err(self.invalid(format!("{what} is {value}, outside 0..={max}")));
        }
        Ok(value as usize)
    }

    /// A NUL-terminated string.
    pub(crate) fn cstr(&mut self, what: &str) -> Result<&'a [u8]> {
        let rest = &self.bytes[self.pos..];
        let Some(len) = rest.iter().position(|&b| b == 0) else {
            return Err(self.invalid(format!("file ends inside {what}")));
        };
        self.pos += len + 1;
        Ok(&rest[..len])
    }

    /// `n` little-endian `f32` values, copied.
    pub(crate) fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>> {
        let len = n
            .checked_mul(4)
            .ok_or_else(|| self.invalid(format!("{what} is too large")))?;
        let bytes = self.take(len, what)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("chunks of 4")))
            .collect())
    }
}
