//! Report writers: the text report and JSON lines, both [`Sink`](crate::pipeline::Sink)s that
//! write each result as it completes. Pure formatting to any `io::Write`; the CLI owns stdout.

mod addrfmt;
pub mod escape;
pub mod joined;
mod json;
mod json_line;
pub mod path;
mod summary;
mod text;
pub mod timefmt;

pub use json::JsonSink;
pub use summary::{link_type_name, summary_json, write_summary};
pub use text::{Shown, TextSink};
