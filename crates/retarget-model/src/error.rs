//! The one error type of `retarget-model`. Every variant names the file it is
//! about, and where it applies the tensor, key or entry.

use std::path::PathBuf;

/// Errors raised while reading, validating, converting or writing models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An operating-system I/O failure on a file or folder.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder being accessed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input is malformed: a truncated or lying header, out-of-bounds
    /// offsets, malformed JSON, a missing shard, and the like.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it, in words.
        problem: String,
    },
    /// The input is well-formed but uses something retarget does not handle
    /// (an unsupported quantization, architecture or tokenizer kind).
    #[error("{}: unsupported: {what}", path.display())]
    Unsupported {
        /// The file that uses it.
        path: PathBuf,
        /// What is not supported, in words.
        what: String,
    },
    /// The user asked for something that cannot be done (e.g. writing into an
    /// input folder, an unparsable size).
    #[error("{0}")]
    Usage(String),
    /// A broken invariant inside retarget: a bug, not bad input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ModelError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }

    /// A malformed-input error about `path`.
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        ModelError::Invalid {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// An unsupported-feature error about `path`.
    pub fn unsupported(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        ModelError::Unsupported {
            path: path.into(),
            what: what.into(),
        }
    }

    /// True when the error is the user's input or request (exit code 2), false
    /// for other operating-system failures (a full disk). A missing, unreadable or
    /// wrong-kind path (a folder for a file) counts as bad input.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ModelError::Io { source, .. } => {
                use std::io::ErrorKind::*;
                // A path the user named that is missing, unreadable or of the wrong kind.
                matches!(
                    source.kind(),
                    NotFound | PermissionDenied | IsADirectory | NotADirectory
                )
            }
            ModelError::Internal(_) => false,
            _ => true,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
