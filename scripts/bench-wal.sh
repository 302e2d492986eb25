#!/usr/bin/env bash
# Side by side, durable writes: kvlab's wal engine (fsync always: reply after fdatasync) vs Debian's
# redis-server with --appendonly yes --appendfsync always, plus kvlab's memory engine for the cost of
# durability, on this machine, in one run, interleaved so machine drift hits every target.
#   redis-benchmark -c 50 -n N -r 1000000 -d 100 -t set -P {1,16}
# Prints the median ops/s and p99 of ROUNDS interleaved rounds (default 5: one round alone swings by 20% on a
# shared machine) and the ratios. Usage: scripts/bench-wal.sh [requests] [rounds] (default 200000 5).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
ROUNDS=${2:-5}
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

# run NAME PORT PIPELINE ROUND: appends "name P round rps p99" from redis-benchmark's CSV output
run() {
  redis-benchmark -p "$2" -c 50 -n "$N" -r 1000000 -d 100 -t set -P "$3" --csv 2>/dev/null |
    awk -F'","' -v who="$1" -v P="$3" -v r="$4" 'NR>1 { gsub(/"/,"",$2); gsub(/"/,"",$7); print who, P, r, $2, $7 }'
}
echo "== durable SET: redis-benchmark -c 50 -n $N -r 1000000 -d 100 -t set -P {1,16}, $ROUNDS interleaved rounds"
echo "   redis-server --appendonly yes --appendfsync always  vs  kvlab serve --engine wal --fsync always  (and kvlab memory)"
results=$tmp/results
for P in 1 16; do
  for r in $(seq 1 "$ROUNDS"); do
    [ -t 2 ] && printf '   -P %s round %s/%s\r' "$P" "$r" "$ROUNDS" >&2
    run redis "$RPORT" "$P" "$r" >>"$results"
    run wal "$WPORT" "$P" "$r" >>"$results"
    run memory "$MPORT" "$P" "$r" >>"$results"
  done
done
[ -t 2 ] && echo >&2
# Medians over the rounds; the ratios are medians of each round's ratio (the targets of one round ran
# back to back, so machine drift between rounds cancels out of them).
python3 - "$results" <<'PY'
import statistics as st, sys
d = {}
for line in open(sys.argv[1]):
    who, p, r, rps, p99 = line.split()
    d.setdefault((who, int(p)), {})[r] = (float(rps), float(p99))
def med(who, p, i): return st.median(v[i] for v in d[(who, p)].values())
def ratio(a, b, p, i): return st.median(d[(a, p)][r][i] / d[(b, p)][r][i] for r in d[(a, p)] if r in d[(b, p)])
print("%3s %12s %12s %12s %9s %9s %10s %10s %10s %13s" % ("P", "redis ops/s", "wal ops/s", "memory ops/s", "wal/redis",
      "wal/mem", "redis p99", "wal p99", "mem p99", "wal/redis p99"))
for p in sorted({p for _, p in d}):
    print("%3d %12.0f %12.0f %12.0f %8.2fx %8.2fx %8.3fms %8.3fms %8.3fms %12.2fx" % (p, med("redis", p, 0), med("wal", p, 0),
          med("memory", p, 0), ratio("wal", "redis", p, 0), ratio("wal", "memory", p, 0), med("redis", p, 1), med("wal", p, 1),
          med("memory", p, 1), ratio("wal", "redis", p, 1)))
for p in sorted({p for _, p in d}):
    rs = [r for r in d[("wal", p)] if r in d[("redis", p)]]
    won = sum(d[("wal", p)][r][0] >= d[("redis", p)][r][0] for r in rs)
    tail = sum(d[("wal", p)][r][1] <= d[("redis", p)][r][1] for r in rs)
    print("-P %d: kvlab wal had at least Redis's ops/s in %d of %d rounds, a p99 no worse in %d of %d" % (p, won, len(rs), tail, len(rs)))
PY
echo "(medians of $ROUNDS rounds; wal/redis and wal/mem are medians of the per-round ratios)"
echo
redis-cli -p "$WPORT" INFO kvlab | tr -d '\r' | awk -F: '$1 ~ /^wal_(fsyncs|batches|records|avg_batch)$/ { printf "kvlab wal %s=%s\n", $1, $2 }'
