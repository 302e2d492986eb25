#!/usr/bin/env bash
# Side by side: kvlab (memory engine) vs Debian's redis-server without persistence, on this machine, in one
# run, interleaved so machine drift hits both. Prints throughput ratios and p99s, then bytes per key for 1M
# keys of 100 bytes. Usage: scripts/bench-redis.sh [requests] (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
KVLAB=${KVLAB:-./bin/kvlab}
for bin in redis-server redis-benchmark redis-cli; do
  command -v $bin >/dev/null || { echo "bench-redis: $bin not found; run 'make deps-redis'"; exit 2; }
done
[ -x "$KVLAB" ] || { echo "bench-redis: $KVLAB not built; run 'make build'"; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

RPORT=$(free_port); KPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
"$KVLAB" serve --engine memory --addr "127.0.0.1:$KPORT" >"$tmp/kvlab.log" 2>&1 &
pids+=($!)
for p in $RPORT $KPORT; do
  for i in $(seq 1 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
done

# run NAME PORT PIPELINE: prints "test rps p99" lines from redis-benchmark's CSV output
run() {
  redis-benchmark -p "$2" -c 50 -n "$N" -r 1000000 -d 100 -t set,get -P "$3" --csv 2>/dev/null |
    awk -F'","' -v who="$1" -v P="$3" 'NR>1 { gsub(/"/,"",$1); gsub(/"/,"",$NF); print who, $1, P, $2, $7 }'
}
echo "== redis-benchmark -c 50 -n $N -r 1000000 -d 100 -t set,get (interleaved: redis, kvlab per pipeline depth)"
results=$tmp/results
for P in 1 16; do
  run redis "$RPORT" "$P" >>"$results"
  run kvlab "$KPORT" "$P" >>"$results"
done
awk '
  { rps[$1" "$2" "$3]=$4; p99[$1" "$2" "$3]=$5; key[$2" "$3]=1 }
  END {
    printf "%-6s %3s %14s %14s %7s %12s %12s\n", "test", "P", "redis ops/s", "kvlab ops/s", "ratio", "redis p99ms", "kvlab p99ms"
    for (k in key) { split(k, a, " ");
      printf "%-6s %3s %14.0f %14.0f %7.2f %12s %12s\n", a[1], a[2], rps["redis "k], rps["kvlab "k], rps["kvlab "k]/rps["redis "k], p99["redis "k], p99["kvlab "k] }
  }' "$results" | sort

echo
echo "== memory: 1,000,000 keys with 100-byte values (fresh servers)"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
"$KVLAB" serve --engine memory --addr "127.0.0.1:$KPORT" >"$tmp/kvlab.log" 2>&1 &
pids+=($!)
for p in $RPORT $KPORT; do
  for i in $(seq 1 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
val=$(head -c 100 /dev/zero | tr '\0' 'x')
for p in $RPORT $KPORT; do
  redis-cli -p "$p" FLUSHALL >/dev/null
  awk -v v="$val" 'BEGIN { for (i = 0; i < 1000000; i++) printf "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$100\r\n%s\r\n", length("key:" i), i, v }' |
    redis-cli -p "$p" --pipe >/dev/null
done
sleep 2
rmem=$(redis-cli -p "$RPORT" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}')
rrss=$(redis-cli -p "$RPORT" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory_rss"{print $2}')
krss=$(redis-cli -p "$KPORT" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory_rss"{print $2}')
kheap=$(redis-cli -p "$KPORT" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}')
rkeys=$(redis-cli -p "$RPORT" DBSIZE); kkeys=$(redis-cli -p "$KPORT" DBSIZE)
# RSS split: anonymous memory (heap, stacks, runtime) grows with the data; file-backed pages are the kvlab
# binary's code and read-only data, a fixed cost the kernel may map in 2 MB folios.
kanon=$(awk '$1=="RssAnon:"{print $2*1024}' /proc/"${pids[1]}"/status)
kfile=$(awk '$1=="RssFile:"{print $2*1024}' /proc/"${pids[1]}"/status)
awk -v rm="$rmem" -v rr="$rrss" -v kr="$krss" -v kh="$kheap" -v rk="$rkeys" -v kk="$kkeys" -v ka="$kanon" -v kf="$kfile" 'BEGIN {
  printf "redis: keys=%d used_memory/key=%.1f B  rss/key=%.1f B\n", rk, rm/rk, rr/rk
  printf "kvlab: keys=%d rss/key=%.1f B  heap(used_memory)/key=%.1f B\n", kk, kr/kk, kh/kk
  printf "kvlab rss split: anonymous %.1f B/key, binary file pages %.1f MB\n", ka/kk, kf/1e6
  printf "kvlab rss/key vs redis used_memory/key: %.2fx\n", (kr/kk)/(rm/rk) }'

if [ -x scripts/bench-wal.sh ]; then
  echo
  scripts/bench-wal.sh
fi
