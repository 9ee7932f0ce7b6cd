//! Reads the agent's outbox (`<data-dir>/outbox/*.eml`).

use std::path::Path;

#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub file: String,
    pub to: String,
    pub subject: String,
    pub purpose: String,
    pub token: String,
    pub raw: String,
}

pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

pub fn parse(file: String, raw: String) -> OutboxMail {
    OutboxMail {
        to: header(&raw, "To").unwrap_or_default(),
        subject: header(&raw, "Subject").unwrap_or_default(),
        purpose: header(&raw, "X-Click-Purpose").unwrap_or_default(),
        token: header(&raw, "X-Click-Token").unwrap_or_default(),
        file,
        raw,
    }
}

pub fn read_outbox(dir: &Path) -> Vec<OutboxMail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| {
            std::fs::read_to_string(dir.join(&n))
                .ok()
                .map(|raw| parse(n, raw))
        })
        .collect()
}
