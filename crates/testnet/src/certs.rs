//! The test CA and its leaf certificates, made with openssl so they look like any real site's.

use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const EC: [&str; 5] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/// Makes `ca.pem`/`ca.key` and the default leaf `leaf.pem`/`leaf.key` in `dir`.
pub(crate) fn make_ca(dir: &Path) {
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &EC,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ringfence test CA"],
        ]
        .concat(),
    );
    leaf(dir, "leaf", &["allowed.test", "other.test", "denied.test", "a.wild.test"]);
}

/// Issues `<stem>.pem`/`<stem>.key` from the test CA for `names` (host names or IP
/// addresses); returns (cert, key).
pub(crate) fn leaf(dir: &Path, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key, csr, ext) =
        (format!("{stem}.pem"), format!("{stem}.key"), format!("{stem}.csr"), format!("{stem}.cnf"));
    let subject = format!("/CN={}", names[0]);
    openssl(dir, &[&["req"][..], &EC, &["-keyout", &key, "-out", &csr, "-subj", &subject]].concat());
    let sans: Vec<String> = names
        .iter()
        .map(|n| if n.parse::<std::net::IpAddr>().is_ok() { format!("IP:{n}") } else { format!("DNS:{n}") })
        .collect();
    std::fs::write(dir.join(&ext), format!("subjectAltName={}\n", sans.join(","))).expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "1",
            "-extfile",
            &ext,
        ],
    );
    (dir.join(cert), dir.join(key))
}
