//! Moving one file, in parts, with a checkpoint after each part so that a resumed transfer
//! skips what already arrived: multipart uploads keep their upload id and the parts' ETags,
//! downloads the ranges written into `<file>.clickpart`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use click_core::store::Batch;
use click_core::store::scan_all;
use click_core::store::table::Table;
use click_core::transfers::{Direction, Transfer};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::Shared;
use super::job::{Job, JobResult, from_storage, save_batch};
use crate::cloud::{Precondition, etag};
use crate::store::AgentStore;
use click_core::ports::StorageError;
use md5::{Digest, Md5};

/// `{transfer id}/{file index}` -> [`FileState`].
const FILES: Table = Table::new("transferfile/");
/// S3 allows at most this many parts per upload.
const MAX_PARTS: u64 = 10_000;
const MIB: u64 = 1024 * 1024;
/// Downloads write to disk in pieces of this size.
const WRITE_PIECE: usize = MIB as usize;
const PARTIAL: &str = "clickpart";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct FileState {
    pub index: usize,
    pub local: PathBuf,
    pub key: String,
    pub size: u64,
    pub done: bool,
    /// Bytes per part or range; fixed when the file starts, so a resume cuts the same parts.
    pub part_size: u64,
    pub upload_id: Option<String>,
    /// Uploaded parts: number (from 1) and ETag.
    pub parts: Vec<(u32, String)>,
    /// Downloaded ranges, by index.
    pub ranges: Vec<u32>,
    /// The version of the object a download reads: every range asks for it (`If-Match`), so
    /// an object replaced in between fails the transfer instead of mixing two versions.
    #[serde(default)]
    pub etag: Option<String>,
    /// A cloud-to-cloud transfer's source object (`key` is then the destination's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_key: Option<String>,
    /// With VerifyChecksum, the MD5 (hex) of each part sent, by number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_md5s: Vec<(u32, String)>,
    /// A cloud-to-cloud source's whole-content MD5 (hex), where its provider keeps one apart
    /// from the ETag (Azure's `Content-MD5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_md5: Option<String>,
}

impl FileState {
    pub fn new(index: usize, local: PathBuf, key: String, size: u64) -> FileState {
        FileState {
            index,
            local,
            key,
            size,
            done: false,
            part_size: 0,
            upload_id: None,
            parts: Vec::new(),
            ranges: Vec::new(),
            etag: None,
            source_key: None,
            part_md5s: Vec::new(),
            source_md5: None,
        }
    }

    /// The same file, nothing of it sent yet.
    fn fresh(&self) -> FileState {
        FileState {
            done: false,
            upload_id: None,
            parts: Vec::new(),
            ranges: Vec::new(),
            part_md5s: Vec::new(),
            ..self.clone()
        }
    }

    fn row_id(transfer: &str, index: usize) -> String {
        format!("{transfer}/{index:08}")
    }

    /// What a resume need not move again.
    pub fn bytes_done(&self) -> u64 {
        if self.done {
            return self.size;
        }
        let pieces = self.parts.len() as u64 + self.ranges.len() as u64;
        let last = self.size.div_ceil(self.part_size.max(1));
        let has_last = self.parts.iter().any(|(n, _)| u64::from(*n) == last)
            || self.ranges.iter().any(|r| u64::from(*r) + 1 == last);
        let full = pieces * self.part_size;
        if has_last && !self.size.is_multiple_of(self.part_size.max(1)) {
            full - (self.part_size - self.size % self.part_size)
        } else {
            full
        }
    }

    fn pieces(&self) -> u64 {
        self.size.div_ceil(self.part_size.max(1)).max(1)
    }

    fn range(&self, index: u64) -> (u64, u64) {
        let start = index * self.part_size;
        (start, (start + self.part_size).min(self.size))
    }

    fn partial_path(&self) -> PathBuf {
        let mut name = self.local.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{PARTIAL}"));
        self.local.with_file_name(name)
    }
}

pub(crate) fn load(store: &AgentStore, transfer: &str) -> Option<Vec<FileState>> {
    let prefix = FILES.key(&format!("{transfer}/"));
    let mut out = Vec::new();
    scan_all(store, &prefix, false, |_, value| {
        if let Ok(f) = serde_json::from_slice::<FileState>(value) {
            out.push(f);
        }
        Ok(true)
    })
    .ok()?;
    (!out.is_empty()).then_some(out)
}

pub(crate) fn save_all(store: &AgentStore, transfer: &str, plan: &[FileState]) -> JobResult<()> {
    let mut batch = Batch::new();
    for f in plan {
        FILES.put(&mut batch, &FileState::row_id(transfer, f.index), f);
    }
    save_batch(store, &batch)
}

fn save_one(store: &AgentStore, transfer: &str, f: &FileState) -> JobResult<()> {
    let mut batch = Batch::new();
    FILES.put(&mut batch, &FileState::row_id(transfer, f.index), f);
    save_batch(store, &batch)
}

/// Writes the checkpoints gathered since the last flush, in one commit.
pub(crate) fn flush(job: &Job<'_>) -> JobResult<()> {
    // Checkpoints first: a range's file is listed as unsynced before its checkpoint is noted,
    // so every file behind the checkpoints taken here is synced below.
    let dirty = std::mem::take(&mut *job.dirty.lock().expect("checkpoints"));
    let unsynced = std::mem::take(&mut *job.unsynced.lock().expect("partial files"));
    crate::ports::blocking(|| {
        for file in &unsynced {
            file.sync_data()
                .map_err(|e| format!("cannot sync a partial download: {e}"))?;
        }
        Ok::<(), String>(())
    })?;
    if dirty.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    for f in dirty.values() {
        FILES.put(&mut batch, &FileState::row_id(&job.id, f.index), f);
    }
    save_batch(job.store(), &batch)
}

/// Notes a file's progress; [`flush`] records it with the next progress report. A crash
/// loses at most one interval of parts, which a resume sends again.
fn checkpoint(job: &Job<'_>, f: FileState) {
    job.dirty.lock().expect("checkpoints").insert(f.index, f);
}

/// Drops a finished transfer's checkpoints.
pub(crate) fn forget(store: &AgentStore, transfer: &str) {
    let prefix = FILES.key(&format!("{transfer}/"));
    let mut batch = Batch::new();
    let _ = scan_all(store, &prefix, false, |key, _| {
        batch.delete(key.to_vec());
        Ok(true)
    });
    let _ = save_batch(store, &batch);
}

pub(crate) async fn move_file(
    job: &Job<'_>,
    direction: Direction,
    mut f: FileState,
) -> JobResult<()> {
    if f.part_size == 0 {
        // A part is held in memory while it is sent: never more than half the memory budget
        // (S3's 5 MiB minimum aside), however large a chunk size the request asked for.
        let budget = (u64::from(job.shared.memory_mb) * MIB / 2).max(5 * MIB);
        f.part_size = job
            .options
            .chunk_size
            .min(budget)
            .max(f.size.div_ceil(MAX_PARTS))
            .max(MIB);
    }
    let moved = move_once(job, direction, f.clone()).await;
    match moved {
        // Bytes that arrived other than they left: the file goes again from the start, once.
        Err(why) if why.starts_with(MISMATCH) => {
            tracing::warn!(transfer = %job.id, key = %f.key, "{why}; sending the file again");
            move_once(job, direction, f.fresh()).await
        }
        other => other,
    }
}

async fn move_once(job: &Job<'_>, direction: Direction, f: FileState) -> JobResult<()> {
    match direction {
        Direction::Upload | Direction::Copy => upload(job, f).await,
        Direction::Download => download(job, f).await,
    }
}

/// How a failed checksum comparison's message starts.
const MISMATCH: &str = "checksum mismatch";

/// With VerifyChecksum: what was read is what the source holds. The destination checked
/// every part and object it was sent against its MD5 (`Content-MD5`) already. `expected` is
/// the ETag the bytes read make (an MD5, or a multipart upload's MD5 of part MD5s); it is
/// compared with a cloud-to-cloud source's ETag when that is a plain MD5, and with the
/// source's whole-content MD5 where its provider keeps one (`whole`: the bytes were read in
/// one piece). ETags of other forms (Azure's; another uploader's parts) say nothing.
fn verify_read(f: &FileState, expected: Option<&str>, whole: bool) -> JobResult<()> {
    let (Some(expected), Some(_)) = (expected, &f.source_key) else {
        return Ok(());
    };
    // Another writer's multipart ETag may have other part boundaries than these parts.
    let etag = f.etag.as_deref().filter(|e| etag::is_plain_md5(e));
    if let Some(etag) = etag
        && etag::same_form(etag, expected)
        && etag != expected
    {
        return Err(format!(
            "{MISMATCH} on {}: the source's ETag is {etag}, the bytes read make {expected}",
            f.key
        ));
    }
    let read = expected.trim_matches('"');
    if let Some(md5) = f.source_md5.as_deref().filter(|_| whole)
        && md5 != read
    {
        return Err(format!(
            "{MISMATCH} on {}: the source's Content-MD5 is {md5}, the bytes read make {read}",
            f.key
        ));
    }
    Ok(())
}

fn md5_hex(bytes: &[u8]) -> String {
    click_core::ports::hex(&Md5::digest(bytes))
}

/// Bytes `start..start+len` of what `f` uploads: the local file's, or a cloud-to-cloud
/// transfer's source object's.
async fn read_part(job: &Job<'_>, f: &FileState, start: u64, len: u64) -> JobResult<Bytes> {
    match &job.source {
        _ if len == 0 => Ok(Bytes::new()),
        Some(source) => super::copy::read(job, source, f, start, start + len).await,
        None => read_at(&f.local, start, len).await,
    }
}

/// A permit for `len` bytes of part buffers, so that memory stays flat however large the
/// files and however many transfers run.
async fn memory<'a>(job: &Job<'a>, len: u64) -> JobResult<tokio::sync::SemaphorePermit<'a>> {
    let mib = (len.div_ceil(MIB) as u32).clamp(1, job.shared.memory_mb);
    job.shared
        .memory
        .acquire_many(mib)
        .await
        .map_err(|_| "the transfer engine stopped".to_string())
}

async fn read_at(path: &Path, start: u64, len: u64) -> JobResult<Bytes> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut buf = vec![0u8; len as usize];
        file.read_exact_at(&mut buf, start)
            .map_err(|e| format!("{} changed while it was uploaded: {e}", path.display()))?;
        Ok(Bytes::from(buf))
    })
    .await
    .map_err(|e| e.to_string())?
}

async fn upload(job: &Job<'_>, f: FileState) -> JobResult<()> {
    if let Some(source) = job.source.as_ref().filter(|s| s.on_server)
        && f.size <= super::copy::SERVER_COPY_MAX
    {
        return copy_on_server(job, source, f).await;
    }
    if f.size <= f.part_size {
        let _permit = memory(job, f.size).await?;
        let body = read_part(job, &f, 0, f.size).await?;
        job.throttle(f.size).await;
        let md5 = job.verify.then(|| md5_hex(&body));
        let expected = md5.as_ref().map(|m| format!("\"{m}\""));
        verify_read(&f, expected.as_deref(), true)?;
        let any = Precondition::Any;
        let put = job.remote.put_object(
            &job.bucket,
            &f.key,
            body,
            job.attempts(),
            any,
            md5.as_deref(),
        );
        from_storage(put.await)?;
        job.progress.add(f.size);
        return finish(job, f);
    }
    let resumed = f.upload_id.is_some();
    let f = match &f.upload_id {
        Some(id) if !from_storage(job.remote.upload_known(&job.bucket, &f.key, id).await)? => {
            forgotten(job, f, "the upload is gone")
        }
        _ => f,
    };
    match multipart(job, f.clone()).await {
        Ok(()) => Ok(()),
        // The provider no longer knows the upload we resume (aborted, expired): start the
        // file over once rather than fail it.
        Err(Part::Provider(why)) if resumed => multipart(job, forgotten(job, f, &why))
            .await
            .map_err(Part::into_message),
        Err(e) => Err(e.into_message()),
    }
}

/// A cloud-to-cloud copy within one S3 endpoint: one CopyObject, the bytes never leave the
/// server. The caps count them all the same (they are server-to-server bytes).
async fn copy_on_server(
    job: &Job<'_>,
    source: &super::copy::Source,
    f: FileState,
) -> JobResult<()> {
    let from_key = f
        .source_key
        .as_deref()
        .ok_or("the file has no source object")?;
    job.throttle(f.size).await;
    let from = (source.bucket.as_str(), from_key);
    let written = job
        .remote
        .copy_object(&job.bucket, &f.key, from, f.etag.as_deref(), job.attempts())
        .await;
    let written = from_storage(written)?;
    job.progress.add(f.size);
    // The copy's ETag is the source's when both are one PUT's MD5.
    let expected = written.as_deref().filter(|_| job.verify);
    if let Err(why) = verify_read(&f, expected, false) {
        // Never kept: what the destination holds is not what the source said it holds.
        let _ = job.remote.delete_one(&job.bucket, &f.key).await;
        return Err(why);
    }
    finish(job, f)
}

/// `f` without the upload the provider no longer knows: the file starts over.
fn forgotten(job: &Job<'_>, f: FileState, why: &str) -> FileState {
    tracing::info!(transfer = %job.id, key = %f.key, "the provider forgot the upload ({why}); starting the file over");
    job.progress
        .done
        .fetch_sub(f.bytes_done(), std::sync::atomic::Ordering::Relaxed);
    // Checkpoints of the lost upload must not be written over the fresh one.
    job.dirty.lock().expect("checkpoints").remove(&f.index);
    FileState {
        upload_id: None,
        parts: Vec::new(),
        ..f
    }
}

/// How a multipart upload failed.
enum Part {
    /// The provider refused or failed a call: on a resumed upload, the upload it records may
    /// be gone (S3 says NoSuchUpload; some servers refuse it, or close the connection under
    /// the part), so the file starts over once.
    Provider(String),
    /// Reading the file, or recording progress.
    Local(String),
}

impl Part {
    fn into_message(self) -> String {
        match self {
            Part::Provider(m) | Part::Local(m) => m,
        }
    }
}

impl From<String> for Part {
    fn from(message: String) -> Part {
        Part::Local(message)
    }
}

fn provider(e: StorageError) -> Part {
    Part::Provider(super::job::storage(e))
}

/// Uploads `f` in parts: starts the upload (or continues the one it records), sends the parts
/// it lacks, completes it.
async fn multipart(job: &Job<'_>, f: FileState) -> Result<(), Part> {
    let upload_id = match &f.upload_id {
        Some(id) => id.clone(),
        None => {
            let id = from_storage(
                job.remote
                    .create_multipart(&job.bucket, &f.key, f.size, job.attempts())
                    .await,
            )?;
            let mut started = f.clone();
            started.upload_id = Some(id.clone());
            save_one(job.store(), &job.id, &started)?;
            id
        }
    };
    let state = Arc::new(Mutex::new(FileState {
        upload_id: Some(upload_id.clone()),
        ..f
    }));
    let pending: Vec<u64> = {
        let s = state.lock().expect("file state");
        (0..s.pieces())
            .filter(|i| !s.parts.iter().any(|(n, _)| u64::from(*n) == i + 1))
            .collect()
    };
    let snapshot = state.lock().expect("file state").clone();
    stream::iter(pending)
        .map(|i| {
            let (state, upload_id, snapshot) = (state.clone(), &upload_id, &snapshot);
            async move {
                let (start, end) = snapshot.range(i);
                let _permit = memory(job, end - start).await?;
                let body = read_part(job, snapshot, start, end - start).await?;
                job.throttle(end - start).await;
                let number = i as u32 + 1;
                let md5 = job.verify.then(|| md5_hex(&body));
                let etag = job
                    .remote
                    .upload_part(
                        &job.bucket,
                        &snapshot.key,
                        upload_id,
                        number,
                        body,
                        job.attempts(),
                        md5.as_deref(),
                    )
                    .await
                    .map_err(provider)?;
                let record = {
                    let mut s = state.lock().expect("file state");
                    s.parts.push((number, etag));
                    s.part_md5s.extend(md5.map(|m| (number, m)));
                    s.clone()
                };
                checkpoint(job, record);
                job.progress.add(end - start);
                Ok::<(), Part>(())
            }
        })
        .buffer_unordered(job.options.concurrent_chunks.max(1) as usize)
        .try_for_each(|()| async { Ok(()) })
        .await?;
    let mut done = state.lock().expect("file state").clone();
    done.parts.sort_by_key(|(n, _)| *n);
    let expected = multipart_etag(job, &mut done);
    if let Err(why) = verify_read(&done, expected.as_deref(), false) {
        // Never assembled: the parts sent are not what the source holds.
        let _ = (job.remote)
            .abort_multipart(&job.bucket, &done.key, &upload_id)
            .await;
        return Err(Part::Local(why));
    }
    job.remote
        .complete_multipart(
            &job.bucket,
            &done.key,
            &upload_id,
            &done.parts,
            job.attempts(),
            Precondition::Any,
        )
        .await
        .map_err(provider)?;
    finish(job, done).map_err(Part::Local)
}

/// With VerifyChecksum, the ETag a multipart upload of the parts read makes, when every
/// part's MD5 is known (parts sent before a restart were not hashed by this run).
fn multipart_etag(job: &Job<'_>, f: &mut FileState) -> Option<String> {
    if !job.verify || f.part_md5s.len() != f.parts.len() {
        return None;
    }
    f.part_md5s.sort_by_key(|(n, _)| *n);
    let mut all = Md5::new();
    for (_, md5) in &f.part_md5s {
        all.update(click_core::ports::unhex::<16>(md5)?);
    }
    Some(format!(
        "\"{}-{}\"",
        click_core::ports::hex(&all.finalize()),
        f.part_md5s.len()
    ))
}

fn finish(job: &Job<'_>, mut f: FileState) -> JobResult<()> {
    job.objects_done
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    job.counts.finished.inc();
    f.done = true;
    f.upload_id = None;
    f.parts.clear();
    f.part_md5s.clear();
    f.ranges.clear();
    checkpoint(job, f);
    Ok(())
}

async fn download(job: &Job<'_>, f: FileState) -> JobResult<()> {
    let partial = f.partial_path();
    let (path, size) = (partial.clone(), f.size);
    let file = tokio::task::spawn_blocking(move || -> JobResult<File> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.set_len(size)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(file)
    })
    .await
    .map_err(|e| e.to_string())??;
    let file = Arc::new(file);
    let state = Arc::new(Mutex::new(f.clone()));
    let pending: Vec<u64> = (0..f.pieces())
        .filter(|i| f.size > 0 && !f.ranges.contains(&(*i as u32)))
        .collect();
    stream::iter(pending)
        .map(|i| {
            let (file, state, f) = (file.clone(), state.clone(), &f);
            async move {
                let (start, end) = f.range(i);
                fetch_range(job, f, &file, start, end).await?;
                {
                    let mut unsynced = job.unsynced.lock().expect("partial files");
                    if !unsynced.iter().any(|u| Arc::ptr_eq(u, &file)) {
                        unsynced.push(file.clone());
                    }
                }
                let record = {
                    let mut s = state.lock().expect("file state");
                    s.ranges.push(i as u32);
                    s.clone()
                };
                checkpoint(job, record);
                Ok::<(), String>(())
            }
        })
        .buffer_unordered(job.options.concurrent_chunks.max(1) as usize)
        .try_for_each(|()| async { Ok(()) })
        .await?;
    let (partial_path, local) = (partial, f.local.clone());
    let verify = job.verify.then(|| f.etag.clone()).flatten();
    let part = f.part_size;
    tokio::task::spawn_blocking(move || -> JobResult<()> {
        file.sync_all().map_err(|e| e.to_string())?;
        let got = file.metadata().map_err(|e| e.to_string())?.len();
        if got != size {
            return Err(format!(
                "{} has {got} bytes, the object {size}",
                local.display()
            ));
        }
        if let Some(etag) = verify {
            verify_download(&partial_path, size, &etag, part)
                .inspect_err(|_| drop(std::fs::remove_file(&partial_path)))?;
        }
        std::fs::rename(&partial_path, &local).map_err(|e| format!("{}: {e}", local.display()))
    })
    .await
    .map_err(|e| e.to_string())??;
    finish(job, state.lock().expect("file state").clone())
}

/// With VerifyChecksum: the downloaded bytes make the object's ETag where it is a hash of
/// the content the agent can make. One PUT's MD5 must match; a multipart one is checked when
/// one of the usual part sizes makes it, and otherwise says nothing (the writer may have cut
/// its parts elsewhere).
fn verify_download(path: &Path, size: u64, etag: &str, part: u64) -> JobResult<()> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let made = etag::content_etags(file, size, etag, part).map_err(|e| e.to_string())?;
    if made.is_empty() || made.iter().any(|m| m == etag) || !etag::is_plain_md5(etag) {
        return Ok(());
    }
    Err(format!(
        "{MISMATCH} on {}: the object's ETag is {etag}, the bytes received make {}",
        path.display(),
        made[0]
    ))
}

/// Writes bytes `start..end` of the object into the file, retrying the range on failure.
async fn fetch_range(
    job: &Job<'_>,
    f: &FileState,
    file: &Arc<File>,
    start: u64,
    end: u64,
) -> JobResult<()> {
    let mut last = String::new();
    for attempt in 0..job.attempts() {
        if attempt > 0 {
            tokio::time::sleep(crate::cloud::backoff(attempt)).await;
        }
        match write_range(job, f, file, start, end).await {
            Ok(()) => return Ok(()),
            Err(RangeFailure { moved, why, again }) => {
                // Bytes of a failed attempt are fetched again; progress must not count them twice.
                job.progress
                    .done
                    .fetch_sub(moved, std::sync::atomic::Ordering::Relaxed);
                if !again {
                    return Err(why);
                }
                last = why;
            }
        }
    }
    Err(last)
}

/// Why one attempt at a range failed.
struct RangeFailure {
    /// Bytes it had counted as moved.
    moved: u64,
    why: String,
    /// Whether another attempt may succeed (not for a refusal or a changed object).
    again: bool,
}

impl RangeFailure {
    fn transient(moved: u64, why: impl ToString) -> RangeFailure {
        RangeFailure {
            moved,
            why: why.to_string(),
            again: true,
        }
    }
}

/// One attempt at bytes `start..end`.
async fn write_range(
    job: &Job<'_>,
    f: &FileState,
    file: &Arc<File>,
    start: u64,
    end: u64,
) -> Result<(), RangeFailure> {
    let mut resp = job
        .remote
        .get_range(&job.bucket, &f.key, start, end, f.etag.as_deref())
        .await
        .map_err(|e| RangeFailure {
            moved: 0,
            again: matches!(e, click_core::ports::StorageError::Failed(_)),
            why: super::job::storage(e),
        })?;
    // Servers that ignore If-Match still name the version they sent.
    let sent = resp
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok());
    if let (Some(sent), Some(planned)) = (sent, f.etag.as_deref())
        && crate::cloud::quoted_etag(sent) != planned
    {
        return Err(RangeFailure {
            moved: 0,
            why: format!("{} changed while it was being transferred", f.key),
            again: false,
        });
    }
    let _permit = memory(job, WRITE_PIECE as u64)
        .await
        .map_err(|e| RangeFailure::transient(0, e))?;
    let mut offset = start;
    let mut moved = 0u64;
    let mut piece = BytesMut::with_capacity(WRITE_PIECE);
    loop {
        let chunk = resp
            .chunk()
            .await
            .map_err(|e| RangeFailure::transient(moved, e.without_url()))?;
        let last = chunk.is_none();
        if let Some(c) = chunk {
            piece.extend_from_slice(&c);
        }
        if piece.len() >= WRITE_PIECE || (last && !piece.is_empty()) {
            let bytes = piece.split().freeze();
            let (file, at, n) = (file.clone(), offset, bytes.len() as u64);
            tokio::task::spawn_blocking(move || file.write_all_at(&bytes, at))
                .await
                .map_err(|e| RangeFailure::transient(moved, e))?
                .map_err(|e| RangeFailure::transient(moved, e))?;
            offset += n;
            moved += n;
            job.progress.add(n);
            job.throttle(n).await;
        }
        if last {
            break;
        }
    }
    if offset != end {
        return Err(RangeFailure::transient(
            moved,
            format!(
                "the provider sent {} of {} bytes",
                offset - start,
                end - start
            ),
        ));
    }
    Ok(())
}

/// Undoes a cancelled transfer's unfinished files: pending multipart uploads are aborted (no
/// partial object is left) and partial downloads deleted. Finished files stay.
pub(crate) async fn undo(shared: &Shared, t: &Transfer) {
    let store = &shared.app.agent.ports.store;
    let Some(plan) = load(store, &t.id) else {
        return;
    };
    let at = t.servers.as_ref().map(|s| &*s.target_url);
    let remote = super::job::provider_of(shared, &t.cloud_account_id, at).ok();
    for f in plan.iter().filter(|f| !f.done) {
        match (t.direction, &f.upload_id, &remote) {
            (Direction::Upload | Direction::Copy, Some(id), Some(remote)) => {
                if let Err(e) = remote.abort_multipart(&t.bucket, &f.key, id).await {
                    tracing::warn!(transfer = %t.id, "cannot abort a multipart upload: {e:?}");
                }
            }
            (Direction::Download, _, _) => {
                let _ = std::fs::remove_file(f.partial_path());
            }
            _ => {}
        }
    }
    forget(store, &t.id);
}
