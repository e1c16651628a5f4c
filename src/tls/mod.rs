//! (filled in by the tls layer)
