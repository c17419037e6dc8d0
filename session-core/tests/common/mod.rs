//! Running the interop tests' Node.js scripts against the npm packages `cargo xtask test`
//! installs in `<workspace>/.tools/node` (or `$SESSION_NODE_TOOLS`). A missing piece fails the
//! test with a message saying how to install it: it is never skipped.

use std::path::PathBuf;
use std::process::Command;

/// Writes `source` as `script_name` in the tools directory (so `import '<package>'` resolves),
/// runs it with node, `env` and `args`, and returns its trimmed stdout.
pub(crate) fn run_node(
    package: &str,
    script_name: &str,
    source: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> String {
    let dir = std::env::var_os("SESSION_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/node"));
    assert!(
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .exists(),
        "the {package} npm package is missing in {}: run `cargo xtask test` (it installs it) or \
         `npm install --prefix .tools/node {package}`",
        dir.display()
    );
    let path = dir.join(script_name);
    std::fs::write(&path, source).expect("write the node script");
    let output = Command::new("node")
        .arg(&path)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("node is required for the {package} interop test: {e}"));
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}
