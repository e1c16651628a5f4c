//! Dropping privileges once the capture handle is open: a live capture needs CAP_NET_RAW to
//! open its packet socket, CAP_SYS_ADMIN to `setns(2)` into another network namespace and
//! CAP_SYS_PTRACE to open another user's `/proc/PID/ns/net`; reading from the open socket
//! needs none of them. So each thread, after its last privileged call, drops every
//! capability it holds: the analysis of hostile packet bytes runs with none.
//!
//! How (capabilities(7)): `PR_SET_NO_NEW_PRIVS` (an `execve` can grant nothing back), clear
//! the ambient set, drop the whole bounding set (while CAP_SETPCAP is still effective), then
//! `capset(2)` with empty effective, permitted and inheritable sets. All of these act on the
//! calling thread only, which is why both the capture thread and the main thread call
//! [`drop_all`]. The uid stays what it was (root stays uid 0, without capabilities: files it
//! owns stay writable; DAC_OVERRIDE and the rest are gone).

use std::io;

/// `_LINUX_CAPABILITY_VERSION_3` (linux/capability.h): two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// Capability numbers are below 64 in every kernel so far (CAP_LAST_CAP is 40 in 6.x).
const CAP_MAX: libc::c_ulong = 64;
/// prctl(2) is variadic and the kernel checks unused arguments are 0 (PR_SET_NO_NEW_PRIVS
/// fails otherwise): pass them as full-width zeros, never as `int` literals.
const Z: libc::c_ulong = 0;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The capability sets of one thread, from `/proc/thread-self/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
    pub no_new_privs: bool,
}

impl Caps {
    /// True when the thread can do nothing privileged any more.
    pub fn none(&self) -> bool {
        self.effective == 0 && self.permitted == 0 && self.ambient == 0
    }
}

/// Drops every capability of the calling thread (see the module doc). Errors only when the
/// kernel refuses `capset` or `PR_SET_NO_NEW_PRIVS`; a bounding set that cannot be dropped
/// (no CAP_SETPCAP: an unprivileged run) is left as it is, harmless with nothing permitted.
pub fn drop_all() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, Z, Z, Z) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above. EINVAL on kernels without ambient capabilities (< 4.3): nothing to clear.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            Z,
            Z,
            Z,
        )
    };
    for cap in 0..CAP_MAX {
        // SAFETY: as above. EINVAL past the last capability, EPERM without CAP_SETPCAP.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, Z, Z, Z) };
        if r != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            break;
        }
    }
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0, // the calling thread
    };
    let data = [CapData::default(); 2];
    // SAFETY: capset reads one header and, for version 3, two data structs; both live here.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The calling thread's capability sets.
pub fn of_this_thread() -> io::Result<Caps> {
    let status = std::fs::read_to_string("/proc/thread-self/status")?;
    Ok(parse_status(&status))
}

/// The `Cap*` and `NoNewPrivs` lines of a `/proc/…/status` text (proc(5)); missing lines
/// read as 0.
pub fn parse_status(status: &str) -> Caps {
    let mut caps = Caps::default();
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).unwrap_or(0);
        match key {
            "CapEff" => caps.effective = hex(),
            "CapPrm" => caps.permitted = hex(),
            "CapInh" => caps.inheritable = hex(),
            "CapBnd" => caps.bounding = hex(),
            "CapAmb" => caps.ambient = hex(),
            "NoNewPrivs" => caps.no_new_privs = value == "1",
            _ => {}
        }
    }
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_thread_has_nothing_and_the_others_keep_theirs() {
        let before = of_this_thread().unwrap();
        let after = std::thread::spawn(|| {
            drop_all().unwrap();
            of_this_thread().unwrap()
        })
        .join()
        .unwrap();
        assert!(after.none(), "{after:?}");
        assert_eq!(after.inheritable, 0);
        assert!(after.no_new_privs);
        if before.effective & (1 << 8) != 0 {
            // CAP_SETPCAP was held (root): the bounding set went too.
            assert_eq!(after.bounding, 0, "{after:?}");
        }
        // Capabilities are per thread: this one is unchanged.
        assert_eq!(of_this_thread().unwrap().effective, before.effective);
    }

    #[test]
    fn status_lines() {
        let text = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n\
                    CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n\
                    NoNewPrivs:\t0\n";
        let c = parse_status(text);
        assert_eq!(c.effective, 0x1ff_ffff_ffff);
        assert_eq!(c.permitted, 0x1ff_ffff_ffff);
        assert!(!c.none());
        assert!(!c.no_new_privs);
        assert_eq!(parse_status(""), Caps::default());
    }
}
