//! (filled in by the http layer)
