//! The API documentation, read by the tests: its examples are fixtures and its endpoint
//! sections (URL, method, query table, bodies, response) drive the contract test. `tests/spec/`
//! is a verbatim copy of the Click API pages (`click-api/`, `endpoints.tsv`) and of the sibling
//! hosted API's pages (`web-api/`), which give the DTO fields the Click pages only name;
//! `SOURCES.txt` in each names the commit every page came from.

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
    example_after(file, "", marker)
}

/// The first ```json block after `marker` that follows `section` in a doc file (a section's
/// response, where every section has one).
pub fn example_after(file: &str, section: &str, marker: &str) -> Value {
    let text = read(file);
    let from = text
        .find(section)
        .unwrap_or_else(|| panic!("{section:?} not in {file}"));
    let start = from
        + text[from..]
            .find(marker)
            .unwrap_or_else(|| panic!("{marker:?} not in {file} after {section:?}"));
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

/// One endpoint as a doc page describes it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The page, such as `projects.md`.
    pub file: String,
    pub title: String,
    pub method: String,
    /// As the page writes it: `/projects/get_all`, `/cloud/client_transfer/{transferId}/pause`.
    pub path: String,
    /// The names and the `Default` column (empty when there is none) of its query table
    /// (or of the table of the endpoint its page says it is "Identical to").
    pub query: Vec<(String, String)>,
    /// The names of its form fields (`multipart/form-data` routes).
    pub form: Vec<(String, String)>,
    /// The first JSON example under its request-body heading.
    pub body: Option<Value>,
    /// The first JSON example under its response heading.
    pub response: Option<Value>,
    /// The prose of its response section.
    pub response_text: String,
}

/// Every endpoint of the pages in `spec/<dir>/` (`click-api` or `web-api`). An endpoint is
/// the heading above a `- **URL**:` line and everything up to the next heading of its level.
pub fn endpoints_of(dir: &str) -> Vec<Endpoint> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(spec_dir().join(dir))
        .expect("spec dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        out.extend(page_endpoints(&file, &text));
    }
    out
}

fn heading_level(line: &str) -> Option<usize> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    (hashes > 0 && line[hashes..].starts_with(' ')).then_some(hashes)
}

fn page_endpoints(file: &str, text: &str) -> Vec<Endpoint> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    // Query sections that only say "Identical to [Get All Users](#get-all-users)".
    let mut same_as: Vec<(usize, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(url) = line.strip_prefix("- **URL**: `") else {
            continue;
        };
        let Some(start) = (0..i).rev().find(|&j| heading_level(lines[j]).is_some()) else {
            continue;
        };
        let level = heading_level(lines[start]).unwrap();
        let end = (i + 1..lines.len())
            .find(|&j| heading_level(lines[j]).is_some_and(|l| l <= level))
            .unwrap_or(lines.len());
        let block = &lines[start..end];
        let query = section(block, "Query Parameters");
        if let Some(title) = query
            .iter()
            .find_map(|l| l.split_once("Identical to [").map(|(_, t)| t))
            .and_then(|t| t.split_once(']'))
        {
            same_as.push((out.len(), title.0.to_string()));
        }
        let method = block
            .iter()
            .find_map(|l| l.strip_prefix("- **Method**: "))
            .unwrap_or("")
            .trim()
            .to_uppercase();
        out.push(Endpoint {
            file: file.to_string(),
            title: lines[start][level..].trim().to_string(),
            method,
            path: url.trim_end_matches('`').to_string(),
            query: query_table(section(block, "Query Parameters")),
            form: query_table(section(block, "Form Fields")),
            body: first_json(section(block, "Request Body")),
            response: first_json(section(block, "Response")),
            response_text: section(block, "Response").join("\n"),
        });
    }
    for (i, title) in same_as {
        let query = out
            .iter()
            .find(|e| e.title == title)
            .map(|e| e.query.clone());
        out[i].query = query.unwrap_or_else(|| panic!("{file}: no endpoint titled {title}"));
    }
    out
}

/// The lines under the sub-heading that names `name`, up to the next heading.
fn section<'a>(block: &[&'a str], name: &str) -> Vec<&'a str> {
    let Some(start) = block
        .iter()
        .position(|l| heading_level(l).is_some() && l.contains(name))
    else {
        return Vec::new();
    };
    block[start + 1..]
        .iter()
        .take_while(|l| heading_level(l).is_none())
        .copied()
        .collect()
}

/// `(name, default)` of each row of the section's first table.
fn query_table(lines: Vec<&str>) -> Vec<(String, String)> {
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let is_row = |l: &&&str| l.trim_start().starts_with('|');
    let Some(at) = lines.iter().position(|l| is_row(&l)) else {
        return Vec::new();
    };
    let head = cells(lines[at]);
    let default = head.iter().position(|h| h == "Default");
    // The first table only: a second one (the values of a bitmask parameter, say) is prose.
    lines[at..]
        .iter()
        .take_while(is_row)
        .skip(2)
        .map(|l| {
            let row = cells(l);
            let d = default
                .and_then(|i| row.get(i))
                .cloned()
                .unwrap_or_default();
            (row[0].trim_matches('`').to_string(), d)
        })
        .collect()
}

fn first_json(lines: Vec<&str>) -> Option<Value> {
    let open = lines.iter().position(|l| l.trim() == "```json")?;
    let close = open + 1 + lines[open + 1..].iter().position(|l| l.trim() == "```")?;
    Some(lenient_json(&lines[open + 1..close].join("\n")))
}

/// Parses a doc example that may hold `// comments` (the web-api pages write
/// `{ // CloudAccount object }`) and trailing commas.
pub fn lenient_json(text: &str) -> Value {
    let mut clean = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut prev = ' ';
        let mut cut = line.len();
        for (i, c) in line.char_indices() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            }
            if !in_string && c == '/' && prev == '/' {
                cut = i - 1;
                break;
            }
            prev = c;
        }
        clean.push_str(&line[..cut]);
        clean.push('\n');
    }
    let mut out = String::with_capacity(clean.len());
    let chars: Vec<char> = clean.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("doc example: {e}\n{out}"))
}
