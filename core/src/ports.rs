//! What a host provides. Adapters implement these traits; the core's own tests use the
//! in-memory implementations in [`crate::store::mem`] and [`crate::auth::jwt::Hs256`].

use alloc::string::String;
use alloc::vec::Vec;

use crate::auth::jwt::Claims;
use crate::events::Event;
pub use crate::mail::{PURPOSE_HEADER, TOKEN_HEADER, outbox_file_name, outbox_text};
pub use crate::secrets::SecretBox;
pub use crate::store::Store;

/// Wall-clock time in milliseconds since the Unix epoch.
pub trait Clock {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> u64;
}

/// A cryptographically secure random source.
pub trait Rng {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// Signs and checks the agent's own session tokens (JWT, HS256).
pub trait TokenSigner {
    /// The signed token (a compact JWT) carrying `claims`.
    fn sign(&self, claims: &Claims) -> String;
    /// Checks the signature and decodes the claims. Expiry is checked by the core, against
    /// its [`Clock`], not here.
    fn verify(&self, token: &str) -> Option<Claims>;
}

/// Slow password hashing (argon2id on the desktop).
pub trait PasswordHasher {
    /// A salted hash of `password`, self-describing (a PHC string), to store.
    fn hash(&self, password: &str) -> String;
    /// Whether `password` is the one `hash` was made from.
    fn verify(&self, password: &str, hash: &str) -> bool;
}

/// Why a message is sent; becomes the `X-Click-Purpose` header of an outbox message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailPurpose {
    /// The code that confirms a sign-up.
    SignupConfirmation,
    /// A password reset token.
    PasswordReset,
    /// An invited user's activation token (to set a first password).
    UserActivation,
    /// A presigned download link sent by `send_download_url`.
    DownloadLink,
}

impl MailPurpose {
    /// The `X-Click-Purpose` value (`signup-confirmation`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MailPurpose::SignupConfirmation => "signup-confirmation",
            MailPurpose::PasswordReset => "password-reset",
            MailPurpose::UserActivation => "user-activation",
            MailPurpose::DownloadLink => "download-link",
        }
    }
}

/// A message to send, in plain text.
#[derive(Clone, Debug)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub body: String,
    /// Why it is sent.
    pub purpose: MailPurpose,
    /// The code or token the message carries.
    pub token: String,
}

/// Sends mail. Implementations must not block for long: queue and return.
pub trait Mailer {
    /// Queues `mail`; an error means it was not even queued.
    fn send(&self, mail: Mail) -> Result<(), MailError>;

    /// The last messages, oldest first, for hosts that keep them instead of delivering them
    /// (a device has no mail server); `None` for hosts that deliver mail.
    fn kept(&self) -> Option<Vec<Mail>> {
        None
    }
}

/// A message could not be queued. The change that sent it stands; the user can ask again.
#[derive(Debug)]
pub struct MailError;

/// Receives every event the core raises, already numbered and serialized.
pub trait EventSink {
    /// Hands `event` to the WebSocket clients of its channel. Must not block: a client that
    /// does not keep up is the host's to drop.
    fn publish(&self, event: Event);
}

/// Where an account's audit events go (an AccountLogSetting with provider Splunk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogDestination {
    /// The HTTP Event Collector base URL, such as `https://splunk.example.com:8088`.
    pub base_url: String,
    /// The HEC token (`Authorization: Splunk <token>`).
    pub token: String,
}

/// Ships audit events to an account's log destination. Must queue and return at once: a slow
/// or dead collector never slows a request down.
pub trait LogForwarder {
    /// `event` is one HEC event object, serialized.
    fn forward(&self, destination: &LogDestination, event: String);
}

/// The verified claims of a Google ID token.
#[derive(Clone, Debug, Default)]
pub struct IdentityClaims {
    /// The Google account id (`sub`), stable across email changes.
    pub subject: String,
    /// The account's email address.
    pub email: String,
    /// Whether Google verified that address.
    pub email_verified: bool,
    /// First name, if the token has one.
    pub given_name: String,
    /// Last name, if the token has one.
    pub family_name: String,
}

/// Verifies third-party identities: Google ID tokens (RS256 against a JWKS), and the
/// identity providers of single sign-on (OpenID Connect). Hosts without an HTTP client keep
/// the SSO methods' defaults, which refuse.
// Handlers are generic over the host's ports, so these futures stay concrete types and a
// multi-threaded host still sees whether they are Send.
#[allow(async_fn_in_trait)]
pub trait IdTokenVerifier {
    /// The claims of a valid Google ID token for this agent, or why it was refused.
    fn verify_google(&self, id_token: &str) -> Result<IdentityClaims, &'static str>;

    /// Fetches `client`'s discovery document and checks that a code flow can run on it.
    async fn check_oidc(&self, _client: &OidcClient) -> Result<(), IdpError> {
        Err(IdpError::Unsupported)
    }

    /// The URL of `client`'s authorization endpoint that starts `start` (code flow, PKCE).
    async fn oidc_authorization_url(
        &self,
        _client: &OidcClient,
        _start: &OidcStart<'_>,
    ) -> Result<String, IdpError> {
        Err(IdpError::Unsupported)
    }

    /// Redeems `code` at `client`'s token endpoint and returns who the verified ID token
    /// names (signature against the provider's keys, issuer, audience, expiry, `nonce`).
    async fn oidc_redeem(
        &self,
        _client: &OidcClient,
        _redeem: &OidcRedeem<'_>,
    ) -> Result<SsoIdentity, IdpError> {
        Err(IdpError::Unsupported)
    }

    /// Every user of `client`'s directory with the names of its groups, read with the
    /// access token of an administrator's sign-in (Okta's Users and Groups API, Microsoft
    /// Graph for Entra ID).
    async fn oidc_directory(
        &self,
        _client: &OidcClient,
        _access_token: &str,
    ) -> Result<Vec<DirectoryUser>, IdpError> {
        Err(IdpError::Unsupported)
    }

    /// Reads an X.509 certificate (PEM, or base64 DER) a SAML identity provider signs with.
    fn check_certificate(&self, _certificate: &str) -> Result<CertificateInfo, IdpError> {
        Err(IdpError::Unsupported)
    }

    /// The URL of a SAML identity provider that starts `request` (an AuthnRequest over the
    /// HTTP-Redirect binding).
    fn saml_request_url(&self, _request: &SamlRequest<'_>) -> Result<String, IdpError> {
        Err(IdpError::Unsupported)
    }

    /// Checks a posted `SAMLResponse` (base64) against the identity provider's `certificate`
    /// and what the sign-in expects: signature (allowlisted algorithms, no wrapping),
    /// audience, recipient, validity, `InResponseTo`. Replays are the core's to refuse.
    fn saml_verify(
        &self,
        _certificate: &str,
        _response: &str,
        _expect: &SamlExpect<'_>,
    ) -> Result<SamlAssertion, IdpError> {
        Err(IdpError::Unsupported)
    }
}

/// A SAML AuthnRequest to send.
#[derive(Clone, Debug)]
pub struct SamlRequest<'a> {
    /// The identity provider's single sign-on service (`IdPSSOURL`).
    pub idp_sso_url: &'a str,
    /// This agent's entity id at the provider (`SPEntityId`).
    pub sp_entity_id: &'a str,
    /// Where the provider posts its answer (the agent's `/sso/saml_acs`).
    pub acs_url: &'a str,
    /// The request's `ID`, which the answer's `InResponseTo` must name.
    pub request_id: &'a str,
    /// Comes back with the answer: the pending sign-in's id.
    pub relay_state: &'a str,
    /// Now (Unix seconds), the request's `IssueInstant`.
    pub now_secs: u64,
}

/// What a SAML answer must match.
#[derive(Clone, Debug)]
pub struct SamlExpect<'a> {
    /// The audience (`SPEntityId`).
    pub sp_entity_id: &'a str,
    /// `Destination` and `Recipient`: the agent's ACS URL the request named.
    pub acs_url: &'a str,
    /// `InResponseTo`: the request's `ID`.
    pub request_id: &'a str,
    /// Now (Unix seconds).
    pub now_secs: u64,
}

/// A verified SAML assertion.
#[derive(Clone, Debug, Default)]
pub struct SamlAssertion {
    /// Its `ID`, for the replay cache.
    pub id: String,
    /// Until when a replay of it must be refused (Unix seconds).
    pub expires_secs: u64,
    /// Who it names.
    pub identity: SsoIdentity,
}

/// Which identity provider an OpenID Connect client talks to: their claims and directory
/// APIs differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdpFlavor {
    /// Okta: `groups` holds group names; the directory is Okta's Users and Groups API.
    Okta,
    /// Microsoft Entra ID: `groups` holds group object ids; the directory is Microsoft Graph.
    EntraId,
}

/// An OpenID Connect client of an account's SSO configuration, with its secret in clear for
/// the length of one call.
#[derive(Clone)]
pub struct OidcClient {
    /// Whose claims and directory to expect.
    pub flavor: IdpFlavor,
    /// The discovery document's URL (`.../.well-known/openid-configuration`).
    pub discovery_url: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
}

impl core::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OidcClient")
            .field("flavor", &self.flavor)
            .field("discovery_url", &self.discovery_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What an authorization request carries (all single-use values the core keeps).
#[derive(Clone, Debug)]
pub struct OidcStart<'a> {
    /// Where the provider sends the browser back (`CallbackUrl`).
    pub redirect_url: &'a str,
    /// The `state` parameter.
    pub state: &'a str,
    /// The `nonce` the ID token must carry.
    pub nonce: &'a str,
    /// The PKCE verifier, whose S256 challenge the request carries.
    pub code_verifier: &'a str,
    /// Whether to ask for the directory scopes of an administrator's import.
    pub directory: bool,
}

/// What redeeming an authorization code needs.
#[derive(Clone, Debug)]
pub struct OidcRedeem<'a> {
    /// The code the provider returned.
    pub code: &'a str,
    /// The redirect URL of the authorization request.
    pub redirect_url: &'a str,
    /// The PKCE verifier.
    pub code_verifier: &'a str,
    /// The `nonce` the ID token must carry.
    pub nonce: &'a str,
}

/// Who a verified sign-in names.
#[derive(Clone, Debug, Default)]
pub struct SsoIdentity {
    /// The provider's stable id for the user (`sub`).
    pub subject: String,
    /// The user's sign-in name at the provider (`preferred_username`, else `email`).
    pub username: String,
    /// The email address, if the provider gives one.
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
    /// The groups the provider names (Okta: names; Entra ID: object ids).
    pub groups: Vec<String>,
    /// The access token of the sign-in (for the directory of an import; never stored).
    pub access_token: String,
}

/// One user of an identity provider's directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The provider's id for the user.
    pub id: String,
    /// The sign-in name (Okta `login`, Entra `userPrincipalName`).
    pub username: String,
    /// The email address.
    pub email: String,
    /// First name.
    pub given_name: String,
    /// Last name.
    pub family_name: String,
    /// The names of its groups.
    pub groups: Vec<String>,
}

/// What a certificate says about itself.
#[derive(Clone, Debug, Default)]
pub struct CertificateInfo {
    /// The subject, as text.
    pub subject: String,
    /// End of validity (Unix seconds).
    pub not_after_secs: u64,
}

/// Why an identity provider call failed. Messages carry the provider's reason, never secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdpError {
    /// This host cannot reach identity providers.
    Unsupported,
    /// The provider could not be reached, or answered with something unusable.
    Unreachable(String),
    /// The provider or the verification refused: a bad code, token, signature or claim.
    Refused(String),
    /// The configuration cannot work (a malformed URL or certificate).
    Invalid(String),
}

/// A cloud provider and the credentials to reach it, in clear, for the length of one call.
#[derive(Clone, Default)]
pub struct CloudTarget {
    /// Stays the same while the credentials do: hosts may cache clients under it.
    pub cache_key: String,
    /// One `CloudType` flag (`AWS` 1, `Wasabi` 2, `Azure` 4, `S3Generic` 8, ...).
    pub cloud_type: u32,
    /// The provider's region (may be empty).
    pub region: String,
    /// The provider's base URL, when it is not the provider's default.
    pub endpoint: String,
    /// The access key id (Azure: the storage account name).
    pub access_key: String,
    /// The secret key (Azure: the account key, base64).
    pub secret_key: String,
    /// Provider-specific credentials, such as a GCS service account key (JSON).
    pub credentials_data: String,
}

impl core::fmt::Debug for CloudTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CloudTarget")
            .field("cloud_type", &self.cloud_type)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A bucket (Azure: container) as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketInfo {
    /// Its name.
    pub name: String,
    /// Its region, when asked for and known.
    pub region: Option<String>,
    /// When it was created (Unix ms), if the provider says.
    pub create_ms: Option<u64>,
}

/// An object, or a folder (a common prefix), as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The full key; a folder's ends with `/`.
    pub key: String,
    /// Its size in bytes (0 for a folder).
    pub size: u64,
    /// When it was last written (Unix ms), if known.
    pub last_modified_ms: Option<u64>,
    /// Whether it is a folder rather than an object.
    pub is_folder: bool,
}

/// One page of a listing.
#[derive(Clone, Debug, Default)]
pub struct ObjectPage {
    /// The objects and folders of the page, in the provider's order.
    pub objects: Vec<ObjectInfo>,
    /// Where the next page starts; `None` on the last page.
    pub continuation: Option<String>,
}

/// A byte range of an object, which the host streams to the client as a response body.
#[derive(Clone, Debug)]
pub struct ObjectRead {
    /// Where the object is.
    pub target: CloudTarget,
    /// The bucket (Azure: container).
    pub bucket: String,
    /// The object's key.
    pub key: String,
    /// The first byte.
    pub start: u64,
    /// The last byte (inclusive); `None` for the end of the object.
    pub end: Option<u64>,
    /// For a drive with `cloudObjectsEncrypted`: the place its key is derived for
    /// (`CloudDrive::objects_place`). The host opens the sealed object and the range is
    /// one of its plaintext.
    pub sealed: Option<String>,
}

/// What a presigned URL lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresignMethod {
    /// Download the object.
    Get,
    /// Upload the object.
    Put,
}

/// A presigned URL to ask for.
#[derive(Clone, Debug)]
pub struct Presign<'a> {
    /// Download or upload.
    pub method: PresignMethod,
    /// The bucket (Azure: container).
    pub bucket: &'a str,
    /// The object's key.
    pub key: &'a str,
    /// How long the URL stays good, in seconds.
    pub expires_secs: u64,
    /// For `Put`: the `Content-Type` the uploader must send.
    pub content_type: Option<&'a str>,
    /// For `Get`: answer with `Content-Disposition: attachment`.
    pub attachment: bool,
}

/// An OAuth authorization request to a cloud provider (Dropbox, Box, OneDrive, Google Drive).
#[derive(Clone, Debug)]
pub struct OAuthStart<'a> {
    /// Which provider (its `CloudType` flag).
    pub cloud_type: u32,
    /// Where the provider sends the browser back (`redirectURL`).
    pub redirect_url: &'a str,
    /// The single-use `state`.
    pub state: &'a str,
    /// The PKCE verifier, whose S256 challenge the request carries.
    pub code_verifier: &'a str,
}

/// What redeeming a cloud provider's authorization code needs.
#[derive(Clone, Debug)]
pub struct OAuthRedeem<'a> {
    /// Which provider.
    pub cloud_type: u32,
    /// The code the provider returned.
    pub code: &'a str,
    /// The redirect URL of the request.
    pub redirect_url: &'a str,
    /// The PKCE verifier.
    pub code_verifier: &'a str,
}

/// A connected cloud provider account.
#[derive(Clone, Default)]
pub struct OAuthGrant {
    /// The refresh token (stored sealed; never shown).
    pub refresh_token: String,
    /// The provider's id of the account.
    pub account_id: String,
    /// Its sign-in name or email, to tell accounts apart.
    pub account_name: String,
}

impl core::fmt::Debug for OAuthGrant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OAuthGrant")
            .field("account_id", &self.account_id)
            .field("account_name", &self.account_name)
            .finish_non_exhaustive()
    }
}

/// Why a provider call failed. Messages carry the provider's own reason, never credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// This build has no implementation for the `cloudType`.
    Unsupported,
    /// The provider refused the credentials or the operation.
    Denied(String),
    /// The bucket or object does not exist.
    NotFound(String),
    /// The request cannot be made as given (a malformed endpoint, an invalid name).
    Invalid(String),
    /// Unreachable, timed out, or failed on the provider's side.
    Failed(String),
}

/// Request-sized operations on a cloud provider's object storage. Bulk data moves through the
/// host's transfer engine, not through the core.
// Handlers are generic over the host's ports, so these futures stay concrete types and a
// multi-threaded host still sees whether they are Send.
#[allow(async_fn_in_trait)]
pub trait ObjectStorage {
    /// The buckets the credentials can see, with their regions when `include_region`.
    async fn list_buckets(
        &self,
        target: &CloudTarget,
        include_region: bool,
    ) -> Result<Vec<BucketInfo>, StorageError>;

    /// One page of the objects and folders directly under `prefix` (which ends with `/`, or
    /// is empty for the bucket's root).
    async fn list_objects(
        &self,
        target: &CloudTarget,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max: usize,
    ) -> Result<ObjectPage, StorageError>;

    /// The object at `key` (no folder): its size and when it was written;
    /// [`StorageError::NotFound`] when there is none.
    async fn stat(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<ObjectInfo, StorageError>;

    /// Deletes one object, or everything under a key that ends with `/`.
    async fn delete(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<(), StorageError>;

    /// Writes an empty folder marker (`key` ends with `/`).
    async fn create_folder(
        &self,
        target: &CloudTarget,
        bucket: &str,
        key: &str,
    ) -> Result<(), StorageError>;

    /// A presigned URL for `request`: anyone holding it may do that until it expires.
    async fn presign(
        &self,
        target: &CloudTarget,
        request: &Presign<'_>,
    ) -> Result<String, StorageError>;

    /// Asks the agent at `source` (its built-in storage, under `source`'s key) about the
    /// push it runs for P2P transfer `id`, or to pause, resume or cancel it.
    async fn push(
        &self,
        source: &CloudTarget,
        id: &str,
        action: PushAction,
    ) -> Result<PushState, StorageError> {
        let _ = (source, id, action);
        Err(StorageError::Unsupported)
    }

    /// The provider's authorization URL for connecting an account over OAuth (code flow,
    /// PKCE S256, `state`); [`StorageError::Invalid`] names a missing client setting.
    fn oauth_authorization_url(&self, request: &OAuthStart<'_>) -> Result<String, StorageError> {
        let _ = request;
        Err(StorageError::Unsupported)
    }

    /// Redeems a provider's authorization code: the refresh token and whose account it is.
    async fn oauth_redeem(&self, redeem: &OAuthRedeem<'_>) -> Result<OAuthGrant, StorageError> {
        let _ = redeem;
        Err(StorageError::Unsupported)
    }
}

/// A push as the source agent tells it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushState {
    /// The orchestrator's transfer id.
    pub id: String,
    /// `running`, `paused`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// Bytes the target has acknowledged.
    pub transferred_bytes: u64,
    /// The object's size.
    pub total_bytes: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// Whether the target's ETag of the whole object matched the bytes read.
    pub checksum_verified: bool,
}

/// What an orchestrator asks of a source agent about a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushAction {
    /// Say how it goes.
    Status,
    /// Stop moving bytes, keeping the parts the target has.
    Pause,
    /// Go on from the parts the target has.
    Resume,
    /// Stop for good and abort the upload at the target.
    Cancel,
}

impl PushAction {
    /// The `action` query value of the source agent's push route.
    pub fn as_str(self) -> &'static str {
        match self {
            PushAction::Status => "status",
            PushAction::Pause => "pause",
            PushAction::Resume => "resume",
            PushAction::Cancel => "cancel",
        }
    }

    /// The action an `action` query value names.
    pub fn parse(s: &str) -> Option<PushAction> {
        [Self::Status, Self::Pause, Self::Resume, Self::Cancel]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// For hosts that keep no Google keys (devices): Google sign-in is refused with a reason.
pub struct NoGoogle;

impl IdTokenVerifier for NoGoogle {
    fn verify_google(&self, _: &str) -> Result<IdentityClaims, &'static str> {
        Err("Google sign-in is not configured on this device (it keeps no Google keys).")
    }
}

/// For hosts without an HTTP client (devices): audit events are not forwarded.
pub struct NoForwarding;

impl LogForwarder for NoForwarding {
    fn forward(&self, _: &LogDestination, _: String) {}
}

/// For builds without cloud providers (firmware): every call is [`StorageError::Unsupported`].
pub struct NoObjectStorage;

impl ObjectStorage for NoObjectStorage {
    async fn list_buckets(
        &self,
        _: &CloudTarget,
        _: bool,
    ) -> Result<Vec<BucketInfo>, StorageError> {
        Err(StorageError::Unsupported)
    }
    async fn list_objects(
        &self,
        _: &CloudTarget,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: usize,
    ) -> Result<ObjectPage, StorageError> {
        Err(StorageError::Unsupported)
    }
    async fn stat(&self, _: &CloudTarget, _: &str, _: &str) -> Result<ObjectInfo, StorageError> {
        Err(StorageError::Unsupported)
    }
    async fn delete(&self, _: &CloudTarget, _: &str, _: &str) -> Result<(), StorageError> {
        Err(StorageError::Unsupported)
    }
    async fn create_folder(&self, _: &CloudTarget, _: &str, _: &str) -> Result<(), StorageError> {
        Err(StorageError::Unsupported)
    }
    async fn presign(&self, _: &CloudTarget, _: &Presign<'_>) -> Result<String, StorageError> {
        Err(StorageError::Unsupported)
    }
}

/// The host's transfer engine. The core saves a transfer's record first, then asks the engine
/// to act on it; the engine reads the record, moves the bytes and keeps the record current
/// (see [`crate::transfers::update`]). Both calls queue and return at once.
pub trait TransferRunner {
    /// Whether this host can move files at all (firmware cannot).
    fn available(&self) -> bool {
        true
    }
    /// Starts or resumes the transfer.
    fn start(&self, transfer_id: &str);
    /// Stops moving its bytes within a second: the record says whether it was paused (keep
    /// what was done) or cancelled (undo it).
    fn stop(&self, transfer_id: &str);
}

/// For builds without local files (firmware).
pub struct NoTransfers;

impl TransferRunner for NoTransfers {
    fn available(&self) -> bool {
        false
    }
    fn start(&self, _: &str) {}
    fn stop(&self, _: &str) {}
}

/// What a host is asked to do with one file or folder of a cloud drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveCommand {
    /// Fetch its data into the cache (a folder: every file under it); queued, not awaited.
    Hydrate,
    /// Keep it offline: hydrate it and never evict it (the journal already says pinned).
    Pin,
    /// Let it be evicted again (the journal already says not pinned); drop its cached data.
    Unpin,
    /// Drop its cached data (clean data only; the cloud copy stays).
    Evict,
    /// Delete it in the cloud and locally.
    Delete,
}

/// Why a host could not do a [`DriveCommand`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriveError {
    /// The drive is not mounted or running on this host (inactive, or it failed to start).
    NotRunning,
    /// The file or folder does not exist.
    NotFound,
    /// The provider refused or failed, with its reason.
    Storage(StorageError),
    /// The host failed on its side (a disk error), with its reason.
    Failed(String),
}

/// Replaces the agent's own program with a newer signed release (`/management/check_update`
/// and `/management/update`).
// Generic handlers keep these futures concrete, so a multi-threaded host sees if they are Send.
#[allow(async_fn_in_trait)]
pub trait Updater {
    /// This program's version and the newest release the feed offers for this platform,
    /// its signature checked.
    async fn check(&self) -> Result<UpdateCheck, UpdateError>;

    /// Downloads the newest release, checks its size, hash and signature, and puts it in
    /// place of this program (keeping the old one). Returns its version; the host then exits
    /// for its service manager to start the new program.
    async fn apply(&self) -> Result<String, UpdateError>;
}

/// What the update feed offers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateCheck {
    /// This program's version.
    pub current: String,
    /// The newest signed release for this platform, if the feed has one.
    pub newest: Option<String>,
}

/// Why an update check or an update failed; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// This host cannot update itself.
    Unsupported,
    /// No feed is configured.
    NotConfigured,
    /// The feed or the release could not be read.
    Unreachable(String),
    /// A release was refused: a bad signature, size or hash, or not newer than this program.
    Refused(String),
    /// Putting the release in place failed (the old program stays).
    Failed(String),
}

/// For hosts that do not replace their own program (devices, embedders).
pub struct NoUpdates;

impl Updater for NoUpdates {
    async fn check(&self) -> Result<UpdateCheck, UpdateError> {
        Err(UpdateError::Unsupported)
    }
    async fn apply(&self) -> Result<String, UpdateError> {
        Err(UpdateError::Unsupported)
    }
}

/// The host's cloud drives: mounts, synced folders and their caches. The core stores each
/// drive's configuration and journal; the host runs the drives they describe.
// Generic handlers keep these futures concrete, so a multi-threaded host sees if they are Send.
#[allow(async_fn_in_trait)]
pub trait DriveHost {
    /// Whether this host can run drives at all (firmware and library hosts without a file
    /// system cannot).
    fn available(&self) -> bool {
        true
    }
    /// Drive `drive_id` was added or its configuration changed: (re)start it as it is stored
    /// now, or stop it if it is inactive. Queues and returns at once.
    fn apply(&self, drive_id: &str);
    /// Drive `drive_id` was deleted (its row is gone): stop it, unmount, drop its cache
    /// folder `cache_path`. Queues and returns at once.
    fn remove(&self, drive_id: &str, cache_path: &str);
    /// Run a sync pass of the drive now, starting at relative folder `rel`.
    fn sync(&self, drive_id: &str, rel: &str);
    /// Show `local_path` in the desktop's file manager, if there is a desktop session.
    fn open(&self, local_path: &str) -> Result<(), String>;
    /// Does `command` to relative path `rel` of drive `drive_id`.
    async fn object(
        &self,
        drive_id: &str,
        rel: &str,
        command: DriveCommand,
    ) -> Result<(), DriveError>;
    /// Whether a folder rename from `rel` in drive `drive_id` is still moving objects.
    fn rename_pending(&self, drive_id: &str, rel: &str) -> bool;
    /// What drive (or backup) `drive_id` is moving now and its cache holds, for the reports.
    fn activity(&self, _drive_id: &str) -> DriveActivity {
        DriveActivity::default()
    }
}

/// A running drive's moment, as the reports show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriveActivity {
    /// Bytes its cache holds on disk.
    pub cache_bytes: u64,
    /// Uploads in flight.
    pub uploads: u64,
    /// Downloads (block fetches) in flight.
    pub downloads: u64,
}

/// For hosts without drives: every call says so.
pub struct NoDrives;

impl DriveHost for NoDrives {
    fn available(&self) -> bool {
        false
    }
    fn apply(&self, _: &str) {}
    fn remove(&self, _: &str, _: &str) {}
    fn sync(&self, _: &str, _: &str) {}
    fn open(&self, _: &str) -> Result<(), String> {
        Err(String::from("this host has no cloud drives"))
    }
    async fn object(&self, _: &str, _: &str, _: DriveCommand) -> Result<(), DriveError> {
        Err(DriveError::NotRunning)
    }
    fn rename_pending(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// One entry of a local folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEntry {
    /// Its name.
    pub name: String,
    /// A folder rather than a file.
    pub is_dir: bool,
}

/// Why a local file operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalError {
    /// The path (links resolved) is outside the folders the agent may use.
    Outside,
    /// Nothing is there.
    NotFound,
    /// Something is already there.
    Exists,
    /// The operating system refused, with its reason.
    Failed(String),
}

/// The machine's own file system, for the local-folder routes of File System Operations.
/// Paths reach it checked lexically against the roots; the host checks them again with links
/// resolved.
pub trait LocalFiles {
    /// Whether this host has a file system to show (devices do not).
    fn available(&self) -> bool {
        true
    }
    /// The user's home folder, where listings of an empty path start.
    fn home(&self) -> Option<String>;
    /// The mount points of the machine's file systems (Unix) or its drive roots (Windows).
    fn mount_points(&self) -> Vec<String>;
    /// The entries of folder `path`.
    fn list(&self, path: &str) -> Result<Vec<LocalEntry>, LocalError>;
    /// Creates folder `path` (its parent must exist).
    fn make_dir(&self, path: &str) -> Result<(), LocalError>;
}

/// For hosts without a file system.
pub struct NoLocalFiles;

impl LocalFiles for NoLocalFiles {
    fn available(&self) -> bool {
        false
    }
    fn home(&self) -> Option<String> {
        None
    }
    fn mount_points(&self) -> Vec<String> {
        Vec::new()
    }
    fn list(&self, _: &str) -> Result<Vec<LocalEntry>, LocalError> {
        Err(LocalError::Failed(String::from(
            "this host has no file system",
        )))
    }
    fn make_dir(&self, _: &str) -> Result<(), LocalError> {
        Err(LocalError::Failed(String::from(
            "this host has no file system",
        )))
    }
}

/// Which protocol a network mount speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareProtocol {
    /// SMB 2/3 (`SMBClientModel`).
    Smb,
    /// NFS v3/v4 (`NFSClientModel`).
    Nfs,
}

/// A network share to mount, as the host needs it (the password unsealed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareMount {
    /// The mount's id (one mount per id).
    pub id: String,
    /// SMB or NFS.
    pub protocol: ShareProtocol,
    /// The server's host name or address.
    pub host: String,
    /// The server's port, when not the protocol's own.
    pub port: Option<u16>,
    /// SMB: the share's name. NFS: the exported path.
    pub share: String,
    /// A folder inside the share to mount instead of its root (`a/b`, or empty).
    pub folder: String,
    /// The protocol version asked for: SMB's lowest dialect ("3.0"), NFS's versions ("4.1").
    pub version: String,
    /// Where it is mounted on this machine.
    pub local_path: String,
    /// SMB's sign-in (empty for NFS).
    pub username: String,
    /// SMB's password, unsealed.
    pub password: String,
    /// SMB's domain or workgroup.
    pub domain: String,
}

/// How a network mount is doing on this host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShareState {
    /// The server took the sign-in (NFS: the export was reached).
    pub authenticated: bool,
    /// How it is mounted: `"kernel"` or `"fuse"` (the agent's userspace client); `None` when
    /// it is not mounted.
    pub mounted_by: Option<&'static str>,
    /// Why it is not mounted or not working, when it is not.
    pub error: Option<String>,
}

/// Why a share could not be mounted; nothing was mounted or changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareError {
    /// The server could not be reached or did not answer.
    Unreachable(String),
    /// The server refused the sign-in.
    Auth(String),
    /// The server has no such share or export.
    NotFound(String),
    /// The mount itself failed (the local folder, FUSE), or the host cannot mount shares.
    Failed(String),
}

/// Mounts SMB and NFS shares at local folders (`/management/smbclient`, `/nfsclient`).
#[allow(async_fn_in_trait)]
pub trait ShareMounts {
    /// Whether this host can mount shares at all.
    fn available(&self) -> bool {
        true
    }
    /// Signs in to the share and mounts it at its local path, replacing the mount of the same
    /// id; if this fails, the mount that was there stays as it was.
    async fn mount(&self, share: &ShareMount) -> Result<ShareState, ShareError>;
    /// Unmounts the share of this id, if it is mounted.
    fn unmount(&self, id: &str);
    /// How the share of this id is doing (`None`: not mounted and no error recorded).
    fn state(&self, id: &str) -> Option<ShareState>;
    /// Holds off the host's own mounting of stored shares (say, a retry of those whose
    /// server was down) until [`release`](ShareMounts::release): a change mounts and stores
    /// a share as one step for it, so it never acts on a configuration being replaced.
    async fn hold(&self) {}
    /// Ends a [`hold`](ShareMounts::hold).
    fn release(&self) {}
}

/// For hosts that do not mount network shares (devices, embedders).
pub struct NoShareMounts;

impl ShareMounts for NoShareMounts {
    fn available(&self) -> bool {
        false
    }
    async fn mount(&self, _: &ShareMount) -> Result<ShareState, ShareError> {
        Err(ShareError::Failed(String::from(
            "this host does not mount network shares",
        )))
    }
    fn unmount(&self, _: &str) {}
    fn state(&self, _: &str) -> Option<ShareState> {
        None
    }
}

/// Everything a host hands the core, as one bundle of associated types so that handlers stay
/// generic without boxing.
pub trait Ports {
    /// Where the core keeps all its state.
    type Store: Store;
    /// Wall-clock time.
    type Clock: Clock;
    /// Randomness for ids, tokens, codes and nonces.
    type Rng: Rng;
    /// Signs session tokens.
    type Signer: TokenSigner;
    /// Hashes passwords.
    type Hasher: PasswordHasher;
    /// Sends (or keeps) mail.
    type Mailer: Mailer;
    /// Receives the events for WebSocket clients.
    type Events: EventSink;
    /// Checks Google ID tokens.
    type IdTokens: IdTokenVerifier;
    /// Forwards audit events.
    type Logs: LogForwarder;
    /// Reaches cloud providers.
    type Objects: ObjectStorage;
    /// Moves the bytes of uploads and downloads.
    type Transfers: TransferRunner;
    /// Runs the cloud drives.
    type Drives: DriveHost;
    /// The machine's file system.
    type Files: LocalFiles;
    /// Replaces the agent's program with signed releases.
    type Updates: Updater;
    /// Mounts SMB and NFS shares.
    type Shares: ShareMounts;

    /// The [`Store`](Ports::Store).
    fn store(&self) -> &Self::Store;
    /// The [`Clock`](Ports::Clock).
    fn clock(&self) -> &Self::Clock;
    /// The [`Rng`](Ports::Rng).
    fn rng(&self) -> &Self::Rng;
    /// The [`Signer`](Ports::Signer).
    fn signer(&self) -> &Self::Signer;
    /// The [`Hasher`](Ports::Hasher).
    fn hasher(&self) -> &Self::Hasher;
    /// The [`Mailer`](Ports::Mailer).
    fn mailer(&self) -> &Self::Mailer;
    /// The [`Events`](Ports::Events) sink.
    fn events(&self) -> &Self::Events;
    /// The [`IdTokens`](Ports::IdTokens) verifier.
    fn id_tokens(&self) -> &Self::IdTokens;
    /// The [`Logs`](Ports::Logs) forwarder.
    fn logs(&self) -> &Self::Logs;
    /// The [`Objects`](Ports::Objects) storage.
    fn objects(&self) -> &Self::Objects;
    /// The [`Transfers`](Ports::Transfers) engine.
    fn transfers(&self) -> &Self::Transfers;
    /// The [`Drives`](Ports::Drives) host.
    fn drives(&self) -> &Self::Drives;
    /// The [`Files`](Ports::Files) of the machine.
    fn files(&self) -> &Self::Files;
    /// The [`Updates`](Ports::Updates) of the agent's program.
    fn updates(&self) -> &Self::Updates;
    /// The [`Shares`](Ports::Shares) mounted on this host.
    fn shares(&self) -> &Self::Shares;
    /// Seals secrets (cloud keys) before they are stored.
    fn secrets(&self) -> &SecretBox;
}

/// Random helpers over any [`Rng`].
pub trait RngExt: Rng {
    /// `N` random bytes.
    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill(&mut b);
        b
    }

    /// A random version-4 UUID in its usual text form.
    fn uuid(&self) -> String {
        let mut b: [u8; 16] = self.bytes();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        alloc::format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A random token with `n` bytes of entropy, hex-encoded (safe in URLs and headers).
    fn token(&self, n: usize) -> String {
        let mut b = alloc::vec![0u8; n];
        self.fill(&mut b);
        hex(&b)
    }

    /// `n` random decimal digits (for short codes a person types).
    fn digits(&self, n: usize) -> String {
        let mut out = String::with_capacity(n);
        while out.len() < n {
            let [b] = self.bytes::<1>();
            // Rejection sampling keeps the digits uniform.
            if b < 250 {
                out.push(char::from(b'0' + b % 10));
            }
        }
        out
    }
}

impl<R: Rng + ?Sized> RngExt for R {}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// `N` bytes from their lower- or upper-case hex form ([`hex`] undone).
pub fn unhex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if hex.len() != 2 * N {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
