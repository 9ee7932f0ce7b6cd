//! What QEMU's semihosting gives the networked firmware: the host's time at boot, the
//! command line (`-semihosting-config arg=...`), and files in QEMU's working directory: the
//! device's configuration (`config.json`), and its outbox copied for the tests to read (a
//! device has no mail server).

use alloc::vec::Vec;

use cortex_m_semihosting::{nr, syscall, syscall1};

/// Seconds since the Unix epoch, from the host.
pub fn unix_secs() -> u64 {
    // SAFETY: SYS_TIME takes no argument.
    unsafe { syscall!(TIME) as u64 }
}

/// Centiseconds since QEMU started: differs from boot to boot, some seed for the RNG.
pub fn clock_cs() -> u64 {
    // SAFETY: SYS_CLOCK takes no argument.
    unsafe { syscall!(CLOCK) as u64 }
}

/// The words QEMU was given with `-semihosting-config arg=...`.
pub fn has_arg(wanted: &str) -> bool {
    let mut buf = [0u8; 256];
    // The host writes the line into `buf` and its length into the block's second word.
    let mut block = [buf.as_mut_ptr() as usize, buf.len()];
    // SAFETY: the block points at `buf`, which outlives the call; the host writes at most
    // `buf.len()` bytes.
    let failed = unsafe { syscall1(nr::GET_CMDLINE, block.as_mut_ptr() as usize) } != 0;
    let len = block[1].min(buf.len());
    !failed
        && core::str::from_utf8(&buf[..len])
            .unwrap_or("")
            .split_whitespace()
            .any(|arg| arg == wanted)
}

/// A file's contents; `None` if there is no such file.
pub fn read_file(name: &str) -> Option<Vec<u8>> {
    let path = nul_terminated(name);
    // SAFETY: the pointers are valid for the lengths passed, for the duration of each call.
    unsafe {
        let fd = syscall!(OPEN, path.as_ptr(), nr::open::R_BINARY, name.len()) as isize;
        if fd < 0 {
            return None;
        }
        let len = syscall!(FLEN, fd) as isize;
        let mut data = alloc::vec![0u8; len.max(0) as usize];
        let unread = syscall!(READ, fd, data.as_mut_ptr(), data.len());
        syscall!(CLOSE, fd);
        (len >= 0 && unread == 0).then_some(data)
    }
}

/// SYS_OPEN wants a NUL-terminated name (and its length without the NUL).
fn nul_terminated(name: &str) -> Vec<u8> {
    let mut path = Vec::with_capacity(name.len() + 1);
    path.extend_from_slice(name.as_bytes());
    path.push(0);
    path
}

/// Writes `data` to `name` (relative to QEMU's working directory), replacing it.
pub fn write_file(name: &str, data: &[u8]) -> bool {
    let path = nul_terminated(name);
    // SAFETY: the pointers are valid for the lengths passed, for the duration of each call.
    unsafe {
        let fd = syscall!(OPEN, path.as_ptr(), nr::open::W_TRUNC_BINARY, name.len()) as isize;
        if fd < 0 {
            return false;
        }
        let unwritten = syscall!(WRITE, fd, data.as_ptr(), data.len());
        syscall!(CLOSE, fd);
        unwritten == 0
    }
}
