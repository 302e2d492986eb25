#!/usr/bin/env bash
# The load generator side by side with redis-benchmark against the same Debian redis-server, in one run:
# 50 connections, 100-byte values, pipeline 1 and 16, SET/GET over 1M random keys. Prints ops/s and p50 of
# each and the ratios, and the requests each tool kept in flight on average (Little's law: ops/s x mean
# latency; at most 50 x pipeline): in a closed loop against a saturated server, latency is about that
# number divided by the throughput. Extra arguments go to kvlab bench (--io goroutines, --threads 2).
# Usage: [CONNS=50] scripts/loadgen-vs-redis-benchmark.sh [seconds] [kvlab bench flags...] (default 10 s; CONNS
# sets both tools' connections).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
CONNS=${CONNS:-50}
shift $(($# > 0 ? 1 : 0))
KVLAB=${KVLAB:-./bin/kvlab}
for bin in redis-server redis-benchmark; do
  command -v $bin >/dev/null || { echo "$bin not found; run 'make deps-redis'"; exit 2; }
done
[ -x "$KVLAB" ] || { echo "$KVLAB not built; run 'make build'"; exit 2; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >/dev/null 2>&1 &
rpid=$!
trap 'kill $rpid 2>/dev/null; rm -rf "$tmp"' EXIT
for i in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
printf "%-4s %-16s %12s %10s %10s\n" P tool "ops/s" "p50 ms" "in flight"
for P in 1 16; do
  # redis-benchmark: the same number of requests kvlab bench completes in SECS seconds, SET then GET.
  "$KVLAB" bench --scenario benchrun/testdata/setget.yaml --target "redis://127.0.0.1:$port" --connections "$CONNS" \
    --pipeline "$P" --duration "${SECS}s" --warmup 1s --skip-preload --quiet --out "$tmp/kvlab-$P.json" "$@" >/dev/null
  read -r kops kp50 kin < <(python3 -c "import json;r=json.load(open('$tmp/kvlab-$P.json'));t=r['total'];l=t['latency_us'];print(t['ops_per_sec'], l['p50']/1000, t['ops_per_sec']*l['mean']/1e6)")
  n=$(python3 -c "print(int(float('$kops')*$SECS))")
  read -r rops rp50 rin < <(redis-benchmark -p "$port" -c "$CONNS" -n "$n" -r 1000000 -d 100 -t set,get -P "$P" --csv 2>/dev/null |
    awk -F'","' 'NR>1 { gsub(/"/,"",$2); gsub(/"/,"",$3); gsub(/"/,"",$5); rps+=$2; p50+=$5; inf+=$2*$3/1000; n++ } END { printf "%.0f %.3f %.1f\n", rps/n, p50/n, inf/n }')
  printf "%-4s %-16s %12.0f %10.3f %10.1f\n" "$P" "kvlab bench" "$kops" "$kp50" "$kin"
  printf "%-4s %-16s %12.0f %10.3f %10.1f\n" "$P" "redis-benchmark" "$rops" "$rp50" "$rin"
  python3 -c "print('     ratio ops/s %.2f   p50 ratio %.2f   in-flight ratio %.2f' % ($kops/$rops, $kp50/$rp50, $kin/$rin))"
done
