//! Ctrl-C and SIGTERM stop a live capture cleanly: the handler only sets a flag, which the
//! capture loop reads at least every read timeout; the loop then flushes the pipe and the
//! `-w` file and ends the stream, so the report covers every captured packet. A second signal
//! exits at once (status 130), for a capture stuck on a blocked output.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

/// The flag the handler sets (leaked once: it must outlive any signal).
static FLAG: AtomicPtr<AtomicBool> = AtomicPtr::new(std::ptr::null_mut());
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    // Only async-signal-safe work: atomics and _exit.
    if SIGNALS.fetch_add(1, Ordering::SeqCst) > 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
    let flag = FLAG.load(Ordering::SeqCst);
    if !flag.is_null() {
        // SAFETY: the pointer came from Arc::into_raw and is never freed.
        unsafe { (*flag).store(true, Ordering::SeqCst) };
    }
}

/// Makes SIGINT and SIGTERM set `stop`. Call once per process.
pub fn stop_on_interrupt(stop: &Arc<AtomicBool>) -> std::io::Result<()> {
    let raw = Arc::into_raw(Arc::clone(stop)) as *mut AtomicBool;
    // A flag installed earlier stays leaked: a handler running now may still be reading it.
    FLAG.store(raw, Ordering::SeqCst);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a valid handler and an empty mask.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}
