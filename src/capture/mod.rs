//! (filled in by the capture layer)
