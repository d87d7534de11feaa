//! Plain text, read one way everywhere: UTF-8 lines split on `\n` only, each
//! with trailing whitespace removed as Python's `str.rstrip()` removes it (the
//! way sacrebleu reads files), a block at a time and split on all cores,
//! with a bound on a line's length, with errors naming the file and line.
//! [`python`] holds the Python `str` whitespace semantics that reference
//! implementations depend on.

pub mod python;

use std::fs::File;
use std::io::Read;
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

/// Bytes read at a time by [`split_lines`]: its memory beyond the lines
/// themselves (one block and one partial line).
const BLOCK_BYTES: usize = 1 << 23;

/// Bytes of lines that one task of [`split_block`] checks and copies.
const TASK_BYTES: usize = 1 << 20;

/// Splits what `reader` (reading `path`) holds into lines the way sacrebleu
/// does (on `\n` only; a final `\n` ends the last line). It reads blocks of
/// [`BLOCK_BYTES`] and checks and copies the whole lines of each on all
/// cores (UTF-8 validation and one allocation per line were a tenth of
/// sentence-level scoring, on one core); a partial line waits for the next
/// block, and a line past [`MAX_LINE_BYTES`] is refused once that many bytes
/// of it are held.
fn split_lines(path: &Path, mut reader: impl Read) -> Result<Vec<String>> {
    let io = |source| ModelError::io(path, source);
    let mut lines = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let held = pending.len();
        let read = (&mut reader)
            .take(BLOCK_BYTES as u64)
            .read_to_end(&mut pending)
            .map_err(io)?;
        let end = read == 0;
        // Whole lines: up to the last newline, or everything at the end.
        let whole = if end {
            pending.len()
        } else {
            match memchr::memrchr(b'\n', &pending[held..]) {
                Some(i) => held + i + 1,
                None => 0,
            }
        };
        split_block(path, &pending[..whole], &mut lines)?;
        pending.drain(..whole);
        if pending.len() > MAX_LINE_BYTES {
            return Err(line_too_long(path, lines.len() + 1));
        }
        if end {
            break;
        }
    }
    if lines.is_empty() {
        return Err(ModelError::invalid(path, "the file is empty"));
    }
    Ok(lines)
}

fn line_too_long(path: &Path, line: usize) -> ModelError {
    ModelError::invalid(
        path,
        format!(
            "line {line} is longer than {MAX_LINE_BYTES} bytes; split the text into sentences or paragraphs"
        ),
    )
}

/// Appends the lines of `block` (whole lines, the last one ending in `\n`
/// unless the file ends there) to `lines`, each checked and rstripped, the
/// block cut into tasks of about [`TASK_BYTES`] at line ends.
fn split_block(path: &Path, block: &[u8], lines: &mut Vec<String>) -> Result<()> {
    use rayon::prelude::*;
    let mut tasks = Vec::new();
    let mut start = 0;
    while start < block.len() {
        let cut = (start + TASK_BYTES).min(block.len());
        let end = match memchr::memchr(b'\n', &block[cut - 1..]) {
            Some(i) => cut + i,
            None => block.len(),
        };
        tasks.push(&block[start..end]);
        start = end;
    }
    // Per task: its lines, or the first bad one (index in the task, problem).
    let done: Vec<std::result::Result<Vec<String>, (usize, BadLine)>> =
        tasks.par_iter().map(|task| task_lines(task)).collect();
    for task in done {
        match task {
            Ok(mut more) => lines.append(&mut more),
            Err((index, problem)) => {
                let line = lines.len() + index + 1;
                return Err(match problem {
                    BadLine::TooLong => line_too_long(path, line),
                    BadLine::InvalidUtf8 { at } => ModelError::invalid(
                        path,
                        format!("line {line}: invalid UTF-8 at byte {at}"),
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Why [`task_lines`] refused a line.
enum BadLine {
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// Not UTF-8 from byte `at` of the line.
    InvalidUtf8 { at: usize },
}

/// The lines of `text` (whole lines; the last `\n`, if any, ends the last
/// line), or the index of the first bad one with the problem.
fn task_lines(text: &[u8]) -> std::result::Result<Vec<String>, (usize, BadLine)> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    // The whole task is checked at once: '\n' is a character of its own in
    // UTF-8, so the text is valid exactly when every line is. `simdutf8`
    // checks non-ASCII text several times faster than `std::str::from_utf8`
    // (which took a tenth of sentence-level scoring on Cyrillic, Arabic and
    // CJK text); only invalid text is looked at line by line, for the error.
    let text = match simdutf8::basic::from_utf8(text) {
        Ok(text) => text,
        Err(_) => return Err(first_invalid_line(text)),
    };
    let mut out = Vec::new();
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]);
    for (index, end) in ends.enumerate() {
        let line = &text[start..end];
        start = end + 1;
        if line.len() > MAX_LINE_BYTES {
            return Err((index, BadLine::TooLong));
        }
        out.push(python::rstrip(line).to_string());
    }
    Ok(out)
}

/// The first line of `text` (lines split at '\n') that is too long or not
/// UTF-8, with its index; `text` is known to hold one.
fn first_invalid_line(text: &[u8]) -> (usize, BadLine) {
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.len() > MAX_LINE_BYTES {
            return (index, BadLine::TooLong);
        }
        if let Err(e) = std::str::from_utf8(line) {
            let at = e.valid_up_to();
            return (index, BadLine::InvalidUtf8 { at });
        }
    }
    unreachable!("the text was refused as UTF-8, so one of its lines is")
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
    fn lines_across_tasks_and_blocks_read_as_one_split() {
        // More than one block of BLOCK_BYTES (many tasks), lines of 0 to
        // ~300 bytes with trailing spaces and non-ASCII text.
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut i = 0u64;
        while text.len() < BLOCK_BYTES + 3 * TASK_BYTES {
            let line = format!("{}é{} ", "ab ".repeat((i * 7919 % 100) as usize), i);
            text.push_str(&line);
            text.push('\n');
            expected.push(line.trim_end().to_string());
            i += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.txt");
        std::fs::write(&p, &text).unwrap();
        assert_eq!(read_lines(&p).unwrap(), expected);
        // A bad line past the first block is reported with its number.
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"ok\nbad \xff\n");
        std::fs::write(&p, &bytes).unwrap();
        let err = read_lines(&p).unwrap_err().to_string();
        let line = expected.len() + 2;
        assert!(
            err.contains(&format!("line {line}: invalid UTF-8 at byte 4")),
            "{err}"
        );
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
