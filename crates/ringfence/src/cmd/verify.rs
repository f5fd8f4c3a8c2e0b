//! `ringfence verify`: checks a run's journal chain.

use std::path::PathBuf;

/// Check that a run's journal is intact: every line's hash, the chain, the sequence, and that it
/// ends with run.end. Exit status 0 intact and complete, 1 tampered (a line edited, dropped,
/// inserted or reordered), 3 intact but cut short (no run.end).
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A run directory (containing events.jsonl) or a journal file
    #[arg(value_name = "RUN")]
    run: PathBuf,
}

pub const TAMPERED: u8 = 1;
pub const INCOMPLETE: u8 = 3;

pub fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    let path = super::journal_path(&args.run);
    match journal::read(&path)? {
        Ok(verified) if verified.complete => {
            println!(
                "{}: intact: {} events, chain head {}",
                path.display(),
                verified.records.len(),
                verified.head
            );
            Ok(0)
        }
        Ok(verified) => {
            println!(
                "{}: chain intact but INCOMPLETE: {} events and no run.end: the run was cut short or the journal's tail was removed",
                path.display(),
                verified.records.len()
            );
            Ok(INCOMPLETE)
        }
        Err(e) => {
            println!("{}: TAMPERED: {e}", path.display());
            Ok(TAMPERED)
        }
    }
}
