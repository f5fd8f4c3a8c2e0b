//! What can go wrong when starting or stopping a sensor, each with what to do about it.

/// A sensor could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error(
        "the kernel refused the {sensor} sensor's BPF programs while {stage}: {source}. \
         ringfence needs root (or CAP_BPF and CAP_PERFMON), a kernel of 5.17 or later with BTF \
         (/sys/kernel/btf/vmlinux) and BPF not disabled by lockdown or kernel.unprivileged_bpf_disabled; \
         libbpf's log above names the failing step"
    )]
    Bpf {
        /// Which sensor: `exec`, `file` or `connect`.
        sensor: &'static str,
        stage: &'static str,
        #[source]
        source: libbpf_rs::Error,
    },
    #[error(
        "the connect sensor cannot open the run's cgroup {path}: {source}; it needs root and a \
         cgroup v2 hierarchy (see /proc/self/mountinfo)"
    )]
    Cgroup {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a sensor's BPF object has no {0} section; it was built wrong, rebuild ringfence")]
    MissingSection(&'static str),
    #[error("could not start a sensor's thread: {0}; the system is out of threads or memory")]
    Thread(#[source] std::io::Error),
    #[error("a sensor's thread died unexpectedly{0}; this is a ringfence bug, please report it")]
    ThreadDied(String),
    #[error("reading a sensor's ring buffer failed: {0}; events after this point are missing")]
    RingBuffer(#[source] libbpf_rs::Error),
    #[error(
        "fanotify refused {stage} {path}: {source}. The file sensor needs root (CAP_SYS_ADMIN), \
         a kernel of 5.17 or later built with fanotify, and a filesystem that reports file handles \
         (ext4, xfs, btrfs, tmpfs since 6.6; overlayfs only with nfs_export=on); move the \
         workspace to one"
    )]
    Fanotify {
        stage: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the file sensor cannot watch {path}: {reason}")]
    Watch { path: std::path::PathBuf, reason: String },
    #[error("reading the file sensor's fanotify queue failed: {0}; file events after this point are missing")]
    FanotifyRead(#[source] std::io::Error),
}
