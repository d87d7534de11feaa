//! Hypothesis and reference files read together (read line by line as
//! sacrebleu reads them, by [`retarget_model::text`]) and checked to be parallel.

use std::path::Path;

use retarget_model::text::{read_lines, read_stdin_lines};

use crate::error::{EvalError, Result};

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
                return Err(EvalError::invalid(
                    r.to_path_buf(),
                    format!(
                        "has {} lines but the hypothesis file {} has {}",
                        lines.len(),
                        hypothesis.display(),
                        hypotheses.len()
                    ),
                ));
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
                return Err(EvalError::invalid(
                    path.to_path_buf(),
                    format!(
                        "has {} lines but the reference file {} has {segments}",
                        lines.len(),
                        references[0].display()
                    ),
                ));
            }
            hypotheses.push(lines);
        }
        Ok(Systems {
            hypotheses,
            references: text.references,
        })
    }

    /// Puts the references of segment `i` into `refs` (cleared first; a
    /// list reused from one segment to the next).
    pub fn refs_into<'t>(&'t self, i: usize, refs: &mut Vec<&'t str>) {
        refs.clear();
        refs.extend(self.references.iter().map(|r| r[i].as_str()));
    }
}
