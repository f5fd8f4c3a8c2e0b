//! The journal's reserve on a real full file system: a tmpfs of 4 MiB mounted for the test (root
//! only; skipped with a reason otherwise, failed under RINGFENCE_REQUIRE_PRIVILEGED=1).

use journal::{CutShort, Event, GroupWriter, ProcessExit, RunEnd, RunStatus};

#[test]
fn a_full_file_system_cuts_the_journal_short_with_its_reason_and_run_end() {
    if !nix::unistd::Uid::effective().is_root() {
        assert_ne!(
            std::env::var("RINGFENCE_REQUIRE_PRIVILEGED").as_deref(),
            Ok("1"),
            "needs root to mount a tmpfs"
        );
        eprintln!("SKIPPED: needs root to mount a tmpfs");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        dir.path(),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=4m"),
    )
    .unwrap();
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _unmount = Unmount(dir.path());
    let path = dir.path().join("events.jsonl");
    let w = GroupWriter::create(&path).unwrap();
    // Someone else fills what is left.
    let fill = std::fs::write(dir.path().join("fill"), vec![0u8; 8 << 20]);
    assert!(fill.is_err(), "the file system is full");
    let exit = |pid| Event::ProcessExit(ProcessExit { pid, code: Some(0), signal: None });
    for pid in 0..20_000 {
        w.append(exit(pid));
    }
    assert!(w.flush(std::time::Duration::from_secs(20)));
    assert!(w.write_error().is_some_and(|e| e.contains("No space left")), "{:?}", w.write_error());
    w.append(exit(99_999));
    w.append(Event::RunEnd(RunEnd {
        status: RunStatus::Failed,
        cmd_code: Some(0),
        cmd_signal: None,
        exit_code: 125,
        duration_ms: 1,
        violations: 0,
        lost_events: 0,
        reason: Some("disk full".into()),
    }));
    let written = w.finish().unwrap();
    let read = journal::read(&path).unwrap().unwrap();
    assert_eq!(written.head, read.head);
    assert!(read.complete, "run.end made it into the reserve");
    let Some(CutShort::WriteError { lost, .. }) = read.cut_short else { panic!("{:?}", read.cut_short) };
    let exits = read.records.iter().filter(|r| matches!(r.event, Event::ProcessExit(_))).count() as u64;
    assert_eq!(exits + lost, 20_001, "every event is either in the journal or counted as lost");
    assert!(exits > 1000, "ordinary records used the space before the reserve ({exits})");
}

#[test]
fn a_closed_journal_gives_its_reserve_back() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let w = GroupWriter::create(&path).unwrap();
    w.append(Event::ProcessExit(ProcessExit { pid: 1, code: Some(0), signal: None }));
    let open = std::fs::metadata(&path).unwrap().blocks() * 512;
    w.finish().unwrap();
    let closed = std::fs::metadata(&path).unwrap();
    assert!(
        closed.blocks() * 512 <= closed.len().max(64 * 1024),
        "{} bytes allocated for {}",
        closed.blocks() * 512,
        closed.len()
    );
    eprintln!(
        "allocated while open: {open} bytes; closed: {} for {} bytes of journal",
        closed.blocks() * 512,
        closed.len()
    );
}
