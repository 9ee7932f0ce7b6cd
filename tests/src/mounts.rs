//! What the tests of FUSE mounts (cloud drives, SMB and NFS shares) share: whether a folder is
//! a mount point, its entries, and an unmount that runs however a test ends.

use std::path::{Path, PathBuf};

/// Unmounts what a test mounted, however it ends (an agent killed by the test harness leaves
/// its mount behind).
pub struct Unmount(pub PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether `path` is a mount point of this machine.
pub fn is_mounted(path: &Path) -> bool {
    // The kernel writes a space in a mount point as `\040`.
    let escaped = path.to_str().unwrap().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| {
        m.lines()
            .any(|l| l.split(' ').nth(1) == Some(escaped.as_str()))
    })
}

/// The names in folder `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}
