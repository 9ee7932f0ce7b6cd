//! `click-agent transfers list|pause|resume|cancel`: the signed-in user's client transfers.

use clap::Subcommand;
use serde_json::{Value, json};

use super::client::Api;
use super::{Common, Failure};

#[derive(Subcommand, Debug)]
pub enum TransfersCommand {
    /// Every transfer the agent tracks: id, status, bytes, what and where.
    List,
    /// Pauses a running transfer.
    Pause { id: String },
    /// Resumes a paused transfer.
    Resume { id: String },
    /// Cancels a transfer (what it uploaded so far is removed).
    Cancel { id: String },
}

pub async fn run(common: &Common, command: TransfersCommand) -> Result<(), Failure> {
    let api = Api::open(common)?;
    let (verb, id) = match command {
        TransfersCommand::List => return list(common, &api).await,
        TransfersCommand::Pause { id } => ("pause", id),
        TransfersCommand::Resume { id } => ("resume", id),
        TransfersCommand::Cancel { id } => ("cancel", id),
    };
    let path = format!("/cloud/client_transfer/{id}/{verb}");
    api.post(&path, &json!({})).await?;
    match common.json {
        true => println!("{}", json!({"transferId": id, "done": verb})),
        false => println!("{id}: {verb} asked"),
    }
    Ok(())
}

async fn list(common: &Common, api: &Api) -> Result<(), Failure> {
    let all = api.get("/cloud/client_transfer/all").await?;
    if common.json {
        println!("{all}");
        return Ok(());
    }
    for t in all.as_array().map(Vec::as_slice).unwrap_or_default() {
        println!("{}", line(t));
    }
    Ok(())
}

fn line(t: &Value) -> String {
    let text = |k: &str| t[k].as_str().unwrap_or("").to_string();
    let (from, to) = match (text("sourcePath").is_empty(), text("targetPath").is_empty()) {
        (false, _) => (
            format!("{}:{}", text("sourceBucket"), text("sourcePath")),
            text("targetPath"),
        ),
        _ => (
            text("sourcePath"),
            format!("{}:{}", text("targetBucket"), text("targetPath")),
        ),
    };
    format!(
        "{}  {:<9}  {}/{} bytes  {from} -> {to}",
        text("transferId"),
        text("status"),
        t["transferredBytes"].as_u64().unwrap_or(0),
        t["totalBytes"].as_u64().unwrap_or(0),
    )
}
