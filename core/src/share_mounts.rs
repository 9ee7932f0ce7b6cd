//! SMB and NFS shares mounted on this agent (`SMBClientModel` and `NFSClientModel` of
//! `management.md`): stored with the password sealed, checked on the way in, and shown with
//! how the host's mount is doing. The host mounts what is stored ([`ShareMounts`](crate::ports::ShareMounts)).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::config::CoreConfig;
use crate::drives::paths;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::json::{max_len, null_as_default, required};
use crate::ports::{Rng, SecretBox, ShareError, ShareMount, ShareProtocol, ShareState, Store};
use crate::store::keys::{SHARE_MOUNTS, SHARE_MOUNTS_BY_NAME};
use crate::store::{Batch, scan_all};
use crate::transfers::paths::checked;

/// The most shares one agent mounts.
pub const MAX_SHARES: usize = 64;
const MAX_FIELD: usize = 1024;

/// A mounted share as stored: the documented fields, the password sealed, and who owns it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ShareConfig {
    /// Its id.
    pub id: String,
    /// SMB or NFS.
    pub protocol: ShareProtocol,
    /// Its display name, unique per account and protocol.
    pub name: String,
    /// `\\server\share` (SMB) or `server:/export` (NFS), as given.
    pub share: String,
    /// The protocol version asked for ("3.0", "4"); empty lets the two sides choose.
    pub version: String,
    /// Where it is mounted.
    pub local_path: String,
    /// Inactive shares are kept but not mounted.
    pub active: bool,
    /// SMB's user name.
    pub username: String,
    /// SMB's password, sealed.
    pub password: String,
    /// SMB's domain or workgroup.
    pub domain: String,
    /// The account it belongs to.
    pub owner_account_id: String,
    /// The user who added it.
    pub owner_user_id: String,
    /// When it was added.
    pub create_ms: u64,
}

/// An insert or update body of either model; fields it leaves out keep their value.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "openapi", schemars(rename = "ShareClientInput"))]
pub struct ShareInput {
    name: Option<String>,
    smb_share: Option<String>,
    nfs_share: Option<String>,
    version: Option<String>,
    local_path: Option<String>,
    active: Option<bool>,
    username: Option<String>,
    /// Absent or null keeps the stored one: reads never return it.
    password: Option<String>,
    domain: Option<String>,
    /// Read-only: it says whether the server took the sign-in.
    #[serde(deserialize_with = "null_as_default")]
    is_authenticated: Option<bool>,
}

/// Where a share lives: host, port and path, parsed from the share field.
#[derive(Debug, PartialEq, Eq)]
pub struct Address {
    /// The server.
    pub host: String,
    /// Its port when given (`smb://host:port/...`, `nfs://host:port/...`).
    pub port: Option<u16>,
    /// SMB: the share name. NFS: the exported path.
    pub share: String,
    /// SMB: a folder inside the share (`a/b`), or empty.
    pub folder: String,
}

impl ShareConfig {
    /// A new share of `protocol` owned by the caller, before its input is applied.
    pub fn new(protocol: ShareProtocol, id: String, account: &str, user: &str, now: u64) -> Self {
        ShareConfig {
            id,
            protocol,
            name: String::new(),
            share: String::new(),
            version: String::new(),
            local_path: String::new(),
            active: true,
            username: String::new(),
            password: String::new(),
            domain: String::new(),
            owner_account_id: String::from(account),
            owner_user_id: String::from(user),
            create_ms: now,
        }
    }

    /// What the host needs to mount it, the password unsealed.
    pub fn mount(&self, secrets: &SecretBox) -> Result<ShareMount, ShareError> {
        let address = address(self.protocol, &self.share)
            .map_err(|_| ShareError::Failed(String::from("its stored address is not valid")))?;
        let password = if self.password.is_empty() {
            String::new()
        } else {
            secrets.open(&self.password).ok_or_else(|| {
                ShareError::Failed(String::from(
                    "its stored password cannot be read (set it again)",
                ))
            })?
        };
        Ok(ShareMount {
            id: self.id.clone(),
            protocol: self.protocol,
            host: address.host,
            port: address.port,
            share: address.share,
            folder: address.folder,
            version: self.version.clone(),
            local_path: self.local_path.clone(),
            username: self.username.clone(),
            password,
            domain: self.domain.clone(),
        })
    }

    fn name_key(&self) -> String {
        let protocol = match self.protocol {
            ShareProtocol::Smb => "smb",
            ShareProtocol::Nfs => "nfs",
        };
        format!(
            "{}/{protocol}/{}",
            self.owner_account_id,
            self.name.to_lowercase()
        )
    }
}

impl ShareInput {
    /// Applies the input to `s`, checking every field; the password is sealed.
    pub fn apply(
        self,
        s: &mut ShareConfig,
        config: &CoreConfig,
        secrets: &SecretBox,
        rng: &impl Rng,
    ) -> ApiResult<()> {
        let (share, other, field) = match s.protocol {
            ShareProtocol::Smb => (self.smb_share, self.nfs_share, "smbShare"),
            ShareProtocol::Nfs => (self.nfs_share, self.smb_share, "nfsShare"),
        };
        if other.is_some() {
            return Err(ApiError::invalid(format!(
                "This route takes '{field}', not the other protocol's share."
            )));
        }
        set(&mut s.name, self.name.map(|n| n.trim().to_string()));
        set(&mut s.share, share.map(|v| v.trim().to_string()));
        set(&mut s.version, self.version.map(|v| v.trim().to_string()));
        set(&mut s.local_path, self.local_path);
        set(&mut s.active, self.active);
        if s.protocol == ShareProtocol::Smb {
            set(&mut s.username, self.username.map(|v| v.trim().to_string()));
            set(&mut s.domain, self.domain.map(|v| v.trim().to_string()));
            if let Some(password) = self.password {
                max_len("password", &password, MAX_FIELD)?;
                s.password = if password.is_empty() {
                    password
                } else {
                    secrets.seal(&password, rng)
                };
            }
        }
        required("name", &s.name)?;
        for (f, v) in [
            ("name", &s.name),
            (field, &s.share),
            ("version", &s.version),
        ] {
            max_len(f, v, MAX_FIELD)?;
        }
        for (f, v) in [("username", &s.username), ("domain", &s.domain)] {
            max_len(f, v, MAX_FIELD)?;
        }
        required(field, &s.share)?;
        address(s.protocol, &s.share)?;
        check_version(s.protocol, &s.version)?;
        s.local_path = local_path(config, &s.local_path)?;
        Ok(())
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// The share field parsed: `\\server\share\folder`, `//server/share/folder` or
/// `smb://server[:port]/share/folder` for SMB; `server:/export` or `nfs://server[:port]/export`
/// for NFS.
pub fn address(protocol: ShareProtocol, share: &str) -> ApiResult<Address> {
    match protocol {
        ShareProtocol::Smb => smb_address(share),
        ShareProtocol::Nfs => nfs_address(share),
    }
}

fn smb_address(share: &str) -> ApiResult<Address> {
    let bad = || {
        ApiError::invalid(format!(
            "'smbShare' must look like \\\\server\\share (or smb://server/share), not '{share}'."
        ))
    };
    let (rest, url) = if let Some(r) = share.strip_prefix("smb://") {
        (r, true)
    } else if let Some(r) = share
        .strip_prefix("\\\\")
        .or_else(|| share.strip_prefix("//"))
    {
        (r, false)
    } else {
        return Err(bad());
    };
    let mut parts = rest.split(['\\', '/']).filter(|p| !p.is_empty());
    let server = parts.next().ok_or_else(bad)?;
    let name = parts.next().ok_or_else(bad)?;
    let folder: Vec<&str> = parts.collect();
    if folder.iter().any(|p| *p == "." || *p == "..") {
        return Err(bad());
    }
    let (host, port) = if url {
        host_port(server).ok_or_else(bad)?
    } else {
        (String::from(server), None)
    };
    Ok(Address {
        host,
        port,
        share: String::from(name),
        folder: folder.join("/"),
    })
}

fn nfs_address(share: &str) -> ApiResult<Address> {
    let bad = || {
        ApiError::invalid(format!(
            "'nfsShare' must look like server:/export (or nfs://server/export), not '{share}'."
        ))
    };
    let (server, path, url) = if let Some(r) = share.strip_prefix("nfs://") {
        let slash = r.find('/').ok_or_else(bad)?;
        (&r[..slash], &r[slash..], true)
    } else {
        let colon = share.find(":/").ok_or_else(bad)?;
        (&share[..colon], &share[colon + 1..], false)
    };
    let (host, port) = if url {
        host_port(server).ok_or_else(bad)?
    } else {
        (String::from(server.trim_matches(['[', ']'])), None)
    };
    if host.is_empty() || path.split('/').any(|p| p == "." || p == "..") {
        return Err(bad());
    }
    Ok(Address {
        host,
        port,
        share: String::from(path),
        folder: String::new(),
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn host_port(server: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = match server.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
            (h, Some(p.parse::<u16>().ok().filter(|p| *p != 0)?))
        }
        _ => (server, None),
    };
    let host = host.trim_matches(['[', ']']);
    (!host.is_empty()).then(|| (String::from(host), port))
}

/// SMB: a dialect from 2.0 up (the lowest the agent accepts); NFS: 3, 4, 4.0, 4.1 or 4.2.
fn check_version(protocol: ShareProtocol, version: &str) -> ApiResult<()> {
    let known: &[&str] = match protocol {
        ShareProtocol::Smb => &["", "2", "2.0", "2.02", "2.1", "3", "3.0", "3.02", "3.1.1"],
        ShareProtocol::Nfs => &["", "3", "4", "4.0", "4.1", "4.2"],
    };
    if known.contains(&version) {
        return Ok(());
    }
    let why = match protocol {
        ShareProtocol::Smb if version.starts_with('1') => {
            "SMB 1 is not supported (it is insecure); use 2.0 or later"
        }
        ShareProtocol::Smb => "use 2.0, 2.1, 3.0, 3.02 or 3.1.1 (the lowest dialect to accept)",
        ShareProtocol::Nfs => "use 3, 4, 4.0, 4.1 or 4.2",
    };
    Err(ApiError::invalid(format!(
        "'version' {version} is not a version the agent speaks: {why}."
    )))
}

/// The mount point: inside a folder the agent may use (the roots of local files and of drive
/// mounts).
fn local_path(config: &CoreConfig, path: &str) -> ApiResult<String> {
    let mut roots = config.file_roots.clone();
    if !config.drive_mount_root.is_empty() {
        roots.push(config.drive_mount_root.clone());
    }
    checked(&roots, path, "localPath")
}

/// How a share shows on the wire: the documented model (no password) plus how it is mounted.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShareView<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    smb_share: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nfs_share: Option<&'a str>,
    version: &'a str,
    local_path: &'a str,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_authenticated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    /// Extension: `"kernel"` or `"fuse"` while mounted, else null.
    mounted_by: Option<&'static str>,
    /// Extension: why it is not mounted, when it is active and not.
    mount_error: Option<String>,
}

impl<'a> ShareView<'a> {
    /// `s` as its model shows it, with the host's `state` of its mount.
    pub fn new(s: &'a ShareConfig, state: Option<ShareState>) -> Self {
        let state = state.unwrap_or_default();
        let smb = s.protocol == ShareProtocol::Smb;
        ShareView {
            id: &s.id,
            name: &s.name,
            smb_share: smb.then_some(s.share.as_str()),
            nfs_share: (!smb).then_some(s.share.as_str()),
            version: &s.version,
            local_path: &s.local_path,
            active: s.active,
            is_authenticated: smb.then_some(state.authenticated),
            username: smb.then_some(s.username.as_str()),
            domain: smb.then_some(s.domain.as_str()),
            mounted_by: state.mounted_by,
            mount_error: state.error.filter(|_| s.active),
        }
    }
}

/// The 499 a failed mount answers with.
pub fn mount_error(e: ShareError) -> ApiError {
    match e {
        ShareError::Unreachable(why) => ApiError::new(
            ErrorCode::Default,
            format!("The server cannot be reached: {why}."),
        ),
        ShareError::Auth(why) => ApiError::new(
            ErrorCode::Auth,
            format!("The server refused the sign-in: {why}."),
        ),
        ShareError::NotFound(why) => ApiError::new(
            ErrorCode::NotFound,
            format!("The server has no such share: {why}."),
        ),
        ShareError::Failed(why) => {
            ApiError::invalid(format!("The share cannot be mounted: {why}."))
        }
    }
}

/// The shares of this agent (every account's), in id order.
pub fn all(store: &impl Store) -> ApiResult<Vec<ShareConfig>> {
    let mut out = Vec::new();
    scan_all(store, SHARE_MOUNTS.prefix(), false, |_, row| {
        if let Ok(s) = serde_json::from_slice::<ShareConfig>(row) {
            out.push(s);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// The shares of `protocol` of an account, oldest first.
pub fn of_account(
    store: &impl Store,
    account_id: &str,
    protocol: ShareProtocol,
) -> ApiResult<Vec<ShareConfig>> {
    let mut shares: Vec<ShareConfig> = all(store)?
        .into_iter()
        .filter(|s| s.owner_account_id == account_id && s.protocol == protocol)
        .collect();
    shares.sort_by_key(|s| s.create_ms);
    Ok(shares)
}

/// The share with id `id`, if it exists.
pub fn get(store: &impl Store, id: &str) -> ApiResult<Option<ShareConfig>> {
    SHARE_MOUNTS.get(store, id.trim())
}

/// Writes `s` in `batch` (`before`: the stored version), its name kept unique per account and
/// protocol: a taken name fails the batch with a conflict.
pub fn put(batch: &mut Batch, s: &ShareConfig, before: Option<&ShareConfig>) {
    match before {
        Some(old) => batch.require_value(SHARE_MOUNTS.key(&old.id), serde_json::to_vec(old).ok()),
        None => batch.require_absent(SHARE_MOUNTS.key(&s.id)),
    };
    if before.map(ShareConfig::name_key) != Some(s.name_key()) {
        if let Some(old) = before {
            SHARE_MOUNTS_BY_NAME.delete(batch, &old.name_key());
        }
        batch.require_absent(SHARE_MOUNTS_BY_NAME.key(&s.name_key()));
        SHARE_MOUNTS_BY_NAME.put_str(batch, &s.name_key(), &s.id);
    }
    SHARE_MOUNTS.put(batch, &s.id, s);
}

/// Removes `s` in `batch`.
pub fn remove(batch: &mut Batch, s: &ShareConfig) {
    batch.require_present(SHARE_MOUNTS.key(&s.id));
    SHARE_MOUNTS.delete(batch, &s.id);
    SHARE_MOUNTS_BY_NAME.delete(batch, &s.name_key());
    crate::fleet::forget(batch, crate::fleet::Local::Share, &s.id);
}

/// Whether `s`'s mount point clashes with another share's or a drive's folders.
pub fn check_path_free(store: &impl Store, s: &ShareConfig) -> ApiResult<()> {
    let overlap =
        |a: &str, b: &str| paths::relative_to(a, b).is_some() || paths::relative_to(b, a).is_some();
    for other in all(store)?.iter().filter(|o| o.id != s.id) {
        if overlap(&s.local_path, &other.local_path) {
            return Err(taken(&other.name, &other.local_path));
        }
    }
    for d in crate::drives::drive::drives_and_backups(store)? {
        for theirs in [&d.local_path, &d.permanent_local_path] {
            if overlap(&s.local_path, theirs) {
                return Err(taken(&d.name, theirs));
            }
        }
    }
    Ok(())
}

fn taken(name: &str, path: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Duplicate,
        format!("'{name}' already uses the folder {path}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smb(s: &str) -> ApiResult<Address> {
        address(ShareProtocol::Smb, s)
    }

    fn nfs(s: &str) -> ApiResult<Address> {
        address(ShareProtocol::Nfs, s)
    }

    #[test]
    fn smb_shares_parse_in_each_spelling() {
        let a = smb("\\\\server\\share").unwrap();
        assert_eq!(
            (a.host.as_str(), a.share.as_str(), a.folder.as_str()),
            ("server", "share", "")
        );
        let a = smb("//10.0.0.2/design/projects/2026").unwrap();
        assert_eq!(
            (a.share.as_str(), a.folder.as_str()),
            ("design", "projects/2026")
        );
        let a = smb("smb://nas:4455/media").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("nas", Some(4455)));
        for bad in [
            "server\\share",
            "\\\\server",
            "\\\\server\\share\\..\\x",
            "smb://nas:0/m",
            "",
        ] {
            assert!(smb(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nfs_shares_parse_in_each_spelling() {
        let a = nfs("nas.example.com:/media").unwrap();
        assert_eq!(
            (a.host.as_str(), a.share.as_str()),
            ("nas.example.com", "/media")
        );
        let a = nfs("[fd00::2]:/export").unwrap();
        assert_eq!(a.host, "fd00::2");
        let a = nfs("nfs://10.0.0.2:2049/export/a").unwrap();
        assert_eq!((a.port, a.share.as_str()), (Some(2049), "/export/a"));
        for bad in ["nas", "nas:media", ":/media", "nas:/a/../b"] {
            assert!(nfs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_are_checked_with_a_reason() {
        assert!(check_version(ShareProtocol::Smb, "3.0").is_ok());
        let e = check_version(ShareProtocol::Smb, "1.0").unwrap_err();
        assert!(alloc::format!("{e:?}").contains("insecure"));
        assert!(check_version(ShareProtocol::Nfs, "4").is_ok());
        assert!(check_version(ShareProtocol::Nfs, "2").is_err());
    }
}
