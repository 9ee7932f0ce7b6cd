#!/usr/bin/env bash
# Runs black-box tests against the networked firmware (examples/firmware-mps2, feature `net`):
# each test's agent is a QEMU mps2-an386 booting it, served over the board's LAN9118 and QEMU's
# user network, port 80 forwarded to a free port on 127.0.0.1. Needs qemu-system-arm.
#   tests/run-on-firmware.sh [cargo test arguments, e.g. --test management]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/require.sh
require qemu-system-arm
require python3
target=thumbv7em-none-eabihf
cargo build -q -p click-firmware-mps2 --target "$target" --profile firmware --features net
dir=${CARGO_TARGET_DIR:-target}
# Its own name: the self-test build (examples/firmware-mps2/run.sh) has the same artifact path.
cp "$dir/$target/firmware/click-firmware-mps2" "$dir/click-firmware-mps2-net.elf"
# Its own budgets: embassy-net/smoltcp and the NIC driver come on top of the self-test's code,
# and 8 connections (each WebSocket holds one) with 2 request buffers.
echo "networked firmware sizes:"
python3 examples/firmware-mps2/sizes.py "$dir/click-firmware-mps2-net.elf" $((288 * 1024)) $((128 * 1024))
cargo build -q -p click-tokio
CLICK_TARGET=firmware-mps2 CLICK_FIRMWARE_ELF="$(realpath "$dir/click-firmware-mps2-net.elf")" \
  cargo test -q -p click-blackbox "$@"
