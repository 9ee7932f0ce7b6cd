#!/usr/bin/env bash
# A cloud backup against `rclone copy` on the same S3 server (s3s-fs), in the same run:
#   bench/backup.sh [FILES] [BIG_MIB] [WIDE]   # default 10000 1024 100000
# Rows: the first backup of FILES files of 16 KiB in 100 folders (three folders, each side's
# median; the agent timed until its pass ends, then checked), and of one BIG_MIB file (timed
# until the bucket holds every byte), against `rclone copy` of the same folder to its own
# bucket; then a run over WIDE unchanged files (the agent's pass, timed from its log,
# knows them from its journal; rclone lists the bucket and compares) against `rclone copy`
# over the same unchanged folder; then the median latency of each report endpoint of the
# WIDE-file backup (20 calls each). Needs rclone, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-10000}
big_mib=${2:-1024}
wide=${3:-100000}
NEED_MIB=$((big_mib * 5 + wide / 50 + files * 16 * 3 * 3 / 1024))
# The agent says when each pass of a backup ends, and how long it took.
export RUST_LOG=info,click_tokio::drives::synced=debug
source bench/agent_and_rclone.sh

# The small-file row is the median of ROUNDS runs of each, taken in turns: one run of a few
# seconds on a shared 2-core machine varies by more than the margin it measures.
ROUNDS=3
for i in $(seq $ROUNDS); do mkdir -p "$work/s3/asmall$i" "$work/s3/rsmall$i"; done
mkdir -p "$work/s3/abig" "$work/s3/rbig" "$work/s3/awide" "$work/s3/rwide"
small=$work/files/small big=$work/files/big widedir=$work/files/wide
python3 - "$small" "$files" 16384 100 "$widedir" "$wide" "$ROUNDS" <<'PY'
import os, sys
def fill(root, n, size, folders):
    for i in range(n):
        d = f"{root}/d{i % folders:03}"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/f{i:06}.bin", "wb") as f:
            f.write(os.urandom(size))
for r in range(1, int(sys.argv[7]) + 1):
    fill(f"{sys.argv[1]}{r}", int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
fill(sys.argv[5], int(sys.argv[6]), 64, 1000)
PY
mkdir -p "$big"
head -c $((big_mib * 1024 * 1024)) /dev/urandom > "$big/big.bin"

count() { find "$work/s3/$1" -type f -not -name '*.json' -not -path '*/.*' | wc -l; }
until_count() { # bucket count: waits, prints seconds since $t0
  for _ in $(seq 60000); do [ "$(count "$1")" -ge "$2" ] && break; sleep 0.05; done
  python3 -c "print($(now) - $t0)"
}
backup() { # name bucket folder
  post /management/cloudbackup "{\"name\":\"$1\",\"storageName\":\"$2\",\"prefix\":\"\",\"localPath\":\"$3\",\"syncIntervalSeconds\":86400,\"account\":{\"id\":\"$account\"}}" | json '["id"]'
}

# Waiting on the agent's log, not on the bucket: walking the 10,000 files every 50 ms would
# take CPU from the agent and the server it is timed against.
plain_log() { sed 's/\x1b\[[0-9;]*m//g' "$work/agent.err"; }
passes() { plain_log | grep -c "pass done.*$1" || true; }
until_pass() { # backup id: its first pass ended; prints seconds since $t0
  for _ in $(seq 60000); do [ "$(passes "$1")" -ge 1 ] && break; sleep 0.05; done
  python3 -c "print($(now) - $t0)"
}
a_runs=() r_runs=()
for i in $(seq $ROUNDS); do
  t0=$(now); sid=$(backup "small$i" "asmall$i" "$small$i"); a_runs+=("$(until_pass "$sid")")
  [ "$(count "asmall$i")" -eq "$files" ] || { echo "the first pass left files out" >&2; exit 1; }
  r_runs+=("$(timed rclone copy "$small$i" "s3:rsmall$i")")
done
a_small=$(median "${a_runs[@]}") r_small=$(median "${r_runs[@]}")
t0=$(now); backup big abig "$big" > /dev/null
for _ in $(seq 60000); do [ "$(stat -c %s "$work/s3/abig/big.bin" 2>/dev/null || echo 0)" -ge $((big_mib * 1048576)) ] && break; sleep 0.05; done
a_big=$(python3 -c "print($(now) - $t0)")
cmp "$big/big.bin" "$work/s3/abig/big.bin"
r_big=$(timed rclone copy "$big" s3:rbig)

# The wide folder backed up once (not timed), then a run over it unchanged.
wid=$(backup wide awide "$widedir")
until_count awide "$wide" > /dev/null
rclone copy "$widedir" s3:rwide
# Its first passes end (the one that uploaded, the one that found nothing left).
for _ in $(seq 6000); do [ "$(passes "$wid")" -ge 2 ] && break; sleep 0.05; done
before=$(passes "$wid")
# An update restarts the backup, whose first pass then finds every file unchanged.
curl -sf -X PUT "$api/management/cloudbackup/$wid?token=$token" -H 'content-type: application/json' \
  -d "{\"name\":\"wide\",\"storageName\":\"awide\",\"prefix\":\"\",\"localPath\":\"$widedir\",\"syncIntervalSeconds\":86399,\"account\":{\"id\":\"$account\"}}" > /dev/null
for _ in $(seq 60000); do [ "$(passes "$wid")" -gt "$before" ] && break; sleep 0.05; done
a_incr_ms=$(plain_log | grep "pass done.*$wid" | tail -1 | grep -o 'took_ms=[0-9]*' | grep -o '[0-9]*$')
a_incr=$(python3 -c "print($a_incr_ms / 1000)")
r_incr=$(timed rclone copy "$widedir" s3:rwide)

# Each report of the wide backup: the median of 20 calls, one after the other on one
# connection (curl's own time for each, from its request to the answer's last byte).
latency() { # route
  local args=() times
  for _ in $(seq 20); do args+=(-o /dev/null "$api$1?token=$token"); done
  mapfile -t times < <(curl -s -w '%{http_code} %{time_total}\n' "${args[@]}")
  python3 - "${times[@]}" <<'PY'
import statistics, sys
answers = [line.split() for line in sys.argv[1:]]
assert len(answers) == 20 and all(code == "200" for code, _ in answers), answers
print(statistics.median(float(t) for _, t in answers) * 1000)
PY
}
reports=""
for r in summary sync_health transfer_activity file_states file_distribution historical_trends dashboard; do
  reports="$reports| $r | $(python3 -c "print(round($(latency "/backupreport/$r/$wid"), 1))") ms |
"
done

ratio() { python3 -c "print(round($2 / $1, 2))"; }
s() { python3 -c "print(round($1, 2))"; }
fps() { python3 -c "print(round($2 / $1))"; }
mbs() { python3 -c "print(round($big_mib * 1.048576 / $1, 1))"; }
rclone_version=$(rclone version | sed -n 1p)
cat <<OUT
| backup | agent | $rclone_version copy | agent speed / rclone |
|---|---|---|---|
| first backup, $files files of 16 KiB (median of $ROUNDS) | $(fps "$a_small" "$files") files/s | $(fps "$r_small" "$files") files/s | $(ratio "$a_small" "$r_small") |
| first backup, one $big_mib MiB file | $(mbs "$a_big") MB/s | $(mbs "$r_big") MB/s | $(ratio "$a_big" "$r_big") |
| a run over $wide unchanged files | $(s "$a_incr") s | $(s "$r_incr") s | $(ratio "$a_incr" "$r_incr") |

| report of the $wide-file backup | median of 20 calls |
|---|---|
$reports
rclone on its defaults (4 transfers, 8 checkers); the agent's pass copies up to 32 small files (8 larger ones) at a time.
OUT
