//! Puts `memory.x` where cortex-m-rt's `link.x` finds it, for the firmware target only.

use std::path::PathBuf;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.starts_with("thumbv") {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    // cortex-m-rt's `device` feature (the networked build) includes `device.x`; our interrupt
    // table (src/vectors.rs) names its handlers itself, so it has nothing to provide.
    std::fs::write(out.join("device.x"), "").expect("write device.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rustc-link-arg=-Tlink.x");
}
