//! The data directory: created readable by the owner only, holding the database, the token
//! signing key and the outbox.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use click_core::store::{Batch, CommitError, Store, keys};

pub const DATABASE_FILE: &str = "click.redb";
pub const SIGNING_KEY_FILE: &str = "token-signing.key";
pub const SECRETS_KEY_FILE: &str = "secrets.key";
pub const DRIVES_KEY_FILE: &str = "drives.key";
pub const AGENT_ID_FILE: &str = "agent.id";
pub const OUTBOX_DIR: &str = "outbox";
/// Form uploads wait here until their transfer ends.
pub const STAGING_DIR: &str = "tmp";
const SIGNING_KEY_LEN: usize = 64;

/// Creates `dir` (mode 0700 on Unix) if needed.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a file that only the owner can read, atomically (temp file + rename).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)
}

/// The HS256 key for session tokens: generated from the OS CSPRNG on first start, then read.
pub fn signing_key(dir: &Path) -> io::Result<Vec<u8>> {
    key_file(&dir.join(SIGNING_KEY_FILE), SIGNING_KEY_LEN)
}

/// The key that seals cloud secrets in the database. Kept beside it, not in it: a leaked
/// database file alone reveals no cloud keys.
pub fn secrets_key(dir: &Path) -> io::Result<[u8; 32]> {
    key_32(&dir.join(SECRETS_KEY_FILE))
}

/// The key encrypted drives derive theirs from (objects in buckets, cache blocks). Whoever
/// needs to read a drive's sealed objects elsewhere needs this file; without it they are
/// lost, so it is kept apart from the other keys and backed up with the data directory.
pub fn drives_key(dir: &Path) -> io::Result<[u8; 32]> {
    key_32(&dir.join(DRIVES_KEY_FILE))
}

/// Records which keys sign this store's sessions and seal its secrets, or checks that they
/// are the ones recorded: the agents of a fleet share one database, and one whose key files
/// differ would refuse every other agent's sessions and fail to open their secrets. Only a
/// keyed hash is stored, which reveals neither key.
pub fn check_shared_keys(
    store: &impl Store,
    signing: &[u8],
    secrets: &[u8; 32],
    keys_dir: &Path,
) -> Result<(), String> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secrets).expect("any length");
    mac.update(b"click agent keys\0");
    mac.update(signing);
    let mine: Vec<u8> = mac.finalize().into_bytes().to_vec();
    let key = keys::AGENT.key("keys");
    let mut first = Batch::new();
    first
        .require_absent(key.clone())
        .put(key.clone(), mine.clone());
    match store.commit(&first) {
        Ok(()) => return Ok(()),
        Err(CommitError::Conflict(_)) => {}
        Err(e) => {
            return Err(format!(
                "cannot record the agent's keys in the store: {e:?}"
            ));
        }
    }
    let recorded = (store.get(&key)).map_err(|_| "cannot read the store's keys record")?;
    match recorded.as_ref().map(AsRef::as_ref) == Some(mine.as_slice()) {
        true => Ok(()),
        false => Err(format!(
            "the store was set up with other keys than those in {}: every agent sharing a \
             database needs the same {SIGNING_KEY_FILE}, {SECRETS_KEY_FILE} and \
             {DRIVES_KEY_FILE} (copy them from an agent of the fleet, see [store] keys_dir)",
            keys_dir.display()
        )),
    }
}

/// This agent's id among agents sharing a store: made on first start, then kept, so that a
/// restarted agent finds its own transfer leases.
pub fn agent_id(dir: &Path) -> io::Result<String> {
    let path = dir.join(AGENT_ID_FILE);
    match fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is empty", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            use click_core::ports::RngExt;
            let id = crate::ports::OsRng.uuid();
            write_private_file(&path, id.as_bytes())?;
            Ok(id)
        }
        Err(e) => Err(e),
    }
}

/// A 32-byte key file, created on first use.
fn key_32(path: &Path) -> io::Result<[u8; 32]> {
    let key = key_file(path, 32)?;
    key[..32].try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is too short to be a key", path.display()),
        )
    })
}

/// A random key of `len` bytes, created (0600) on first use, then read.
fn key_file(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    match fs::File::open(path) {
        Ok(mut f) => {
            let mut key = Vec::new();
            f.read_to_end(&mut key)?;
            if key.len() < len.min(32) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is too short to be a key", path.display()),
                ));
            }
            Ok(key)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut key = vec![0u8; len];
            getrandom::fill(&mut key).map_err(io::Error::other)?;
            write_private_file(path, &key)?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

pub fn outbox(dir: &Path) -> PathBuf {
    dir.join(OUTBOX_DIR)
}
