//! `CloudType`, a flag enum on the wire (`cloud.md`, Insert Cloud Account).

/// Amazon S3.
pub const AWS: u32 = 1;
/// Wasabi (S3 protocol).
pub const WASABI: u32 = 2;
/// Azure Blob Storage.
pub const AZURE: u32 = 4;
/// Any S3-compatible server at a given endpoint.
pub const S3_GENERIC: u32 = 8;
/// Google Cloud Storage (through its S3-compatible XML API).
pub const GOOGLE: u32 = 16;
/// Cloudflare R2 (S3 protocol).
pub const CLOUDFLARE: u32 = 64;
/// Dropbox, connected over OAuth.
pub const DROPBOX: u32 = 128;
/// Box, connected over OAuth.
pub const BOX: u32 = 256;
/// Microsoft OneDrive, connected over OAuth.
pub const ONEDRIVE: u32 = 512;
/// Google Drive, connected over OAuth.
pub const GOOGLE_DRIVE: u32 = 1024;
/// A Fastr-compatible server on the local network: another agent's built-in storage (S3).
pub const LOCAL_HTTP: u32 = 2048;
/// A Fastr-compatible server anywhere: another agent's built-in storage (S3).
pub const FASTR_SERVER: u32 = 4096;

const NAMES: [(u32, &str); 14] = [
    (1, "AWS"),
    (2, "Wasabi"),
    (4, "Azure"),
    (8, "S3Generic"),
    (16, "Google"),
    (32, "Frame"),
    (64, "Cloudflare"),
    (128, "Dropbox"),
    (256, "Box"),
    (512, "OneDrive"),
    (1024, "GoogleDrive"),
    (2048, "LocalHttp"),
    (4096, "FastrServer"),
    (8192, "Atomosphere"),
];

/// The providers the desktop agent implements, for error messages.
pub const SUPPORTED_NAMES: &str = "AWS (1), Wasabi (2), Azure (4), S3Generic (8), Google (16), Cloudflare (64), LocalHttp (2048), \
     FastrServer (4096); Dropbox (128), OneDrive (512) and GoogleDrive (1024) connected over OAuth";

/// The documented name of a flag (`AWS`, `S3Generic`, ...), or `unknown`.
pub fn name(cloud_type: u32) -> &'static str {
    NAMES
        .iter()
        .find(|(v, _)| *v == cloud_type)
        .map_or("unknown", |(_, n)| n)
}

/// One documented flag (a cloud account has exactly one provider).
pub fn is_documented(cloud_type: u32) -> bool {
    NAMES.iter().any(|(v, _)| *v == cloud_type)
}

/// The S3 protocol with an access key and a secret key. Google Cloud Storage is reached
/// through its S3-compatible XML API with HMAC keys; a Fastr-compatible server is another
/// agent's built-in storage.
pub fn is_s3(cloud_type: u32) -> bool {
    matches!(
        cloud_type,
        AWS | WASABI | S3_GENERIC | CLOUDFLARE | GOOGLE | LOCAL_HTTP | FASTR_SERVER
    )
}

/// Providers that have no default endpoint: the account must name one.
pub fn needs_endpoint(cloud_type: u32) -> bool {
    matches!(
        cloud_type,
        S3_GENERIC | CLOUDFLARE | LOCAL_HTTP | FASTR_SERVER
    )
}
