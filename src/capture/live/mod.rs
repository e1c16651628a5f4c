//! Live capture inside a pod's network namespace (feature `live`, libpcap through the `pcap`
//! crate): the `nsenter -n --target PID tcpdump -w -` workflow built in.
//!
//! Shape: a capture thread enters the target namespace (`setns`, that thread only), opens a
//! libpcap handle there, drops its capabilities, and writes every packet as a pcap record into
//! an in-process pipe; the pipe's read end is an ordinary byte stream for the offline reader
//! ([`FileReader::from_reader`](crate::capture::FileReader::from_reader)), so the analysis, its
//! limits and its report are exactly those of `hopscope analyze`. The same bytes go to the
//! `-w` file: analyzing that file later gives the same results by construction.
//!
//! Modules: `target` (netns path, PID, container via crictl, pod via kubectl), `netns`
//! (setns, interfaces), `handle` (libpcap settings), `caps` (capability drop), `thread` (the
//! capture loop), `pipe`, `writer` (pcap bytes), `signal` (Ctrl-C), `error`. Without the
//! feature only the pure parts are built (target resolution, pipe, writer), so the default
//! build links no system library.

mod error;
mod pipe;
mod target;
mod writer;

#[cfg(feature = "live")]
mod caps;
#[cfg(feature = "live")]
mod handle;
#[cfg(feature = "live")]
mod netns;
#[cfg(feature = "live")]
mod signal;
#[cfg(feature = "live")]
mod thread;

pub use error::{Fault, LiveError, PRIVILEGE_FIX};
pub use pipe::{pipe, Closed, PipeReader, PipeWriter, CHUNK_BYTES};
pub use target::{
    container_pid, crictl_pid, docker_pid, pod_container, resolve, split_runtime, PodContainer,
    Resolved, Target,
};
pub use writer::{file_header, push_record, Resolution, FILE_HEADER_LEN, RECORD_HEADER_LEN};

#[cfg(feature = "live")]
pub use caps::{drop_all as drop_privileges, of_this_thread as thread_caps, parse_status, Caps};
#[cfg(feature = "live")]
pub use handle::{HandleConfig, READ_TIMEOUT_MS};
#[cfg(feature = "live")]
pub use signal::stop_on_interrupt;

/// Kernel and capture counters (pcap_stats(3PCAP)): `received` passed the filter, `dropped`
/// found the ring buffer full, `if_dropped` were dropped by the interface (known only in
/// promiscuous mode on Linux, so 0 here); `captured` were written as records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub captured: u64,
    pub received: u32,
    pub dropped: u32,
    pub if_dropped: u32,
}

/// Why the capture ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StopReason {
    /// The stop flag (SIGINT, SIGTERM).
    #[default]
    Signal,
    /// `-c COUNT` packets captured.
    Count,
    /// `--duration` elapsed.
    Duration,
    /// The analysis stopped reading (e.g. a closed stdout).
    ReaderGone,
    /// libpcap or the `-w` file failed (see [`Finished::error`]).
    Error,
}

/// How the capture ended.
#[derive(Debug, Default)]
pub struct Finished {
    pub stats: Stats,
    pub reason: StopReason,
    pub error: Option<LiveError>,
}

/// The capture as it began.
#[derive(Clone, Copy, Debug)]
pub struct Started {
    /// LINKTYPE_* of the records.
    pub link_type: u32,
    pub snaplen: u32,
    pub resolution: Resolution,
    /// The capture thread's capabilities after the drop (`None` if /proc was unreadable).
    #[cfg(feature = "live")]
    pub caps: Option<Caps>,
}

/// What to capture.
#[cfg(feature = "live")]
#[derive(Debug)]
pub struct LiveConfig {
    /// Namespace file to enter; `None`: capture where the process is.
    pub netns: Option<std::path::PathBuf>,
    /// The target as messages name it.
    pub place: String,
    pub handle: HandleConfig,
    pub count: Option<u64>,
    pub duration: Option<std::time::Duration>,
    /// The `-w` file: created (or truncated) once the handle is open and filtered, before the
    /// capture thread drops its capabilities, so a bad target or filter leaves no file behind
    /// (as tcpdump does).
    pub write: Option<std::path::PathBuf>,
}

/// A running capture.
#[cfg(feature = "live")]
pub struct Live {
    pub started: Started,
    thread: std::thread::JoinHandle<Finished>,
}

#[cfg(feature = "live")]
impl Live {
    /// Waits for the capture thread (it ends on a stop condition, see [`StopReason`]).
    pub fn wait(self) -> Finished {
        self.thread.join().unwrap_or_else(|_| Finished {
            reason: StopReason::Error,
            error: Some(LiveError::failure("the capture thread panicked")),
            ..Finished::default()
        })
    }
}

/// Chunks in flight between the capture thread and the analysis (64 KiB each at most).
#[cfg(feature = "live")]
const PIPE_CHUNKS: usize = 64;

/// Starts capturing: returns once the handle is open in the target namespace (or with why it
/// could not be), with the pcap byte stream to analyze. `stop` ends the capture when set;
/// `on_stats` is called on the capture thread whenever the drop counters change.
#[cfg(feature = "live")]
pub fn start(
    cfg: LiveConfig,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    on_stats: Box<dyn FnMut(&Stats) + Send>,
) -> Result<(Live, PipeReader), LiveError> {
    let (writer, reader) = pipe(PIPE_CHUNKS);
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("hopscope-capture".into())
        .spawn(move || thread::run(cfg, writer, ready_tx, stop, on_stats))
        .map_err(|e| LiveError::failure(format!("cannot start the capture thread: {e}")))?;
    match ready_rx.recv() {
        Ok(Ok(started)) => Ok((Live { started, thread }, reader)),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(LiveError::failure(
                "the capture thread ended before it started",
            ))
        }
    }
}
