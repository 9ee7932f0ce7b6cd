//! The click agent as firmware for a Cortex-M4 (QEMU's `mps2-an386`): it boots, runs the
//! embassy adapter's request path end to end over in-memory connections (sign-up, login, an
//! authenticated call, a WebSocket upgrade and a pushed frame), prints the results and the
//! sizes that CI holds to their budgets, and exits through semihosting: 0 when every step
//! passed.
//!
//! ```sh
//! cargo build -p click-firmware-mps2 --target thumbv7em-none-eabihf --profile firmware
//! examples/firmware-mps2/run.sh      # boots it in qemu-system-arm
//! ```
#![cfg_attr(all(target_arch = "arm", target_os = "none"), no_std, no_main)]

#[cfg(all(target_arch = "arm", target_os = "none"))]
extern crate alloc;

#[cfg(all(target_arch = "arm", target_os = "none"))]
mod firmware;
#[cfg(all(target_arch = "arm", target_os = "none", feature = "net"))]
mod host;
#[cfg(all(target_arch = "arm", target_os = "none", feature = "net"))]
mod lan9118;
#[cfg(all(target_arch = "arm", target_os = "none", not(feature = "net")))]
mod selftest;
#[cfg(all(target_arch = "arm", target_os = "none", feature = "net"))]
mod served;
#[cfg(all(target_arch = "arm", target_os = "none", feature = "net"))]
mod time;
#[cfg(all(target_arch = "arm", target_os = "none", feature = "net"))]
mod vectors;

#[cfg(not(all(target_arch = "arm", target_os = "none")))]
fn main() {
    eprintln!(
        "click-firmware-mps2 is firmware: build it with\n  cargo build -p click-firmware-mps2 \
         --target thumbv7em-none-eabihf --profile firmware\nand boot it with \
         examples/firmware-mps2/run.sh"
    );
}
