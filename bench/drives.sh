#!/usr/bin/env bash
# A cloud drive mounted by the agent against `rclone mount --vfs-cache-mode full`, over the
# same S3 server (s3s-fs), in the same run, on this machine:
#   bench/drives.sh [SIZE_MIB] [FOLDERS] [WIDE]   (default 1024 MiB, 100 folders of 100 files,
#                                                  a folder of 100000 objects)
# Rows: time to the first byte of a SIZE_MIB object (data cold, folder listed), its sequential read cold and warm
# (kernel page cache dropped, the tools' own caches kept), find+stat over FOLDERS x 100 files
# cold and warm, 1,000 files of 4 KiB created (until all are in the bucket), close() after
# writing SIZE_MIB; then, for the agent alone, its own download_object of the same object,
# its cache sampled against maximumCacheSize during a read, and its RSS while a folder of
# WIDE objects is listed. Reads are compared with the source (cmp). Needs root (mounts,
# drop_caches), rclone and fuse3 (apt-get when missing), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
folders=${2:-100}
wide=${3:-100000}
NEED_MIB=$((size_mib * 7))
source bench/agent_and_rclone.sh
require fusermount3 fuse3

amnt=$data/drives/bench
rmnt=$work/rmnt
cleanup_extra() {
  umount -l "$rmnt" 2>/dev/null || true
  for m in $(grep -o " $data/drives/[^ ]*" /proc/mounts || true); do umount -l "$m" 2>/dev/null || true; done
}
printf '[drives]\ncache_root = "%s"\n' "$work/acache" >> "$work/agent.toml"
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
start_agent

# The bucket: one large object, a tree of small files, a wide folder.
# Put through S3, so that the server stores its ETag (objects dropped into its folder get
# their MD5 computed again on every GET).
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/files/big.bin"
rclone copyto "$work/files/big.bin" s3:bench/big.bin
# The wide folder has a bucket of its own: s3s-fs scans a whole bucket for each listing page.
python3 - "$work/s3" "$folders" "$wide" <<'PY'
import os, sys
root, folders, wide = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(folders):
    os.makedirs(f"{root}/bench/tree/d{d:03}")
    for f in range(100):
        with open(f"{root}/bench/tree/d{d:03}/f{f:03}.txt", "wb") as out:
            out.write(b"x" * 100)
os.makedirs(f"{root}/wide/wide")
for i in range(wide):
    open(f"{root}/wide/wide/o{i:06}", "wb").close()
PY

mounted() { grep -q " $1 " /proc/mounts; }
wait_mounted() { for _ in $(seq 200); do mounted "$1" && return 0; sleep 0.05; done; echo "not mounted: $1" >&2; exit 1; }
drop_page_cache() { sync; echo 3 > /proc/sys/vm/drop_caches; }
drive_body() { # name letter cache_bytes [bucket] [more fields]
  echo "{\"name\":\"$1\",\"storageName\":\"${4:-bench}\",\"objectsPerFolder\":$wide,\"prefix\":\"\",\"driveName\":\"$2\",\"driveType\":1,\"syncType\":1,\"permissionType\":2,\"allowDelete\":true,\"maximumCacheSize\":$3,\"rotationalCache\":true,\"permanentLocalPath\":\"\$\$\$\",\"account\":{\"id\":\"$account\"}${5:+,$5}}"
}
post /management/clouddrive "$(drive_body bench X 0)" > /dev/null
wait_mounted "$amnt"
mkdir -p "$rmnt" "$work/rcache"
rclone mount s3:bench "$rmnt" --vfs-cache-mode full --cache-dir "$work/rcache" --daemon
wait_mounted "$rmnt"

secs() { python3 -c "import time,sys; t=time.perf_counter(); exec(sys.argv[1]); print(time.perf_counter()-t)" "$1"; }
ttfb() { secs "f=open('$1/big.bin','rb'); f.read(4096)"; }
seq_read() { secs "
f=open('$1/big.bin','rb')
while f.read(1<<20): pass"; }
find_stat() { secs "
import os
for d, _, files in os.walk('$1/tree'):
    for n in files: os.stat(os.path.join(d, n))"; }

# Cold data (never read by either tool), listed folders: both tools have listed the root, as
# a file manager would. (The kernel's caches are not dropped here: that would also evict the
# tools' own code and time the disk.)
ls "$amnt" "$rmnt" > /dev/null
# The server's own copy is read once first: whichever tool goes first would otherwise also
# time the server's disk (the VM's page cache is reclaimed between steps).
cat "$work/s3/bench/big.bin" > /dev/null
a_ttfb=$(ttfb "$amnt"); r_ttfb=$(ttfb "$rmnt")
a_cold=$(seq_read "$amnt"); r_cold=$(seq_read "$rmnt")
cmp "$work/files/big.bin" "$amnt/big.bin"
cmp "$work/files/big.bin" "$rmnt/big.bin"
drop_page_cache
a_warm=$(seq_read "$amnt"); r_warm=$(seq_read "$rmnt")
a_find_cold=$(find_stat "$amnt"); r_find_cold=$(find_stat "$rmnt")
a_find_warm=$(find_stat "$amnt"); r_find_warm=$(find_stat "$rmnt")

# 1,000 files of 4 KiB, timed until the bucket has every one.
create() { # mount prefix
  secs "
import os, time
os.makedirs('$1/$2')
for i in range(1000):
    with open('$1/$2/f%04d' % i, 'wb') as f: f.write(b'y' * 4096)
def uploaded(d):
    try: return sum(1 for e in os.scandir(d) if e.stat().st_size == 4096)
    except FileNotFoundError: return 0
while uploaded('$work/s3/bench/$2') < 1000: time.sleep(0.02)"
}
a_create=$(create "$amnt" new-a); r_create=$(create "$rmnt" new-r)

close_after_write() { # mount name
  python3 - "$1/$2" "$size_mib" <<'PY'
import sys, time
chunk = b"z" * (1 << 20)
f = open(sys.argv[1], "wb")
for _ in range(int(sys.argv[2])): f.write(chunk)
t = time.perf_counter(); f.close(); print(time.perf_counter() - t)
PY
}
a_close=$(close_after_write "$amnt" written-a.bin); r_close=$(close_after_write "$rmnt" written-r.bin)

# The agent alone: its own download of the object, the cache against its limit, RSS listing.
mkdir -p "$work/files/down"
a_download=$(agent_transfer /cloud/download_object "{\"cloudAccount\":{\"id\":\"$account\"},\"storageName\":\"bench\",\"objectKey\":\"big.bin\",\"downloadPath\":\"$work/files/down\"}")
limit=$((256 * 1024 * 1024))
bid=$(post /management/clouddrive "$(drive_body bounded Y $limit)" | json '["id"]')
bmnt=$data/drives/bounded
wait_mounted "$bmnt"
peak_cache=$(python3 - "$bmnt/big.bin" "$work/acache/$bid" <<'PY'
import os, sys, threading, time
peak, done = 0, False
def sample():
    global peak
    while not done:
        total = 0
        for d, _, files in os.walk(sys.argv[2]):
            for n in files:
                try: total += os.stat(os.path.join(d, n)).st_blocks * 512
                except FileNotFoundError: pass
        peak = max(peak, total)
        time.sleep(0.02)
t = threading.Thread(target=sample); t.start()
f = open(sys.argv[1], "rb")
while f.read(1 << 20): pass
done = True; t.join(); print(peak)
PY
)
# The same object through a drive whose cache is sealed (localCacheEncrypted).
post /management/clouddrive "$(drive_body sealed W 0 bench '"localCacheEncrypted":true')" > /dev/null
smnt=$data/drives/sealed
wait_mounted "$smnt"
s_cold=$(seq_read "$smnt")
cmp "$work/files/big.bin" "$smnt/big.bin"
drop_page_cache
s_warm=$(seq_read "$smnt")
post /management/clouddrive "$(drive_body wide Z 0 wide)" > /dev/null
wmnt=$data/drives/wide
wait_mounted "$wmnt"
rss_peak=0
python3 -c "import os; print(len(os.listdir('$wmnt/wide')))" > "$work/listed" &
lister=$!
while kill -0 "$lister" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
  [ "$rss" -gt "$rss_peak" ] && rss_peak=$rss
  sleep 0.05
done
listed=$(cat "$work/listed")

mbs() { python3 -c "print(round($size_mib * 1.048576 / $1, 1))"; }
ms() { python3 -c "print(round($1 * 1000, 1))"; }
s() { python3 -c "print(round($1, 2))"; }
fps() { python3 -c "print(round(1000 / $1))"; }
ratio() { python3 -c "print(f'{$2 / $1:.2f}')"; }  # how many times faster the agent is
rv=$(rclone version | sed -n 1p | awk '{print $2}')
cat <<EOF
| drive ($size_mib MiB object, $((folders * 100)) files in $folders folders) | agent | rclone $rv mount | agent speed / rclone |
|---|---|---|---|
| first byte, cold | $(ms "$a_ttfb") ms | $(ms "$r_ttfb") ms | $(ratio "$a_ttfb" "$r_ttfb") |
| sequential read, cold | $(mbs "$a_cold") MB/s | $(mbs "$r_cold") MB/s | $(ratio "$a_cold" "$r_cold") |
| sequential read, warm | $(mbs "$a_warm") MB/s | $(mbs "$r_warm") MB/s | $(ratio "$a_warm" "$r_warm") |
| find+stat, cold | $(s "$a_find_cold") s | $(s "$r_find_cold") s | $(ratio "$a_find_cold" "$r_find_cold") |
| find+stat, warm | $(s "$a_find_warm") s | $(s "$r_find_warm") s | $(ratio "$a_find_warm" "$r_find_warm") |
| 1,000 files of 4 KiB, until all are in the bucket | $(fps "$a_create") files/s | $(fps "$r_create") files/s | $(ratio "$a_create" "$r_create") |
| close() after writing $size_mib MiB | $(ms "$a_close") ms | $(ms "$r_close") ms | $(ratio "$a_close" "$r_close") |

The agent's own download_object of the object: $(mbs "$a_download") MB/s; the mount's cold read
is $(python3 -c "print(round(100 * $a_download / $a_cold))") % of it.
A drive with maximumCacheSize 256 MiB read the object whole: its cache held at most
$(python3 -c "print(round($peak_cache / 1048576, 1))") MiB at any sample (every 20 ms).
With localCacheEncrypted: cold read $(mbs "$s_cold") MB/s, warm $(mbs "$s_warm") MB/s ($(python3 -c "print(round(100 * $a_warm / $s_warm))") % of the plain cache's warm speed).
Listing a folder of $listed objects: agent RSS at most $((rss_peak / 1024)) MiB.
Both tools on their defaults (rclone: --vfs-cache-mode full, write-back after 5 s).
EOF
