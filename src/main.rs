//! `holdfast`: the binary. It parses the command line, sets up logging, binds, and hands over to
//! the library (`holdfast::server::run`); with no subcommand it serves. `anyhow` lives here only.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use holdfast::config::{init_logging, ServeArgs};

/// In-memory reservation engine: atomic holds that close the booking race window.
#[derive(Parser)]
#[command(name = "holdfast", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// `holdfast` alone is `holdfast serve`, with the same flags.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve(ServeArgs),
    /// Operate on snapshot files.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Show a running server's company metrics (a table, or `--json`); `--watch` refreshes.
    /// Exits 2 when the server cannot be reached, 1 on any other failure.
    Metrics(holdfast::cli::metrics::MetricsArgs),
}

/// `holdfast snapshot ...`.
#[derive(Subcommand)]
enum SnapshotCommand {
    /// Verify a snapshot file; print its header, companies and counts by status. Exits non-zero
    /// on a file that would not restore.
    Inspect {
        /// The snapshot file.
        file: std::path::PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Metrics(args)) => {
            if let Err(error) = holdfast::cli::metrics::run(&args) {
                eprintln!("holdfast metrics: {error}");
                std::process::exit(error.exit_code());
            }
            Ok(())
        }
        Some(Command::Snapshot(SnapshotCommand::Inspect { file })) => {
            let report = holdfast::cli::snapshot::inspect(&file)
                .with_context(|| format!("snapshot {} does not verify", file.display()))?;
            print!("{report}");
            Ok(())
        }
        None => serve(cli.serve),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format, &args.log_filter)
        .map_err(anyhow::Error::msg)
        .context("cannot set up logging")?;
    let config = args.server_config()?;
    let listener = std::net::TcpListener::bind(args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    tracing::info!(
        bind = %listener.local_addr()?,
        workers = config.engine.arbiters,
        keys = !config.http.keys.is_open(),
        durability = ?args.durability,
        data_dir = %args.data_dir.display(),
        "holdfast starting"
    );
    holdfast::server::run(config, listener, holdfast::http::shutdown::signal())?;
    Ok(())
}
