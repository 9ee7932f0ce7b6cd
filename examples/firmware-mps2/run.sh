#!/usr/bin/env bash
# Builds the firmware, boots it in QEMU (mps2-an386, Cortex-M4) where it runs its self-test,
# and checks the sizes against their budgets:
#   per-connection future (buffers included)  <= 8 KiB
#   .text                                      <= 256 KiB
#   static RAM (.data + .bss: heap, connection task pool, event queue) <= 128 KiB
# Exits non-zero if the self-test or a budget fails. Needs qemu-system-arm.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=thumbv7em-none-eabihf
cargo build -q -p click-firmware-mps2 --target "$target" --profile firmware
elf=${CARGO_TARGET_DIR:-target}/$target/firmware/click-firmware-mps2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
timeout 300 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
  -semihosting-config enable=on,target=native -kernel "$elf" | tee "$log" || status=$?
[ "$status" -eq 0 ] || { echo "firmware self-test failed (exit $status)" >&2; exit 1; }

python3 - "$elf" "$log" <<'PY'
import re, struct, sys
elf, log = sys.argv[1], open(sys.argv[2]).read()
data = open(elf, "rb").read()
# ELF32 little-endian section headers: name, type, flags, addr, offset, size, ...
shoff, = struct.unpack_from("<I", data, 0x20)
shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
def header(i):
    return struct.unpack_from("<10I", data, shoff + i * shentsize)
names_off = header(shstrndx)[4]
sizes = {}
for i in range(shnum):
    h = header(i)
    end = data.index(b"\0", names_off + h[0])
    sizes[data[names_off + h[0]:end].decode()] = h[5]
conn = int(re.search(r"connection future (\d+) bytes", log).group(1))
heap = re.search(r"heap peak (\d+) bytes of (\d+)", log)
rows = [
    ("per-connection future", conn, 8 * 1024),
    (".text", sizes.get(".text", 0), 256 * 1024),
    ("static RAM (.data + .bss)", sizes.get(".data", 0) + sizes.get(".bss", 0), 128 * 1024),
]
print("| budget | bytes | limit | |\n|---|---|---|---|")
ok = True
for name, value, limit in rows:
    ok &= value <= limit
    print(f"| {name} | {value} | {limit} | {'ok' if value <= limit else 'OVER'} |")
print(f"\n.rodata {sizes.get('.rodata', 0)} bytes; heap peak {heap.group(1)} of {heap.group(2)} bytes "
      "(the heap is part of .bss).")
sys.exit(0 if ok else 1)
PY
