//! The `ringfence` command line: argument parsing and wiring only. Every behaviour lives in the
//! crate named for it; each verb has one file under `cmd/`.

mod cmd;

use clap::{Parser, Subcommand};

/// ringfence runs AI coding agents in CI inside a fence the kernel enforces, records what they do
/// with the process that did it, and tells you plainly afterwards what happened.
#[derive(Parser)]
#[command(name = "ringfence", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Statically audit workflows and agent settings for agent-specific risks.
    Audit(cmd::audit::AuditArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Audit(args) => cmd::audit::run(args),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            eprintln!("ringfence: error: {err:#}");
            std::process::ExitCode::from(cmd::EXIT_RINGFENCE_FAILED)
        }
    }
}
