//! SMB 2/3 shares through the userspace client of the `smb2` crate (no kernel `cifs` needed):
//! one signed-in session per mount; reads and writes go through per-file pipelined handles,
//! so the session's lock is held only to open them.

use std::time::{Duration, SystemTime};

use click_core::ports::{ShareError, ShareMount};
use fuser::Errno;
use smb2::types::Dialect;
use smb2::{ClientConfig, ErrorKind, FileReader, FileWriter, RenameOptions, SmbClient, Tree};
use tokio::sync::Mutex;

use super::remote::{Entry, Health, RemoteFs, RemoteResult};

pub struct SmbShare {
    session: Mutex<(SmbClient, Tree)>,
    /// The folder of the share that is mounted ("" for its root), in the share's paths.
    folder: String,
    timeout: Duration,
    health: Health,
}

/// An open file: a reader for reads, a writer while writes go on in order.
pub struct SmbFile {
    path: String,
    reader: Option<FileReader>,
    writer: Option<(FileWriter, u64)>,
}

impl SmbShare {
    /// Signs in, checks the dialect and connects to the share (and its folder).
    pub async fn connect(m: &ShareMount, timeout: Duration) -> Result<SmbShare, ShareError> {
        let config = ClientConfig {
            addr: format!("{}:{}", bracketed(&m.host), m.port.unwrap_or(445)),
            username: m.username.clone(),
            password: m.password.clone(),
            domain: m.domain.clone(),
            auto_reconnect: true,
            timeout,
            response_timeout: Some(timeout),
            ..ClientConfig::default()
        };
        let work = async {
            let mut client = SmbClient::connect(config).await.map_err(sign_in_error)?;
            check_dialect(&client, &m.version)?;
            let tree = client
                .connect_share(&m.share)
                .await
                .map_err(|e| share_error(&m.share, e))?;
            Ok((client, tree))
        };
        let (mut client, mut tree) = tokio::time::timeout(timeout * 2, work)
            .await
            .map_err(|_| ShareError::Unreachable(String::from("the server did not answer")))??;
        if !m.folder.is_empty() {
            match client.stat(&mut tree, &m.folder).await {
                Ok(info) if info.is_directory => {}
                Ok(_) => return Err(ShareError::NotFound(format!("{} is a file", m.folder))),
                Err(e) => return Err(share_error(&m.folder, e)),
            }
        }
        Ok(SmbShare {
            session: Mutex::new((client, tree)),
            folder: m.folder.clone(),
            timeout,
            health: Health::default(),
        })
    }

    fn path(&self, rel: &str) -> String {
        super::remote::join(&self.folder, rel)
    }

    fn errno(&self, e: smb2::Error) -> Errno {
        let errno = errno_of(e.kind());
        if errno == Errno::EIO {
            self.health.fail(e.to_string());
        }
        errno
    }

    async fn finish_writer(&self, file: &mut SmbFile) -> RemoteResult<()> {
        if let Some((writer, _)) = file.writer.take() {
            writer.finish().await.map_err(|e| self.errno(e))?;
        }
        Ok(())
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn sign_in_error(e: smb2::Error) -> ShareError {
    match e.kind() {
        ErrorKind::AuthRequired | ErrorKind::AccessDenied => ShareError::Auth(e.to_string()),
        _ if matches!(e, smb2::Error::GuestSessionRefused { .. }) => {
            ShareError::Auth(e.to_string())
        }
        _ => ShareError::Unreachable(e.to_string()),
    }
}

fn share_error(what: &str, e: smb2::Error) -> ShareError {
    match e.kind() {
        ErrorKind::NotFound => ShareError::NotFound(format!("{what} does not exist")),
        ErrorKind::AccessDenied | ErrorKind::AuthRequired => {
            ShareError::Auth(format!("no access to {what}: {e}"))
        }
        _ => ShareError::Unreachable(e.to_string()),
    }
}

/// The dialect negotiated must be at least the one asked for.
fn check_dialect(client: &SmbClient, version: &str) -> Result<(), ShareError> {
    let wanted = match version {
        "3.1.1" => Dialect::Smb3_1_1,
        "3.02" => Dialect::Smb3_0_2,
        "3" | "3.0" => Dialect::Smb3_0,
        "2.1" => Dialect::Smb2_1,
        _ => Dialect::Smb2_0_2,
    };
    let got = client.params().map(|p| p.dialect);
    match got {
        Some(d) if d as u16 >= wanted as u16 => Ok(()),
        _ => Err(ShareError::Failed(format!(
            "the server speaks {got:?}, older than the SMB {version} asked for"
        ))),
    }
}

fn errno_of(kind: ErrorKind) -> Errno {
    match kind {
        ErrorKind::NotFound => Errno::ENOENT,
        ErrorKind::AccessDenied | ErrorKind::AuthRequired => Errno::EACCES,
        ErrorKind::AlreadyExists => Errno::EEXIST,
        ErrorKind::SharingViolation => Errno::EBUSY,
        ErrorKind::IsADirectory => Errno::EISDIR,
        ErrorKind::NotADirectory => Errno::ENOTDIR,
        ErrorKind::DiskFull => Errno::ENOSPC,
        ErrorKind::InvalidName => Errno::EINVAL,
        ErrorKind::TimedOut => Errno::ETIMEDOUT,
        _ => Errno::EIO,
    }
}

fn time(t: smb2::pack::FileTime) -> SystemTime {
    t.to_system_time().unwrap_or(SystemTime::UNIX_EPOCH)
}

impl RemoteFs for SmbShare {
    type File = SmbFile;

    async fn stat(&self, path: &str) -> RemoteResult<Entry> {
        let full = self.path(path);
        self.health
            .run(self.timeout, async {
                let mut s = self.session.lock().await;
                let (client, tree) = &mut *s;
                if full.is_empty() {
                    return Ok(Entry {
                        dir: true,
                        size: 0,
                        mtime: SystemTime::UNIX_EPOCH,
                    });
                }
                let info = client.stat(tree, &full).await.map_err(|e| self.errno(e))?;
                self.health.ok();
                Ok(Entry {
                    dir: info.is_directory,
                    size: info.size,
                    mtime: time(info.modified),
                })
            })
            .await
    }

    async fn list(&self, dir: &str) -> RemoteResult<Vec<(String, Entry)>> {
        let full = self.path(dir);
        self.health
            .run(self.timeout, async {
                let mut s = self.session.lock().await;
                let (client, tree) = &mut *s;
                let entries = client
                    .list_directory(tree, &full)
                    .await
                    .map_err(|e| self.errno(e))?;
                self.health.ok();
                Ok(entries
                    .into_iter()
                    .filter(|e| e.name != "." && e.name != "..")
                    .map(|e| {
                        let entry = Entry {
                            dir: e.is_directory,
                            size: e.size,
                            mtime: time(e.modified),
                        };
                        (e.name, entry)
                    })
                    .collect())
            })
            .await
    }

    async fn open(&self, path: &str, _write: bool) -> RemoteResult<SmbFile> {
        let entry = self.stat(path).await?;
        if entry.dir {
            return Err(Errno::EISDIR);
        }
        Ok(SmbFile {
            path: self.path(path),
            reader: None,
            writer: None,
        })
    }

    async fn read(&self, file: &mut SmbFile, offset: u64, len: u32) -> RemoteResult<Vec<u8>> {
        self.health
            .run(self.timeout, async {
                self.finish_writer(file).await?;
                if file.reader.is_none() {
                    let s = &mut *self.session.lock().await;
                    let reader =
                        s.0.open_file_reader(&s.1, &file.path)
                            .await
                            .map_err(|e| self.errno(e))?;
                    file.reader = Some(reader);
                }
                let reader = file.reader.as_ref().ok_or(Errno::EIO)?;
                if offset >= reader.size() {
                    return Ok(Vec::new());
                }
                let len = u64::from(len).min(reader.size() - offset);
                let data = reader
                    .read_at(offset, len)
                    .await
                    .map_err(|e| self.errno(e))?;
                self.health.ok();
                Ok(data)
            })
            .await
    }

    async fn write(&self, file: &mut SmbFile, offset: u64, data: &[u8]) -> RemoteResult<()> {
        self.health
            .run(self.timeout, async {
                // A reader opened before this write would miss it.
                if let Some(reader) = file.reader.take() {
                    let _ = reader.close().await;
                }
                if file
                    .writer
                    .as_ref()
                    .is_some_and(|(_, next)| *next != offset)
                {
                    self.finish_writer(file).await?;
                }
                if file.writer.is_none() {
                    let s = &mut *self.session.lock().await;
                    let writer =
                        s.0.create_file_writer_at(&s.1, &file.path, offset)
                            .await
                            .map_err(|e| self.errno(e))?;
                    file.writer = Some((writer, offset));
                }
                let (writer, next) = file.writer.as_mut().ok_or(Errno::EIO)?;
                writer.write_chunk(data).await.map_err(|e| self.errno(e))?;
                *next += data.len() as u64;
                Ok(())
            })
            .await
    }

    async fn flush(&self, file: &mut SmbFile) -> RemoteResult<()> {
        self.health
            .run(self.timeout, self.finish_writer(file))
            .await
    }

    async fn close(&self, mut file: SmbFile) -> RemoteResult<()> {
        let r = self.flush(&mut file).await;
        if let Some(reader) = file.reader.take() {
            let _ = tokio::time::timeout(self.timeout, reader.close()).await;
        }
        r
    }

    async fn create(&self, path: &str) -> RemoteResult<()> {
        let full = self.path(path);
        self.health
            .run(self.timeout, async {
                let s = &mut *self.session.lock().await;
                let writer =
                    s.0.create_file_writer_exclusive(&s.1, &full)
                        .await
                        .map_err(|e| self.errno(e))?;
                writer.finish().await.map_err(|e| self.errno(e))?;
                Ok(())
            })
            .await
    }

    /// Only to 0 (or the size it has): `smb2` has no call that sets a file's end.
    async fn truncate(&self, path: &str, size: u64) -> RemoteResult<()> {
        if size != 0 {
            let entry = self.stat(path).await?;
            return if entry.size == size {
                Ok(())
            } else {
                Err(Errno::EOPNOTSUPP)
            };
        }
        let full = self.path(path);
        self.health
            .run(self.timeout, async {
                let s = &mut *self.session.lock().await;
                let writer =
                    s.0.create_file_writer(&s.1, &full)
                        .await
                        .map_err(|e| self.errno(e))?;
                writer.finish().await.map_err(|e| self.errno(e))?;
                Ok(())
            })
            .await
    }

    async fn mkdir(&self, path: &str) -> RemoteResult<()> {
        let full = self.path(path);
        self.health
            .run(self.timeout, async {
                let s = &mut *self.session.lock().await;
                s.0.create_directory(&s.1, &full)
                    .await
                    .map_err(|e| self.errno(e))
            })
            .await
    }

    async fn remove_file(&self, path: &str) -> RemoteResult<()> {
        let full = self.path(path);
        self.health
            .run(self.timeout, async {
                let s = &mut *self.session.lock().await;
                s.0.delete_file(&s.1, &full)
                    .await
                    .map_err(|e| self.errno(e))
            })
            .await
    }

    async fn remove_dir(&self, path: &str) -> RemoteResult<()> {
        let full = self.path(path);
        self.health
            .run(self.timeout, async {
                let s = &mut *self.session.lock().await;
                let (client, tree) = &mut *s;
                // SMB answers a non-empty folder's delete with a generic error.
                let entries = client
                    .list_directory(tree, &full)
                    .await
                    .map_err(|e| self.errno(e))?;
                if entries.iter().any(|e| e.name != "." && e.name != "..") {
                    return Err(Errno::ENOTEMPTY);
                }
                client
                    .delete_directory(tree, &full)
                    .await
                    .map_err(|e| self.errno(e))
            })
            .await
    }

    async fn rename(&self, from: &str, to: &str) -> RemoteResult<()> {
        let (from, to) = (self.path(from), self.path(to));
        self.health
            .run(self.timeout, async {
                let s = &mut *self.session.lock().await;
                // POSIX renames replace what is at the destination.
                let options = RenameOptions::new().replace_if_exists(true);
                s.0.rename_with(&s.1, &from, &to, options)
                    .await
                    .map_err(|e| self.errno(e))
            })
            .await
    }

    async fn disconnect(&self) {
        let s = &mut *self.session.lock().await;
        let _ = tokio::time::timeout(self.timeout, s.0.disconnect_share(&s.1)).await;
    }

    fn last_error(&self) -> Option<String> {
        self.health.get()
    }
}
