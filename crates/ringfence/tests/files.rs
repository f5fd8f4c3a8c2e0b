//! Files: writes confined to the workspace (Landlock), protected paths read-only even inside it,
//! credential paths masked. Block mode refuses; audit mode lets the same attempts through.

mod support;

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;

use support::privileged;

const AGENT: u32 = 65534;

struct Setup {
    _root: tempfile::TempDir,
    workspace: PathBuf,
    home: PathBuf,
    outside: PathBuf,
}

/// A workspace owned by the agent's uid (so only the fence, not permissions, stands in the way),
/// a home with world-readable planted credentials, and a world-writable directory outside both.
fn setup() -> Setup {
    let root = support::scratch();
    let workspace = root.path().join("ws");
    let home = root.path().join("home");
    let outside = root.path().join("outside");
    for dir in [".git/hooks", ".github/workflows", "src"] {
        std::fs::create_dir_all(workspace.join(dir)).unwrap();
    }
    std::fs::write(workspace.join(".github/workflows/ci.yml"), "on: push\n").unwrap();
    for (file, text) in
        [(".ssh/id_rsa", "PRIVATE KEY"), (".aws/credentials", "aws_secret"), (".bashrc", "# rc\n")]
    {
        std::fs::create_dir_all(home.join(file).parent().unwrap()).unwrap();
        std::fs::write(home.join(file), text).unwrap();
    }
    std::fs::create_dir_all(&outside).unwrap();
    for entry in walk(&workspace).into_iter().chain(walk(&home)).chain([outside.clone()]) {
        chown(&entry, Some(AGENT), Some(AGENT)).unwrap();
        let mode = if entry.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    Setup { _root: root, workspace, home, outside }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() { out.extend(walk(&entry.path())) } else { out.push(entry.path()) }
    }
    out
}

/// Each line is `NAME ok` when the attempt succeeded, `NAME refused` when it failed.
fn attempts(s: &Setup) -> String {
    let (home, outside) = (s.home.display(), s.outside.display());
    format!(
        r#"t() {{ name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name refused"; fi; }}
t read-key cat {home}/.ssh/id_rsa
t read-aws cat {home}/.aws/credentials
ln -s {home}/.ssh/id_rsa /tmp/link 2>/dev/null; t read-via-symlink cat /tmp/link
t hard-link ln {home}/.ssh/id_rsa /tmp/hard
t rename-key mv {home}/.ssh/id_rsa {home}/stolen
t read-via-proc-root cat /proc/self/root{home}/.ssh/id_rsa
t write-hook sh -c 'echo evil > .git/hooks/pre-commit'
t write-workflow sh -c 'echo evil > .github/workflows/x.yml'
t edit-workflow sh -c 'echo evil >> .github/workflows/ci.yml'
t remove-workflows rm -rf .github/workflows
t write-bashrc sh -c 'echo evil >> {home}/.bashrc'
t write-outside sh -c 'echo x > {outside}/dropped'
t write-source sh -c 'echo "fn main() {{}}" > src/main.rs'
t write-tmp sh -c 'echo x > /tmp/scratch'
t write-claude-md sh -c 'echo evil > CLAUDE.md'
t write-mcp sh -c 'echo {{}} > .mcp.json'
t write-claude-settings sh -c 'mkdir -p .claude && echo x > .claude/settings.json'
t write-action sh -c 'mkdir -p .github/actions/x && echo x > .github/actions/x/action.yml'
t move-git-aside mv .git .git-old
t move-github-aside mv .github .github-old
"#
    )
}

fn run(s: &Setup, mode: &str) -> (String, support::Run) {
    run_script(s, mode, &format!("out-{mode}"), &attempts(s))
}

/// Runs `script` with `sh -c` under `ringfence run --mode MODE` in the workspace, the run
/// directory beside it; returns what the script printed and the run.
fn run_script(s: &Setup, mode: &str, out_name: &str, script: &str) -> (String, support::Run) {
    let out_dir = s.workspace.parent().unwrap().join(out_name);
    let output = Command::new(support::binary())
        .current_dir(&s.workspace)
        .env("HOME", &s.home)
        .args(["run", "--mode", mode, "--out"])
        .arg(&out_dir)
        .args(["--", "/bin/sh", "-c", script])
        .output()
        .unwrap();
    let records = journal::read(&out_dir.join("events.jsonl")).unwrap().unwrap().records;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    (text, support::Run { output, out_dir, records })
}

fn outcome<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(name).map(str::trim)).unwrap_or("missing")
}

#[test]
fn block_mode_confines_writes_and_hides_credentials() {
    if !privileged("block_mode_confines_writes_and_hides_credentials") {
        return;
    }
    let s = setup();
    let (text, r) = run(&s, "block");
    assert_eq!(r.run_start().uid, AGENT, "{}", r.stderr());
    for refused in [
        "read-key",
        "read-aws",
        "read-via-symlink",
        "hard-link",
        "rename-key",
        "read-via-proc-root",
        "write-hook",
        "write-workflow",
        "edit-workflow",
        "remove-workflows",
        "write-bashrc",
        "write-outside",
        "write-claude-md",
        "write-mcp",
        "write-claude-settings",
        "write-action",
        "move-git-aside",
        "move-github-aside",
    ] {
        assert_eq!(
            outcome(&text, refused),
            "refused",
            "{refused} must be refused in block mode:\n{text}\n{}",
            r.stderr()
        );
    }
    for allowed in ["write-source", "write-tmp"] {
        assert_eq!(outcome(&text, allowed), "ok", "{allowed} must work in block mode:\n{text}");
    }
    assert_eq!(std::fs::read_to_string(s.home.join(".ssh/id_rsa")).unwrap(), "PRIVATE KEY");
    assert!(!s.workspace.join(".git/hooks/pre-commit").exists());
    assert!(!s.outside.join("dropped").exists());
    assert!(s.workspace.join("src/main.rs").exists(), "the allowed edit reached the real workspace");
    // Once the agent is gone, the changed files' state is journaled for the diff summary's sizes.
    let source = s.workspace.join("src/main.rs").display().to_string();
    let at_end = r
        .events()
        .find_map(|e| if let journal::Event::FilesFinal(f) = e { Some(f) } else { None })
        .expect("files.final before run.end");
    let main_rs = at_end.files.iter().find(|f| f.path == source).unwrap_or_else(|| panic!("{at_end:#?}"));
    assert_eq!((main_rs.kind.as_str(), main_rs.size), ("file", Some("fn main() {}\n".len() as u64)));
    let files = r.run_start().fence.iter().find(|l| l.layer == "files").expect("files layer");
    assert!(files.active && files.detail.contains("Landlock ABI"), "{files:?}");
    assert!(files.detail.contains("placeholder") && files.detail.contains("CLAUDE.md"), "{files:?}");
    // The protected paths that did not exist were held by placeholders, gone after the run.
    for missing in ["CLAUDE.md", ".mcp.json", ".claude", ".github/actions", "AGENTS.md"] {
        assert!(!s.workspace.join(missing).exists(), "{missing} left behind");
    }
    assert!(s.workspace.join(".github/workflows/ci.yml").exists() && s.workspace.join(".git/hooks").is_dir());

    // Each refusal is journaled with the rule and the process that tried.
    let denied: Vec<&journal::FileDenied> = r
        .events()
        .filter_map(|e| if let journal::Event::FileDenied(d) = e { Some(d) } else { None })
        .collect();
    let hook = s.workspace.join(".git/hooks/pre-commit").display().to_string();
    let refusal =
        denied.iter().find(|d| d.path == hook).unwrap_or_else(|| panic!("hook write recorded: {denied:#?}"));
    assert_eq!(refusal.rule.as_deref(), Some("files.protected ${workspace}/.git/hooks"));
    let writer =
        r.execs().into_iter().find(|e| e.pid == refusal.pid.unwrap()).expect("the refused writer's exec");
    assert!(writer.argv.join(" ").contains(".git/hooks/pre-commit"), "attributed to the writer: {writer:?}");
    let key = s.home.join(".ssh/id_rsa").display().to_string();
    assert!(
        denied.iter().any(|d| d.path == key && d.rule.as_deref() == Some("files.deny_read ~/.ssh")),
        "{denied:#?}"
    );
    let claude_md = s.workspace.join("CLAUDE.md").display().to_string();
    assert!(
        denied.iter().any(|d| d.path == claude_md
            && d.errno == "EISDIR"
            && d.rule.as_deref() == Some("files.protected ${workspace}/CLAUDE.md")),
        "{denied:#?}"
    );
    let github = s.workspace.join(".github").display().to_string();
    assert!(
        denied.iter().any(|d| d.path == github
            && d.op == "rename"
            && d.rule.as_deref().is_some_and(|r| r.contains("moving or removing a directory that holds it"))),
        "{denied:#?}"
    );
    let dropped = s.outside.join("dropped").display().to_string();
    assert!(
        denied
            .iter()
            .any(|d| d.path == dropped && d.rule.as_deref().is_some_and(|r| r.starts_with("files.writable")))
    );
    assert_eq!(r.code(), 122, "refusals fail a block-mode run");
}

#[test]
fn audit_mode_lets_the_same_attempts_through() {
    if !privileged("audit_mode_lets_the_same_attempts_through") {
        return;
    }
    let s = setup();
    let (text, r) = run(&s, "audit");
    for allowed in [
        "read-key",
        "read-via-symlink",
        "write-hook",
        "write-workflow",
        "write-outside",
        "write-source",
        "write-claude-md",
        "move-github-aside",
    ] {
        assert_eq!(
            outcome(&text, allowed),
            "ok",
            "{allowed} goes through in audit mode:\n{text}\n{}",
            r.stderr()
        );
    }
    // Each flagged: the new protected file and the directory moved aside with one inside.
    let flagged: Vec<&journal::FileWrite> = r
        .events()
        .filter_map(|e| if let journal::Event::FileWrite(w) = e { Some(w) } else { None })
        .filter(|w| w.violation)
        .collect();
    let claude_md = s.workspace.join("CLAUDE.md").display().to_string();
    assert!(flagged.iter().any(|w| w.path == claude_md && w.op == journal::FileOp::Create), "{flagged:#?}");
    let github = s.workspace.join(".github").display().to_string();
    assert!(flagged.iter().any(|w| w.path == github && w.op == journal::FileOp::Rename), "{flagged:#?}");
}

#[test]
fn protected_symlinks_are_held_in_place_or_said_not_to_be() {
    if !privileged("protected_symlinks_are_held_in_place_or_said_not_to_be") {
        return;
    }
    // CLAUDE.md -> AGENTS.md, as many repositories have it: the target is mounted read-only on
    // the link itself, so the link can be neither written through nor removed and replaced.
    // .claude -> a directory: a mount cannot sit on a link to a directory; the target is
    // read-only, the link is said not held, and replacing it is a violation.
    let s = setup();
    let agents = s.workspace.join("AGENTS.md");
    let shared = s.workspace.join("claude-shared");
    std::fs::write(&agents, "be good\n").unwrap();
    std::fs::create_dir(&shared).unwrap();
    for path in [&agents, &shared] {
        chown(path, Some(AGENT), Some(AGENT)).unwrap();
        let mode = if path.is_dir() { 0o777 } else { 0o666 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    for (link, target) in [("CLAUDE.md", "AGENTS.md"), (".claude", "claude-shared")] {
        std::os::unix::fs::symlink(target, s.workspace.join(link)).unwrap();
        std::os::unix::fs::lchown(s.workspace.join(link), Some(AGENT), Some(AGENT)).unwrap();
    }
    let script = r#"t() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name refused"; fi; }
t read-through-link grep -q 'be good' CLAUDE.md
t write-target sh -c 'echo evil >> AGENTS.md'
t write-through-link sh -c 'echo evil >> CLAUDE.md'
t remove-link rm CLAUDE.md
t rename-link mv CLAUDE.md elsewhere.md
t write-into-dir-link sh -c 'echo x > .claude/settings.json'
t replace-dir-link sh -c 'rm .claude && mkdir .claude && echo x > .claude/settings.json'
"#;
    let (text, r) = run_script(&s, "block", "out-link", script);
    assert_eq!(outcome(&text, "read-through-link"), "ok", "{text}\n{}", r.stderr());
    for refused in ["write-target", "write-through-link", "remove-link", "rename-link", "write-into-dir-link"]
    {
        assert_eq!(outcome(&text, refused), "refused", "{refused}:\n{text}");
    }
    assert_eq!(outcome(&text, "replace-dir-link"), "ok", "the known gap this test pins down:\n{text}");
    assert!(std::fs::symlink_metadata(s.workspace.join("CLAUDE.md")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&agents).unwrap(), "be good\n");
    let files = r.run_start().fence.iter().find(|l| l.layer == "files").expect("files layer");
    let claude_dir = s.workspace.join(".claude").display().to_string();
    let claude_md = s.workspace.join("CLAUDE.md").display().to_string();
    let not_held = files.detail.split("NOT held in place").nth(1).unwrap_or_else(|| panic!("{files:?}"));
    assert!(not_held.contains(&claude_dir) && !not_held.contains(&claude_md), "{files:?}");
    let flagged: Vec<&journal::FileWrite> = r
        .events()
        .filter_map(|e| if let journal::Event::FileWrite(w) = e { Some(w) } else { None })
        .filter(|w| w.violation && w.path.starts_with(&claude_dir))
        .collect();
    assert!(flagged.iter().any(|w| w.op == journal::FileOp::Delete), "{flagged:#?}");
    assert!(flagged.iter().any(|w| w.op == journal::FileOp::Create), "{flagged:#?}");
    assert_eq!(r.code(), 122, "refusals and the violation fail the run: {}", r.stderr());
}

#[test]
fn a_directory_made_on_the_way_to_a_placeholder_stays_the_agents_to_use() {
    if !privileged("a_directory_made_on_the_way_to_a_placeholder_stays_the_agents_to_use") {
        return;
    }
    // No .github at all: ringfence makes .github/ to hold .github/workflows and .github/actions
    // for the run. The agent may still put other files in .github/, and they stay.
    let s = setup();
    std::fs::remove_dir_all(s.workspace.join(".github")).unwrap();
    let script = r#"t() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name ok"; else echo "$name refused"; fi; }
t write-dependabot sh -c 'echo "version: 2" > .github/dependabot.yml'
t write-workflow sh -c 'echo evil > .github/workflows/x.yml'
"#;
    let (text, r) = run_script(&s, "block", "out-github", script);
    let stderr = r.stderr();
    assert_eq!(outcome(&text, "write-dependabot"), "ok", "{text}\n{stderr}");
    assert_eq!(outcome(&text, "write-workflow"), "refused", "{text}");
    assert_eq!(std::fs::read_to_string(s.workspace.join(".github/dependabot.yml")).unwrap(), "version: 2\n");
    assert!(!s.workspace.join(".github/workflows").exists() && !s.workspace.join(".github/actions").exists());
    assert!(!stderr.contains("placeholder"), "no warning for a directory the agent now uses: {stderr}");
}
