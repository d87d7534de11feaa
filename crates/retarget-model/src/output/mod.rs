//! Where retarget writes, and the one rule for all of it: an output never goes
//! into or over an input, never over an existing file unless the user forces
//! it, and is written under a temporary name beside its destination that is
//! renamed into place only on success. A failure, a panic or a signal leaves
//! nothing half-written; what a killed process left is removed by the next run
//! that writes beside it ([`temporaries`]).
//!
//! - [`OutputDir`]: a model folder (`convert`, `merge`, `vocab`, `adapt`).
//! - [`OutputFile`]: one file (`score --save-logits`, `translate -o`).
//! - [`ScratchDir`]: working space removed when done (GGUF conversions).

pub mod temporaries;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use temporaries::{commit, release, remove_stale, reserve};

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| ModelError::io(path, e))
}

/// Resolves symlinks of the longest existing ancestor, so that paths can be
/// compared even when the tail does not exist yet.
fn resolved(path: &Path) -> Result<PathBuf> {
    let abs = absolute(path)?;
    let mut existing = abs.as_path();
    let mut tail = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = fs::canonicalize(existing).map_err(|e| ModelError::io(existing, e))?;
    for name in tail.into_iter().rev() {
        out.push(name);
    }
    Ok(out)
}

/// Refuses a destination that is a symbolic link to nothing: the work would
/// be done and then fail at the final rename.
fn refuse_dangling_link(destination: &Path) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(destination) {
        if meta.file_type().is_symlink() && !destination.exists() {
            let target = fs::read_link(destination).unwrap_or_default();
            return Err(ModelError::Usage(format!(
                "{} is a symbolic link to {}, which does not exist; remove the link or choose another output",
                destination.display(),
                target.display()
            )));
        }
    }
    Ok(())
}

/// The folder `resolved` destination goes into, which must exist or be creatable.
fn parent_of(dest: &Path, destination: &Path) -> Result<PathBuf> {
    dest.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| ModelError::Usage(format!("{} has no parent folder", destination.display())))
}

/// A final path component as text, for naming temporaries.
fn label(dest: &Path) -> String {
    dest.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into())
}

/// Sets `path`'s permission bits.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| ModelError::io(path, e))
}

/// A destination folder being written atomically: a scratch folder beside
/// it, renamed into place on success and removed otherwise.
#[derive(Debug)]
pub struct OutputDir {
    destination: PathBuf,
    temp: ScratchDir,
}

impl OutputDir {
    /// Prepares to write `destination`. Refuses when it overlaps any of
    /// `inputs` (same folder, inside one, or containing one), when it already
    /// exists and is not an empty folder (an empty folder is replaced), and
    /// when it is a dangling symbolic link. Call it before doing the work, so
    /// that a refused output costs nothing. Stale temporaries of killed runs
    /// beside `destination` are removed on the way.
    pub fn create(destination: &Path, inputs: &[&Path]) -> Result<Self> {
        refuse_dangling_link(destination)?;
        let dest = resolved(destination)?;
        for input in inputs {
            let input = resolved(input)?;
            let input_dir = if input.is_file() {
                input.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                input.clone()
            };
            if dest == input_dir || dest.starts_with(&input) || input.starts_with(&dest) {
                return Err(ModelError::Usage(format!(
                    "refusing to write {} : it overlaps the input {}; choose an output folder outside the inputs",
                    destination.display(),
                    input.display()
                )));
            }
        }
        if dest.exists() {
            let empty_dir = dest.is_dir()
                && fs::read_dir(&dest)
                    .map_err(|e| ModelError::io(&dest, e))?
                    .next()
                    .is_none();
            if !empty_dir {
                return Err(ModelError::Usage(format!(
                    "{} already exists; retarget never overwrites: remove it or choose another output",
                    destination.display()
                )));
            }
        }
        let parent = parent_of(&dest, destination)?;
        let temp = ScratchDir::new(&parent, &label(&dest))?;
        Ok(OutputDir {
            destination: dest,
            temp,
        })
    }

    /// The temporary folder files are written to.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Creates the folders between the temporary folder and `relative`, one
    /// level at a time: never the temporary folder itself, which a signal
    /// handler may have just removed (`create_dir_all` would bring it back
    /// and leave it behind when the process exits).
    fn create_parents(&self, relative: &Path) -> Result<()> {
        let mut dir = self.path().to_path_buf();
        let Some(parent) = relative.parent() else {
            return Ok(());
        };
        for part in parent.components() {
            dir.push(part);
            match fs::create_dir(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(ModelError::io(&dir, e));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Writes a small file (mode 0644) at `relative` inside the output.
    pub fn write_file(&self, relative: &Path, bytes: &[u8]) -> Result<()> {
        let path = self.path().join(relative);
        self.create_parents(relative)?;
        fs::write(&path, bytes).map_err(|e| ModelError::io(&path, e))?;
        set_mode(&path, 0o644)
    }

    /// Copies `source` verbatim to `relative` inside the output (mode 0644).
    pub fn copy_file(&self, source: &Path, relative: &Path) -> Result<()> {
        let path = self.path().join(relative);
        self.create_parents(relative)?;
        // A failure to read is the source's; any other (a full disk) the output's.
        fs::File::open(source).map_err(|e| ModelError::io(source, e))?;
        fs::copy(source, &path).map_err(|e| ModelError::io(&path, e))?;
        set_mode(&path, 0o644)
    }

    /// Moves the finished output into place (the scratch folder is then
    /// gone from its temporary name, so dropping it removes nothing).
    pub fn commit(self) -> Result<PathBuf> {
        let destination = self.destination;
        commit(self.temp.path(), || {
            if destination.is_dir() {
                // Checked empty in `create`; `remove_dir` fails if that changed.
                fs::remove_dir(&destination).map_err(|e| ModelError::io(&destination, e))?;
            }
            fs::rename(self.temp.path(), &destination).map_err(|e| ModelError::io(&destination, e))
        })?;
        Ok(destination)
    }
}

/// A destination file, checked before the work that produces it and written
/// atomically after.
#[derive(Debug)]
pub struct OutputFile {
    destination: PathBuf,
    force: bool,
}

/// Whether two existing paths are the same file (also through hard links).
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl OutputFile {
    /// Checks that `destination` can be written: it is not one of `inputs`
    /// (files, or folders such as a model folder, which it may not be inside
    /// either), not a folder, not a dangling link, its folder exists, and it
    /// does not exist yet unless `force` says to replace it.
    pub fn create(destination: &Path, inputs: &[&Path], force: bool) -> Result<Self> {
        refuse_dangling_link(destination)?;
        let dest = resolved(destination)?;
        if dest.is_dir() {
            return Err(ModelError::Usage(format!(
                "{} is a folder; give a file name to write",
                destination.display()
            )));
        }
        for input in inputs {
            let resolved_input = resolved(input)?;
            let overlap = if resolved_input.is_dir() {
                dest.starts_with(&resolved_input)
            } else {
                dest == resolved_input || same_file(&dest, &resolved_input)
            };
            if overlap {
                let what = if resolved_input.is_dir() {
                    "is inside the input folder"
                } else {
                    "is the input"
                };
                return Err(ModelError::Usage(format!(
                    "refusing to write {}: it {what} {}; retarget never writes into or over an input",
                    destination.display(),
                    input.display()
                )));
            }
        }
        if dest.exists() && !force {
            return Err(ModelError::Usage(format!(
                "{} already exists; pass --force to overwrite it",
                destination.display()
            )));
        }
        let parent = parent_of(&dest, destination)?;
        if !parent.is_dir() {
            return Err(ModelError::Usage(format!(
                "{}: the folder {} does not exist",
                destination.display(),
                parent.display()
            )));
        }
        Ok(OutputFile {
            destination: dest,
            force,
        })
    }

    /// Writes `bytes` (mode 0644) through a temporary file and a rename;
    /// returns the written path.
    pub fn write(self, bytes: &[u8]) -> Result<PathBuf> {
        self.write_with(|file, temp| file.write_all(bytes).map_err(|e| ModelError::io(temp, e)))
    }

    /// Writes the file by handing `fill` a buffered writer on a temporary
    /// file (and its path, for errors), then renames it into place (mode
    /// 0644); on any error the temporary is removed and nothing is placed.
    /// Returns the written path.
    pub fn write_with(
        self,
        fill: impl FnOnce(&mut std::io::BufWriter<fs::File>, &Path) -> Result<()>,
    ) -> Result<PathBuf> {
        let parent = parent_of(&self.destination, &self.destination)?;
        remove_stale(&parent);
        let temp = reserve(&parent, &label(&self.destination));
        let written = fs::File::create(&temp)
            .map_err(|e| ModelError::io(&temp, e))
            .and_then(|file| {
                let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
                fill(&mut writer, &temp)?;
                let file = writer
                    .into_inner()
                    .map_err(|e| ModelError::io(&temp, e.into_error()))?;
                file.sync_all().map_err(|e| ModelError::io(&temp, e))
            })
            .and_then(|()| set_mode(&temp, 0o644))
            .and_then(|()| {
                commit(&temp, || {
                    // After a hard link the temporary is a second name: gone with it.
                    let placed = self.place(&temp);
                    let _ = fs::remove_file(&temp);
                    placed
                })
            });
        let _ = fs::remove_file(&temp);
        release(&temp);
        written.map(|()| self.destination)
    }

    /// Moves the finished temporary into place: a rename when replacing is
    /// allowed, else a hard link, which fails rather than replace a file that
    /// appeared since [`OutputFile::create`].
    fn place(&self, temp: &Path) -> Result<()> {
        let dest = &self.destination;
        if self.force {
            return fs::rename(temp, dest).map_err(|e| ModelError::io(dest, e));
        }
        match fs::hard_link(temp, dest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(ModelError::Usage(format!(
                    "{} appeared while retarget was working; pass --force to overwrite it",
                    dest.display()
                )))
            }
            // A file system without hard links: rename, having checked again.
            Err(_) if !dest.exists() => fs::rename(temp, dest).map_err(|e| ModelError::io(dest, e)),
            Err(e) => Err(ModelError::io(dest, e)),
        }
    }
}

/// Writes `bytes` to `path` (replacing it) through a temporary file in the
/// same folder and a rename, so that `path` never holds a partial file
/// (mode 0644). For retarget's own files, such as caches.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    OutputFile::create(path, &[], true)?.write(bytes).map(drop)
}

/// A scratch folder (named like every temporary, so that a killed run's is
/// removed later), removed with its contents when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Creates a scratch folder (mode 0755) inside `parent` (created if
    /// needed), named after `label`, having removed the stale temporaries
    /// of killed runs there.
    pub fn new(parent: &Path, label: &str) -> Result<Self> {
        fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
        remove_stale(parent);
        let scratch = ScratchDir {
            path: reserve(parent, label),
        };
        fs::create_dir(&scratch.path).map_err(|e| ModelError::io(&scratch.path, e))?;
        set_mode(&scratch.path, 0o755)?;
        Ok(scratch)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        release(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn atomic_file_writes_leave_only_the_finished_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logits.safetensors");
        write_file_atomically(&path, b"first").unwrap();
        write_file_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(names(dir.path()), ["logits.safetensors"]);
        let missing = dir.path().join("no-such-folder").join("x");
        assert!(write_file_atomically(&missing, b"x").is_err());
    }

    #[test]
    fn output_files_never_touch_inputs_or_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        fs::create_dir(&model).unwrap();
        fs::write(model.join("model.safetensors"), b"weights").unwrap();
        let input = dir.path().join("lines.txt");
        fs::write(&input, b"text").unwrap();
        let link = dir.path().join("hard-link.txt");
        fs::hard_link(&input, &link).unwrap();
        let symlink = dir.path().join("sym.txt");
        std::os::unix::fs::symlink(&input, &symlink).unwrap();
        let inputs = [model.as_path(), input.as_path()];
        for (dest, force, message) in [
            (
                model.join("model.safetensors"),
                true,
                "inside the input folder",
            ),
            (model.join("new.bin"), true, "inside the input folder"),
            (input.clone(), true, "is the input"),
            (link.clone(), true, "is the input"),
            (symlink.clone(), true, "is the input"),
            (dir.path().join("model/../lines.txt"), true, "is the input"),
            (dir.path().to_path_buf(), true, "is a folder"),
            (dir.path().join("nowhere/x.txt"), false, "does not exist"),
        ] {
            let err = OutputFile::create(&dest, &inputs, force).unwrap_err();
            assert!(err.is_bad_input());
            assert!(err.to_string().contains(message), "{dest:?}: {err}");
        }
        assert_eq!(
            fs::read(model.join("model.safetensors")).unwrap(),
            b"weights"
        );
        assert_eq!(fs::read(&input).unwrap(), b"text");

        let existing = dir.path().join("out.txt");
        fs::write(&existing, b"keep").unwrap();
        let err = OutputFile::create(&existing, &inputs, false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        let out = OutputFile::create(&existing, &inputs, true).unwrap();
        out.write(b"new").unwrap();
        assert_eq!(fs::read(&existing).unwrap(), b"new");

        // A file that appears between the check and the write is not replaced.
        let late = dir.path().join("late.txt");
        let out = OutputFile::create(&late, &inputs, false).unwrap();
        fs::write(&late, b"someone else's").unwrap();
        assert!(out.write(b"mine").is_err());
        assert_eq!(fs::read(&late).unwrap(), b"someone else's");
        assert!(!names(dir.path())
            .iter()
            .any(|n| n.contains("retarget-partial")));
    }

    #[test]
    fn dangling_links_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("out");
        std::os::unix::fs::symlink(dir.path().join("gone"), &link).unwrap();
        let err = OutputDir::create(&link, &[]).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = OutputFile::create(&link, &[], true).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[test]
    fn scratch_folders_are_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = ScratchDir::new(dir.path(), "adapt").unwrap();
        fs::write(scratch.path().join("corpus.txt"), b"x").unwrap();
        let name = scratch
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(name.starts_with(".adapt.retarget-partial-"), "{name}");
        drop(scratch);
        assert!(names(dir.path()).is_empty());
    }
}
