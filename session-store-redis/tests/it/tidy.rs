//! Source rules checked by reading `src/`: no command that scans or wipes a whole server, no
//! `unwrap`/`expect` in library code, and crate-level lints in place.

use std::fs;
use std::path::Path;

fn sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for entry in fs::read_dir(&dir).expect("src/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("read");
            out.push((path.display().to_string(), text));
        }
    }
    assert!(out.len() >= 5, "expected the crate's source files");
    out
}

#[test]
fn no_keys_or_flush_commands() {
    for (path, text) in sources() {
        let upper = text.to_uppercase();
        for banned in ["\"KEYS\"", "'KEYS'", "FLUSHALL", "FLUSHDB"] {
            assert!(!upper.contains(banned), "{path} uses {banned}");
        }
    }
}

#[test]
fn no_unwrap_or_expect_in_library_code() {
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains(".unwrap()") || line.contains(".expect(") {
                let justified = i > 0 && lines[i - 1].trim_start().starts_with("// Invariant:");
                assert!(
                    justified,
                    "{path}:{}: unwrap/expect without an invariant",
                    i + 1
                );
            }
        }
    }
}

#[test]
fn every_file_starts_with_module_docs() {
    for (path, text) in sources() {
        assert!(text.starts_with("//!"), "{path} has no //! doc");
    }
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("lib.rs");
    for attr in [
        "#![forbid(unsafe_code)]",
        "#![deny(missing_docs)]",
        "#![warn(unreachable_pub, missing_debug_implementations)]",
    ] {
        assert!(lib.contains(attr), "lib.rs lacks {attr}");
    }
}
