//! A small file system of its own for a store's disk-full fault tests: a tmpfs of a given size,
//! which can grow again under a running store, and text to fill it with.
//!
//! It cannot be turned read-only under a running store: Linux refuses a read-only remount
//! (`EBUSY`) while a file on it is open for writing, which a running store's always is.
//!
//! Linux only, and it needs root (`mount`), as the tests of this workspace run; without it,
//! [`SmallDisk::mount`] fails saying so rather than skipping.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// A tmpfs mounted on a fresh directory under the system's temp dir, unmounted and removed on
/// drop (drop the store that uses it first).
#[derive(Debug)]
pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount`'s syntax: `2m`, `512k`) on a new directory.
    ///
    /// # Panics
    ///
    /// When the tmpfs cannot be mounted (not root, no `mount`): a test that needs it cannot run.
    pub fn mount(size: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "small-disk-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let disk = SmallDisk { dir };
        disk.run_mount(&[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0700"),
            "tmpfs",
        ]);
        disk
    }

    /// The mounted directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Gives the mounted directory to the system user `user` (a database server's).
    ///
    /// # Panics
    ///
    /// When `chown` fails.
    pub fn give_to(&self, user: &str) {
        let status = Command::new("chown")
            .arg(user)
            .arg(&self.dir)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {} to {user}", self.dir.display());
    }

    /// Remounts the file system with a new `size` ("the operator freed space"); files stay
    /// open across it.
    ///
    /// # Panics
    ///
    /// When the remount fails.
    pub fn resize(&self, size: &str) {
        self.run_mount(&["-o", &format!("remount,size={size}")]);
    }

    fn run_mount(&self, args: &[&str]) {
        let out = Command::new("mount")
            .args(args)
            .arg(&self.dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs ({args:?}) for a fault test (needs root and `mount`): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `bytes` (or a little more) of random hex: session data that no engine can compress away
/// (PostgreSQL's TOAST, a page compressor), to fill a [`SmallDisk`] with.
///
/// ```
/// let filler = session_core::testing::incompressible_text(1000);
/// assert!(filler.len() >= 1000 && filler.bytes().all(|b| b.is_ascii_hexdigit()));
/// ```
pub fn incompressible_text(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 64);
    while out.len() < bytes {
        out.push_str(&crate::id::SessionId::generate().key().to_hex());
    }
    out
}
