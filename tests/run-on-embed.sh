#!/usr/bin/env bash
# Runs black-box tests against the app that embeds the core (examples/embed): each test's agent
# is that app on a free port of 127.0.0.1, the Click API mounted under /click (the harness
# prefixes every call and WebSocket path, CLICK_TARGET=embed). No root, no other server.
#   tests/run-on-embed.sh [cargo test arguments, e.g. --no-fail-fast, or --test users to run
#                          that file instead of the list below]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p click-example-embed
# robustness lists the routes with `click-agent routes`.
cargo build -q -p click-tokio

# The files with tests that run here. Left out: every test of shared_drives, cloud_* and
# durability needs what only click-agent has (cloud providers, a store kept across restarts),
# route_table reads click-agent's own route table, doc_contract runs on click-agent.
files=(management authentication users directory security websockets apitoken mfa_and_google
  logsetting robustness mail)
args=()
[[ " $* " == *" --test "* ]] || for f in "${files[@]}"; do args+=(--test "$f"); done
CLICK_TARGET=embed cargo test -q -p click-blackbox "${args[@]}" "$@"
