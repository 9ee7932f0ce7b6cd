//! Response bodies streamed from a cloud provider (Get Object Stream): the core names the
//! object and the range, this host relays the provider's bytes as they arrive, so memory stays
//! flat whatever the range's size. An encrypted drive's object is opened on the way: the range
//! is one of its plaintext.

use std::sync::Arc;

use bytes::Bytes;
use click_core::ports::{ObjectRead, StorageError};
use click_core::{ApiError, ErrorCode};
use futures_util::TryStreamExt;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use crate::cloud::CloudStorage;
use crate::drives::{Bucket, DriveManager};

/// A streamed body; a provider failure mid-way aborts the response (the client sees a short
/// body, never wrong bytes).
pub type Streamed = BoxBody<Bytes, std::io::Error>;

fn failed(e: StorageError) -> ApiError {
    match e {
        StorageError::NotFound(_) => ApiError::not_found("The object"),
        StorageError::Denied(why) => ApiError::access(format!("The provider refused: {why}")),
        other => ApiError::new(
            ErrorCode::DownloadObject,
            format!("The provider could not be read: {other:?}"),
        ),
    }
}

/// The body for `read`, and its length; or the error to answer instead.
pub async fn open(
    cloud: &CloudStorage,
    drives: &DriveManager,
    read: &ObjectRead,
) -> Result<(Streamed, u64), ApiError> {
    let provider = cloud.provider(&read.target).map_err(failed)?;
    let stored = provider
        .stat(&read.bucket, &read.key, 3)
        .await
        .map_err(failed)?;
    let key = read
        .sealed
        .as_deref()
        .map(|place| drives.objects_key_at(place));
    let bucket = Bucket::new(Arc::new(provider), &read.bucket, key);
    let size = bucket.plain_size(stored.size);
    if read.start >= size.max(1) && !(read.start == 0 && size == 0) {
        return Err(ApiError::invalid(format!(
            "'start' is beyond the object's last byte (its size is {size})."
        )));
    }
    let end = read.end.map_or(size, |e| e.saturating_add(1).min(size));
    if end <= read.start {
        return Ok((empty(), 0));
    }
    if bucket.sealed() {
        let frames = bucket
            .stream(&read.key, read.start, end, size, stored.etag)
            .map_ok(Frame::data)
            .map_err(std::io::Error::other);
        return Ok((StreamBody::new(frames).boxed(), end - read.start));
    }
    let provider = &bucket.provider;
    let resp = provider
        .get_range(
            &read.bucket,
            &read.key,
            read.start,
            end,
            stored.etag.as_deref(),
        )
        .await
        .map_err(failed)?;
    let frames = resp
        .bytes_stream()
        .map_ok(Frame::data)
        .map_err(std::io::Error::other);
    Ok((StreamBody::new(frames).boxed(), end - read.start))
}

fn empty() -> Streamed {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed()
}
