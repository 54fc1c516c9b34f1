//! Every fuzz target's body, replayed over the committed inputs: the seeds each target starts
//! from and every input that once crashed one (`fuzz/regressions/TARGET/`). The bodies check
//! their own properties and panic on a violation, so a crash found by `bench/fuzz` stays
//! fixed on stable Rust, without libFuzzer.

use std::path::Path;

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 5] = [
    ("hook_payload", orchestron::fuzzing::hook_payload),
    ("jsonpath", orchestron::fuzzing::jsonpath),
    ("docpath_edit", orchestron::fuzzing::docpath_edit),
    ("settings", orchestron::fuzzing::settings),
    ("import_line", orchestron::fuzzing::import_line),
];

fn replay(kind: &str) -> usize {
    let mut count = 0;
    for (target, body) in TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(kind)
            .join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.is_file() && !path.file_name().unwrap().to_string_lossy().starts_with('.')
            })
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{target} fails on {}", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn fuzz_seeds_pass_every_target() {
    assert!(replay("seeds") > 100, "the seeds are missing");
}

#[test]
fn fuzz_regressions_stay_fixed() {
    replay("regressions");
}
