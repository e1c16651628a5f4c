//! Progress on stderr for long files, only when stderr is a terminal. The one place that reads
//! the wall clock during analysis (to redraw at most a few times per second).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW: Duration = Duration::from_millis(200);

pub struct Progress {
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    pub fn new(wanted: bool) -> Self {
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
        }
    }

    pub fn update(&mut self, read: u64, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.started) < Duration::from_millis(500)
            || self.last.is_some_and(|t| now.duration_since(t) < REDRAW)
        {
            return;
        }
        self.last = Some(now);
        let mib = read as f64 / (1024.0 * 1024.0);
        let rate = mib / now.duration_since(self.started).as_secs_f64().max(1e-9);
        let line = match total {
            Some(t) if t > 0 => format!(
                "\r{:5.1}%  {mib:.0} / {:.0} MiB  {rate:.0} MiB/s ",
                read as f64 * 100.0 / t as f64,
                t as f64 / (1024.0 * 1024.0)
            ),
            _ => format!("\r{mib:.0} MiB  {rate:.0} MiB/s "),
        };
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    pub fn clear(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = std::io::stderr().write_all(b"\r\x1b[2K");
        }
    }
}
