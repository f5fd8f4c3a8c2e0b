//! The JSON block the inline script builds its tables from: rows as arrays rather than objects,
//! since a 20,000-event run would otherwise repeat every key 20,000 times.

use serde_json::{Value, json};

use crate::model::{Process, RunReport};
use crate::text::{argv_line, exit_words};

pub fn script_data(r: &RunReport) -> String {
    let processes: Vec<Value> = r.processes.iter().map(process_row).collect();
    let events: Vec<Value> = r
        .events
        .iter()
        .map(|e| json!([e.seq, e.offset_ms, e.kind, e.pid, e.process, e.summary, e.violation]))
        .collect();
    let data = json!({ "processes": processes, "events": events });
    crate::escape::script_json(&data.to_string())
}

/// `[id, pid, vpid, parent, exe, argv[1..] as a line, exit text, exit ok, offset ms, children,
/// violations, flags]`; see report.js for the reader.
fn process_row(p: &Process) -> Value {
    let exit = p.exit.as_ref().map_or_else(|| "no exit seen".to_string(), |x| exit_words(x.code, x.signal));
    let ok = p.exit.as_ref().is_some_and(|x| x.code == Some(0));
    let mut flags = Vec::new();
    if p.image_inherited {
        flags.push("forked, no exec");
    }
    if p.orphaned {
        flags.push("outlived its parent");
    }
    if p.argv_truncated {
        flags.push("argv truncated");
    }
    json!([
        p.id,
        p.pid,
        p.vpid,
        p.parent,
        p.exe,
        argv_line(p.argv.get(1..).unwrap_or_default()),
        exit,
        ok,
        p.offset_ms,
        p.children.len(),
        p.violations,
        flags.join(", ")
    ])
}
