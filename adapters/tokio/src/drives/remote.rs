//! The bucket side of a drive: ranged reads, uploads of a local file, and copies (a rename is
//! a copy then a delete), in one part or many as the size asks. A drive with
//! `cloudObjectsEncrypted` keeps its objects sealed (the core's `drives::sealed` format):
//! [`Bucket`] seals what it uploads, opens what it reads, and maps sizes both ways, so the
//! rest of the drive only ever sees plaintext.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use click_core::drives::sealed::{
    self, DEFAULT_CHUNK_SIZE, DriveKey, HEADER_LEN, ObjectLayout, ObjectOpener, ObjectSealer,
    TAG_LEN,
};
use click_core::ports::{RngExt, StorageError, hex, unhex};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

use super::cachefile::Local;
use crate::cloud::{Precondition, Provider};
use crate::ports::OsRng;

/// Tries of each call before an operation fails (transport errors and 5xx are retried).
pub const ATTEMPTS: u32 = 4;

/// S3's smallest part (but the last).
const MIN_PART: u64 = 5 << 20;

/// Plaintext bytes fetched per step of [`Bucket::stream`].
const STREAM_WINDOW: u64 = 1 << 20;

/// Headers of sealed objects kept in memory (a header is read once per object, not per
/// block).
const HEADERS_KEPT: usize = 4096;

pub fn message(e: StorageError) -> String {
    match e {
        StorageError::Failed(m) => m,
        other => format!("{other:?}"),
    }
}

/// Checks, once every byte is read and before the object becomes visible, that the source
/// did not change while it was read (so no torn copy is ever published).
pub type Unchanged<'a> = &'a (dyn Fn() -> Result<(), String> + Sync);

/// What an upload makes sure of before its object becomes visible.
#[derive(Clone, Copy)]
pub struct Checks<'a> {
    /// The source did not change while it was read.
    pub unchanged: Unchanged<'a>,
    /// The object it replaces is still the one expected (a conditional write).
    pub replacing: Precondition<'a>,
}

impl Checks<'_> {
    /// No checks: the source is stable, and whatever the bucket holds is replaced.
    pub fn none() -> Checks<'static> {
        Checks {
            unchanged: &|| Ok(()),
            replacing: Precondition::Any,
        }
    }
}

/// A multipart upload under way: kept (by a [`PartLog`]) so that an agent killed during it
/// finishes it at its next start instead of sending every part again or leaving the parts
/// in the bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub key: String,
    pub upload_id: String,
    pub part_size: u64,
    /// The sealed object's nonce prefix (hex), whose chunks the parts hold.
    pub prefix: Option<String>,
    /// Parts sent: number and ETag.
    pub parts: Vec<(u32, String)>,
}

/// Where an upload keeps its [`Progress`].
pub trait PartLog: Sync {
    /// What an earlier attempt left, if anything.
    fn earlier(&self) -> Option<Progress>;
    /// Whether the earlier attempt read the same bytes (else it is only aborted).
    fn resumable(&self) -> bool;
    /// Keeps `progress` (a new upload, or one more part).
    fn record(&self, progress: &Progress);
    /// The upload completed or was given up.
    fn forget(&self);
}

/// How big the parts of an upload are, and how many go at once.
#[derive(Clone, Copy, Debug)]
pub struct Parts {
    pub size: u64,
    pub concurrency: usize,
}

/// A drive's bucket: its objects as they are, or sealed under the drive's key.
#[derive(Clone)]
pub struct Bucket {
    pub provider: Arc<Provider>,
    pub name: String,
    sealing: Option<Arc<Sealing>>,
}

/// The key of a drive whose objects are sealed, and the headers of objects already read.
struct Sealing {
    key: DriveKey,
    headers: Mutex<HashMap<String, [u8; HEADER_LEN]>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Bucket {
    /// Bucket `name` through `provider`; objects sealed under `key` when given.
    pub fn new(provider: Arc<Provider>, name: &str, key: Option<DriveKey>) -> Bucket {
        Bucket {
            provider,
            name: name.to_string(),
            sealing: key.map(|key| {
                Arc::new(Sealing {
                    key,
                    headers: Mutex::default(),
                })
            }),
        }
    }

    /// Whether objects are sealed (their ETags then never match a local file's hash).
    pub fn sealed(&self) -> bool {
        self.sealing.is_some()
    }

    fn layout() -> ObjectLayout {
        ObjectLayout::new(DEFAULT_CHUNK_SIZE).expect("the default chunk size is valid")
    }

    /// The size a drive shows for an object of `stored` bytes. An object that is not
    /// sealed in a sealed drive (put there by another tool) shows its stored size; reading
    /// it fails.
    pub fn plain_size(&self, stored: u64) -> u64 {
        match &self.sealing {
            Some(_) => sealed::shown_len(stored),
            None => stored,
        }
    }

    /// The size of the object that holds `plain` bytes.
    pub fn stored_size(&self, plain: u64) -> u64 {
        match &self.sealing {
            Some(_) => Self::layout().sealed_len(plain).unwrap_or(u64::MAX),
            None => plain,
        }
    }

    /// Plaintext bytes `start..end` of `key`, an object of `plain_size` plaintext bytes (of
    /// version `etag`, when given).
    pub async fn fetch(
        &self,
        key: &str,
        start: u64,
        end: u64,
        plain_size: u64,
        etag: Option<&str>,
    ) -> Result<Bytes, String> {
        let Some(sealing) = &self.sealing else {
            return self.fetch_stored(key, start, end, etag).await;
        };
        // A header cached from an earlier version does not open the new one: read it again.
        for fresh in [false, true] {
            let opener = self.opener(sealing, key, fresh, etag).await?;
            let Some(range) = opener.layout().range(plain_size, start, end) else {
                return Ok(Bytes::new());
            };
            let sealed = self
                .fetch_stored(key, range.sealed_start, range.sealed_end, etag)
                .await?;
            if let Some(plain) = opener.open_range(&range, &sealed) {
                return Ok(Bytes::from(plain));
            }
        }
        Err(format!(
            "{key} does not open under this drive's key (not sealed by it, or altered)"
        ))
    }

    /// Plaintext bytes `start..end` of `key` (of `plain_size` bytes, version `etag`) as a
    /// stream of windows fetched one ahead, so memory stays bounded whatever the range.
    pub fn stream(
        &self,
        key: &str,
        start: u64,
        end: u64,
        plain_size: u64,
        etag: Option<String>,
    ) -> impl futures_util::Stream<Item = Result<Bytes, String>> + Send + 'static {
        let (bucket, key) = (self.clone(), key.to_string());
        let windows = (start..end).step_by(STREAM_WINDOW as usize);
        stream::iter(windows)
            .map(move |at| {
                let (bucket, key, etag) = (bucket.clone(), key.clone(), etag.clone());
                let to = (at + STREAM_WINDOW).min(end);
                async move {
                    bucket
                        .fetch(&key, at, to, plain_size, etag.as_deref())
                        .await
                }
            })
            .buffered(2)
    }

    async fn opener(
        &self,
        sealing: &Sealing,
        key: &str,
        fresh: bool,
        etag: Option<&str>,
    ) -> Result<ObjectOpener, String> {
        let cached = lock(&sealing.headers).get(key).copied();
        let header = match cached.filter(|_| !fresh) {
            Some(h) => h,
            None => {
                let bytes = self.fetch_stored(key, 0, HEADER_LEN as u64, etag).await?;
                let header: [u8; HEADER_LEN] = bytes[..]
                    .try_into()
                    .map_err(|_| format!("{key} is too short to be sealed"))?;
                self.remember(key, header);
                header
            }
        };
        ObjectOpener::new(&sealing.key, &header)
            .ok_or_else(|| format!("{key} is not an object sealed by a drive"))
    }

    fn remember(&self, key: &str, header: [u8; HEADER_LEN]) {
        let Some(sealing) = &self.sealing else {
            return;
        };
        let mut headers = lock(&sealing.headers);
        if headers.len() >= HEADERS_KEPT {
            headers.clear();
        }
        headers.insert(key.to_string(), header);
    }

    /// Uploads `size` bytes of `local` as `key`, unless `checks` fail; a multipart upload
    /// keeps its progress in `log`, and resumes what it holds. The new object's ETag, when
    /// the provider's answer gave it.
    pub async fn upload(
        &self,
        key: &str,
        local: &Local,
        size: u64,
        parts: Parts,
        checks: Checks<'_>,
        log: Option<&dyn PartLog>,
    ) -> Result<Option<String>, String> {
        let file = local.clone();
        let Some(sealing) = &self.sealing else {
            let source = Source::File(file);
            return self.send(key, source, size, parts, checks, log).await;
        };
        // Resumed parts hold chunks sealed under the earlier attempt's prefix. Only an attempt
        // on the same bytes lends it: a prefix sealing other plaintext would reuse nonces.
        let earlier = log
            .filter(|l| l.resumable())
            .and_then(|l| l.earlier())
            .and_then(|p| p.prefix);
        let prefix = earlier
            .and_then(|hex| unhex::<16>(&hex))
            .unwrap_or_else(|| OsRng.bytes());
        let sealer = ObjectSealer::new(&sealing.key, prefix, DEFAULT_CHUNK_SIZE)
            .ok_or("the chunk size is invalid")?;
        let header = sealer.header();
        let stored = self.stored_size(size);
        let source = Source::Sealed(file, sealer, size);
        let etag = self.send(key, source, stored, parts, checks, log).await?;
        self.remember(key, header);
        Ok(etag)
    }

    /// Uploads the whole of `local` as `key`, its progress kept in `log`.
    pub async fn upload_file(
        &self,
        key: &str,
        local: &Local,
        parts: Parts,
        log: Option<&dyn PartLog>,
    ) -> Result<(), String> {
        let size = local.len().await?;
        let checks = Checks::none();
        self.upload(key, local, size, parts, checks, log).await?;
        Ok(())
    }

    /// Aborts uploads a killed run left and no one will finish, so that their parts are not
    /// kept (and billed) in the bucket.
    pub async fn abort_all(&self, uploads: Vec<Progress>) {
        for u in uploads {
            let aborted = (self.provider)
                .abort_multipart(&self.name, &u.key, &u.upload_id)
                .await;
            match aborted {
                Ok(()) => tracing::info!(key = %u.key, "aborted an upload a killed run left"),
                Err(e) => tracing::debug!(key = %u.key, "an abandoned upload: {}", message(e)),
            }
        }
    }

    /// Copies object `from` (of `stored` bytes, as listed) to `to` through the agent, bytes
    /// as they are (a sealed object stays sealed: its chunks do not depend on its key).
    pub async fn copy(
        &self,
        from: &str,
        to: &str,
        stored: u64,
        parts: Parts,
    ) -> Result<(), String> {
        self.send(
            to,
            Source::Object(from),
            stored,
            parts,
            Checks::none(),
            None,
        )
        .await?;
        let header = (self.sealing.as_ref()).and_then(|s| lock(&s.headers).get(from).copied());
        if let Some(header) = header {
            self.remember(to, header);
        }
        Ok(())
    }

    /// Sends `size` bytes of `source` to `key`: one PUT up to the part size, else a
    /// multipart upload of `parts.concurrency` parts at a time (resuming the one `log` holds
    /// when it was for the same parts), aborted if any part fails or `checks` fail. The
    /// object's ETag, when the provider gave it.
    async fn send(
        &self,
        key: &str,
        source: Source<'_>,
        size: u64,
        parts: Parts,
        checks: Checks<'_>,
        log: Option<&dyn PartLog>,
    ) -> Result<Option<String>, String> {
        let (p, bucket) = (&*self.provider, self.name.as_str());
        let bounds = source.parts(size, parts.size);
        let earlier = log.and_then(|l| l.earlier());
        let resumable = earlier.as_ref().is_some_and(|e| {
            log.is_some_and(|l| l.resumable())
                && e.key == key
                && e.part_size == parts.size
                && e.prefix == source.prefix()
                && e.parts.iter().all(|(n, _)| (*n as usize) <= bounds.len())
        });
        if let Some(e) = earlier.as_ref().filter(|_| !resumable) {
            let _ = p.abort_multipart(bucket, &e.key, &e.upload_id).await;
        }
        if bounds.len() <= 1 {
            let body = source.read(self, 0, size).await?;
            (checks.unchanged)()?;
            let put = (p.put_object(bucket, key, body, ATTEMPTS, checks.replacing, None)).await;
            if let Some(l) = log.filter(|_| earlier.is_some()) {
                l.forget();
            }
            return put.map_err(message);
        }
        let progress = match earlier.filter(|_| resumable) {
            Some(e) => {
                tracing::info!(
                    key,
                    parts = e.parts.len(),
                    of = bounds.len(),
                    "resuming an upload"
                );
                e
            }
            None => Progress {
                key: key.to_string(),
                upload_id: p
                    .create_multipart(
                        bucket,
                        key,
                        bounds.iter().map(|(_, len)| len).sum(),
                        ATTEMPTS,
                    )
                    .await
                    .map_err(message)?,
                part_size: parts.size,
                prefix: source.prefix(),
                parts: Vec::new(),
            },
        };
        if let Some(l) = log {
            l.record(&progress);
        }
        let id = progress.upload_id.clone();
        let sent_before: HashMap<u32, String> = progress.parts.iter().cloned().collect();
        let progress = Mutex::new(progress);
        let sent: Result<Vec<(u32, String)>, String> = stream::iter(bounds.into_iter().enumerate())
            .map(|(i, (start, len))| {
                let (source, id, progress) = (&source, &id, &progress);
                let number = i as u32 + 1;
                let before = sent_before.get(&number).cloned();
                async move {
                    if let Some(etag) = before {
                        return Ok((number, etag));
                    }
                    let body = source.read(self, start, len).await?;
                    let etag = p
                        .upload_part(bucket, key, id, number, body, ATTEMPTS, None)
                        .await
                        .map_err(message)?;
                    let mut progress = lock(progress);
                    progress.parts.push((number, etag.clone()));
                    if let Some(l) = log {
                        l.record(&progress);
                    }
                    Ok((number, etag))
                }
            })
            .buffered(parts.concurrency.max(1))
            .try_collect()
            .await;
        let done = match sent.and_then(|parts| (checks.unchanged)().map(|()| parts)) {
            Ok(parts) => {
                (p.complete_multipart(bucket, key, &id, &parts, ATTEMPTS, checks.replacing))
                    .await
                    .map_err(message)
            }
            Err(e) => Err(e),
        };
        // What could not be aborted stays in the log, to be aborted (or resumed) next time.
        let settled = done.is_ok() || p.abort_multipart(bucket, key, &id).await.is_ok();
        if let Some(l) = log.filter(|_| settled) {
            l.forget();
        }
        if done.is_err() && resumable && settled {
            // The upload it resumed may be gone (completed, or expired): once more, afresh.
            tracing::info!(key, "the upload could not be resumed; starting it again");
            return Box::pin(self.send(key, source, size, parts, checks, log)).await;
        }
        done
    }
}

impl Bucket {
    /// Bytes `start..end` of `key` as stored (of version `etag`, when given).
    async fn fetch_stored(
        &self,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<Bytes, String> {
        let (p, bucket) = (&*self.provider, self.name.as_str());
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(crate::cloud::backoff(attempt)).await;
            }
            match p.get_range(bucket, key, start, end, etag).await {
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
}

/// Where an upload's bytes come from.
enum Source<'a> {
    File(Local),
    /// A local file of the given plaintext size, sealed as it is read.
    Sealed(Local, ObjectSealer, u64),
    Object(&'a str),
}

impl Source<'_> {
    /// A sealed upload's nonce prefix (hex).
    fn prefix(&self) -> Option<String> {
        match self {
            Source::Sealed(_, sealer, _) => Some(hex(&sealer.header()[HEADER_LEN - 16..])),
            _ => None,
        }
    }

    /// `(start, len)` of each part of a `size`-byte upload in parts of about `part_size`
    /// (at least S3's minimum, at most 10,000 parts). A sealed file's parts end on chunk
    /// boundaries, so that each chunk is sealed exactly once.
    fn parts(&self, size: u64, part_size: u64) -> Vec<(u64, u64)> {
        let part_size = part_size.max(MIN_PART).max(size.div_ceil(10_000));
        let (first, unit) = match self {
            Source::Sealed(..) => {
                let sealed_chunk = u64::from(DEFAULT_CHUNK_SIZE) + TAG_LEN as u64;
                (HEADER_LEN as u64, sealed_chunk)
            }
            _ => (0, 1),
        };
        let step = part_size.div_ceil(unit) * unit;
        let mut bounds = Vec::new();
        let mut start = 0;
        while start < size || bounds.is_empty() {
            let end = if start == 0 {
                first + step
            } else {
                start + step
            };
            let end = end.min(size);
            bounds.push((start, end - start));
            start = end;
        }
        bounds
    }

    async fn read(&self, bucket: &Bucket, start: u64, len: u64) -> Result<Bytes, String> {
        match self {
            Source::File(local) => local.read(start, len).await.map(Bytes::from),
            Source::Sealed(local, sealer, plain) => {
                seal_range(local, sealer, *plain, start, len).await
            }
            Source::Object(key) => bucket.fetch_stored(key, start, start + len, None).await,
        }
    }
}

/// Sealed bytes `start..start+len` of `local` (of `plain` bytes): the header,
/// then each chunk sealed from the file's bytes. Parts end on chunk boundaries, so a chunk
/// is never cut between two reads.
async fn seal_range(
    local: &Local,
    sealer: &ObjectSealer,
    plain: u64,
    start: u64,
    len: u64,
) -> Result<Bytes, String> {
    let c = u64::from(sealer.layout().chunk_size());
    let sealed_chunk = c + TAG_LEN as u64;
    let header = HEADER_LEN as u64;
    let end = start + len;
    let mut out = Vec::with_capacity(len as usize);
    if start < header {
        out.extend_from_slice(&sealer.header()[start as usize..header.min(end) as usize]);
    }
    let chunks = sealer.layout().chunk_count(plain);
    let first = start.max(header).saturating_sub(header) / sealed_chunk;
    let last = end
        .saturating_sub(header)
        .div_ceil(sealed_chunk)
        .min(chunks);
    if first < last {
        let from = first * c;
        let to = (last * c).min(plain);
        let bytes = local.read(from, to - from).await?;
        for i in first..last {
            let lo = ((i - first) * c) as usize;
            let hi = (lo + c as usize).min(bytes.len());
            let sealed = sealer
                .seal_chunk(i, &bytes[lo..hi], i + 1 == chunks)
                .ok_or("a chunk does not seal")?;
            out.extend_from_slice(&sealed);
        }
    }
    if out.len() as u64 != len {
        return Err(format!("sealed {} bytes for a part of {len}", out.len()));
    }
    Ok(Bytes::from(out))
}
