//! Azure Blob Storage over its REST API with Shared Key authorization (account name as
//! `accessKey`, account key as `secretKey`) and service SAS URLs. A multipart upload is a
//! set of uncommitted blocks committed by a block list; blocks never committed expire, so an
//! abandoned upload leaves no blob.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use click_core::ports::{
    BucketInfo, CloudTarget, ObjectInfo, ObjectPage, Presign, PresignMethod, StorageError,
};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Precondition;
use super::Stored;
use super::s3::{xml, xml_body};
use super::sigv4::{PATH, STRICT, encode};

const VERSION: &str = "2021-12-02";
const ATTEMPTS: u32 = 3;

pub struct Azure {
    scheme: String,
    host: String,
    /// `/devstoreaccount1` for path-style endpoints (Azurite), empty for `account.blob...`.
    base_path: String,
    account: String,
    key: Vec<u8>,
    http: reqwest::Client,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Milliseconds of an HTTP date, as Azure writes `Last-Modified`.
fn http_date_ms(s: &str) -> Option<u64> {
    let at = httpdate::parse_http_date(s).ok()?;
    Some(at.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64)
}

impl Azure {
    pub fn new(t: &CloudTarget, http: reqwest::Client) -> Result<Azure, StorageError> {
        let account = t.access_key.clone();
        let key = STANDARD.decode(t.secret_key.trim()).map_err(|_| {
            StorageError::Invalid("'secretKey' must be the account key (base64).".into())
        })?;
        let endpoint = if t.endpoint.is_empty() {
            format!("https://{account}.blob.core.windows.net")
        } else {
            t.endpoint.clone()
        };
        let url = url::Url::parse(&endpoint)
            .map_err(|e| StorageError::Invalid(format!("'endpoint' is not a URL: {e}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(StorageError::Invalid("'endpoint' has no host.".into())),
        };
        Ok(Azure {
            scheme: url.scheme().to_string(),
            host,
            base_path: url.path().trim_end_matches('/').to_string(),
            account,
            key,
            http,
        })
    }

    fn path(&self, container: Option<&str>, blob: &str) -> String {
        match container {
            None => format!("{}/", self.base_path),
            Some(c) if blob.is_empty() => format!("{}/{}", self.base_path, encode(c, PATH)),
            Some(c) => format!(
                "{}/{}/{}",
                self.base_path,
                encode(c, PATH),
                encode(blob, PATH)
            ),
        }
    }

    fn sign(&self, text: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("any key length");
        mac.update(text.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }

    /// The Shared Key `Authorization` header of a request.
    fn authorization(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, String)],
        content_length: usize,
    ) -> String {
        let mut ms: Vec<(String, &str)> = headers
            .iter()
            .filter(|(k, _)| k.starts_with("x-ms-"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
            .collect();
        ms.sort();
        let canonical_headers: String = ms.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let mut q: Vec<(String, &str)> = query
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), *v))
            .collect();
        q.sort();
        let mut resource = format!("/{}{path}", self.account);
        for (k, v) in &q {
            resource.push_str(&format!("\n{k}:{v}"));
        }
        let length = if content_length == 0 {
            String::new()
        } else {
            content_length.to_string()
        };
        // `Content-MD5`, `If-Match` and `If-None-Match` have their places among the standard
        // headers; the rest are empty.
        let standard = |name: &str| {
            (headers.iter())
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map_or("", |(_, v)| v.as_str())
        };
        let (if_match, if_none_match) = (standard("if-match"), standard("if-none-match"));
        let md5 = standard("content-md5");
        let text = format!(
            "{method}\n\n\n{length}\n{md5}\n\n\n\n{if_match}\n{if_none_match}\n\n\n{canonical_headers}{resource}"
        );
        format!("SharedKey {}:{}", self.account, self.sign(&text))
    }

    #[allow(clippy::too_many_arguments)]
    async fn request(
        &self,
        method: reqwest::Method,
        container: Option<&str>,
        blob: &str,
        query: &[(&str, &str)],
        extra: &[(&str, String)],
        body: Bytes,
        attempts: u32,
    ) -> Result<reqwest::Response, StorageError> {
        let path = self.path(container, blob);
        let mut url = format!("{}://{}{path}", self.scheme, self.host);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&super::query_string(query));
        }
        super::send_retrying(attempts, || {
            let mut headers: Vec<(&str, String)> = vec![
                ("x-ms-date", httpdate::fmt_http_date(SystemTime::now())),
                ("x-ms-version", VERSION.to_string()),
            ];
            headers.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
            let auth = self.authorization(method.as_str(), &path, query, &headers, body.len());
            let mut builder = self.http.request(method.clone(), &url).body(body.clone());
            for (k, v) in &headers {
                builder = builder.header(*k, v);
            }
            builder = builder.header("authorization", auth);
            if body.is_empty() && method == reqwest::Method::PUT {
                // Azure wants a length on every PUT; an HTTP client sends none for no body.
                builder = builder.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            builder
        })
        .await
    }

    async fn get(
        &self,
        container: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<Bytes, StorageError> {
        self.request(
            reqwest::Method::GET,
            container,
            "",
            query,
            &[],
            Bytes::new(),
            ATTEMPTS,
        )
        .await?
        .bytes()
        .await
        .map_err(super::transport_failed)
    }

    pub async fn list_buckets(
        &self,
        include_region: bool,
    ) -> Result<Vec<BucketInfo>, StorageError> {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query = vec![("comp", "list")];
            if !marker.is_empty() {
                query.push(("marker", &marker));
            }
            let page: ContainerList = xml(&self.get(None, &query).await?)?;
            out.extend(page.containers.container.into_iter().map(|c| {
                BucketInfo {
                    create_ms: c.properties.last_modified.as_deref().and_then(http_date_ms),
                    name: c.name,
                    // Containers live in the account's region; the API does not say which.
                    region: include_region.then(String::new),
                }
            }));
            marker = page.next_marker.unwrap_or_default();
            if marker.is_empty() {
                return Ok(out);
            }
        }
    }

    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        let max = max.to_string();
        let mut query = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("delimiter", "/"),
            ("prefix", prefix),
            ("maxresults", max.as_str()),
        ];
        if let Some(m) = continuation {
            query.push(("marker", m));
        }
        let page: BlobList = xml(&self.get(Some(bucket), &query).await?)?;
        let folders = page.blobs.prefixes.into_iter().map(|p| ObjectInfo {
            key: p.name,
            size: 0,
            last_modified_ms: None,
            is_folder: true,
        });
        let files = page
            .blobs
            .blobs
            .into_iter()
            .filter(|b| b.name != prefix)
            .map(|b| ObjectInfo {
                is_folder: b.name.ends_with('/'),
                last_modified_ms: b.properties.last_modified.as_deref().and_then(http_date_ms),
                size: b.properties.content_length,
                key: b.name,
            });
        Ok(ObjectPage {
            objects: folders.chain(files).collect(),
            continuation: page.next_marker.filter(|m| !m.is_empty()),
        })
    }

    /// One page of the blobs under `prefix` (all levels), and where the next page starts.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        marker: Option<&str>,
    ) -> Result<(Vec<Stored>, Option<String>), StorageError> {
        let mut query = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("prefix", prefix),
        ];
        if let Some(m) = marker {
            query.push(("marker", m));
        }
        let page: BlobList = xml(&self.get(Some(bucket), &query).await?)?;
        let blobs = page
            .blobs
            .blobs
            .into_iter()
            .map(|b| Stored {
                modified_ms: b.properties.last_modified.as_deref().and_then(http_date_ms),
                key: b.name,
                size: b.properties.content_length,
                etag: b.properties.etag.as_deref().map(super::quoted_etag),
                content_md5: b
                    .properties
                    .content_md5
                    .as_deref()
                    .and_then(super::md5_hex_of),
            })
            .collect();
        Ok((blobs, page.next_marker.filter(|m| !m.is_empty())))
    }

    /// Writes a block blob when `condition` holds; its ETag.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Bytes,
        attempts: u32,
        condition: Precondition<'_>,
        md5: Option<&str>,
    ) -> Result<Option<String>, StorageError> {
        let mut extra = vec![("x-ms-blob-type", "BlockBlob".to_string())];
        extra.extend(condition.header().map(|(k, v)| (k, v.to_string())));
        // Azure checks the bytes against it, and keeps it as the blob's Content-MD5.
        extra.extend(
            md5.and_then(super::content_md5_header)
                .map(|m| ("content-md5", m)),
        );
        let put = reqwest::Method::PUT;
        let resp = (self.request(put, Some(bucket), key, &[], &extra, body, attempts)).await?;
        Ok(super::etag_of(&resp))
    }

    pub async fn put_empty(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        (self.put_object(bucket, key, Bytes::new(), ATTEMPTS, Precondition::Any, None))
            .await
            .map(drop)
    }

    pub async fn delete_one(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        self.request(
            reqwest::Method::DELETE,
            Some(bucket),
            key,
            &[],
            &[],
            Bytes::new(),
            ATTEMPTS,
        )
        .await
        .map(drop)
    }

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
                &[],
                Bytes::new(),
                attempts,
            )
            .await?;
        super::stored_from(&resp, key)
    }

    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        start: u64,
        end: u64,
        etag: Option<&str>,
    ) -> Result<reqwest::Response, StorageError> {
        let mut range = vec![("x-ms-range", format!("bytes={start}-{}", end - 1))];
        if let Some(etag) = etag {
            range.push(("if-match", etag.to_string()));
        }
        self.request(
            reqwest::Method::GET,
            Some(bucket),
            key,
            &[],
            &range,
            Bytes::new(),
            1,
        )
        .await
    }

    /// Block ids of one upload: the same length for every block, as Azure requires.
    fn block_id(upload_id: &str, number: u32) -> String {
        STANDARD.encode(format!("{upload_id}-{number:06}"))
    }

    /// Blocks need no call to start; the id only keeps this upload's blocks apart.
    pub async fn create_multipart(
        &self,
        _bucket: &str,
        _key: &str,
        _attempts: u32,
    ) -> Result<String, StorageError> {
        let mut id = [0u8; 12];
        getrandom::fill(&mut id).map_err(|e| StorageError::Failed(e.to_string()))?;
        Ok(click_core::ports::hex(&id))
    }

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
        let id = Self::block_id(upload_id, number);
        let query = [("comp", "block"), ("blockid", id.as_str())];
        let extra: Vec<_> = (md5.and_then(super::content_md5_header))
            .map(|m| ("content-md5", m))
            .into_iter()
            .collect();
        let put = reqwest::Method::PUT;
        (self.request(put, Some(bucket), key, &query, &extra, body, attempts)).await?;
        Ok(id)
    }

    pub async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        _upload_id: &str,
        parts: &[(u32, String)],
        attempts: u32,
        condition: Precondition<'_>,
    ) -> Result<Option<String>, StorageError> {
        let list = xml_body(&block_list(parts))?;
        let query = [("comp", "blocklist")];
        let extra: Vec<_> = (condition.header().into_iter())
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let put = reqwest::Method::PUT;
        let resp = (self.request(put, Some(bucket), key, &query, &extra, list, attempts)).await?;
        Ok(super::etag_of(&resp))
    }

    /// Uncommitted blocks are discarded by the service (after a week at most); nothing to do.
    pub async fn abort_multipart(
        &self,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
    ) -> Result<(), StorageError> {
        Ok(())
    }

    /// A service SAS URL for one blob (read, or create and write).
    pub fn presign(&self, p: &Presign<'_>) -> String {
        let expiry = click_core::time::iso8601((now_secs() + p.expires_secs) * 1000);
        let permissions = match p.method {
            PresignMethod::Get => "r",
            PresignMethod::Put => "cw",
        };
        let file = p.key.rsplit('/').next().unwrap_or(p.key).replace('"', "");
        let disposition = if p.attachment && p.method == PresignMethod::Get {
            format!("attachment; filename=\"{file}\"")
        } else {
            String::new()
        };
        let resource = format!("/blob/{}/{}/{}", self.account, p.bucket, p.key);
        // Fields of the string to sign for versions from 2020-12-06, in order.
        let fields = [
            permissions,
            "",
            &expiry,
            &resource,
            "",
            "",
            "",
            VERSION,
            "b",
            "",
            "",
            "",
            &disposition,
            "",
            "",
            "",
        ];
        let sig = self.sign(&fields.join("\n"));
        let mut q = vec![
            ("sv", VERSION.to_string()),
            ("se", expiry.clone()),
            ("sr", "b".to_string()),
            ("sp", permissions.to_string()),
        ];
        if !disposition.is_empty() {
            q.push(("rscd", disposition));
        }
        q.push(("sig", sig));
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v, STRICT)))
            .collect();
        format!(
            "{}://{}{}?{}",
            self.scheme,
            self.host,
            self.path(Some(p.bucket), p.key),
            query.join("&")
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerList {
    #[serde(default)]
    containers: Containers,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Deserialize, Default)]
struct Containers {
    #[serde(rename = "Container", default)]
    container: Vec<Container>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Container {
    name: String,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize, Default)]
struct Properties {
    #[serde(rename = "Last-Modified", default)]
    last_modified: Option<String>,
    #[serde(rename = "Content-Length", default)]
    content_length: u64,
    #[serde(rename = "Etag", default)]
    etag: Option<String>,
    #[serde(rename = "Content-MD5", default)]
    content_md5: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlobList {
    #[serde(default)]
    blobs: Blobs,
    #[serde(default)]
    next_marker: Option<String>,
}

#[derive(Deserialize, Default)]
struct Blobs {
    #[serde(rename = "Blob", default)]
    blobs: Vec<Blob>,
    #[serde(rename = "BlobPrefix", default)]
    prefixes: Vec<BlobPrefix>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Blob {
    name: String,
    #[serde(default)]
    properties: Properties,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlobPrefix {
    name: String,
}

/// The blocks that make a blob, in order: each the latest version uploaded under its id.
#[derive(Serialize)]
struct BlockList<'a> {
    #[serde(rename = "Latest")]
    latest: Vec<&'a str>,
}

fn block_list(parts: &[(u32, String)]) -> BlockList<'_> {
    BlockList {
        latest: parts.iter().map(|(_, id)| id.as_str()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_is_read_as_an_http_date() {
        assert_eq!(
            http_date_ms("Sun, 29 Nov 2026 15:00:00 GMT"),
            Some(1_795_964_400_000)
        );
        assert_eq!(http_date_ms("garbage"), None);
    }

    #[test]
    fn the_block_list_names_the_latest_blocks_in_order() {
        let parts = [(1, "AAA=".to_string()), (2, "AAE=".to_string())];
        let body = xml_body(&block_list(&parts)).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8"?><BlockList><Latest>AAA=</Latest><Latest>AAE=</Latest></BlockList>"#
        );
    }
}
