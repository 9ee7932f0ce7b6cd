//! The kernel's side of a drive: a FUSE file system (`fuser`) whose requests run as tasks on
//! the agent's runtime against the drive's [`Vfs`], so a slow fetch never holds up other
//! requests. Mounting cleans a stale mount a killed agent left at the same place first.

use std::ffi::OsStr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fuser::{
    Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, LockOwner, MountOption, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs,
    ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use tokio::runtime::Handle;

use super::tree::{Kind, Node};
pub use super::vfs::{DriveEvents, MountSpec};
use super::vfs::{KernelCache, Vfs, VfsResult};
use crate::cloud::Provider;

struct DriveFs {
    vfs: Arc<Vfs>,
    rt: Handle,
    uid: u32,
    gid: u32,
}

fn name_of(name: &OsStr) -> VfsResult<&str> {
    name.to_str().ok_or(Errno::EINVAL)
}

impl DriveFs {
    /// How long the kernel may keep names and attributes: as long as the drive trusts its own
    /// listings (changes made through the mount reach the kernel at once anyway).
    fn ttl(&self) -> Duration {
        self.vfs.spec.listing_ttl
    }

    fn attr(&self, ino: u64, n: &Node) -> FileAttr {
        let read_only = self.vfs.spec.read_only;
        let (kind, perm, nlink) = match n.kind {
            Kind::Dir => (
                FileType::Directory,
                if read_only { 0o555 } else { 0o755 },
                2,
            ),
            Kind::File => (
                FileType::RegularFile,
                if read_only { 0o444 } else { 0o644 },
                1,
            ),
        };
        FileAttr {
            ino: INodeNo(ino),
            size: n.size,
            blocks: n.size.div_ceil(512),
            atime: n.mtime,
            mtime: n.mtime,
            ctime: n.mtime,
            crtime: n.mtime,
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

    /// Runs `work` on the runtime; its answer goes to `done`.
    fn spawn<T: Send + 'static>(
        &self,
        work: impl Future<Output = VfsResult<T>> + Send + 'static,
        done: impl FnOnce(VfsResult<T>) + Send + 'static,
    ) {
        self.rt.spawn(async move { done(work.await) });
    }

    fn entry(&self, reply: ReplyEntry) -> impl FnOnce(VfsResult<(u64, Node)>) + Send + 'static {
        let me = self.clone_parts();
        move |r| match r {
            Ok((ino, n)) => reply.entry(&me.ttl(), &me.attr(ino, &n), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn clone_parts(&self) -> DriveFs {
        DriveFs {
            vfs: self.vfs.clone(),
            rt: self.rt.clone(),
            uid: self.uid,
            gid: self.gid,
        }
    }
}

/// The node `name` in `parent` after an operation that made or found it.
fn found(vfs: &Vfs, parent: u64, name: &str) -> VfsResult<(u64, Node)> {
    let ino = vfs.child(parent, name).ok_or(Errno::ENOENT)?;
    Ok((ino, vfs.node(ino)?))
}

impl Filesystem for DriveFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        let _ = config.set_max_readahead(1 << 20);
        let _ = config.set_max_write(1 << 20);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let name = match name_of(name) {
            Ok(n) => n.to_string(),
            Err(e) => return reply.error(e),
        };
        // Most lookups are answered from a fresh listing, on this thread.
        match self.vfs.lookup_listed(parent.0, &name) {
            Some(Ok((ino, n))) => {
                return reply.entry(&self.ttl(), &self.attr(ino, &n), Generation(0));
            }
            Some(Err(e)) => return reply.error(e),
            None => {}
        }
        self.entry_op(parent, name, reply, |vfs, name| async move {
            vfs.lookup(parent.0, &name).await.map(drop)
        });
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.vfs.node(ino.0) {
            Ok(n) => reply.attr(&self.ttl(), &self.attr(ino.0, &n)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let (vfs, me) = (self.vfs.clone(), self.clone_parts());
        self.spawn(
            async move {
                if let Some(size) = size {
                    vfs.set_size(ino.0, size).await?;
                }
                if let Some(t) = mtime {
                    let t = match t {
                        TimeOrNow::SpecificTime(t) => t,
                        TimeOrNow::Now => SystemTime::now(),
                    };
                    vfs.set_mtime(ino.0, t)?;
                }
                vfs.node(ino.0)
            },
            move |r| match r {
                Ok(n) => reply.attr(&me.ttl(), &me.attr(ino.0, &n)),
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
        let name = match name_of(name) {
            Ok(n) => n.to_string(),
            Err(e) => return reply.error(e),
        };
        self.entry_op(parent, name, reply, |vfs, name| async move {
            vfs.mkdir(parent.0, &name).await.map(drop)
        });
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.empty_op(name, reply, move |vfs, name| async move {
            vfs.unlink(parent.0, &name).await
        });
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.empty_op(name, reply, move |vfs, name| async move {
            vfs.rmdir(parent.0, &name).await
        });
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
            // RENAME_EXCHANGE / NOREPLACE cannot be made atomic on a bucket.
            return reply.error(Errno::EINVAL);
        }
        let newname = match name_of(newname) {
            Ok(n) => n.to_string(),
            Err(e) => return reply.error(e),
        };
        self.empty_op(name, reply, move |vfs, name| async move {
            vfs.rename(parent.0, &name, newparent.0, &newname).await
        });
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let write = flags.acc_mode() != OpenAccMode::O_RDONLY;
        let truncate = flags.0 & libc::O_TRUNC != 0;
        let vfs = self.vfs.clone();
        self.spawn(
            async move { vfs.open_file(ino.0, write, truncate).await },
            move |r| match r {
                // The kernel may keep pages while the file is unchanged in the bucket.
                Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE),
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
        let vfs = self.vfs.clone();
        self.spawn(
            async move { vfs.read(fh.0, offset, size).await },
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
        // A write lands in the local cache file: no need to leave this thread.
        match self.vfs.write(fh.0, offset, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close() does not wait for the upload; fsync() does.
        reply.ok();
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
        let _guard = self.rt.enter();
        self.vfs.release(fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let vfs = self.vfs.clone();
        self.spawn(async move { vfs.fsync(ino.0).await }, move |r| match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        });
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let vfs = self.vfs.clone();
        self.spawn(
            async move { vfs.list(ino.0, false).await },
            move |r| match r {
                Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
                Err(e) => reply.error(e),
            },
        );
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let node = match self.vfs.node(ino.0) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        let dots = [(ino.0, ".".to_string()), (node.parent, "..".to_string())];
        let entries = dots
            .into_iter()
            .map(|(i, n)| (i, FileType::Directory, n))
            .chain(node.children.iter().filter_map(|(name, child)| {
                let kind = match self.vfs.node(*child).ok()?.kind {
                    Kind::Dir => FileType::Directory,
                    Kind::File => FileType::RegularFile,
                };
                Some((*child, kind, name.clone()))
            }));
        for (i, (child, kind, name)) in entries.enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child), i as u64 + 1, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // A bucket has no fixed size: report a large, mostly free volume.
        const BLOCKS: u64 = 1 << 40;
        reply.statfs(BLOCKS, BLOCKS, BLOCKS, 1 << 32, 1 << 32, 4096, 255, 4096);
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
        let name = match name_of(name) {
            Ok(n) => n,
            Err(e) => return reply.error(e),
        };
        match self.vfs.create(parent.0, name) {
            Ok((ino, node, fh)) => reply.created(
                &self.ttl(),
                &self.attr(ino, &node),
                Generation(0),
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}

impl DriveFs {
    /// Runs `op` on `name` in `parent`, then answers with the entry it made or found.
    fn entry_op<F, Fut>(&self, parent: INodeNo, name: String, reply: ReplyEntry, op: F)
    where
        F: FnOnce(Arc<Vfs>, String) -> Fut,
        Fut: Future<Output = VfsResult<()>> + Send + 'static,
    {
        let (vfs, done) = (self.vfs.clone(), self.entry(reply));
        let work = op(vfs.clone(), name.clone());
        self.spawn(
            async move {
                work.await?;
                found(&vfs, parent.0, &name)
            },
            done,
        );
    }

    fn empty_op<F, Fut>(&self, name: &OsStr, reply: ReplyEmpty, op: F)
    where
        F: FnOnce(Arc<Vfs>, String) -> Fut,
        Fut: Future<Output = VfsResult<()>> + Send + 'static,
    {
        let name = match name_of(name) {
            Ok(n) => n.to_string(),
            Err(e) => return reply.error(e),
        };
        self.spawn(op(self.vfs.clone(), name), move |r| match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        });
    }
}

/// What the kernel is told about its caches, sent from a thread of its own: a notification
/// waits for the kernel's locks on the file or folder, which a request in flight may hold
/// until the drive answers it (sending it from the task answering would deadlock).
struct Notes(std::sync::mpsc::Sender<Note>);

enum Note {
    File(u64),
    Entry(u64, String),
}

impl Notes {
    fn start(notifier: fuser::Notifier) -> Notes {
        let (tx, rx) = std::sync::mpsc::channel::<Note>();
        std::thread::spawn(move || {
            for note in rx {
                // ENOENT: the kernel holds nothing of it (never looked up, or forgotten).
                let _ = match note {
                    Note::File(ino) => notifier.inval_inode(INodeNo(ino), 0, 0),
                    Note::Entry(parent, name) => {
                        notifier.inval_entry(INodeNo(parent), OsStr::new(&name))
                    }
                };
            }
        });
        Notes(tx)
    }

    fn send(&self, note: Note) {
        let _ = self.0.send(note);
    }
}

impl KernelCache for Notes {
    fn file_changed(&self, ino: u64) {
        self.send(Note::File(ino));
    }

    fn entry_gone(&self, parent: u64, name: &str) {
        self.send(Note::Entry(parent, name.to_string()));
    }
}

/// A mounted drive.
pub struct Mounted {
    pub vfs: Arc<Vfs>,
    session: std::sync::Mutex<Option<fuser::BackgroundSession>>,
}

impl Mounted {
    pub fn pin(&self, rel: &str) {
        self.vfs.pin(rel, true);
    }

    pub fn unpin(&self, rel: &str) {
        self.vfs.pin(rel, false);
    }

    /// Fetches every byte of `rel` (every file under it) into the cache.
    pub async fn hydrate(&self, rel: &str) -> Result<(), Errno> {
        self.vfs.hydrate_path(rel).await
    }

    /// Drops the cached bytes of `rel`; `Ok(false)` when some are in use or not uploaded.
    pub async fn evict(&self, rel: &str) -> Result<bool, Errno> {
        self.vfs.evict(rel).await
    }

    pub fn rename_pending(&self, rel: &str) -> bool {
        self.vfs.rename_pending(rel)
    }

    /// Lists `rel` again (a file: its folder), so that bucket changes show at once.
    pub fn refresh(&self, rel: &str) {
        self.vfs.relist(rel);
    }

    /// Waits up to `grace` for every change to be uploaded; whether they all were.
    pub async fn flush(&self, grace: Duration) -> bool {
        self.vfs.settle(None, grace).await
    }

    /// Unmounts (the kernel waits for requests in flight); once.
    pub fn unmount(&self) {
        let session = self
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(session) = session else { return };
        let path = &self.vfs.spec.mount_point;
        if let Err(e) = session.umount_and_join() {
            tracing::warn!(path = %path.display(), "unmount: {e}");
            detach(path);
        }
    }
}

/// Lazily detaches whatever is mounted at `path` (a stale mount of a killed agent answers
/// ENOTCONN to everything).
pub(crate) fn detach(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: a plain syscall with a NUL-terminated path that outlives it.
    unsafe {
        libc::umount2(c.as_ptr(), libc::MNT_DETACH);
    }
}

fn is_stale_mount(path: &Path) -> bool {
    matches!(std::fs::metadata(path), Err(e) if e.raw_os_error() == Some(libc::ENOTCONN))
}

/// Makes the folder to mount at, clearing a stale mount a killed agent left there.
pub(crate) fn prepare_mount_point(path: &Path) -> std::io::Result<()> {
    if is_stale_mount(path) {
        tracing::info!(path = %path.display(), "removing a stale mount");
        detach(path);
    }
    std::fs::create_dir_all(path)
}

/// Mounts the drive `spec` describes, after finishing what an earlier run left undone.
/// Call from a thread that may block (not a runtime worker).
pub fn mount(
    spec: MountSpec,
    provider: Arc<Provider>,
    rt: Handle,
    events: Arc<dyn DriveEvents>,
) -> std::io::Result<Mounted> {
    let mount_point = spec.mount_point.clone();
    prepare_mount_point(&mount_point)?;
    std::fs::create_dir_all(&spec.cache_dir)?;
    let vfs = Vfs::new(spec, provider, events);
    rt.block_on(vfs.recover())?;
    let fs = DriveFs {
        vfs: vfs.clone(),
        rt,
        // SAFETY: plain getters without arguments.
        uid: unsafe { libc::geteuid() },
        gid: unsafe { libc::getegid() },
    };
    let mut options = vec![
        MountOption::FSName(format!("click:{}", vfs.spec.bucket)),
        MountOption::Subtype("click".into()),
        MountOption::NoDev,
        MountOption::NoSuid,
        MountOption::NoAtime,
        MountOption::DefaultPermissions,
    ];
    if vfs.spec.read_only {
        options.push(MountOption::RO);
    }
    let mut config = Config::default();
    config.mount_options = options;
    config.n_threads = Some(2);
    let session = fuser::spawn_mount(fs, &mount_point, &config)?;
    vfs.set_kernel(Box::new(Notes::start(session.notifier())));
    Ok(Mounted {
        vfs,
        session: std::sync::Mutex::new(Some(session)),
    })
}
