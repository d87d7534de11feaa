//! sacrebleu's tokenizers, reproduced character for character: `none`,
//! `13a`, `intl`, `zh`, `char`, and TER's `tercom`. The regular expressions
//! are sacrebleu's; the `regex` crate's leftmost-first, non-overlapping
//! replacement is what Python's `re.sub` does for these patterns.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::Regex;

use crate::error::Result;
use crate::sentencepiece::SentencePieceModel;
use retarget_model::text::python;

/// A BLEU tokenizer.
#[derive(Debug, Clone)]
pub enum BleuTokenizer {
    /// No tokenization.
    None,
    /// mteval-v13a, the WMT default.
    V13a,
    /// mteval-v14 international: Unicode punctuation and symbols.
    Intl,
    /// Chinese characters split, the rest as 13a.
    Zh,
    /// Every character a token.
    Char,
    /// A SentencePiece model (`flores101`, `flores200`, `spBLEU-1K`): the
    /// pieces joined by spaces.
    SentencePiece {
        /// The name in the signature.
        name: &'static str,
        /// The model the user gave.
        model: Arc<SentencePieceModel>,
    },
}

impl BleuTokenizer {
    /// Parses a sacrebleu tokenizer name. `ja-mecab`, `ko-mecab` and the
    /// SentencePiece tokenizers are recognised and refused with a reason.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "none" => BleuTokenizer::None,
            "13a" => BleuTokenizer::V13a,
            "intl" => BleuTokenizer::Intl,
            "zh" => BleuTokenizer::Zh,
            "char" => BleuTokenizer::Char,
            "ja-mecab" | "ko-mecab" => {
                return Err(format!(
                    "tokenizer `{name}` is not supported: it needs the MeCab morphological analyser and its dictionaries, which retarget does not ship"
                ))
            }
            "spm" | "flores101" | "flores200" | "spBLEU-1K" => {
                return Err(format!(
                    "tokenizer `{name}` needs its SentencePiece model: give --spm-model PATH (retarget downloads nothing)"
                ))
            }
            other => {
                return Err(format!(
                    "unknown tokenizer `{other}`: expected none, 13a, intl, zh, char"
                ))
            }
        })
    }

    /// A SentencePiece tokenizer (`spm`, `flores101`, `flores200`,
    /// `spBLEU-1K`) with the model read from `model`.
    pub fn sentencepiece(name: &str, model: &Path) -> Result<Self> {
        let name = match name {
            "spm" | "flores101" => "flores101",
            "flores200" => "flores200",
            "spBLEU-1K" => "spBLEU-1K",
            other => {
                return Err(crate::EvalError::Usage(format!(
                    "--spm-model goes with -tok flores101, flores200 or spBLEU-1K, not `{other}`"
                )))
            }
        };
        Ok(BleuTokenizer::SentencePiece {
            name,
            model: Arc::new(SentencePieceModel::open(model)?),
        })
    }

    /// The name in sacrebleu's signature.
    pub fn signature(&self) -> &'static str {
        match self {
            BleuTokenizer::SentencePiece { name, .. } => name,
            BleuTokenizer::None => "none",
            BleuTokenizer::V13a => "13a",
            BleuTokenizer::Intl => "intl",
            BleuTokenizer::Zh => "zh",
            BleuTokenizer::Char => "char",
        }
    }

    /// Tokenizes one line.
    pub fn tokenize(&self, line: &str) -> String {
        match self {
            BleuTokenizer::V13a | BleuTokenizer::Zh => {
                let (mut spaced, mut tmp) = (Vec::new(), Vec::new());
                self.tokens_into(line, &mut spaced, &mut tmp);
                python::normalize_spaces(
                    std::str::from_utf8(&spaced).expect("spaces inserted next to ASCII characters"),
                )
            }
            BleuTokenizer::SentencePiece { model, .. } => model.tokenize(line),
            BleuTokenizer::None => line.to_string(),
            BleuTokenizer::Intl => tokenize_intl(line),
            BleuTokenizer::Char => {
                let mut out = String::with_capacity(line.len() * 2);
                for (i, c) in line.chars().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
        }
    }

    /// Calls `f` with each token of [`BleuTokenizer::tokens_into`], in
    /// order (`out` and `tmp` are scratch space). 13a lines with nothing
    /// for its first rules to replace (no `<`, `&` or newline: nearly all)
    /// are scanned once (`scan_13a`), which hands out the tokens as
    /// slices of the line itself: no spaced copy to write and split again.
    pub fn for_each_token(
        &self,
        line: &str,
        out: &mut Vec<u8>,
        tmp: &mut Vec<u8>,
        mut f: impl FnMut(&[u8]),
    ) {
        if matches!(self, BleuTokenizer::V13a)
            && memchr::memchr3(b'<', b'\n', b'&', line.as_bytes()).is_none()
        {
            return scan_13a(line.as_bytes(), f);
        }
        self.tokens_into(line, out, tmp);
        for token in out.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
            f(token);
        }
    }

    /// Writes into `out` (cleared first) the tokens of
    /// [`BleuTokenizer::tokenize`] separated by ASCII spaces, one or more,
    /// and no other whitespace: splitting `out` at b' ' (dropping empty
    /// pieces) gives the tokens. `tmp` is scratch space. 13a and zh write
    /// their spaced text before the final `' '.join(line.split())`, without
    /// a copy per rule (BLEU splits the text again anyway, through
    /// [`BleuTokenizer::for_each_token`] where 13a's single scan cannot serve).
    pub fn tokens_into(&self, line: &str, out: &mut Vec<u8>, tmp: &mut Vec<u8>) {
        match self {
            BleuTokenizer::V13a => tokenize_13a(line, out, tmp),
            BleuTokenizer::Zh => tokenize_zh(line, out, tmp),
            _ => {
                // `none` and `char` may leave other whitespace in.
                out.clear();
                for token in python::split(&self.tokenize(line)) {
                    out.extend_from_slice(token.as_bytes());
                    out.push(b' ');
                }
            }
        }
    }
}

/// What [`scan_13a`] does at each byte: [`KEEP`], [`PAD`] and [`SPACE`] as
/// in rule 1 (but [`BLANK`] for ASCII whitespace), [`DOT`] for `.` and `,`
/// (rules 2 and 3), [`DASH`] for `-` (rule 4).
const SCAN: [u8; 256] = {
    let mut table = RULE_1;
    table[b'.' as usize] = DOT;
    table[b',' as usize] = DOT;
    table[b'-' as usize] = DASH;
    // The ASCII bytes whitespace starts with are whitespace themselves.
    let mut c = 0;
    while c < 128 {
        if python::may_start_space(c as u8) {
            table[c] = BLANK;
        }
        c += 1;
    }
    table
};
/// `.` or `,` in [`SCAN`].
const DOT: u8 = 3;
/// `-` in [`SCAN`].
const DASH: u8 = 4;
/// An ASCII whitespace byte in [`SCAN`] (one byte, always a space).
const BLANK: u8 = 5;

/// The tokens of 13a (rules 1–4 and the final split) of a line that holds
/// no `<`, `&` or newline, as slices of the line. Every rule only inserts
/// spaces (rule 1 also turns whitespace into spaces), so the tokens are the
/// line's characters cut at some gaps, and each rule's cuts are local:
/// rule 1 cuts around its punctuation and at whitespace; rule 4 (`([0-9])(-)`)
/// after a digit followed by `-` and after that `-` (no rule puts a space
/// between a digit and a `-`, so the pair is the same in the line); rules 2
/// and 3 act on a run of `.`/`,` and the characters on either side, and
/// only whether those are digits matters (`.` and `,` are one class in
/// both, and a space, a letter or rule 1's padding are all "not a digit"),
/// so the cuts of a run come from [`run_cuts`].
fn scan_13a(b: &[u8], mut f: impl FnMut(&[u8])) {
    let mut emit = |start: usize, end: usize| {
        if start < end {
            f(&b[start..end]);
        }
    };
    let mut start = 0;
    let mut i = 0;
    loop {
        // Most bytes are kept or ASCII whitespace: skip them, cutting at
        // the whitespace, 16 bytes at a time.
        i = next_stop(b, i, &mut start, &mut emit);
        let Some(&c) = b.get(i) else { break };
        match SCAN[c as usize] {
            KEEP => unreachable!("kept bytes are skipped above"),
            PAD => {
                emit(start, i);
                emit(i, i + 1);
                i += 1;
                start = i;
            }
            BLANK => {
                emit(start, i);
                i += 1;
                start = i;
            }
            SPACE => match python::space_len(b, i) {
                0 => i += 1,
                n => {
                    emit(start, i);
                    i += n;
                    start = i;
                }
            },
            DASH => {
                if i > 0 && b[i - 1].is_ascii_digit() {
                    emit(start, i);
                    emit(i, i + 1);
                    start = i + 1;
                }
                i += 1;
            }
            _ => {
                let end = i + b[i..]
                    .iter()
                    .take_while(|&&c| SCAN[c as usize] == DOT)
                    .count();
                let before = i > 0 && b[i - 1].is_ascii_digit();
                let after = b.get(end).is_some_and(u8::is_ascii_digit);
                run_cuts(end - i, before, after, |k| {
                    emit(start, i + k);
                    start = i + k;
                });
                i = end;
            }
        }
    }
    emit(start, b.len());
}

/// The index of the first byte of `b` at or after `i` that [`SCAN`] does
/// not keep, or `b.len()`. Whole blocks of 16 bytes are looked at with
/// [`stop_candidates`], so that a word costs no branch per byte; the few
/// bytes it flags are checked in [`SCAN`] (it flags a few kept ones too),
/// and ASCII whitespace among them is dealt with here, the commonest stop:
/// the token before it is emitted (`emit(*start, at)`) and the next starts
/// after it. Near the end of `b`, whitespace is left to the caller.
#[inline]
fn next_stop(
    b: &[u8],
    mut i: usize,
    start: &mut usize,
    emit: &mut impl FnMut(usize, usize),
) -> usize {
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = b.get(i..i + 16) {
        let mut mask = stop_candidates(block.try_into().expect("16 bytes"));
        while mask != 0 {
            let k = mask.trailing_zeros() as usize;
            match SCAN[block[k] as usize] {
                KEEP => {}
                BLANK => {
                    emit(*start, i + k);
                    *start = i + k + 1;
                }
                _ => return i + k,
            }
            mask &= mask - 1;
        }
        i += 16;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, emit);
    i + b[i..]
        .iter()
        .position(|&c| SCAN[c as usize] != KEEP)
        .unwrap_or(b.len() - i)
}

/// One bit per byte of `block` (SSE2, part of every x86-64): set for every
/// ASCII byte but letters and digits, and for the lead bytes of non-ASCII
/// whitespace (C2, E1, E2, E3): a superset of the bytes [`SCAN`] does not
/// keep (it keeps `'` and control characters, which are flagged as well).
#[cfg(target_arch = "x86_64")]
#[inline]
fn stop_candidates(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is always there on x86-64, and the load reads the 16
    // bytes of `block`.
    unsafe {
        let splat = |b: u8| _mm_set1_epi8(b as i8);
        let within = |x: __m128i, lo: u8, hi: u8| {
            // Signed compares: bytes from 0x80 on are negative, outside
            // every ASCII range.
            _mm_and_si128(
                _mm_cmpgt_epi8(x, splat(lo - 1)),
                _mm_cmplt_epi8(x, splat(hi + 1)),
            )
        };
        let x = _mm_loadu_si128(block.as_ptr().cast());
        let ascii = _mm_cmpgt_epi8(x, _mm_set1_epi8(-1));
        let letter = within(_mm_or_si128(x, splat(0x20)), b'a', b'z');
        let digit = within(x, b'0', b'9');
        let other_ascii = _mm_andnot_si128(_mm_or_si128(letter, digit), ascii);
        let c2 = _mm_cmpeq_epi8(x, splat(0xC2));
        // E1–E3 are the bytes whose xor with E0 is 1–3.
        let e1_e3 = within(_mm_xor_si128(x, splat(0xE0)), 1, 3);
        let stops = _mm_or_si128(other_ascii, _mm_or_si128(c2, e1_e3));
        _mm_movemask_epi8(stops) as u32
    }
}

/// Runs of `.`/`,` up to this long have their cuts computed once.
const SHORT_RUN: usize = 16;

/// Calls `cut(k)` for each gap of a run of `len` dots or commas where 13a
/// puts a space: gap `k` lies before the run's character `k` (gap 0 between
/// the character before the run and the run, gap `len` after the run).
/// `before` and `after` say whether the characters on either side are
/// digits. The cuts are those of rules 2 and 3 applied to the run and its
/// two neighbours ([`simulate_run`]), kept in a table for short runs.
fn run_cuts(len: usize, before: bool, after: bool, mut cut: impl FnMut(usize)) {
    static SHORT: LazyLock<Vec<u32>> = LazyLock::new(|| {
        let mut masks = Vec::with_capacity(4 * (SHORT_RUN + 1));
        for len in 0..=SHORT_RUN {
            for (before, after) in [(false, false), (false, true), (true, false), (true, true)] {
                let cuts = simulate_run(len, before, after);
                masks.push(cuts.iter().rev().fold(0u32, |m, &c| m << 1 | u32::from(c)));
            }
        }
        masks
    });
    if len <= SHORT_RUN {
        let mut mask = SHORT[4 * len + 2 * usize::from(before) + usize::from(after)];
        while mask != 0 {
            cut(mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
    } else {
        for (k, _) in simulate_run(len, before, after)
            .iter()
            .enumerate()
            .filter(|(_, &c)| c)
        {
            cut(k);
        }
    }
}

/// Rules 2 and 3 of [`mteval_regexp`] applied to `len` dots between a
/// digit or a letter (`before`) and a digit or a letter (`after`): for
/// each of the `len + 1` gaps between those characters, whether a space
/// was put there.
fn simulate_run(len: usize, before: bool, after: bool) -> Vec<bool> {
    let side = |digit: bool| if digit { b'0' } else { b'a' };
    let mut text = vec![side(before)];
    text.extend(std::iter::repeat_n(b'.', len));
    text.push(side(after));
    let mut tmp = Vec::new();
    rules_2_and_3(&mut text, &mut tmp);
    let mut cuts = Vec::with_capacity(len + 1);
    let mut spaced = false;
    for &c in &text[1..] {
        if c == b' ' {
            spaced = true;
        } else {
            cuts.push(spaced);
            spaced = false;
        }
    }
    cuts
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid sacrebleu pattern")
}

fn apply(rules: &[(Regex, &str)], line: &str) -> String {
    let mut s = line.to_string();
    for (rule, replacement) in rules {
        if let std::borrow::Cow::Owned(changed) = rule.replace_all(&s, *replacement) {
            s = changed;
        }
    }
    s
}

/// sacrebleu's `TokenizerRegexp` (13a and zh), without a regex engine: its
/// four rules are, in order,
///
/// 1. `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ` \1 ` (ASCII punctuation, symbols
///    and the space itself),
/// 2. `([^0-9])([\.,])` → `\1 \2 `,
/// 3. `([\.,])([^0-9])` → ` \1 \2`,
/// 4. `([0-9])(-)` → `\1 \2 `,
///
/// each applied to the previous rule's output, leftmost first and without
/// overlaps. Every pattern is one or two characters long, so a scan that
/// tries each position in turn finds exactly the matches `re.sub` finds. The
/// scan runs over bytes: every character the patterns name is ASCII, and a
/// multi-byte character takes part only as "not a digit", which each of its
/// bytes also is. Several times faster than four regex passes (sentence-level
/// BLEU spends most of its time here). The result, in `out`, is the text
/// before sacrebleu's final `' '.join(line.split())`, with each whitespace
/// character replaced by an ASCII space; it is valid UTF-8, as the spaces
/// go next to ASCII characters only.
fn mteval_regexp(line: &str, pad: bool, out: &mut Vec<u8>, tmp: &mut Vec<u8>) {
    // Rule 1, with the line padded when asked (a space on each side, which
    // rule 2 sees before a leading '.'). A space becomes one space, not
    // three: the rules after it see a space next to a character either way,
    // never match a pair of spaces, and the final split joins runs of them.
    // Whitespace of every kind becomes an ASCII space on the way: the
    // rules after this one see either as "not a digit, '.', ',' or '-'",
    // and the tokens (the final `split()`) are the same, so that they can
    // be split at one byte (see `BleuTokenizer::tokens_into`). Runs of
    // bytes kept as they are are copied whole.
    out.clear();
    out.reserve(3 * line.len() + 2);
    if pad {
        out.push(b' ');
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let run = i;
        while i < bytes.len() && RULE_1[bytes[i] as usize] == KEEP {
            i += 1;
        }
        out.extend_from_slice(&bytes[run..i]);
        let Some(&c) = bytes.get(i) else { break };
        if RULE_1[c as usize] == PAD {
            out.extend_from_slice(&[b' ', c, b' ']);
            i += 1;
        } else {
            // SPACE: whitespace, or a byte sharing a lead byte with it.
            let n = python::space_len(bytes, i);
            out.push(if n > 0 { b' ' } else { c });
            i += n.max(1);
        }
    }
    if pad {
        out.push(b' ');
    }
    // Rules 2 and 3 match at a '.' or ',' (the second and first byte of the
    // pair), rule 4 at a '-' (the second).
    rules_2_and_3(out, tmp);
    pair_rule(
        out,
        tmp,
        (b'-', b'-'),
        1,
        |a, b| a.is_ascii_digit() && b == b'-',
        |a, b| [a, b' ', b, b' '],
    );
}

/// Rules 2 (`([^0-9])([\.,])` → `\1 \2 `) and 3 (`([\.,])([^0-9])` →
/// ` \1 \2`) of [`mteval_regexp`], in place.
fn rules_2_and_3(text: &mut Vec<u8>, tmp: &mut Vec<u8>) {
    let is_dot_comma = |c: u8| c == b'.' || c == b',';
    pair_rule(
        text,
        tmp,
        (b'.', b','),
        1,
        |a, b| !a.is_ascii_digit() && is_dot_comma(b),
        |a, b| [a, b' ', b, b' '],
    );
    pair_rule(
        text,
        tmp,
        (b'.', b','),
        0,
        |a, b| is_dot_comma(a) && !b.is_ascii_digit(),
        |a, b| [b' ', a, b' ', b],
    );
}

/// A byte [`mteval_regexp`]'s rule 1 copies.
const KEEP: u8 = 0;
/// A byte of 13a's rule 1 `[\{-\~\[-\` -\&\(-\+\:-\@\/]` (ASCII
/// punctuation and symbols; the space, also in the class, is [`SPACE`]).
const PAD: u8 = 1;
/// A byte whitespace can start with (`python::may_start_space`).
const SPACE: u8 = 2;

/// What rule 1 does with each byte.
const RULE_1: [u8; 256] = {
    let mut table = [KEEP; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b if python::may_start_space(b) => SPACE,
            b'{'..=b'~' | b'['..=b'`' | b'!'..=b'&' | b'('..=b'+' | b':'..=b'@' | b'/' => PAD,
            _ => KEEP,
        };
        c += 1;
    }
    table
};

/// `re.sub` of a two-character pattern over `text`, in place (`tmp` is
/// scratch space): where `matches(a, b)` holds for the bytes at `i` and
/// `i + 1`, they are replaced by `replace(a, b)` and the scan goes on at
/// `i + 2`. Every match has one of the `needles` at byte `at` of the pair
/// (0 or 1), so the scan jumps from one needle to the next (`memchr2`)
/// and copies the bytes between whole: no other position can match. A
/// text without needles is left alone.
fn pair_rule(
    text: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
    needles: (u8, u8),
    at: usize,
    matches: impl Fn(u8, u8) -> bool,
    replace: impl Fn(u8, u8) -> [u8; 4],
) {
    let next = |from: usize| -> Option<usize> {
        let from = (from + at).min(text.len());
        memchr::memchr2(needles.0, needles.1, &text[from..]).map(|k| from + k - at)
    };
    let Some(mut candidate) = next(0) else { return };
    tmp.clear();
    tmp.reserve(2 * text.len());
    let mut i = 0;
    // `candidate` >= `i`: the first position from `i` where a match can
    // start; a pair needs a byte after it.
    while candidate + 1 < text.len() {
        tmp.extend_from_slice(&text[i..candidate]);
        let (a, b) = (text[candidate], text[candidate + 1]);
        if matches(a, b) {
            tmp.extend_from_slice(&replace(a, b));
            i = candidate + 2;
        } else {
            tmp.push(a);
            i = candidate + 1;
        }
        match next(i) {
            Some(c) => candidate = c,
            None => break,
        }
    }
    tmp.extend_from_slice(&text[i..]);
    std::mem::swap(text, tmp);
}

fn tokenize_13a(line: &str, out: &mut Vec<u8>, tmp: &mut Vec<u8>) {
    // Copies only when there is something to replace (rarely); one scan
    // for the three bytes the replacements start with tells.
    if memchr::memchr3(b'<', b'\n', b'&', line.as_bytes()).is_none() {
        return mteval_regexp(line, true, out, tmp);
    }
    let mut s = std::borrow::Cow::Borrowed(line);
    if s.contains("<skipped>") {
        s = s.replace("<skipped>", "").into();
    }
    if s.contains('\n') {
        s = s.replace("-\n", "").replace('\n', " ").into();
    }
    if s.contains('&') {
        s = s
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .into();
    }
    mteval_regexp(&s, true, out, tmp)
}

static INTL_RULES: LazyLock<[(Regex, &str); 3]> = LazyLock::new(|| {
    [
        (re(r"(\P{N})(\p{P})"), "$1 $2 "),
        (re(r"(\p{P})(\P{N})"), " $1 $2"),
        (re(r"(\p{S})"), " $1 "),
    ]
});

fn tokenize_intl(line: &str) -> String {
    python::normalize_spaces(&apply(&*INTL_RULES, line))
}

/// sacrebleu's `_UCODE_RANGES` as Python actually compares them: the two
/// "UTF16" entries are written `'\u20000'`, which Python reads as the
/// two-character string U+2000 '0', so they cover U+2001–U+2A6D and
/// U+2F81–U+2FA1 instead of the intended supplementary-plane ranges.
const ZH_RANGES: &[(u32, u32)] = &[
    (0x3400, 0x4db5),
    (0x4e00, 0x9fa5),
    (0x9fa6, 0x9fbb),
    (0xf900, 0xfa2d),
    (0xfa30, 0xfa6a),
    (0xfa70, 0xfad9),
    (0x2001, 0x2a6d),
    (0x2f81, 0x2fa1),
    (0xff00, 0xffef),
    (0x2e80, 0x2eff),
    (0x3000, 0x303f),
    (0x31c0, 0x31ef),
    (0x2f00, 0x2fdf),
    (0x2ff0, 0x2fff),
    (0x3100, 0x312f),
    (0x31a0, 0x31bf),
    (0xfe10, 0xfe1f),
    (0xfe30, 0xfe4f),
    (0x2600, 0x26ff),
    (0x2700, 0x27bf),
    (0x3200, 0x32ff),
    (0x3300, 0x33ff),
];

fn is_zh_char(c: char) -> bool {
    let c = c as u32;
    ZH_RANGES.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

fn tokenize_zh(line: &str, out: &mut Vec<u8>, tmp: &mut Vec<u8>) {
    let mut spaced = String::with_capacity(line.len() * 2);
    for c in python::strip(line).chars() {
        if is_zh_char(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    mteval_regexp(&spaced, false, out, tmp)
}

/// TER's tokenizer (`tercom`), with its four options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TercomTokenizer {
    /// Apply the general and western normalisation.
    pub normalized: bool,
    /// Remove punctuation.
    pub no_punct: bool,
    /// Asian-script normalisation and punctuation (with the two above).
    pub asian_support: bool,
    /// Keep case (otherwise lowercase).
    pub case_sensitive: bool,
}

static TER_WESTERN: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
    vec![
        (re(r"\n-"), ""),
        (re(r"\n"), " "),
        (re(r"&quot;"), "\""),
        (re(r"&amp;"), "&"),
        (re(r"&lt;"), "<"),
        (re(r"&gt;"), ">"),
    ]
});

static TER_WESTERN_PADDED: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
    vec![
        (re(r"([{-~\[-` -&(-+:-@/])"), " $1 "),
        (re(r"'s "), " 's "),
        (re(r"'s$"), " 's"),
        (re(r"([^0-9])([\.,])"), "$1 $2 "),
        (re(r"([\.,])([^0-9])"), " $1 $2"),
        (re(r"([0-9])(-)"), "$1 $2 "),
    ]
});

const ASIAN_PUNCT: &str =
    r"([\x{3001}\x{3002}\x{3008}-\x{3011}\x{3014}-\x{301f}\x{ff61}-\x{ff65}\x{30fb}])";
const FULL_WIDTH_PUNCT: &str =
    r"([\x{ff0e}\x{ff0c}\x{ff1f}\x{ff1a}\x{ff1b}\x{ff01}\x{ff02}\x{ff08}\x{ff09}])";

static TER_ASIAN: LazyLock<Vec<(Regex, &str)>> = LazyLock::new(|| {
    vec![
        (re(r"([\x{4e00}-\x{9fff}\x{3400}-\x{4dbf}])"), " $1 "),
        (re(r"([\x{31c0}-\x{31ef}\x{2e80}-\x{2eff}])"), " $1 "),
        (
            re(r"([\x{3300}-\x{33ff}\x{f900}-\x{faff}\x{fe30}-\x{fe4f}])"),
            " $1 ",
        ),
        (re(r"([\x{3200}-\x{3f22}])"), " $1 "),
    ]
});

/// The three kana rules use a look-ahead, which the `regex` crate lacks;
/// `fancy-regex` backtracks as Python's `re` does.
static TER_KANA: LazyLock<Vec<fancy_regex::Regex>> = LazyLock::new(|| {
    [
        r"\x{3040}-\x{309f}",
        r"\x{30a0}-\x{30ff}",
        r"\x{31f0}-\x{31ff}",
    ]
    .iter()
    .map(|class| {
        fancy_regex::Regex::new(&format!("(^|^[{class}])([{class}]+)(?=$|^[{class}])"))
            .expect("valid kana pattern")
    })
    .collect()
});

static TER_ASIAN_PUNCT: LazyLock<[Regex; 2]> =
    LazyLock::new(|| [re(ASIAN_PUNCT), re(FULL_WIDTH_PUNCT)]);
static TER_PUNCT: LazyLock<Regex> = LazyLock::new(|| re(r#"[\.,\?:;!"\(\)]"#));

impl TercomTokenizer {
    /// Tokenizes one line as sacrebleu's `TercomTokenizer` does.
    pub fn tokenize(&self, sent: &str) -> String {
        if sent.is_empty() {
            return String::new();
        }
        let mut s = if self.case_sensitive {
            sent.to_string()
        } else {
            sent.to_lowercase()
        };
        if self.normalized {
            s = apply(&TER_WESTERN, &s);
            s = apply(&TER_WESTERN_PADDED, &format!(" {s} "));
            if self.asian_support {
                s = apply(&TER_ASIAN, &s);
                for kana in TER_KANA.iter() {
                    s = kana.replace_all(&s, "$1 $2 ").into_owned();
                }
                for p in TER_ASIAN_PUNCT.iter() {
                    s = p.replace_all(&s, " $1 ").into_owned();
                }
            }
        }
        if self.no_punct {
            s = TER_PUNCT.replace_all(&s, "").into_owned();
            if self.asian_support {
                for p in TER_ASIAN_PUNCT.iter() {
                    s = p.replace_all(&s, "").into_owned();
                }
            }
        }
        python::normalize_spaces(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are what sacrebleu 2.6.0's tokenizers return.
    #[test]
    fn thirteen_a() {
        let t = BleuTokenizer::V13a;
        assert_eq!(
            t.tokenize("Hello, world! It's 3.5-4 km."),
            "Hello , world ! It's 3.5 - 4 km ."
        );
        assert_eq!(t.tokenize("a &amp; b &lt;c&gt;"), "a & b < c >");
        assert_eq!(t.tokenize("1,000.50 dollars"), "1,000.50 dollars");
    }

    #[test]
    fn thirteen_a_scan_equals_sacrebleus_regular_expressions() {
        // sacrebleu's `_re` rules, applied in order with `re.sub`'s
        // leftmost, non-overlapping replacement, to the padded line.
        let rules = [
            (re(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), " $1 "),
            (re(r"([^0-9])([\.,])"), "$1 $2 "),
            (re(r"([\.,])([^0-9])"), " $1 $2"),
            (re(r"([0-9])(-)"), "$1 $2 "),
        ];
        let alphabet = [
            'a', '1', '9', '.', ',', '-', ' ', ' ', 'é', '(', '"', '\t', '\u{a0}', '/', '\u{3000}',
            'ア', '\u{1f}', '\u{85}', '\u{2009}',
        ];
        let mut state = 5u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 59) as usize;
            let line: String = (0..len)
                .map(|k| alphabet[(state >> (k * 3 % 56)) as usize % alphabet.len()])
                .collect();
            let expected = python::normalize_spaces(&apply(&rules, &format!(" {line} ")));
            assert_eq!(BleuTokenizer::V13a.tokenize(&line), expected, "{line:?}");
        }
    }

    #[test]
    fn for_each_token_gives_the_tokens_of_tokenize() {
        // Runs of dots and commas of every length around digits and
        // letters (the table's runs and longer ones), dashes after digits,
        // rule 1's punctuation, whitespace of every kind, non-ASCII text,
        // and the bytes that send a line to the full path (`<`, `&`, newline).
        let alphabet = [
            '.', ',', '.', '-', '1', '9', 'a', ' ', '(', '"', 'é', '\u{a0}', '\u{3000}', 'ア',
            '\t', '\u{85}', '\u{2009}', '\u{1f}', '/', '\'', 'Z', 'Ж', '\u{7f}', '—',
        ];
        let rare = ['<', '&', '\n'];
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        let mut state = 11u64;
        let mut lines: Vec<String> = Vec::new();
        for round in 0..40_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 58) as usize;
            let mut chars: Vec<char> = (0..len)
                .map(|k| alphabet[(state >> (k * 5 % 53)) as usize % alphabet.len()])
                .collect();
            if round % 50 == 0 {
                chars.insert(len / 2, rare[round / 50 % 3]);
            }
            lines.push(chars.into_iter().collect());
        }
        for dots in [17, 20, 40] {
            for (a, b) in [("1", "2"), ("a", "b"), ("1", "b"), ("a", "2"), ("", "")] {
                lines.push(format!("x {a}{}{b} y", ".".repeat(dots)));
                lines.push(format!("{a}{}{b}", ",.".repeat(dots / 2)));
            }
        }
        for line in &lines {
            let expected: Vec<String> = BleuTokenizer::V13a
                .tokenize(line)
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect();
            let mut tokens = Vec::new();
            BleuTokenizer::V13a.for_each_token(line, &mut out, &mut tmp, |t| {
                tokens.push(String::from_utf8(t.to_vec()).expect("UTF-8 token"))
            });
            assert_eq!(tokens, expected, "{line:?}");
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn stop_candidates_flag_every_byte_the_scan_stops_at() {
        // Each lane is computed on its own, so every byte value at every
        // position among kept bytes covers every block.
        for value in 0..=255u8 {
            for k in 0..16 {
                let mut block = [b'k'; 16];
                block[k] = value;
                let flagged = stop_candidates(&block) & 1 << k != 0;
                assert!(flagged || SCAN[value as usize] == KEEP, "{value:#x} at {k}");
                assert_eq!(stop_candidates(&block) & !(1 << k), 0, "{value:#x} at {k}");
            }
        }
        // And the blocks' search finds what a byte-by-byte one finds.
        let text = "Ab1'\u{7f}\u{1}Жé漢 x\u{a0}y—z\u{3000}アq-1.2,(\tend".repeat(3);
        let b = text.as_bytes();
        for i in 0..=b.len() {
            let expected =
                (i..b.len()).find(|&j| SCAN[b[j] as usize] != BLANK && SCAN[b[j] as usize] != KEEP);
            let (mut start, mut cuts) = (i, Vec::new());
            let stop = next_stop(b, i, &mut start, &mut |from, to| cuts.push((from, to)));
            // Whitespace before the stop is cut at (all of it, but near the
            // end, where the caller sees it).
            let blanks: Vec<usize> = (i..stop)
                .filter(|&j| SCAN[b[j] as usize] == BLANK)
                .collect();
            assert!(
                stop == expected.unwrap_or(b.len()) || SCAN[b[stop] as usize] == BLANK,
                "from {i}"
            );
            assert!(b[i..stop]
                .iter()
                .all(|&c| SCAN[c as usize] == KEEP || SCAN[c as usize] == BLANK));
            let mut from = i;
            let expected_cuts: Vec<(usize, usize)> = blanks
                .iter()
                .map(|&j| {
                    let cut = (from, j);
                    from = j + 1;
                    cut
                })
                .collect();
            assert_eq!(cuts, expected_cuts, "from {i}");
            assert_eq!(start, from, "from {i}");
        }
    }

    #[test]
    fn tokens_into_separates_the_tokens_by_ascii_spaces_only() {
        // Every whitespace kind (ASCII, information separators, the
        // non-ASCII spaces by their lead bytes, and characters sharing
        // those lead bytes), punctuation, digits and CJK, in every tokenizer.
        let alphabet = [
            'a', '1', '.', ',', '-', ' ', '\t', '\u{b}', '\u{1c}', '\u{85}', '\u{a0}', '\u{1680}',
            '\u{2000}', '\u{200b}', '\u{2028}', '\u{202f}', '\u{205f}', '\u{3000}', 'ア', '、',
            '中', 'é', '(', '&',
        ];
        let tokenizers = [
            BleuTokenizer::V13a,
            BleuTokenizer::Zh,
            BleuTokenizer::Intl,
            BleuTokenizer::Char,
            BleuTokenizer::None,
        ];
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        let mut state = 9u64;
        for _ in 0..5_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let line: String = (0..(state >> 59) as usize)
                .map(|k| alphabet[(state >> (k * 5 % 56)) as usize % alphabet.len()])
                .collect();
            for t in &tokenizers {
                t.tokens_into(&line, &mut out, &mut tmp);
                let split: Vec<&[u8]> = out
                    .split(|&b| b == b' ')
                    .filter(|t| !t.is_empty())
                    .collect();
                let tokenized = t.tokenize(&line);
                let expected: Vec<&[u8]> = python::split(&tokenized).map(str::as_bytes).collect();
                assert_eq!(split, expected, "{t:?} {line:?}");
            }
        }
    }

    #[test]
    fn intl_splits_unicode_punctuation_but_not_numbers() {
        let t = BleuTokenizer::Intl;
        assert_eq!(
            t.tokenize("«Bonjour», dit-il… 3,5 €"),
            "« Bonjour » , dit - il … 3,5 €"
        );
    }

    #[test]
    fn zh_and_char() {
        assert_eq!(
            BleuTokenizer::Zh.tokenize("我爱北京, ok."),
            "我 爱 北 京 , ok ."
        );
        assert_eq!(BleuTokenizer::Char.tokenize("ab c"), "a b   c");
        // U+2014 EM DASH falls in the accidental U+2001..U+2A6D range.
        assert_eq!(BleuTokenizer::Zh.tokenize("a\u{2014}b"), "a \u{2014} b");
    }

    #[test]
    fn refuses_mecab() {
        assert!(BleuTokenizer::parse("ja-mecab")
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn tercom() {
        let t = TercomTokenizer::default();
        assert_eq!(t.tokenize("Hello, World!"), "hello, world!");
        let n = TercomTokenizer {
            normalized: true,
            ..Default::default()
        };
        assert_eq!(n.tokenize("It's 3.5, isn't it?"), "it 's 3.5 , isn't it ?");
        let p = TercomTokenizer {
            no_punct: true,
            case_sensitive: true,
            ..Default::default()
        };
        assert_eq!(p.tokenize("Hi (there), you!"), "Hi there you");
    }
}
