//! Link the binary for a fast start. A hook runs it on every tool call, and on Linux half of
//! a small command's wall time is the loader: relocating a position-independent executable
//! touches every page of `.data.rel.ro` (about 9,800 relocations), and binding every symbol
//! up front (`-z now`) looks up each one. A fixed-address executable with lazy binding starts
//! about 0.25 ms sooner (`bench/run`). The loss is ASLR for the binary's own image and the
//! read-only GOT: this is a local tool that reads no network input. `./install` goes one
//! step further where it can: glibc linked statically, so no shared library is loaded at all.
fn main() {
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu_like = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if linux && gnu_like {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        println!("cargo:rustc-link-arg-bins=-Wl,-z,lazy");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
