//! Cloud locations as the client commands take them: `ACCOUNT:BUCKET/PATH`, the cloud account
//! by its name or id.

use serde_json::{Value, json};

use super::Failure;
use super::client::Api;

/// A cloud location: account (name or id), bucket, path in the bucket.
#[derive(Debug, PartialEq)]
pub struct Remote {
    pub account: String,
    pub bucket: String,
    pub path: String,
}

/// `ACCOUNT:BUCKET/PATH`, when `s` is one (a local path never has a `:` before its first `/`).
pub fn remote(s: &str) -> Option<Remote> {
    let (account, rest) = s.split_once(':')?;
    if account.is_empty() || account.contains('/') || s.starts_with('.') {
        return None;
    }
    let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| Remote {
        account: account.to_string(),
        bucket: bucket.to_string(),
        path: path.to_string(),
    })
}

/// The cloud account a name or id stands for, as the transfer routes take it.
pub async fn account_of(api: &Api, wanted: &str) -> Result<Value, Failure> {
    let accounts = api.get("/cloud/accounts").await?;
    let list = accounts.as_array().cloned().unwrap_or_default();
    let found = list
        .iter()
        .find(|a| a["id"] == wanted)
        .or_else(|| list.iter().find(|a| a["name"] == wanted))
        .ok_or_else(|| Failure::Refused(format!("no cloud account is named {wanted}")))?;
    Ok(json!({"id": found["id"], "cloudType": found["cloudType"]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_locations_are_told_from_local_paths() {
        let r = remote("My S3:media/photos/a.jpg").unwrap();
        assert_eq!(
            (r.account.as_str(), r.bucket.as_str(), r.path.as_str()),
            ("My S3", "media", "photos/a.jpg")
        );
        assert_eq!(remote("acct:media").unwrap().path, "");
        assert_eq!(remote("/tmp/a:b"), None);
        assert_eq!(remote("./a:b"), None);
        assert_eq!(remote("a.txt"), None);
        assert_eq!(remote("acct:"), None);
    }
}
