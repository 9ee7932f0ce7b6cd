//! The cache files of a mounted drive: `data/<inode>` under its cache folder, one sparse file
//! per file holding the bytes fetched or written at their offsets. With `localCacheEncrypted`
//! a cache file holds sealed units instead (the core's `drives::sealed` cache blocks): the
//! plaintext is cut in [`UNIT`]-byte units (the file's last one shorter), unit `i` is sealed
//! as block `{file: inode, generation: the run's epoch, index: i}` and stored at
//! `i * (UNIT + 40)`, so a hole never opens and a unit never opens at another place. Units
//! are small so that a write re-seals little: a write that covers whole units reads nothing,
//! one that covers part of a unit re-seals that unit.
//!
//! [`CacheFiles`] is what the drive reads and writes through; [`Local`] reads one file's
//! plaintext for an upload (a cache file, a recovered one, or any plain file).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use click_core::drives::sealed::{self, BLOCK_OVERHEAD, BlockId, DriveKey};
use click_core::ports::RngExt;
use serde::{Deserialize, Serialize};

use crate::ports::OsRng;

/// Plaintext bytes per sealed unit.
pub const UNIT: u64 = 64 * 1024;
/// Cache files kept open at once (all are closed when more are needed).
const FILES_KEPT_OPEN: usize = 256;
/// Zeros written at a time when a file grows.
const GROWTH_STEP: u64 = 1 << 20;

/// How a sealed cache file's units are bound: the `file_id` and `generation` of their
/// [`BlockId`]s. Kept with a pending upload, so that the next run opens what this one left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedAs {
    pub file_id: u64,
    pub generation: u64,
}

/// A cache file's sealing: the drive's cache key and where its units belong.
#[derive(Clone)]
struct Seal {
    key: DriveKey,
    at: SealedAs,
}

impl Seal {
    fn id(&self, index: u64) -> BlockId {
        BlockId {
            file_id: self.at.file_id,
            generation: self.at.generation,
            index,
        }
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// Where unit `index` starts in a sealed file.
fn slot(index: u64) -> u64 {
    sealed::sealed_block_offset(UNIT, index)
}

/// Bytes a sealed file of `plain` plaintext bytes takes.
pub fn sealed_len(plain: u64) -> u64 {
    let rest = plain % UNIT;
    slot(plain / UNIT) + if rest > 0 { rest + BLOCK_OVERHEAD } else { 0 }
}

/// Plaintext bytes of a sealed file of `stored` bytes.
fn plain_len(stored: u64) -> u64 {
    let full = stored / (UNIT + BLOCK_OVERHEAD);
    let rest = stored % (UNIT + BLOCK_OVERHEAD);
    full * UNIT + rest.saturating_sub(BLOCK_OVERHEAD)
}

/// Plaintext bytes of unit `index` of a file of `size` bytes.
fn unit_len(size: u64, index: u64) -> u64 {
    size.saturating_sub(index * UNIT).min(UNIT)
}

/// One cache file opened for reading and writing, sealed or not.
struct Opened<'a> {
    file: &'a File,
    seal: Option<&'a Seal>,
}

impl Opened<'_> {
    /// Plaintext `offset..end` of a file of `size` bytes.
    fn read(&self, size: u64, offset: u64, end: u64) -> std::io::Result<Vec<u8>> {
        let Some(seal) = self.seal else {
            let mut buf = vec![0u8; (end - offset) as usize];
            self.file.read_exact_at(&mut buf, offset)?;
            return Ok(buf);
        };
        let (first, last) = (offset / UNIT, end.div_ceil(UNIT));
        if first >= last {
            return Ok(Vec::new());
        }
        let from = slot(first);
        let to = slot(last - 1) + unit_len(size, last - 1) + BLOCK_OVERHEAD;
        let mut stored = vec![0u8; (to - from) as usize];
        self.file.read_exact_at(&mut stored, from)?;
        let mut out = Vec::with_capacity((end - offset) as usize);
        for index in first..last {
            let at = (slot(index) - from) as usize;
            let len = (unit_len(size, index) + BLOCK_OVERHEAD) as usize;
            let plain = sealed::open_block(&seal.key, seal.id(index), &stored[at..at + len])
                .ok_or_else(|| invalid("a sealed cache unit does not open"))?;
            let lo = offset.saturating_sub(index * UNIT) as usize;
            let hi = ((end - index * UNIT) as usize).min(plain.len());
            out.extend_from_slice(&plain[lo..hi]);
        }
        Ok(out)
    }

    /// Writes `data` at `offset` of a file of `size` bytes (growing it as needed, the gap
    /// zeros).
    fn write(&self, size: u64, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let Some(seal) = self.seal else {
            return self.file.write_all_at(data, offset);
        };
        if offset > size {
            self.grow(size, offset)?;
            return self.write(offset, offset, data);
        }
        let end = offset + data.len() as u64;
        let new_size = size.max(end);
        let (first, last) = (offset / UNIT, end.div_ceil(UNIT));
        let mut out = Vec::with_capacity((slot(last) - slot(first)) as usize);
        for index in first..last {
            let lo = index * UNIT;
            let len = unit_len(new_size, index);
            let mut plain = if offset <= lo && end >= lo + len {
                Vec::new()
            } else {
                let old = unit_len(size, index);
                let mut p = self.read(size, lo, lo + old)?;
                p.resize(len as usize, 0);
                p
            };
            let (from, to) = (offset.max(lo), end.min(lo + len));
            let src = &data[(from - offset) as usize..(to - offset) as usize];
            if plain.is_empty() {
                plain.extend_from_slice(src);
            } else {
                plain[(from - lo) as usize..(to - lo) as usize].copy_from_slice(src);
            }
            out.extend_from_slice(&sealed::seal_block(
                &seal.key,
                seal.id(index),
                &plain,
                OsRng.bytes(),
            ));
        }
        self.file.write_all_at(&out, slot(first))
    }

    /// Zeros from `size` up to `new_size`, written a step at a time.
    fn grow(&self, size: u64, new_size: u64) -> std::io::Result<()> {
        let mut at = size;
        while at < new_size {
            let n = GROWTH_STEP.min(new_size - at);
            self.write(at, at, &vec![0; n as usize])?;
            at += n;
        }
        Ok(())
    }

    /// Cuts or extends a file of `size` bytes to `new_size`.
    fn set_len(&self, size: u64, new_size: u64) -> std::io::Result<()> {
        let Some(_) = self.seal else {
            return self.file.set_len(new_size);
        };
        if new_size >= size {
            return self.grow(size, new_size);
        }
        let index = new_size / UNIT;
        if !new_size.is_multiple_of(UNIT) {
            let kept = self.read(size, index * UNIT, new_size)?;
            self.file.set_len(slot(index))?;
            self.write(index * UNIT, index * UNIT, &kept)?;
        }
        self.file.set_len(sealed_len(new_size))
    }

    /// Makes plaintext `start..start+len` a hole: the whole units inside it.
    fn punch(&self, start: u64, len: u64) {
        let range = match self.seal {
            None => (start, len),
            Some(_) => {
                let (first, last) = (start.div_ceil(UNIT), (start + len) / UNIT);
                if first >= last {
                    return;
                }
                (slot(first), slot(last) - slot(first))
            }
        };
        punch_hole(self.file, range.0, range.1);
    }
}

/// The cache files of one mounted drive.
pub struct CacheFiles {
    dir: PathBuf,
    key: DriveKey,
    /// Where this run's units belong, when the drive seals its cache; `generation` is this
    /// run's epoch (random), `file_id` is left 0 and set per file.
    sealing: Option<SealedAs>,
    /// Taken to write a sealed file and to read one, so that no reader sees a unit half
    /// rewritten (which would not open).
    units: Arc<RwLock<()>>,
    /// Files kept open (a read is then one system call, not three). Every removal goes
    /// through [`CacheFiles::remove`], which closes the file first.
    open: Mutex<HashMap<u64, Arc<File>>>,
}

impl CacheFiles {
    /// The files under `dir`; sealed under `key` when `sealed`.
    pub fn new(dir: PathBuf, key: DriveKey, sealed: bool) -> CacheFiles {
        CacheFiles {
            dir,
            key,
            sealing: sealed.then(|| SealedAs {
                file_id: 0,
                generation: u64::from_le_bytes(OsRng.bytes()),
            }),
            units: Arc::default(),
            open: Mutex::default(),
        }
    }

    fn path(&self, ino: u64) -> PathBuf {
        self.dir.join(ino.to_string())
    }

    /// How `ino`'s cache file is sealed, if it is.
    pub fn sealed_as(&self, ino: u64) -> Option<SealedAs> {
        self.sealing.map(|s| SealedAs {
            file_id: ino,
            generation: s.generation,
        })
    }

    /// `ino`'s file, opened (made, if new) once and kept.
    fn file(&self, ino: u64) -> std::io::Result<Arc<File>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = open.get(&ino) {
            return Ok(f.clone());
        }
        let file = Arc::new(
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(self.path(ino))?,
        );
        if open.len() >= FILES_KEPT_OPEN {
            open.clear();
        }
        open.insert(ino, file.clone());
        Ok(file)
    }

    fn with<T>(
        &self,
        ino: u64,
        f: impl FnOnce(&Opened<'_>) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let file = self.file(ino)?;
        let seal = self.sealed_as(ino).map(|at| Seal {
            key: self.key.clone(),
            at,
        });
        f(&Opened {
            file: &file,
            seal: seal.as_ref(),
        })
    }

    /// Plaintext `offset..end` of `ino`, a file of `size` bytes.
    pub fn read(&self, ino: u64, size: u64, offset: u64, end: u64) -> std::io::Result<Vec<u8>> {
        let _units = self.units.read().unwrap_or_else(|e| e.into_inner());
        self.with(ino, |f| f.read(size, offset, end))
    }

    /// Writes `data` at `offset` of `ino`, a file of `size` bytes before the write.
    pub fn write(&self, ino: u64, size: u64, offset: u64, data: &[u8]) -> std::io::Result<()> {
        let _units = self.units.write().unwrap_or_else(|e| e.into_inner());
        self.with(ino, |f| f.write(size, offset, data))
    }

    /// Writes a block no reader can see yet (one being fetched) at `offset`: whole units,
    /// the file's last one ending it, so nothing is read back and no lock is needed (blocks
    /// fetched side by side are sealed side by side).
    pub fn fill(&self, ino: u64, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.with(ino, |f| f.write(offset, offset, data))
    }

    /// Sets the length of `ino`, a file of `size` bytes, to `new_size`.
    pub fn set_len(&self, ino: u64, size: u64, new_size: u64) -> std::io::Result<()> {
        let _units = self.units.write().unwrap_or_else(|e| e.into_inner());
        self.with(ino, |f| f.set_len(size, new_size))
    }

    /// Makes sure `ino`'s cache file is as long as a file of `size` bytes (its blocks may
    /// be holes).
    pub fn reach(&self, ino: u64, size: u64) -> std::io::Result<()> {
        let stored = match self.sealing {
            Some(_) => sealed_len(size),
            None => size,
        };
        self.with(ino, |f| {
            if f.file.metadata()?.len() < stored {
                f.file.set_len(stored)?;
            }
            Ok(())
        })
    }

    /// Makes plaintext bytes `start..start+len` of `ino` a hole, if its file exists.
    pub fn punch(&self, ino: u64, start: u64, len: u64) {
        if !self.path(ino).exists() {
            return;
        }
        let _ = self.with(ino, |f| {
            f.punch(start, len);
            Ok(())
        });
    }

    pub fn remove(&self, ino: u64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&ino);
        let _ = std::fs::remove_file(self.path(ino));
    }

    /// `ino`'s plaintext, for an upload.
    pub fn local(&self, ino: u64) -> Local {
        Local {
            path: self.path(ino),
            seal: self.sealed_as(ino).map(|at| Seal {
                key: self.key.clone(),
                at,
            }),
            units: self.units.clone(),
        }
    }

    /// The plaintext of a file an earlier run left at `path`, sealed as `sealed_as` says.
    pub fn left(&self, path: PathBuf, sealed_as: Option<SealedAs>) -> Local {
        Local {
            path,
            seal: sealed_as.map(|at| Seal {
                key: self.key.clone(),
                at,
            }),
            units: Arc::default(),
        }
    }
}

/// One file's plaintext, read for an upload.
#[derive(Clone)]
pub struct Local {
    path: PathBuf,
    seal: Option<Seal>,
    units: Arc<RwLock<()>>,
}

impl Local {
    /// A plain file.
    pub fn plain(path: &Path) -> Local {
        Local {
            path: path.to_path_buf(),
            seal: None,
            units: Arc::default(),
        }
    }

    /// Plaintext bytes of the file.
    pub async fn len(&self) -> Result<u64, String> {
        let stored = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| e.to_string())?
            .len();
        Ok(self.plain_of(stored))
    }

    fn plain_of(&self, stored: u64) -> u64 {
        match self.seal {
            Some(_) => plain_len(stored),
            None => stored,
        }
    }

    /// Plaintext bytes `start..start+len`. A small read runs on the calling task: the
    /// blocking pool's round trip (two thread wake-ups) costs more than reading a few pages,
    /// and a backup of small files makes one per file.
    pub async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, String> {
        if len <= INLINE_READ {
            return self.read_now(start, len);
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.read_now(start, len))
            .await
            .map_err(|e| e.to_string())?
    }

    fn read_now(&self, start: u64, len: u64) -> Result<Vec<u8>, String> {
        let _units = self.units.read().unwrap_or_else(|e| e.into_inner());
        let file = File::open(&self.path).map_err(|e| e.to_string())?;
        let stored = file.metadata().map_err(|e| e.to_string())?.len();
        let size = self.plain_of(stored);
        let opened = Opened {
            file: &file,
            seal: self.seal.as_ref(),
        };
        opened
            .read(size, start, start + len)
            .map_err(|e| e.to_string())
    }
}

/// The largest read [`Local::read`] makes without the blocking pool.
const INLINE_READ: u64 = 64 * 1024;

fn punch_hole(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on a file descriptor this function borrows for its duration.
    let r = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            len as libc::off_t,
        )
    };
    if r != 0 {
        tracing::debug!(
            "cannot punch a hole in a cache file: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(sealed: bool) -> (tempfile::TempDir, CacheFiles) {
        let dir = tempfile::tempdir().unwrap();
        let files = CacheFiles::new(dir.path().to_path_buf(), DriveKey::new([7; 32]), sealed);
        (dir, files)
    }

    /// A deterministic pseudo-random byte pattern.
    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
            .collect()
    }

    /// The same writes, truncations and reads on a sealed file and on a plain model agree.
    #[test]
    fn sealed_files_read_back_what_was_written() {
        let (_dir, files) = files(true);
        let mut model: Vec<u8> = Vec::new();
        let u = UNIT as usize;
        let writes: [(usize, usize); 8] = [
            (0, 10),
            (5, 3 * u),
            (3 * u + 7, 100),
            (u - 1, 2),
            (5 * u + 3, u),
            (2, 4 * u),
            (7 * u, 7 * u),
            (u, 1),
        ];
        for (i, (offset, len)) in writes.into_iter().enumerate() {
            let data = pattern(len, i as u8);
            files
                .write(1, model.len() as u64, offset as u64, &data)
                .unwrap();
            if model.len() < offset + len {
                model.resize(offset + len, 0);
            }
            model[offset..offset + len].copy_from_slice(&data);
            let size = model.len() as u64;
            assert_eq!(files.read(1, size, 0, size).unwrap(), model);
            assert_eq!(
                std::fs::metadata(files.path(1)).unwrap().len(),
                sealed_len(size)
            );
        }
        for cut in [13 * u + 5, 4 * u, 4 * u - 1, 1, 0] {
            files.set_len(1, model.len() as u64, cut as u64).unwrap();
            model.truncate(cut);
            let size = cut as u64;
            assert_eq!(files.read(1, size, 0, size).unwrap(), model);
            assert_eq!(plain_len(sealed_len(size)), size);
        }
    }

    #[test]
    fn sealed_files_hold_no_plaintext_and_open_only_as_themselves() {
        let (_dir, files) = files(true);
        let data = vec![b'x'; 3 * UNIT as usize];
        files.write(1, 0, 0, &data).unwrap();
        let stored = std::fs::read(files.path(1)).unwrap();
        assert!(!stored.windows(64).any(|w| w == &data[..64]));
        // Another file's id, or a unit moved: the read fails rather than returning them.
        std::fs::copy(files.path(1), files.path(2)).unwrap();
        assert!(files.read(2, data.len() as u64, 0, 10).is_err());
        // A hole (an evicted unit) does not open either.
        files.punch(1, 0, UNIT);
        assert!(files.read(1, data.len() as u64, 0, 10).is_err());
        assert_eq!(
            files.read(1, data.len() as u64, UNIT, UNIT + 10).unwrap(),
            &data[..10]
        );
    }

    #[tokio::test]
    async fn an_upload_reads_the_plaintext_of_a_sealed_file() {
        let (_dir, files) = files(true);
        let data = pattern(2 * UNIT as usize + 99, 3);
        files.write(4, 0, 0, &data).unwrap();
        let local = files.local(4);
        assert_eq!(local.len().await.unwrap(), data.len() as u64);
        assert_eq!(
            local.read(UNIT - 5, UNIT + 50).await.unwrap(),
            &data[UNIT as usize - 5..2 * UNIT as usize + 45]
        );
        let again = files.left(files.path(4), files.sealed_as(4));
        assert_eq!(again.read(0, data.len() as u64).await.unwrap(), data);
        assert!(files.left(files.path(4), None).read(0, 10).await.unwrap() != data[..10]);
    }

    #[test]
    fn plain_files_are_the_bytes() {
        let (_dir, files) = files(false);
        files.write(1, 0, 3, b"abc").unwrap();
        assert_eq!(std::fs::read(files.path(1)).unwrap(), b"\0\0\0abc");
        files.set_len(1, 6, 4).unwrap();
        assert_eq!(files.read(1, 4, 0, 4).unwrap(), b"\0\0\0a");
    }
}
