//! The `ringfence` command line: argument parsing and wiring only. Every behaviour lives in the
//! crate named for it; each verb has one file under `cmd/`.

mod cmd;
mod runner;

use clap::{Parser, Subcommand};

/// The sensors allocate an event per file change on one thread and the journal frees it on
/// another, tens of thousands a second; glibc's allocator spent a fifth of the file sensor's
/// time there (measured in bench/files). Built without its transparent huge pages, which cost a
/// fenced `/bin/true` more memory and start-up time than they saved (bench/startup).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// ringfence runs AI coding agents in CI inside a fence the kernel enforces, records what they do
/// with the process that did it, and tells you plainly afterwards what happened.
///
/// Start with `sudo ringfence run --demo`, then `sudo ringfence run -- YOUR-AGENT ARGS…`.
#[derive(Parser)]
#[command(name = "ringfence", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(cmd::run::RunArgs),
    /// Statically audit workflows and agent settings for agent-specific risks.
    Audit(cmd::audit::AuditArgs),
    Verify(cmd::verify::VerifyArgs),
    Report(cmd::report::ReportArgs),
    /// Decide whether this GitHub Actions run may start the agent, and count it against the budget.
    Gate(cmd::gate::GateArgs),
    /// Agent hooks: `hook claude` checks each Claude Code tool call against `tools:`.
    Hook(cmd::hook::HookArgs),
    Job(cmd::job::JobArgs),
}

fn main() -> std::process::ExitCode {
    // The fence's init is this same binary, started by the supervisor inside new namespaces.
    if std::env::args_os().nth(1).is_some_and(|a| a == sandbox::INIT_ARG) {
        sandbox::init::main();
    }
    reserve_fd_table();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::run::run(args),
        Command::Audit(args) => cmd::audit::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Gate(args) => cmd::gate::run(args),
        Command::Hook(args) => cmd::hook::run(args),
        Command::Job(args) => cmd::job::run(args),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            eprintln!("ringfence: error: {err:#}");
            std::process::ExitCode::from(cmd::EXIT_RINGFENCE_FAILED)
        }
    }
}

/// Grows the descriptor table to its final size while the process has one thread. A run holds a
/// few hundred descriptors (BPF maps, programs and links, sockets), and the kernel grows a table
/// shared by several threads only after an RCU grace period: started from a shell, whose small
/// table ringfence inherits (64 slots), each growth cost a run ~6 ms, measured. A single-threaded
/// process grows it without waiting.
fn reserve_fd_table() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit into the struct given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    let slots = limit.rlim_cur.min(1024) as libc::c_int;
    if slots <= 64 {
        return;
    }
    // SAFETY: opening "/" as an O_PATH descriptor, duplicating it at the table's last slot and
    // closing both again touches nothing but descriptors this function owns.
    unsafe {
        let probe = libc::open(c"/".as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
        if probe < 0 {
            return;
        }
        let last = libc::fcntl(probe, libc::F_DUPFD_CLOEXEC, slots - 1);
        if last >= 0 {
            libc::close(last);
        }
        libc::close(probe);
    }
}
