//! Second factors and identity providers as a client meets them: TOTP codes from the
//! independent `totp-rs`, and Google ID tokens signed (RS256) by the test key whose public
//! half is `fixtures/google-jwks.json`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use totp_rs::{Builder, Secret, Totp};

use crate::{Value, json};

/// The audience the Google tests configure (`[google] client_ids`).
pub const CLIENT_ID: &str = "click-test.apps.googleusercontent.com";

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Keeps a test away from a 30 s step boundary, so that "this step" means one thing.
pub fn away_from_step_boundary() {
    let into_step = now() % 30;
    if into_step > 24 {
        std::thread::sleep(Duration::from_secs(31 - into_step));
    }
}

fn totp(secret: &str) -> Totp {
    Builder::new()
        .with_secret(Secret::try_from_base32(secret).expect("base-32 secret"))
        .build_noncompliant()
}

/// The TOTP code of `secret` (base 32) `step_offset` steps of 30 s from now.
pub fn code(secret: &str, step_offset: i64) -> String {
    totp(secret)
        .generate((now() as i64 + step_offset * 30) as u64)
        .to_string()
}

/// A file of `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The agent configuration that trusts the test key for Google sign-in.
pub fn google_config() -> String {
    format!(
        "[google]\nclient_ids = [\"{CLIENT_ID}\"]\njwks_file = \"{}\"\n",
        fixture("google-jwks.json")
    )
}

/// An ID token with `claims`, signed by the key in `key_file` (a fixture).
pub fn id_token(key_file: &str, claims: Value) -> String {
    let pem = std::fs::read(fixture(key_file)).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    encode(&header, &claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

/// What Google says of a verified user `sub` with `email`, valid for ten minutes.
pub fn claims(sub: &str, email: &str) -> Value {
    json!({
        "iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": sub, "email": email,
        "email_verified": true, "given_name": "Gina", "family_name": "Google",
        "iat": now(), "exp": now() + 600,
    })
}
