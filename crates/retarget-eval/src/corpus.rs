//! Reading hypothesis and reference files the way sacrebleu does (lines split
//! on `\n` only, trailing whitespace stripped), with clear errors.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{EvalError, Result};
use crate::pytext;

/// Longest line read, in bytes. Lines are held whole, and tokenizers and
/// metrics need many times a line's size: a bound per line bounds them.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads `path` as UTF-8 lines, each with trailing whitespace removed.
/// Invalid UTF-8 is reported with its line number; an empty file, a folder
/// and a line longer than [`MAX_LINE_BYTES`] are errors. A named pipe that
/// nobody writes to reads as empty instead of waiting forever.
pub fn read_lines(path: &Path) -> Result<Vec<String>> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::metadata(path).map_err(io)?.is_dir() {
        return Err(EvalError::Invalid {
            path: path.to_path_buf(),
            problem: "is a folder, not a text file".into(),
        });
    }
    split_lines(path, open_without_waiting(path).map_err(io)?)
}

/// Opens `path` for reading without blocking on a named pipe that has no
/// writer (a plain open would wait for one forever); reads then block as usual.
fn open_without_waiting(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns; only the status flags change.
    let cleared = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) >= 0
    };
    if !cleared {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Reads standard input as [`read_lines`] reads a file.
pub fn read_stdin_lines() -> Result<Vec<String>> {
    split_lines(Path::new("<stdin>"), std::io::stdin().lock())
}

/// Splits what `reader` (reading `path`) holds into lines the way sacrebleu
/// does (on `\n` only; a final `\n` ends the last line), one line at a time.
fn split_lines(path: &Path, reader: impl Read) -> Result<Vec<String>> {
    let invalid = |problem: String| EvalError::Invalid {
        path: path.to_path_buf(),
        problem,
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut lines = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|source| EvalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if read == 0 {
            break;
        }
        let ended = line.last() == Some(&b'\n');
        if ended {
            line.pop();
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(invalid(format!(
                "line {} is longer than {MAX_LINE_BYTES} bytes; split the text into sentences or paragraphs",
                lines.len() + 1
            )));
        }
        let text = std::str::from_utf8(&line).map_err(|e| {
            invalid(format!(
                "line {}: invalid UTF-8 at byte {}",
                lines.len() + 1,
                e.valid_up_to()
            ))
        })?;
        lines.push(pytext::rstrip(text).to_string());
        if !ended {
            break;
        }
    }
    if lines.is_empty() {
        return Err(invalid("the file is empty".into()));
    }
    Ok(lines)
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
        for (text, lines) in [
            ("\n", vec![""]),
            ("a\n\n", vec!["a", ""]),
            ("a\nb", vec!["a", "b"]),
        ] {
            std::fs::write(&p, text).unwrap();
            assert_eq!(read_lines(&p).unwrap(), lines, "{text:?}");
        }
    }

    #[test]
    fn long_lines_folders_and_pipes_without_writers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.txt");
        let mut text = "x".repeat(MAX_LINE_BYTES);
        text.push('\n');
        std::fs::write(&p, &text).unwrap();
        assert_eq!(read_lines(&p).unwrap()[0].len(), MAX_LINE_BYTES);
        std::fs::write(&p, format!("short\nx{text}")).unwrap();
        let Err(err) = read_lines(&p) else {
            panic!("a line of {} bytes was read", MAX_LINE_BYTES + 1)
        };
        assert!(
            err.is_bad_input() && err.to_string().contains("line 2 is longer"),
            "{err}"
        );
        let err = read_lines(dir.path()).unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains("is a folder"),
            "{err}"
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_lines(&fifo).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}
