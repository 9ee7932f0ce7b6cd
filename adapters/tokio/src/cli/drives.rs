//! `click-agent drives list|add|remove`: cloud drives (a bucket mounted as a drive, or a
//! local folder kept in sync with it), through `/management/clouddrive`.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::client::Api;
use super::location::{account_of, remote};
use super::{Common, Failure};

#[derive(Subcommand, Debug)]
pub enum DrivesCommand {
    /// The drives: id, name, bucket, where they are, whether they run.
    List,
    /// Adds a drive over ACCOUNT:BUCKET[/PREFIX] (the cloud account's name or id).
    Add(AddArgs),
    /// Removes a drive (by name or id); the bucket keeps its files.
    Remove { drive: String },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The drive's name.
    pub name: String,
    /// ACCOUNT:BUCKET[/PREFIX].
    pub bucket: String,
    /// stream: mounted, files fetched as they are read; mirror: mounted, everything kept
    /// local; folder: a local folder kept in two-way sync (needs --path).
    #[arg(long, value_enum, default_value_t = Mode::Stream)]
    pub mode: Mode,
    /// Where it mounts, or the folder to sync [default: the agent's mount folder/NAME].
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,
    /// The most its cache may hold, in MiB [default: no limit].
    #[arg(long, value_name = "MIB")]
    pub cache_mb: Option<u64>,
    /// Mounted read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Deletes on this side do not reach the bucket.
    #[arg(long)]
    pub no_delete: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Mode {
    Stream,
    Mirror,
    Folder,
}

pub async fn run(common: &Common, command: DrivesCommand) -> Result<(), Failure> {
    let api = Api::open(common)?;
    match command {
        DrivesCommand::List => list(common, &api).await,
        DrivesCommand::Add(args) => add(common, &api, args).await,
        DrivesCommand::Remove { drive } => {
            let id = drive_id(&api, &drive).await?;
            api.delete(&format!("/management/clouddrive/{id}")).await?;
            match common.json {
                true => println!("{}", json!({"id": id, "removed": true})),
                false => println!("{drive}: removed"),
            }
            Ok(())
        }
    }
}

async fn list(common: &Common, api: &Api) -> Result<(), Failure> {
    let drives = api.get("/management/clouddrive").await?;
    if common.json {
        println!("{drives}");
        return Ok(());
    }
    for d in drives.as_array().map(Vec::as_slice).unwrap_or_default() {
        let text = |k: &str| d[k].as_str().unwrap_or("").to_string();
        let state = if d["active"] == false {
            "inactive"
        } else {
            "active"
        };
        println!(
            "{}  {:<16}  {}/{}  {}  {state}",
            text("id"),
            text("name"),
            text("storageName"),
            text("prefix"),
            text("localPath")
        );
    }
    Ok(())
}

async fn add(common: &Common, api: &Api, args: AddArgs) -> Result<(), Failure> {
    let at = remote(&args.bucket)
        .ok_or_else(|| Failure::Other(format!("{}: give ACCOUNT:BUCKET[/PREFIX]", args.bucket)))?;
    let account = account_of(api, &at.account).await?;
    let (drive_type, sync_type) = match args.mode {
        Mode::Stream => (1, 1),
        Mode::Mirror => (1, 2),
        Mode::Folder => (2, 1),
    };
    let body = json!({
        "name": args.name, "storageName": at.bucket, "prefix": at.path, "driveName": "",
        "driveType": drive_type, "syncType": sync_type,
        "permissionType": if args.read_only { 1 } else { 2 },
        "localCacheEncrypted": false, "cloudObjectsEncrypted": false,
        "allowDelete": !args.no_delete,
        "maximumCacheSize": args.cache_mb.unwrap_or(0) * 1024 * 1024,
        "permanentLocalPath": "$$$", "localPath": args.path.unwrap_or_default(),
        "account": {"id": account["id"]},
    });
    let drive = api.post("/management/clouddrive", &body).await?;
    match common.json {
        true => println!("{drive}"),
        false => println!(
            "{}: added at {} ({})",
            args.name,
            drive["localPath"].as_str().unwrap_or(""),
            drive["id"].as_str().unwrap_or("")
        ),
    }
    Ok(())
}

/// The id of the drive a name or id stands for.
async fn drive_id(api: &Api, wanted: &str) -> Result<String, Failure> {
    let drives = api.get("/management/clouddrive").await?;
    let list = drives.as_array().cloned().unwrap_or_default();
    let found: Option<&Value> = list
        .iter()
        .find(|d| d["id"] == wanted)
        .or_else(|| list.iter().find(|d| d["name"] == wanted));
    found
        .and_then(|d| d["id"].as_str().map(str::to_string))
        .ok_or_else(|| Failure::Refused(format!("no drive is named {wanted}")))
}
