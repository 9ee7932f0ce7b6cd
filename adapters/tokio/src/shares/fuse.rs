//! The kernel's side of a mounted share: a FUSE file system (`fuser`) that passes each request
//! on to the share's server ([`RemoteFs`]) as a task on the agent's runtime. Inodes are the
//! paths seen so far; attributes are kept for a second, since others change the share too.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    LockOwner, MountOption, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use tokio::runtime::Handle;

use super::remote::{Entry, RemoteFs, RemoteResult, join};

const TTL: Duration = Duration::from_secs(1);
const UNMOUNT_WAIT: Duration = Duration::from_secs(5);
const ROOT: u64 = 1;

/// Inode numbers of the paths the kernel holds, and how many lookups of each it holds: an
/// inode the kernel forgets is dropped, so the map follows the kernel's cache, not every path
/// ever seen. Entries a listing names that the kernel never looked up get a number that is
/// not kept (a lookup of one later numbers it afresh).
#[derive(Default)]
struct Inodes {
    paths: HashMap<u64, (String, u64)>,
    inos: HashMap<String, u64>,
    next: u64,
}

impl Inodes {
    fn new() -> Inodes {
        let mut i = Inodes {
            next: ROOT + 1,
            ..Inodes::default()
        };
        i.paths.insert(ROOT, (String::new(), 1));
        i.inos.insert(String::new(), ROOT);
        i
    }

    /// The number of `path` for a listing: its own if the kernel holds it, else a fresh one.
    fn peek(&mut self, path: &str) -> u64 {
        match self.inos.get(path) {
            Some(ino) => *ino,
            None => self.fresh(),
        }
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next - 1
    }

    /// The number of `path`, which the kernel is told of once more (a lookup).
    fn looked_up(&mut self, path: &str) -> u64 {
        if let Some(ino) = self.inos.get(path) {
            if let Some((_, count)) = self.paths.get_mut(ino) {
                *count += 1;
            }
            return *ino;
        }
        let ino = self.fresh();
        self.paths.insert(ino, (path.to_string(), 1));
        self.inos.insert(path.to_string(), ino);
        ino
    }

    /// The kernel let go of `n` lookups of `ino`: the inode goes with the last one.
    fn forget(&mut self, ino: u64, n: u64) {
        let Some((path, count)) = self.paths.get_mut(&ino) else {
            return;
        };
        *count = count.saturating_sub(n);
        if *count == 0 && ino != ROOT {
            let path = path.clone();
            self.paths.remove(&ino);
            if self.inos.get(&path) == Some(&ino) {
                self.inos.remove(&path);
            }
        }
    }

    fn path(&self, ino: u64) -> Option<&str> {
        self.paths.get(&ino).map(|(p, _)| p.as_str())
    }

    /// Moves `from` and everything under it to `to`.
    fn rename(&mut self, from: &str, to: &str) {
        let prefix = format!("{from}/");
        let moved: Vec<(String, u64)> = self
            .inos
            .iter()
            .filter(|(p, _)| *p == from || p.starts_with(&prefix))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (old, ino) in moved {
            let new = format!("{to}{}", &old[from.len()..]);
            self.inos.remove(&old);
            self.inos.insert(new.clone(), ino);
            if let Some((path, _)) = self.paths.get_mut(&ino) {
                *path = new;
            }
        }
    }
}

type OpenFile<F> = Arc<tokio::sync::Mutex<Option<F>>>;
/// A folder's entries as readdir hands them out: inode, kind, name.
type Listing = Vec<(u64, FileType, String)>;

struct Shared<R: RemoteFs> {
    remote: Arc<R>,
    inodes: Mutex<Inodes>,
    files: Mutex<HashMap<u64, OpenFile<R::File>>>,
    dirs: Mutex<HashMap<u64, Listing>>,
    next_fh: AtomicU64,
    uid: u32,
    gid: u32,
}

pub struct ShareFs<R: RemoteFs> {
    s: Arc<Shared<R>>,
    rt: Handle,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn name_of(name: &OsStr) -> Result<&str, Errno> {
    name.to_str().ok_or(Errno::EINVAL)
}

impl<R: RemoteFs> Shared<R> {
    fn path(&self, ino: INodeNo) -> RemoteResult<String> {
        lock(&self.inodes)
            .path(ino.0)
            .map(str::to_string)
            .ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> RemoteResult<String> {
        Ok(join(&self.path(parent)?, name_of(name)?))
    }

    fn attr(&self, ino: u64, e: &Entry) -> FileAttr {
        let (kind, perm, nlink) = if e.dir {
            (FileType::Directory, 0o755, 2)
        } else {
            (FileType::RegularFile, 0o644, 1)
        };
        FileAttr {
            ino: INodeNo(ino),
            size: e.size,
            blocks: e.size.div_ceil(512),
            atime: e.mtime,
            mtime: e.mtime,
            ctime: e.mtime,
            crtime: e.mtime,
            kind,
            perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 128 * 1024,
            flags: 0,
        }
    }

    /// The attributes of `path`, numbered, for a reply that tells the kernel of it (a lookup).
    async fn lookup(&self, path: &str) -> RemoteResult<FileAttr> {
        let e = self.remote.stat(path).await?;
        let ino = lock(&self.inodes).looked_up(path);
        Ok(self.attr(ino, &e))
    }

    /// The attributes of the inode `ino` at `path`.
    async fn stat(&self, ino: u64, path: &str) -> RemoteResult<FileAttr> {
        let e = self.remote.stat(path).await?;
        Ok(self.attr(ino, &e))
    }

    fn file(&self, fh: FileHandle) -> RemoteResult<OpenFile<R::File>> {
        lock(&self.files).get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    fn keep(&self, file: R::File) -> u64 {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&self.files).insert(fh, Arc::new(tokio::sync::Mutex::new(Some(file))));
        fh
    }

    async fn listing(&self, dir: &str) -> RemoteResult<Listing> {
        let entries = self.remote.list(dir).await?;
        let mut inodes = lock(&self.inodes);
        let mut out = Vec::with_capacity(entries.len() + 2);
        let own = inodes.peek(dir);
        let parent = dir.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        out.push((own, FileType::Directory, ".".to_string()));
        out.push((inodes.peek(parent), FileType::Directory, "..".to_string()));
        for (name, e) in entries {
            let kind = if e.dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            };
            out.push((inodes.peek(&join(dir, &name)), kind, name));
        }
        Ok(out)
    }
}

impl<R: RemoteFs> ShareFs<R> {
    /// Runs `work` on the runtime with the shared state; its answer goes to `done`.
    fn spawn<T, F, Fut>(&self, work: F, done: impl FnOnce(RemoteResult<T>) + Send + 'static)
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared<R>>) -> Fut,
        Fut: Future<Output = RemoteResult<T>> + Send + 'static,
    {
        let fut = work(self.s.clone());
        self.rt.spawn(async move { done(fut.await) });
    }

    /// Answers with `name` in `parent`, made first as a folder when `mkdir`.
    fn entry(&self, parent: INodeNo, name: &OsStr, reply: ReplyEntry, mkdir: bool) {
        let path = match self.s.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.spawn(
            move |s| async move {
                if mkdir {
                    s.remote.mkdir(&path).await?;
                }
                s.lookup(&path).await
            },
            move |r| match r {
                Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
                Err(e) => reply.error(e),
            },
        );
    }

    fn empty<F, Fut>(&self, reply: ReplyEmpty, work: F)
    where
        F: FnOnce(Arc<Shared<R>>) -> Fut,
        Fut: Future<Output = RemoteResult<()>> + Send + 'static,
    {
        self.spawn(work, move |r| match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        });
    }
}

impl<R: RemoteFs> Filesystem for ShareFs<R> {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        self.entry(parent, name, reply, false);
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        lock(&self.s.inodes).forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let path = match self.s.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.spawn(
            move |s| async move { s.stat(ino.0, &path).await },
            move |r| match r {
                Ok(attr) => reply.attr(&TTL, &attr),
                Err(e) => reply.error(e),
            },
        );
    }

    /// Sizes are set on the server; modes, owners and times are the server's to keep.
    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let path = match self.s.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let open = fh.and_then(|fh| self.s.file(fh).ok());
        self.spawn(
            move |s| async move {
                if let Some(size) = size {
                    // What the handle still holds goes first, so the size is the last word.
                    if let Some(open) = open
                        && let Some(file) = open.lock().await.as_mut()
                    {
                        s.remote.flush(file).await?;
                    }
                    s.remote.truncate(&path, size).await?;
                }
                s.stat(ino.0, &path).await
            },
            move |r| match r {
                Ok(attr) => reply.attr(&TTL, &attr),
                Err(e) => reply.error(e),
            },
        );
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        self.entry(parent, name, reply, true);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.s.child(parent, name) {
            Ok(path) => self.empty(
                reply,
                move |s| async move { s.remote.remove_file(&path).await },
            ),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.s.child(parent, name) {
            Ok(path) => self.empty(
                reply,
                move |s| async move { s.remote.remove_dir(&path).await },
            ),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if !flags.is_empty() {
            return reply.error(Errno::EINVAL);
        }
        let paths = self
            .s
            .child(parent, name)
            .and_then(|from| Ok((from, self.s.child(newparent, newname)?)));
        match paths {
            Ok((from, to)) => self.empty(reply, move |s| async move {
                s.remote.rename(&from, &to).await?;
                lock(&s.inodes).rename(&from, &to);
                Ok(())
            }),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let path = match self.s.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let write = flags.acc_mode() != OpenAccMode::O_RDONLY;
        self.spawn(
            move |s| async move {
                let file = s.remote.open(&path, write).await?;
                Ok(s.keep(file))
            },
            // Others change the share: the kernel reads it again at each open.
            move |r| match r {
                Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
                Err(e) => reply.error(e),
            },
        );
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let open = match self.s.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        self.spawn(
            move |s| async move {
                let mut file = open.lock().await;
                let file = file.as_mut().ok_or(Errno::EBADF)?;
                s.remote.read(file, offset, size).await
            },
            move |r| match r {
                Ok(data) => reply.data(&data),
                Err(e) => reply.error(e),
            },
        );
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let open = match self.s.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        let data = data.to_vec();
        self.spawn(
            move |s| async move {
                let mut file = open.lock().await;
                let file = file.as_mut().ok_or(Errno::EBADF)?;
                s.remote.write(file, offset, &data).await?;
                Ok(data.len() as u32)
            },
            move |r| match r {
                Ok(n) => reply.written(n),
                Err(e) => reply.error(e),
            },
        );
    }

    /// close(2) answers with the server's verdict on what was written.
    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        let Ok(open) = self.s.file(fh) else {
            return reply.ok();
        };
        self.empty(reply, move |s| async move {
            match open.lock().await.as_mut() {
                Some(file) => s.remote.flush(file).await,
                None => Ok(()),
            }
        });
    }

    fn fsync(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.flush(req, ino, fh, LockOwner(0), reply);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let Some(open) = lock(&self.s.files).remove(&fh.0) else {
            return reply.ok();
        };
        self.empty(reply, move |s| async move {
            match open.lock().await.take() {
                Some(file) => s.remote.close(file).await,
                None => Ok(()),
            }
        });
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let path = match self.s.path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.spawn(
            move |s| async move {
                let listing = s.listing(&path).await?;
                let fh = s.next_fh.fetch_add(1, Ordering::Relaxed);
                lock(&s.dirs).insert(fh, listing);
                Ok(fh)
            },
            move |r| match r {
                Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
                Err(e) => reply.error(e),
            },
        );
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let dirs = lock(&self.s.dirs);
        let Some(listing) = dirs.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        for (i, (ino, kind, name)) in listing.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        lock(&self.s.dirs).remove(&fh.0);
        reply.ok();
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let path = match self.s.child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.spawn(
            move |s| async move {
                s.remote.create(&path).await?;
                let file = s.remote.open(&path, true).await?;
                let fh = s.keep(file);
                Ok((s.lookup(&path).await?, fh))
            },
            move |r| match r {
                Ok((attr, fh)) => reply.created(
                    &TTL,
                    &attr,
                    Generation(0),
                    FileHandle(fh),
                    FopenFlags::empty(),
                ),
                Err(e) => reply.error(e),
            },
        );
    }
}

/// A share mounted at a local folder; unmounted (once) on [`Mounted::unmount`] or drop.
pub struct Mounted {
    session: Mutex<Option<fuser::BackgroundSession>>,
    path: std::path::PathBuf,
}

impl Mounted {
    pub fn unmount(&self) {
        let Some(session) = lock(&self.session).take() else {
            return;
        };
        // The kernel waits for the requests in flight, each bounded by the share's timeout;
        // past that, the mount is detached and the last requests finish on their own.
        let (done, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(session.umount_and_join());
        });
        match wait.recv_timeout(UNMOUNT_WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(path = %self.path.display(), "unmount: {e}");
                crate::drives::fs::detach(&self.path);
            }
            Err(_) => {
                tracing::warn!(path = %self.path.display(), "unmount: requests still in flight; detached");
                crate::drives::fs::detach(&self.path);
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.unmount();
    }
}

/// Mounts `remote` at `path` (made if missing; a stale mount there is cleared first).
/// Call from a thread that may block (not a runtime worker).
pub fn mount<R: RemoteFs>(
    remote: Arc<R>,
    path: &Path,
    fs_name: &str,
    rt: Handle,
) -> std::io::Result<Mounted> {
    crate::drives::fs::prepare_mount_point(path)?;
    // Mounting over files would hide them (a home folder, say) while the share is mounted.
    if std::fs::read_dir(path)?.next().is_some() {
        return Err(std::io::Error::other(
            "the folder has files in it, which the share would hide; give an empty or new folder",
        ));
    }
    let fs = ShareFs {
        s: Arc::new(Shared {
            remote,
            inodes: Mutex::new(Inodes::new()),
            files: Mutex::default(),
            dirs: Mutex::default(),
            next_fh: AtomicU64::new(1),
            // SAFETY: plain getters without arguments.
            uid: unsafe { libc::geteuid() },
            gid: unsafe { libc::getegid() },
        }),
        rt,
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(fs_name.to_string()),
        MountOption::Subtype("click".into()),
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoAtime,
        MountOption::DefaultPermissions,
    ];
    config.n_threads = Some(2);
    let session = fuser::spawn_mount(fs, path, &config)?;
    Ok(Mounted {
        session: Mutex::new(Some(session)),
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inodes_live_while_the_kernel_holds_them() {
        let mut inodes = Inodes::new();
        let a = inodes.looked_up("docs/a.txt");
        assert_eq!(
            inodes.looked_up("docs/a.txt"),
            a,
            "the same path, the same inode"
        );
        // A listing's entry the kernel never looked up is numbered but not kept.
        let listed = inodes.peek("docs/b.txt");
        assert_ne!(listed, a);
        assert_eq!(inodes.path(listed), None);
        assert_eq!(inodes.peek("docs/a.txt"), a);

        inodes.rename("docs", "papers");
        assert_eq!(inodes.path(a), Some("papers/a.txt"));
        inodes.forget(a, 1);
        assert_eq!(
            inodes.path(a),
            Some("papers/a.txt"),
            "one lookup still held"
        );
        inodes.forget(a, 1);
        assert_eq!(inodes.path(a), None, "forgotten with the last lookup");
        assert_eq!(inodes.inos.len(), 1, "only the root is left");
        inodes.forget(ROOT, 5);
        assert_eq!(inodes.path(ROOT), Some(""), "the root stays");
    }
}
