//! SentencePiece models (`.model` files) read and applied in pure Rust, as
//! Python `sentencepiece`'s `EncodeAsPieces` segments text: what sacrebleu's
//! `flores101` / `flores200` tokenizers join with spaces.
//!
//! Written by hand because the `sentencepiece` crate binds the C++ library
//! (CMake and a C++ toolchain at build time) and `tokenizers`' Unigram/BPE
//! models differ from SentencePiece in normalisation and merge order.
//! Follows sentencepiece 0.2: `normalizer.cc`, `unigram_model.cc`
//! (`EncodeOptimized`), `bpe_model.cc`, and the unknown-piece merging and
//! byte fallback of `sentencepiece_processor.cc`. Checked against Python
//! `sentencepiece` by `scripts/crosscheck/sentencepiece_check.py`.

mod bpe;
mod normalizer;
mod proto;
mod unigram;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use prost::Message;

use self::normalizer::Normalizer;
use crate::error::{EvalError, Result};

/// A piece's type in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceKind {
    fn from_code(code: i32) -> Option<PieceKind> {
        Some(match code {
            1 => PieceKind::Normal,
            2 => PieceKind::Unknown,
            3 => PieceKind::Control,
            4 => PieceKind::UserDefined,
            5 => PieceKind::Unused,
            6 => PieceKind::Byte,
            _ => return None,
        })
    }

    /// Control, unknown and byte pieces never match text directly.
    fn is_reserved(self) -> bool {
        !matches!(
            self,
            PieceKind::Normal | PieceKind::UserDefined | PieceKind::Unused
        )
    }
}

/// The vocabulary as the segmenters need it.
struct PieceTable {
    /// Pieces that can match text (normal, user-defined, unused) → id.
    ids: HashMap<String, usize>,
    /// Every piece → id.
    ids_all: HashMap<String, usize>,
    kinds: Vec<PieceKind>,
    scores: Vec<f32>,
    unk_id: Option<usize>,
    min_normal_score: f32,
    /// Longest matchable piece, in bytes.
    max_piece_len: usize,
    /// User-defined symbols, longest first.
    user_defined: Vec<String>,
}

/// One segment of normalised text and its piece id (`None`: unknown, in a
/// model without an unknown piece).
struct Segment<'a> {
    piece: &'a str,
    id: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Unigram,
    Bpe,
}

/// A loaded SentencePiece model.
pub struct SentencePieceModel {
    path: PathBuf,
    normalizer: Normalizer,
    table: PieceTable,
    algorithm: Algorithm,
    byte_fallback: bool,
}

impl std::fmt::Debug for SentencePieceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SentencePieceModel({})", self.path.display())
    }
}

impl SentencePieceModel {
    /// Reads a `.model` file (a serialised `ModelProto`).
    pub fn open(path: &Path) -> Result<SentencePieceModel> {
        let bytes =
            std::fs::read(path).map_err(|source| EvalError::io(path.to_path_buf(), source))?;
        SentencePieceModel::from_bytes(&bytes, path)
    }

    /// Parses a model from its bytes; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<SentencePieceModel> {
        let invalid = |problem: String| {
            EvalError::invalid(
                path.to_path_buf(),
                format!("not a valid SentencePiece model: {problem}"),
            )
        };
        let proto = proto::ModelProto::decode(bytes).map_err(|e| invalid(e.to_string()))?;
        if proto.pieces.is_empty() {
            return Err(invalid("it has no pieces".into()));
        }
        let trainer = proto.trainer_spec.clone().unwrap_or_default();
        let algorithm = match trainer.model_type() {
            1 => Algorithm::Unigram,
            2 => Algorithm::Bpe,
            3 | 4 => {
                return Err(EvalError::Usage(format!(
                "{}: SentencePiece word and char models are not supported (unigram and BPE are)",
                path.display()
            )))
            }
            other => return Err(invalid(format!("unknown model type {other}"))),
        };
        let mut table = PieceTable {
            ids: HashMap::new(),
            ids_all: HashMap::new(),
            kinds: Vec::with_capacity(proto.pieces.len()),
            scores: Vec::with_capacity(proto.pieces.len()),
            unk_id: None,
            min_normal_score: f32::MAX,
            max_piece_len: 0,
            user_defined: Vec::new(),
        };
        for (id, piece) in proto.pieces.iter().enumerate() {
            let text = piece.piece().to_string();
            if text.is_empty() {
                return Err(invalid(format!("piece {id} is empty")));
            }
            let kind = PieceKind::from_code(piece.kind())
                .ok_or_else(|| invalid(format!("piece {id} has type {}", piece.kind())))?;
            let score = piece.score();
            if !score.is_finite() {
                return Err(invalid(format!("piece {id} has score {score}")));
            }
            match kind {
                PieceKind::Normal => table.min_normal_score = table.min_normal_score.min(score),
                PieceKind::Unknown => table.unk_id = Some(id),
                PieceKind::UserDefined => table.user_defined.push(text.clone()),
                _ => {}
            }
            if !kind.is_reserved() {
                table.max_piece_len = table.max_piece_len.max(text.len());
                table.ids.entry(text.clone()).or_insert(id);
            }
            table.ids_all.entry(text).or_insert(id);
            table.kinds.push(kind);
            table.scores.push(score);
        }
        table
            .user_defined
            .sort_by_key(|s| std::cmp::Reverse(s.len()));
        let spec = proto.normalizer_spec.clone().unwrap_or_default();
        let mut normalizer = Normalizer::new(spec.precompiled_charsmap.as_deref())
            .ok_or_else(|| invalid("its precompiled character map is truncated".into()))?;
        normalizer.add_dummy_prefix = spec.add_dummy_prefix();
        normalizer.remove_extra_whitespaces = spec.remove_extra_whitespaces();
        normalizer.escape_whitespaces = spec.escape_whitespaces();
        normalizer.treat_whitespace_as_suffix = trainer.treat_whitespace_as_suffix();
        normalizer.user_defined = table.user_defined.clone();
        Ok(SentencePieceModel {
            path: path.to_path_buf(),
            normalizer,
            table,
            algorithm,
            byte_fallback: trainer.byte_fallback(),
        })
    }

    /// The file the model came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Python's `sp.EncodeAsPieces(text)`.
    pub fn encode_as_pieces(&self, text: &str) -> Vec<String> {
        let normalized = self.normalizer.normalize(text);
        let segments = match self.algorithm {
            Algorithm::Unigram => unigram::encode(&self.table, &normalized),
            Algorithm::Bpe => bpe::encode(&self.table, &normalized),
        };
        let mut pieces: Vec<String> = Vec::with_capacity(segments.len());
        let mut prev_unknown = false;
        for segment in segments {
            let unknown = segment
                .id
                .is_none_or(|id| self.table.kinds[id] == PieceKind::Unknown);
            if unknown && self.byte_fallback {
                pieces.extend(segment.piece.bytes().map(|b| format!("<0x{b:02X}>")));
            } else if unknown && prev_unknown {
                pieces
                    .last_mut()
                    .expect("previous piece")
                    .push_str(segment.piece);
            } else {
                pieces.push(segment.piece.to_string());
            }
            prev_unknown = unknown;
        }
        pieces
    }

    /// sacrebleu's SentencePiece tokenizer: the pieces joined by spaces.
    pub fn tokenize(&self, text: &str) -> String {
        self.encode_as_pieces(text).join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::proto::{ModelProto, NormalizerSpec, Piece, TrainerSpec};
    use super::*;

    fn piece(text: &str, score: f32, kind: i32) -> Piece {
        Piece {
            piece: Some(text.into()),
            score: Some(score),
            kind: Some(kind),
        }
    }

    /// Writes a model; `normal` pieces are (text, score).
    fn model(
        model_type: i32,
        byte_fallback: bool,
        normal: &[(&str, f32)],
        spec: Option<NormalizerSpec>,
    ) -> (tempfile::TempDir, SentencePieceModel) {
        let mut pieces = vec![
            piece("<unk>", 0.0, 2),
            piece("<s>", 0.0, 3),
            piece("</s>", 0.0, 3),
        ];
        pieces.extend(normal.iter().map(|&(t, s)| piece(t, s, 1)));
        if byte_fallback {
            pieces.extend((0..=255u8).map(|b| piece(&format!("<0x{b:02X}>"), 0.0, 6)));
        }
        let proto = ModelProto {
            pieces,
            trainer_spec: Some(TrainerSpec {
                model_type: Some(model_type),
                treat_whitespace_as_suffix: None,
                byte_fallback: Some(byte_fallback),
            }),
            normalizer_spec: spec,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.model");
        std::fs::write(&path, proto.encode_to_vec()).unwrap();
        let model = SentencePieceModel::open(&path).unwrap();
        (dir, model)
    }

    const UNIGRAM: &[(&str, f32)] = &[
        ("▁hello", -1.0),
        ("▁he", -2.0),
        ("llo", -2.0),
        ("▁world", -5.0),
        ("▁", -3.0),
        ("h", -4.0),
        ("e", -4.0),
        ("l", -4.0),
        ("o", -4.0),
    ];

    #[test]
    fn unigram_takes_the_best_path_and_merges_unknowns() {
        let (_dir, m) = model(1, false, UNIGRAM, None);
        // Whitespace trimmed and collapsed, a dummy prefix, `▁` for spaces.
        assert_eq!(
            m.encode_as_pieces("  hello   world  "),
            ["▁hello", "▁world"]
        );
        // -1 (one piece) beats -2 + -2 (two pieces).
        assert_eq!(m.tokenize("hello"), "▁hello");
        // Unknown characters become one piece per run.
        assert_eq!(m.encode_as_pieces("hello 😀😀"), ["▁hello", "▁", "😀😀"]);
        assert_eq!(m.encode_as_pieces("   "), Vec::<String>::new());
        // Control pieces never match text.
        assert_eq!(m.encode_as_pieces("<s>"), ["▁", "<s>"]);
    }

    #[test]
    fn byte_fallback_spells_unknown_characters_as_bytes() {
        let (_dir, m) = model(1, true, UNIGRAM, None);
        assert_eq!(m.encode_as_pieces("hé"), ["▁", "h", "<0xC3>", "<0xA9>"]);
    }

    #[test]
    fn bpe_merges_the_highest_scoring_pair_first() {
        let pieces = [
            ("▁", -0.1),
            ("a", -0.1),
            ("b", -0.1),
            ("c", -0.1),
            ("ab", -1.0),
            ("bc", -0.5),
            ("abc", -2.0),
        ];
        let (_dir, m) = model(2, false, &pieces, None);
        // bc (-0.5) before ab (-1.0), then a + bc = abc.
        assert_eq!(m.encode_as_pieces("abc"), ["▁", "abc"]);
        assert_eq!(m.encode_as_pieces("cab"), ["▁", "c", "ab"]);
        // Unknown characters stay single pieces, runs merged.
        assert_eq!(m.encode_as_pieces("a xy"), ["▁", "a", "▁", "xy"]);
    }

    #[test]
    fn normalizer_options_are_honoured() {
        let spec = NormalizerSpec {
            precompiled_charsmap: None,
            add_dummy_prefix: Some(false),
            remove_extra_whitespaces: Some(false),
            escape_whitespaces: Some(true),
        };
        let (_dir, m) = model(1, false, UNIGRAM, Some(spec));
        // No dummy prefix, spaces kept: "llo" (-2) beats three letters (-12).
        assert_eq!(m.encode_as_pieces("hello  "), ["h", "e", "llo", "▁", "▁"]);
    }

    #[test]
    fn broken_model_files_are_rejected_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.model");
        std::fs::write(&path, b"\x0a\xff\xff\xff\xff\x0f not a protobuf").unwrap();
        let err = SentencePieceModel::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("broken.model") && err.contains("not a valid SentencePiece model"),
            "{err}"
        );
        std::fs::write(&path, ModelProto::default().encode_to_vec()).unwrap();
        let err = SentencePieceModel::open(&path).unwrap_err().to_string();
        assert!(err.contains("no pieces"), "{err}");
        let broken_map = ModelProto {
            pieces: vec![piece("<unk>", 0.0, 2), piece("a", -1.0, 1)],
            trainer_spec: None,
            normalizer_spec: Some(NormalizerSpec {
                precompiled_charsmap: Some(vec![0xff, 0xff, 0, 0, 1, 2]),
                add_dummy_prefix: None,
                remove_extra_whitespaces: None,
                escape_whitespaces: None,
            }),
        };
        std::fs::write(&path, broken_map.encode_to_vec()).unwrap();
        let err = SentencePieceModel::open(&path).unwrap_err().to_string();
        assert!(err.contains("character map is truncated"), "{err}");
    }
}
