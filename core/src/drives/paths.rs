//! Object keys and the local paths that show them, one pure mapping both ways.
//!
//! A drive shows the keys under its `prefix`. A key is split at `/` into names; a name a
//! local file system cannot hold is escaped so that the mapping stays reversible: `%` is
//! written `%25`, a NUL `%00`, the names `.` and `..` become `%2E` and `%2E%2E`, and an empty
//! name (a key with `//`) becomes `%`. Names longer than a file system allows (255 bytes
//! once escaped) have no local path: the key is ignored (`FileState` Ignore) and logged.
//! Folder markers (keys ending with `/`) map to the folder itself.

use alloc::string::String;
use alloc::vec::Vec;

/// The longest file name Linux, macOS and Windows all accept, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// A drive's prefix in its one canonical form: no leading `/`, one trailing `/`, or empty.
pub fn normalize_prefix(prefix: &str) -> String {
    let p = prefix.trim().trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        alloc::format!("{p}/")
    }
}

fn escape_name(name: &str) -> String {
    match name {
        "" => String::from("%"),
        "." => String::from("%2E"),
        ".." => String::from("%2E%2E"),
        _ => {
            let mut out = String::with_capacity(name.len());
            for c in name.chars() {
                match c {
                    '%' => out.push_str("%25"),
                    '\0' => out.push_str("%00"),
                    c => out.push(c),
                }
            }
            out
        }
    }
}

fn unescape_name(name: &str) -> Option<String> {
    match name {
        "%" => return Some(String::new()),
        "%2E" => return Some(String::from(".")),
        "%2E%2E" => return Some(String::from("..")),
        "" | "." | ".." => return None,
        _ => {}
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3)? {
            "%25" => out.push('%'),
            "%00" => out.push('\0'),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// The relative local path (names joined with `/`, no leading `/`) that shows `key`, or
/// `None` when the key is outside `prefix`, is the prefix itself, or has a name no local file
/// system can hold. `prefix` is in [`normalize_prefix`] form.
pub fn local_of(prefix: &str, key: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() && !key.ends_with("//") {
        return None;
    }
    let mut out = String::with_capacity(rest.len());
    for (i, name) in rest.split('/').enumerate() {
        let escaped = escape_name(name);
        if escaped.len() > MAX_NAME_BYTES {
            return None;
        }
        if i > 0 {
            out.push('/');
        }
        out.push_str(&escaped);
    }
    Some(out)
}

/// The key of the object at relative local path `rel` (as [`local_of`] gives it), or `None`
/// when `rel` is not a path this mapping produces (`..`, a stray `%`, an empty name).
pub fn key_of(prefix: &str, rel: &str) -> Option<String> {
    let rel = rel.trim_matches('/');
    if rel.is_empty() {
        return None;
    }
    let names: Option<Vec<String>> = rel.split('/').map(unescape_name).collect();
    let mut key = String::from(prefix);
    key.push_str(&names?.join("/"));
    Some(key)
}

/// The folder marker key (ending with `/`) of relative folder `rel`; the prefix itself for the
/// drive's root.
pub fn folder_key_of(prefix: &str, rel: &str) -> Option<String> {
    if rel.trim_matches('/').is_empty() {
        return Some(String::from(prefix));
    }
    let mut key = key_of(prefix, rel)?;
    key.push('/');
    Some(key)
}

/// `rel` (a relative path) inside a drive whose local root is `root`, with `/` separators.
pub fn join(root: &str, rel: &str) -> String {
    let root = root.trim_end_matches(['/', '\\']);
    if rel.is_empty() {
        String::from(root)
    } else {
        alloc::format!("{root}/{rel}")
    }
}

/// The relative path of absolute `path` inside `root` (`Some("")` for the root itself), when it
/// lies inside, compared name by name (`/` or `\`, doubled separators ignored). `None` if it
/// is outside, or if a name is `.` or `..` (the caller answers SECURITY for those).
pub fn relative_to(root: &str, path: &str) -> Option<String> {
    let names = |p: &'_ str| -> Vec<String> {
        p.split(['/', '\\'])
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect()
    };
    let (root, path) = (names(root), names(path));
    if root.is_empty() || path.len() < root.len() || path[..root.len()] != root[..] {
        return None;
    }
    let rest = &path[root.len()..];
    if rest.iter().any(|n| n == "." || n == "..") {
        return None;
    }
    Some(rest.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_paths_round_trip() {
        let p = normalize_prefix("/team/docs");
        assert_eq!(p, "team/docs/");
        for (key, rel) in [
            ("team/docs/a.txt", "a.txt"),
            ("team/docs/dir/", "dir"),
            ("team/docs/dir/b c.txt", "dir/b c.txt"),
            ("team/docs/100%.txt", "100%25.txt"),
            ("team/docs/x/../y", "x/%2E%2E/y"),
            ("team/docs/x/./y", "x/%2E/y"),
            ("team/docs/a//b", "a/%/b"),
            ("team/docs/nul\0name", "nul%00name"),
        ] {
            assert_eq!(local_of(&p, key).as_deref(), Some(rel), "{key}");
            let back = key_of(&p, rel).unwrap();
            assert_eq!(back, key.trim_end_matches('/'), "{rel}");
        }
        assert_eq!(local_of(&p, "team/docs/"), None, "the prefix itself");
        assert_eq!(local_of(&p, "other/a.txt"), None);
        let long = alloc::format!("team/docs/{}", "n".repeat(256));
        assert_eq!(local_of(&p, &long), None);
        assert_eq!(key_of(&p, "a/../b"), None);
        assert_eq!(key_of(&p, "50%off"), None, "a stray % is not ours");
        assert_eq!(folder_key_of(&p, "dir").as_deref(), Some("team/docs/dir/"));
        assert_eq!(folder_key_of(&p, "").as_deref(), Some("team/docs/"));
        assert_eq!(key_of("", "a.txt").as_deref(), Some("a.txt"));
    }

    #[test]
    fn relative_paths_stay_inside_their_root() {
        assert_eq!(
            relative_to("/mnt/d", "/mnt/d//x/y.txt").as_deref(),
            Some("x/y.txt")
        );
        assert_eq!(relative_to("/mnt/d/", "/mnt/d").as_deref(), Some(""));
        assert_eq!(relative_to("/mnt/d", "/mnt/dx/y"), None);
        assert_eq!(relative_to("/mnt/d", "/mnt/d/../etc"), None);
        assert_eq!(
            relative_to("C:/cache/1", "C:\\cache\\1\\a").as_deref(),
            Some("a")
        );
        assert_eq!(join("/mnt/d/", "a/b"), "/mnt/d/a/b");
    }
}
