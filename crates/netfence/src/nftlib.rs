//! nftables commands run in-process through libnftables, the library the `nft` tool itself is
//! built on (same parser, same netlink messages, same listing text), opened at run time. A `nft`
//! process cost an exec, a dynamic link and a cache fetch per command, each fenced run paying
//! for two (bench/startup). Where the library cannot be opened the `nft` tool still runs them.

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::sync::{Mutex, OnceLock};

/// `NFT_CTX_OUTPUT_STATELESS` (`nft -s`): listings without counter values or other state.
const OUTPUT_STATELESS: c_uint = 1 << 2;

type CtxNew = unsafe extern "C" fn(u32) -> *mut c_void;
type CtxFree = unsafe extern "C" fn(*mut c_void);
type CtxInt = unsafe extern "C" fn(*mut c_void) -> c_int;
type CtxBuffer = unsafe extern "C" fn(*mut c_void) -> *const c_char;
type SetFlags = unsafe extern "C" fn(*mut c_void, c_uint);
type RunCmd = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;

/// The entry points this module uses; the library stays loaded for the life of the process.
struct Library {
    ctx_new: CtxNew,
    ctx_free: CtxFree,
    buffer_output: CtxInt,
    buffer_error: CtxInt,
    output_buffer: CtxBuffer,
    error_buffer: CtxBuffer,
    set_output_flags: SetFlags,
    run_cmd: RunCmd,
}

/// What one command printed, and whether it succeeded.
pub(crate) struct Answer {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `commands` (nft's file syntax) in the calling thread's network namespace; `None` when the
/// library is not there, so the caller runs the `nft` tool instead.
pub(crate) fn run(commands: &str, stateless: bool) -> Option<Answer> {
    let lib = library()?;
    // Older libnftables keep some tables process-wide, set up and torn down with each context:
    // one command at a time (a job's tamper check may meet its teardown).
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Ok(text) = CString::new(commands) else {
        return Some(Answer { ok: false, stdout: String::new(), stderr: "a NUL byte in the ruleset".into() });
    };
    // SAFETY: the signatures are libnftables' (nftables/libnftables.h, stable since 0.9); the
    // context is used by this thread only and freed before returning, after its buffers were copied.
    unsafe {
        let ctx = (lib.ctx_new)(0);
        if ctx.is_null() {
            return None;
        }
        (lib.buffer_output)(ctx);
        (lib.buffer_error)(ctx);
        if stateless {
            (lib.set_output_flags)(ctx, OUTPUT_STATELESS);
        }
        let rc = (lib.run_cmd)(ctx, text.as_ptr());
        let copy = |p: *const c_char| {
            if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
        };
        let answer = Answer {
            ok: rc == 0,
            stdout: copy((lib.output_buffer)(ctx)),
            stderr: copy((lib.error_buffer)(ctx)),
        };
        (lib.ctx_free)(ctx);
        Some(answer)
    }
}

fn library() -> Option<&'static Library> {
    static LIBRARY: OnceLock<Option<Library>> = OnceLock::new();
    LIBRARY.get_or_init(open).as_ref()
}

fn open() -> Option<Library> {
    // SAFETY: dlopen of a system library by its soname; the handle is never closed, so the
    // function pointers below stay valid for the life of the process.
    let handle = unsafe { libc::dlopen(c"libnftables.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return None;
    }
    let sym = |name: &CStr| {
        // SAFETY: `handle` is a live dlopen handle and `name` NUL-terminated.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        (!p.is_null()).then_some(p)
    };
    // SAFETY (each transmute): the symbol is the libnftables function of that name, whose C
    // signature the target type spells out.
    unsafe {
        Some(Library {
            ctx_new: std::mem::transmute::<*mut c_void, CtxNew>(sym(c"nft_ctx_new")?),
            ctx_free: std::mem::transmute::<*mut c_void, CtxFree>(sym(c"nft_ctx_free")?),
            buffer_output: std::mem::transmute::<*mut c_void, CtxInt>(sym(c"nft_ctx_buffer_output")?),
            buffer_error: std::mem::transmute::<*mut c_void, CtxInt>(sym(c"nft_ctx_buffer_error")?),
            output_buffer: std::mem::transmute::<*mut c_void, CtxBuffer>(sym(c"nft_ctx_get_output_buffer")?),
            error_buffer: std::mem::transmute::<*mut c_void, CtxBuffer>(sym(c"nft_ctx_get_error_buffer")?),
            set_output_flags: std::mem::transmute::<*mut c_void, SetFlags>(sym(c"nft_ctx_output_set_flags")?),
            run_cmd: std::mem::transmute::<*mut c_void, RunCmd>(sym(c"nft_run_cmd_from_buffer")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::nft;

    /// The real kernel, in a network namespace of the test thread's own: the run ruleset loads
    /// through the library, its listing is the `nft` tool's own text, its counters read back,
    /// and the table goes (twice, the second time already gone).
    #[test]
    fn loads_lists_and_removes_the_ruleset_as_the_nft_tool_sees_it() {
        if !nix::unistd::Uid::effective().is_root() {
            testnet::cannot_run("needs root (a network namespace, nftables)");
            return;
        }
        std::thread::spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("own netns");
            assert!(super::library().is_some(), "libnftables (package nftables) can be opened");
            let ports = nft::Ports { proxy: 15001, dns: 15053, host_services: vec![5432] };
            nft::apply(&ports).expect("the run ruleset loads");
            let listed = nft::listing().expect("listing").expect("the table is there");
            let tool = std::process::Command::new("nft")
                .args(["-s", "list", "table", "inet", nft::TABLE])
                .output()
                .expect("nft runs");
            assert_eq!(listed, String::from_utf8_lossy(&tool.stdout));
            // The fallback where the library is missing: the same commands through the tool.
            let fallback = nft::tool(&format!("list table inet {}", nft::TABLE), true).expect("nft runs");
            assert!(fallback.ok, "{}", fallback.stderr);
            assert_eq!(fallback.stdout, listed);
            let refused =
                nft::tool("table inet ringfence { chain c { nonsense } }", false).expect("nft runs");
            assert!(!refused.ok && refused.stderr.contains("Error"), "{}", refused.stderr);
            assert!(listed.contains("redirect to :15001"), "{listed}");
            let counters = nft::read_counters().expect("counters");
            let names: Vec<&str> = counters.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["udp_dropped", "icmp_dropped", "other_dropped"]);
            assert!(counters.iter().all(|(_, packets)| *packets == 0));
            let broken = nft::load("table inet ringfence { chain c { nonsense } }").expect_err("refused");
            assert!(broken.to_string().contains("Error"), "{broken}");
            nft::remove().expect("removed");
            nft::remove().expect("already gone is not an error");
            assert!(nft::listing().expect("listing").is_none());
        })
        .join()
        .expect("the namespace thread passes");
    }
}
