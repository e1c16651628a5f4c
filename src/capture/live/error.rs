//! Why a live capture could not start (or stopped): one line that says what failed and how to
//! fix it, and whether the user asked for something wrong (exit 2) or the machine refused
//! (exit 1).

use std::fmt;

/// Whose fault: a wrong target, interface or filter is bad usage; a refusal of the kernel or
/// of libpcap is a failure.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    Usage,
    Failure,
}

/// A live capture error: its line (lowercase, no trailing period, the fix after a `:` or
/// `;`) and its [`Fault`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveError {
    pub fault: Fault,
    pub message: String,
}

impl LiveError {
    pub fn usage(message: impl Into<String>) -> LiveError {
        LiveError {
            fault: Fault::Usage,
            message: message.into(),
        }
    }

    pub fn failure(message: impl Into<String>) -> LiveError {
        LiveError {
            fault: Fault::Failure,
            message: message.into(),
        }
    }

    /// The process exit code: 2 for bad usage, 1 for a failure (README's exit codes).
    pub fn exit_code(&self) -> u8 {
        match self.fault {
            Fault::Usage => 2,
            Fault::Failure => 1,
        }
    }
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LiveError {}

/// What to do when an operation needs privileges: the one fix line shared by all of them.
pub const PRIVILEGE_FIX: &str = "run as root (sudo), or give the binary the capabilities: \
     setcap cap_net_raw,cap_sys_admin,cap_sys_ptrace+ep hopscope";
