//! The `orchestron` binary: everything lives in the library, so that tests and later binaries
//! share one code path.

fn main() -> std::process::ExitCode {
    orchestron::run(std::env::args_os())
}
