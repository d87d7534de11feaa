//! Lists of Python `str` read as UTF-8 in place, for the functions that
//! take many lines (sentence scores of 100,000 pairs, pairwise matrices).
//!
//! PyO3's `Vec<String>` under the stable ABI of Python 3.9 encodes every
//! string into a new `bytes` object and copies it into a new `String`, under
//! the GIL, before the parallel work can start: a third of sentence BLEU's
//! time on short lines. `PyUnicode_AsUTF8AndSize` instead returns the
//! string's own UTF-8 (an ASCII string's characters as they are stored; any
//! other string's encoding, made once and kept by the string). It is part
//! of the stable ABI from Python 3.10 on, where it is used; 3.9 keeps the
//! encode-and-hold path. pyo3-ffi declares the function only for builds
//! that target 3.10 or later, so it is declared here (the same signature
//! in every CPython since 3.3).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use std::sync::OnceLock;

unsafe extern "C" {
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}

/// A sequence of `str` as UTF-8 slices that borrow from the Python objects,
/// which it holds (so the slices stay valid while the GIL is released).
pub struct Texts<'py> {
    /// Each string (3.10 on) or its encoded `bytes` (3.9): what the slices
    /// point into.
    _owners: Vec<Bound<'py, PyAny>>,
    /// Handed out only with the lifetime of `self`, never longer.
    utf8: Vec<&'static str>,
}

impl Texts<'_> {
    /// The strings, in order.
    pub fn as_slice(&self) -> &[&str] {
        &self.utf8
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.utf8.len()
    }
}

/// How many strings ahead of the one read [`prefetch`] asks for.
const AHEAD: usize = 8;

/// Asks the CPU to load the first two cache lines of the object at `object`
/// (its header and, for short strings, its characters).
unsafe fn prefetch(object: *mut pyo3::ffi::PyObject) {
    #[cfg(target_arch = "x86_64")]
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(object.cast());
        _mm_prefetch::<_MM_HINT_T0>(object.cast::<i8>().wrapping_add(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = object;
}

/// Asks the CPU to load the characters of `text` (its first
/// [`PREFETCH_BYTES`]): strings lie wherever Python allocated them, so each
/// one read for the first time would otherwise stall on memory.
fn prefetch_text(text: &str) {
    #[cfg(target_arch = "x86_64")]
    for offset in (0..text.len().min(PREFETCH_BYTES)).step_by(64) {
        // SAFETY: the address is inside `text`; prefetching reads nothing.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(text.as_ptr().add(offset).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = text;
}

/// How much of a string [`prefetch_text`] asks for.
const PREFETCH_BYTES: usize = 1024;

/// True where `PyUnicode_AsUTF8AndSize` is in the stable ABI (3.10 on).
fn in_place(py: Python<'_>) -> bool {
    static IN_PLACE: OnceLock<bool> = OnceLock::new();
    *IN_PLACE.get_or_init(|| py.version_info() >= (3, 10))
}

/// The UTF-8 of `text` and the object that holds it.
fn utf8_of<'py>(text: Bound<'py, PyString>) -> PyResult<(Bound<'py, PyAny>, &'static str)> {
    let py = text.py();
    if in_place(py) {
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `text` is a live `str`; the returned buffer belongs to it
        // and lives as long as it does (the caller keeps `text`).
        let data = unsafe { PyUnicode_AsUTF8AndSize(text.as_ptr(), &mut size) };
        if data.is_null() {
            return Err(PyErr::fetch(py));
        }
        // SAFETY: CPython returns valid UTF-8 of `size` bytes (strings with
        // lone surrogates fail above).
        let s = unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast(), size as usize))
        };
        Ok((text.into_any(), s))
    } else {
        let bytes = text.encode_utf8()?;
        // SAFETY: `encode_utf8` gave UTF-8; the bytes object is kept by the
        // caller, and its buffer never moves.
        let s = unsafe {
            let data: &[u8] = bytes.as_bytes();
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.as_ptr(), data.len()))
        };
        Ok((bytes.into_any(), s))
    }
}

/// A Python sequence of `str` read one string at a time.
pub struct Strings<'a, 'py> {
    seq: Borrowed<'a, 'py, PyAny>,
    /// `seq` when it is a list (read by index, with prefetching).
    list: Option<Borrowed<'a, 'py, PyList>>,
    len: usize,
    /// Put before errors: the argument's name (`hypotheses: item 3: …`),
    /// or nothing.
    prefix: String,
}

impl<'a, 'py> Strings<'a, 'py> {
    /// `seq` (the argument `what`, or "" for none) as a sequence of strings
    /// (a single `str` or `bytes` is refused: it would read as a sequence
    /// of characters).
    pub fn new(seq: Borrowed<'a, 'py, PyAny>, what: &str) -> PyResult<Self> {
        let prefix = if what.is_empty() {
            String::new()
        } else {
            format!("{what}: ")
        };
        if seq.is_instance_of::<PyString>() || seq.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err(format!(
                "{prefix}expected a sequence of str, got a single string"
            )));
        }
        let len = seq.len().map_err(|_| {
            let kind = seq.get_type().name().map(|n| n.to_string());
            PyTypeError::new_err(format!(
                "{prefix}expected a sequence of str, got {}",
                kind.as_deref().unwrap_or("?")
            ))
        })?;
        let list = seq.cast::<PyList>().ok();
        Ok(Strings {
            seq,
            list,
            len,
            prefix,
        })
    }

    /// The number of strings.
    pub fn len(&self) -> usize {
        self.len
    }

    /// String `i` as UTF-8, valid while `owners` holds what it pushed.
    fn read(&self, i: usize, owners: &mut Vec<Bound<'py, PyAny>>) -> PyResult<&'static str> {
        let item = match self.list {
            Some(list) => {
                // The strings lie scattered on the heap: touching each one
                // in turn waits on memory once a string, so the one a few
                // places ahead is asked for early.
                if i + AHEAD < list.len() {
                    // SAFETY: an index within the list gives a borrowed
                    // pointer to a live object; prefetching reads nothing.
                    unsafe {
                        prefetch(pyo3::ffi::PyList_GetItem(
                            list.as_ptr(),
                            (i + AHEAD) as pyo3::ffi::Py_ssize_t,
                        ))
                    };
                }
                list.get_item(i)?
            }
            None => self.seq.get_item(i)?,
        };
        let text = item.cast_into::<PyString>().map_err(|e| {
            let item = e.into_inner();
            let kind = item.get_type().name().map(|n| n.to_string());
            PyTypeError::new_err(format!(
                "{}item {i}: expected str, got {}",
                self.prefix,
                kind.as_deref().unwrap_or("?")
            ))
        })?;
        let (owner, s) = utf8_of(text)?;
        owners.push(owner);
        Ok(s)
    }
}

impl<'py> Texts<'py> {
    /// Every string of `seq` (the argument `what`, named in type errors;
    /// other errors, such as a lone surrogate's `UnicodeEncodeError`, are
    /// raised as they are).
    pub fn read(seq: Borrowed<'_, 'py, PyAny>, what: &str) -> PyResult<Self> {
        let strings = Strings::new(seq, what)?;
        let mut owners = Vec::with_capacity(strings.len());
        let utf8 = (0..strings.len())
            .map(|i| strings.read(i, &mut owners))
            .collect::<PyResult<_>>()?;
        Ok(Texts {
            _owners: owners,
            utf8,
        })
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Texts<'py> {
    type Error = PyErr;

    /// [`Texts::read`] without a name (PyO3 names the argument).
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Texts::read(obj, "")
    }
}

/// Pairs scored per task of [`score_pairs`]: small, so that the last tasks
/// end at about the same time (a task of 4,096 UDHR paragraph pairs takes
/// about 9 ms, which one core was left to finish alone: 4 % of the
/// scoring of 100,000 pairs).
const CHUNK: usize = 512;

/// `score(a[i], b[i])` for every i, on all cores, the strings read while
/// the scores of earlier ones are computed: the reading needs the GIL and
/// runs on this thread (a third of the work for short lines), the scoring
/// does not and runs in rayon's pool, one task per [`CHUNK`] pairs. The GIL
/// is released once everything is read. `a` and `b` have the same length.
pub fn score_pairs<'py>(
    py: Python<'py>,
    a: &Strings<'_, 'py>,
    b: &Strings<'_, 'py>,
    score: impl Fn(&str, &str) -> f64 + Sync,
) -> PyResult<Vec<f64>> {
    let n = a.len().min(b.len());
    let mut out = vec![0.0; n];
    // Declared before the scope, so that the strings it holds outlive every
    // task (the scope waits for them, even when reading fails).
    let mut owners = Vec::with_capacity(2 * n);
    let score = &score;
    rayon::in_place_scope(|scope| -> PyResult<()> {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let mut rest = &mut out[..];
        for start in (0..n).step_by(CHUNK) {
            let len = CHUNK.min(n - start);
            let mut pairs = Vec::with_capacity(len);
            for i in start..start + len {
                pairs.push((a.read(i, &mut owners)?, b.read(i, &mut owners)?));
            }
            let (scores, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            let done = done.clone();
            scope.spawn(move |_| {
                for (i, (out, &(x, y))) in scores.iter_mut().zip(&pairs).enumerate() {
                    // The next pair's text, loaded while this one is scored
                    // (4 % of sentence BLEU on paragraphs).
                    if let Some(&(x, y)) = pairs.get(i + 1) {
                        prefetch_text(x);
                        prefetch_text(y);
                    }
                    *out = score(x, y);
                }
                drop(done);
            });
        }
        drop(done);
        // Every task's sender is gone once it has finished (or panicked:
        // the scope then re-raises the panic on this thread).
        py.detach(move || finished.into_iter().for_each(drop));
        Ok(())
    })?;
    drop(owners);
    Ok(out)
}
