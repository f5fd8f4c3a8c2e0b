//! The fake internet lives in the shared `testnet` dev crate; this keeps `mod support;` working
//! for test files that still import it that way.

pub use testnet::*;
