//! The weights of a model folder: `model.safetensors`, or
//! `model.safetensors.index.json` plus its shards, memory-mapped and
//! cross-validated.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;

use crate::dtype::{to_f32_into, FloatType};
use crate::error::{ModelError, Result};
use crate::safetensors_file::{SafetensorsFile, TensorEntry};

/// Name of a single-file checkpoint.
pub const SINGLE_FILE: &str = "model.safetensors";
/// Name of a sharded checkpoint's index.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// A tensor located in one of the files.
#[derive(Debug, Clone, Copy)]
pub struct TensorRef<'a> {
    /// The file holding it.
    pub file: &'a SafetensorsFile,
    /// Its header entry.
    pub entry: &'a TensorEntry,
}

impl<'a> TensorRef<'a> {
    /// Its raw bytes, borrowed from the memory map.
    pub fn data(&self) -> &'a [u8] {
        self.file.data(self.entry)
    }

    /// Whether it is a floating-point tensor holding NaN or an infinity.
    pub fn has_nonfinite(&self) -> bool {
        let Some(ty) = FloatType::of(self.entry.dtype) else {
            return false;
        };
        // In chunks, so that a large tensor is not converted whole.
        let chunk = 1 << 16;
        let mut values = vec![0f32; chunk];
        self.data().chunks(chunk * ty.size()).any(|bytes| {
            let values = &mut values[..bytes.len() / ty.size()];
            to_f32_into(ty, bytes, values);
            values.iter().any(|v| !v.is_finite())
        })
    }
}

/// All weight files of a checkpoint.
#[derive(Debug)]
pub struct Weights {
    files: Vec<SafetensorsFile>,
    /// Tensor name → (file index, entry index), in file then offset order.
    order: Vec<(usize, usize)>,
    by_name: HashMap<String, usize>,
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct IndexJson {
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
    weight_map: BTreeMap<String, String>,
}

impl Weights {
    /// Opens the weights of an HF folder (sharded or not).
    pub fn open_dir(dir: &Path) -> Result<Self> {
        let index = dir.join(INDEX_FILE);
        if index.is_file() {
            return Self::open_index(&index);
        }
        let single = dir.join(SINGLE_FILE);
        if single.is_file() {
            return Self::open_file(&single);
        }
        Err(ModelError::invalid(
            dir,
            format!("no {SINGLE_FILE} and no {INDEX_FILE}: not a safetensors model folder"),
        ))
    }

    /// Opens one safetensors file.
    pub fn open_file(path: &Path) -> Result<Self> {
        let file = SafetensorsFile::open(path)?;
        Self::assemble(vec![file], Vec::new(), &[])
    }

    /// Opens an index file and every shard it names, checking that each
    /// named shard exists and holds the tensors the index maps to it.
    pub fn open_index(index_path: &Path) -> Result<Self> {
        let text = std::fs::read(index_path).map_err(|e| ModelError::io(index_path, e))?;
        let index: IndexJson = serde_json::from_slice(&text)
            .map_err(|e| ModelError::invalid(index_path, format!("malformed index JSON: {e}")))?;
        let dir = index_path.parent().unwrap_or(Path::new("."));
        let mut shard_names: Vec<&str> = index.weight_map.values().map(String::as_str).collect();
        shard_names.sort_unstable();
        shard_names.dedup();
        let mut files = Vec::with_capacity(shard_names.len());
        for shard in &shard_names {
            if shard.contains('/') || shard.contains('\\') || *shard == ".." {
                return Err(ModelError::invalid(
                    index_path,
                    format!("shard name `{shard}` is not a plain file name"),
                ));
            }
            let path = dir.join(shard);
            if !path.is_file() {
                return Err(ModelError::invalid(
                    index_path,
                    format!("index names shard `{shard}`, which does not exist"),
                ));
            }
            files.push(SafetensorsFile::open(&path)?);
        }
        let shard_of: HashMap<&str, usize> = shard_names
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i))
            .collect();
        for (tensor, shard) in &index.weight_map {
            if files[shard_of[shard.as_str()]].entry(tensor).is_none() {
                return Err(ModelError::invalid(
                    index_path,
                    format!("index maps tensor `{tensor}` to shard `{shard}`, which does not contain it"),
                ));
            }
        }
        // A tensor a shard holds that the index never names would be dropped
        // by every writer: refused. A second copy of a tensor the index maps
        // to another shard is ignored (as `transformers` ignores it), and reported.
        let mut warnings = Vec::new();
        let mut keep: Vec<Vec<bool>> = Vec::with_capacity(files.len());
        for file in &files {
            let shard = file
                .path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("");
            let mut kept = Vec::with_capacity(file.tensors().len());
            for entry in file.tensors() {
                match index.weight_map.get(&entry.name).map(String::as_str) {
                    Some(mapped) if mapped == shard => kept.push(true),
                    Some(mapped) => {
                        warnings.push(format!(
                            "shard `{shard}` also holds tensor `{}`, which the index maps to `{mapped}` (this copy is ignored)",
                            entry.name
                        ));
                        kept.push(false);
                    }
                    None => {
                        return Err(ModelError::invalid(
                            index_path,
                            format!(
                                "shard `{shard}` holds tensor `{}`, which the index does not list; add it to weight_map (or remove it from the shard)",
                                entry.name
                            ),
                        ))
                    }
                }
            }
            keep.push(kept);
        }
        let data_bytes: u64 = files
            .iter()
            .zip(&keep)
            .flat_map(|(f, k)| f.tensors().iter().zip(k))
            .filter(|(_, &kept)| kept)
            .map(|(e, _)| e.byte_len() as u64)
            .sum();
        if let Some(total) = index.metadata.get("total_size").and_then(|v| v.as_u64()) {
            if total != data_bytes {
                warnings.push(format!(
                    "index metadata total_size is {total} but the mapped tensors hold {data_bytes} bytes"
                ));
            }
        }
        Self::assemble(files, warnings, &keep)
    }

    /// Collects the kept tensors of `files` (all of them when `keep` is
    /// empty) into one name → location table.
    fn assemble(
        files: Vec<SafetensorsFile>,
        warnings: Vec<String>,
        keep: &[Vec<bool>],
    ) -> Result<Self> {
        let mut order = Vec::new();
        let mut by_name = HashMap::new();
        for (fi, file) in files.iter().enumerate() {
            for (ei, entry) in file.tensors().iter().enumerate() {
                if !keep.get(fi).is_none_or(|k| k[ei]) {
                    continue;
                }
                if by_name.insert(entry.name.clone(), order.len()).is_some() {
                    return Err(ModelError::invalid(
                        file.path(),
                        format!("tensor `{}` appears in more than one shard", entry.name),
                    ));
                }
                order.push((fi, ei));
            }
        }
        Ok(Weights {
            files,
            order,
            by_name,
            warnings,
        })
    }

    /// The first tensor, in file order, holding NaN or an infinity (checked
    /// on all cores).
    pub fn first_nonfinite(&self) -> Option<TensorRef<'_>> {
        let tensors: Vec<TensorRef<'_>> = self.iter().collect();
        tensors.into_par_iter().find_first(TensorRef::has_nonfinite)
    }

    /// The safetensors files (one, or the shards).
    pub fn files(&self) -> &[SafetensorsFile] {
        &self.files
    }

    /// Non-fatal inconsistencies found while opening.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// All tensors, in file then data order.
    pub fn iter(&self) -> impl Iterator<Item = TensorRef<'_>> {
        self.order.iter().map(|&(f, e)| TensorRef {
            file: &self.files[f],
            entry: &self.files[f].tensors()[e],
        })
    }

    /// Looks a tensor up by name.
    pub fn get(&self, name: &str) -> Option<TensorRef<'_>> {
        let &(f, e) = self.order.get(*self.by_name.get(name)?)?;
        Some(TensorRef {
            file: &self.files[f],
            entry: &self.files[f].tensors()[e],
        })
    }

    /// True when a tensor of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Total bytes of all weight files, headers included.
    pub fn file_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.file_len() as u64).sum()
    }
}
