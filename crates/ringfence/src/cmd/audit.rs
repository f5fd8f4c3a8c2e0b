//! `ringfence audit`: wiring only; the rules live in the `audit` crate.

#[derive(clap::Args)]
pub struct AuditArgs {}

pub fn run(_args: AuditArgs) -> anyhow::Result<u8> {
    anyhow::bail!("ringfence audit is not built yet")
}
