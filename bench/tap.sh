#!/usr/bin/env bash
# The embassy adapter on a TAP device against the desktop agent and the bare hyper server, all
# inside one private network namespace (made and removed here; needs root), with wrk.
#   bench/tap.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
cargo build --release -q -p click-embassy-tuntap -p click-tokio -p bare-hyper
ns="click-bench-$$"
work=$(mktemp -d)
ip netns add "$ns"
cleanup() { ip netns pids "$ns" | xargs -r kill 2>/dev/null || true; ip netns del "$ns"; rm -rf "$work"; }
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
in_ns ip tuntap add tapbench mode tap
in_ns ip addr add 10.77.250.1/24 dev tapbench
in_ns ip link set tapbench up
in_ns target/release/click-embassy-tuntap --tap tapbench --address 10.77.250.2/24 --data-dir "$work/tap" > "$work/tap.out" &
in_ns target/release/bare-hyper 127.0.0.1:18080 > /dev/null &
in_ns target/release/click-agent serve --listen 127.0.0.1:18081 --data-dir "$work/desktop" > /dev/null 2>&1 &
sleep 1.5
echo "| server | conns | req/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for conns in 1 4 16; do
  for target in "bare-hyper http://127.0.0.1:18080/x" \
                "click-agent http://127.0.0.1:18081/management/agent_status" \
                "click-embassy-tuntap http://10.77.250.2/management/agent_status"; do
    set -- $target
    in_ns wrk -t1 -c"$conns" -d"${secs}s" --latency "$2" | bench/wrk_row.py "$1" "$conns"
  done
done
