//! The `orchestron` binary: parse, run, exit. Everything lives in the library.

fn main() -> std::process::ExitCode {
    orchestron::run(std::env::args_os())
}
