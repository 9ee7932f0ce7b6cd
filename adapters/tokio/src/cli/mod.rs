//! The command-line client in the agent's binary, for what people script: `login`, `cp`
//! (uploads and downloads between local paths and `account:bucket/path`), `transfers`
//! (list, pause, resume, cancel) and `drives` (list, add, remove). It talks to a running agent over its API, like any client,
//! and follows `/notification` for progress: a bar with rate and ETA on a terminal, plain
//! lines otherwise, and `--json` for scripts. Exit codes say what failed ([`Failure`]).

mod client;
mod cp;
mod drives;
mod location;
mod progress;
mod transfers;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use client::LoginArgs;
pub use cp::CpArgs;
pub use drives::DrivesCommand;
pub use transfers::TransfersCommand;

/// Where the agent is and how to print, for every client command.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// The agent's URL [default: the one `login` saved, else http://127.0.0.1:29123]; also
    /// `CLICK_AGENT`.
    #[arg(long, global = true, value_name = "URL")]
    pub agent: Option<String>,
    /// Print JSON on stdout (the outcome, or the listing) instead of lines for people.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The client commands.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Sign in to the agent; the session is saved in ~/.config/click/cli.json (0600).
    Login(LoginArgs),
    /// Copy a file between this machine and a cloud account: `click-agent cp ./a.txt
    /// 'My S3:bucket/folder/'` uploads, `click-agent cp 'My S3:bucket/a.txt' ./dir/` downloads.
    Cp(CpArgs),
    /// The signed-in user's client transfers.
    #[command(subcommand)]
    Transfers(TransfersCommand),
    /// Cloud drives: a bucket mounted as a drive, or a folder kept in sync with it.
    #[command(subcommand)]
    Drives(DrivesCommand),
}

/// Why a command failed, as its exit code says.
#[derive(Debug)]
pub enum Failure {
    /// 3: the agent could not be reached.
    Unreachable(String),
    /// 4: not signed in, or the session expired (`click-agent login`).
    NotSignedIn(String),
    /// 5: the agent refused the request (its message says why).
    Refused(String),
    /// 6: the transfer ran and failed (or was cancelled).
    TransferFailed(String),
    /// 1: anything else (a local file, an answer the client cannot read).
    Other(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Other(_) => 1,
            Failure::Unreachable(_) => 3,
            Failure::NotSignedIn(_) => 4,
            Failure::Refused(_) => 5,
            Failure::TransferFailed(_) => 6,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Unreachable(m)
            | Failure::NotSignedIn(m)
            | Failure::Refused(m)
            | Failure::TransferFailed(m)
            | Failure::Other(m) => m,
        }
    }
}

/// Runs a client command; its exit code.
pub fn run(common: Common, command: ClientCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&Failure::Other(format!("cannot start the runtime: {e}"))),
    };
    let done = runtime.block_on(async {
        match command {
            ClientCommand::Login(args) => client::login(&common, args).await,
            ClientCommand::Cp(args) => cp::run(&common, args).await,
            ClientCommand::Transfers(command) => transfers::run(&common, command).await,
            ClientCommand::Drives(command) => drives::run(&common, command).await,
        }
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("click-agent: {}", failure.message());
    ExitCode::from(failure.code())
}
