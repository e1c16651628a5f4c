//! (filled in by the decode layer)
