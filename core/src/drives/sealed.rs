//! Encryption of a drive's bytes: objects in the bucket (`cloudObjectsEncrypted`) and blocks
//! of the local cache (`localCacheEncrypted`). Pure functions over byte slices; the host
//! supplies keys and random bytes and moves the bytes. Both formats are stored (in buckets,
//! in cache files) and must stay readable: the layouts below are a contract.
//!
//! # Keys
//!
//! [`DriveKey::derive`] turns the host's 32-byte master key into one key per purpose and
//! drive: `HMAC-SHA256(key = master, msg = "click drive key v1" || u64le(len(purpose)) ||
//! purpose || u64le(len(drive_id)) || drive_id)`. The lengths make the message unambiguous
//! (`"ab","c"` and `"a","bc"` give different keys). Use [`PURPOSE_OBJECTS`] and
//! [`PURPOSE_CACHE`], so the bucket and the cache never share a key.
//!
//! # Cloud objects (chunked XChaCha20-Poly1305)
//!
//! An object is a fixed 25-byte header followed by its chunks:
//!
//! ```text
//! offset  len  field
//!      0    4  magic "CLKE"
//!      4    1  format version, 1
//!      5    4  chunk size C: plaintext bytes per chunk, u32 little-endian, 1..=16 MiB
//!      9   16  nonce prefix P: random, one per object (per version of an object)
//!     25       chunk 0, chunk 1, ... chunk n-1
//! ```
//!
//! Chunk `i` is the XChaCha20-Poly1305 ciphertext and 16-byte tag of plaintext bytes
//! `i*C .. min((i+1)*C, len)`, with nonce `P || u64le(i)` and associated data
//! `header (25 bytes) || final`, where `final` is 1 for the object's last chunk and 0 for
//! the others. Every chunk but the last holds exactly C plaintext bytes; the last holds 1..=C.
//! An empty plaintext is exactly one final chunk of zero bytes (its tag alone), so
//! `sealed = 25 + len + 16 * max(1, ceil(len / C))`.
//!
//! What this detects: any changed bit (header included, since every tag covers it), chunks
//! swapped or moved (the index is in the nonce), truncation and appending (the last chunk
//! must carry the final flag and only it may), chunks from another object (another prefix)
//! or another key. What it does not: a whole object replaced by another one sealed under the
//! same key (an older version, or another path's object), since objects keep their bytes
//! across server-side copies and renames.
//!
//! Fixed-size chunks keep byte ranges readable: [`ObjectLayout::range`] maps a plaintext
//! range to the sealed bytes to GET, [`ObjectOpener::open_range`] opens them and cuts the
//! requested bytes out.
//!
//! # Cache blocks
//!
//! Each cache block (block `i` of a file, `block_size` plaintext bytes, the last one
//! shorter) is sealed on its own: `nonce (24 random bytes) || ciphertext || tag (16)`, with
//! associated data `u64le(file_id) || u64le(generation) || u64le(index) || u64le(len)`.
//! The host stores sealed block `i` at [`sealed_block_offset`]`(block_size, i)`, that is
//! `i * (block_size + BLOCK_OVERHEAD)` of the sparse cache file, so a hole (zeros) never
//! opens. A block moved to another index, file or generation does not open either.

use alloc::vec::Vec;
use core::fmt;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The [`DriveKey::derive`] purpose of the key that seals a drive's bucket objects.
pub const PURPOSE_OBJECTS: &str = "cloudObjects";
/// The [`DriveKey::derive`] purpose of the key that seals a drive's cache blocks.
pub const PURPOSE_CACHE: &str = "localCache";

/// Domain label of [`DriveKey::derive`], so these keys differ from any other HMAC of the
/// master key.
const DERIVE_LABEL: &[u8] = b"click drive key v1";

/// A 256-bit XChaCha20-Poly1305 key for one drive and one purpose. Its `Debug` hides the
/// bytes, so a key never ends up in a log.
#[derive(Clone)]
pub struct DriveKey([u8; 32]);

impl DriveKey {
    /// A key from raw bytes (one the host already derived or keeps).
    pub const fn new(bytes: [u8; 32]) -> DriveKey {
        DriveKey(bytes)
    }

    /// The key for `purpose` ([`PURPOSE_OBJECTS`], [`PURPOSE_CACHE`]) of the drive
    /// `drive_id`, from the host's master key (HMAC-SHA256, see the module docs). For
    /// objects, pass an id that lives as long as the objects do: a drive deleted and
    /// created again with another id cannot read what the first one sealed.
    pub fn derive(master: &[u8; 32], purpose: &str, drive_id: &str) -> DriveKey {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(master)
            .expect("HMAC accepts any key length");
        mac.update(DERIVE_LABEL);
        for part in [purpose, drive_id] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
        DriveKey(mac.finalize().into_bytes().into())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

impl fmt::Debug for DriveKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DriveKey(..)")
    }
}

/// The first bytes of every sealed object.
pub const MAGIC: [u8; 4] = *b"CLKE";
/// The object format version this module writes and reads.
pub const VERSION: u8 = 1;
/// Bytes of an object's header: magic, version, chunk size, nonce prefix.
pub const HEADER_LEN: usize = 25;
/// Bytes of a Poly1305 tag, added to each chunk and block.
pub const TAG_LEN: usize = 16;
/// The chunk size hosts use unless they have a reason not to: 64 KiB keeps the overhead at
/// 0.02 % and a small ranged read small.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// The largest chunk size accepted, so a header read from a bucket cannot make the host
/// buffer gigabytes for one chunk.
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;

/// The size a drive that seals its objects (in [`DEFAULT_CHUNK_SIZE`] chunks) shows for an
/// object of `stored` bytes: its plaintext size, or `stored` when no plaintext seals to that
/// size (an object another tool put there, which does not open).
pub fn shown_len(stored: u64) -> u64 {
    ObjectLayout::new(DEFAULT_CHUNK_SIZE)
        .and_then(|l| l.plain_len(stored))
        .unwrap_or(stored)
}

const HEADER: u64 = HEADER_LEN as u64;
const TAG: u64 = TAG_LEN as u64;

/// The sizes of a sealed object with a given chunk size: what a host needs to turn plaintext
/// lengths and ranges into sealed ones and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectLayout {
    chunk_size: u32,
}

impl ObjectLayout {
    /// The layout of chunks of `chunk_size` plaintext bytes; `None` for 0 or more than
    /// [`MAX_CHUNK_SIZE`].
    pub const fn new(chunk_size: u32) -> Option<ObjectLayout> {
        if chunk_size == 0 || chunk_size > MAX_CHUNK_SIZE {
            return None;
        }
        Some(ObjectLayout { chunk_size })
    }

    /// Plaintext bytes per chunk (the last chunk may hold fewer).
    pub const fn chunk_size(self) -> u32 {
        self.chunk_size
    }

    /// Chunks of an object of `plain_len` bytes: at least one, since an empty object is one
    /// empty final chunk.
    pub fn chunk_count(self, plain_len: u64) -> u64 {
        plain_len.div_ceil(self.chunk_size.into()).max(1)
    }

    /// Sealed size of an object of `plain_len` bytes; `None` past `u64::MAX`.
    pub fn sealed_len(self, plain_len: u64) -> Option<u64> {
        let tags = self.chunk_count(plain_len).checked_mul(TAG)?;
        plain_len.checked_add(tags)?.checked_add(HEADER)
    }

    /// Plaintext size of a sealed object of `sealed_len` bytes; `None` when no plaintext
    /// seals to that size (a truncated or padded object).
    pub fn plain_len(self, sealed_len: u64) -> Option<u64> {
        let body = sealed_len.checked_sub(HEADER)?;
        let (full, rest) = (body / self.sealed_chunk(), body % self.sealed_chunk());
        let last = match rest {
            0 if full > 0 => 0,
            TAG if full == 0 => 0,
            r if r > TAG => r - TAG,
            _ => return None,
        };
        Some(full * u64::from(self.chunk_size) + last)
    }

    /// What to fetch to read plaintext bytes `start..end` of an object of `plain_len`
    /// bytes (`end` is clamped to `plain_len`); `None` when that range is empty.
    pub fn range(self, plain_len: u64, start: u64, end: u64) -> Option<SealedRange> {
        let end = end.min(plain_len);
        if start >= end {
            return None;
        }
        let total = self.sealed_len(plain_len)?;
        let size = u64::from(self.chunk_size);
        let (first_chunk, end_chunk) = (start / size, end.div_ceil(size));
        Some(SealedRange {
            first_chunk,
            end_chunk,
            sealed_start: self.chunk_offset(first_chunk),
            sealed_end: self.chunk_offset(end_chunk).min(total),
            last_is_final: end_chunk == self.chunk_count(plain_len),
            skip: start - first_chunk * size,
            len: end - start,
        })
    }

    /// Sealed bytes of a full chunk.
    fn sealed_chunk(self) -> u64 {
        u64::from(self.chunk_size) + TAG
    }

    /// Where chunk `index` starts in the sealed object (saturating: callers clamp).
    fn chunk_offset(self, index: u64) -> u64 {
        index
            .saturating_mul(self.sealed_chunk())
            .saturating_add(HEADER)
    }

    /// Whether `len` plaintext bytes are a valid chunk `index` (see the module docs).
    fn fits(self, index: u64, len: usize, is_final: bool) -> bool {
        let size = self.chunk_size as usize;
        match is_final {
            false => len == size,
            true => (1..=size).contains(&len) || (len == 0 && index == 0),
        }
    }
}

/// The sealed bytes that hold a plaintext range, from [`ObjectLayout::range`]: GET
/// `sealed_start..sealed_end` (end exclusive) and hand it to [`ObjectOpener::open_range`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedRange {
    /// Index of the first chunk fetched.
    pub first_chunk: u64,
    /// Index one past the last chunk fetched.
    pub end_chunk: u64,
    /// First sealed byte to fetch.
    pub sealed_start: u64,
    /// One past the last sealed byte to fetch.
    pub sealed_end: u64,
    /// Whether the last chunk fetched is the object's final chunk (it is opened as such).
    pub last_is_final: bool,
    /// Plaintext bytes of the first chunk before the range starts.
    pub skip: u64,
    /// Plaintext bytes in the range.
    pub len: u64,
}

/// The cipher and header one object's chunks are sealed and opened with.
struct Chunks {
    cipher: XChaCha20Poly1305,
    header: [u8; HEADER_LEN],
    layout: ObjectLayout,
}

impl Chunks {
    /// Nonce of chunk `index`: the object's prefix, then the index.
    fn nonce(&self, index: u64) -> [u8; 24] {
        let mut nonce = [0u8; 24];
        nonce[..16].copy_from_slice(&self.header[9..]);
        nonce[16..].copy_from_slice(&index.to_le_bytes());
        nonce
    }

    /// Associated data of a chunk: the header, then the final flag.
    fn aad(&self, is_final: bool) -> [u8; HEADER_LEN + 1] {
        let mut aad = [0u8; HEADER_LEN + 1];
        aad[..HEADER_LEN].copy_from_slice(&self.header);
        aad[HEADER_LEN] = u8::from(is_final);
        aad
    }

    fn seal_into(&self, index: u64, plain: &[u8], is_final: bool, out: &mut Vec<u8>) {
        seal_into(
            &self.cipher,
            &self.nonce(index),
            &self.aad(is_final),
            plain,
            out,
        );
    }

    fn open_into(&self, index: u64, sealed: &[u8], is_final: bool, out: &mut Vec<u8>) -> bool {
        let plain_len = sealed.len().checked_sub(TAG_LEN);
        plain_len.is_some_and(|len| self.layout.fits(index, len, is_final))
            && open_into(
                &self.cipher,
                &self.nonce(index),
                &self.aad(is_final),
                sealed,
                out,
            )
    }
}

/// Seals one object, chunk by chunk (a streaming upload) or whole. One sealer per object
/// version: its random prefix makes every nonce unique, so a changed file needs a new
/// sealer with a new prefix, and a chunk index must never be sealed twice with different
/// bytes (a retried part must carry the same bytes).
pub struct ObjectSealer(Chunks);

impl ObjectSealer {
    /// A sealer under `key` with `prefix` (16 random bytes, new for each object) and chunks
    /// of `chunk_size` bytes; `None` when [`ObjectLayout::new`] rejects the size.
    pub fn new(key: &DriveKey, prefix: [u8; 16], chunk_size: u32) -> Option<ObjectSealer> {
        let layout = ObjectLayout::new(chunk_size)?;
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        header[5..9].copy_from_slice(&chunk_size.to_le_bytes());
        header[9..].copy_from_slice(&prefix);
        Some(ObjectSealer(Chunks {
            cipher: key.cipher(),
            header,
            layout,
        }))
    }

    /// The header: the object's first [`HEADER_LEN`] bytes, before chunk 0.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        self.0.header
    }

    /// The object's sizes.
    pub fn layout(&self) -> ObjectLayout {
        self.0.layout
    }

    /// Sealed chunk `index` (plaintext bytes `index*C..`), which goes at
    /// `HEADER_LEN + index * (C + TAG_LEN)`. `None` when `plain` is not a valid chunk: a
    /// non-final chunk must hold exactly C bytes, the final one 1..=C (0 only as chunk 0 of
    /// an empty object).
    pub fn seal_chunk(&self, index: u64, plain: &[u8], is_final: bool) -> Option<Vec<u8>> {
        if !self.0.layout.fits(index, plain.len(), is_final) {
            return None;
        }
        let mut out = Vec::with_capacity(plain.len() + TAG_LEN);
        self.0.seal_into(index, plain, is_final, &mut out);
        Some(out)
    }

    /// The whole sealed object (header and every chunk) of `plain`.
    pub fn seal_all(&self, plain: &[u8]) -> Vec<u8> {
        let size = self.0.layout.chunk_size as usize;
        let count = plain.len().div_ceil(size).max(1);
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + count * TAG_LEN);
        out.extend_from_slice(&self.0.header);
        if plain.is_empty() {
            self.0.seal_into(0, &[], true, &mut out);
        }
        for (i, chunk) in plain.chunks(size).enumerate() {
            self.0.seal_into(i as u64, chunk, i + 1 == count, &mut out);
        }
        out
    }
}

/// Opens the chunks of one object, from its header.
pub struct ObjectOpener(Chunks);

impl ObjectOpener {
    /// An opener under `key` for the object whose first bytes are `header` (at least
    /// [`HEADER_LEN`]; more are ignored); `None` for a wrong magic, another version or a
    /// rejected chunk size. The header itself is checked by every chunk it opens.
    pub fn new(key: &DriveKey, header: &[u8]) -> Option<ObjectOpener> {
        let header: [u8; HEADER_LEN] = header.get(..HEADER_LEN)?.try_into().ok()?;
        if header[..4] != MAGIC || header[4] != VERSION {
            return None;
        }
        let size = u32::from_le_bytes(header[5..9].try_into().ok()?);
        Some(ObjectOpener(Chunks {
            cipher: key.cipher(),
            header,
            layout: ObjectLayout::new(size)?,
        }))
    }

    /// The object's sizes (its chunk size comes from the header).
    pub fn layout(&self) -> ObjectLayout {
        self.0.layout
    }

    /// Plaintext of sealed chunk `index`; `None` when it was altered, is another chunk or
    /// another object's, or `is_final` is not what it was sealed with.
    pub fn open_chunk(&self, index: u64, sealed: &[u8], is_final: bool) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(sealed.len());
        self.0
            .open_into(index, sealed, is_final, &mut out)
            .then_some(out)
    }

    /// Plaintext of consecutive sealed chunks starting at chunk `first_chunk`, as fetched
    /// from the object; `last_is_final` says whether the last of them is the object's final
    /// chunk. `None` when any of them does not open or `sealed` is empty.
    pub fn open_chunks(
        &self,
        first_chunk: u64,
        sealed: &[u8],
        last_is_final: bool,
    ) -> Option<Vec<u8>> {
        let piece = usize::try_from(self.0.layout.sealed_chunk()).ok()?;
        let count = sealed.len().div_ceil(piece);
        let mut out = Vec::with_capacity(sealed.len());
        for (i, chunk) in sealed.chunks(piece).enumerate() {
            let index = first_chunk.checked_add(i as u64)?;
            let is_final = last_is_final && i + 1 == count;
            if !self.0.open_into(index, chunk, is_final, &mut out) {
                return None;
            }
        }
        (count > 0).then_some(out)
    }

    /// The plaintext bytes `range` stands for, from the sealed bytes fetched for it
    /// (`range.sealed_start..range.sealed_end` of the object); `None` when they do not open
    /// or are not that many.
    pub fn open_range(&self, range: &SealedRange, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() as u64 != range.sealed_end.checked_sub(range.sealed_start)? {
            return None;
        }
        let mut plain = self.open_chunks(range.first_chunk, sealed, range.last_is_final)?;
        let skip = usize::try_from(range.skip).ok()?;
        let end = skip.checked_add(usize::try_from(range.len).ok()?)?;
        if end > plain.len() {
            return None;
        }
        plain.truncate(end);
        plain.drain(..skip);
        Some(plain)
    }

    /// The plaintext of a whole sealed object (header included), under `key`; `None` when
    /// any part of it was altered, truncated or extended.
    pub fn open_all(key: &DriveKey, sealed: &[u8]) -> Option<Vec<u8>> {
        let opener = ObjectOpener::new(key, sealed)?;
        opener.open_chunks(0, &sealed[HEADER_LEN..], true)
    }
}

/// Bytes a sealed cache block adds to its plaintext: the 24-byte nonce and the tag.
pub const BLOCK_OVERHEAD: u64 = 24 + TAG;

/// Which cache block a sealed block is, bound into its tag so that it opens nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockId {
    /// The cached file (the host's inode or cache file number).
    pub file_id: u64,
    /// The file's content generation: the host bumps it when the file's content is
    /// replaced, so blocks of the old content do not open as the new one's.
    pub generation: u64,
    /// The block's index in the file (plaintext offset `index * block_size`).
    pub index: u64,
}

impl BlockId {
    /// Associated data of a block of `len` plaintext bytes.
    fn aad(self, len: usize) -> [u8; 32] {
        let mut aad = [0u8; 32];
        let fields = [self.file_id, self.generation, self.index, len as u64];
        for (slot, field) in aad.chunks_exact_mut(8).zip(fields) {
            slot.copy_from_slice(&field.to_le_bytes());
        }
        aad
    }
}

/// Where sealed block `index` starts in a cache file of `block_size`-byte blocks: each
/// block's slot grows by [`BLOCK_OVERHEAD`] (saturating: no file is that large).
pub fn sealed_block_offset(block_size: u64, index: u64) -> u64 {
    index.saturating_mul(block_size.saturating_add(BLOCK_OVERHEAD))
}

/// Sealed cache block `id` of `plain`: `nonce || ciphertext || tag`, `plain.len() +
/// BLOCK_OVERHEAD` bytes. `nonce` must be 24 fresh random bytes for every seal.
pub fn seal_block(key: &DriveKey, id: BlockId, plain: &[u8], nonce: [u8; 24]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain.len() + BLOCK_OVERHEAD as usize);
    out.extend_from_slice(&nonce);
    seal_into(&key.cipher(), &nonce, &id.aad(plain.len()), plain, &mut out);
    out
}

/// Plaintext of a sealed cache block read back as block `id`; `None` when it was altered,
/// belongs elsewhere (another index, file, generation or key) or is a hole.
pub fn open_block(key: &DriveKey, id: BlockId, sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(24)?;
    let nonce: [u8; 24] = nonce.try_into().ok()?;
    let aad = id.aad(body.len().checked_sub(TAG_LEN)?);
    let mut out = Vec::with_capacity(body.len());
    open_into(&key.cipher(), &nonce, &aad, body, &mut out).then_some(out)
}

/// Appends the ciphertext and tag of `plain` to `out`.
fn seal_into(
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; 24],
    aad: &[u8],
    plain: &[u8],
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.extend_from_slice(plain);
    // Fails only past 256 GiB per message; chunks and blocks are far smaller.
    let tag = cipher
        .encrypt_in_place_detached(&(*nonce).into(), aad, &mut out[start..])
        .unwrap_or_default();
    out.extend_from_slice(&tag);
}

/// Appends the plaintext of `sealed` (ciphertext and tag) to `out`; false, leaving `out` as
/// it was, when the tag does not match.
fn open_into(
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; 24],
    aad: &[u8],
    sealed: &[u8],
    out: &mut Vec<u8>,
) -> bool {
    let Some(cut) = sealed.len().checked_sub(TAG_LEN) else {
        return false;
    };
    let (body, tag) = sealed.split_at(cut);
    let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else {
        return false;
    };
    let start = out.len();
    out.extend_from_slice(body);
    let opened = cipher
        .decrypt_in_place_detached(&(*nonce).into(), aad, &mut out[start..], &Tag::from(tag))
        .is_ok();
    if !opened {
        out.truncate(start);
    }
    opened
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::hex;
    use alloc::format;

    const C: u32 = 16;
    const KEY: DriveKey = DriveKey::new([9; 32]);

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 + 7) as u8).collect()
    }

    fn sealer(prefix: u8) -> ObjectSealer {
        ObjectSealer::new(&KEY, [prefix; 16], C).unwrap()
    }

    fn layout() -> ObjectLayout {
        ObjectLayout::new(C).unwrap()
    }

    fn opens(sealed: &[u8]) -> bool {
        ObjectOpener::open_all(&KEY, sealed).is_some()
    }

    #[test]
    fn chunk_sizes_are_bounded() {
        assert_eq!(ObjectLayout::new(0), None);
        assert_eq!(ObjectLayout::new(MAX_CHUNK_SIZE + 1), None);
        assert!(ObjectLayout::new(1).is_some());
        assert!(ObjectLayout::new(MAX_CHUNK_SIZE).is_some());
        assert!(ObjectSealer::new(&KEY, [0; 16], 0).is_none());
        let mut header = sealer(1).header();
        header[5..9].copy_from_slice(&(MAX_CHUNK_SIZE + 1).to_le_bytes());
        assert!(ObjectOpener::new(&KEY, &header).is_none());
        header[5..9].copy_from_slice(&0u32.to_le_bytes());
        assert!(ObjectOpener::new(&KEY, &header).is_none());
    }

    #[test]
    fn size_functions_are_inverse() {
        for chunk in [1, 7, C, DEFAULT_CHUNK_SIZE] {
            let l = ObjectLayout::new(chunk).unwrap();
            let mut hits = 0;
            for n in 0..600u64 {
                let s = l.sealed_len(n).unwrap();
                assert_eq!(l.plain_len(s), Some(n), "chunk {chunk} len {n}");
            }
            for s in 0..2000u64 {
                if let Some(n) = l.plain_len(s) {
                    assert_eq!(l.sealed_len(n), Some(s));
                    hits += 1;
                }
            }
            assert!(hits > 0);
        }
        let l = layout();
        assert_eq!(l.sealed_len(0), Some(25 + 16));
        assert_eq!(l.sealed_len(16), Some(25 + 32));
        assert_eq!(l.sealed_len(17), Some(25 + 17 + 32));
        assert_eq!(l.plain_len(25), None, "the header alone is no object");
        assert_eq!(
            l.plain_len(25 + 32 + 16),
            None,
            "an empty chunk after a full one"
        );
        assert_eq!(
            l.plain_len(25 + 32 + 5),
            None,
            "a chunk shorter than its tag"
        );
        assert_eq!(l.sealed_len(u64::MAX), None);
        let big = ObjectLayout::new(DEFAULT_CHUNK_SIZE).unwrap();
        let five_tib = 5u64 << 40;
        assert_eq!(
            big.plain_len(big.sealed_len(five_tib).unwrap()),
            Some(five_tib)
        );
    }

    #[test]
    fn objects_round_trip_whole_and_streamed() {
        let s = sealer(3);
        for n in [0, 1, 15, 16, 17, 3 * 16 + 5, 64] {
            let plain = bytes(n);
            let sealed = s.seal_all(&plain);
            assert_eq!(sealed.len() as u64, layout().sealed_len(n as u64).unwrap());
            assert_eq!(&sealed[..HEADER_LEN], &s.header());
            assert_eq!(ObjectOpener::open_all(&KEY, &sealed), Some(plain.clone()));

            let mut streamed = s.header().to_vec();
            let count = layout().chunk_count(n as u64) as usize;
            for i in 0..count {
                let part = &plain[(i * 16).min(n)..((i + 1) * 16).min(n)];
                streamed.extend(s.seal_chunk(i as u64, part, i + 1 == count).unwrap());
            }
            assert_eq!(streamed, sealed, "len {n}");
        }
    }

    #[test]
    fn sealer_refuses_chunks_of_the_wrong_size() {
        let s = sealer(3);
        assert!(s.seal_chunk(0, &bytes(15), false).is_none());
        assert!(s.seal_chunk(0, &bytes(17), true).is_none());
        assert!(s.seal_chunk(2, &[], true).is_none());
        assert!(s.seal_chunk(0, &[], false).is_none());
        assert!(s.seal_chunk(0, &[], true).is_some());
        assert!(s.seal_chunk(5, &bytes(16), true).is_some());
        assert!(s.seal_chunk(5, &bytes(1), true).is_some());
    }

    #[test]
    /// Every range of objects of up to 7 chunks (8-byte chunks: each range opens its chunks
    /// and unoptimised ChaCha20 in debug builds makes hundreds of bytes take seconds).
    fn every_range_opens_to_its_slice() {
        let cases = [
            (8, 0usize),
            (8, 1),
            (8, 7),
            (8, 8),
            (8, 9),
            (8, 48),
            (8, 53),
            (16, 40),
        ];
        for (chunk, n) in cases {
            let plain = bytes(n);
            let sealed = ObjectSealer::new(&KEY, [4; 16], chunk)
                .unwrap()
                .seal_all(&plain);
            let opener = ObjectOpener::new(&KEY, &sealed).unwrap();
            let l = opener.layout();
            let len = l.plain_len(sealed.len() as u64).unwrap();
            for start in 0..=n + 2 {
                for end in start..=n + 2 {
                    let Some(r) = l.range(len, start as u64, end as u64) else {
                        assert!(start >= end.min(n), "{start}..{end} of {n}");
                        continue;
                    };
                    let fetched = &sealed[r.sealed_start as usize..r.sealed_end as usize];
                    let got = opener.open_range(&r, fetched);
                    assert_eq!(got.as_deref(), Some(&plain[start..end.min(n)]));
                }
            }
        }
    }

    #[test]
    fn ranges_fetch_only_their_chunks() {
        let l = layout();
        let r = l.range(197, 20, 40).unwrap();
        assert_eq!((r.first_chunk, r.end_chunk), (1, 3));
        assert_eq!((r.sealed_start, r.sealed_end), (25 + 32, 25 + 3 * 32));
        assert_eq!((r.skip, r.len, r.last_is_final), (4, 20, false));
        let r = l.range(197, 190, 1000).unwrap();
        assert_eq!(
            (r.first_chunk, r.end_chunk, r.last_is_final),
            (11, 13, true)
        );
        assert_eq!(r.sealed_end, l.sealed_len(197).unwrap());
        assert_eq!(l.range(0, 0, 10), None);
        assert_eq!(l.range(197, 197, 200), None);
    }

    #[test]
    fn ranges_refuse_wrong_bytes() {
        let plain = bytes(197);
        let sealed = sealer(4).seal_all(&plain);
        let opener = ObjectOpener::new(&KEY, &sealed).unwrap();
        let r = opener.layout().range(197, 20, 40).unwrap();
        let fetched = &sealed[r.sealed_start as usize..r.sealed_end as usize];
        assert!(opener.open_range(&r, &fetched[1..]).is_none());
        let shifted = &sealed[r.sealed_start as usize + 32..r.sealed_end as usize + 32];
        assert!(opener.open_range(&r, shifted).is_none());
        assert!(opener.open_chunks(1, fetched, true).is_none());
        assert!(opener.open_chunks(2, fetched, false).is_none());
        assert!(opener.open_chunks(1, &[], false).is_none());
        assert_eq!(
            opener.open_chunks(1, fetched, false).unwrap(),
            &plain[16..48]
        );
    }

    #[test]
    fn any_flipped_bit_fails() {
        let sealed = sealer(5).seal_all(&bytes(3 * 16 + 5));
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut t = sealed.clone();
                t[i] ^= 1 << bit;
                assert!(!opens(&t), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn reordered_truncated_or_extended_objects_fail() {
        let s = sealer(6);
        let sealed = s.seal_all(&bytes(3 * 16 + 5));
        let at = |i: usize| HEADER_LEN + i * 32;
        let mut swapped = sealed.clone();
        swapped[at(0)..at(2)].rotate_left(32);
        assert!(!opens(&swapped));
        for cut in [HEADER_LEN, at(1), at(2), at(3), sealed.len() - 1] {
            assert!(!opens(&sealed[..cut]), "cut at {cut}");
        }
        let mut appended = sealed.clone();
        appended.extend(s.seal_chunk(4, &bytes(3), true).unwrap());
        assert!(!opens(&appended));
        let mut repeated = sealed.clone();
        repeated.extend_from_slice(&sealed[at(3)..]);
        assert!(!opens(&repeated));
        let other = sealer(7).seal_all(&bytes(3 * 16 + 5));
        let mut spliced = sealed.clone();
        spliced[at(1)..at(2)].copy_from_slice(&other[at(1)..at(2)]);
        assert!(!opens(&spliced));
        assert!(ObjectOpener::open_all(&DriveKey::new([8; 32]), &sealed).is_none());
    }

    #[test]
    fn changed_headers_fail() {
        let sealed = sealer(6).seal_all(&bytes(40));
        let mut resized = sealed.clone();
        resized[5..9].copy_from_slice(&32u32.to_le_bytes());
        assert!(!opens(&resized));
        let mut reprefixed = sealed.clone();
        reprefixed[9..HEADER_LEN].copy_from_slice(&[7; 16]);
        assert!(!opens(&reprefixed));
        let mut versioned = sealed.clone();
        versioned[4] = 2;
        assert!(ObjectOpener::new(&KEY, &versioned).is_none());
        assert!(ObjectOpener::new(&KEY, &sealed[..HEADER_LEN - 1]).is_none());
        assert!(!opens(&sealed[..HEADER_LEN - 1]));
        assert!(!opens(&[]));
    }

    #[test]
    /// Vectors computed by an independent implementation (Python: HChaCha20 by hand, then
    /// `cryptography`'s ChaCha20Poly1305; `hmac`), so the formats cannot drift unnoticed.
    fn the_formats_are_stable() {
        let header = "434c4b450110000000010101010101010101010101010101";
        let vectors: [(&[u8], &str); 3] = [
            (
                b"hello, drive",
                "01ada4cb7fd89c66bb91e1817a378bb472e2163cc760c501193816bf21",
            ),
            (b"", "015b2b3de71feccee213554a3ba925ac28"),
            (
                &bytes(20),
                "01c2e7e2773412873f1c96ca432a33a5af6522caf0099f7363a1461cbe76ef79092be8a5433c8\
                 64b40f04d4390368bdd52b4180b83",
            ),
        ];
        for (plain, chunks) in vectors {
            assert_eq!(hex(&sealer(1).seal_all(plain)), format!("{header}{chunks}"));
        }
        let block = seal_block(&KEY, FILE, &bytes(5), [3; 24]);
        assert_eq!(
            hex(&block),
            "03030303030303030303030303030303030303030303030399118dd3e9e99c9db2a07c51b6e17cc7f6\
             6ec201b5"
        );
    }

    #[test]
    fn keys_differ_per_purpose_drive_and_master() {
        let m = [1; 32];
        let k = |m: &[u8; 32], p: &str, d: &str| DriveKey::derive(m, p, d).0;
        assert_eq!(k(&m, PURPOSE_CACHE, "d1"), k(&m, PURPOSE_CACHE, "d1"));
        assert_ne!(k(&m, PURPOSE_CACHE, "d1"), k(&m, PURPOSE_OBJECTS, "d1"));
        assert_ne!(k(&m, PURPOSE_CACHE, "d1"), k(&m, PURPOSE_CACHE, "d2"));
        assert_ne!(k(&m, PURPOSE_CACHE, "d1"), k(&[2; 32], PURPOSE_CACHE, "d1"));
        assert_ne!(k(&m, "ab", "c"), k(&m, "a", "bc"));
        assert_eq!(
            hex(&k(&m, PURPOSE_OBJECTS, "drive-1")),
            "c06574940fa43edd32f56f3cff8b87e2ad4d912fc2a95a7cc46776d033effd3d"
        );
        let key = DriveKey::derive(&m, PURPOSE_CACHE, "d1");
        assert_eq!(format!("{key:?}"), "DriveKey(..)");
    }

    const FILE: BlockId = BlockId {
        file_id: 7,
        generation: 1,
        index: 0,
    };

    #[test]
    fn blocks_round_trip() {
        for n in [0, 1, 1000] {
            let plain = bytes(n);
            let sealed = seal_block(&KEY, FILE, &plain, [3; 24]);
            assert_eq!(sealed.len() as u64, n as u64 + BLOCK_OVERHEAD);
            assert_eq!(&sealed[..24], &[3; 24]);
            assert_eq!(open_block(&KEY, FILE, &sealed), Some(plain));
        }
        assert_eq!(sealed_block_offset(1 << 20, 3), 3 * ((1 << 20) + 40));
    }

    #[test]
    fn blocks_open_only_where_they_were_sealed() {
        let plain = bytes(100);
        let sealed = seal_block(&KEY, FILE, &plain, [3; 24]);
        let elsewhere = [
            BlockId { index: 1, ..FILE },
            BlockId { file_id: 8, ..FILE },
            BlockId {
                generation: 2,
                ..FILE
            },
        ];
        for id in elsewhere {
            assert_eq!(open_block(&KEY, id, &sealed), None, "{id:?}");
        }
        let second = BlockId { index: 1, ..FILE };
        let other = seal_block(&KEY, second, &bytes(100), [4; 24]);
        assert_eq!(open_block(&KEY, FILE, &other), None, "swapped blocks");
        assert_eq!(open_block(&KEY, second, &other), Some(plain.clone()));
        assert_eq!(open_block(&DriveKey::new([8; 32]), FILE, &sealed), None);
        assert_eq!(open_block(&KEY, FILE, &sealed[..sealed.len() - 1]), None);
        assert_eq!(open_block(&KEY, FILE, &[0; 140]), None, "a hole");
        assert_eq!(open_block(&KEY, FILE, &[0; 39]), None);
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x10;
            assert_eq!(open_block(&KEY, FILE, &t), None, "byte {i}");
        }
    }
}
