//! NFS v3 and v4 exports through the userspace client of the `nfs-rs` crate (no kernel `nfs`
//! needed). Files are read and written at their offsets; a write is committed (durable on
//! the server) before it is answered.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use click_core::ports::{ShareError, ShareMount};
use fuser::Errno;
use futures_util::StreamExt;
use nfs_rs::{Attr, BufferedFile, Mount, NfsError, OPEN_BOTH, OPEN_READ};

use super::remote::{Entry, Health, RemoteFs, RemoteResult};

pub struct NfsExport {
    mount: Arc<dyn Mount>,
    timeout: Duration,
    health: Health,
}

pub struct NfsFile(BufferedFile);

/// NFS3's `ftype3` (NFSv4 answers are mapped to it): a directory.
const DIRECTORY: u32 = 2;

impl NfsExport {
    /// Mounts the export with the versions asked for ("4" is 4.1, else 4.0).
    pub async fn connect(m: &ShareMount, timeout: Duration) -> Result<NfsExport, ShareError> {
        let versions = match m.version.as_str() {
            "" => "4.1,4.0,3",
            "4" => "4.1,4.0",
            v => v,
        };
        let host = if m.host.contains(':') {
            format!("[{}]", m.host)
        } else {
            m.host.clone()
        };
        let port = m.port.map(|p| format!(":{p}")).unwrap_or_default();
        let export = m.share.trim_end_matches('/');
        let url = format!("nfs://{host}{port}{export}?version={versions}");
        let mounted = tokio::time::timeout(timeout * 2, nfs_rs::parse_url_and_mount(&url))
            .await
            .map_err(|_| ShareError::Unreachable(String::from("the server did not answer")))?
            .map_err(|e| mount_error(&m.share, e))?;
        Ok(NfsExport {
            mount: Arc::from(mounted),
            timeout,
            health: Health::default(),
        })
    }

    fn errno(&self, e: NfsError) -> Errno {
        let errno = errno_of(&e);
        if errno == Errno::EIO {
            self.health.fail(e.to_string());
        }
        errno
    }
}

/// The export's path of a path in the mount.
fn full(path: &str) -> String {
    format!("/{path}")
}

fn mount_error(share: &str, e: NfsError) -> ShareError {
    let text = e.to_string();
    // After trying each version the client sums the answers up in one message.
    let summed = |what: &str| matches!(e, NfsError::Rpc(_)) && text.contains(what);
    match errno_of(&e) {
        Errno::ENOENT => ShareError::NotFound(format!("{share} is not exported ({text})")),
        Errno::EACCES => ShareError::Auth(format!("the server refused this agent ({text})")),
        _ if summed("no such file or directory") => {
            ShareError::NotFound(format!("{share} is not exported ({text})"))
        }
        _ if summed("permission denied") => {
            ShareError::Auth(format!("the server refused this agent ({text})"))
        }
        _ => ShareError::Unreachable(text),
    }
}

fn errno_of(e: &NfsError) -> Errno {
    if e.is_not_found() {
        return Errno::ENOENT;
    }
    if e.is_exist() {
        return Errno::EEXIST;
    }
    // The three status enums (NFS3, NFS4, MOUNT3) name the same errors alike.
    let name = match e {
        NfsError::Nfs3(code) => format!("{code:?}"),
        NfsError::Nfs4(code) => format!("{code:?}"),
        NfsError::Mount(code) => format!("{code:?}"),
        _ => return Errno::EIO,
    };
    let status = name.rsplit_once("ERR_").map(|(_, s)| s).unwrap_or("");
    match status {
        "PERM" | "ACCES" | "ACCESS" => Errno::EACCES,
        "NOENT" => Errno::ENOENT,
        "EXIST" => Errno::EEXIST,
        "XDEV" => Errno::EXDEV,
        "NOTDIR" => Errno::ENOTDIR,
        "ISDIR" => Errno::EISDIR,
        "INVAL" => Errno::EINVAL,
        "FBIG" => Errno::EFBIG,
        "NOSPC" => Errno::ENOSPC,
        "ROFS" => Errno::EROFS,
        "NAMETOOLONG" => Errno::ENAMETOOLONG,
        "NOTEMPTY" => Errno::ENOTEMPTY,
        "DQUOT" => Errno::EDQUOT,
        "STALE" => Errno::ESTALE,
        _ => Errno::EIO,
    }
}

fn entry(attr: &Attr) -> Entry {
    Entry {
        dir: attr.type_ == DIRECTORY,
        size: attr.filesize,
        mtime: SystemTime::UNIX_EPOCH
            + Duration::new(u64::from(attr.mtime.seconds), attr.mtime.nseconds),
    }
}

impl RemoteFs for NfsExport {
    type File = NfsFile;

    async fn stat(&self, path: &str) -> RemoteResult<Entry> {
        let work = async {
            let attr = self
                .mount
                .getattr_path(&full(path))
                .await
                .map_err(|e| self.errno(e))?;
            self.health.ok();
            Ok(entry(&attr))
        };
        self.health.run(self.timeout, work).await
    }

    async fn list(&self, dir: &str) -> RemoteResult<Vec<(String, Entry)>> {
        let work = async {
            let mut stream = self
                .mount
                .readdirplus_path(&full(dir))
                .await
                .map_err(|e| self.errno(e))?;
            let mut out = Vec::new();
            while let Some(item) = stream.next().await {
                let item = item.map_err(|e| self.errno(e))?;
                if item.file_name == "." || item.file_name == ".." {
                    continue;
                }
                let e = match &item.attr {
                    Some(attr) => entry(attr),
                    None => {
                        self.stat(&super::remote::join(dir, &item.file_name))
                            .await?
                    }
                };
                out.push((item.file_name, e));
            }
            self.health.ok();
            Ok(out)
        };
        self.health.run(self.timeout, work).await
    }

    async fn open(&self, path: &str, write: bool) -> RemoteResult<NfsFile> {
        let access = if write { OPEN_BOTH } else { OPEN_READ };
        let work = async {
            let opened = self
                .mount
                .open_path(&full(path), access)
                .await
                .map_err(|e| self.errno(e))?;
            Ok(NfsFile(BufferedFile::new(self.mount.clone(), opened.fh)))
        };
        self.health.run(self.timeout, work).await
    }

    async fn read(&self, file: &mut NfsFile, offset: u64, len: u32) -> RemoteResult<Vec<u8>> {
        let work = async {
            let data = file
                .0
                .read_at(offset, len)
                .await
                .map_err(|e| self.errno(e))?;
            self.health.ok();
            Ok(data.to_vec())
        };
        self.health.run(self.timeout, work).await
    }

    async fn write(&self, file: &mut NfsFile, offset: u64, data: &[u8]) -> RemoteResult<()> {
        let data = Bytes::copy_from_slice(data);
        let work = async {
            file.0
                .write_at(offset, data)
                .await
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    /// Writes are committed as they are made.
    async fn flush(&self, _file: &mut NfsFile) -> RemoteResult<()> {
        Ok(())
    }

    async fn close(&self, file: NfsFile) -> RemoteResult<()> {
        let work = async { file.0.close().await.map_err(|e| self.errno(e)) };
        self.health.run(self.timeout, work).await
    }

    async fn create(&self, path: &str) -> RemoteResult<()> {
        let work = async {
            match self.mount.getattr_path(&full(path)).await {
                Ok(_) => return Err(Errno::EEXIST),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(self.errno(e)),
            }
            let created = self
                .mount
                .create_path(&full(path), Some(0o644))
                .await
                .map_err(|e| self.errno(e))?;
            self.mount
                .close(created.fh)
                .await
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    async fn truncate(&self, path: &str, size: u64) -> RemoteResult<()> {
        let work = async {
            self.mount
                .setattr_path(&full(path), false, None, None, None, Some(size), None, None)
                .await
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    async fn mkdir(&self, path: &str) -> RemoteResult<()> {
        let work = async {
            self.mount
                .mkdir_path(&full(path), 0o755)
                .await
                .map(drop)
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    async fn remove_file(&self, path: &str) -> RemoteResult<()> {
        let work = async {
            self.mount
                .remove_path(&full(path))
                .await
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    async fn remove_dir(&self, path: &str) -> RemoteResult<()> {
        let work = async {
            self.mount
                .rmdir_path(&full(path))
                .await
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    async fn rename(&self, from: &str, to: &str) -> RemoteResult<()> {
        let work = async {
            self.mount
                .rename_path(&full(from), &full(to))
                .await
                .map_err(|e| self.errno(e))
        };
        self.health.run(self.timeout, work).await
    }

    async fn disconnect(&self) {
        let _ = tokio::time::timeout(self.timeout, self.mount.umount()).await;
    }

    fn last_error(&self) -> Option<String> {
        self.health.get()
    }
}
