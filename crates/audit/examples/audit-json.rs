//! The audit alone, without the rest of ringfence: `audit-json audit [--list-rules] FILE…`
//! prints what `ringfence audit --no-config --format json FILE…` prints, so the corpus
//! evaluation (`bench/audit/eval.py`) can run from a build of this crate only.

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "audit").collect();
    if args.iter().any(|a| a == "--list-rules") {
        for rule in audit::rules::ALL {
            let m = rule.meta();
            println!("{:<28} {:<13} {}", m.id, m.category.as_str(), m.summary);
        }
        return;
    }
    let mut paths = Vec::new();
    let mut skip = false;
    for a in &args {
        if skip {
            skip = false;
        } else if a == "--format" {
            skip = true;
        } else if !a.starts_with("--") {
            paths.push(PathBuf::from(a));
        }
    }
    let report = audit::audit_paths(&paths, &audit::Config::default());
    print!("{}", audit::render::json(&report));
}
