#!/usr/bin/env bash
# Directory benchmark (issue 3): one account with many users, groups and projects.
#   bench/directory.sh [SECONDS]     (default 5 s per measurement; needs wrk)
# - get_all_users, page of 50 sorted by CreateDate (descending, the default), at 1,000 and at
#   100,000 users: p50, p99 and requests/s from wrk on one connection;
# - import_users of 10,000 relations (5,000 users x 2 groups), timed with curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p click-tokio --bin click-agent --example seed

work=$(mktemp -d)
cleanup() { kill "${agent_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_agent() { # data dir
  target/release/click-agent serve --listen 127.0.0.1:0 --data-dir "$1" > "$work/agent.out" 2> "$work/agent.err" &
  agent_pid=$!
  for _ in $(seq 100); do
    port=$(grep -m1 -o 'http://[0-9.:]*' "$work/agent.out" 2>/dev/null | sed 's/.*://' || true)
    [ -n "$port" ] && return
    sleep 0.1
  done
  echo "agent did not start: $(cat "$work/agent.err")" >&2; exit 1
}

latency() { # url token
  wrk -t1 -c1 -d"${secs}s" --latency -H "Authorization: Bearer $2" "$1" | python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    n, u = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[u]
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
if "Non-2xx" in t: sys.exit("non-2xx answers")
print(f"{p50:.2f} {p99:.2f} {rps:.0f}")'
}

echo "## Directory run of $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| users | groups | projects | seed time | get_all_users p50 (ms) | p99 (ms) | req/s (1 conn) |"
echo "|---|---|---|---|---|---|---|"
for users in 1000 100000; do
  dir="$work/data-$users"
  seed_start=$(date +%s.%N)
  token=$(target/release/examples/seed "$dir" "$users" 2000 500 2>/dev/null)
  seed_secs=$(python3 -c "print(f'{$(date +%s.%N) - $seed_start:.1f} s')")
  start_agent "$dir"
  api="http://127.0.0.1:$port"
  read -r p50 p99 rps < <(latency "$api/user/get_all_users?pagesize=50&sortfield=CreateDate" "$token")
  echo "| $users | 2000 | 500 | $seed_secs | $p50 | $p99 | $rps |"
  if [ "$users" = 100000 ]; then
    python3 -c '
import json
print(json.dumps([{"user": {"username": f"user{i}@example.com"}, "userGroups": [{"name": "group-1"}, {"name": "group-2"}]} for i in range(1, 5001)]))' > "$work/import.json"
    import_secs=$(curl -sf -o /dev/null -w '%{time_total}' -X POST "$api/usergroup/import_users" \
      -H "Authorization: Bearer $token" -H 'content-type: application/json' --data-binary @"$work/import.json")
    members=$(curl -sf "$api/usergroup/get_all?name=group-1&pagesize=1" -H "Authorization: Bearer $token" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
    total=$(curl -sf "$api/usergroup/get_assigned_users?userGroupId=$members&pagesize=1" -H "Authorization: Bearer $token" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  fi
  kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
done
echo
echo "import_users of 10,000 relations (5,000 users x 2 groups, by name) into the 100,000-user account: ${import_secs} s; group-1 then has $total members."
