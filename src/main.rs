//! The `hopscope` binary: argument parsing and I/O around the library. See `cli`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
