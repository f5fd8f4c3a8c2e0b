//! What can go wrong while setting the fence up. Each variant says which part failed and why, so
//! a block-mode run can refuse to start with a message the user can act on.

/// A part of the network fence that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("entering the fence's network namespace: {0}")]
    EnterNetns(String),
    #[error(
        "adding the fence's routes (as `{command}`, over rtnetlink): {reason}; ringfence needs CAP_NET_ADMIN"
    )]
    Route { command: String, reason: String },
    #[error(
        "loading the fence's nftables rules: {0}; ringfence needs nftables (its library libnftables, or the `nft` tool) and CAP_NET_ADMIN"
    )]
    Nftables(String),
    #[error("binding the {what} inside the fence's network namespace: {source}")]
    Bind {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("opening the sock_diag socket for attribution: {0}")]
    Attribution(std::io::Error),
    #[error("starting the fence's runtime: {0}")]
    Runtime(std::io::Error),
    #[error(
        "no upstream DNS resolver: set `dns.upstream` in the policy or give the host a nameserver in /etc/resolv.conf"
    )]
    NoUpstream,
    #[error("the fence's setup thread panicked")]
    SetupPanicked,
}
