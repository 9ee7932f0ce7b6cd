//! What a host provides. Adapters implement these traits; the core's own tests use the
//! in-memory implementations in [`crate::store::mem`] and [`crate::auth::jwt::Hs256`].

use alloc::string::String;

use crate::auth::jwt::Claims;
use crate::events::Event;
pub use crate::store::Store;

/// Wall-clock time in milliseconds since the Unix epoch.
pub trait Clock {
    fn now_ms(&self) -> u64;
}

/// A cryptographically secure random source.
pub trait Rng {
    fn fill(&self, buf: &mut [u8]);
}

/// Signs and checks the agent's own session tokens (JWT, HS256).
pub trait TokenSigner {
    fn sign(&self, claims: &Claims) -> String;
    /// Checks the signature and decodes the claims. Expiry is checked by the core, against
    /// its [`Clock`], not here.
    fn verify(&self, token: &str) -> Option<Claims>;
}

/// Slow password hashing (argon2id on the desktop).
pub trait PasswordHasher {
    fn hash(&self, password: &str) -> String;
    fn verify(&self, password: &str, hash: &str) -> bool;
}

/// Why a message is sent; becomes the `X-Click-Purpose` header of an outbox message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailPurpose {
    SignupConfirmation,
    PasswordReset,
    UserActivation,
    DownloadLink,
}

impl MailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            MailPurpose::SignupConfirmation => "signup-confirmation",
            MailPurpose::PasswordReset => "password-reset",
            MailPurpose::UserActivation => "user-activation",
            MailPurpose::DownloadLink => "download-link",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub purpose: MailPurpose,
    /// The code or token the message carries.
    pub token: String,
}

/// Sends mail. Implementations must not block for long: queue and return.
pub trait Mailer {
    fn send(&self, mail: Mail) -> Result<(), MailError>;
}

#[derive(Debug)]
pub struct MailError;

/// Receives every event the core raises, already numbered and serialized.
pub trait EventSink {
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
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub given_name: String,
    pub family_name: String,
}

/// Verifies third-party identity tokens (Google ID tokens: RS256 against a JWKS).
pub trait IdTokenVerifier {
    fn verify_google(&self, id_token: &str) -> Result<IdentityClaims, &'static str>;
}

/// Everything a host hands the core, as one bundle of associated types so that handlers stay
/// generic without boxing.
pub trait Ports {
    type Store: Store;
    type Clock: Clock;
    type Rng: Rng;
    type Signer: TokenSigner;
    type Hasher: PasswordHasher;
    type Mailer: Mailer;
    type Events: EventSink;
    type IdTokens: IdTokenVerifier;
    type Logs: LogForwarder;

    fn store(&self) -> &Self::Store;
    fn clock(&self) -> &Self::Clock;
    fn rng(&self) -> &Self::Rng;
    fn signer(&self) -> &Self::Signer;
    fn hasher(&self) -> &Self::Hasher;
    fn mailer(&self) -> &Self::Mailer;
    fn events(&self) -> &Self::Events;
    fn id_tokens(&self) -> &Self::IdTokens;
    fn logs(&self) -> &Self::Logs;
}

/// Random helpers over any [`Rng`].
pub trait RngExt: Rng {
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

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
