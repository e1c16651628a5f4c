//! Decoder tests: hand-built frames for every link type and case, real captures, proptest.
