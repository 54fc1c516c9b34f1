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
    claude_cli();
    mcp_python();
}

/// The folder `.ci/run` caches its installs in: `$XDG_CACHE_HOME/orchestron-e2e`, else
/// `~/.cache/orchestron-e2e`.
fn e2e_cache() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| cache.join("orchestron-e2e"))
}

/// `cfg(claude_cli)` when the end-to-end tests can run: the pinned Claude Code CLI is at
/// `$CLAUDE_BIN` or in the cache `.ci/run` installs it into, or `CI=true` (which makes them
/// mandatory). Without it they compile as `#[ignore]`d, so `cargo test` reports them as
/// ignored rather than passed. (Installing the CLI later needs a rebuild: `touch build.rs`.)
fn claude_cli() {
    use std::path::PathBuf;
    println!("cargo:rustc-check-cfg=cfg(claude_cli)");
    for name in ["CLAUDE_BIN", "CI", "XDG_CACHE_HOME", "HOME"] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    println!("cargo:rerun-if-changed=tests/e2e/claude-code-version");
    let env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    let ci = std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1");
    let version = std::fs::read_to_string("tests/e2e/claude-code-version").unwrap_or_default();
    let cache = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| {
            cache
                .join("orchestron-e2e")
                .join(format!("claude-code-{}", version.trim()))
                .join("node_modules/.bin/claude")
        });
    let found = env("CLAUDE_BIN").map(PathBuf::from).or(cache);
    if ci || found.is_some_and(|path| path.exists()) {
        println!("cargo:rustc-cfg=claude_cli");
    }
}

/// `cfg(mcp_python)` when the MCP client test can run: a Python with the pinned `mcp` SDK is at
/// `$ORCHESTRON_MCP_PYTHON`, or in the venv `.ci/run` makes (`python-mcp` in its cache, made
/// for the same `tests/mcp-client/requirements.txt`, a copy of which it keeps), or `CI=true`
/// (which makes the test mandatory). Without it the test compiles as `#[ignore]`d. The test
/// finds that venv's Python in `ORCHESTRON_MCP_VENV_PYTHON`, set here.
fn mcp_python() {
    const REQUIREMENTS: &str = "tests/mcp-client/requirements.txt";
    println!("cargo:rustc-check-cfg=cfg(mcp_python)");
    for name in ["ORCHESTRON_MCP_PYTHON", "CI", "XDG_CACHE_HOME", "HOME"] {
        println!("cargo:rerun-if-env-changed={name}");
    }
    println!("cargo:rerun-if-changed={REQUIREMENTS}");
    let ci = std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1");
    let venv = e2e_cache().map(|cache| cache.join("python-mcp"));
    if let Some(venv) = &venv {
        println!(
            "cargo:rerun-if-changed={}",
            venv.join("requirements.txt").display()
        );
        println!(
            "cargo:rustc-env=ORCHESTRON_MCP_VENV_PYTHON={}",
            venv.join("bin/python").display()
        );
    }
    let wanted = std::fs::read(REQUIREMENTS).ok();
    let venv_python = venv
        .filter(|venv| {
            wanted.is_some() && std::fs::read(venv.join("requirements.txt")).ok() == wanted
        })
        .map(|venv| venv.join("bin/python"));
    let from_env = std::env::var_os("ORCHESTRON_MCP_PYTHON")
        .filter(|value| !value.is_empty())
        .map(std::path::PathBuf::from);
    if ci || from_env.or(venv_python).is_some_and(|path| path.is_file()) {
        println!("cargo:rustc-cfg=mcp_python");
    }
}
