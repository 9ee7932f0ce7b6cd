//! Session token claims and a no_std HS256 JWT signer (used on embedded hosts and in tests;
//! the desktop signs the same claims with `jsonwebtoken`).
//! Hand-written because `jsonwebtoken` needs std; the tests check it against that crate.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::ports::TokenSigner;

/// What a session token says. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Account id.
    pub acc: String,
    /// `UserType` flag of the user when the token was issued.
    pub typ: u32,
    /// Session id; the session row decides whether the token is still good.
    pub sid: String,
    /// Issued at.
    pub iat: u64,
    /// Expires at; the core checks it against its own clock.
    pub exp: u64,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// A [`TokenSigner`] for hosts without a JWT library: HS256 over `hmac` + `sha2`.
pub struct Hs256 {
    key: Vec<u8>,
}

impl Hs256 {
    /// A signer under `key`, which the host keeps secret and stable: tokens signed under
    /// another key are refused.
    pub fn new(key: &[u8]) -> Hs256 {
        Hs256 { key: key.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC accepts any key length")
    }
}

impl TokenSigner for Hs256 {
    fn sign(&self, claims: &Claims) -> String {
        let mut token = URL_SAFE_NO_PAD.encode(HEADER);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default()));
        let mut mac = self.mac();
        mac.update(token.as_bytes());
        let sig = mac.finalize().into_bytes();
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(sig));
        token
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        let (signed, sig) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.get("alg")?.as_str()? != "HS256" {
            return None;
        }
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "u".into(),
            acc: "a".into(),
            typ: 16,
            sid: "s".into(),
            iat: 1,
            exp: 2,
        }
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let s = Hs256::new(b"secret");
        let t = s.sign(&claims());
        assert_eq!(s.verify(&t), Some(claims()));
        assert_eq!(Hs256::new(b"other").verify(&t), None);
        let mut forged = String::from(t.rsplit_once('.').unwrap().0);
        forged.push_str(".AAAA");
        assert_eq!(s.verify(&forged), None);
        assert_eq!(s.verify("not a token"), None);
    }

    /// `jsonwebtoken` set to take the agent's tokens: HS256, expiry left to the core.
    fn independent() -> (
        jsonwebtoken::EncodingKey,
        jsonwebtoken::DecodingKey,
        jsonwebtoken::Validation,
    ) {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        (
            jsonwebtoken::EncodingKey::from_secret(b"secret").unwrap(),
            jsonwebtoken::DecodingKey::from_secret(b"secret").unwrap(),
            validation,
        )
    }

    #[test]
    fn jsonwebtoken_verifies_what_hs256_signs() {
        let (_, decoding, validation) = independent();
        let token = Hs256::new(b"secret").sign(&claims());
        let decoded = jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).unwrap();
        assert_eq!(decoded.claims, claims());
    }

    #[test]
    fn hs256_verifies_what_jsonwebtoken_signs_and_refuses_it_tampered() {
        let (encoding, _, _) = independent();
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        let token = jsonwebtoken::encode(&header, &claims(), &encoding).unwrap();
        let s = Hs256::new(b"secret");
        assert_eq!(s.verify(&token), Some(claims()));
        // The same signature over other claims (an admin's user type).
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, sig] = parts[..] else {
            panic!("three parts: {token}")
        };
        let mut raised = claims();
        raised.typ = 1;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&raised).unwrap());
        assert_ne!(forged_payload, payload);
        let forged = alloc::format!("{header}.{forged_payload}.{sig}");
        assert_eq!(s.verify(&forged), None);
    }
}
