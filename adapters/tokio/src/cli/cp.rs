//! `click-agent cp SOURCE DESTINATION`: one file up to or down from a cloud account, as a
//! transfer of the agent (`/cloud/upload_object`, `/cloud/download_object`), followed to its
//! end. A cloud location is `ACCOUNT:BUCKET/PATH` (the cloud account's name or id); files keep
//! their names, so the other side is a folder (or names the same file).

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use super::client::Api;
use super::location::{Remote, account_of, remote};
use super::progress::{self, Outcome};
use super::{Common, Failure};

#[derive(Args, Debug)]
pub struct CpArgs {
    /// A local file, or ACCOUNT:BUCKET/KEY to download.
    pub source: String,
    /// ACCOUNT:BUCKET/FOLDER/ to upload to, or a local folder to download into.
    pub destination: String,
}

pub async fn run(common: &Common, args: CpArgs) -> Result<(), Failure> {
    let api = Api::open(common)?;
    let (what, label, body) = match (remote(&args.source), remote(&args.destination)) {
        (None, Some(to)) => upload(&api, Path::new(&args.source), &to).await?,
        (Some(from), None) => download(&api, &from, Path::new(&args.destination)).await?,
        _ => {
            return Err(Failure::Other(
                "cp copies between this machine and a cloud account: one side is a local path, \
                 the other ACCOUNT:BUCKET/PATH"
                    .into(),
            ));
        }
    };
    let socket = progress::listen(&api).await;
    let started = api.post(&format!("/cloud/{what}_object"), &body).await?;
    let id = started["transferId"]
        .as_str()
        .ok_or_else(|| Failure::Other(format!("the agent gave no transferId: {started}")))?;
    let outcome = progress::follow(&api, id, &label, socket).await?;
    report(common, id, &label, &outcome)
}

/// The upload of `local` to the folder `to` names: its body and label.
async fn upload(
    api: &Api,
    local: &Path,
    to: &Remote,
) -> Result<(&'static str, String, Value), Failure> {
    let file = absolute(local)?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // The object keeps the file's name: `to` is its folder, or names it.
    let folder = match to.path.rsplit_once('/') {
        _ if to.path.is_empty() || to.path.ends_with('/') => to.path.trim_end_matches('/'),
        Some((folder, last)) if last == name => folder,
        None if to.path == name => "",
        _ => {
            return Err(Failure::Other(format!(
                "uploads keep the file's name: give the folder, ending with / ({}:{}/{}/)",
                to.account, to.bucket, to.path
            )));
        }
    };
    let account = account_of(api, &to.account).await?;
    let body = json!({"cloudAccount": account, "storageName": to.bucket, "uploadPath": folder,
                      "localFilePath": file.display().to_string(), "id": "", "name": ""});
    let label = format!(
        "{} -> {}:{}/{folder}",
        file.display(),
        to.account,
        to.bucket
    );
    Ok(("upload", label, body))
}

/// The download of `from` into the folder `local` names: its body and label.
async fn download(
    api: &Api,
    from: &Remote,
    local: &Path,
) -> Result<(&'static str, String, Value), Failure> {
    let name = from.path.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        return Err(Failure::Other("cp downloads one file: name its key".into()));
    }
    let folder = match local.is_dir() {
        true => absolute(local)?,
        // A path naming the file itself, in a folder that exists.
        false if local.file_name().and_then(|n| n.to_str()) == Some(name) => absolute(
            local
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        )?,
        false => {
            return Err(Failure::Other(format!(
                "downloads keep the object's name: give a folder that exists ({} is not one)",
                local.display()
            )));
        }
    };
    let account = account_of(api, &from.account).await?;
    let body = json!({"cloudAccount": account, "storageName": from.bucket, "objectKey": from.path,
                      "downloadPath": folder.display().to_string(), "name": ""});
    let label = format!(
        "{}:{}/{} -> {}",
        from.account,
        from.bucket,
        from.path,
        folder.display()
    );
    Ok(("download", label, body))
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    std::fs::canonicalize(path).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))
}

fn report(common: &Common, id: &str, label: &str, outcome: &Outcome) -> Result<(), Failure> {
    if common.json {
        let summary = json!({"transferId": id, "status": outcome.status, "bytes": outcome.bytes,
                             "seconds": outcome.seconds, "error": outcome.error});
        println!("{summary}");
    }
    match outcome.status.as_str() {
        "completed" => {
            if !common.json {
                println!(
                    "{label}: {} bytes in {:.1} s",
                    outcome.bytes, outcome.seconds
                );
            }
            Ok(())
        }
        status => Err(Failure::TransferFailed(format!(
            "{label}: the transfer {status}{}",
            outcome
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ))),
    }
}
