//! Exchange-level tests of [`super::HttpConn`] over hand-written byte streams.
