#!/usr/bin/env bash
# Builds the firmware, boots it in QEMU (mps2-an386, Cortex-M4) where it runs its self-test,
# and checks the sizes against their budgets:
#   per-connection future (buffers included)  <= 8 KiB
#   .text                                      <= 256 KiB
#   static RAM (.data + .bss: heap, connection task pool, event queue) <= 128 KiB
# Exits non-zero if the self-test or a budget fails. Needs qemu-system-arm.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/require.sh
require qemu-system-arm
require python3
target=thumbv7em-none-eabihf
cargo build -q -p click-firmware-mps2 --target "$target" --profile firmware
elf=${CARGO_TARGET_DIR:-target}/$target/firmware/click-firmware-mps2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
timeout 300 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf" | tee "$log" || status=$?
[ "$status" -eq 0 ] || { echo "firmware self-test failed (exit $status)" >&2; exit 1; }

python3 examples/firmware-mps2/sizes.py "$elf" $((256 * 1024)) $((128 * 1024)) "$log"
