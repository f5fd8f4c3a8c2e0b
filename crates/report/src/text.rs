//! Words and numbers as every renderer writes them, so md and html agree.

use crate::model::Status;

/// `1997` → `1,997`: counts in reports are read by people.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn status_words(status: Status) -> &'static str {
    match status {
        Status::Completed => "completed",
        Status::WallLimit => "wall-clock limit reached",
        Status::Interrupted => "interrupted",
        Status::Failed => "ringfence failed",
        Status::NotStarted => "command not started",
        Status::Incomplete => "incomplete",
    }
}

/// `exit 0`, `killed by SIGKILL`, or `running` when neither is known.
pub fn exit_words(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (_, Some(sig)) => format!("killed by {}", signal_name(sig)),
        (Some(code), None) => format!("exit {code}"),
        (None, None) => "no exit status".into(),
    }
}

pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        31 => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// An argv as one line a person can read and paste into a shell: arguments with spaces or shell
/// metacharacters are single-quoted, and control characters are shown as escapes so that a
/// hostile argv cannot forge extra lines in a report.
pub fn argv_line(argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|a| shell_word(a)).collect();
    words.join(" ")
}

fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        return arg.to_string();
    }
    let mut out = String::from("'");
    for c in arg.chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => {
            let cut = text[..at].char_indices().nth(max.saturating_sub(1)).map_or(at, |(i, _)| i);
            format!("{}…", &text[..cut])
        }
        None => text.to_string(),
    }
}

/// `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub fn duration(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Offset from the start of the run: `+1.234s`.
pub fn offset(ms: Option<u64>) -> String {
    match ms {
        Some(ms) => format!("+{}.{:03}s", ms / 1000, ms % 1000),
        None => "?".into(),
    }
}

/// `path` relative to `root` when it lies strictly under it.
pub fn relative(path: &str, root: &str) -> Option<String> {
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return None;
    }
    let rest = path.strip_prefix(root)?.strip_prefix('/')?;
    (!rest.is_empty()).then(|| rest.to_string())
}

/// `0 B`, `812 B`, `3.1 KiB`, `20.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `$0.31`, `$10.00`, `$1,204.50`: dollars to the cent; `<$0.01` for a price that is not zero.
/// What a changed path was at the end of the run, in words (`now 1.2 KiB`, `a directory`), when
/// its operations do not already say it (a deleted path is gone, of course).
pub fn at_end(c: &crate::model::FileChange) -> Option<String> {
    use crate::model::FileOp;
    let ended_away = c.ops.last().is_some_and(|run| matches!(run.op, FileOp::Delete | FileOp::Rename));
    match (c.at_end.as_deref()?, c.size) {
        ("file", Some(size)) => Some(format!("now {}", bytes(size))),
        ("gone", _) if ended_away => None,
        ("gone", _) => Some("gone at the end".into()),
        ("dir", _) => Some("a directory".into()),
        ("symlink", _) => Some("a symlink".into()),
        _ => Some("not a regular file".into()),
    }
}

pub fn usd(dollars: f64) -> String {
    let cents = (dollars.max(0.0) * 100.0).round() as u64;
    if cents == 0 && dollars > 0.0 {
        return "<$0.01".into();
    }
    format!("${}.{:02}", thousands(cents / 100), cents % 100)
}

/// `41,230 tokens, $0.31 of $10.00 cap`: each figure followed by its cap when there is one.
pub fn spend_line(tokens: u64, dollars: f64, max_tokens: Option<u64>, max_usd: Option<f64>) -> String {
    let tokens = match max_tokens {
        Some(max) => format!("{} of {} tokens", thousands(tokens), thousands(max)),
        None => format!("{} tokens", thousands(tokens)),
    };
    let dollars = match max_usd {
        Some(max) => format!("{} of {} cap", usd(dollars), usd(max)),
        None => usd(dollars),
    };
    format!("{tokens}, {dollars}")
}

/// A host as a URL shows it: the port only when it is not 443.
/// Where a kernel-seen attempt was going: `198.51.100.7:9999`, `[2001:db8::1]:443`, or `—` for
/// a socket refused before it had a destination.
pub fn attempt_destination(ip: &str, port: u16) -> String {
    match ip {
        "" => "—".into(),
        // A Unix socket's path (`unix-*` protocols), which has no port.
        path if path.parse::<std::net::IpAddr>().is_err() => path.into(),
        ip if ip.contains(':') => format!("[{ip}]:{port}"),
        ip => format!("{ip}:{port}"),
    }
}

pub fn host_port(host: &str, port: u16) -> String {
    if port == 443 { host.to_string() } else { format!("{host}:{port}") }
}

/// `3× 2xx, 1× 4xx`.
pub fn status_classes(s: &crate::model::StatusClasses) -> String {
    let classes = [
        ("1xx", s.informational),
        ("2xx", s.success),
        ("3xx", s.redirect),
        ("4xx", s.client_error),
        ("5xx", s.server_error),
        ("no status", s.none),
    ];
    let parts: Vec<String> = classes
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(class, n)| format!("{}× {class}", thousands(*n)))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_destinations_read_as_addresses() {
        assert_eq!(attempt_destination("198.51.100.7", 9999), "198.51.100.7:9999");
        assert_eq!(attempt_destination("2001:db8::1", 443), "[2001:db8::1]:443");
        assert_eq!(attempt_destination("", 0), "—", "a socket refused before it had a destination");
        assert_eq!(attempt_destination("/run/dbus/system_bus_socket", 0), "/run/dbus/system_bus_socket");
        assert_eq!(attempt_destination("h.sock", 0), "h.sock");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1997), "1,997");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn argv_line_quotes_and_escapes() {
        let argv = ["sh", "-c", "echo 'hi' | cat\nrm -rf /", ""].map(String::from);
        assert_eq!(argv_line(&argv), r"sh -c 'echo '\''hi'\'' | cat\nrm -rf /' ''");
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo wörld", 5), "héll…");
        assert_eq!(truncate("short", 5), "short");
    }

    #[test]
    fn relative_paths_stay_under_the_root() {
        assert_eq!(relative("/w/app/src/a.rs", "/w/app").as_deref(), Some("src/a.rs"));
        assert_eq!(relative("/w/app/src/a.rs", "/w/app/").as_deref(), Some("src/a.rs"));
        assert_eq!(relative("/w/application/x", "/w/app"), None);
        assert_eq!(relative("/w/app", "/w/app"), None);
        assert_eq!(relative("/etc/passwd", ""), None);
    }

    #[test]
    fn bytes_read_naturally() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(3_200), "3.1 KiB");
        assert_eq!(bytes(20 * 1024 * 1024), "20.0 MiB");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.3 s");
        assert_eq!(duration(245_000), "4 min 05 s");
        assert_eq!(offset(Some(1234)), "+1.234s");
    }

    #[test]
    fn money_reads_naturally() {
        assert_eq!(usd(0.306), "$0.31");
        assert_eq!(usd(10.0), "$10.00");
        assert_eq!(usd(0.0004), "<$0.01");
        assert_eq!(usd(1204.5), "$1,204.50");
        assert_eq!(spend_line(41_230, 0.31, None, Some(10.0)), "41,230 tokens, $0.31 of $10.00 cap");
        assert_eq!(host_port("exfil.test", 443), "exfil.test");
        assert_eq!(host_port("localhost", 8080), "localhost:8080");
    }
}
