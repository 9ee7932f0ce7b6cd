#!/usr/bin/env bash
# The networked firmware (QEMU mps2-an386, Cortex-M4 emulated, LAN9118 on QEMU's user network)
# next to the desktop agent on loopback in the same run, with wrk. Needs qemu-system-arm and wrk.
#   bench/firmware.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
target=thumbv7em-none-eabihf
cargo build -q -p click-firmware-mps2 --target "$target" --profile firmware --features net
cargo build --release -q -p click-tokio
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/firmware/outbox"
(cd "$work/firmware" && exec qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
  -monitor none -serial none -semihosting-config enable=on,target=native,arg=firmware \
  -kernel "$OLDPWD/${CARGO_TARGET_DIR:-target}/$target/firmware/click-firmware-mps2" \
  -nic "user,model=lan9118,hostfwd=tcp:127.0.0.1:$port-:80" > "$work/firmware.out") &
pids+=($!)
target/release/click-agent serve --listen 127.0.0.1:18081 --data-dir "$work/desktop" > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/firmware.out" 2>/dev/null && break; sleep 0.2; done
echo "| server | conns | req/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for conns in 1 4; do
  for server in "click-agent http://127.0.0.1:18081/management/agent_status" \
                "firmware-mps2 http://127.0.0.1:$port/management/agent_status"; do
    set -- $server
    wrk -t1 -c"$conns" -d"${secs}s" --latency "$2" | bench/wrk_row.py "$1" "$conns"
  done
done
