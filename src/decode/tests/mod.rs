//! Decoder tests: hand-built frames for every link type and edge case ([`frames`],
//! [`fragments`]), the real captures of the shared fixtures ([`fixtures`]) and arbitrary bytes
//! ([`props`]). [`build`] makes the packets.

mod build;
mod fixtures;
mod fragments;
mod frames;
mod perf;
mod props;
