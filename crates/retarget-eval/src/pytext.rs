//! Python `str` semantics that sacrebleu's results depend on: which
//! characters `str.split()` and `str.strip()` treat as whitespace.
//!
//! Python counts U+001C–U+001F (information separators) as whitespace, Rust's
//! `char::is_whitespace` does not; using Rust's would change token counts.

/// True for the characters Python's `str.isspace()` accepts.
pub fn is_py_space(c: char) -> bool {
    matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}'
        | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
}

/// Python's `str.split()` with no arguments.
pub fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|t| !t.is_empty())
}

/// Python's `' '.join(s.split())`.
pub fn normalize_spaces(s: &str) -> String {
    split(s).collect::<Vec<_>>().join(" ")
}

/// Python's `str.rstrip()`.
pub fn rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// Python's `str.strip()`.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_python() {
        let s = " a\x1cb\u{a0}c\u{200b}d\u{3000}e \n";
        assert_eq!(split(s).collect::<Vec<_>>(), ["a", "b", "c\u{200b}d", "e"]);
        assert_eq!(rstrip("x \x1f\u{85}"), "x");
        assert_eq!(strip("\u{2028} x "), "x");
    }
}
