//! The temporaries behind every output: their names, the ones this process
//! holds (so a signal handler can remove them), and the removal of stale ones
//! left by processes that were killed.
//!
//! Every temporary is a hidden entry beside its destination named
//! `.{label}.retarget-partial-{pid}-{n}`: the owning process id in the name is
//! what lets a later run tell a stale temporary from one still being written.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The mark every temporary's name carries, followed by its owner's process id.
const MARK: &str = ".retarget-partial-";

/// Temporaries this process created and has neither committed nor removed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Makes names unique within this process.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh temporary path in `parent` for `label`, registered as live until
/// [`release`] is called with it.
pub(crate) fn reserve(parent: &Path, label: &str) -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = parent.join(format!(".{label}{MARK}{}-{n}", std::process::id()));
    live().push(path.clone());
    path
}

/// Forgets `path` (removed by its owner).
pub(crate) fn release(path: &Path) {
    live().retain(|p| p != path);
}

/// Moves the temporary `path` into place with `place` and forgets it, as one
/// step that a signal cannot split: the signal handler holds the same lock
/// from before it removes the temporaries until the process has exited, so a
/// temporary is either renamed whole or removed, never half-removed and then
/// renamed.
pub(crate) fn commit<T>(path: &Path, place: impl FnOnce() -> T) -> T {
    let mut live = live();
    let placed = place();
    live.retain(|p| p != path);
    placed
}

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves the list itself intact.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every temporary this process still holds and exits with `code`.
/// Meant for a signal handler (SIGINT, SIGTERM): the outputs being written
/// are abandoned, and nothing of them stays on disk. The list stays locked
/// until the process is gone, so no output is committed meanwhile.
pub fn remove_live_temporaries_and_exit(code: i32) -> ! {
    let live = live();
    for path in live.iter() {
        // A writer may still be adding files while we remove: retry a little.
        for _ in 0..5 {
            if remove_any(path).is_ok() || fs::symlink_metadata(path).is_err() {
                break;
            }
        }
    }
    std::process::exit(code)
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    }
}

/// The process id a temporary's file name says owns it.
fn owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let start = name.rfind(MARK)? + MARK.len();
    let digits: String = name[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Whether process `pid` still exists.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        // Without /proc there is no cheap, dependency-free check: keep it.
        true
    }
}

/// Removes the temporaries in `parent` whose owning process no longer exists
/// (left by a process that was killed), saying so on standard error, and
/// returns them. Entries that cannot be read or removed are left alone.
pub fn remove_stale(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner) else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        let path = entry.path();
        if remove_any(&path).is_ok() {
            eprintln!(
                "note: removed {}, left by process {pid} which no longer runs",
                path.display()
            );
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_read_from_old_and_new_names() {
        assert_eq!(owner(".out.retarget-partial-1234"), Some(1234));
        assert_eq!(owner(".out.retarget-partial-1234-7"), Some(1234));
        assert_eq!(owner(".a.retarget-partial-x.retarget-partial-9-0"), Some(9));
        assert_eq!(owner("out.retarget-partial-1234"), None);
        assert_eq!(owner(".out.retarget-partial-"), None);
        assert_eq!(owner(".model.safetensors"), None);
    }

    /// The id of a process that has ended.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn stale_temporaries_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale_dir = dir.path().join(format!(".out.retarget-partial-{dead}"));
        fs::create_dir(&stale_dir).unwrap();
        fs::write(stale_dir.join("model.safetensors"), b"half").unwrap();
        let stale_file = dir.path().join(format!(".x.txt.retarget-partial-{dead}-3"));
        fs::write(&stale_file, b"half").unwrap();
        let mine = reserve(dir.path(), "mine");
        fs::create_dir(&mine).unwrap();
        let user = dir.path().join("out.retarget-partial-1");
        fs::write(&user, b"a user's file").unwrap();
        let mut removed = remove_stale(dir.path());
        removed.sort();
        let mut expected = vec![stale_dir, stale_file];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(mine.exists() && user.exists());
        assert!(live().contains(&mine));
        release(&mine);
        assert!(!live().contains(&mine));
    }
}
