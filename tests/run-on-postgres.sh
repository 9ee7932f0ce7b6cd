#!/usr/bin/env bash
# Runs the black-box tests with every desktop agent keeping its state in PostgreSQL instead of
# its redb file: a throwaway cluster (Debian's postgresql, tests/postgres-cluster.sh) is
# started, each agent gets a database of its own there (tests/src/postgres.rs,
# CLICK_TEST_POSTGRES), and the cluster is removed afterwards.
#   tests/run-on-postgres.sh [cargo test arguments, e.g. --no-fail-fast, --test users]
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/postgres-cluster.sh
start_postgres
cargo build -q -p click-tokio
CLICK_TEST_POSTGRES=$PG_URL cargo test -q -p click-blackbox "$@"
