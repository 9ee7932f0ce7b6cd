//! RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits), as authenticator apps use it.
//! Hand-written: totp-rs picks SHA-1/256/512 at run time, which would link SHA-512 into firmware.

use alloc::string::String;
use alloc::vec::Vec;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

pub const STEP_SECS: u64 = 30;
/// Codes from one step before and after are accepted, for clock skew.
pub const SKEW_STEPS: u64 = 1;

/// The code for time step `counter` (RFC 4226 HOTP).
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    truncated_hmac(secret, counter) % 1_000_000
}

/// RFC 4226 dynamic truncation of HMAC-SHA1(`counter`): 31 bits whose last decimal digits
/// are the code.
fn truncated_hmac(secret: &[u8], counter: u64) -> u32 {
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[h.len() - 1] & 0x0f) as usize;
    u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]])
}

/// The time step a code matches, if any, within the skew window around `unix_secs`. Steps at
/// or before `last_used_step` are refused so that a code cannot be replayed.
pub fn verify(secret: &[u8], code: &str, unix_secs: u64, last_used_step: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = unix_secs / STEP_SECS;
    (now.saturating_sub(SKEW_STEPS)..=now + SKEW_STEPS)
        .filter(|&step| step > last_used_step)
        .find(|&step| hotp(secret, step) == wanted)
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, the form authenticator apps take.
pub fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|&c| c != b'=' && c != b' ') {
        let v = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B, the SHA-1 rows: 8 digits, and the 6 an app shows.
        for (t, code) in [
            (59u64, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                truncated_hmac(secret, t / STEP_SECS) % 100_000_000,
                code,
                "t={t}"
            );
            assert_eq!(hotp(secret, t / STEP_SECS), code % 1_000_000, "t={t}");
        }
        assert_eq!(verify(secret, "287082", 59, 0), Some(1));
        assert_eq!(verify(secret, "287082", 59, 1), None, "replay refused");
        assert_eq!(verify(secret, "287082", 59 + 120, 0), None, "too old");
        assert_eq!(verify(secret, "28708x", 59, 0), None);
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("1"), None);
    }
}
