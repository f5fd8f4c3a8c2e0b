//! `ringfence report`: renders a recorded run again.

use std::path::PathBuf;

use anyhow::anyhow;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Md,
    Html,
    Json,
}

/// Render a recorded run's report from its journal to standard output.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// A run directory (containing events.jsonl) or a journal file
    #[arg(value_name = "RUN")]
    run: PathBuf,
    #[arg(long, value_enum, default_value = "md")]
    format: Format,
}

pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let path = super::journal_path(&args.run);
    let verified = journal::read(&path)?.map_err(|e| {
        anyhow!("{}: {e}; the journal was altered, so no report is rendered from it", path.display())
    })?;
    let report = report::RunReport::from_journal(&verified);
    let text = match args.format {
        Format::Md => report::render_markdown(&report),
        Format::Html => report::render_html(&report),
        Format::Json => report::render_json(&report),
    };
    print!("{text}");
    Ok(0)
}
