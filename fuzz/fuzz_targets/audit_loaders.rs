//! Hostile input to every loader and the whole rule pipeline: nothing may panic, whatever the
//! bytes. The first byte picks the file kind so one corpus exercises all of them.
#![no_main]

use audit::{Config, FileKind, SourceFile, audit_files};
use libfuzzer_sys::fuzz_target;

const KINDS: [FileKind; 6] = [
    FileKind::Workflow,
    FileKind::CopilotSetup,
    FileKind::Action,
    FileKind::ClaudeSettings,
    FileKind::Mcp,
    FileKind::Policy,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = KINDS[usize::from(first) % KINDS.len()];
    let _ = gha_expr::parse(text);
    let _ = Config::parse("fuzz.yml", text);
    if let Ok(file) = SourceFile::parse("fuzz.yml".into(), text.to_string(), kind) {
        let report = audit_files(vec![file], &Config::default());
        let _ = audit::render::text(&report);
        let _ = audit::render::sarif(&report);
    }
});
