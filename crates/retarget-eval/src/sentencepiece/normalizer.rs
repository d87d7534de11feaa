//! SentencePiece's `Normalizer::Normalize`: the precompiled character map
//! (longest match in a Darts double-array trie), whitespace trimming and
//! collapsing, the dummy prefix and `▁` escaping.
//!
//! The trie lookup is written here because `spm_precompiled` (which
//! `tokenizers` uses) only exposes a first-match transform per grapheme,
//! while SentencePiece takes the longest match over the remaining input.

/// `▁`, SentencePiece's visible space.
pub(super) const SPACE_SYMBOL: &str = "\u{2581}";

/// How to normalise, from the model's `NormalizerSpec`.
pub(super) struct Normalizer {
    charsmap: Option<CharsMap>,
    pub(super) add_dummy_prefix: bool,
    pub(super) remove_extra_whitespaces: bool,
    pub(super) escape_whitespaces: bool,
    pub(super) treat_whitespace_as_suffix: bool,
    /// User-defined symbols, never normalised (longest first).
    pub(super) user_defined: Vec<String>,
}

/// `<trie size: u32><double-array units: u32…><NUL-separated outputs>`.
struct CharsMap {
    units: Vec<u32>,
    outputs: Vec<u8>,
}

impl CharsMap {
    fn parse(blob: &[u8]) -> Option<CharsMap> {
        let size = u32::from_le_bytes(blob.get(..4)?.try_into().ok()?) as usize;
        let trie = blob.get(4..4usize.checked_add(size)?)?;
        let units = trie
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        Some(CharsMap {
            units,
            outputs: blob[4 + size..].to_vec(),
        })
    }

    /// darts-clone's `commonPrefixSearch`, keeping the longest match:
    /// (matched length, offset of the replacement in `outputs`).
    fn longest_prefix(&self, key: &[u8]) -> Option<(usize, usize)> {
        let unit = |pos: usize| self.units.get(pos).copied();
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let has_leaf = |u: u32| (u >> 8) & 1 == 1;
        let label = |u: u32| u & ((1 << 31) | 0xFF);
        let value = |u: u32| (u & ((1 << 31) - 1)) as usize;
        let mut node = offset(unit(0)?);
        let mut best = None;
        for (i, &byte) in key.iter().enumerate() {
            node ^= usize::from(byte);
            let u = unit(node)?;
            if label(u) != u32::from(byte) {
                break;
            }
            node ^= offset(u);
            if has_leaf(u) {
                best = Some((i + 1, value(unit(node)?)));
            }
        }
        best
    }

    /// The replacement text at `offset` (up to its NUL).
    fn output(&self, offset: usize) -> Option<&str> {
        let rest = self.outputs.get(offset..)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).ok()
    }
}

impl Normalizer {
    /// A normaliser with the model's precompiled character map, if any;
    /// `None` when the map is malformed.
    pub(super) fn new(charsmap: Option<&[u8]>) -> Option<Normalizer> {
        let charsmap = match charsmap.filter(|b| !b.is_empty()) {
            Some(blob) => Some(CharsMap::parse(blob)?),
            None => None,
        };
        Some(Normalizer {
            charsmap,
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
            treat_whitespace_as_suffix: false,
            user_defined: Vec::new(),
        })
    }

    /// `NormalizePrefix`: the normalised form of the longest rule matching
    /// the start of `input`, and how many bytes it consumed.
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(symbol) = self
            .user_defined
            .iter()
            .find(|s| input.starts_with(s.as_str()))
        {
            return (&input[..symbol.len()], symbol.len());
        }
        if let Some(map) = &self.charsmap {
            if let Some((len, offset)) = map.longest_prefix(input.as_bytes()) {
                if let Some(out) = map.output(offset) {
                    return (out, len);
                }
            }
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        (&input[..len], len)
    }

    /// The normalised text that the model segments.
    pub(super) fn normalize(&self, mut input: &str) -> String {
        let space = if self.escape_whitespaces {
            SPACE_SYMBOL
        } else {
            " "
        };
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (normalized, consumed) = self.normalize_prefix(input);
                if normalized != " " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        let mut out = String::with_capacity(input.len() * 3 / 2);
        if input.is_empty() {
            return out;
        }
        if !self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.push_str(space);
        }
        let mut is_prev_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (normalized, consumed) = self.normalize_prefix(input);
            let mut piece = normalized;
            while is_prev_space && piece.starts_with(' ') {
                piece = &piece[1..];
            }
            if !piece.is_empty() {
                for c in piece.chars() {
                    if c == ' ' {
                        out.push_str(space);
                    } else {
                        out.push(c);
                    }
                }
                is_prev_space = piece.ends_with(' ');
            }
            input = &input[consumed..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        if self.treat_whitespace_as_suffix && self.add_dummy_prefix {
            out.push_str(space);
        }
        out
    }
}
