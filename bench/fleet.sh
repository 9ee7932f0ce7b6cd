#!/usr/bin/env bash
# Fleet benchmark (issue 16): the directory of bench/directory.sh (one account of 100,000
# users, 2,000 groups, 500 projects) kept in PostgreSQL next to the same on redb, in the same
# run, and one agent against two agents sharing the database.
#   bench/fleet.sh [SECONDS]     (default 5 s per measurement; needs wrk)
# - get_all_users, page of 50 sorted by CreateDate: p50, p99 and requests/s from wrk on one
#   connection, on redb and on PostgreSQL;
# - authenticated requests/s (the same call, 16 connections): one agent on PostgreSQL, then
#   two agents on the same database, 8 connections each, at the same time;
# - the same with each agent held to AGENT_CPUS of a core (default 0.5) by a cgroup CPU
#   quota: agents on small machines of their own, which one 2-core machine can only stand
#   for this way (it needs root and a cgroup v1 `cpu` or v2 hierarchy; skipped without).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
users=${USERS:-100000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
source tests/postgres-cluster.sh
cargo build --release -q -p click-tokio --bin click-agent --example seed
start_postgres

work=$(mktemp -d)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  for dir in "${cgroups[@]}"; do rmdir "$dir" 2>/dev/null || true; done
  rm -rf "$work"
  stop_postgres
}
trap cleanup EXIT

start_agent() { # data dir, config file; sets port
  local out="$1.out"
  target/release/click-agent serve --listen 127.0.0.1:0 --data-dir "$1" --config "$2" > "$out" 2> "$1.err" &
  pids+=($!)
  for _ in $(seq 100); do
    port=$(grep -m1 -o 'http://[0-9.:]*' "$out" 2>/dev/null | sed 's/.*://' || true)
    [ -n "$port" ] && return
    sleep 0.1
  done
  echo "agent did not start: $(cat "$1.err")" >&2; exit 1
}

# Holds process $1 to AGENT_CPUS of a core in a cgroup of its own, named $2.
agent_cpus=${AGENT_CPUS:-0.5}
cap_cpu() {
  local quota dir
  quota=$(python3 -c "print(int($agent_cpus * 100000))")
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    dir=/sys/fs/cgroup/click-bench-$2
    mkdir -p "$dir" && echo "$quota 100000" > "$dir/cpu.max"
  elif [ -d /sys/fs/cgroup/cpu ]; then
    dir=/sys/fs/cgroup/cpu/click-bench-$2
    mkdir -p "$dir" && echo 100000 > "$dir/cpu.cfs_period_us" && echo "$quota" > "$dir/cpu.cfs_quota_us"
  else
    return 1
  fi
  echo "$1" > "$dir/cgroup.procs"
  cgroups+=("$dir")
}
cgroups=()

stop_agents() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=(); }

wrk_row() { # connections url token -> p50 p99 rps
  wrk -t1 -c"$1" -d"${secs}s" --latency -H "Authorization: Bearer $3" "$2" | python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    n, u = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[u]
if "Non-2xx" in t: sys.exit("non-2xx answers")
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
print(f"{p50:.2f} {p99:.2f} {rps:.0f}")'
}

page="/user/get_all_users?pagesize=50&sortfield=CreateDate"
echo "## Fleet run of $(date -u +%Y-%m-%dT%H:%MZ), $users users, $(nproc) cores"
echo

# redb, the default.
: > "$work/redb.toml"
token=$(target/release/examples/seed "$work/redb" "$users" 2000 500 2>/dev/null)
start_agent "$work/redb" "$work/redb.toml"
read -r r50 r99 rrps < <(wrk_row 1 "http://127.0.0.1:$port$page" "$token")
stop_agents

# PostgreSQL: the same rows in a database of the cluster.
psql "$PG_URL/postgres" -q -c "CREATE DATABASE bench"
url="$PG_URL/bench"
printf '[store]\nurl = "%s"\nkeys_dir = "%s"\n' "$url" "$work/keys" > "$work/pg.toml"
token=$(target/release/examples/seed "$work/seed" "$users" 2000 500 "$url" 2>/dev/null)
start_agent "$work/pg1" "$work/pg.toml"
one=$port
read -r p50 p99 prps < <(wrk_row 1 "http://127.0.0.1:$one$page" "$token")
read -r _ _ one_rps < <(wrk_row 16 "http://127.0.0.1:$one$page" "$token")
start_agent "$work/pg2" "$work/pg.toml"
two=$port
wrk_row 8 "http://127.0.0.1:$one$page" "$token" > "$work/a.txt" &
first=$!
wrk_row 8 "http://127.0.0.1:$two$page" "$token" > "$work/b.txt"
wait "$first"
two_rps=$(( $(awk '{print $3}' "$work/a.txt") + $(awk '{print $3}' "$work/b.txt") ))
stop_agents

# The same, each agent held to AGENT_CPUS of a core.
capped=false
start_agent "$work/pg1" "$work/pg.toml"
one=$port
if cap_cpu "${pids[-1]}" one; then
  capped=true
  read -r _ _ one_capped < <(wrk_row 16 "http://127.0.0.1:$one$page" "$token")
  start_agent "$work/pg2" "$work/pg.toml"
  two=$port
  cap_cpu "${pids[-1]}" two
  wrk_row 8 "http://127.0.0.1:$one$page" "$token" > "$work/a.txt" &
  first=$!
  wrk_row 8 "http://127.0.0.1:$two$page" "$token" > "$work/b.txt"
  wait "$first"
  two_capped=$(( $(awk '{print $3}' "$work/a.txt") + $(awk '{print $3}' "$work/b.txt") ))
fi
stop_agents

ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
echo "| store | get_all_users p50 (ms) | p99 (ms) | req/s (1 conn) | p50 vs redb |"
echo "|---|---|---|---|---|"
echo "| redb | $r50 | $r99 | $rrps | 1.00x |"
echo "| PostgreSQL | $p50 | $p99 | $prps | $(ratio "$p50" "$r50") |"
echo
echo "| agents on one PostgreSQL database | req/s (16 connections in all) | vs one agent |"
echo "|---|---|---|"
echo "| 1 | $one_rps | 1.00x |"
echo "| 2 | $two_rps | $(ratio "$two_rps" "$one_rps") |"
if $capped; then
  echo
  echo "| agents on one PostgreSQL database, each held to $agent_cpus of a core | req/s (16 connections in all) | vs one agent |"
  echo "|---|---|---|"
  echo "| 1 | $one_capped | 1.00x |"
  echo "| 2 | $two_capped | $(ratio "$two_capped" "$one_capped") |"
fi
