//! Reading hypothesis and reference files the way sacrebleu does (lines split
//! on `\n` only, trailing whitespace stripped), with clear errors.

use std::path::Path;

use crate::error::{EvalError, Result};
use crate::pytext;

/// Reads `path` as UTF-8 lines, each with trailing whitespace removed.
/// Invalid UTF-8 is reported with its line number; an empty file is an error.
pub fn read_lines(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    split_lines(path, &bytes)
}

/// Reads standard input as [`read_lines`] reads a file.
pub fn read_stdin_lines() -> Result<Vec<String>> {
    let path = Path::new("<stdin>");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|source| {
        EvalError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    split_lines(path, &bytes)
}

/// Splits `bytes` (read from `path`) into lines the way sacrebleu does.
fn split_lines(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    if bytes.is_empty() {
        return Err(EvalError::Invalid {
            path: path.to_path_buf(),
            problem: "the file is empty".into(),
        });
    }
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let text = std::str::from_utf8(line).map_err(|e| EvalError::Invalid {
                path: path.to_path_buf(),
                problem: format!("line {}: invalid UTF-8 at byte {}", i + 1, e.valid_up_to()),
            })?;
            Ok(pytext::rstrip(text).to_string())
        })
        .collect()
}

/// Several systems' outputs and their shared references, all of one length.
#[derive(Debug, Clone)]
pub struct Systems {
    /// Hypothesis lines of each system, in the order given.
    pub hypotheses: Vec<Vec<String>>,
    /// One vector of lines per reference file.
    pub references: Vec<Vec<String>>,
}

/// A hypothesis file and its reference files, checked to have equal lengths.
#[derive(Debug, Clone)]
pub struct ParallelText {
    /// Hypothesis lines.
    pub hypotheses: Vec<String>,
    /// One vector of lines per reference file.
    pub references: Vec<Vec<String>>,
}

impl ParallelText {
    /// Reads the hypothesis file (standard input when `None`) and every
    /// reference file.
    pub fn read(hypothesis: Option<&Path>, references: &[&Path]) -> Result<Self> {
        if references.is_empty() {
            return Err(EvalError::Usage(
                "at least one reference file is needed".into(),
            ));
        }
        let hypotheses = match hypothesis {
            Some(path) => read_lines(path)?,
            None => {
                let lines = read_stdin_lines()?;
                if lines.iter().any(|l| l.contains('\t')) {
                    return Err(EvalError::Usage(
                        "tab-separated systems on standard input are not supported: give one system with -i".into(),
                    ));
                }
                lines
            }
        };
        let hypothesis = hypothesis.unwrap_or(Path::new("<stdin>"));
        let mut refs = Vec::with_capacity(references.len());
        for r in references {
            let lines = read_lines(r)?;
            if lines.len() != hypotheses.len() {
                return Err(EvalError::Invalid {
                    path: r.to_path_buf(),
                    problem: format!(
                        "has {} lines but the hypothesis file {} has {}",
                        lines.len(),
                        hypothesis.display(),
                        hypotheses.len()
                    ),
                });
            }
            refs.push(lines);
        }
        Ok(ParallelText {
            hypotheses,
            references: refs,
        })
    }

    /// Several systems' hypothesis files against the same references, which
    /// are read once.
    pub fn read_systems(systems: &[&Path], references: &[&Path]) -> Result<Systems> {
        let Some((first, rest)) = systems.split_first() else {
            return Err(EvalError::Usage(
                "at least one hypothesis file is needed".into(),
            ));
        };
        let text = ParallelText::read(Some(first), references)?;
        let segments = text.hypotheses.len();
        let mut hypotheses = vec![text.hypotheses];
        for path in rest {
            let lines = read_lines(path)?;
            if lines.len() != segments {
                return Err(EvalError::Invalid {
                    path: path.to_path_buf(),
                    problem: format!(
                        "has {} lines but the reference file {} has {segments}",
                        lines.len(),
                        references[0].display()
                    ),
                });
            }
            hypotheses.push(lines);
        }
        Ok(Systems {
            hypotheses,
            references: text.references,
        })
    }

    /// The references of segment `i`.
    pub fn refs_of(&self, i: usize) -> Vec<&str> {
        self.references.iter().map(|r| r[i].as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_sacrebleu_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.txt");
        std::fs::write(&p, "a b \r\nc\u{a0}\n\nlast").unwrap();
        assert_eq!(read_lines(&p).unwrap(), ["a b", "c", "", "last"]);
        std::fs::write(&p, b"ok\nbad \xff\n").unwrap();
        let err = read_lines(&p).unwrap_err().to_string();
        assert!(
            err.contains("h.txt") && err.contains("line 2: invalid UTF-8"),
            "{err}"
        );
        std::fs::write(&p, "").unwrap();
        assert!(read_lines(&p).unwrap_err().to_string().contains("empty"));
    }
}
