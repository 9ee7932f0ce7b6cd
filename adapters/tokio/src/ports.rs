//! The host's implementations of the core's ports.

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use click_core::auth::jwt::Claims;
use click_core::ports::{Clock, PasswordHasher, Ports, Rng, SecretBox, TokenSigner};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};

use crate::cloud::CloudStorage;
use crate::drives::DriveManager;
use crate::events::Hub;
use crate::local_files::DesktopFiles;
use crate::logs::SplunkForwarder;
use crate::mail::DesktopMailer;
use crate::sso::Identities;
use crate::store::AgentStore;
use crate::thread_cache::ThreadCache;
use crate::transfers::TransferEngine;

/// Runs blocking work (a disk sync, a password hash) without stalling other tasks on this
/// worker thread.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Waits, in a port's synchronous method, for `work` (an HTTP call) run on the runtime: the
/// worker thread steps aside as in [`blocking`], so other tasks keep being served. Needs the
/// multi-thread runtime click-agent runs on.
pub fn wait_for<F: std::future::Future>(work: F) -> F::Output {
    let runtime = tokio::runtime::Handle::current();
    blocking(|| runtime.block_on(work))
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// The operating system's CSPRNG.
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the OS random source failed");
    }
}

/// HS256 session tokens through `jsonwebtoken`. A token's claims never change, so each token
/// is verified once and its claims kept in a bounded map; the core still checks expiry and
/// the session row on every request, so logout and expiry take effect at once.
pub struct JwtSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    verified: ThreadCache<Claims>,
}

const VERIFIED_TOKENS: usize = 4096;

impl JwtSigner {
    pub fn new(key: &[u8]) -> JwtSigner {
        let mut validation = Validation::new(Algorithm::HS256);
        // The core checks expiry against its own clock, and sessions against the store.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        JwtSigner {
            encoding: EncodingKey::from_secret(key).expect("a non-empty key"),
            decoding: DecodingKey::from_secret(key).expect("a non-empty key"),
            validation,
            verified: ThreadCache::new(VERIFIED_TOKENS),
        }
    }
}

impl TokenSigner for JwtSigner {
    fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).unwrap_or_default()
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        if let Some(claims) = self.verified.get(token.as_bytes()) {
            return Some(claims);
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        // Claims of a token never change: nothing ever invalidates this cache.
        self.verified.insert(token.as_bytes(), claims.clone(), 0);
        Some(claims)
    }
}

/// argon2id with the crate's defaults (19 MiB, 2 passes).
pub struct Argon2Hasher;

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> String {
        blocking(|| {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .expect("argon2 hashing with default parameters")
        })
    }

    fn verify(&self, password: &str, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        blocking(|| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    }
}

pub struct DesktopPorts {
    pub store: AgentStore,
    pub signer: JwtSigner,
    pub mailer: DesktopMailer,
    pub hub: Hub,
    pub identities: Identities,
    pub logs: SplunkForwarder,
    pub cloud: CloudStorage,
    pub transfers: TransferEngine,
    pub drives: DriveManager,
    pub files: DesktopFiles,
    pub updates: crate::update::SelfUpdater,
    pub shares: crate::shares::ShareManager,
    pub secrets: SecretBox,
}

impl Ports for DesktopPorts {
    type Store = AgentStore;
    type Clock = SystemClock;
    type Rng = OsRng;
    type Signer = JwtSigner;
    type Hasher = Argon2Hasher;
    type Mailer = DesktopMailer;
    type Events = Hub;
    type IdTokens = Identities;
    type Logs = SplunkForwarder;
    type Objects = CloudStorage;
    type Transfers = TransferEngine;
    type Drives = DriveManager;
    type Files = DesktopFiles;
    type Updates = crate::update::SelfUpdater;
    type Shares = crate::shares::ShareManager;

    fn store(&self) -> &AgentStore {
        &self.store
    }
    fn clock(&self) -> &SystemClock {
        &SystemClock
    }
    fn rng(&self) -> &OsRng {
        &OsRng
    }
    fn signer(&self) -> &JwtSigner {
        &self.signer
    }
    fn hasher(&self) -> &Argon2Hasher {
        &Argon2Hasher
    }
    fn mailer(&self) -> &DesktopMailer {
        &self.mailer
    }
    fn events(&self) -> &Hub {
        &self.hub
    }
    fn id_tokens(&self) -> &Identities {
        &self.identities
    }
    fn logs(&self) -> &SplunkForwarder {
        &self.logs
    }
    fn objects(&self) -> &CloudStorage {
        &self.cloud
    }
    fn transfers(&self) -> &TransferEngine {
        &self.transfers
    }
    fn drives(&self) -> &DriveManager {
        &self.drives
    }
    fn files(&self) -> &DesktopFiles {
        &self.files
    }
    fn updates(&self) -> &crate::update::SelfUpdater {
        &self.updates
    }
    fn shares(&self) -> &crate::shares::ShareManager {
        &self.shares
    }
    fn secrets(&self) -> &SecretBox {
        &self.secrets
    }
}
