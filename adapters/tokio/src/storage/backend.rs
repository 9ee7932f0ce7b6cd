//! The built-in S3 server's operations over the agent's disk: an object's bytes are a file
//! named by a random id (written to `tmp/`, hashed as it arrives, fsynced, renamed into
//! `objects/`), what each key holds is a row of the agent's store (`click_core::storage`),
//! written only once the bytes are safe; the file an object replaces is deleted after. A
//! crash leaves at most a file no row names, never a row without its bytes.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use click_core::ports::{Clock, Ports, RngExt};
use click_core::storage::buckets::{self, Bucket, CorsRule};
use click_core::storage::keys::StorageKey;
use click_core::storage::objects::{self, ObjectMeta};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use s3s::checksum::ChecksumHasher;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::access::Keys;
use crate::server::App;

/// The most keys a listing page holds (S3's).
const MAX_KEYS: usize = 1000;

pub struct Backend {
    pub app: Arc<App>,
    pub keys: Keys,
    pub disk: Arc<Disk>,
}

/// Where the storage's files are.
pub struct Disk {
    /// The folder of each region (storage location), each holding `objects/`, `tmp/` and
    /// `uploads/`; a bucket lives in its region's.
    pub roots: HashMap<String, PathBuf>,
    /// The folder of buckets whose region has none (made before regions were configured).
    pub default_root: PathBuf,
}

impl Disk {
    fn root(&self, b: &Bucket) -> &Path {
        self.roots.get(&b.region).unwrap_or(&self.default_root)
    }

    fn blob(&self, b: &Bucket, id: &str) -> PathBuf {
        self.root(b).join("objects").join(id)
    }

    /// Bytes `start..end` of object `m` of bucket `b`, in chunks of up to 64 KiB.
    pub fn read(
        &self,
        b: &Bucket,
        m: &ObjectMeta,
        start: u64,
        end: u64,
    ) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static
    {
        let segments = (m.segments(start, end).into_iter())
            .map(|(file, at, len)| (self.blob(b, &file), at, len))
            .collect();
        read_segments(segments)
    }
}

fn internal(e: impl std::fmt::Debug) -> s3s::S3Error {
    s3_error!(InternalError, "{e:?}")
}

fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

impl Backend {
    fn store(&self) -> &crate::store::AgentStore {
        &self.app.agent.ports.store
    }

    /// The key that signed `req`.
    fn signer<T>(&self, req: &S3Request<T>) -> S3Result<StorageKey> {
        let c = (req.credentials.as_ref()).ok_or_else(|| s3_error!(AccessDenied))?;
        self.keys.key(&c.access_key)
    }

    /// Bucket `name` of the signing key's account (another account's does not exist here),
    /// or, unsigned, a bucket made public.
    fn bucket<T>(&self, req: &S3Request<T>, name: &str) -> S3Result<Bucket> {
        let found = buckets::get(self.store(), name).map_err(internal)?;
        let visible = match &req.credentials {
            None => found.filter(|b| b.is_public),
            Some(_) => {
                let key = self.signer(req)?;
                found.filter(|b| b.account_id == key.account_id)
            }
        };
        visible.ok_or_else(|| s3_error!(NoSuchBucket))
    }

    fn root(&self, b: &Bucket) -> &Path {
        self.disk.root(b)
    }

    fn blob(&self, b: &Bucket, id: &str) -> PathBuf {
        self.disk.blob(b, id)
    }

    fn tmp(&self, b: &Bucket) -> PathBuf {
        self.root(b)
            .join("tmp")
            .join(self.app.agent.ports.rng().uuid())
    }

    /// What `key` holds, or NoSuchKey.
    fn object(&self, bucket: &str, key: &str) -> S3Result<ObjectMeta> {
        objects::get(self.store(), bucket, key)
            .map_err(internal)?
            .ok_or_else(|| s3_error!(NoSuchKey))
    }

    /// What `key` of `b` holds, when `if_match` (a GET's or HEAD's) lets it be read.
    fn readable(
        &self,
        b: &Bucket,
        key: &str,
        if_match: Option<&ETagCondition>,
    ) -> S3Result<ObjectMeta> {
        let m = self.object(&b.name, key)?;
        if if_match.is_some_and(|c| !matches(c, Some(&m.etag))) {
            return Err(s3_error!(PreconditionFailed));
        }
        Ok(m)
    }

    /// Streams a body into a new blob, checking what the client claimed of it; the blob's id,
    /// size and MD5 (hex), and the checksums it asked for.
    async fn receive(&self, b: &Bucket, body: Incoming) -> S3Result<(String, Received)> {
        let id = self.app.agent.ports.rng().uuid();
        let received = self.receive_to(b, body, &self.blob(b, &id)).await?;
        Ok((id, received))
    }

    /// Streams a body to `path` (through `tmp/`, fsynced, renamed), checking its length, its
    /// MD5 and its `x-amz-checksum-*` values (headers or trailers) where the client gave them:
    /// bytes that do not match are refused and leave nothing.
    async fn receive_to(&self, b: &Bucket, body: Incoming, path: &Path) -> S3Result<Received> {
        let tmp = self.tmp(b);
        let mut sums = body.claimed.hasher()?;
        let written = write_blob(&tmp, body.body, &mut sums).await;
        let (size, digest) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let sums = sums.finalize();
        let refused = if body.length.is_some_and(|l| l != size as i64) {
            Some(s3_error!(IncompleteBody))
        } else if body.md5.as_deref().is_some_and(|m| !same_md5(m, &digest)) {
            Some(s3_error!(BadDigest))
        } else {
            body.claimed.check(&sums, body.trailers.as_ref()).err()
        };
        if let Some(e) = refused {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, path).await.map_err(internal)?;
        Ok(Received {
            size,
            md5: click_core::ports::hex(&digest),
            sums,
        })
    }

    /// The folder of multipart upload `id` of `bucket`/`key`, or NoSuchUpload.
    async fn upload_dir(&self, b: &Bucket, key: &str, id: &str) -> S3Result<PathBuf> {
        let bucket = b.name.as_str();
        let valid = !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
        let dir = self.root(b).join("uploads").join(id);
        let meta: Option<Upload> = match valid {
            true => tokio::fs::read(dir.join("upload.json"))
                .await
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok()),
            false => None,
        };
        match meta {
            Some(u) if u.bucket == bucket && u.key == key => Ok(dir),
            _ => Err(s3_error!(NoSuchUpload)),
        }
    }

    /// Records `meta` as `key` of `bucket`; the files of what it replaced go.
    async fn commit(&self, b: &Bucket, key: &str, meta: &ObjectMeta) -> S3Result<()> {
        let old = objects::put(self.store(), b, key, meta).map_err(internal)?;
        if let Some(old) = old {
            self.drop_bytes(b, &old).await;
        }
        Ok(())
    }

    /// Deletes the files of an object no longer recorded.
    async fn drop_bytes(&self, b: &Bucket, m: &ObjectMeta) {
        for (file, _) in m.pieces() {
            let _ = tokio::fs::remove_file(self.blob(b, &file)).await;
        }
    }

    /// Refuses `adding` bytes more for `account_id` when its quota would be exceeded.
    fn within_quota(&self, account_id: &str, adding: u64) -> S3Result<()> {
        let quota = self.app.agent.config.storage_quota_bytes;
        if quota == 0 {
            return Ok(());
        }
        let mut used = 0;
        for b in buckets::of_account(self.store(), account_id).map_err(internal)? {
            used += objects::usage(self.store(), &b.name)
                .map_err(internal)?
                .bytes;
        }
        if used.saturating_add(adding) > quota {
            return Err(s3_error!(
                EntityTooLarge,
                "The account's storage quota ({quota} bytes) would be exceeded."
            ));
        }
        Ok(())
    }

    fn now_ms(&self) -> u64 {
        self.app.agent.ports.clock().now_ms()
    }

    /// A page of `bucket` as both listing versions give it.
    fn page(
        &self,
        bucket: &str,
        prefix: &Option<String>,
        delimiter: &Option<String>,
        after: Option<&str>,
        max_keys: Option<i32>,
    ) -> S3Result<Page> {
        let max = max_keys.map_or(MAX_KEYS, |m| (m.max(0) as usize).min(MAX_KEYS));
        let prefix = prefix.as_deref().unwrap_or_default();
        let found = objects::list(
            self.store(),
            bucket,
            prefix,
            delimiter.as_deref(),
            after,
            max,
        )
        .map_err(internal)?;
        Ok(Page {
            contents: (found.objects.into_iter())
                .map(|(k, m)| s3_object(k, &m))
                .collect(),
            prefixes: (found.prefixes.into_iter())
                .map(|p| CommonPrefix { prefix: Some(p) })
                .collect(),
            next: found.next,
            max: max as i32,
        })
    }
}

/// A listing page in S3's shapes.
struct Page {
    contents: Vec<Object>,
    prefixes: Vec<CommonPrefix>,
    /// Where the next page starts after, when there is one.
    next: Option<String>,
    /// The page size used.
    max: i32,
}

/// A multipart upload under way (`uploads/<id>/upload.json`); its parts are files beside it,
/// `part-<number>-<md5>`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Upload {
    bucket: String,
    key: String,
    content_type: Option<String>,
}

/// S3's smallest part but the last.
const MIN_PART: u64 = 5 << 20;

/// The part files of an upload folder, by number: (md5, path).
async fn parts_in(dir: &Path) -> S3Result<std::collections::BTreeMap<i32, (String, PathBuf)>> {
    let mut out = std::collections::BTreeMap::new();
    let mut entries = tokio::fs::read_dir(dir).await.map_err(internal)?;
    while let Some(e) = entries.next_entry().await.map_err(internal)? {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("part-") else {
            continue;
        };
        if let Some((n, md5)) = rest.split_once('-')
            && let Ok(n) = n.parse::<i32>()
        {
            out.insert(n, (md5.to_string(), e.path()));
        }
    }
    Ok(out)
}

/// Whether a `Content-MD5` (base64) names `digest`.
fn same_md5(content_md5: &str, digest: &[u8; 16]) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(content_md5.trim())
        .is_ok_and(|d| d == digest)
}

/// Writes `body` to `path`, hashing it; fsynced before it returns.
async fn write_blob(
    path: &Path,
    body: Option<StreamingBlob>,
    sums: &mut ChecksumHasher,
) -> S3Result<(u64, [u8; 16])> {
    let mut file = tokio::fs::File::create(path).await.map_err(internal)?;
    let mut md5 = Md5::new();
    let mut size = 0u64;
    // Chunks arrive at a few KiB each; one write per chunk would cost a blocking-pool round
    // trip each. The file writes a batch while the next one is received and hashed.
    let mut batch = BytesMut::with_capacity(WRITE_BATCH);
    if let Some(mut body) = body {
        while let Some(chunk) = body.next().await {
            let chunk: Bytes = chunk.map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
            md5.update(&chunk);
            sums.update(&chunk);
            size += chunk.len() as u64;
            batch.extend_from_slice(&chunk);
            if batch.len() >= WRITE_BATCH {
                file.write_all(&batch).await.map_err(internal)?;
                batch.clear();
            }
        }
    }
    file.write_all(&batch).await.map_err(internal)?;
    file.sync_all().await.map_err(internal)?;
    Ok((size, md5.finalize().into()))
}

/// Bytes received before they are written.
const WRITE_BATCH: usize = 256 << 10;

/// Refuses keys that would name a path climbing out of a folder (`.` or `..` segments) or
/// hold a NUL: they never become paths here, but a client that mirrors the bucket to disk
/// (rclone, `aws s3 sync`) would write them outside its folder.
fn check_key(key: &str) -> S3Result<()> {
    // A backslash too: a Windows client mirroring the bucket splits paths there.
    let climbs = key.split(['/', '\\']).any(|s| s == "." || s == "..");
    if climbs || key.contains('\0') || key.is_empty() {
        return Err(s3_error!(
            InvalidArgument,
            "Object keys may not hold '.' or '..' segments or NUL characters."
        ));
    }
    Ok(())
}

/// The [`Incoming`] body of a PutObject or UploadPart input (the same fields on both).
macro_rules! incoming {
    ($input:expr, $trailers:expr) => {{
        let given = Checksum {
            checksum_crc32: $input.checksum_crc32,
            checksum_crc32c: $input.checksum_crc32c,
            checksum_crc64nvme: $input.checksum_crc64nvme,
            checksum_sha1: $input.checksum_sha1,
            checksum_sha256: $input.checksum_sha256,
            ..Default::default()
        };
        Incoming {
            claimed: Claimed::new(given, $input.checksum_algorithm.as_ref()),
            body: $input.body,
            length: $input.content_length,
            md5: $input.content_md5,
            trailers: $trailers,
        }
    }};
}

/// A body as it arrives, with what the client claims of it.
struct Incoming {
    body: Option<StreamingBlob>,
    length: Option<i64>,
    /// `Content-MD5` (base64).
    md5: Option<String>,
    claimed: Claimed,
    /// Where `x-amz-checksum-*` trailers are found once the body is read.
    trailers: Option<s3s::TrailingHeaders>,
}

/// A body written: its size, MD5 (hex) and the checksums the client asked for.
struct Received {
    size: u64,
    md5: String,
    sums: Checksum,
}

/// The `x-amz-checksum-*` values a client gave in headers, and the algorithm it named
/// (whose value may come in a trailer).
struct Claimed {
    given: Checksum,
    algorithm: Option<String>,
}

/// The algorithms a checksum names, with its fields.
const ALGORITHMS: [&str; 5] = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"];

fn field<'a>(c: &'a mut Checksum, algorithm: &str) -> Option<&'a mut Option<String>> {
    match algorithm {
        "CRC32" => Some(&mut c.checksum_crc32),
        "CRC32C" => Some(&mut c.checksum_crc32c),
        "CRC64NVME" => Some(&mut c.checksum_crc64nvme),
        "SHA1" => Some(&mut c.checksum_sha1),
        "SHA256" => Some(&mut c.checksum_sha256),
        _ => None,
    }
}

impl Claimed {
    fn new(given: Checksum, algorithm: Option<&ChecksumAlgorithm>) -> Claimed {
        Claimed {
            given,
            algorithm: algorithm.map(|a| a.as_str().to_ascii_uppercase()),
        }
    }

    /// A hasher for every algorithm given or named; an unknown one is refused.
    fn hasher(&self) -> S3Result<ChecksumHasher> {
        let mut wanted = self.given.clone();
        if let Some(a) = &self.algorithm {
            let slot = field(&mut wanted, a)
                .ok_or_else(|| s3_error!(InvalidArgument, "Unknown checksum algorithm {a}."))?;
            slot.get_or_insert_with(String::new);
        }
        fn on<T: Default>(v: &Option<String>) -> Option<T> {
            v.as_ref().map(|_| T::default())
        }
        Ok(ChecksumHasher {
            crc32: on(&wanted.checksum_crc32),
            crc32c: on(&wanted.checksum_crc32c),
            crc64nvme: on(&wanted.checksum_crc64nvme),
            sha1: on(&wanted.checksum_sha1),
            sha256: on(&wanted.checksum_sha256),
        })
    }

    /// Whether what was received (`got`) matches every value given, in headers or in the
    /// trailers that followed the body.
    fn check(&self, got: &Checksum, trailers: Option<&s3s::TrailingHeaders>) -> S3Result<()> {
        let mut given = self.given.clone();
        if let Some(headers) = trailers.and_then(|t| t.take()) {
            for a in ALGORITHMS {
                let name = format!("x-amz-checksum-{}", a.to_ascii_lowercase());
                if let (Some(v), Some(slot)) = (headers.get(&name), field(&mut given, a)) {
                    *slot = v.to_str().ok().map(str::to_string);
                }
            }
        }
        let mut got = got.clone();
        for a in ALGORITHMS {
            let want = field(&mut given, a).and_then(|v| v.take());
            let have = field(&mut got, a).and_then(|v| v.take());
            if let Some(want) = want
                && have.as_deref() != Some(want.as_str())
            {
                return Err(s3_error!(
                    BadDigest,
                    "The {a} checksum does not match the bytes received."
                ));
            }
        }
        Ok(())
    }
}

/// Writes `files` one after the other to `path`, fsynced.
async fn join_files(path: &Path, files: &[PathBuf]) -> S3Result<()> {
    let mut out = tokio::fs::File::create(path).await.map_err(internal)?;
    for file in files {
        let mut input = tokio::fs::File::open(file).await.map_err(internal)?;
        tokio::io::copy(&mut input, &mut out)
            .await
            .map_err(internal)?;
    }
    out.sync_all().await.map_err(internal)
}

/// What a GET reads: a file, where to start in it, and how many bytes.
type Segment = (PathBuf, u64, u64);

/// Opens a segment's file where it starts.
async fn open_segment(
    (path, at, len): Segment,
) -> std::io::Result<tokio::io::Take<tokio::fs::File>> {
    let mut file = tokio::fs::File::open(&path).await?;
    file.seek(SeekFrom::Start(at)).await?;
    Ok(file.take(len))
}

/// The bytes of `segments` one after the other, in chunks of up to 64 KiB; it ends at the
/// first error.
fn read_segments(
    segments: std::collections::VecDeque<Segment>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync + 'static {
    type Reading = Option<tokio::io::Take<tokio::fs::File>>;
    let state: Option<(std::collections::VecDeque<Segment>, Reading)> = Some((segments, None));
    futures_util::stream::unfold(state, |state| async move {
        let (mut left, mut reading) = state?;
        loop {
            let reader = match reading.as_mut() {
                Some(r) => r,
                None => match open_segment(left.pop_front()?).await {
                    Ok(r) => reading.insert(r),
                    Err(e) => return Some((Err(e), None)),
                },
            };
            let mut buf = vec![0u8; 1 << 16];
            match reader.read(&mut buf).await {
                Ok(0) => reading = None,
                Ok(n) => {
                    buf.truncate(n);
                    return Some((Ok(Bytes::from(buf)), Some((left, reading))));
                }
                Err(e) => return Some((Err(e), None)),
            }
        }
    })
}

/// Whether `condition` (`If-Match`) holds for an object of ETag `etag` (`None`: no object).
fn matches(condition: &ETagCondition, etag: Option<&str>) -> bool {
    match (condition, etag) {
        (ETagCondition::Any, e) => e.is_some(),
        (ETagCondition::ETag(want), Some(e)) => want.value() == e,
        (ETagCondition::ETag(_), None) => false,
    }
}

fn s3_object(key: String, m: &ObjectMeta) -> Object {
    Object {
        key: Some(key),
        size: Some(m.size as i64),
        e_tag: Some(ETag::Strong(m.etag.clone())),
        last_modified: Some(timestamp(m.modified_ms)),
        ..Default::default()
    }
}

#[async_trait::async_trait]
impl S3 for Backend {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let key = self.signer(&req)?;
        let all = buckets::of_account(self.store(), &key.account_id).map_err(internal)?;
        let listed = all
            .into_iter()
            .filter(|b| key.reaches(&b.name))
            .map(|b| s3s::dto::Bucket {
                name: Some(b.name),
                creation_date: Some(timestamp(b.create_ms)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(listed),
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let key = self.signer(&req)?;
        if !key.all_buckets {
            return Err(s3_error!(
                AccessDenied,
                "Only a key for all buckets makes one."
            ));
        }
        let b = Bucket {
            name: req.input.bucket.clone(),
            account_id: key.account_id.clone(),
            cloud_account_id: key.cloud_account_id.clone(),
            create_ms: self.now_ms(),
            object_lock_enabled: req.input.object_lock_enabled_for_bucket.unwrap_or(false),
            ..Bucket::default()
        };
        match buckets::get(self.store(), &b.name).map_err(internal)? {
            Some(there) if there.account_id == key.account_id => {
                return Err(s3_error!(BucketAlreadyOwnedByYou));
            }
            Some(_) => return Err(s3_error!(BucketAlreadyExists)),
            None => {}
        }
        buckets::create(self.store(), &b).map_err(|e| s3_error!(InvalidBucketName, "{e:?}"))?;
        Ok(S3Response::new(CreateBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.bucket(&req, &req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        if !buckets::is_empty(self.store(), &b.name).map_err(internal)? {
            return Err(s3_error!(BucketNotEmpty));
        }
        buckets::delete(self.store(), &b).map_err(internal)?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    /// CORS is off until a bucket's owner sets rules (S3's PutBucketCors); the listener
    /// answers preflights and adds the headers by them (`super::cors`).
    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let rules = req.input.cors_configuration.cors_rules;
        if rules.is_empty() || rules.len() > 100 {
            return Err(s3_error!(MalformedXML, "Give 1 to 100 CORS rules."));
        }
        let rules = rules
            .into_iter()
            .map(|r| CorsRule {
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: r.allowed_headers.unwrap_or_default(),
                expose_headers: r.expose_headers.unwrap_or_default(),
                max_age_seconds: r.max_age_seconds,
            })
            .collect();
        buckets::set_cors(self.store(), &b.name, rules).map_err(internal)?;
        Ok(S3Response::new(PutBucketCorsOutput::default()))
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        if b.cors.is_empty() {
            return Err(s3_error!(NoSuchCORSConfiguration));
        }
        let rules = (b.cors.into_iter())
            .map(|r| CORSRule {
                allowed_origins: r.allowed_origins,
                allowed_methods: r.allowed_methods,
                allowed_headers: Some(r.allowed_headers),
                expose_headers: Some(r.expose_headers),
                max_age_seconds: r.max_age_seconds,
                id: None,
            })
            .collect();
        Ok(S3Response::new(GetBucketCorsOutput {
            cors_rules: Some(rules),
        }))
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        buckets::set_cors(self.store(), &b.name, Vec::new()).map_err(internal)?;
        Ok(S3Response::new(DeleteBucketCorsOutput::default()))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        check_key(&input.key)?;
        let there = objects::get(self.store(), &b.name, &input.key).map_err(internal)?;
        let etag = there.as_ref().map(|m| m.etag.as_str());
        if input
            .if_none_match
            .as_ref()
            .is_some_and(|c| matches(c, etag))
            || input.if_match.as_ref().is_some_and(|c| !matches(c, etag))
        {
            return Err(s3_error!(PreconditionFailed));
        }
        let length = input.content_length.unwrap_or(0).max(0) as u64;
        self.within_quota(&b.account_id, length)?;
        let incoming = incoming!(input, req.trailing_headers);
        let (blob, got) = self.receive(&b, incoming).await?;
        let meta = ObjectMeta {
            blob,
            size: got.size,
            etag: got.md5,
            modified_ms: self.now_ms(),
            content_type: input.content_type,
            parts: Vec::new(),
        };
        self.commit(&b, &input.key, &meta).await?;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(ETag::Strong(meta.etag)),
            checksum_crc32: got.sums.checksum_crc32,
            checksum_crc32c: got.sums.checksum_crc32c,
            checksum_crc64nvme: got.sums.checksum_crc64nvme,
            checksum_sha1: got.sums.checksum_sha1,
            checksum_sha256: got.sums.checksum_sha256,
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        let m = self.readable(&b, &input.key, input.if_match.as_ref())?;
        let range = match &input.range {
            Some(r) => Some(r.check(m.size).map_err(|_| s3_error!(InvalidRange))?),
            None => None,
        };
        let (start, end) = range.as_ref().map_or((0, m.size), |r| (r.start, r.end));
        let stream = self.disk.read(&b, &m, start, end);
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some((end - start) as i64),
            content_range: range
                .as_ref()
                .map(|r| format!("bytes {}-{}/{}", r.start, r.end - 1, m.size)),
            content_type: m.content_type.clone(),
            e_tag: Some(ETag::Strong(m.etag.clone())),
            last_modified: Some(timestamp(m.modified_ms)),
            accept_ranges: Some("bytes".into()),
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let m = self.readable(&b, &req.input.key, req.input.if_match.as_ref())?;
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(m.size as i64),
            content_type: m.content_type.clone(),
            e_tag: Some(ETag::Strong(m.etag.clone())),
            last_modified: Some(timestamp(m.modified_ms)),
            accept_ranges: Some("bytes".into()),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        if let Some(old) = objects::delete(self.store(), &b, &req.input.key).map_err(internal)? {
            self.drop_bytes(&b, &old).await;
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        let after = (input.continuation_token.as_deref()).or(input.start_after.as_deref());
        let p = self.page(
            &b.name,
            &input.prefix,
            &input.delimiter,
            after,
            input.max_keys,
        )?;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(b.name),
            key_count: Some((p.contents.len() + p.prefixes.len()) as i32),
            max_keys: Some(p.max),
            is_truncated: Some(p.next.is_some()),
            next_continuation_token: p.next,
            contents: Some(p.contents),
            common_prefixes: Some(p.prefixes),
            prefix: input.prefix,
            delimiter: input.delimiter,
            continuation_token: input.continuation_token,
            start_after: input.start_after,
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        let after = input.marker.as_deref();
        let p = self.page(
            &b.name,
            &input.prefix,
            &input.delimiter,
            after,
            input.max_keys,
        )?;
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(b.name),
            max_keys: Some(p.max),
            is_truncated: Some(p.next.is_some()),
            next_marker: p.next,
            contents: Some(p.contents),
            common_prefixes: Some(p.prefixes),
            prefix: input.prefix,
            delimiter: input.delimiter,
            marker: input.marker,
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        check_key(&req.input.key)?;
        let id = self.app.agent.ports.rng().uuid();
        let dir = self.root(&b).join("uploads").join(&id);
        tokio::fs::create_dir_all(&dir).await.map_err(internal)?;
        let upload = Upload {
            bucket: b.name.clone(),
            key: req.input.key.clone(),
            content_type: req.input.content_type.clone(),
        };
        let bytes = serde_json::to_vec(&upload).map_err(internal)?;
        let tmp = dir.join("upload.json.tmp");
        tokio::fs::write(&tmp, bytes).await.map_err(internal)?;
        tokio::fs::rename(&tmp, dir.join("upload.json"))
            .await
            .map_err(internal)?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(b.name),
            key: Some(req.input.key),
            upload_id: Some(id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part numbers go from 1 to 10000."
            ));
        }
        let dir = self.upload_dir(&b, &input.key, &input.upload_id).await?;
        let length = input.content_length.unwrap_or(0).max(0) as u64;
        self.within_quota(&b.account_id, length)?;
        let n = input.part_number;
        let received = self.tmp(&b);
        let incoming = incoming!(input, req.trailing_headers);
        let got = self.receive_to(&b, incoming, &received).await?;
        let md5 = got.md5;
        // A part sent again replaces the one before.
        if let Some((_, old)) = parts_in(&dir).await?.remove(&n) {
            let _ = tokio::fs::remove_file(old).await;
        }
        let part = dir.join(format!("part-{n}-{md5}"));
        tokio::fs::rename(&received, &part)
            .await
            .map_err(internal)?;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(md5)),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        let dir = self.upload_dir(&b, &input.key, &input.upload_id).await?;
        let upload: Upload = serde_json::from_slice(
            &tokio::fs::read(dir.join("upload.json"))
                .await
                .map_err(internal)?,
        )
        .map_err(internal)?;
        let listed = (input.multipart_upload.and_then(|m| m.parts)).unwrap_or_default();
        if listed.is_empty() {
            return Err(s3_error!(MalformedXML, "The upload names no part."));
        }
        let have = parts_in(&dir).await?;
        let mut chosen = Vec::with_capacity(listed.len());
        let mut last = 0;
        for p in &listed {
            let n = p.part_number.unwrap_or(0);
            if n <= last {
                return Err(s3_error!(InvalidPartOrder));
            }
            last = n;
            let want = p
                .e_tag
                .as_ref()
                .map(|e| e.value().trim_matches('"').to_string());
            match have.get(&n) {
                Some((md5, path)) if want.as_deref().is_none_or(|w| w == md5) => {
                    chosen.push((md5.clone(), path.clone()));
                }
                _ => return Err(s3_error!(InvalidPart, "Part {n} was not uploaded.")),
            }
        }
        let mut sizes = Vec::with_capacity(chosen.len());
        for (i, (_, path)) in chosen.iter().enumerate() {
            let len = tokio::fs::metadata(path).await.map_err(internal)?.len();
            // Every part but the last holds at least 5 MiB, as S3 requires.
            if len < MIN_PART && i + 1 < chosen.len() {
                return Err(s3_error!(EntityTooSmall));
            }
            sizes.push(len);
        }
        let size: u64 = sizes.iter().sum();
        self.within_quota(&b.account_id, size)?;
        // The parts become the object as they are (each fsynced when it arrived): moved in,
        // nothing copied.
        let mut all = Md5::new();
        let mut parts = Vec::with_capacity(chosen.len());
        for ((md5, path), len) in chosen.iter().zip(sizes) {
            all.update(
                click_core::ports::unhex::<16>(md5).ok_or_else(|| internal("a part's name"))?,
            );
            let id = self.app.agent.ports.rng().uuid();
            tokio::fs::rename(path, self.blob(&b, &id))
                .await
                .map_err(internal)?;
            parts.push((id, len));
        }
        let etag = format!(
            "{}-{}",
            click_core::ports::hex(&all.finalize()),
            parts.len()
        );
        let meta = ObjectMeta {
            blob: String::new(),
            size,
            etag: etag.clone(),
            modified_ms: self.now_ms(),
            content_type: upload.content_type,
            parts,
        };
        self.commit(&b, &input.key, &meta).await?;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(b.name),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        let dir = self.upload_dir(&b, &input.key, &input.upload_id).await?;
        tokio::fs::remove_dir_all(&dir).await.map_err(internal)?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    /// The parts received so far, by number, a page at a time: how a client resumes an
    /// upload it was cut off from.
    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let input = req.input;
        let dir = self.upload_dir(&b, &input.key, &input.upload_id).await?;
        let max = input.max_parts.unwrap_or(1000).clamp(1, 1000);
        let after = input.part_number_marker.unwrap_or(0);
        let mut parts = Vec::new();
        let mut next = None;
        for (n, (md5, path)) in parts_in(&dir).await?.range(after + 1..) {
            if parts.len() == max as usize {
                next = parts.last().and_then(|p: &Part| p.part_number);
                break;
            }
            let meta = tokio::fs::metadata(path).await.map_err(internal)?;
            parts.push(Part {
                part_number: Some(*n),
                e_tag: Some(ETag::Strong(md5.clone())),
                size: Some(meta.len() as i64),
                last_modified: meta.modified().ok().map(Timestamp::from),
                ..Default::default()
            });
        }
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(b.name),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(max),
            part_number_marker: input.part_number_marker,
            is_truncated: Some(next.is_some()),
            next_part_number_marker: next,
            parts: Some(parts),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        check_key(&req.input.key)?;
        let CopySource::Bucket { bucket, key, .. } = &req.input.copy_source else {
            return Err(s3_error!(NotImplemented, "Access points are not served."));
        };
        // The source is read: the key must reach it and may read.
        let signer = self.signer(&req)?;
        if !signer.reaches(bucket) || !signer.permission.reads() {
            return Err(s3_error!(AccessDenied, "This key may not read {bucket}."));
        }
        let from = self.bucket(&req, bucket)?;
        let m = self.object(&from.name, key)?;
        if let Some(c) = &req.input.copy_source_if_match
            && !matches(c, Some(&m.etag))
        {
            return Err(s3_error!(PreconditionFailed));
        }
        self.within_quota(&b.account_id, m.size)?;
        let id = self.app.agent.ports.rng().uuid();
        let tmp = self.root(&b).join("tmp").join(&id);
        let pieces: Vec<PathBuf> = (m.pieces().into_iter())
            .map(|(file, _)| self.blob(&from, &file))
            .collect();
        join_files(&tmp, &pieces).await?;
        tokio::fs::rename(&tmp, self.blob(&b, &id))
            .await
            .map_err(internal)?;
        let copy = ObjectMeta {
            blob: id,
            modified_ms: self.now_ms(),
            parts: Vec::new(),
            ..m
        };
        self.commit(&b, &req.input.key, &copy).await?;
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(copy.etag)),
                last_modified: Some(timestamp(copy.modified_ms)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let b = self.bucket(&req, &req.input.bucket)?;
        let mut deleted = Vec::new();
        for o in &req.input.delete.objects {
            let gone = objects::delete(self.store(), &b, &o.key).map_err(internal)?;
            if let Some(old) = gone {
                self.drop_bytes(&b, &old).await;
            }
            deleted.push(DeletedObject {
                key: Some(o.key.clone()),
                ..Default::default()
            });
        }
        let quiet = req.input.delete.quiet.unwrap_or(false);
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet).then_some(deleted),
            ..Default::default()
        }))
    }
}
