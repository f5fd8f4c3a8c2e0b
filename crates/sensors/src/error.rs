//! What can go wrong when starting or stopping a sensor, each with what to do about it.

/// A sensor could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error(
        "the kernel refused the exec sensor's BPF programs while {stage}: {source}. \
         ringfence needs root (or CAP_BPF and CAP_PERFMON), a kernel of 5.17 or later with BTF \
         (/sys/kernel/btf/vmlinux) and BPF not disabled by lockdown or kernel.unprivileged_bpf_disabled; \
         libbpf's log above names the failing step"
    )]
    Bpf {
        stage: &'static str,
        #[source]
        source: libbpf_rs::Error,
    },
    #[error("the exec sensor's BPF object has no {0} section; it was built wrong, rebuild ringfence")]
    MissingSection(&'static str),
    #[error("could not start the exec sensor's thread: {0}; the system is out of threads or memory")]
    Thread(#[source] std::io::Error),
    #[error("the exec sensor's thread died unexpectedly{0}; this is a ringfence bug, please report it")]
    ThreadDied(String),
    #[error("reading the exec sensor's ring buffer failed: {0}; events after this point are missing")]
    RingBuffer(#[source] libbpf_rs::Error),
}
