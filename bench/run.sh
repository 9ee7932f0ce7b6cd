#!/usr/bin/env bash
# Benchmarks the agent against two bare hyper servers, in the same run, on this machine: one
# answering one byte (the cost of HTTP itself), one replaying the agent's own answers byte for
# byte, headers included (so the ratio against it is the agent's own cost).
#   bench/run.sh [SECONDS] [ROUNDS]   (default 5 s per measurement, 3 rounds; needs wrk)
# Each row alternates the three servers ROUNDS times and reports medians, so that the noise of
# a shared machine hits them alike.
# Prints a Markdown report on stdout; BENCHMARKS.md holds the last one committed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q -p click-tokio -p bare-hyper

work=$(mktemp -d)
cleanup() { kill "${bare_pid:-}" "${same_pid:-}" "${agent_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
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
source bench/sign_in.sh
sign_in "$work/data/outbox"

# The agent's answers, recorded for the replaying baseline.
mkdir "$work/replay"
curl -sfi "$api/management/agent_status" > "$work/replay/management+agent_status.http"
curl -sfi "$api/authentication/user" -H "Authorization: Bearer $token" \
  > "$work/replay/authentication+user.http"
target/release/bare-hyper 127.0.0.1:0 "$work/replay" > "$work/same.out" &
same_pid=$!
same=$(port_of "$work/same.out")

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
echo "| endpoint | conns | 1-byte hyper req/s | same-bytes hyper req/s | agent req/s | agent / same-bytes | agent / 1-byte | same-bytes p50 / p99 (µs) | agent p50 / p99 (µs) | p99 ratio (agent / same-bytes) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
med() { printf '%s\n' "$@" | median; }
row() { # name conns path [header]
  local b_rps=() s_rps=() s_p50=() s_p99=() a_rps=() a_p50=() a_p99=() r p5 p9
  for _ in $(seq "$rounds"); do
    read -r r p5 p9 < <(measure "http://127.0.0.1:$bare$3" "$2")
    b_rps+=("$r")
    read -r r p5 p9 < <(measure "http://127.0.0.1:$same$3" "$2" "${4:-}")
    s_rps+=("$r"); s_p50+=("$p5"); s_p99+=("$p9")
    read -r r p5 p9 < <(measure "$api$3" "$2" "${4:-}")
    a_rps+=("$r"); a_p50+=("$p5"); a_p99+=("$p9")
  done
  local br sr sp5 sp9 ar ap5 ap9
  br=$(med "${b_rps[@]}"); sr=$(med "${s_rps[@]}"); sp5=$(med "${s_p50[@]}")
  sp9=$(med "${s_p99[@]}"); ar=$(med "${a_rps[@]}"); ap5=$(med "${a_p50[@]}"); ap9=$(med "${a_p99[@]}")
  python3 -c "print(f'| $1 | $2 | $br | $sr | $ar | {$ar / $sr:.2f} | {$ar / $br:.2f} | $sp5 / $sp9 | $ap5 / $ap9 | {$ap9 / $sp9:.2f} |')"
}
for conns in 1 64; do
  row '`GET /management/agent_status`' "$conns" /management/agent_status
  row '`GET /authentication/user` (Bearer token)' "$conns" /authentication/user "Authorization: Bearer $token"
done
echo
echo "Agent RSS: idle after start and one login $((idle_rss / 1024)) MiB ($idle_rss KiB); after the load $(( $(rss_kib "$agent_pid") / 1024 )) MiB."
