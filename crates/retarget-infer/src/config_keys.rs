//! Typed reads of `config.json` keys with one error wording: every problem
//! names the file and the key.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{InferError, Result};

/// The keys of one parsed configuration file.
pub(crate) struct ConfigKeys<'a> {
    path: PathBuf,
    raw: &'a Map<String, Value>,
}

impl<'a> ConfigKeys<'a> {
    pub(crate) fn new(path: PathBuf, raw: &'a Map<String, Value>) -> Self {
        ConfigKeys { path, raw }
    }

    /// The file, for errors.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The raw value, `None` when absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.raw.get(key).filter(|v| !v.is_null())
    }

    fn invalid(&self, key: &str, what: &str) -> InferError {
        InferError::model(&self.path, format!("`{key}` {what}"))
    }

    /// A positive integer that must be present.
    pub(crate) fn count(&self, key: &str) -> Result<usize> {
        self.optional_count(key)?
            .ok_or_else(|| self.invalid(key, "missing or not a positive integer"))
    }

    /// A positive integer, `None` when absent.
    pub(crate) fn optional_count(&self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|&v| v > 0)
                .map(|v| Some(v as usize))
                .ok_or_else(|| self.invalid(key, "is not a positive integer")),
        }
    }

    /// A token id (any non-negative integer), `default` when absent.
    pub(crate) fn id(&self, key: &str, default: Option<u32>) -> Result<u32> {
        match self.get(key) {
            None => default.ok_or_else(|| self.invalid(key, "missing or not a token id")),
            Some(v) => v
                .as_u64()
                .map(|v| v as u32)
                .ok_or_else(|| self.invalid(key, "is not a token id")),
        }
    }

    /// `true` / `false`, `default` when absent.
    pub(crate) fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.invalid(key, "is not true or false")),
        }
    }

    /// A positive number, `default` when absent.
    pub(crate) fn number(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .filter(|v| *v > 0.0)
                .ok_or_else(|| self.invalid(key, "is not a positive number")),
        }
    }

    /// A string, `default` when absent.
    pub(crate) fn text(&self, key: &str, default: &'a str) -> Result<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .ok_or_else(|| self.invalid(key, "is not a string")),
        }
    }
}
