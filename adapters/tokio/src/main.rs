//! `click-agent`: the desktop agent.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use click_tokio::cli;
use click_tokio::config::{FileConfig, Overrides, Settings};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "click-agent",
    version,
    about = "The click agent: the Click API on 127.0.0.1:29123."
)]
struct Cli {
    #[command(flatten)]
    client: cli::Common,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent (the default).
    Serve(ServeArgs),
    /// List every route: method, path and who may call it.
    Routes,
    /// Print the OpenAPI 3.1 document of the routes (also served at GET /openapi.json).
    Openapi,
    /// Copy the state of a stopped agent from its data directory's redb file into the empty
    /// PostgreSQL database of `[store] url`, to run it on PostgreSQL or in a fleet.
    CopyStore(ServeArgs),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:29123]. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Where the database, signing key and outbox live [default: the platform data dir].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Exactly the documented API: /management/* and the WebSockets without a token.
    #[arg(long)]
    compat: bool,
    /// A TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    return_large_allocations_to_the_os();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Routes => printed(print_routes(&mut std::io::stdout().lock())),
        Command::Client(command) => cli::run(cli.client, command),
        Command::Openapi => printed(writeln!(
            std::io::stdout().lock(),
            "{}",
            click_core::openapi::text(env!("CARGO_PKG_VERSION"))
        )),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "click-agent", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Serve(args) => finish(serve(args)),
        Command::CopyStore(args) => finish(copy_store(args)),
    }
}

fn finish(outcome: Result<(), String>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("click-agent: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_routes(out: &mut impl Write) -> std::io::Result<()> {
    for route in click_core::routes::ROUTES {
        writeln!(
            out,
            "{:<7} {:<45} {:?}",
            route.method.as_str(),
            route.path,
            route.auth
        )?;
    }
    Ok(())
}

/// The exit code of a command that prints: a reader that stopped reading (`| head`,
/// `| grep -q`) is not a failure, as with other command-line tools.
fn printed(outcome: std::io::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("click-agent: {e}");
            ExitCode::FAILURE
        }
    }
}

fn settings(args: ServeArgs) -> Result<Settings, String> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    file.resolve(Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        compat: args.compat,
    })
}

fn copy_store(args: ServeArgs) -> Result<(), String> {
    let settings = settings(args)?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("no runtime: {e}"))?;
    let _inside = runtime.enter();
    let rows = click_tokio::store::copy_to_postgres(&settings)?;
    println!("copied {rows} rows into PostgreSQL");
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let settings = settings(args)?;
    let filter = EnvFilter::try_from_default_env()
        // The share clients narrate every connection at info; their warnings are enough.
        .or_else(|_| EnvFilter::try_new(format!("{},nfs_rs=warn,smb2=warn", settings.log.level)))
        .map_err(|e| format!("invalid log level {:?}: {e}", settings.log.level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(click_tokio::server::run(settings))
}

/// glibc raises its mmap threshold after the first large free, so argon2's 19 MiB working
/// buffer would stay in the heap after the second login. A fixed threshold sends it back.
fn return_large_allocations_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
