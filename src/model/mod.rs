//! Plain data shared by every layer: time, frames, segments, connections, exchanges, and the
//! forwarding paths the join gives them.
//!
//! This module imports nothing else of the crate. Layers exchange these values; each layer
//! keeps its own working state private.

mod connection;
mod exchange;
mod frame;
mod path;
mod segment;
mod time;

pub use connection::{
    AppInfo, Burst, Bursts, ConnId, ConnStats, Connection, DirStats, EndReason, RoleSource,
    SynPrint, MAX_BURSTS,
};
pub use exchange::{
    known_or_owned, Exchange, Fields, FindField, HttpVersion, Message, Request, Response,
    KNOWN_METHODS, KNOWN_REASONS,
};
pub use frame::Frame;
pub use path::{Candidate, Evidence, Hop, HopKind, Path};
pub use segment::{Dir, LinkMeta, Segment, TcpFlags};
pub use time::Timestamp;
