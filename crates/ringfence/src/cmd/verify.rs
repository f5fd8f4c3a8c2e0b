//! `ringfence verify`: checks a run's journal chain, and that it is the journal ringfence wrote.

use std::path::PathBuf;

use journal::anchor::{self, Anchor};
use journal::{Event, Verified};

/// Check that a run's journal is intact: every line's hash, the chain, the sequence, and that it
/// ends with run.end; and that it is the journal ringfence wrote: its chain head must match the
/// anchor ringfence keeps in its state directory (`/var/lib/ringfence/anchors`, or
/// $RINGFENCE_STATE_DIR) when there is one, and the head given with --head.
///
/// Exit status: 0 intact and complete; 1 tampered (a line edited, dropped, inserted or reordered,
/// or the journal is not the one ringfence anchored or published); 3 intact but cut short (no
/// run.end: the run was killed, or the tail was removed); 4 cut short by a write error (the file
/// system was full or failed: the journal says so itself, or ends in a half-written line).
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A run directory (containing events.jsonl) or a journal file
    #[arg(value_name = "RUN")]
    run: PathBuf,
    /// The chain head ringfence printed at the end of the run ("chain head …"): the journal's
    /// must be this one
    #[arg(long, value_name = "HASH")]
    head: Option<String>,
}

pub const TAMPERED: u8 = 1;
pub const INCOMPLETE: u8 = 3;
pub const WRITE_ERROR: u8 = 4;

pub fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    let path = super::journal_path(&args.run);
    let verified = match journal::read(&path)? {
        Ok(verified) => verified,
        Err(e) => {
            println!("{}: TAMPERED: {e}", path.display());
            return Ok(TAMPERED);
        }
    };
    if let Some(head) = &args.head
        && !head.trim().eq_ignore_ascii_case(&verified.head)
    {
        println!(
            "{}: TAMPERED: the chain head is {}, not {} as given with --head: this is not the journal that run wrote",
            path.display(),
            verified.head,
            head.trim()
        );
        return Ok(TAMPERED);
    }
    let dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let anchored = match check_anchor(&verified, &dir) {
        Ok(anchored) => anchored,
        Err(why) => {
            println!("{}: TAMPERED: {why}", path.display());
            return Ok(TAMPERED);
        }
    };
    let checked = match (&anchored, &args.head) {
        (Some(note), _) => note.clone(),
        (None, Some(_)) => "matches the head given with --head".to_string(),
        (None, None) => format!(
            "no anchor for this run in {}: the chain shows no line was changed, not who wrote it; \
             compare with the head ringfence printed (--head)",
            anchor::anchors_dir().display()
        ),
    };
    let events = verified.records.len();
    if let Some(cut) = &verified.cut_short {
        println!("{}: chain intact but {cut}; {events} events; {checked}", path.display());
        return Ok(WRITE_ERROR);
    }
    if !verified.complete {
        println!(
            "{}: chain intact but INCOMPLETE: {events} events and no run.end: the run was cut short or the journal's tail was removed; {checked}",
            path.display()
        );
        return Ok(INCOMPLETE);
    }
    println!("{}: intact: {events} events, chain head {}; {checked}", path.display(), verified.head);
    Ok(0)
}

/// Compares the journal with the anchor of its run (by the run id it names) or of its directory
/// (by the path ringfence created it at). `Ok(None)`: no anchor; `Ok(Some(note))`: it matches;
/// `Err(why)`: it does not.
fn check_anchor(verified: &Verified, dir: &std::path::Path) -> Result<Option<String>, String> {
    let run_id = verified.records.iter().find_map(|r| match &r.event {
        Event::RunStart(s) => Some(s.run_id.clone()),
        _ => None,
    });
    let by_id = match &run_id {
        Some(id) => anchor::load(id).map_err(|e| e.to_string())?,
        None => None,
    };
    let by_dir = anchor::find_by_dir(dir).map_err(|e| e.to_string())?;
    if let Some(other) = by_dir.as_ref().filter(|a| Some(&a.run_id) != run_id.as_ref()) {
        return Err(format!(
            "ringfence wrote run {} in this directory, but this journal names {}: it was replaced",
            other.run_id,
            run_id.as_deref().unwrap_or("no run")
        ));
    }
    let Some(anchor) = by_id.or(by_dir) else { return Ok(None) };
    compare(verified, &anchor).map(Some)
}

fn compare(verified: &Verified, anchor: &Anchor) -> Result<String, String> {
    let place = anchor::path_of(&anchor.run_id).map(|p| p.display().to_string()).unwrap_or_default();
    if !anchor.closed {
        // The run never closed its journal (ringfence was killed): no final head to compare with.
        return Ok(format!(
            "the anchor {place} was never closed (ringfence did not finish the run), so the head could not be checked"
        ));
    }
    if anchor.head != verified.head || anchor.len != verified.len {
        return Err(format!(
            "the journal has {} lines ending in {}, but ringfence anchored {} lines ending in {} ({place}): it was rewritten",
            verified.len, verified.head, anchor.len, anchor.head
        ));
    }
    Ok(format!("matches the chain head ringfence anchored in {place}"))
}
