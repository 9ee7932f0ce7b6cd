//! What the FUSE layer needs of a share's server, whatever protocol it speaks: paths relative
//! to the mounted folder of the share ("" is its root, "a/b" below it), errors as errnos.

use std::future::Future;
use std::time::{Duration, SystemTime};

use fuser::Errno;

pub type RemoteResult<T> = Result<T, Errno>;

/// A file or folder on the server.
#[derive(Clone, Debug)]
pub struct Entry {
    pub dir: bool,
    pub size: u64,
    pub mtime: SystemTime,
}

/// A share's server. Every call is bounded by the mount's timeout, so a server that stops
/// answering fails the call (EIO / ETIMEDOUT) instead of hanging the mount.
pub trait RemoteFs: Send + Sync + 'static {
    /// An open file.
    type File: Send + 'static;

    fn stat(&self, path: &str) -> impl Future<Output = RemoteResult<Entry>> + Send;
    fn list(&self, dir: &str) -> impl Future<Output = RemoteResult<Vec<(String, Entry)>>> + Send;
    /// Opens a file, for writing too when `write`.
    fn open(
        &self,
        path: &str,
        write: bool,
    ) -> impl Future<Output = RemoteResult<Self::File>> + Send;
    fn read(
        &self,
        file: &mut Self::File,
        offset: u64,
        len: u32,
    ) -> impl Future<Output = RemoteResult<Vec<u8>>> + Send;
    fn write(
        &self,
        file: &mut Self::File,
        offset: u64,
        data: &[u8],
    ) -> impl Future<Output = RemoteResult<()>> + Send;
    /// Makes what was written durable on the server.
    fn flush(&self, file: &mut Self::File) -> impl Future<Output = RemoteResult<()>> + Send;
    fn close(&self, file: Self::File) -> impl Future<Output = RemoteResult<()>> + Send;
    /// A new empty file; EEXIST if the name is taken.
    fn create(&self, path: &str) -> impl Future<Output = RemoteResult<()>> + Send;
    fn truncate(&self, path: &str, size: u64) -> impl Future<Output = RemoteResult<()>> + Send;
    fn mkdir(&self, path: &str) -> impl Future<Output = RemoteResult<()>> + Send;
    fn remove_file(&self, path: &str) -> impl Future<Output = RemoteResult<()>> + Send;
    fn remove_dir(&self, path: &str) -> impl Future<Output = RemoteResult<()>> + Send;
    fn rename(&self, from: &str, to: &str) -> impl Future<Output = RemoteResult<()>> + Send;
    /// Ends the session with the server.
    fn disconnect(&self) -> impl Future<Output = ()> + Send;
    /// Why the server last failed a call, until a call succeeds again.
    fn last_error(&self) -> Option<String>;
}

/// The last connection-level failure of a server, shown in the share's `mountError` until a
/// call succeeds again.
#[derive(Default)]
pub struct Health(std::sync::Mutex<Option<String>>);

impl Health {
    pub fn fail(&self, why: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    pub fn ok(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `work` bounded by `limit`; a timeout is noted as the server not answering. (Successes
    /// are noted by the calls sure to have reached the server: some answer locally.)
    pub async fn run<T>(
        &self,
        limit: Duration,
        work: impl Future<Output = RemoteResult<T>>,
    ) -> RemoteResult<T> {
        match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => {
                self.fail(format!(
                    "the server did not answer within {}s",
                    limit.as_secs()
                ));
                Err(Errno::ETIMEDOUT)
            }
        }
    }
}

/// `dir/name` of the share's paths.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
