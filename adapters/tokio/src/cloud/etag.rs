//! ETags computed from content, in the forms S3 servers give them: the MD5 of an object
//! written by one PUT, and for a multipart upload the MD5 of its parts' MD5s followed by
//! `-<parts>`. A local file can then be matched with an object without downloading it.

use std::io::Read;

use click_core::ports::hex;
use md5::{Digest, Md5};

/// Part sizes uploaders commonly use (rclone 5 MiB, the AWS CLI 8 MiB, and their usual
/// settings), tried after the agent's own for an ETag that names a part count.
const COMMON_PART_SIZES_MIB: [u64; 9] = [5, 8, 10, 15, 16, 32, 64, 100, 128];

/// The ETags file content of `size` bytes read from `reader` would have in the form of
/// `like` (quoted or not): one for a single PUT; for a multipart ETag, one per part size
/// that gives its part count, `own_part` first. Empty for an ETag no content hash makes
/// (Azure's, for one).
pub fn content_etags(
    reader: impl Read,
    size: u64,
    like: &str,
    own_part: u64,
) -> std::io::Result<Vec<String>> {
    let mut hashers: Vec<PartHasher> = match form_of(like) {
        None => return Ok(Vec::new()),
        Some(None) => vec![PartHasher::new(u64::MAX)],
        Some(Some(parts)) => part_sizes(size, parts, own_part)
            .map(PartHasher::new)
            .collect(),
    };
    if hashers.is_empty() {
        return Ok(Vec::new());
    }
    read_all(reader, |bytes| {
        hashers.iter_mut().for_each(|h| h.update(bytes))
    })?;
    Ok(hashers.into_iter().map(PartHasher::etag).collect())
}

/// The ETag (unquoted) of a multipart upload of parts with these MD5s (hex).
pub fn of_parts<'a>(part_md5s: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut digests = Md5::new();
    let mut count = 0;
    for md5 in part_md5s {
        digests.update(click_core::ports::unhex::<16>(md5.trim_matches('"'))?);
        count += 1;
    }
    Some(format!("{}-{count}", hex(&digests.finalize())))
}

/// Whether two ETags are hashes of the same kind (both one PUT's MD5, or both a multipart
/// upload's of as many parts), so that different ones mean different bytes.
pub fn same_form(a: &str, b: &str) -> bool {
    matches!((form_of(a), form_of(b)), (Some(x), Some(y)) if x == y)
}

/// Whether `etag` is a single PUT's MD5 of the content (whoever wrote it, any reader can
/// make it again; a multipart one depends on the writer's part size).
pub fn is_plain_md5(etag: &str) -> bool {
    form_of(etag) == Some(None)
}

/// `Some(None)`: a single PUT's MD5; `Some(Some(n))`: a multipart upload of `n` parts;
/// `None`: no form this module knows.
fn form_of(etag: &str) -> Option<Option<u32>> {
    let bare = etag.trim_matches('"');
    let (md5, parts) = match bare.split_once('-') {
        Some((md5, n)) => (md5, Some(n.parse::<u32>().ok().filter(|n| *n > 0)?)),
        None => (bare, None),
    };
    let is_md5 = md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit());
    is_md5.then_some(parts)
}

/// The part sizes (bytes) that cut `size` bytes into exactly `parts` parts.
fn part_sizes(size: u64, parts: u32, own_part: u64) -> impl Iterator<Item = u64> {
    let common = COMMON_PART_SIZES_MIB.into_iter().map(|mib| mib << 20);
    let mut tried = Vec::new();
    core::iter::once(own_part)
        .chain(common)
        .filter(move |p| *p > 0 && size.div_ceil(*p) == u64::from(parts))
        .filter(move |p| {
            let fresh = !tried.contains(p);
            tried.push(*p);
            fresh
        })
}

fn read_all(mut reader: impl Read, mut each: impl FnMut(&[u8])) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => each(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One candidate ETag, built as the bytes go by: parts of `part` bytes (`u64::MAX`: the
/// whole content, a single PUT's MD5).
struct PartHasher {
    part: u64,
    current: Md5,
    filled: u64,
    digests: Md5,
    count: u32,
}

impl PartHasher {
    fn new(part: u64) -> PartHasher {
        PartHasher {
            part,
            current: Md5::new(),
            filled: 0,
            digests: Md5::new(),
            count: 0,
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = self.part - self.filled;
            let n = room.min(bytes.len() as u64) as usize;
            self.current.update(&bytes[..n]);
            self.filled += n as u64;
            bytes = &bytes[n..];
            if self.filled == self.part {
                self.close_part();
            }
        }
    }

    fn close_part(&mut self) {
        let digest = core::mem::take(&mut self.current).finalize();
        self.digests.update(digest);
        self.filled = 0;
        self.count += 1;
    }

    fn etag(mut self) -> String {
        if self.part == u64::MAX {
            return format!("\"{}\"", hex(&self.current.finalize()));
        }
        if self.filled > 0 {
            self.close_part();
        }
        format!("\"{}-{}\"", hex(&self.digests.finalize()), self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn etags(content: &[u8], like: &str, own_part: u64) -> Vec<String> {
        content_etags(content, content.len() as u64, like, own_part).unwrap()
    }

    #[test]
    fn a_single_put_is_the_md5_of_the_content() {
        // The MD5 of "hello", as every S3 server gives it for a one-PUT object.
        let like = "\"00000000000000000000000000000000\"";
        assert_eq!(
            etags(b"hello", like, 5 << 20),
            ["\"5d41402abc4b2a76b9719d911017c592\""]
        );
    }

    #[test]
    fn a_multipart_etag_hashes_each_part_with_the_sizes_that_give_its_count() {
        let content: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 251) as u8).collect();
        let like = "\"0123456789abcdef0123456789abcdef-2\"";
        let got = etags(&content, like, 6 << 20);
        // Computed here the long way: 6 MiB parts (the agent's own), then 8 and 10 MiB.
        let expected: Vec<String> = [6u64, 8, 10]
            .iter()
            .map(|mib| {
                let mut all = Md5::new();
                for part in content.chunks((mib << 20) as usize) {
                    all.update(Md5::digest(part));
                }
                format!("\"{}-2\"", hex(&all.finalize()))
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn an_etag_no_hash_makes_gives_nothing_to_compare() {
        assert!(etags(b"x", "\"0x8DC5E5C1B9A4F2E\"", 5 << 20).is_empty());
        assert!(etags(b"x", "", 5 << 20).is_empty());
        assert!(etags(b"x", "\"0123456789abcdef0123456789abcdef-0\"", 5 << 20).is_empty());
        // No common part size cuts one byte into 3 parts.
        assert!(etags(b"x", "\"0123456789abcdef0123456789abcdef-3\"", 5 << 20).is_empty());
    }
}
