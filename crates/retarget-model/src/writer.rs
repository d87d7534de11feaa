//! The streaming, sharded safetensors writer. It writes into an
//! [`OutputDir`], which is renamed into place only when all of it succeeded;
//! on any error (or a panic) the temporary folder is removed, so no
//! half-written model is ever left at the destination.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use indicatif::ProgressBar;
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::Dtype;

use crate::error::{ModelError, Result};
use crate::output::{set_mode, OutputDir};
use crate::weights::{INDEX_FILE, SINGLE_FILE};

/// Alignment of the data section of every safetensors file retarget writes.
const DATA_ALIGNMENT: usize = 64;

/// Default `--max-shard-size`: 5 GB, as `transformers` uses.
pub const DEFAULT_MAX_SHARD_BYTES: u64 = 5_000_000_000;

/// One tensor the writer will produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTensor {
    /// Output name.
    pub name: String,
    /// Output dtype.
    pub dtype: Dtype,
    /// Output shape.
    pub shape: Vec<usize>,
}

impl PlannedTensor {
    /// Bytes the tensor occupies.
    pub fn byte_len(&self) -> usize {
        self.shape.iter().product::<usize>() * self.dtype.bitsize() / 8
    }
}

/// Writes a tensor's bytes, in order, into the output file.
pub type ByteStream<'a> = Box<dyn FnOnce(&mut dyn Write) -> Result<()> + 'a>;

/// The bytes of one output tensor, as a producer hands them to the writer.
pub enum TensorBytes<'a> {
    /// Bytes in memory (converted, or borrowed from a map).
    Memory(Cow<'a, [u8]>),
    /// An unchanged byte range of an input file, copied by the kernel
    /// (`copy_file_range`) without passing through user space.
    FileRange {
        /// The input file.
        path: &'a Path,
        /// Absolute byte offset in it.
        offset: u64,
        /// Number of bytes.
        len: u64,
    },
    /// Bytes computed piece by piece and written as they come, so that a
    /// tensor never needs to be whole in memory; the writer checks that the
    /// planned number of bytes arrived.
    Stream(ByteStream<'a>),
}

impl std::fmt::Debug for TensorBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TensorBytes::Memory(bytes) => write!(f, "Memory({} bytes)", bytes.len()),
            TensorBytes::FileRange { path, offset, len } => {
                write!(f, "FileRange({}, {offset}, {len})", path.display())
            }
            TensorBytes::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// Counts the bytes written through it, and keeps the first write failure,
/// so that it is reported against the output file whatever the producer
/// made of it.
struct Counting<'w> {
    inner: &'w mut fs::File,
    written: u64,
    failure: Option<std::io::Error>,
}

impl Counting<'_> {
    fn keep<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.failure
                .get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        }
        result
    }
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf);
        let n = self.keep(n)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.inner.flush();
        self.keep(flushed)
    }
}

/// Produces the bytes of the tensor at an index of the plan, on demand.
pub type Producer<'a> = dyn Fn(usize) -> Result<TensorBytes<'a>> + Sync + 'a;

/// What the writer wrote.
#[derive(Debug, Clone)]
pub struct WrittenWeights {
    /// File names of the shards (or the single file), in order.
    pub files: Vec<String>,
    /// Total tensor bytes.
    pub total_bytes: u64,
}

/// Assigns planned tensors to shards of at most `max_bytes` each (a tensor
/// larger than that gets a shard of its own), keeping plan order.
pub fn assign_shards(plan: &[PlannedTensor], max_bytes: u64) -> Vec<Vec<usize>> {
    let mut shards: Vec<Vec<usize>> = Vec::new();
    let mut current = 0u64;
    for (i, t) in plan.iter().enumerate() {
        let size = t.byte_len() as u64;
        match shards.last_mut() {
            Some(shard) if current + size <= max_bytes => {
                shard.push(i);
                current += size;
            }
            _ => {
                shards.push(vec![i]);
                current = size;
            }
        }
    }
    shards
}

/// The safetensors header of one shard, built and serialised by the
/// `safetensors` crate's own `Metadata` type. Tensors are laid out in
/// descending dtype size, then name, as the crate's writer lays them out, so
/// every tensor's data stays aligned to its element size.
fn shard_header(plan: &[PlannedTensor], shard: &mut [usize], path: &Path) -> Result<Vec<u8>> {
    shard.sort_by(|&a, &b| {
        plan[b]
            .dtype
            .cmp(&plan[a].dtype)
            .then(plan[a].name.cmp(&plan[b].name))
    });
    let mut offset = 0;
    let infos = shard
        .iter()
        .map(|&i| {
            let len = plan[i].byte_len();
            let info = TensorInfo {
                dtype: plan[i].dtype,
                shape: plan[i].shape.clone(),
                data_offsets: (offset, offset + len),
            };
            offset += len;
            (plan[i].name.clone(), info)
        })
        .collect();
    let format = HashMap::from([("format".to_string(), "pt".to_string())]);
    let metadata = Metadata::new(Some(format), infos)
        .map_err(|e| ModelError::invalid(path, format!("building the safetensors header: {e}")))?;
    let mut header = serde_json::to_vec(&metadata).expect("metadata serialises");
    // Pad so that the data section starts at a multiple of 64 bytes (the
    // format allows trailing spaces): tensors then sit at the same alignment
    // in every file retarget writes, and kernels that choose their code path
    // by alignment compute the same results from a trimmed or merged model
    // as from its source.
    header.resize(
        (header.len() + 8).next_multiple_of(DATA_ALIGNMENT) - 8,
        b' ',
    );
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    Ok(out)
}

/// Writes one shard: header, then each tensor's bytes in header order.
///
/// Written here rather than with `safetensors::serialize_to_file` because that
/// function only accepts bytes in memory: unchanged tensors are copied from
/// file to file by the kernel instead (as `cp` does), which keeps a same-dtype
/// conversion as fast as copying and its anonymous memory near zero.
fn write_shard(
    path: &Path,
    header: &[u8],
    shard: &[usize],
    plan: &[PlannedTensor],
    producer: &Producer<'_>,
    progress: &ProgressBar,
) -> Result<()> {
    let io = |e| ModelError::io(path, e);
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    out.write_all(header).map_err(io)?;
    for &i in shard {
        let planned = &plan[i];
        let bytes = producer(i)?;
        let wrong_length = |len: u64| {
            ModelError::Internal(format!(
                "tensor `{}` produced {len} bytes, planned {}",
                planned.name,
                planned.byte_len()
            ))
        };
        match bytes {
            TensorBytes::Memory(data) if data.len() != planned.byte_len() => {
                return Err(wrong_length(data.len() as u64))
            }
            TensorBytes::FileRange { len, .. } if len != planned.byte_len() as u64 => {
                return Err(wrong_length(len))
            }
            TensorBytes::Memory(data) => out.write_all(&data).map_err(io)?,
            TensorBytes::Stream(stream) => {
                let mut counting = Counting {
                    inner: &mut out,
                    written: 0,
                    failure: None,
                };
                let streamed = stream(&mut counting);
                if let Some(e) = counting.failure.take() {
                    return Err(io(e));
                }
                streamed?;
                if counting.written != planned.byte_len() as u64 {
                    return Err(wrong_length(counting.written));
                }
            }
            TensorBytes::FileRange {
                path: source,
                offset,
                len,
            } => {
                let mut input = fs::File::open(source).map_err(|e| ModelError::io(source, e))?;
                input
                    .seek(SeekFrom::Start(offset))
                    .map_err(|e| ModelError::io(source, e))?;
                // std::io::copy uses copy_file_range between files on Linux.
                let copied = std::io::copy(&mut input.take(len), &mut out).map_err(io)?;
                if copied != len {
                    return Err(ModelError::invalid(
                        source,
                        format!(
                            "tensor `{}`: file ended after {copied} of {len} bytes",
                            planned.name
                        ),
                    ));
                }
            }
        }
        progress.inc(planned.byte_len() as u64);
    }
    out.sync_data().map_err(io)?;
    set_mode(path, 0o644)
}

/// Writes the planned tensors into `out` as `model.safetensors`, or as
/// `model-0000K-of-0000N.safetensors` shards plus `model.safetensors.index.json`
/// when they exceed `max_shard_bytes`. Tensors are produced and written one
/// at a time. Files get mode 0644 and the `{"format": "pt"}` metadata that
/// `transformers` expects.
pub fn write_weights<'a>(
    out: &OutputDir,
    plan: &[PlannedTensor],
    max_shard_bytes: u64,
    producer: &Producer<'a>,
    progress: &ProgressBar,
) -> Result<WrittenWeights> {
    let mut seen = HashSet::new();
    if let Some(t) = plan.iter().find(|t| !seen.insert(t.name.as_str())) {
        return Err(ModelError::Internal(format!(
            "tensor `{}` planned twice",
            t.name
        )));
    }
    let mut shards = assign_shards(plan, max_shard_bytes.max(1));
    let count = shards.len();
    let names: Vec<String> = if count <= 1 {
        vec![SINGLE_FILE.to_string()]
    } else {
        (1..=count)
            .map(|k| format!("model-{k:05}-of-{count:05}.safetensors"))
            .collect()
    };
    let mut weight_map = BTreeMap::new();
    for (shard, file_name) in shards.iter_mut().zip(&names) {
        let path = out.path().join(file_name);
        let header = shard_header(plan, shard, &path)?;
        write_shard(&path, &header, shard, plan, producer, progress)?;
        for &i in shard.iter() {
            weight_map.insert(plan[i].name.clone(), file_name.clone());
        }
    }
    let total_bytes: u64 = plan.iter().map(|t| t.byte_len() as u64).sum();
    if count > 1 {
        let index = serde_json::json!({
            "metadata": {"total_size": total_bytes},
            "weight_map": weight_map,
        });
        let mut bytes = serde_json::to_vec_pretty(&index).expect("JSON serialises");
        bytes.push(b'\n');
        out.write_file(Path::new(INDEX_FILE), &bytes)?;
    }
    Ok(WrittenWeights {
        files: names,
        total_bytes,
    })
}

/// Parses sizes such as `5GB`, `500MB`, `2GiB`, `1000` (bytes), the way
/// `transformers`' `max_shard_size` reads them (GB = 10^9, GiB = 2^30).
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        ModelError::Usage(format!(
            "cannot read size `{text}`: expected e.g. 5GB, 500MB, 2GiB"
        ))
    })?;
    let factor: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KIB" => 1024.0,
        "MIB" => 1024f64.powi(2),
        "GIB" => 1024f64.powi(3),
        "TIB" => 1024f64.powi(4),
        other => {
            return Err(ModelError::Usage(format!(
                "cannot read size `{text}`: unknown unit `{other}`"
            )))
        }
    };
    let bytes = value * factor;
    if bytes < 1.0 {
        return Err(ModelError::Usage(format!(
            "size `{text}` is smaller than one byte"
        )));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sections_start_at_a_multiple_of_64_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for name_len in 1..80 {
            let plan = vec![PlannedTensor {
                name: "t".repeat(name_len),
                dtype: Dtype::F32,
                shape: vec![3],
            }];
            let header = shard_header(&plan, &mut [0], &dir.path().join("x")).unwrap();
            assert_eq!(header.len() % 64, 0, "name length {name_len}");
            let json_len = u64::from_le_bytes(header[..8].try_into().unwrap()) as usize;
            assert_eq!(json_len + 8, header.len());
        }
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("5GB").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5MB").unwrap(), 1_500_000);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("5XB").is_err());
        assert!(parse_size("GB").is_err());
    }

    #[test]
    fn a_failing_tensor_leaves_nothing_behind() {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("out");
        let plan: Vec<PlannedTensor> = (0..3)
            .map(|i| PlannedTensor {
                name: format!("t{i}"),
                dtype: Dtype::F32,
                shape: vec![4],
            })
            .collect();
        let producer = |i: usize| -> Result<TensorBytes<'static>> {
            if i == 1 {
                Err(ModelError::invalid(
                    "/in/model.gguf",
                    "tensor `t1`: corrupt",
                ))
            } else {
                Ok(TensorBytes::Memory(Cow::Owned(vec![0; 16])))
            }
        };
        let out = OutputDir::create(&dest, &[]).unwrap();
        let err = write_weights(&out, &plan, 8, &producer, &ProgressBar::hidden()).unwrap_err();
        assert!(err.to_string().contains("corrupt"));
        drop(out);
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn shards_greedily_and_isolates_oversized_tensors() {
        let t = |n: usize| PlannedTensor {
            name: format!("t{n}"),
            dtype: Dtype::F32,
            shape: vec![n],
        };
        let plan = [t(10), t(10), t(30), t(5), t(1)];
        assert_eq!(
            assign_shards(&plan, 80),
            vec![vec![0, 1], vec![2], vec![3, 4]]
        );
        assert_eq!(assign_shards(&plan, 1000), vec![vec![0, 1, 2, 3, 4]]);
    }
}
