#!/usr/bin/env bash
# Benchmarks the agent against a bare hyper server, in the same run, on this machine.
#   bench/run.sh [SECONDS] [ROUNDS]   (default 5 s per measurement, 3 rounds; needs wrk)
# Each row alternates the bare server and the agent ROUNDS times and reports medians, so that
# the noise of a shared machine hits both alike.
# Prints a Markdown report on stdout; BENCHMARKS.md holds the last one committed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p click-tokio -p bare-hyper

work=$(mktemp -d)
cleanup() { kill "${bare_pid:-}" "${agent_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port_of() { # waits for the "listening on http://ADDR" line in a file
  for _ in $(seq 100); do
    line=$(grep -m1 -o 'http://[0-9.:]*' "$1" 2>/dev/null || true)
    [ -n "$line" ] && { echo "${line##*:}"; return; }
    sleep 0.1
  done
  echo "server did not start: $(cat "$1")" >&2; exit 1
}

target/release/bare-hyper 127.0.0.1:0 > "$work/bare.out" &
bare_pid=$!
target/release/click-agent serve --listen 127.0.0.1:0 --data-dir "$work/data" > "$work/agent.out" 2> "$work/agent.err" &
agent_pid=$!
bare=$(port_of "$work/bare.out")
agent=$(port_of "$work/agent.out")

# An account and a token, through the API.
api=http://127.0.0.1:$agent
curl -sf -X POST "$api/authentication/signup" -H 'content-type: application/json' \
  -d '{"name":"Bench Mark","email":"bench@example.com","password":"benchmark password"}' > /dev/null
code=$(grep -h '^X-Click-Token:' "$work/data/outbox/"*.eml | head -1 | tr -d '\r' | awk '{print $2}')
curl -sf -X POST "$api/authentication/confirm_signup" -H 'content-type: application/json' \
  -d "{\"email\":\"bench@example.com\",\"token\":\"$code\"}" > /dev/null
token=$(curl -sf -X POST "$api/authentication/login" -H 'content-type: application/json' \
  -d '{"username":"bench@example.com","password":"benchmark password","type":16}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["jwtToken"])')
curl -sf "$api/authentication/user" -H "Authorization: Bearer $token" > /dev/null

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
idle_rss=$(rss_kib "$agent_pid")

# wrk: requests/s, p50, p99 (latencies converted to microseconds).
measure() { # url conns [header]
  local threads=1; [ "$2" -gt 1 ] && threads=2
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t"$threads" -c"$2" -d"${secs}s" --latency -H "$3" "$1")
  else
    out=$(wrk -t"$threads" -c"$2" -d"${secs}s" --latency "$1")
  fi
  echo "$out" | python3 -c '
import re, sys
text = sys.stdin.read()
def us(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 1, "ms": 1000, "s": 1e6}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = us(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = us(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors: sys.exit("non-2xx responses: " + errors.group(1))
print(f"{rps:.0f} {p50:.0f} {p99:.0f}")'
}

echo "## Run of $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))," \
  "$(free -g | awk '/Mem:/ {print $2}') GiB; load generator wrk on the same cores;" \
  "medians of $rounds alternating rounds of ${secs} s."
echo
echo "| endpoint | conns | bare hyper req/s | agent req/s | ratio | bare p50 / p99 (µs) | agent p50 / p99 (µs) | p99 ratio |"
echo "|---|---|---|---|---|---|---|---|"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
row() { # name conns agent-url [header]
  local b_rps=() b_p50=() b_p99=() a_rps=() a_p50=() a_p99=()
  for _ in $(seq "$rounds"); do
    read -r r p5 p9 < <(measure "http://127.0.0.1:$bare/management/agent_status" "$2")
    b_rps+=("$r"); b_p50+=("$p5"); b_p99+=("$p9")
    read -r r p5 p9 < <(measure "$3" "$2" "${4:-}")
    a_rps+=("$r"); a_p50+=("$p5"); a_p99+=("$p9")
  done
  local br bp5 bp9 ar ap5 ap9
  br=$(printf '%s\n' "${b_rps[@]}" | median); bp5=$(printf '%s\n' "${b_p50[@]}" | median)
  bp9=$(printf '%s\n' "${b_p99[@]}" | median); ar=$(printf '%s\n' "${a_rps[@]}" | median)
  ap5=$(printf '%s\n' "${a_p50[@]}" | median); ap9=$(printf '%s\n' "${a_p99[@]}" | median)
  python3 -c "print(f'| $1 | $2 | $br | $ar | {$ar / $br:.2f} | $bp5 / $bp9 | $ap5 / $ap9 | {$ap9 / $bp9:.2f} |')"
}
for conns in 1 64; do
  row '`GET /management/agent_status`' "$conns" "$api/management/agent_status"
  row '`GET /authentication/user` (Bearer token)' "$conns" "$api/authentication/user" "Authorization: Bearer $token"
done
echo
echo "Agent RSS: idle after start and one login $((idle_rss / 1024)) MiB ($idle_rss KiB); after the load $(( $(rss_kib "$agent_pid") / 1024 )) MiB."
