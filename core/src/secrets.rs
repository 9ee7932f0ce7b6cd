//! Secrets at rest: cloud keys are sealed with XChaCha20-Poly1305 under a key the host keeps
//! outside the database (a file in the desktop's data dir), so a copied database file alone
//! reveals none of them.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::ports::{Rng, RngExt};

const VERSION: &str = "x1:";

/// Seals and opens secrets under the host's key (XChaCha20-Poly1305). Hosts make one from a
/// key they keep outside the store and hand it to the core through [`Ports::secrets`].
///
/// [`Ports::secrets`]: crate::ports::Ports::secrets
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    /// A box under `key`: 32 random bytes the host keeps, and keeps the same (what was sealed
    /// under another key does not open).
    pub fn new(key: &[u8; 32]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// `x1:` then base64 of a random 24-byte nonce and the ciphertext with its tag. An empty
    /// secret stays empty.
    pub fn seal(&self, plain: &str, rng: &impl Rng) -> String {
        if plain.is_empty() {
            return String::new();
        }
        let nonce: [u8; 24] = rng.bytes();
        // Encryption into a Vec only fails on absurd lengths (over 256 GiB).
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(nonce.len() + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        let mut text = String::from(VERSION);
        STANDARD_NO_PAD.encode_string(&out, &mut text);
        text
    }

    /// `None` when the text was not sealed under this key (or was altered).
    pub fn open(&self, sealed: &str) -> Option<String> {
        if sealed.is_empty() {
            return Some(String::new());
        }
        let bytes = STANDARD_NO_PAD.decode(sealed.strip_prefix(VERSION)?).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, body) = bytes.split_at(24);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestPorts;

    #[test]
    fn sealed_secrets_open_only_under_their_key() {
        let ports = TestPorts::default();
        let a = SecretBox::new(&[7; 32]);
        let sealed = a.seal("wJalrXUtnFEMI/K7MDENG", &ports.rng);
        assert!(sealed.starts_with("x1:"));
        assert!(!sealed.contains("wJalr"));
        assert_ne!(
            sealed,
            a.seal("wJalrXUtnFEMI/K7MDENG", &ports.rng),
            "nonces differ"
        );
        assert_eq!(a.open(&sealed).as_deref(), Some("wJalrXUtnFEMI/K7MDENG"));
        assert_eq!(SecretBox::new(&[8; 32]).open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(a.open(&tampered), None);
        assert_eq!(a.open(""), Some(String::new()));
        assert_eq!(a.seal("", &ports.rng), "");
    }
}
