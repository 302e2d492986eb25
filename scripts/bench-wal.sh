#!/usr/bin/env bash
# Side by side, durable writes: kvlab's wal engine (fsync always: reply after fdatasync) vs Debian's
# redis-server with --appendonly yes --appendfsync always, plus kvlab's memory engine for the cost of
# durability, on this machine, in one run, interleaved so machine drift hits every target.
#   redis-benchmark -c 50 -n N -r 1000000 -d 100 -t set -P {1,16}
# Prints ops/s, p99 and the ratios. Usage: scripts/bench-wal.sh [requests] (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
KVLAB=${KVLAB:-./bin/kvlab}
for bin in redis-server redis-benchmark redis-cli; do
  command -v $bin >/dev/null || { echo "bench-wal: $bin not found; run 'make deps-redis'"; exit 2; }
done
[ -x "$KVLAB" ] || { echo "bench-wal: $KVLAB not built; run 'make build'"; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

RPORT=$(free_port); WPORT=$(free_port); MPORT=$(free_port)
mkdir -p "$tmp/redis" "$tmp/wal"
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always --dir "$tmp/redis" >"$tmp/redis.log" 2>&1 &
pids+=($!)
"$KVLAB" serve --engine wal --fsync always --dir "$tmp/wal" --addr "127.0.0.1:$WPORT" >"$tmp/wal.log" 2>&1 &
pids+=($!)
"$KVLAB" serve --engine memory --addr "127.0.0.1:$MPORT" >"$tmp/memory.log" 2>&1 &
pids+=($!)
for p in $RPORT $WPORT $MPORT; do
  for i in $(seq 1 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
done

# run NAME PORT PIPELINE: prints "name P rps p99" from redis-benchmark's CSV output
run() {
  redis-benchmark -p "$2" -c 50 -n "$N" -r 1000000 -d 100 -t set -P "$3" --csv 2>/dev/null |
    awk -F'","' -v who="$1" -v P="$3" 'NR>1 { gsub(/"/,"",$2); gsub(/"/,"",$7); print who, P, $2, $7 }'
}
echo "== durable SET: redis-benchmark -c 50 -n $N -r 1000000 -d 100 -t set -P {1,16}"
echo "   redis-server --appendonly yes --appendfsync always  vs  kvlab serve --engine wal --fsync always  (and kvlab memory)"
results=$tmp/results
for P in 1 16; do
  run redis "$RPORT" "$P" >>"$results"
  run wal "$WPORT" "$P" >>"$results"
  run memory "$MPORT" "$P" >>"$results"
done
awk '
  { rps[$1" "$2]=$3; p99[$1" "$2]=$4; P[$2]=1 }
  END {
    printf "%3s %12s %12s %12s %9s %9s %10s %10s %10s\n", "P", "redis ops/s", "wal ops/s", "memory ops/s", "wal/redis", "wal/mem", "redis p99", "wal p99", "mem p99"
    for (p in P)
      printf "%3s %12.0f %12.0f %12.0f %8.2fx %8.2fx %8sms %8sms %8sms\n", p, rps["redis "p], rps["wal "p], rps["memory "p],
        rps["wal "p]/rps["redis "p], rps["wal "p]/rps["memory "p], p99["redis "p], p99["wal "p], p99["memory "p]
  }' "$results" | sort -n
echo
redis-cli -p "$WPORT" INFO kvlab | tr -d '\r' | awk -F: '$1 ~ /^wal_(fsyncs|batches|records|avg_batch)$/ { printf "kvlab wal %s=%s\n", $1, $2 }'
