//! What a drive still owes the bucket, kept beside its cache so that a killed agent finishes
//! it at the next start: a file with changes not uploaded (`pending/<inode>`, its bytes in
//! `data/<inode>`), the multipart upload of such a file under way (`uploads/<inode>`: its
//! upload id and the parts sent, so the next start sends only the others), and a folder
//! rename still moving objects (`renames/<id>`). Each record is written whole (a temporary
//! file renamed over it). The agent being killed loses none; a power cut may lose what the
//! page cache held, as for any unsynced write.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::cachefile::SealedAs;
use super::remote::{PartLog, Progress};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    /// The key the bytes go to.
    pub key: String,
    /// Its relative path, for file states.
    pub rel: String,
    /// How its cache file is sealed (`localCacheEncrypted`); absent: plain.
    #[serde(default)]
    pub sealed: Option<SealedAs>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

/// A pending upload left by an earlier run, its bytes moved out of the way of this run's.
pub struct Recovered {
    pub pending: Pending,
    pub data: PathBuf,
    record: PathBuf,
    /// Its multipart upload's progress (`<record>.upload`), when one was under way: its bytes
    /// were set aside when the run that sent the parts ended, so it resumes.
    pub progress: ProgressFile,
}

impl Recovered {
    pub fn done(self) {
        let _ = std::fs::remove_file(&self.data);
        let _ = std::fs::remove_file(&self.record);
        self.progress.forget();
    }
}

/// A multipart upload's [`Progress`] kept in a file of its own.
pub struct ProgressFile {
    path: PathBuf,
    /// Whether the file being uploaded stays as it is until the upload is done.
    resumable: bool,
}

impl ProgressFile {
    pub fn new(path: PathBuf, resumable: bool) -> ProgressFile {
        ProgressFile { path, resumable }
    }
}

impl PartLog for ProgressFile {
    fn earlier(&self) -> Option<Progress> {
        read(&self.path)
    }

    fn resumable(&self) -> bool {
        self.resumable
    }

    fn record(&self, progress: &Progress) {
        write_json(&self.path, progress);
    }

    fn forget(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The uploads whose progress files are in `dir`, each file removed as it is read: what a
/// killed run left, to abort.
pub fn left_uploads(dir: &Path) -> Vec<Progress> {
    records(dir)
        .into_iter()
        .filter_map(|p| {
            let progress = read(&p);
            let _ = std::fs::remove_file(&p);
            progress
        })
        .collect()
}

/// What an earlier run left: pending uploads, and unfinished renames by id.
pub struct Left {
    pub recovered: Vec<Recovered>,
    pub renames: Vec<(u64, Rename)>,
    /// Multipart uploads of files no longer pending, to abort.
    pub abandoned: Vec<Progress>,
}

pub struct Intents {
    root: PathBuf,
    next: AtomicU64,
}

fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// Writes `value` whole at `path`; a failure only costs a resumption.
fn write_json<T: Serialize>(path: &Path, value: &T) {
    let written = serde_json::to_vec(value)
        .map_err(std::io::Error::other)
        .and_then(|bytes| write_whole(path, &bytes));
    if let Err(e) = written {
        tracing::debug!(path = %path.display(), "cannot keep an upload's progress: {e}");
    }
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Removes the temporary files of records a killed run was writing: never renamed into
/// place, they were never kept.
fn drop_half_written(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_some_and(|e| e == "tmp") {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn records(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

impl Intents {
    pub fn new(cache_dir: &Path) -> Intents {
        Intents {
            root: cache_dir.to_path_buf(),
            next: AtomicU64::new(0),
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Makes the folders; hands back what an earlier run left: its pending uploads (their
    /// bytes moved to `recovered/`) and its unfinished renames. Then empties `data/`.
    pub fn open(&self) -> std::io::Result<Left> {
        for d in ["pending", "uploads", "renames", "recovered", "data"] {
            std::fs::create_dir_all(self.dir(d))?;
            drop_half_written(&self.dir(d));
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, record) in records(&self.dir("pending")).into_iter().enumerate() {
            let Some(ino) = record
                .file_stem()
                .and_then(|s| s.to_str())
                .map(String::from)
            else {
                continue;
            };
            let name = format!("{stamp}-{i}");
            let data = self.dir("data").join(&ino);
            let progress = self.upload_record(&ino);
            if data.exists() {
                std::fs::rename(&data, self.dir("recovered").join(&name))?;
                if progress.exists() {
                    std::fs::rename(
                        &progress,
                        self.dir("recovered").join(format!("{name}.upload")),
                    )?;
                }
                std::fs::rename(&record, self.dir("recovered").join(format!("{name}.json")))?;
            } else {
                std::fs::remove_file(&record)?;
            }
        }
        let abandoned = left_uploads(&self.dir("uploads"));
        let recovered = records(&self.dir("recovered"))
            .into_iter()
            .filter_map(|record| {
                Some(Recovered {
                    pending: read(&record)?,
                    data: record.with_extension(""),
                    progress: ProgressFile::new(record.with_extension("upload"), true),
                    record,
                })
            })
            .collect();
        let renames: Vec<(u64, Rename)> = records(&self.dir("renames"))
            .into_iter()
            .filter_map(|p| {
                let id = p.file_stem()?.to_str()?.parse().ok()?;
                Some((id, read(&p)?))
            })
            .collect();
        let next = renames.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
        self.next.store(next, Ordering::Relaxed);
        std::fs::remove_dir_all(self.dir("data"))?;
        std::fs::create_dir_all(self.dir("data"))?;
        Ok(Left {
            recovered,
            renames,
            abandoned,
        })
    }

    fn upload_record(&self, ino: &str) -> PathBuf {
        self.dir("uploads").join(format!("{ino}.json"))
    }

    /// Keeps the progress of `ino`'s multipart upload.
    pub fn record_upload(&self, ino: u64, progress: &Progress) {
        write_json(&self.upload_record(&ino.to_string()), progress);
    }

    /// The progress `ino`'s last upload left, if any.
    pub fn upload_of(&self, ino: u64) -> Option<Progress> {
        read(&self.upload_record(&ino.to_string()))
    }

    /// Forgets `ino`'s upload progress (done, given up, or no longer about its bytes).
    pub fn clear_upload(&self, ino: u64) {
        let _ = std::fs::remove_file(self.upload_record(&ino.to_string()));
    }

    pub fn record(&self, ino: u64, pending: &Pending) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(pending).map_err(std::io::Error::other)?;
        write_whole(&self.dir("pending").join(format!("{ino}.json")), &bytes)
    }

    pub fn clear(&self, ino: u64) {
        let _ = std::fs::remove_file(self.dir("pending").join(format!("{ino}.json")));
    }

    pub fn record_rename(&self, from: &str, to: &str) -> std::io::Result<u64> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let rename = Rename {
            from: from.to_string(),
            to: to.to_string(),
        };
        let bytes = serde_json::to_vec(&rename).map_err(std::io::Error::other)?;
        write_whole(&self.dir("renames").join(format!("{id:020}.json")), &bytes)?;
        Ok(id)
    }

    pub fn clear_rename(&self, id: u64) {
        let _ = std::fs::remove_file(self.dir("renames").join(format!("{id:020}.json")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record a killed run was writing (its temporary file) is dropped at the next start;
    /// the records it had written stay.
    #[test]
    fn half_written_records_of_a_killed_run_are_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let intents = Intents::new(tmp.path());
        intents.open().unwrap();
        intents.record_rename("a/", "b/").unwrap();
        std::fs::write(tmp.path().join("uploads/7.tmp"), b"{\"key\":").unwrap();
        std::fs::write(tmp.path().join("renames/9.tmp"), b"{").unwrap();
        let left = Intents::new(tmp.path()).open().unwrap();
        assert_eq!(left.renames.len(), 1);
        for dir in ["uploads", "renames"] {
            let names: Vec<_> = std::fs::read_dir(tmp.path().join(dir))
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .collect();
            assert!(
                names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
                "{dir}: {names:?}"
            );
        }
    }
}
