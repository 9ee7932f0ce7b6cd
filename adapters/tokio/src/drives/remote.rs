//! The bucket side of a drive: ranged reads, uploads of a cache file, and copies (a rename is
//! a copy then a delete), in one part or many as the size asks.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use click_core::ports::StorageError;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::cloud::Provider;

/// Tries of each call before an operation fails (transport errors and 5xx are retried).
pub const ATTEMPTS: u32 = 4;

/// S3's smallest part (but the last).
const MIN_PART: u64 = 5 << 20;

pub fn message(e: StorageError) -> String {
    match e {
        StorageError::Failed(m) => m,
        other => format!("{other:?}"),
    }
}

/// Bytes `start..end` of `key`.
pub async fn fetch(
    p: &Provider,
    bucket: &str,
    key: &str,
    start: u64,
    end: u64,
) -> Result<Bytes, String> {
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(crate::cloud::backoff(attempt)).await;
        }
        match p.get_range(bucket, key, start, end, None).await {
            Ok(resp) => match resp.bytes().await {
                Ok(b) if b.len() as u64 == end - start => return Ok(b),
                Ok(b) => last = format!("got {} bytes of {}", b.len(), end - start),
                Err(e) => last = e.to_string(),
            },
            Err(e @ (StorageError::NotFound(_) | StorageError::Denied(_))) => {
                return Err(message(e));
            }
            Err(e) => last = message(e),
        }
    }
    Err(last)
}

async fn read_at(path: &Path, start: u64, len: u64) -> Result<Bytes, String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, start)
            .map_err(|e| e.to_string())?;
        Ok(Bytes::from(buf))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Where a part's bytes come from.
enum Source<'a> {
    File(PathBuf),
    Object(&'a str),
}

impl Source<'_> {
    async fn read(
        &self,
        p: &Provider,
        bucket: &str,
        start: u64,
        len: u64,
    ) -> Result<Bytes, String> {
        match self {
            Source::File(path) => read_at(path, start, len).await,
            Source::Object(key) => fetch(p, bucket, key, start, start + len).await,
        }
    }
}

/// Checks, once every byte is read and before the object becomes visible, that the source
/// did not change while it was read (so no torn copy is ever published).
pub type Unchanged<'a> = &'a (dyn Fn() -> Result<(), String> + Sync);

/// Sends `size` bytes of `source` to `key`: one PUT up to `part_size`, else a multipart
/// upload of `concurrency` parts at a time, aborted if any part fails or `unchanged` fails.
#[allow(clippy::too_many_arguments)]
async fn send(
    p: &Provider,
    bucket: &str,
    key: &str,
    source: Source<'_>,
    size: u64,
    part_size: u64,
    concurrency: usize,
    unchanged: Unchanged<'_>,
) -> Result<(), String> {
    let part_size = part_size.max(MIN_PART).max(size.div_ceil(10_000));
    if size <= part_size {
        let body = source.read(p, bucket, 0, size).await?;
        unchanged()?;
        return p
            .put_object(bucket, key, body, ATTEMPTS)
            .await
            .map_err(message);
    }
    let id = p
        .create_multipart(bucket, key, ATTEMPTS)
        .await
        .map_err(message)?;
    let parts = size.div_ceil(part_size);
    let sent: Result<Vec<(u32, String)>, String> = stream::iter(0..parts)
        .map(|i| {
            let (source, id) = (&source, &id);
            async move {
                let start = i * part_size;
                let len = part_size.min(size - start);
                let body = source.read(p, bucket, start, len).await?;
                let number = i as u32 + 1;
                p.upload_part(bucket, key, id, number, body, ATTEMPTS)
                    .await
                    .map(|etag| (number, etag))
                    .map_err(message)
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await;
    let done = match sent.and_then(|parts| unchanged().map(|()| parts)) {
        Ok(parts) => p
            .complete_multipart(bucket, key, &id, &parts, ATTEMPTS)
            .await
            .map_err(message),
        Err(e) => Err(e),
    };
    if done.is_err() {
        let _ = p.abort_multipart(bucket, key, &id).await;
    }
    done
}

/// Uploads the local file `path` as `key`.
pub async fn upload(
    p: &Provider,
    bucket: &str,
    key: &str,
    path: &Path,
    part_size: u64,
    concurrency: usize,
) -> Result<(), String> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|e| e.to_string())?
        .len();
    upload_unchanged(
        p,
        bucket,
        key,
        path,
        size,
        (part_size, concurrency),
        &|| Ok(()),
    )
    .await
}

/// Uploads `size` bytes of the local file `path` as `key`, in parts of `parts.0`, `parts.1`
/// at a time, unless `unchanged` says the file changed while it was read.
pub async fn upload_unchanged(
    p: &Provider,
    bucket: &str,
    key: &str,
    path: &Path,
    size: u64,
    parts: (u64, usize),
    unchanged: Unchanged<'_>,
) -> Result<(), String> {
    let source = Source::File(path.to_path_buf());
    send(p, bucket, key, source, size, parts.0, parts.1, unchanged).await
}

/// Copies object `from` (of `size` bytes) to `to` through the agent.
pub async fn copy(
    p: &Provider,
    bucket: &str,
    from: &str,
    to: &str,
    size: u64,
    part_size: u64,
    concurrency: usize,
) -> Result<(), String> {
    send(
        p,
        bucket,
        to,
        Source::Object(from),
        size,
        part_size,
        concurrency,
        &|| Ok(()),
    )
    .await
}
