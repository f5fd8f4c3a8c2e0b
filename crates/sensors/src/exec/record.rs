//! Decoding the records the BPF side writes (layouts in `src/bpf/exec.bpf.c`) into journal events.
//!
//! Records are in the host's byte order and packed as the C structs are; every length inside a
//! record is checked against the record's size, so a malformed record is an error, never a panic.

use journal::{Event, ProcessExec, ProcessExit, ProcessFork};

const EVENT_EXEC: u32 = 1;
const EVENT_FORK: u32 = 2;
const EVENT_EXIT: u32 = 3;

const FLAG_ARGV_TRUNCATED: u16 = 1;
const FLAG_ARGV_UNREADABLE: u16 = 2;
const FLAG_CWD_TRUNCATED: u16 = 4;

/// `struct exec_event` up to its `data` array.
const EXEC_HEADER: usize = 28;

/// Shown before a cwd whose top the kernel side had to cut (deeper than it walks).
pub(crate) const CWD_CUT_MARK: &str = "...";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record of {len} bytes is too short for its kind {kind}")]
    Short { kind: u32, len: usize },
    #[error("record of unknown kind {0}")]
    UnknownKind(u32),
}

/// One ring-buffer record as a journal event.
pub fn decode(record: &[u8]) -> Result<Event, RecordError> {
    let kind = u32_at(record, 0).ok_or(RecordError::Short { kind: 0, len: record.len() })?;
    let short = || RecordError::Short { kind, len: record.len() };
    match kind {
        EVENT_EXEC => decode_exec(record).ok_or_else(short),
        EVENT_FORK => {
            let (pid, ppid) = u32_at(record, 4).zip(u32_at(record, 8)).ok_or_else(short)?;
            Ok(Event::ProcessFork(ProcessFork { pid, ppid }))
        }
        EVENT_EXIT => {
            let (pid, status) = u32_at(record, 4).zip(u32_at(record, 8)).ok_or_else(short)?;
            let (code, signal) = decode_wait_status(status);
            Ok(Event::ProcessExit(ProcessExit { pid, code, signal }))
        }
        other => Err(RecordError::UnknownKind(other)),
    }
}

fn decode_exec(record: &[u8]) -> Option<Event> {
    let argv_len = usize::from(u16_at(record, 20)?);
    let exe_len = usize::from(u16_at(record, 22)?);
    let cwd_len = usize::from(u16_at(record, 24)?);
    let flags = u16_at(record, 26)?;
    let data = record.get(EXEC_HEADER..)?;
    let argv = data.get(..argv_len)?;
    let exe = data.get(argv_len..argv_len + exe_len)?;
    let cwd = data.get(argv_len + exe_len..argv_len + exe_len + cwd_len)?;

    let mut cwd = String::from_utf8_lossy(cwd).into_owned();
    if flags & FLAG_CWD_TRUNCATED != 0 {
        cwd.insert_str(0, CWD_CUT_MARK);
    }
    Some(Event::ProcessExec(ProcessExec {
        pid: u32_at(record, 4)?,
        vpid: Some(u32_at(record, 8)?).filter(|&vpid| vpid != 0),
        ppid: u32_at(record, 12)?,
        uid: u32_at(record, 16)?,
        exe: String::from_utf8_lossy(exe).into_owned(),
        argv: split_argv(argv),
        // An argv the kernel could not read is missing entirely, which is the most a tail can miss.
        argv_truncated: flags & (FLAG_ARGV_TRUNCATED | FLAG_ARGV_UNREADABLE) != 0,
        cwd,
    }))
}

/// The arguments in the NUL-separated argv area of a process (`mm->arg_start..arg_end`).
///
/// Each argument ends with a NUL; a cut area ends inside its last argument, which is kept as far
/// as it goes. Empty arguments stay, since `cmd "" x` differs from `cmd x`.
pub fn split_argv(area: &[u8]) -> Vec<String> {
    if area.is_empty() {
        return Vec::new();
    }
    let area = area.strip_suffix(b"\0").unwrap_or(area);
    area.split(|&b| b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect()
}

/// A raw wait(2) status as (exit code, signal): exactly one is set.
pub fn decode_wait_status(status: u32) -> (Option<i32>, Option<i32>) {
    // WTERMSIG is the low 7 bits (bit 7 flags a core dump); zero there means a normal exit,
    // with WEXITSTATUS in bits 8..15.
    let signal = status & 0x7f;
    if signal == 0 { (Some(((status >> 8) & 0xff) as i32), None) } else { (None, Some(signal as i32)) }
}

fn u32_at(record: &[u8], offset: usize) -> Option<u32> {
    let bytes = record.get(offset..offset + 4)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn u16_at(record: &[u8], offset: usize) -> Option<u16> {
    let bytes = record.get(offset..offset + 2)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_record(ids: [u32; 4], argv: &[u8], exe: &[u8], cwd: &[u8], flags: u16) -> Vec<u8> {
        let mut record = EVENT_EXEC.to_ne_bytes().to_vec();
        for id in ids {
            record.extend(id.to_ne_bytes());
        }
        for len in [argv.len(), exe.len(), cwd.len()] {
            record.extend(u16::try_from(len).unwrap().to_ne_bytes());
        }
        record.extend(flags.to_ne_bytes());
        assert_eq!(record.len(), EXEC_HEADER);
        record.extend([argv, exe, cwd].concat());
        record
    }

    #[test]
    fn splits_argv() {
        assert_eq!(split_argv(b"sh\0-c\0echo hi\0"), ["sh", "-c", "echo hi"]);
    }

    #[test]
    fn keeps_empty_arguments() {
        assert_eq!(split_argv(b"printf\0\0x\0"), ["printf", "", "x"]);
        assert_eq!(split_argv(b"\0"), [""]);
    }

    #[test]
    fn keeps_the_cut_last_argument() {
        assert_eq!(split_argv(b"echo\0abc"), ["echo", "abc"]);
    }

    #[test]
    fn empty_area_is_no_arguments() {
        assert!(split_argv(b"").is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        assert_eq!(split_argv(b"cat\0\xff.txt\0"), ["cat", "\u{fffd}.txt"]);
    }

    #[test]
    fn decodes_exit_codes_and_signals() {
        assert_eq!(decode_wait_status(0), (Some(0), None));
        assert_eq!(decode_wait_status(3 << 8), (Some(3), None));
        assert_eq!(decode_wait_status(255 << 8), (Some(255), None));
        assert_eq!(decode_wait_status(9), (None, Some(9)));
        // SIGSEGV with a core dump.
        assert_eq!(decode_wait_status(0x80 | 11), (None, Some(11)));
    }

    #[test]
    fn decodes_an_exec() {
        let record = exec_record([100, 7, 99, 1000], b"ls\0-l\0", b"/bin/ls", b"/home/me", 0);
        assert_eq!(
            decode(&record),
            Ok(Event::ProcessExec(ProcessExec {
                pid: 100,
                vpid: Some(7),
                ppid: 99,
                uid: 1000,
                exe: "/bin/ls".into(),
                argv: vec!["ls".into(), "-l".into()],
                argv_truncated: false,
                cwd: "/home/me".into(),
            }))
        );
    }

    #[test]
    fn flags_cut_argv_and_cwd() {
        let flags = FLAG_ARGV_TRUNCATED | FLAG_CWD_TRUNCATED;
        let record = exec_record([1, 1, 0, 0], b"x\0yy", b"/x", b"/deep/dir", flags);
        let Ok(Event::ProcessExec(exec)) = decode(&record) else { panic!("not an exec") };
        assert!(exec.argv_truncated);
        assert_eq!(exec.argv, ["x", "yy"]);
        assert_eq!(exec.cwd, ".../deep/dir");
    }

    #[test]
    fn unreadable_argv_counts_as_cut() {
        let record = exec_record([1, 1, 0, 0], b"", b"/x", b"/", FLAG_ARGV_UNREADABLE);
        let Ok(Event::ProcessExec(exec)) = decode(&record) else { panic!("not an exec") };
        assert!(exec.argv.is_empty());
        assert!(exec.argv_truncated);
    }

    #[test]
    fn decodes_fork_and_exit() {
        let fork = [EVENT_FORK, 12, 11].map(u32::to_ne_bytes).concat();
        assert_eq!(decode(&fork), Ok(Event::ProcessFork(ProcessFork { pid: 12, ppid: 11 })));
        let exit = [EVENT_EXIT, 12, 9].map(u32::to_ne_bytes).concat();
        assert_eq!(
            decode(&exit),
            Ok(Event::ProcessExit(ProcessExit { pid: 12, code: None, signal: Some(9) }))
        );
    }

    #[test]
    fn rejects_malformed_records() {
        assert_eq!(decode(&[1, 0]), Err(RecordError::Short { kind: 0, len: 2 }));
        let fork = [EVENT_FORK, 12].map(u32::to_ne_bytes).concat();
        assert_eq!(decode(&fork), Err(RecordError::Short { kind: EVENT_FORK, len: 8 }));
        let mut exec = exec_record([1, 1, 0, 0], b"a\0", b"/a", b"/", 0);
        exec.pop();
        assert!(matches!(decode(&exec), Err(RecordError::Short { kind: EVENT_EXEC, .. })));
        assert_eq!(decode(&7u32.to_ne_bytes()), Err(RecordError::UnknownKind(7)));
    }
}
