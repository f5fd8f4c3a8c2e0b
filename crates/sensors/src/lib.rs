//! ringfence's kernel sensors: what the processes of a run did, observed from the kernel.
//!
//! The exec sensor ([`ExecSensor`]) reports every exec, fork and exit in the run's cgroup v2 as
//! [`journal::Event`]s, from eBPF programs on the sched tracepoints.

mod cgroup;
mod error;
mod exec;

pub use cgroup::{cgroup_id, cgroup2_mount};
pub use error::SensorError;
pub use exec::{ExecSensor, SensorStats};
