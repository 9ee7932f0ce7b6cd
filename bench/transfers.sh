#!/usr/bin/env bash
# Transfers through the agent against rclone, to and from the same S3 server (s3s-fs), in the
# same run, on this machine:
#   bench/transfers.sh [ROUNDS] [SIZE_MIB] [FILES]   (default 3 rounds, 1024 MiB, 2000 files)
# One large file up and down (MB/s), then FILES files of 16 KiB up (files/s); each row
# alternates the agent, rclone on its defaults and rclone tuned as the agent is
# (`--transfers 16 --s3-upload-concurrency 8 --multi-thread-streams 8`) ROUNDS times and
# reports medians. Downloads are compared
# byte for byte with the source. The agent's peak RSS is VmHWM after the large transfers.
# Files live in /dev/shm when it has room, so that the disk does not decide the result.
# Needs rclone (installed with apt-get when run as root), curl and python3; s3s-fs is the one
# the tests install under target/tools (installed there the same way if missing). Prints a
# Markdown report on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
size_mib=${2:-1024}
files=${3:-2000}
NEED_MIB=$((size_mib * 8))
AGENT_CONFIG=${AGENT_TRANSFERS:-}
source bench/agent_and_rclone.sh

make_files "$size_mib" "$files"

acct="{\"id\":\"$account\"}"

tuned=(--transfers 16 --s3-upload-concurrency 8 --multi-thread-streams 8)
declare -a au ad ru rd af rf tu td tf
for r in $(seq "$rounds"); do
  rm -rf "$work/s3/bench/"* "$work/files/down" "$work/files/rdown" "$work/files/tdown"
  au+=("$(agent_transfer /cloud/upload_object "{\"cloudAccount\":$acct,\"storageName\":\"bench\",\"uploadPath\":\"a\",\"localFilePath\":\"$work/files/big.bin\"}")")
  ru+=("$(timed rclone copyto "$work/files/big.bin" s3:bench/r/big.bin)")
  tu+=("$(timed rclone copyto "$work/files/big.bin" s3:bench/t/big.bin "${tuned[@]}")")
  ad+=("$(agent_transfer /cloud/download_object "{\"cloudAccount\":$acct,\"storageName\":\"bench\",\"objectKey\":\"a/big.bin\",\"downloadPath\":\"$work/files/down\"}")")
  rd+=("$(timed rclone copyto s3:bench/r/big.bin "$work/files/rdown/big.bin")")
  td+=("$(timed rclone copyto s3:bench/t/big.bin "$work/files/tdown/big.bin" "${tuned[@]}")")
  cmp "$work/files/big.bin" "$work/files/down/big.bin"
  cmp "$work/files/big.bin" "$work/files/rdown/big.bin"
  cmp "$work/files/big.bin" "$work/files/tdown/big.bin"
  af+=("$(agent_transfer /cloud/upload_object "{\"cloudAccount\":$acct,\"storageName\":\"bench\",\"uploadPath\":\"a\",\"localFilePath\":\"$work/files/many\"}")")
  rf+=("$(timed rclone copy "$work/files/many" s3:bench/r/many)")
  tf+=("$(timed rclone copy "$work/files/many" s3:bench/t/many "${tuned[@]}")")
done
peak_mib=$(( $(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status") / 1024 ))

# SIGKILL in the middle of the large upload, then a restart: it must finish, intact.
status_of() { curl -sf "$api/cloud/client_transfer/$1/status?token=$token"; }
kill_id=$(post /cloud/upload_object "{\"cloudAccount\":$acct,\"storageName\":\"bench\",\"uploadPath\":\"killed\",\"localFilePath\":\"$work/files/big.bin\"}" | json '["transferId"]')
while [ "$(status_of "$kill_id" | json '["transferredBytes"]')" -lt $((size_mib * 1024 * 1024 / 3)) ]; do sleep 0.02; done
kill -9 "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
start_agent
killed_at=$(( $(status_of "$kill_id" | json '["transferredBytes"]') / 1048576 ))
t0=$(now)
until [ "$(status_of "$kill_id" | json '["status"]')" = completed ]; do sleep 0.05; done
resume_secs=$(python3 -c "print(round($(now) - $t0, 1))")
cmp "$work/files/big.bin" "$work/s3/bench/killed/big.bin"

mb() { python3 -c "print(round($size_mib * 1.048576 / $1, 1))"; }
fps() { python3 -c "print(round($files / $1))"; }
ratio() { python3 -c "print(f'{$2 / $1:.2f}')"; }
m_au=$(median "${au[@]}"); m_ru=$(median "${ru[@]}")
m_ad=$(median "${ad[@]}"); m_rd=$(median "${rd[@]}")
m_af=$(median "${af[@]}"); m_rf=$(median "${rf[@]}")
m_tu=$(median "${tu[@]}"); m_td=$(median "${td[@]}"); m_tf=$(median "${tf[@]}")
cat <<EOF2
| transfer ($rounds rounds, medians) | agent | rclone $(rclone version | sed -n 1p | awk '{print $2}') | agent / rclone | rclone tuned | agent / tuned |
|---|---|---|---|---|---|
| upload ${size_mib} MiB | $(mb "$m_au") MB/s | $(mb "$m_ru") MB/s | $(ratio "$m_au" "$m_ru") | $(mb "$m_tu") MB/s | $(ratio "$m_au" "$m_tu") |
| download ${size_mib} MiB | $(mb "$m_ad") MB/s | $(mb "$m_rd") MB/s | $(ratio "$m_ad" "$m_rd") | $(mb "$m_td") MB/s | $(ratio "$m_ad" "$m_td") |
| upload $files files of 16 KiB | $(fps "$m_af") files/s | $(fps "$m_rf") files/s | $(ratio "$m_af" "$m_rf") | $(fps "$m_tf") files/s | $(ratio "$m_af" "$m_tf") |

SIGKILL during the ${size_mib} MiB upload at ${killed_at} MiB recorded, restart: completed
${resume_secs} s later, the object identical to the source (cmp).

Agent peak RSS (VmHWM) over the whole run: ${peak_mib} MiB. Files and the S3 server's folder
in $base, the agent's database on disk; defaults of both
tools (agent: 5 MiB parts, 8 parts and 10 files at once; rclone: 5 MiB chunks, 4 transfers,
4 concurrent parts), and rclone tuned (16 transfers, 8 concurrent parts, 8 download streams).
Extra agent settings for [transfers] can be given in AGENT_TRANSFERS.
EOF2
