//! The API documentation's own examples, used as fixtures. `tests/spec/` is a verbatim copy of
//! `spec/click-api/` and `spec/endpoints.tsv`.

use std::path::PathBuf;

use crate::Value;

pub fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec")
}

pub fn read(file: &str) -> String {
    let path = spec_dir().join("click-api").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first ```json block after the line that contains `marker` in a doc file.
pub fn example(file: &str, marker: &str) -> Value {
    let text = read(file);
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {file}"));
    let rest = &text[start..];
    let open = rest.find("```json").expect("a json block") + "```json".len();
    let close = rest[open..].find("```").expect("end of block");
    serde_json::from_str(rest[open..open + close].trim())
        .unwrap_or_else(|e| panic!("example after {marker:?}: {e}"))
}

/// `(controller, scope, method, route, auth)` of every documented route.
pub fn endpoints() -> Vec<[String; 5]> {
    std::fs::read_to_string(spec_dir().join("endpoints.tsv"))
        .expect("endpoints.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("controller\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            [f[0], f[1], f[2], f[3], f[4]].map(String::from)
        })
        .collect()
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}
