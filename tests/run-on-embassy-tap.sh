#!/usr/bin/env bash
# Runs black-box tests against the embassy adapter (examples/embassy-tuntap) instead of the
# desktop agent: each test's agent gets its own TAP device, inside a private network namespace
# made here and removed afterwards. Needs root.
#   tests/run-on-embassy-tap.sh [cargo test arguments, e.g. --test management]
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/require.sh
require ip iproute2
cargo build -q -p click-embassy-tuntap -p click-tokio
ns="click-embassy-tests-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" env CLICK_TARGET=embassy-tuntap cargo test -q -p click-blackbox "$@"
