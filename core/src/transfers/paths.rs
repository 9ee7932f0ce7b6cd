//! Local paths in transfer requests: absolute, without `.` or `..`, and inside one of the
//! configured roots. This is the lexical check; hosts also resolve links before opening.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{ApiError, ApiResult, ErrorCode};

fn is_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/')
        || (b.len() > 2
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'/' | b'\\'))
}

fn components(p: &str) -> impl Iterator<Item = &str> {
    p.split(['/', '\\']).filter(|c| !c.is_empty())
}

/// `path` cleaned of doubled and trailing separators, if it is inside a root.
pub fn checked(roots: &[String], path: &str, field: &str) -> ApiResult<String> {
    let path = path.trim();
    if path.is_empty() {
        return Err(ApiError::invalid(format!("'{field}' is required.")));
    }
    if !is_absolute(path) || components(path).any(|c| c == "." || c == "..") {
        return Err(ApiError::new(
            ErrorCode::Security,
            format!("'{field}' must be an absolute path without '.' or '..'."),
        ));
    }
    let parts: Vec<&str> = components(path).collect();
    let inside = roots.iter().any(|root| {
        let r: Vec<&str> = components(root).collect();
        parts.len() >= r.len() && parts[..r.len()] == r[..]
    });
    if !inside {
        return Err(ApiError::new(
            ErrorCode::Security,
            format!(
                "'{field}' must be inside a folder the agent may use ({}); see [transfers] roots.",
                roots.join(", ")
            ),
        ));
    }
    let sep = if path.starts_with('/') { "/" } else { "\\" };
    let mut out = String::new();
    if path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&parts.join(sep));
    Ok(out)
}

/// The last component of a local path or object key.
pub fn file_name(path: &str) -> &str {
    path.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
}

/// Where a cloud-to-cloud transfer puts object `key`, found under source folder `folder`
/// (a prefix ending with `/`, or empty): under `destination`, the key's part below the
/// folder, or its whole key when `keep_source_tree`. `None` for the folder's own marker,
/// which has nothing below the folder.
pub fn destination_key(
    destination: &str,
    folder: &str,
    key: &str,
    keep_source_tree: bool,
) -> Option<String> {
    let below = key.strip_prefix(folder).unwrap_or(key);
    if below.is_empty() {
        return None;
    }
    let placed = if keep_source_tree { key } else { below };
    let destination = destination.trim_matches('/');
    Some(match destination {
        "" => String::from(placed),
        d => format!("{d}/{placed}"),
    })
}

/// `path` with ` (<tag>)` added to its last name, before the extension when `before_ext`
/// (`a/b (1).txt`): a conflict copy's name, or a second file's beside the first.
pub fn tagged(path: &str, tag: &str, before_ext: bool) -> String {
    let (dir, name) = match path.rsplit_once('/') {
        Some((d, n)) => (Some(d), n),
        None => (None, path),
    };
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 && before_ext => name.split_at(i),
        _ => (name, ""),
    };
    match dir {
        Some(d) => format!("{d}/{stem} ({tag}){ext}"),
        None => format!("{stem} ({tag}){ext}"),
    }
}

/// The first of `path (1)`, `path (2)`, ... (numbered before the extension) that `taken`
/// says is free (`FileExistsAction` KeepBoth).
pub fn free_name(path: &str, taken: impl Fn(&str) -> bool) -> String {
    (1u32..)
        .map(|n| tagged(path, &format!("{n}"), true))
        .find(|p| !taken(p))
        .expect("some number is free")
}

/// The folder an object key is in, as a prefix (`a/b/` for `a/b/c.txt`; empty at the top).
pub fn parent_prefix(key: &str) -> &str {
    match key.rfind('/') {
        Some(i) => &key[..=i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The docs' example: `folder/...` to `archive/folder/`.
    #[test]
    fn copied_objects_land_below_the_destination_path() {
        let d = "archive/folder/";
        assert_eq!(
            destination_key(d, "folder/", "folder/a/b.txt", false).as_deref(),
            Some("archive/folder/a/b.txt")
        );
        assert_eq!(
            destination_key(d, "folder/", "folder/a/b.txt", true).as_deref(),
            Some("archive/folder/folder/a/b.txt")
        );
        let one = "folder/file.mov";
        assert_eq!(
            destination_key(d, parent_prefix(one), one, false).as_deref(),
            Some("archive/folder/file.mov")
        );
        assert_eq!(
            destination_key(d, parent_prefix(one), one, true).as_deref(),
            Some("archive/folder/folder/file.mov")
        );
        assert_eq!(
            destination_key("", "", "x/y", false).as_deref(),
            Some("x/y")
        );
        assert_eq!(
            destination_key("out", "in/", "in/sub/", false).as_deref(),
            Some("out/sub/")
        );
        assert_eq!(destination_key("out", "in/", "in/", false), None);
        assert_eq!(parent_prefix("top.txt"), "");
    }

    #[test]
    fn paths_must_stay_inside_a_root() {
        let roots = [String::from("/home/me"), String::from("/tmp")];
        assert_eq!(
            checked(&roots, "/home/me//a/b.txt/", "p").unwrap(),
            "/home/me/a/b.txt"
        );
        assert_eq!(checked(&roots, "/tmp", "p").unwrap(), "/tmp");
        for bad in [
            "/home/meow/x",
            "/etc/passwd",
            "relative/x",
            "/home/me/../x",
            "/tmp/./x",
        ] {
            assert!(checked(&roots, bad, "p").is_err(), "{bad}");
        }
        assert!(checked(&[String::from("C:/Users")], "C:\\Users\\me", "p").is_ok());
        assert_eq!(file_name("/a/b/c.txt"), "c.txt");
        assert_eq!(file_name("photos/2026/"), "2026");
    }
}
