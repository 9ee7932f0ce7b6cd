//! Signed self-updates: a feed (HTTPS, or a local file) lists releases; each is signed with
//! the release key (ed25519) over its version, platform, size and SHA-256. `check` offers the
//! newest release for this platform that is newer than this program; `apply` downloads it
//! next to the program, checks size, hash and signature, and swaps it in, keeping the old
//! program as `<program>.previous` for rollback. Nothing changes unless every check passes.
//!
//! The feed (JSON):
//! `{"releases": [{"version": "0.2.0", "platform": "x86_64-linux", "url": "click-agent-0.2.0",
//!   "size": 12345, "sha256": "<hex>", "signature": "<base64 ed25519 signature>"}]}`;
//! `url` is absolute (HTTPS, or HTTP on loopback) or relative to the feed. The signed
//! message is [`signed_message`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use click_core::ports::{UpdateCheck, UpdateError, Updater};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::UpdateSettings;
use crate::google::check_https_or_loopback;
use crate::http_client::SharedClient;

/// The release key's public half, built in (`[update] public_key` overrides it). A placeholder
/// until the project publishes releases: its private half was not kept.
pub const RELEASE_KEY: &str = "GSY/5yAohJbC1+PJ8oQBdZT7caB6TiYfHJfwy/5DON0=";
/// The largest feed read.
const MAX_FEED_BYTES: usize = 1 << 20;
const FEED_TIMEOUT: Duration = Duration::from_secs(30);

/// This build's platform as feeds name it (`x86_64-linux`, `aarch64-macos`, ...).
pub fn platform() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// What a release's signature covers.
pub fn signed_message(version: &str, platform: &str, size: u64, sha256: &str) -> String {
    format!("click-agent release\n{version}\n{platform}\n{size}\n{sha256}\n")
}

#[derive(Deserialize)]
struct Feed {
    releases: Vec<Release>,
}

#[derive(Deserialize, Clone, Debug)]
struct Release {
    version: String,
    platform: String,
    url: String,
    size: u64,
    sha256: String,
    signature: String,
}

/// `1.2.3` as numbers (missing parts are 0); `None` for anything else.
fn version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let mut next = || -> Option<u64> {
        match parts.next() {
            None => Some(0),
            Some(p) => p.parse().ok(),
        }
    };
    let v = (next()?, next()?, next()?);
    parts.next().is_none().then_some(v)
}

fn refused(why: impl Into<String>) -> UpdateError {
    UpdateError::Refused(why.into())
}

/// The desktop's updater.
pub struct SelfUpdater {
    settings: UpdateSettings,
    http: SharedClient,
    /// The program being replaced.
    program: PathBuf,
}

impl SelfUpdater {
    pub fn new(settings: UpdateSettings, http: SharedClient) -> Result<SelfUpdater, String> {
        key_of(&settings.public_key).map_err(|e| format!("[update] public_key: {e}"))?;
        let url = &settings.feed_url;
        if url.starts_with("http://") || url.starts_with("https://") {
            check_https_or_loopback("update.feed_url", url)?;
        }
        let program = std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(|e| format!("cannot find this program's file: {e}"))?;
        Ok(SelfUpdater {
            settings,
            http,
            program,
        })
    }

    /// Reads `location` (a URL or a path) whole, within `max` bytes.
    async fn read(&self, location: &str, max: u64) -> Result<Vec<u8>, UpdateError> {
        let unreachable = |e: String| UpdateError::Unreachable(format!("{location}: {e}"));
        if location.starts_with("http://") || location.starts_with("https://") {
            check_https_or_loopback("a release URL", location).map_err(refused)?;
            let client = self.http.get().map_err(UpdateError::Unreachable)?;
            let mut response = client
                .get(location)
                .timeout(FEED_TIMEOUT.max(Duration::from_secs(self.settings.timeout_secs)))
                .send()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            if !response.status().is_success() {
                return Err(unreachable(format!("answered {}", response.status())));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| unreachable(e.to_string()))?
            {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > max {
                    return Err(refused(format!("{location} is longer than announced")));
                }
            }
            return Ok(body);
        }
        let path = location.strip_prefix("file://").unwrap_or(location);
        let file = tokio::fs::read(path)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if file.len() as u64 > max {
            return Err(refused(format!("{location} is longer than announced")));
        }
        Ok(file)
    }

    async fn feed(&self) -> Result<Feed, UpdateError> {
        if self.settings.feed_url.trim().is_empty() {
            return Err(UpdateError::NotConfigured);
        }
        let bytes = self
            .read(&self.settings.feed_url, MAX_FEED_BYTES as u64)
            .await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| UpdateError::Unreachable(format!("the feed is not a release list: {e}")))
    }

    /// The newest release for this platform if it is newer than this program; its signature
    /// must verify (a newer release signed otherwise is refused, not skipped).
    fn newest(&self, feed: &Feed) -> Result<Option<Release>, UpdateError> {
        let current = version(env!("CARGO_PKG_VERSION")).unwrap_or_default();
        let platform = platform();
        let newest = feed
            .releases
            .iter()
            .filter(|r| r.platform == platform)
            .filter_map(|r| version(&r.version).map(|v| (v, r)))
            .max_by_key(|(v, _)| *v);
        let Some((_, release)) = newest.filter(|(v, _)| *v > current) else {
            return Ok(None);
        };
        let key = key_of(&self.settings.public_key).map_err(refused)?;
        let signature = STANDARD
            .decode(release.signature.trim())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| {
                refused(format!(
                    "release {}: the signature is malformed",
                    release.version
                ))
            })?;
        let message = signed_message(
            &release.version,
            &release.platform,
            release.size,
            &release.sha256,
        );
        key.verify_strict(message.as_bytes(), &signature)
            .map_err(|_| {
                refused(format!(
                    "release {} is not signed by the release key",
                    release.version
                ))
            })?;
        Ok(Some(release.clone()))
    }

    /// Where a release's `url` points, relative to the feed.
    fn locate(&self, url: &str) -> Result<String, UpdateError> {
        if url.contains("://") || url.starts_with('/') {
            return Ok(url.to_string());
        }
        let feed = &self.settings.feed_url;
        if feed.starts_with("http://") || feed.starts_with("https://") {
            let base = url::Url::parse(feed).map_err(|e| refused(e.to_string()))?;
            return base
                .join(url)
                .map(String::from)
                .map_err(|e| refused(format!("release URL {url}: {e}")));
        }
        let feed = Path::new(feed.strip_prefix("file://").unwrap_or(feed));
        let dir = feed.parent().unwrap_or(Path::new("."));
        Ok(dir.join(url).display().to_string())
    }

    /// Downloads and checks a release into a new file beside the program.
    async fn fetch(&self, release: &Release) -> Result<PathBuf, UpdateError> {
        let cap = self.settings.max_mb.saturating_mul(1 << 20);
        if release.size > cap {
            return Err(refused(format!(
                "release {} is {} bytes, over [update] max_mb",
                release.version, release.size
            )));
        }
        let bytes = self.read(&self.locate(&release.url)?, release.size).await?;
        if (bytes.len() as u64) < release.size {
            return Err(refused(format!(
                "the download of {} is truncated ({} of {} bytes)",
                release.version,
                bytes.len(),
                release.size
            )));
        }
        let hash = click_core::ports::hex(&Sha256::digest(&bytes));
        if !hash.eq_ignore_ascii_case(release.sha256.trim()) {
            return Err(refused(format!(
                "the download of {} does not have the announced SHA-256",
                release.version
            )));
        }
        let staged = self.program.with_file_name(format!(
            ".{}.update-{}",
            self.file_name(),
            std::process::id()
        ));
        write_executable(&staged, &bytes).map_err(|e| {
            let _ = std::fs::remove_file(&staged);
            UpdateError::Failed(format!("{}: {e}", staged.display()))
        })?;
        Ok(staged)
    }

    fn file_name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "click-agent".into())
    }

    /// Swaps `staged` in for the program; the old one becomes `<program>.previous`.
    fn install(&self, staged: &Path) -> Result<(), UpdateError> {
        let previous = self
            .program
            .with_file_name(format!("{}.previous", self.file_name()));
        let failed = |what: &str, e: std::io::Error| UpdateError::Failed(format!("{what}: {e}"));
        std::fs::rename(&self.program, &previous).map_err(|e| {
            let _ = std::fs::remove_file(staged);
            failed("keeping the current program", e)
        })?;
        if let Err(e) = std::fs::rename(staged, &self.program) {
            let _ = std::fs::rename(&previous, &self.program);
            let _ = std::fs::remove_file(staged);
            return Err(failed("putting the new program in place", e));
        }
        if let Some(dir) = self.program.parent() {
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

/// Writes `bytes` to a new file at `path`, executable, and flushes it to disk.
fn write_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o755);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The ed25519 public key in `text` (base64 of its 32 bytes).
fn key_of(text: &str) -> Result<VerifyingKey, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "not base64".to_string())?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "an ed25519 public key is 32 bytes".to_string())?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| e.to_string())
}

impl Updater for SelfUpdater {
    async fn check(&self) -> Result<UpdateCheck, UpdateError> {
        let feed = self.feed().await?;
        Ok(UpdateCheck {
            current: env!("CARGO_PKG_VERSION").to_string(),
            newest: self.newest(&feed)?.map(|r| r.version),
        })
    }

    async fn apply(&self) -> Result<String, UpdateError> {
        let feed = self.feed().await?;
        let release = self.newest(&feed)?.ok_or_else(|| {
            refused(format!(
                "the feed offers no release for {} newer than {} (downgrades are refused)",
                platform(),
                env!("CARGO_PKG_VERSION")
            ))
        })?;
        let staged = self.fetch(&release).await?;
        self.install(&staged)?;
        tracing::warn!(version = %release.version, program = %self.program.display(),
            "update installed; exiting for the service manager to start the new program");
        Ok(release.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version("0.10.0") > version("0.9.9"));
        assert_eq!(version("v1.2"), Some((1, 2, 0)));
        assert_eq!(version("1.2.3.4"), None);
        assert_eq!(version("1.x"), None);
        assert_eq!(version(RELEASE_KEY), None);
        assert!(key_of(RELEASE_KEY).is_ok());
    }
}
