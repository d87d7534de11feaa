//! Plain text, read one way everywhere: UTF-8 lines split on `\n` only, each
//! with trailing whitespace removed as Python's `str.rstrip()` removes it (the
//! way sacrebleu reads files), one line at a time with a bound on a line's
//! length, with errors naming the file and line. [`python`] holds the Python
//! `str` whitespace semantics that reference implementations depend on.

pub mod python;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{ModelError, Result};

/// Longest line read, in bytes. Lines are held whole, and tokenizers and
/// metrics need many times a line's size: a bound per line bounds them.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads `path` as UTF-8 lines, each with trailing whitespace removed.
/// Invalid UTF-8 is reported with its line number; an empty file, a folder
/// and a line longer than [`MAX_LINE_BYTES`] are errors. A named pipe that
/// nobody writes to reads as empty instead of waiting forever.
pub fn read_lines(path: &Path) -> Result<Vec<String>> {
    let io = |source| ModelError::io(path, source);
    if std::fs::metadata(path).map_err(io)?.is_dir() {
        return Err(ModelError::invalid(path, "is a folder, not a text file"));
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
    let invalid = |problem: String| ModelError::invalid(path, problem);
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut lines = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|source| ModelError::io(path, source))?;
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
        lines.push(python::rstrip(text).to_string());
        if !ended {
            break;
        }
    }
    if lines.is_empty() {
        return Err(invalid("the file is empty".into()));
    }
    Ok(lines)
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
