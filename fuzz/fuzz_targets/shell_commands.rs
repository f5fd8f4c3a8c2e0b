#![no_main]
//! The hook's parser entry point: any bytes must give an analysis or a parse error, never a crash.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = shellparse::analyze(src);
    }
});
