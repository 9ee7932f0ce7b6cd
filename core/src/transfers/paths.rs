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

#[cfg(test)]
mod tests {
    use super::*;

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
