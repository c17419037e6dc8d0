//! Tidy checks over the source tree (run by `cargo xtask lint` and as `#[test]`s):
//! every `.rs` file opens with a `//!` doc; no `#[should_panic]` (assert typed errors instead);
//! no `unwrap()`/`expect(` in library code without an `Invariant:` comment just above; no `==`
//! on raw byte slices in codec modules (S-05; tags are compared through `Tag`, whose equality is
//! constant-time); no random numbers in library code but the operating system's (S-01:
//! `getrandom`, never a userspace generator such as `rand::thread_rng`).

use std::path::{Path, PathBuf};

use crate::env::Failure;

/// Problems found, one line each.
pub(crate) fn check(root: &Path) -> Result<Vec<String>, Failure> {
    let mut files = Vec::new();
    for dir in [
        "session-core",
        "session-auth",
        "session-store-sled",
        "session-store-sqlite",
        "session-store-redis",
        "session-store-postgres",
        "session-adapters",
        "session-demo",
        "session-bench",
        "xtask",
    ] {
        collect_rs(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Failure(format!("{}: {e}", file.display())))?;
        let name = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        problems.extend(check_file(&name, &text));
    }
    Ok(problems)
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "fixtures")
            {
                collect_rs(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn check_file(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.trim_start().starts_with("//!") {
        problems.push(format!("{name}: does not start with a `//!` module doc"));
    }
    // Split off `#[cfg(test)]` modules: the panic rules are for library code.
    let library = text.split("#[cfg(test)]").next().unwrap_or(text);
    let is_library = name.contains("/src/")
        && !name.starts_with("xtask")
        && !name.contains("/testing/")
        && !name.starts_with("session-bench")
        && !name.starts_with("session-demo");
    let lines: Vec<&str> = library.lines().collect();
    let should_panic = concat!("#[should", "_panic");
    for (i, line) in text.lines().enumerate() {
        if line.contains(should_panic) && !line.trim_start().starts_with("//") {
            problems.push(format!(
                "{name}:{}: a should-panic test: assert on a typed error instead",
                i + 1
            ));
        }
    }
    if is_library {
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if (code.contains(".unwrap()") || code.contains(".expect("))
                && !has_invariant_above(&lines, i)
            {
                problems.push(format!(
                    "{name}:{}: unwrap/expect without an `Invariant:` comment",
                    i + 1
                ));
            }
        }
    }
    if is_library {
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if USERSPACE_RNG.iter().any(|p| code.contains(p)) {
                problems.push(format!(
                    "{name}:{}: a userspace random generator: use `getrandom::fill` (S-01)",
                    i + 1
                ));
            }
        }
    }
    if name.contains("/codec/") {
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let raw_bytes = ["as_bytes() ==", "== &", ".0 ==", "== *", "into_bytes() =="];
            if raw_bytes.iter().any(|p| code.contains(p)) {
                problems.push(format!(
                    "{name}:{}: `==` on tag or signature bytes: use constant-time equality",
                    i + 1
                ));
            }
        }
    }
    problems
}

/// Random number generators that are not the operating system's: ids, keys, nonces and salts
/// come from `getrandom` only (S-01).
const USERSPACE_RNG: [&str; 7] = [
    "thread_rng",
    "rand::random",
    "rand::rng(",
    "StdRng",
    "SmallRng",
    "fastrand",
    "from_entropy",
];

/// An `Invariant:` comment on one of the six lines above (or on the line itself).
fn has_invariant_above(lines: &[&str], i: usize) -> bool {
    let from = i.saturating_sub(6);
    lines[from..=i].iter().any(|l| l.contains("Invariant:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_tidy() {
        let problems = check(&crate::env::workspace_root()).expect("tree readable");
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn the_checks_catch_what_they_claim_to() {
        let bad = format!(
            "fn f() {{ x.unwrap(); }}\n{}]\n",
            concat!("#[should", "_panic")
        );
        let problems = check_file("session-core/src/x.rs", &bad);
        assert_eq!(problems.len(), 3, "{problems:?}");
        let ok = "//! doc\n// Invariant: never empty\nfn f() { x.unwrap(); }\n";
        assert!(check_file("session-core/src/x.rs", ok).is_empty());
        let ct = "//! doc\nif tag.as_bytes() == other {}\n";
        assert_eq!(check_file("session-core/src/codec/x.rs", ct).len(), 1);
        for rng in USERSPACE_RNG {
            let weak = format!("//! doc\nlet id = {rng}::gen();\n");
            assert_eq!(
                check_file("session-core/src/id.rs", &weak).len(),
                1,
                "{rng}"
            );
            assert!(
                check_file("session-core/tests/x.rs", &weak).is_empty(),
                "{rng}"
            );
        }
    }
}
