//! One mounted drive's operations, independent of FUSE: folders listed from the bucket on
//! demand, file data in a sparse cache file per file fetched a block at a time under the
//! core's cache policy, writes kept in the cache file and uploaded after close, renames and
//! deletes carried to the bucket. `fs.rs` calls these from the kernel's requests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use click_core::drives::cache::{CacheFull, CachePolicy, ReadAhead};
use click_core::drives::paths;
use click_core::drives::sealed::DriveKey;
use click_core::drives::state::Flags;
use fuser::Errno;
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::sync::{Notify, Semaphore, watch};

use super::cachefile::CacheFiles;
use super::intents::{Intents, Pending};
use super::remote::{self, Bucket, PartLog, Parts, Progress};
use super::tree::{Kind, Listed, Merged, Node, ROOT, Tree, child_rel};
use crate::cloud::Provider;

/// Bytes fetched per request and accounted per cache entry.
pub const BLOCK: u64 = 1 << 20;
/// Block fetches in flight per drive (a cold sequential read keeps this many ahead).
const FETCHES: usize = 8;
/// Uploads in flight per drive.
const UPLOADS: usize = 8;
/// Keys asked for per listing page.
const PAGE: usize = 1000;

/// What the drive manager decides from the drive's configuration.
#[derive(Clone, Debug)]
pub struct MountSpec {
    pub mount_point: PathBuf,
    pub cache_dir: PathBuf,
    pub bucket: String,
    pub prefix: String,
    pub read_only: bool,
    pub allow_delete: bool,
    pub max_cache_bytes: u64,
    pub rotational_cache: bool,
    pub chunk_size: u64,
    pub concurrent_chunks: usize,
    pub objects_per_folder: usize,
    pub listing_ttl: Duration,
    /// `cloudObjectsEncrypted`: the key the drive's objects are sealed under.
    pub objects_key: Option<DriveKey>,
    /// The key cache files are sealed under: this run's when `cache_encrypted`
    /// (`localCacheEncrypted`), and those an earlier run sealed.
    pub cache_key: DriveKey,
    pub cache_encrypted: bool,
}

/// Where file states go (the core's journal, and from there `/statechange`).
pub trait DriveEvents: Send + Sync {
    fn state(&self, rel: &str, flags: Flags);
    /// A state with the file's size (what the reports count and the history records).
    fn state_sized(&self, rel: &str, flags: Flags, size: u64);
    fn removed(&self, rel: &str);
}

/// The kernel's caches of names, attributes and pages, told when the bucket changed under
/// them (they would keep showing what was there before).
pub trait KernelCache: Send + Sync {
    /// The file's bytes and attributes changed.
    fn file_changed(&self, ino: u64);
    /// `name` in folder `parent` is gone (or is now something else).
    fn entry_gone(&self, parent: u64, name: &str);
}

/// An open file.
struct Handle {
    ino: u64,
    write: bool,
    wrote: bool,
    ahead: ReadAhead,
}

type Fetch = watch::Receiver<Option<Result<(), String>>>;

pub struct Vfs {
    pub spec: MountSpec,
    /// Itself, for work it starts in the background from where it is only borrowed.
    me: Weak<Vfs>,
    prefix: String,
    /// The drive's objects (and the provider's client): what is read and written through it
    /// is plaintext.
    objects: Bucket,
    /// The bytes of files, by inode, as the cache holds them.
    data: CacheFiles,
    events: Arc<dyn DriveEvents>,
    /// Set once the drive is mounted.
    kernel: OnceLock<Box<dyn KernelCache>>,
    tree: Mutex<Tree>,
    cache: Mutex<CachePolicy>,
    fetching: Mutex<HashMap<(u64, u64), Fetch>>,
    /// Held from reading a file's size to recording the size a write or truncation left.
    sizing: Mutex<()>,
    handles: Mutex<HashMap<u64, Handle>>,
    next_fh: AtomicU64,
    /// Files with an upload running; `true`: changed again since it started.
    uploads: Mutex<HashMap<u64, bool>>,
    uploaded: Notify,
    /// Folder renames still moving objects: (old relative path, new).
    renames: Mutex<Vec<(String, String)>>,
    fetch_slots: Semaphore,
    upload_slots: Semaphore,
    pins: Mutex<Vec<String>>,
    intents: Intents,
}

pub type VfsResult<T> = Result<T, Errno>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io(e: std::io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc::EIO))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn cache_key(ino: u64) -> String {
    ino.to_string()
}

/// The blocks covering bytes `start..end`.
fn blocks(start: u64, end: u64) -> std::ops::Range<u64> {
    start / BLOCK..end.div_ceil(BLOCK)
}

impl Vfs {
    /// The drive `spec` describes, shared (its background work holds it).
    pub fn new(spec: MountSpec, provider: Arc<Provider>, events: Arc<dyn DriveEvents>) -> Arc<Vfs> {
        Arc::new_cyclic(|me| Vfs::with(spec, provider, events, me.clone()))
    }

    fn with(
        spec: MountSpec,
        provider: Arc<Provider>,
        events: Arc<dyn DriveEvents>,
        me: Weak<Vfs>,
    ) -> Vfs {
        let cache = CachePolicy::new(spec.max_cache_bytes, spec.rotational_cache, BLOCK);
        let objects = Bucket::new(provider, &spec.bucket, spec.objects_key.clone());
        let data = CacheFiles::new(
            spec.cache_dir.join("data"),
            spec.cache_key.clone(),
            spec.cache_encrypted,
        );
        Vfs {
            me,
            objects,
            data,
            prefix: paths::normalize_prefix(&spec.prefix),
            intents: Intents::new(&spec.cache_dir),
            spec,
            events,
            kernel: OnceLock::new(),
            tree: Mutex::new(Tree::new()),
            cache: Mutex::new(cache),
            fetching: Mutex::default(),
            sizing: Mutex::default(),
            handles: Mutex::default(),
            next_fh: AtomicU64::new(1),
            uploads: Mutex::default(),
            uploaded: Notify::new(),
            renames: Mutex::default(),
            fetch_slots: Semaphore::new(FETCHES),
            upload_slots: Semaphore::new(UPLOADS),
            pins: Mutex::default(),
        }
    }

    /// Bytes the cache holds, uploads running, and block fetches in flight.
    pub fn activity(&self) -> (u64, u64, u64) {
        let cached = lock(&self.cache).used();
        let uploads = lock(&self.uploads).len() as u64;
        let fetches = lock(&self.fetching).len() as u64;
        (cached, uploads, fetches)
    }

    /// Where changes the bucket made are reported to the kernel, once mounted.
    pub fn set_kernel(&self, kernel: Box<dyn KernelCache>) {
        let _ = self.kernel.set(kernel);
    }

    pub fn node(&self, ino: u64) -> VfsResult<Node> {
        lock(&self.tree).get(ino).cloned().ok_or(Errno::ENOENT)
    }

    pub fn child(&self, parent: u64, name: &str) -> Option<u64> {
        lock(&self.tree).child(parent, name)
    }

    /// Finishes what an earlier run left: its pending uploads (before the drive shows, so
    /// that no listing misses them) and its folder renames (in the background).
    pub async fn recover(self: &Arc<Self>) -> std::io::Result<()> {
        let left = self.intents.open()?;
        self.objects.abort_all(left.abandoned).await;
        let renames = left.renames;
        let uploads = left.recovered.into_iter().map(|r| async move {
            let rel = r.pending.rel.clone();
            self.events.state(&rel, Flags::UPLOADING);
            let local = self.data.left(r.data.clone(), r.pending.sealed);
            let sent = self
                .objects
                .upload_file(&r.pending.key, &local, self.parts(), Some(&r.progress))
                .await;
            match sent {
                Ok(()) => {
                    tracing::info!(path = %rel, "finished an upload an earlier run left");
                    self.events.state(&rel, Flags::NORMAL);
                    r.done();
                }
                Err(e) => {
                    tracing::warn!(path = %rel, "an upload an earlier run left failed again, kept for the next start: {e}");
                    self.events.state(&rel, Flags::ERROR);
                }
            }
        });
        stream::iter(uploads)
            .buffer_unordered(UPLOADS)
            .collect::<Vec<()>>()
            .await;
        for (id, rename) in renames {
            let (Some(from), Some(to)) = (
                paths::local_of(&self.prefix, &rename.from),
                paths::local_of(&self.prefix, &rename.to),
            ) else {
                self.intents.clear_rename(id);
                continue;
            };
            lock(&self.renames).push((from.clone(), to.clone()));
            let me = self.clone();
            tokio::spawn(
                async move { me.finish_rename(id, rename.from, rename.to, from, to).await },
            );
        }
        Ok(())
    }

    async fn finish_rename(
        self: Arc<Self>,
        id: u64,
        from: String,
        to: String,
        old_rel: String,
        new_rel: String,
    ) {
        self.events.state(&old_rel, Flags::RENAME_DELETING);
        match self.move_folder(&from, &to).await {
            Ok(()) => {
                self.intents.clear_rename(id);
                self.events.removed(&old_rel);
            }
            Err(e) => {
                tracing::warn!(from = %old_rel, to = %new_rel, "folder rename stopped, resumes at the next start: {e}");
                self.events.state(&old_rel, Flags::ERROR);
            }
        }
        lock(&self.renames).retain(|(o, n)| !(*o == old_rel && *n == new_rel));
        for rel in [&old_rel, &new_rel] {
            self.refresh(rel.rsplit_once('/').map_or("", |(parent, _)| parent));
        }
    }

    pub fn set_mtime(&self, ino: u64, t: SystemTime) -> VfsResult<()> {
        lock(&self.tree).get_mut(ino).ok_or(Errno::ENOENT)?.mtime = t;
        Ok(())
    }

    fn parts(&self) -> Parts {
        Parts {
            size: self.spec.chunk_size,
            concurrency: self.spec.concurrent_chunks,
        }
    }

    fn key_of(&self, rel: &str) -> VfsResult<String> {
        paths::key_of(&self.prefix, rel).ok_or(Errno::EINVAL)
    }

    fn writable(&self) -> VfsResult<()> {
        if self.spec.read_only {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    fn deletable(&self) -> VfsResult<()> {
        self.writable()?;
        if !self.spec.allow_delete {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    // ---- folders

    fn renamed_away(&self, rel: &str) -> bool {
        lock(&self.renames).iter().any(|(old, _)| under(rel, old))
    }

    /// Names in folder `rel` that pending folder renames move things to.
    fn renamed_into(&self, rel: &str) -> Vec<String> {
        lock(&self.renames)
            .iter()
            .filter_map(|(_, new)| {
                let (parent, name) = new.rsplit_once('/').unwrap_or(("", new));
                (parent == rel).then(|| name.to_string())
            })
            .collect()
    }

    /// Where folder `rel` was before a rename still moving it.
    fn renamed_from(&self, rel: &str) -> Option<String> {
        lock(&self.renames)
            .iter()
            .find(|(_, new)| under(rel, new))
            .map(|(old, new)| format!("{old}{}", &rel[new.len()..]))
    }

    fn renaming_into(&self, rel: &str) -> bool {
        lock(&self.renames).iter().any(|(_, new)| under(rel, new))
    }

    /// Fills folder `dir` from the bucket unless its listing is fresher than the drive's TTL
    /// (`force`: always).
    pub async fn list(&self, dir: u64, force: bool) -> VfsResult<()> {
        let rel = {
            let tree = lock(&self.tree);
            let node = tree.get(dir).ok_or(Errno::ENOENT)?;
            if node.kind != Kind::Dir {
                return Err(Errno::ENOTDIR);
            }
            let fresh = node
                .listed
                .is_some_and(|t| t.elapsed() < self.spec.listing_ttl);
            if fresh && !force {
                return Ok(());
            }
            node.rel.clone()
        };
        let folder = paths::folder_key_of(&self.prefix, &rel).ok_or(Errno::EINVAL)?;
        let (mut entries, mut complete) = self.list_remote(&folder).await?;
        // Inside a folder still being moved, what has not moved yet is at its old place.
        if let Some(old) = self.renamed_from(&rel) {
            let old_folder = paths::folder_key_of(&self.prefix, &old).ok_or(Errno::EINVAL)?;
            let (old_entries, old_complete) = self.list_remote(&old_folder).await?;
            complete &= old_complete;
            for e in old_entries {
                if !entries.iter().any(|n| n.name == e.name) {
                    entries.push(e);
                }
            }
        }
        // A folder being renamed shows at its new name even before any object has moved.
        for name in self.renamed_into(&rel) {
            if !entries.iter().any(|e| e.name == name) {
                let key = paths::folder_key_of(&self.prefix, &child_rel(&rel, &name))
                    .ok_or(Errno::EINVAL)?;
                entries.push(Listed {
                    name,
                    kind: Kind::Dir,
                    size: 0,
                    mtime: None,
                    key,
                });
            }
        }
        let entries = entries
            .into_iter()
            .filter(|e| !self.renamed_away(&child_rel(&rel, &e.name)))
            .collect();
        let merged = lock(&self.tree).merge(dir, entries, complete, |n| self.renaming_into(&n.rel));
        self.outdated(merged);
        Ok(())
    }

    /// Drops what the cache and the kernel hold of files the bucket changed or no longer has.
    fn outdated(&self, merged: Merged) {
        let kernel = self.kernel.get();
        for ino in merged.changed {
            // Under the lock readers hold: none reads a block of the old bytes after this.
            let mut cache = lock(&self.cache);
            cache.truncate(&cache_key(ino), 0);
            self.data.remove(ino);
            drop(cache);
            if let Some(k) = kernel {
                k.file_changed(ino);
            }
            // A file kept offline gets its new bytes now, not at its next read.
            let pinned = self.node(ino).is_ok_and(|n| self.pinned(&n.rel));
            if let Some(me) = self.me.upgrade().filter(|_| pinned) {
                tokio::spawn(async move {
                    if let Err(e) = me.hydrate(ino).await {
                        tracing::warn!(ino, "a pinned file cannot be fetched again: {e:?}");
                    }
                });
            }
        }
        for gone in merged.gone {
            for ino in gone.files {
                lock(&self.cache).remove_file(&cache_key(ino));
                self.data.remove(ino);
            }
            if let Some(k) = kernel {
                k.entry_gone(gone.parent, &gone.name);
            }
        }
    }

    async fn list_remote(&self, folder: &str) -> VfsResult<(Vec<Listed>, bool)> {
        let mut out = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let page = self
                .objects
                .provider
                .list_objects(&self.spec.bucket, folder, continuation.as_deref(), PAGE)
                .await
                .map_err(|e| {
                    tracing::warn!(folder, "listing failed: {}", remote::message(e));
                    Errno::EIO
                })?;
            for o in page.objects {
                let Some(rel) = paths::local_of(&self.prefix, &o.key) else {
                    continue;
                };
                let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
                out.push(Listed {
                    name,
                    kind: if o.is_folder { Kind::Dir } else { Kind::File },
                    size: if o.is_folder {
                        0
                    } else {
                        self.objects.plain_size(o.size)
                    },
                    mtime: o.last_modified_ms,
                    key: o.key,
                });
                if out.len() >= self.spec.objects_per_folder {
                    // The drive shows no more than this per folder; what it leaves out is
                    // not proof of anything gone.
                    return Ok((out, false));
                }
            }
            continuation = page.continuation;
            if continuation.is_none() {
                return Ok((out, true));
            }
        }
    }

    /// `name` in `parent` when the folder's listing is fresh enough to answer without the
    /// bucket: `Some(Err(ENOENT))` for a name it does not have; `None` when it must be asked.
    pub fn lookup_listed(&self, parent: u64, name: &str) -> Option<VfsResult<(u64, Node)>> {
        let tree = lock(&self.tree);
        let dir = tree.get(parent)?;
        let fresh = dir
            .listed
            .is_some_and(|t| t.elapsed() < self.spec.listing_ttl);
        if !fresh {
            return None;
        }
        Some(
            dir.children
                .get(name)
                .and_then(|ino| Some((*ino, tree.get(*ino)?.clone())))
                .ok_or(Errno::ENOENT),
        )
    }

    pub async fn lookup(&self, parent: u64, name: &str) -> VfsResult<Node> {
        self.list(parent, false).await?;
        let tree = lock(&self.tree);
        let ino = tree.child(parent, name).ok_or(Errno::ENOENT)?;
        tree.get(ino).cloned().ok_or(Errno::ENOENT)
    }

    /// The node at relative path `rel`, listing the folders on the way as needed.
    pub async fn resolve(&self, rel: &str) -> VfsResult<u64> {
        let mut ino = ROOT;
        for name in rel.split('/').filter(|n| !n.is_empty()) {
            self.lookup(ino, name).await?;
            ino = lock(&self.tree).child(ino, name).ok_or(Errno::ENOENT)?;
        }
        Ok(ino)
    }

    pub async fn children(&self, dir: u64) -> VfsResult<Vec<(u64, Kind, String)>> {
        self.list(dir, false).await?;
        let tree = lock(&self.tree);
        let node = tree.get(dir).ok_or(Errno::ENOENT)?;
        Ok(node
            .children
            .iter()
            .filter_map(|(name, ino)| Some((*ino, tree.get(*ino)?.kind, name.clone())))
            .collect())
    }

    pub async fn mkdir(&self, parent: u64, name: &str) -> VfsResult<Node> {
        self.writable()?;
        let rel = child_rel(&self.node(parent)?.rel, name);
        let key = paths::folder_key_of(&self.prefix, &rel).ok_or(Errno::EINVAL)?;
        if lock(&self.tree).child(parent, name).is_some() {
            return Err(Errno::EEXIST);
        }
        self.objects
            .provider
            .put_empty(&self.spec.bucket, &key)
            .await
            .map_err(|e| self.failed(&rel, e))?;
        let mut tree = lock(&self.tree);
        let ino = tree.insert(parent, name, Kind::Dir);
        let node = tree.get_mut(ino).expect("just made");
        node.listed = Some(Instant::now());
        node.remote_key = Some(key);
        Ok(node.clone())
    }

    pub async fn rmdir(&self, parent: u64, name: &str) -> VfsResult<()> {
        self.deletable()?;
        let dir = self.lookup(parent, name).await?;
        let ino = lock(&self.tree).child(parent, name).ok_or(Errno::ENOENT)?;
        self.list(ino, true).await?;
        if !self.node(ino)?.children.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        let key = paths::folder_key_of(&self.prefix, &dir.rel).ok_or(Errno::EINVAL)?;
        self.events.state(&dir.rel, Flags::DELETING);
        match self.objects.provider.delete(&self.spec.bucket, &key).await {
            Ok(()) | Err(click_core::ports::StorageError::NotFound(_)) => {}
            Err(e) => return Err(self.failed(&dir.rel, e)),
        }
        lock(&self.tree).remove(ino);
        self.events.removed(&dir.rel);
        Ok(())
    }

    fn failed(&self, rel: &str, e: click_core::ports::StorageError) -> Errno {
        tracing::warn!(
            path = rel,
            "the bucket refused: {}",
            remote::message(e.clone())
        );
        self.events.state(rel, Flags::ERROR);
        match e {
            click_core::ports::StorageError::NotFound(_) => Errno::ENOENT,
            click_core::ports::StorageError::Denied(_) => Errno::EACCES,
            _ => Errno::EIO,
        }
    }

    // ---- file data

    /// Makes blocks `start..end` of `ino` present in its cache file. `Ok(false)`: the cache
    /// has no room (a full cache that does not rotate): the caller reads past it.
    async fn ensure(&self, ino: u64, start: u64, end: u64) -> VfsResult<bool> {
        let results: Vec<bool> = stream::iter(blocks(start, end))
            .map(|b| self.ensure_block(ino, b))
            .buffer_unordered(FETCHES)
            .try_collect()
            .await?;
        Ok(results.into_iter().all(|cached| cached))
    }

    async fn ensure_block(&self, ino: u64, block: u64) -> VfsResult<bool> {
        loop {
            match self.claim(ino, block) {
                Claim::Present => return Ok(true),
                Claim::NoRoom => return Ok(false),
                Claim::Wait(mut rx) => {
                    if let Ok(v) = rx.wait_for(Option::is_some).await
                        && matches!(*v, Some(Err(_)))
                    {
                        return Err(Errno::EIO);
                    }
                }
                Claim::Fetch(tx) => {
                    let r = self.fetch_block(ino, block).await;
                    {
                        let mut cache = lock(&self.cache);
                        let key = cache_key(ino);
                        match &r {
                            Ok(()) => cache.commit(&key, block),
                            Err(_) => cache.abort(&key, block),
                        }
                        lock(&self.fetching).remove(&(ino, block));
                    }
                    let _ = tx.send(Some(r.clone()));
                    return r.map(|()| true).map_err(|_| Errno::EIO);
                }
            }
        }
    }

    /// What a reader of block `block` of `ino` does: nothing, wait for the fetch in flight,
    /// or fetch it (reserved in the cache; evicted blocks are holes by then).
    fn claim(&self, ino: u64, block: u64) -> Claim {
        let key = cache_key(ino);
        let mut cache = lock(&self.cache);
        if cache.has(&key, block) {
            cache.touch(&key, block, now_ms());
            return Claim::Present;
        }
        let mut fetching = lock(&self.fetching);
        if let Some(rx) = fetching.get(&(ino, block)) {
            return Claim::Wait(rx.clone());
        }
        match cache.reserve(&key, block, now_ms()) {
            Ok(evicted) => {
                // Under the lock: no block is fetched again before its hole is made.
                self.drop_blocks(evicted);
                let (tx, rx) = watch::channel(None);
                fetching.insert((ino, block), rx);
                Claim::Fetch(tx)
            }
            Err(CacheFull) => Claim::NoRoom,
        }
    }

    async fn fetch_block(&self, ino: u64, block: u64) -> Result<(), String> {
        let node = self.node(ino).map_err(|_| "the file is gone".to_string())?;
        let key = node.remote_key.ok_or("the file is not in the bucket")?;
        let start = block * BLOCK;
        let end = (start + BLOCK).min(node.size);
        if start >= end {
            return Ok(());
        }
        let _slot = self
            .fetch_slots
            .acquire()
            .await
            .map_err(|e| e.to_string())?;
        let bytes = self
            .objects
            .fetch(&key, start, end, node.size, None)
            .await?;
        self.data
            .fill(ino, start, &bytes)
            .map_err(|e| format!("the cache cannot be written: {e}"))
    }

    /// Evicted blocks leave their cache files as holes. Called with the cache locked, so no
    /// reader sees a block present that is about to become a hole.
    fn drop_blocks(&self, evicted: Vec<(String, u64)>) {
        for (file, block) in evicted {
            let Ok(ino) = file.parse::<u64>() else {
                continue;
            };
            if let Some(n) = lock(&self.tree).get_mut(ino) {
                n.local.complete = false;
            }
            self.data.punch(ino, block * BLOCK, BLOCK);
        }
    }

    pub fn open(&self, ino: u64, write: bool) -> u64 {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&self.handles).insert(
            fh,
            Handle {
                ino,
                write,
                wrote: false,
                ahead: ReadAhead::new(2 * BLOCK, 32 * BLOCK),
            },
        );
        lock(&self.cache).open(&cache_key(ino));
        if let Some(n) = lock(&self.tree).get_mut(ino) {
            n.local.open += 1;
        }
        fh
    }

    /// Opens `ino`; for writing, with all its bytes local first (`truncate`: none of them).
    pub async fn open_file(
        self: &Arc<Self>,
        ino: u64,
        write: bool,
        truncate: bool,
    ) -> VfsResult<u64> {
        if write {
            self.writable()?;
            if truncate {
                self.set_size(ino, 0).await?;
            } else {
                self.hydrate_file(ino).await?;
            }
        }
        Ok(self.open(ino, write))
    }

    pub async fn read(self: &Arc<Self>, fh: u64, offset: u64, size: u32) -> VfsResult<Vec<u8>> {
        let (ino, ahead) = {
            let mut handles = lock(&self.handles);
            let h = handles.get_mut(&fh).ok_or(Errno::EBADF)?;
            (h.ino, h.ahead.on_read(offset, u64::from(size)))
        };
        let node = self.node(ino)?;
        if offset >= node.size {
            return Ok(Vec::new());
        }
        let end = (offset + u64::from(size)).min(node.size);
        if node.local.dirty {
            // Changes not uploaded are whole in the cache file and never evicted.
            return self.pread(ino, offset, end);
        }
        // Never further ahead than half the cache holds, or the window evicts itself.
        let ahead = ahead.min(self.spec.max_cache_bytes / 2);
        let window = (ahead > 0 && end < node.size).then(|| (end, (end + ahead).min(node.size)));
        let key = cache_key(ino);
        crate::metrics::metrics().drive_read(self.cached(ino, offset, end));
        if self.cold(ino, offset, end) {
            // Nothing of it here or on the way: answer from a read of just these bytes (the
            // first byte comes sooner than a whole block's), then fetch the blocks behind it
            // for the reads that follow (not before: they would compete with this read).
            let bytes = self.read_past_cache(&node, offset, end).await;
            self.prefetch(ino, offset, end);
            if let Some((from, to)) = window {
                self.prefetch(ino, from, to);
            }
            return bytes;
        }
        if let Some((from, to)) = window {
            self.prefetch(ino, from, to);
        }
        for _ in 0..3 {
            if !self.ensure(ino, offset, end).await? {
                break;
            }
            // Read under the lock that evictions take: what is present stays so meanwhile.
            let cache = lock(&self.cache);
            if blocks(offset, end).all(|b| cache.has(&key, b)) {
                return self.pread(ino, offset, end);
            }
        }
        // No room in the cache (or it keeps losing the blocks): read past it.
        self.read_past_cache(&node, offset, end).await
    }

    /// Whether every block of `offset..end` is in the cache.
    fn cached(&self, ino: u64, offset: u64, end: u64) -> bool {
        let key = cache_key(ino);
        let cache = lock(&self.cache);
        blocks(offset, end).all(|b| cache.has(&key, b))
    }

    /// Whether some block of `offset..end` is neither cached nor being fetched.
    fn cold(&self, ino: u64, offset: u64, end: u64) -> bool {
        let key = cache_key(ino);
        let cache = lock(&self.cache);
        let fetching = lock(&self.fetching);
        blocks(offset, end).any(|b| !cache.has(&key, b) && !fetching.contains_key(&(ino, b)))
    }

    async fn read_past_cache(&self, node: &Node, offset: u64, end: u64) -> VfsResult<Vec<u8>> {
        let remote_key = node.remote_key.as_deref().ok_or(Errno::EIO)?;
        let bytes = self
            .objects
            .fetch(remote_key, offset, end, node.size, None)
            .await
            .map_err(|_| Errno::EIO)?;
        Ok(bytes.to_vec())
    }

    /// Bytes `offset..end` of the cache file of `ino` (fewer if a truncation came first).
    fn pread(&self, ino: u64, offset: u64, end: u64) -> VfsResult<Vec<u8>> {
        // A sealed file's units are cut by its size: the one no write is changing.
        let _sizing = lock(&self.sizing);
        let size = self.node(ino)?.size;
        let end = end.min(size);
        if offset >= end {
            return Ok(Vec::new());
        }
        self.data.read(ino, size, offset, end).map_err(|e| {
            tracing::warn!(ino, "a cache file cannot be read: {e}");
            io(e)
        })
    }

    fn prefetch(self: &Arc<Self>, ino: u64, start: u64, end: u64) {
        let me = self.clone();
        tokio::spawn(async move {
            let _ = me.ensure(ino, start, end).await;
        });
    }

    /// Fetches every block of file `ino` (a folder: every file under it, listed first).
    pub async fn hydrate(&self, ino: u64) -> VfsResult<()> {
        let node = self.node(ino)?;
        if node.kind == Kind::Dir {
            let children = self.children(ino).await?;
            for (child, _, _) in children {
                Box::pin(self.hydrate(child)).await?;
            }
            return Ok(());
        }
        if node.local.complete {
            // Nothing to fetch, and no state to report (a Mirror pass walks every file).
            return Ok(());
        }
        self.events
            .state_sized(&node.rel, Flags::DOWNLOADING, node.size);
        let r = self.hydrate_file(ino).await;
        let flags = if r.is_ok() {
            Flags::NORMAL
        } else {
            Flags::ERROR
        };
        self.events.state_sized(&node.rel, flags, node.size);
        r
    }

    /// [`Vfs::hydrate`] of relative path `rel`.
    pub async fn hydrate_path(&self, rel: &str) -> VfsResult<()> {
        let ino = self.resolve(rel).await?;
        self.hydrate(ino).await
    }

    async fn hydrate_file(&self, ino: u64) -> VfsResult<()> {
        let node = self.node(ino)?;
        if node.local.complete {
            return Ok(());
        }
        if self.pinned(&node.rel) {
            lock(&self.cache).set_pinned(&cache_key(ino), true);
        }
        if !self.ensure(ino, 0, node.size).await? {
            return Err(Errno::ENOSPC);
        }
        self.data.reach(ino, node.size).map_err(io)?;
        if let Some(n) = lock(&self.tree).get_mut(ino) {
            n.local.complete = n.size == node.size;
        }
        Ok(())
    }

    // ---- changes

    pub fn create(self: &Arc<Self>, parent: u64, name: &str) -> VfsResult<(u64, Node, u64)> {
        self.writable()?;
        let rel = child_rel(&self.node(parent)?.rel, name);
        self.key_of(&rel)?;
        let ino = lock(&self.tree).insert(parent, name, Kind::File);
        self.data.set_len(ino, 0, 0).map_err(io)?;
        self.changed(ino)?;
        let fh = self.open(ino, true);
        Ok((ino, self.node(ino)?, fh))
    }

    /// Records that `ino` holds changes: complete, dirty, a new generation, and an intent to
    /// upload it that a restart finds.
    fn changed(&self, ino: u64) -> VfsResult<()> {
        let rel = {
            let mut tree = lock(&self.tree);
            let n = tree.get_mut(ino).ok_or(Errno::ENOENT)?;
            n.local.complete = true;
            n.local.dirty = true;
            n.local.generation += 1;
            n.mtime = SystemTime::now();
            n.rel.clone()
        };
        lock(&self.cache).set_dirty(&cache_key(ino), true);
        let key = self.key_of(&rel)?;
        let sealed = self.data.sealed_as(ino);
        let pending = Pending { key, rel, sealed };
        self.intents.record(ino, &pending).map_err(io)
    }

    pub fn write(&self, fh: u64, offset: u64, data: &[u8]) -> VfsResult<u32> {
        let ino = {
            let mut handles = lock(&self.handles);
            let h = handles.get_mut(&fh).ok_or(Errno::EBADF)?;
            if !h.write {
                return Err(Errno::EBADF);
            }
            h.wrote = true;
            h.ino
        };
        let end = offset + data.len() as u64;
        let was_dirty = {
            // The size the write starts from stays the file's until the write is done.
            let _sizing = lock(&self.sizing);
            let size = self.before_change(ino)?;
            self.data.write(ino, size, offset, data).map_err(io)?;
            let mut tree = lock(&self.tree);
            let n = tree.get_mut(ino).ok_or(Errno::ENOENT)?;
            n.size = n.size.max(end);
            n.mtime = SystemTime::now();
            n.local.dirty
        };
        self.account(ino, offset, end);
        if !was_dirty {
            self.changed(ino)?;
        }
        Ok(data.len() as u32)
    }

    /// Called with `sizing` held, before `ino`'s cache file changes: a new generation (an
    /// upload under way, which started under `sizing`, no longer counts what it read, nor
    /// keeps its progress), and the file's size before the change.
    fn before_change(&self, ino: u64) -> VfsResult<u64> {
        let size = {
            let mut tree = lock(&self.tree);
            let n = tree.get_mut(ino).ok_or(Errno::ENOENT)?;
            n.local.generation += 1;
            n.size
        };
        if lock(&self.uploads).contains_key(&ino) {
            self.intents.clear_upload(ino);
        }
        Ok(size)
    }

    /// Counts written blocks in the cache (a dirty file's blocks are never evicted).
    fn account(&self, ino: u64, start: u64, end: u64) {
        let key = cache_key(ino);
        let mut cache = lock(&self.cache);
        for b in blocks(start, end) {
            if cache.has(&key, b) {
                continue;
            }
            if let Ok(evicted) = cache.reserve(&key, b, now_ms()) {
                self.drop_blocks(evicted);
                cache.commit(&key, b);
            }
        }
    }

    pub async fn set_size(self: &Arc<Self>, ino: u64, size: u64) -> VfsResult<Node> {
        self.writable()?;
        if size > 0 {
            self.hydrate_file(ino).await?;
        }
        {
            let _sizing = lock(&self.sizing);
            let old = self.before_change(ino)?;
            self.data.set_len(ino, old, size).map_err(io)?;
            lock(&self.tree).get_mut(ino).ok_or(Errno::ENOENT)?.size = size;
        }
        lock(&self.cache).truncate(&cache_key(ino), size.div_ceil(BLOCK));
        self.account(ino, 0, size);
        self.changed(ino)?;
        if self.node(ino)?.local.open == 0 {
            self.schedule_upload(ino);
        }
        self.node(ino)
    }

    pub fn release(self: &Arc<Self>, fh: u64) {
        let Some(h) = lock(&self.handles).remove(&fh) else {
            return;
        };
        lock(&self.cache).close(&cache_key(h.ino));
        if let Some(n) = lock(&self.tree).get_mut(h.ino) {
            n.local.open = n.local.open.saturating_sub(1);
        }
        if h.wrote {
            self.schedule_upload(h.ino);
        }
    }

    /// Waits until `ino` (every file, for `None`) has no change left to upload, or `limit`
    /// passes. Whether it got there.
    pub async fn settle(&self, ino: Option<u64>, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.uploaded.notified();
            let busy = {
                let uploads = lock(&self.uploads);
                match ino {
                    Some(i) => {
                        uploads.contains_key(&i)
                            || lock(&self.tree).get(i).is_some_and(|n| n.local.dirty)
                    }
                    None => !uploads.is_empty(),
                }
            };
            if !busy {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    pub async fn fsync(self: &Arc<Self>, ino: u64) -> VfsResult<()> {
        if self.node(ino)?.local.dirty {
            self.schedule_upload(ino);
        }
        if self.settle(Some(ino), Duration::from_secs(3600)).await {
            Ok(())
        } else {
            Err(Errno::EIO)
        }
    }

    pub fn schedule_upload(self: &Arc<Self>, ino: u64) {
        {
            let mut uploads = lock(&self.uploads);
            if let Some(again) = uploads.get_mut(&ino) {
                *again = true;
                return;
            }
            uploads.insert(ino, false);
        }
        let me = self.clone();
        tokio::spawn(async move { me.upload_loop(ino).await });
    }

    async fn upload_loop(self: Arc<Self>, ino: u64) {
        let _slot = self.upload_slots.acquire().await;
        let mut failures = 0u32;
        loop {
            let outcome = self.upload_once(ino).await;
            let again = {
                let mut uploads = lock(&self.uploads);
                let again = uploads.get(&ino).copied().unwrap_or(false);
                let retry = matches!(outcome, Upload::Failed) && failures < remote::ATTEMPTS;
                if again || retry {
                    uploads.insert(ino, false);
                } else {
                    uploads.remove(&ino);
                }
                again || retry
            };
            self.uploaded.notify_waiters();
            if !again {
                return;
            }
            if matches!(outcome, Upload::Failed) {
                failures += 1;
                tokio::time::sleep(crate::cloud::backoff(failures)).await;
            }
        }
    }

    async fn upload_once(&self, ino: u64) -> Upload {
        // Not in the middle of a write: the generation is that of the bytes about to be read.
        let node = {
            let _sizing = lock(&self.sizing);
            self.node(ino)
        };
        let Ok(node) = node else {
            return Upload::Gone;
        };
        if !node.local.dirty {
            return Upload::Done;
        }
        let Ok(key) = self.key_of(&node.rel) else {
            return Upload::Gone;
        };
        self.events
            .state_sized(&node.rel, Flags::UPLOADING, node.size);
        let log = Sent {
            vfs: self,
            ino,
            generation: node.local.generation,
        };
        let r = self
            .objects
            .upload_file(&key, &self.data.local(ino), self.parts(), Some(&log))
            .await;
        if let Err(e) = r {
            tracing::warn!(path = %node.rel, "upload failed: {e}");
            self.events.state(&node.rel, Flags::ERROR);
            return Upload::Failed;
        }
        let (stale, current) = {
            let mut tree = lock(&self.tree);
            match tree.get_mut(ino) {
                // Deleted while it was sent: what was sent must go too.
                None => (Some(key.clone()), false),
                Some(n) => {
                    let old = n.remote_key.replace(key.clone()).filter(|o| *o != key);
                    n.remote_mtime = None;
                    let current = n.local.generation == node.local.generation;
                    if current {
                        n.local.dirty = false;
                    }
                    (old, current)
                }
            }
        };
        if let Some(stale) = stale {
            let _ = self
                .objects
                .provider
                .delete(&self.spec.bucket, &stale)
                .await;
        }
        if current {
            lock(&self.cache).set_dirty(&cache_key(ino), false);
            self.intents.clear(ino);
            self.events.state_sized(&node.rel, Flags::NORMAL, node.size);
            Upload::Done
        } else {
            Upload::Changed
        }
    }

    pub async fn unlink(&self, parent: u64, name: &str) -> VfsResult<()> {
        self.deletable()?;
        let node = self.lookup(parent, name).await?;
        if node.kind == Kind::Dir {
            return Err(Errno::EISDIR);
        }
        let ino = lock(&self.tree).child(parent, name).ok_or(Errno::ENOENT)?;
        if let Some(key) = &node.remote_key {
            self.events.state(&node.rel, Flags::DELETING);
            match self.objects.provider.delete(&self.spec.bucket, key).await {
                Ok(()) | Err(click_core::ports::StorageError::NotFound(_)) => {}
                Err(e) => return Err(self.failed(&node.rel, e)),
            }
        }
        lock(&self.tree).remove(ino);
        self.forget_data(ino);
        self.events.removed(&node.rel);
        Ok(())
    }

    fn forget_data(&self, ino: u64) {
        lock(&self.cache).remove_file(&cache_key(ino));
        self.data.remove(ino);
        self.intents.clear(ino);
    }

    pub async fn rename(
        self: &Arc<Self>,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
    ) -> VfsResult<()> {
        self.writable()?;
        let node = self.lookup(parent, name).await?;
        let ino = lock(&self.tree).child(parent, name).ok_or(Errno::ENOENT)?;
        let new_rel = child_rel(&self.node(new_parent)?.rel, new_name);
        let new_key = self.key_of(&new_rel)?;
        if let Ok(target) = self.lookup(new_parent, new_name).await {
            if target.kind == Kind::Dir && node.kind == Kind::File {
                return Err(Errno::EISDIR);
            }
            if target.kind == Kind::Dir && !target.children.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
        }
        match node.kind {
            Kind::File => {
                self.rename_file(ino, &node, new_parent, new_name, &new_key)
                    .await
            }
            Kind::Dir => self.rename_dir(ino, &node, new_parent, new_name, &new_rel),
        }
    }

    async fn rename_file(
        self: &Arc<Self>,
        ino: u64,
        node: &Node,
        new_parent: u64,
        new_name: &str,
        new_key: &str,
    ) -> VfsResult<()> {
        match &node.remote_key {
            // Not uploaded yet, or changed since: the upload goes to the new name.
            _ if node.local.dirty => {
                lock(&self.tree).rename(ino, new_parent, new_name);
                self.changed(ino)?;
                self.schedule_upload(ino);
            }
            Some(old) => {
                let stored = self.objects.stored_size(node.size);
                self.objects
                    .copy(old, new_key, stored, self.parts())
                    .await
                    .map_err(|e| {
                        tracing::warn!(path = %node.rel, "rename failed: {e}");
                        Errno::EIO
                    })?;
                if let Err(e) = self.objects.provider.delete(&self.spec.bucket, old).await {
                    tracing::warn!(path = %node.rel, "the old name stays in the bucket: {}", remote::message(e));
                }
                let mut tree = lock(&self.tree);
                tree.rename(ino, new_parent, new_name);
                if let Some(n) = tree.get_mut(ino) {
                    // A copy: written now, its listing shows a new time for the same bytes.
                    n.remote_key = Some(new_key.to_string());
                    n.remote_mtime = None;
                }
            }
            None => lock(&self.tree).rename(ino, new_parent, new_name),
        }
        self.events.removed(&node.rel);
        Ok(())
    }

    /// A folder rename answers at once; the objects move in the background (copy, then
    /// delete), recorded so that a restart finishes the move.
    fn rename_dir(
        self: &Arc<Self>,
        ino: u64,
        node: &Node,
        new_parent: u64,
        new_name: &str,
        new_rel: &str,
    ) -> VfsResult<()> {
        let from = paths::folder_key_of(&self.prefix, &node.rel).ok_or(Errno::EINVAL)?;
        let to = paths::folder_key_of(&self.prefix, new_rel).ok_or(Errno::EINVAL)?;
        let id = self.intents.record_rename(&from, &to).map_err(io)?;
        lock(&self.renames).push((node.rel.clone(), new_rel.to_string()));
        lock(&self.tree).rename(ino, new_parent, new_name);
        let me = self.clone();
        let (old_rel, new_rel) = (node.rel.clone(), new_rel.to_string());
        tokio::spawn(async move { me.finish_rename(id, from, to, old_rel, new_rel).await });
        Ok(())
    }

    /// Moves every object under folder key `from` to the same place under `to`.
    pub async fn move_folder(&self, from: &str, to: &str) -> Result<(), String> {
        let objects = self
            .objects
            .provider
            .list_all(&self.spec.bucket, from)
            .await
            .map_err(remote::message)?;
        let moves = objects.into_iter().map(|o| {
            let target = format!("{to}{}", &o.key[from.len()..]);
            self.move_one(o, target)
        });
        stream::iter(moves)
            .buffer_unordered(self.spec.concurrent_chunks.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        if !to.is_empty() {
            let _ = self.objects.provider.put_empty(&self.spec.bucket, to).await;
        }
        Ok(())
    }

    async fn move_one(&self, o: crate::cloud::Stored, target: String) -> Result<(), String> {
        let bucket = &self.spec.bucket;
        if o.key.ends_with('/') {
            self.objects
                .provider
                .put_empty(bucket, &target)
                .await
                .map_err(remote::message)?;
        } else if !self.newer_local(&target) {
            let parts = Parts {
                concurrency: 1,
                ..self.parts()
            };
            self.objects.copy(&o.key, &target, o.size, parts).await?;
            self.moved(&o.key, &target);
        }
        match self.objects.provider.delete(bucket, &o.key).await {
            Ok(()) | Err(click_core::ports::StorageError::NotFound(_)) => Ok(()),
            Err(e) => Err(remote::message(e)),
        }
    }

    /// Whether the file at key `target` holds local changes, which a moved copy must not
    /// overwrite (its own upload is on the way).
    fn newer_local(&self, target: &str) -> bool {
        let Some(rel) = paths::local_of(&self.prefix, target) else {
            return false;
        };
        let tree = lock(&self.tree);
        tree.find(&rel)
            .and_then(|i| tree.get(i))
            .is_some_and(|n| n.local.dirty)
    }

    fn moved(&self, from: &str, to: &str) {
        let Some(rel) = paths::local_of(&self.prefix, to) else {
            return;
        };
        let mut tree = lock(&self.tree);
        if let Some(n) = tree.find(&rel).and_then(|i| tree.get_mut(i))
            && n.remote_key.as_deref() == Some(from)
        {
            n.remote_key = Some(to.to_string());
            n.remote_mtime = None;
        }
    }

    pub fn rename_pending(&self, rel: &str) -> bool {
        let rel = rel.trim_matches('/');
        lock(&self.renames)
            .iter()
            .any(|(old, new)| old == rel || new == rel)
    }

    // ---- commands from the API

    pub fn pin(&self, rel: &str, pinned: bool) {
        let rel = rel.trim_matches('/').to_string();
        {
            let mut pins = lock(&self.pins);
            pins.retain(|p| *p != rel);
            if pinned {
                pins.push(rel.clone());
            }
        }
        let files = {
            let tree = lock(&self.tree);
            let Some(ino) = tree.find(&rel) else { return };
            tree.files_under(ino)
        };
        let mut cache = lock(&self.cache);
        for f in files {
            cache.set_pinned(&cache_key(f), pinned);
        }
    }

    /// Whether a newly seen file at `rel` is pinned through a pinned folder.
    fn pinned(&self, rel: &str) -> bool {
        lock(&self.pins).iter().any(|p| under(rel, p))
    }

    /// Drops the cached data of `rel` (every file under it); `Ok(false)` if some of it is in
    /// use or holds changes not uploaded.
    pub async fn evict(&self, rel: &str) -> VfsResult<bool> {
        let ino = self.resolve(rel).await?;
        let files = lock(&self.tree).files_under(ino);
        let mut all = true;
        for f in files {
            let key = cache_key(f);
            let evictable = {
                let cache = lock(&self.cache);
                cache.evictable(&key) && !self.pinned(&self.node(f)?.rel)
            };
            if !evictable {
                all = false;
                continue;
            }
            lock(&self.cache).remove_file(&key);
            self.data.remove(f);
            if let Some(n) = lock(&self.tree).get_mut(f) {
                n.local.complete = false;
            }
        }
        Ok(all)
    }

    /// Forgets the listings of folder `rel` and every folder under it, so that the next look
    /// at each asks the bucket.
    pub fn refresh(&self, rel: &str) {
        let mut tree = lock(&self.tree);
        if let Some(ino) = tree.find(rel.trim_matches('/')) {
            tree.forget_listings(ino);
        }
    }

    /// Lists the folder `rel` (a file's folder, for a file) again now, in the background, so
    /// that what changed in the bucket reaches the kernel without waiting for a lookup.
    pub fn relist(self: &Arc<Self>, rel: &str) {
        self.refresh(rel);
        let folder = {
            let tree = lock(&self.tree);
            tree.find(rel.trim_matches('/')).and_then(|ino| {
                let n = tree.get(ino)?;
                Some(if n.kind == Kind::Dir { ino } else { n.parent })
            })
        };
        if let Some(dir) = folder {
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.list(dir, true).await {
                    tracing::debug!("listing again: {e:?}");
                }
            });
        }
    }
}

/// Where a running upload keeps its progress: beside the file's pending record, while the
/// file's bytes are still those it read.
struct Sent<'a> {
    vfs: &'a Vfs,
    ino: u64,
    generation: u64,
}

impl PartLog for Sent<'_> {
    fn earlier(&self) -> Option<Progress> {
        self.vfs.intents.upload_of(self.ino)
    }

    fn resumable(&self) -> bool {
        // The file may have changed since: what an attempt of this run left is aborted.
        false
    }

    fn record(&self, progress: &Progress) {
        // Under the lock a change takes to bump the generation (and then forget this).
        let tree = lock(&self.vfs.tree);
        if tree
            .get(self.ino)
            .is_some_and(|n| n.local.generation == self.generation)
        {
            self.vfs.intents.record_upload(self.ino, progress);
        }
    }

    fn forget(&self) {
        self.vfs.intents.clear_upload(self.ino);
    }
}

enum Claim {
    Present,
    NoRoom,
    Wait(Fetch),
    Fetch(watch::Sender<Option<Result<(), String>>>),
}

enum Upload {
    Done,
    Changed,
    Failed,
    Gone,
}

/// Whether `rel` is `dir` or inside it.
fn under(rel: &str, dir: &str) -> bool {
    dir.is_empty()
        || rel == dir
        || rel
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}
