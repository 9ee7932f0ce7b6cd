//! The desktop's [`ObjectStorage`]: cloud providers over HTTPS (or HTTP for local servers).

mod s3;
pub mod sigv4;

use std::time::Duration;

use click_core::cloud::cloud_type;
use click_core::ports::{
    BucketInfo, CloudTarget, ObjectPage, ObjectStorage, Presign, StorageError,
};

pub use s3::S3;

pub struct CloudStorage {
    http: reqwest::Client,
}

impl CloudStorage {
    pub fn new() -> Result<CloudStorage, String> {
        // reqwest is built without a default TLS provider; ring is the one the rest of the
        // agent uses (ureq for JWKS). A second install attempt fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot start the HTTP client for cloud providers: {e}"))?;
        Ok(CloudStorage { http })
    }

    /// A client for the target's S3-compatible provider.
    pub fn s3(&self, target: &CloudTarget) -> Result<S3, StorageError> {
        if !cloud_type::is_s3(target.cloud_type) {
            return Err(StorageError::Unsupported);
        }
        S3::new(target, self.http.clone())
    }
}

impl ObjectStorage for CloudStorage {
    async fn list_buckets(
        &self,
        target: &CloudTarget,
        include_region: bool,
    ) -> Result<Vec<BucketInfo>, StorageError> {
        self.s3(target)?.list_buckets(include_region).await
    }

    async fn list_objects(
        &self,
        target: &CloudTarget,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError> {
        self.s3(target)?
            .list_objects(bucket, prefix, continuation, max)
            .await
    }

    async fn delete(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<(), StorageError> {
        self.s3(target)?.delete(bucket, key).await
    }

    async fn create_folder(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<(), StorageError> {
        self.s3(target)?.put_empty(bucket, key).await
    }

    async fn presign(
        &self,
        target: &CloudTarget,
        request: &Presign<'_>,
    ) -> Result<String, StorageError> {
        Ok(self.s3(target)?.presign(request))
    }
}
