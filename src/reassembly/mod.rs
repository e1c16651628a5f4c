//! (filled in by the reassembly layer)
