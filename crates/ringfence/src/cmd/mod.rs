//! One file per verb.

pub mod audit;

/// ringfence itself failed (bad arguments it could not act on, setup, I/O).
pub const EXIT_RINGFENCE_FAILED: u8 = 125;
