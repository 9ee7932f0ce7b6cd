//! The machine's file system for the local-folder routes (the core's [`LocalFiles`] port),
//! and the check every local path of the agent passes: inside a root once links are resolved.

use std::path::{Path, PathBuf};

use click_core::ports::{LocalEntry, LocalError, LocalFiles};

use crate::ports::blocking;

/// `path` with links resolved, if it is inside a root. A path that does not exist yet (a
/// download target) is checked through its parent.
pub fn inside_roots(
    roots: &[PathBuf],
    path: &Path,
    may_not_exist: bool,
) -> Result<PathBuf, String> {
    let resolved = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(_) if may_not_exist => {
            let parent = path.parent().ok_or("the local path has no parent folder")?;
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            let name = path.file_name().ok_or("the local path has no file name")?;
            std::fs::canonicalize(parent)
                .map_err(|e| format!("{}: {e}", parent.display()))?
                .join(name)
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if roots.iter().any(|r| resolved.starts_with(r)) {
        Ok(resolved)
    } else {
        Err(format!(
            "{} is outside the folders the agent may use",
            resolved.display()
        ))
    }
}

/// [`LocalFiles`] over the OS, limited to the roots (resolved once at start).
pub struct DesktopFiles {
    roots: Vec<PathBuf>,
}

impl DesktopFiles {
    pub fn new(roots: &[PathBuf]) -> DesktopFiles {
        DesktopFiles {
            roots: roots
                .iter()
                .filter_map(|r| std::fs::canonicalize(r).ok())
                .collect(),
        }
    }

    fn resolve(&self, path: &str) -> Result<PathBuf, LocalError> {
        match std::fs::canonicalize(path) {
            Ok(p) if self.roots.iter().any(|r| p.starts_with(r)) => Ok(p),
            Ok(_) => Err(LocalError::Outside),
            Err(e) => Err(os_error(e)),
        }
    }
}

fn os_error(e: std::io::Error) -> LocalError {
    match e.kind() {
        std::io::ErrorKind::NotFound => LocalError::NotFound,
        std::io::ErrorKind::AlreadyExists => LocalError::Exists,
        _ => LocalError::Failed(e.to_string()),
    }
}

/// File systems that hold no user files: not worth showing as drives.
const PSEUDO: [&str; 18] = [
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "cgroup",
    "cgroup2",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
];

fn linux_mount_points() -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mounts") else {
        return vec!["/".to_string()];
    };
    let mut out: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            // /proc/mounts escapes spaces and tabs in octal.
            let point = point.replace("\\040", " ").replace("\\011", "\t");
            (!PSEUDO.contains(&kind)).then_some(point)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl LocalFiles for DesktopFiles {
    fn home(&self) -> Option<String> {
        dirs::home_dir().map(|h| h.display().to_string())
    }

    fn mount_points(&self) -> Vec<String> {
        blocking(linux_mount_points)
    }

    fn list(&self, path: &str) -> Result<Vec<LocalEntry>, LocalError> {
        blocking(|| {
            let dir = self.resolve(path)?;
            let mut out = Vec::new();
            for entry in std::fs::read_dir(&dir).map_err(os_error)? {
                let entry = entry.map_err(os_error)?;
                // A link is shown as what it points to; a dangling one is left out.
                let Ok(meta) = std::fs::metadata(entry.path()) else {
                    continue;
                };
                out.push(LocalEntry {
                    name: entry.file_name().to_string_lossy().into_owned(),
                    is_dir: meta.is_dir(),
                });
            }
            Ok(out)
        })
    }

    fn make_dir(&self, path: &str) -> Result<(), LocalError> {
        blocking(|| {
            let path = Path::new(path);
            let parent = path.parent().ok_or(LocalError::NotFound)?;
            let name = path.file_name().ok_or(LocalError::NotFound)?;
            let parent = self.resolve(&parent.display().to_string())?;
            std::fs::create_dir(parent.join(name)).map_err(os_error)
        })
    }
}
