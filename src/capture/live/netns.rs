//! Entering a network namespace on the calling thread only: `setns(2)` with CLONE_NEWNET
//! moves one thread, so the capture thread captures inside the pod while the rest of the
//! process (the analysis, the report, the files it writes) stays where it was. This is what
//! `nsenter -n --target PID` does for a whole process.
//!
//! Interface names are looked up in the thread's own namespace: `if_nametoindex(3)` asks a
//! socket (created in the current netns) and `/proc/thread-self/net/dev` lists that thread's
//! namespace; `/proc/net` and `/sys/class/net` would show the process's or the mount's.

use super::error::{LiveError, PRIVILEGE_FIX};
use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Moves the calling thread into the network namespace of `path`.
pub fn enter(path: &Path) -> Result<(), LiveError> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LiveError::usage(format!(
            "{shown} is gone (the process exited or the namespace was deleted): pick the target again"
        )),
        io::ErrorKind::PermissionDenied => LiveError::failure(format!(
            "cannot open {shown}: permission denied (another user's process needs \
             CAP_SYS_PTRACE): {PRIVILEGE_FIX}"
        )),
        _ => LiveError::failure(format!("cannot open {shown}: {e}")),
    })?;
    // SAFETY: setns on a descriptor this function owns; it changes only this thread.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::EINVAL) => LiveError::usage(format!(
                "{shown} is not a network namespace: give /var/run/netns/NAME, /proc/PID/ns/net \
                 or --pid PID"
            )),
            Some(libc::EPERM) => LiveError::failure(format!(
                "cannot enter the network namespace {shown}: setns needs CAP_SYS_ADMIN: \
                 {PRIVILEGE_FIX}"
            )),
            _ => LiveError::failure(format!("cannot enter the network namespace {shown}: {e}")),
        });
    }
    Ok(())
}

/// Whether the calling thread's namespace has an interface called `name`.
pub fn has_interface(name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated string; if_nametoindex only reads it.
    unsafe { libc::if_nametoindex(c.as_ptr()) != 0 }
}

/// The interfaces of the calling thread's namespace, in `/proc/thread-self/net/dev` order.
pub fn interfaces() -> Vec<String> {
    std::fs::read_to_string("/proc/thread-self/net/dev")
        .map(|t| parse_net_dev(&t))
        .unwrap_or_default()
}

/// Interface names of a `/proc/net/dev` text: two header lines, then `  name: counters…`.
fn parse_net_dev(text: &str) -> Vec<String> {
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_names() {
        let text = "Inter-|   Receive                            |  Transmit\n \
                    face |bytes    packets errs drop fifo frame compressed multicast|bytes\n    \
                    lo:  123  4 0 0 0 0 0 0  123 4 0 0 0 0 0 0\n  eth0: 9 1 0 0 0 0 0 0 9 1 0 0 0 0 0 0\n";
        assert_eq!(parse_net_dev(text), ["lo", "eth0"]);
    }

    #[test]
    fn this_namespace_has_lo() {
        assert!(has_interface("lo"));
        assert!(!has_interface("hs-no-such-if0"));
        assert!(!has_interface("bad\0name"));
        assert!(interfaces().iter().any(|i| i == "lo"));
    }

    #[test]
    fn a_file_that_is_not_a_namespace_is_refused() {
        let e = std::thread::spawn(|| enter(Path::new("/proc/self/status")))
            .join()
            .unwrap()
            .unwrap_err();
        // As root: EINVAL (not a netns). Unprivileged: EPERM first.
        assert!(
            e.message.contains("is not a network namespace") || e.message.contains("CAP_SYS_ADMIN"),
            "{e}"
        );
        let e = enter(Path::new("/proc/hs-none/ns/net")).unwrap_err();
        assert!(e.message.contains("is gone"), "{e}");
    }
}
