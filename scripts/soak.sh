#!/usr/bin/env bash
# The long runs CI only samples: the sync planner's generated cases (100,000; CI 2,000), the
# deterministic simulation of a synced folder's pass (10,000 seeded runs with edits, provider
# failures and crashes at journal writes; CI 500), and kill -9 rounds of a mounted drive
# (100; CI 21). Each can be set on the command line: CLICK_PLANNER_CASES=..., and so on.
# Mount rounds need root (FUSE); without it they are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

export CLICK_PLANNER_CASES="${CLICK_PLANNER_CASES:-100000}"
export CLICK_SYNC_SIM_SEEDS="${CLICK_SYNC_SIM_SEEDS:-10000}"
export CLICK_KILL_ROUNDS="${CLICK_KILL_ROUNDS:-100}"

echo "== planner: $CLICK_PLANNER_CASES cases, sync simulation: $CLICK_SYNC_SIM_SEEDS runs"
cargo test --release -p click-core --lib -- drives::planner drives::sync

echo "== kill -9 of a mounted drive: $CLICK_KILL_ROUNDS rounds"
if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: FUSE mounts in the tests need root"
    exit 0
fi
cargo build -p click-tokio
cargo test -p click-blackbox --test drive_mounts -- kill_9 --nocapture
