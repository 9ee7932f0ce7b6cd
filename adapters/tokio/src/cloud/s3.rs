//! The S3 family (AWS, Wasabi, Cloudflare R2, any S3-compatible server) over plain HTTP with
//! SigV4: ListBuckets, GetBucketLocation, ListObjectsV2, PUT and DELETE of single keys, and
//! presigned URLs.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use click_core::cloud::cloud_type;
use click_core::ports::{
    BucketInfo, CloudTarget, ObjectInfo, ObjectPage, Presign, PresignMethod, StorageError,
};
use click_core::time::parse_iso8601;
use serde::{Deserialize, Serialize};

use super::Precondition;
use super::Stored;
use super::sigv4::{self, Credentials, EMPTY_PAYLOAD, PATH, Request, encode};

/// Attempts of an idempotent request that failed on the provider's side or in transit.
const ATTEMPTS: u32 = 3;

/// Where an S3 account's requests go.
pub struct S3 {
    scheme: String,
    /// Host and port.
    host: String,
    /// Path prefix of a custom endpoint (usually empty), without a trailing `/`.
    base_path: String,
    /// `bucket.host` (AWS's own endpoints) instead of `host/bucket`.
    virtual_hosted: bool,
    region: String,
    access_key: String,
    secret_key: String,
    http: reqwest::Client,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl S3 {
    /// Whether `other` is the same endpoint under the same credentials.
    pub fn same_endpoint_and_key(&self, other: &S3) -> bool {
        (self.scheme == other.scheme && self.host == other.host)
            && (self.base_path == other.base_path && self.region == other.region)
            && (self.access_key == other.access_key && self.secret_key == other.secret_key)
    }

    pub fn new(t: &CloudTarget, http: reqwest::Client) -> Result<S3, StorageError> {
        let default_region = match t.cloud_type {
            cloud_type::CLOUDFLARE | cloud_type::GOOGLE => "auto",
            _ => "us-east-1",
        };
        let region = if t.region.is_empty() {
            default_region.to_string()
        } else {
            t.region.clone()
        };
        let endpoint = match (t.cloud_type, t.endpoint.as_str()) {
            (_, e) if !e.is_empty() => e.to_string(),
            (cloud_type::AWS, _) => format!("https://s3.{region}.amazonaws.com"),
            (cloud_type::WASABI, _) => format!("https://s3.{region}.wasabisys.com"),
            (cloud_type::GOOGLE, _) => "https://storage.googleapis.com".to_string(),
            _ => return Err(StorageError::Invalid("'endpoint' is required.".into())),
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|e| StorageError::Invalid(format!("'endpoint' is not a URL: {e}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(StorageError::Invalid("'endpoint' has no host.".into())),
        };
        Ok(S3 {
            scheme: url.scheme().to_string(),
            virtual_hosted: t.cloud_type == cloud_type::AWS && t.endpoint.is_empty(),
            host,
            base_path: url.path().trim_end_matches('/').to_string(),
            region,
            access_key: t.access_key.clone(),
            secret_key: t.secret_key.clone(),
            http,
        })
    }

    fn credentials(&self) -> Credentials<'_> {
        Credentials {
            access_key: &self.access_key,
            secret_key: &self.secret_key,
            region: &self.region,
            service: sigv4::S3,
        }
    }

    /// Host and encoded path of a bucket (and key), or of the service root.
    fn locate(&self, bucket: Option<&str>, key: &str) -> (String, String) {
        let key = encode(key, PATH);
        match bucket {
            // Bucket names with dots break TLS on virtual hosts; AWS serves them path-style.
            Some(b) if self.virtual_hosted && !b.contains('.') => {
                (format!("{b}.{}", self.host), format!("/{key}"))
            }
            Some(b) => (
                self.host.clone(),
                format!("{}/{}/{key}", self.base_path, encode(b, PATH)),
            ),
            None => (self.host.clone(), format!("{}/", self.base_path)),
        }
    }

    /// One signed request, retried up to `attempts` times on transport errors and provider
    /// failures (5xx, throttling); other refusals return at once. `body` is signed by its
    /// SHA-256, so the provider checks that the bytes arrived intact.
    pub async fn request(
        &self,
        method: reqwest::Method,
        bucket: Option<&str>,
        key: &str,
        query: &[(&str, &str)],
        body: Bytes,
        attempts: u32,
    ) -> Result<reqwest::Response, StorageError> {
        self.request_with(method, bucket, key, query, &[], body, attempts)
            .await
    }

    /// [`S3::request`] with signed `headers`.
    #[allow(clippy::too_many_arguments)]
    async fn request_with(
        &self,
        method: reqwest::Method,
        bucket: Option<&str>,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
        attempts: u32,
    ) -> Result<reqwest::Response, StorageError> {
        let (host, path) = self.locate(bucket, key);
        let payload = if body.is_empty() {
            EMPTY_PAYLOAD.to_string()
        } else {
            sigv4::sha256_hex(&body)
        };
        let mut url = format!("{}://{host}{path}", self.scheme);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&super::query_string(query));
        }
        super::send_retrying(attempts, || {
            let req = Request {
                method: method.as_str(),
                host: &host,
                path: &path,
                query,
                headers,
            };
            let mut builder = self.http.request(method.clone(), &url).body(body.clone());
            for (name, value) in headers {
                builder = builder.header(*name, *value);
            }
            // No key: an unsigned request, as a public bucket takes it.
            if !self.access_key.is_empty() {
                let signed = sigv4::authorize(&self.credentials(), &req, &payload, now_secs());
                for (name, value) in signed {
                    builder = builder.header(name, value);
                }
            }
            builder
        })
        .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        bucket: Option<&str>,
        key: &str,
        query: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Bytes, StorageError> {
        self.request(method, bucket, key, query, body, ATTEMPTS)
            .await?
            .bytes()
            .await
            .map_err(super::transport_failed)
    }

    pub async fn list_buckets(
        &self,
        include_region: bool,
    ) -> Result<Vec<BucketInfo>, StorageError> {
        let body = self
            .send(reqwest::Method::GET, None, "", &[], Bytes::new())
            .await?;
        let parsed: ListAllMyBucketsResult = xml(&body)?;
        let mut out: Vec<BucketInfo> = parsed
            .buckets
            .bucket
            .into_iter()
            .map(|b| BucketInfo {
                create_ms: b.creation_date.as_deref().and_then(parse_iso8601),
                name: b.name,
                region: None,
            })
            .collect();
        if include_region {
            for b in &mut out {
                b.region = Some(self.bucket_region(&b.name).await);
            }
        }
        Ok(out)
    }

    /// The bucket's region as the provider reports it; the account's own when it will not say.
    async fn bucket_region(&self, bucket: &str) -> String {
        let answer = self
            .send(
                reqwest::Method::GET,
                Some(bucket),
                "",
                &[("location", "")],
                Bytes::new(),
            )
            .await;
        match answer.ok().and_then(|b| xml::<LocationConstraint>(&b).ok()) {
            // An empty constraint is AWS's way of saying us-east-1.
            Some(l) if l.region.is_empty() => "us-east-1".to_string(),
            Some(l) => l.region,
            None => self.region.clone(),
        }
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        let max_keys = max.to_string();
        let mut query = vec![
            ("list-type", "2"),
            ("delimiter", "/"),
            ("prefix", prefix),
            ("max-keys", max_keys.as_str()),
        ];
        if let Some(token) = continuation {
            query.push(("continuation-token", token));
        }
        let body = self
            .send(reqwest::Method::GET, Some(bucket), "", &query, Bytes::new())
            .await?;
        let parsed: ListBucketResult = xml(&body)?;
        let folders = parsed.common_prefixes.into_iter().map(|p| ObjectInfo {
            key: p.prefix,
            size: 0,
            last_modified_ms: None,
            is_folder: true,
        });
        let files = parsed
            .contents
            .into_iter()
            // The folder's own marker is the folder being listed, not an entry of it.
            .filter(|o| o.key != prefix)
            .map(|o| ObjectInfo {
                is_folder: o.key.ends_with('/'),
                last_modified_ms: o.last_modified.as_deref().and_then(parse_iso8601),
                size: o.size,
                key: o.key,
            });
        Ok(ObjectPage {
            objects: folders.chain(files).collect(),
            continuation: parsed
                .next_continuation_token
                .filter(|t| parsed.is_truncated && !t.is_empty()),
        })
    }

    pub async fn put_empty(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.send(reqwest::Method::PUT, Some(bucket), key, &[], Bytes::new())
            .await
            .map(drop)
    }

    /// Deletes one object (S3 answers 204 whether or not it existed).
    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.send(
            reqwest::Method::DELETE,
            Some(bucket),
            key,
            &[],
            Bytes::new(),
        )
        .await
        .map(drop)
    }

    /// An object's size and ETag, from a HEAD request.
    pub async fn stat(
        &self,
        bucket: &str,
        key: &str,
        attempts: u32,
    ) -> Result<Stored, StorageError> {
        let resp = self
            .request(
                reqwest::Method::HEAD,
                Some(bucket),
                key,
                &[],
                Bytes::new(),
                attempts,
            )
            .await?;
        super::stored_from(&resp, key)
    }

    /// Bytes `start..end` of an object (of version `etag`, when given), as a response whose
    /// body the caller streams.
    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        let (host, path) = self.locate(Some(bucket), key);
        let range = format!("bytes={start}-{}", end - 1);
        let mut headers = vec![("range", range.as_str())];
        if let Some(etag) = etag {
            headers.push(("if-match", etag));
        }
        let req = Request {
            method: "GET",
            host: &host,
            path: &path,
            query: &[],
            headers: &headers,
        };
        let url = format!("{}://{host}{path}", self.scheme);
        let mut builder = self.http.get(&url);
        for (name, value) in &headers {
            builder = builder.header(*name, *value);
        }
        for (name, value) in sigv4::authorize(&self.credentials(), &req, EMPTY_PAYLOAD, now_secs())
        {
            builder = builder.header(name, value);
        }
        let resp = builder.send().await.map_err(super::transport_failed)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        Err(error_of(status, &resp.text().await.unwrap_or_default()))
    }

    /// Writes an object when `condition` holds; its ETag.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        attempts: u32,
        condition: Precondition<'_>,
        md5: Option<&str>,
    ) -> Result<Option<String>, StorageError> {
        let content_md5 = md5.and_then(super::content_md5_header);
        let mut headers: Vec<_> = condition.header().into_iter().collect();
        headers.extend(content_md5.as_deref().map(|m| ("content-md5", m)));
        let put = reqwest::Method::PUT;
        let resp =
            (self.request_with(put, Some(bucket), key, &[], &headers, body, attempts)).await?;
        Ok(super::etag_of(&resp))
    }

    /// Starts a multipart upload; its id.
    pub async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        attempts: u32,
    ) -> Result<String, StorageError> {
        let resp = self
            .request(
                reqwest::Method::POST,
                Some(bucket),
                key,
                &[("uploads", "")],
                Bytes::new(),
                attempts,
            )
            .await?;
        let body = resp.bytes().await.map_err(super::transport_failed)?;
        Ok(xml::<InitiateMultipartUploadResult>(&body)?.upload_id)
    }

    /// Uploads part `number` (from 1); its ETag.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: u32,
        body: Bytes,
        attempts: u32,
        md5: Option<&str>,
    ) -> Result<String, StorageError> {
        let n = number.to_string();
        let query = [("partNumber", n.as_str()), ("uploadId", upload_id)];
        let content_md5 = md5.and_then(super::content_md5_header);
        let headers: Vec<_> = content_md5
            .iter()
            .map(|m| ("content-md5", m.as_str()))
            .collect();
        let put = reqwest::Method::PUT;
        let resp = self
            .request_with(put, Some(bucket), key, &query, &headers, body, attempts)
            .await?;
        resp.headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
            .ok_or_else(|| StorageError::Failed("the provider gave no ETag for a part".into()))
    }

    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        attempts: u32,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let xml = xml_body(&complete_multipart_upload(parts))?;
        let query = [("uploadId", upload_id)];
        let headers: Vec<_> = condition.header().into_iter().collect();
        let post = reqwest::Method::POST;
        let resp =
            (self.request_with(post, Some(bucket), key, &query, &headers, xml, attempts)).await?;
        etag_in_body(resp).await
    }

    /// Copies object `from_key` of `from_bucket` (in version `etag`, when given) to `key` on
    /// the server itself (CopyObject: the bytes never leave it; up to 5 GiB); the new
    /// object's ETag.
    pub async fn copy_object(
        &self,
        bucket: &str,
        key: &str,
        (from_bucket, from_key): (&str, &str),
        etag: Option<&str>,
        attempts: u32,
    ) -> Result<Option<String>, StorageError> {
        let source = format!("/{}/{}", encode(from_bucket, PATH), encode(from_key, PATH));
        let mut headers = vec![("x-amz-copy-source", source.as_str())];
        headers.extend(etag.map(|e| ("x-amz-copy-source-if-match", e)));
        let put = reqwest::Method::PUT;
        let resp = (self.request_with(
            put,
            Some(bucket),
            key,
            &[],
            &headers,
            Bytes::new(),
            attempts,
        ))
        .await?;
        etag_in_body(resp).await
    }

    /// Whether the upload still exists: its first part listed (no body to send, so a refusal
    /// arrives as an answer, not as a connection closed under a part).
    pub async fn upload_known(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<bool, StorageError> {
        let query = [("max-parts", "1"), ("uploadId", upload_id)];
        match self
            .request(
                reqwest::Method::GET,
                Some(bucket),
                key,
                &query,
                Bytes::new(),
                ATTEMPTS,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound(_) | StorageError::Denied(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), StorageError> {
        self.request(
            reqwest::Method::DELETE,
            Some(bucket),
            key,
            &[("uploadId", upload_id)],
            Bytes::new(),
            ATTEMPTS,
        )
        .await
        .map(drop)
    }

    /// One page of the objects under `prefix` (all levels), and where the next page starts.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        let mut query = vec![("list-type", "2"), ("prefix", prefix)];
        if let Some(t) = continuation {
            query.push(("continuation-token", t));
        }
        let body = self
            .send(reqwest::Method::GET, Some(bucket), "", &query, Bytes::new())
            .await?;
        let page: ListBucketResult = xml(&body)?;
        let objects = page
            .contents
            .into_iter()
            .map(|o| Stored {
                modified_ms: o.last_modified.as_deref().and_then(parse_iso8601),
                key: o.key,
                size: o.size,
                etag: o.etag.as_deref().map(super::quoted_etag),
                content_md5: None,
            })
            .collect();
        let next = page.next_continuation_token.filter(|_| page.is_truncated);
        Ok((objects, next))
    }

    pub fn presign(&self, p: &Presign<'_>) -> String {
        let disposition;
        let mut query: Vec<(&str, &str)> = Vec::new();
        if p.attachment && p.method == PresignMethod::Get {
            let file = p.key.rsplit('/').next().unwrap_or(p.key);
            disposition = format!("attachment; filename=\"{}\"", file.replace('"', ""));
            query.push(("response-content-disposition", &disposition));
        }
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let (PresignMethod::Put, Some(ct)) = (p.method, p.content_type) {
            headers.push(("content-type", ct));
        }
        let method = match p.method {
            PresignMethod::Get => "GET",
            PresignMethod::Put => "PUT",
        };
        let request = (method, p.bucket, p.key, &query[..], &headers[..]);
        self.presign_request(request, p.expires_secs)
    }

    /// A presigned URL for any request on an object: `(method, bucket, key, query, signed
    /// headers)`, good for `expires_secs`.
    pub fn presign_request(&self, request: PresignedRequest<'_>, expires_secs: u64) -> String {
        let (method, bucket, key, query, headers) = request;
        let (host, path) = self.locate(Some(bucket), key);
        let req = Request {
            method,
            host: &host,
            path: &path,
            query,
            headers,
        };
        let q = sigv4::presign_query(&self.credentials(), &req, expires_secs, now_secs());
        format!("{}://{host}{path}?{q}", self.scheme)
    }

    /// A signed request to the service root with `query` (an agent's push route), its JSON
    /// answer.
    pub async fn root_json<T: for<'de> Deserialize<'de>>(
        &self,
        method: reqwest::Method,
        query: &[(&str, &str)],
        body: Bytes,
    ) -> Result<T, StorageError> {
        let answer = self.send(method, None, "", query, body).await?;
        serde_json::from_slice(&answer)
            .map_err(|e| StorageError::Failed(format!("the agent's answer is not understood: {e}")))
    }
}

/// A request to presign: method, bucket, key, query, signed headers.
pub type PresignedRequest<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [(&'a str, &'a str)],
);

pub(crate) fn xml<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, StorageError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| StorageError::Failed("the provider answered with invalid UTF-8".into()))?;
    quick_xml::de::from_str(text)
        .map_err(|e| StorageError::Failed(format!("the provider's answer was not understood: {e}")))
}

/// A request body as an XML document (the declaration as the providers' own examples have it).
pub(crate) fn xml_body<T: Serialize>(value: &T) -> Result<Bytes, StorageError> {
    let mut text = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    quick_xml::se::to_writer(&mut text, value)
        .map_err(|e| StorageError::Failed(format!("cannot write the request body: {e}")))?;
    Ok(Bytes::from(text))
}

/// An S3 (or Azure: the same shape) error answer, as the kind of failure the core reports.
pub(crate) fn error_of(status: u16, body: &str) -> StorageError {
    let parsed: Option<XmlError> = quick_xml::de::from_str(body).ok();
    let reason = match &parsed {
        Some(e) if !e.message.is_empty() => format!("{}: {}", e.code, e.message),
        Some(e) if !e.code.is_empty() => e.code.clone(),
        _ => format!("HTTP {status}"),
    };
    match status {
        401 | 403 => StorageError::Denied(reason),
        404 => StorageError::NotFound(reason),
        412 => StorageError::Invalid(format!(
            "the object is not the version expected: it changed in the bucket ({reason})"
        )),
        301 | 307 => StorageError::Invalid(format!(
            "the bucket is in another region or behind another endpoint ({reason})"
        )),
        400 | 405 | 409 | 411 | 416 => StorageError::Invalid(reason),
        _ => StorageError::Failed(reason),
    }
}

/// The ETag in the XML answer of a completion or a copy. S3 may answer 200 with an error in
/// the body when such a request fails late.
/// Completes a multipart upload through a presigned `POST ?uploadId` URL; the object's
/// ETag.
pub(crate) async fn complete_presigned(
    http: &reqwest::Client,
    url: &str,
    parts: &[(u32, String)],
    attempts: u32,
) -> Result<Option<String>, StorageError> {
    let xml = xml_body(&complete_multipart_upload(parts))?;
    let resp = super::send_retrying(attempts, || http.post(url).body(xml.clone())).await?;
    etag_in_body(resp).await
}

async fn etag_in_body(resp: reqwest::Response) -> Result<Option<String>, StorageError> {
    let body = resp.bytes().await.map_err(super::transport_failed)?;
    let text = std::str::from_utf8(&body).unwrap_or_default();
    if text.contains("<Error>") {
        return Err(error_of(500, text));
    }
    let done: Option<CompleteMultipartUploadResult> = quick_xml::de::from_str(text).ok();
    Ok(done.and_then(|d| d.etag).map(|e| super::quoted_etag(&e)))
}

/// The answer to a completed multipart upload (`CompleteMultipartUploadResult`) or a copy
/// (`CopyObjectResult`): the object's ETag.
#[derive(Deserialize)]
struct CompleteMultipartUploadResult {
    #[serde(rename = "ETag", default)]
    etag: Option<String>,
}

#[derive(Serialize)]
struct CompleteMultipartUpload<'a> {
    #[serde(rename = "Part")]
    parts: Vec<Part<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Part<'a> {
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: &'a str,
}

fn complete_multipart_upload(parts: &[(u32, String)]) -> CompleteMultipartUpload<'_> {
    CompleteMultipartUpload {
        parts: parts
            .iter()
            .map(|(n, etag)| Part {
                part_number: *n,
                etag,
            })
            .collect(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAllMyBucketsResult {
    #[serde(default)]
    buckets: BucketList,
}

#[derive(Deserialize, Default)]
struct BucketList {
    #[serde(rename = "Bucket", default)]
    bucket: Vec<XmlBucket>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlBucket {
    name: String,
    #[serde(default)]
    creation_date: Option<String>,
}

#[derive(Deserialize)]
struct LocationConstraint {
    #[serde(rename = "$text", default)]
    region: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    contents: Vec<XmlObject>,
    #[serde(default)]
    common_prefixes: Vec<XmlPrefix>,
    #[serde(default)]
    next_continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlObject {
    key: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    last_modified: Option<String>,
    #[serde(rename = "ETag", default)]
    etag: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlPrefix {
    prefix: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InitiateMultipartUploadResult {
    upload_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct XmlError {
    code: String,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_part_list_is_xml_with_its_etags_escaped_as_text() {
        let parts = [(1, "\"a<b&c\"".to_string()), (2, "\"d\"".to_string())];
        let body = xml_body(&complete_multipart_upload(&parts)).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>"#,
                r#"<Part><PartNumber>1</PartNumber><ETag>"a&lt;b&amp;c"</ETag></Part>"#,
                r#"<Part><PartNumber>2</PartNumber><ETag>"d"</ETag></Part>"#,
                "</CompleteMultipartUpload>"
            )
        );
    }
}
